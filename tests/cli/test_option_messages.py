"""`glupy check`, `glupy volfile` and `glupy mount` refuse option values before
anything runs, with the message GlusterFS's own validation gives: each case is
also mounted straight through glusterfs (no CLI check) and the two messages
compared."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from glupy.local import process, volfile

GLUPY = [sys.executable, "-m", "glupy.cli"]

MODULE = """
    import pathlib
    from glupy import Translator, Option, Size

    class P(Translator):
        level = Option(int, default=3, min=0, max=9)
        count = Option(int, default=3, min=0)
        ratio = Option(float, default=1.0, min=0.5, max=2.0)
        timeout = Option(float, default=60.0, min=0)
        limit = Option(Size, default="1MB")
        bounded = Option(Size, default="1MB", min=1024, max=1 << 30)
        flag = Option(bool, default=False)
        mode = Option(str, default="fast", choices=["fast", "safe"])
        where = Option(pathlib.Path, default="/tmp")

        async def lookup(self, loc, xdata):
            return await self.child.lookup(loc, xdata)
"""

BAD = [("level", "12"), ("level", "-1"), ("level", "3.5"), ("count", "-4"), ("ratio", "5"),
       ("ratio", "abc"), ("timeout", "-1"), ("limit", "-5"), ("limit", "64K"), ("limit", "5XB"),
       ("bounded", "10"), ("bounded", "2GB"), ("flag", "maybe"), ("mode", "slow"),
       ("where", "rel/path"), ("where", "/a/../b")]
GOOD = [("level", "010"), ("count", "0x10"), ("ratio", "1e0"), ("limit", "1.5MB"), ("limit", "2gb"),
        ("flag", "Enable"), ("mode", "safe"), ("where", "/srv")]


@pytest.fixture(scope="module")
def mods(tmp_path_factory):
    d = tmp_path_factory.mktemp("optmods")
    (d / "optprobe.py").write_text(textwrap.dedent(MODULE))
    return d


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GLUPY, *args], capture_output=True, text=True, timeout=120)


def cli_message(mods: Path, key: str, value: str) -> str:
    r = run("volfile", "--python-path", str(mods), "-t", "optprobe:P", "-o", f"{key}={value}", "/srv")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "volume" not in r.stdout  # nothing printed
    m = re.search(rf"optprobe:P: option '{re.escape(key)}': (.*)", r.stderr)
    assert m, r.stderr
    return m.group(1).strip()


@pytest.mark.parametrize("key,value", BAD)
def test_volfile_and_check_refuse_with_glusterfs_words(mods, key, value):
    msg = cli_message(mods, key, value)
    c = run("check", "optprobe:P", "--python-path", str(mods), "-o", f"{key}={value}")
    assert c.returncode == 1 and msg in c.stdout, c.stdout


@pytest.mark.parametrize("key,value", GOOD)
def test_values_glusterfs_takes_pass(mods, key, value):
    r = run("volfile", "--python-path", str(mods), "-t", "optprobe:P", "-o", f"{key}={value}", "/srv")
    assert r.returncode == 0, r.stderr
    assert f"option {key} {value}" in r.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")
def test_messages_are_glusterfs_own(mods, tmp_path):
    """Each bad value straight into glusterfs: its log says what the CLI said."""
    for i, (key, value) in enumerate(BAD):
        base = tmp_path / str(i)
        backend, mnt = base / "b", base / "m"
        backend.mkdir(parents=True)
        mnt.mkdir()
        graph = volfile.single_process_graph(backend, [("optprobe:P", {key: value})],
                                             python_path=[str(mods)])
        with pytest.raises(process.MountError):
            process.mount_graph(graph, mnt, source_dir=backend, state_dir=base / "s", timeout=20)
        log = "".join(p.read_text() for p in (base / "s").rglob("*.log"))
        m = re.search(rf"glupy: [\w-]+: option '{re.escape(key)}': (.*)", log)
        assert m, log[-2000:]
        assert m.group(1).strip() == cli_message(mods, key, value), (key, value)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")
def test_mount_refuses_before_mounting(mods, tmp_path):
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    r = run("mount", "--state-dir", str(tmp_path / "state"), "--python-path", str(mods),
            "-t", "optprobe:P", "-o", "limit=-5", str(src), str(mnt))
    assert r.returncode == 2
    assert 'invalid number format "-5" in option "limit"' in r.stderr
    assert process.mount_fstype(mnt) is None and not (tmp_path / "state").exists()
    missing = run("mount", "--state-dir", str(tmp_path / "state"), "-t", "no_such_mod_zz",
                  str(src), str(mnt))
    assert missing.returncode == 2 and "cannot import" in missing.stderr
    assert process.mount_fstype(mnt) is None
