"""`glupy --version` (what the bridge was built for, what runs) and the refusal of a bridge
built for another GlusterFS release; `glupy install` next to the Debian package's bridge.

These read this host's real glusterfs (`glusterfs --version`); the bridge's build record
(build-info.json) is written to a temporary directory to play another release's build."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from glupy import __version__
from glupy._build import release
from glupy.cli.commands import _bridge_mismatch, main
from glupy.local import volfile

RUNNING = release.running_release()
needs_glusterfs = pytest.mark.skipif(RUNNING is None, reason="needs glusterfs")


def fake_bridge(tmp_path: Path, glusterfs: str) -> Path:
    so = tmp_path / "_bridge" / "glupy.so"
    so.parent.mkdir()
    so.write_bytes(b"\x7fELF")
    (so.parent / "build-info.json").write_text(json.dumps(
        {"glusterfs": glusterfs, "xlatordir": "/nonexistent", "python": "3.11.2",
         "python_executable": "/usr/bin/python3"}))
    return so


def test_version_names_glupy_the_build_and_what_runs() -> None:
    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == f"glupy {__version__}"
    info = release.read_info(volfile.bridge_so_path())
    if info:
        assert f"built for GlusterFS {info['glusterfs']} and Python {info['python']} " \
               f"({info['python_executable']})" in lines[1]
    else:
        assert "bridge not built" in lines[1]
    assert f"Python {platform.python_version()} ({sys.executable})" in lines[2]
    assert f"GlusterFS {RUNNING or 'not installed'}" in lines[2]


@needs_glusterfs
def test_version_reports_a_bridge_built_for_another_release(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    other = "11.1" if RUNNING != "11.1" else "10.3"
    so = fake_bridge(tmp_path, other)
    monkeypatch.setattr(volfile, "bridge_so_path", lambda: so)
    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0, res.output
    assert f"built for GlusterFS {other} and Python 3.11.2 (/usr/bin/python3)" in res.output
    mismatch = [ln for ln in res.output.splitlines() if ln.startswith("MISMATCH:")]
    assert mismatch == [f"MISMATCH: {_bridge_mismatch()}"]
    assert f"built for GlusterFS {other} but this host runs GlusterFS {RUNNING}" in mismatch[0]
    assert f"install the glupy package built for {RUNNING}" in mismatch[0]


@needs_glusterfs
def test_no_mismatch_for_a_bridge_of_the_running_release(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    so = fake_bridge(tmp_path, str(RUNNING))
    monkeypatch.setattr(volfile, "bridge_so_path", lambda: so)
    assert _bridge_mismatch() is None
    assert "MISMATCH" not in CliRunner().invoke(main, ["--version"]).output


@pytest.mark.skipif(os.geteuid() != 0, reason="glupy install needs root")
def test_install_leaves_the_debian_packages_bridge_alone(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The package ships the bridge as a file in the xlator dir and links its Python
    package to it: `glupy install` has nothing to do and --uninstall points at apt."""
    xlator = tmp_path / "xlator" / "features" / "glupy.so"
    xlator.parent.mkdir(parents=True)
    xlator.write_bytes(b"\x7fELF bridge")
    link = tmp_path / "dist-packages" / "glupy" / "_bridge" / "glupy.so"
    link.parent.mkdir(parents=True)
    link.symlink_to(os.path.relpath(xlator, link.parent))
    monkeypatch.setattr(volfile, "installed_so_path", lambda: xlator)
    monkeypatch.setattr(volfile, "bridge_so_path", lambda: link)
    res = CliRunner().invoke(main, ["install"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == f"already installed: {xlator} (by the glupy system package)"
    res = CliRunner().invoke(main, ["install", "--uninstall"])
    assert res.exit_code == 1
    assert "belongs to the glupy system package: remove it with apt remove glupy" in res.output
    assert xlator.is_file() and not xlator.is_symlink() and link.is_symlink()
