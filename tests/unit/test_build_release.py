"""The bridge build refuses GlusterFS releases glupy does not support, in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _fake_pkg_config(tmp_path: Path, version: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pkg-config"
    fake.write_text(f"#!/bin/sh\necho {version}\n")
    fake.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")


@pytest.mark.parametrize(("pc_version", "release"), [("7.9.6", "9.6"), ("7.12dev", "12dev")])
def test_unsupported_headers_fail_the_build_with_one_line(tmp_path, pc_version, release):
    out = subprocess.run([sys.executable, "-m", "glupy._build"], capture_output=True, text=True,
                         env=_fake_pkg_config(tmp_path, pc_version), timeout=120)
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert lines == [f"glupy: cannot build the bridge: the installed GlusterFS headers are "
                     f"GlusterFS {release}: glupy supports GlusterFS 10.x and 11.x"], out.stderr


def test_missing_development_files_name_the_package(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no pkg-config at all
    out = subprocess.run([sys.executable, "-m", "glupy._build"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode != 0
    assert "install libglusterfs-dev" in out.stderr and len(out.stderr.strip().splitlines()) == 1
