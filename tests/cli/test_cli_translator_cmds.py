"""glupy check / new / reload / ps through the real CLI (reload and ps on a real mount)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

GLUPY = [sys.executable, "-m", "glupy.cli"]

MODULE = '''
from glupy import Dict, Translator, replies

VERSION = {version!r}


class Tagged(Translator):
    async def getxattr(self, loc, name, xdata):
        if name != "glupy.tag":
            return await self.child.getxattr(loc, name, xdata)
        v = VERSION.encode()
        return replies.GetxattrReply(Dict.from_mapping({{name: v}}), None, op_ret=len(v))
'''


def run(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GLUPY, *args], capture_output=True, text=True, timeout=120, **kw)


def test_check_ok_and_problems(tmp_path):
    ok = run("check", "glupy.library.readonly")
    assert ok.returncode == 0 and "fops in Python" in ok.stdout and "read-only (bool" in ok.stdout
    (tmp_path / "badmod.py").write_text(textwrap.dedent("""
        from glupy import Translator
        class B(Translator):
            def lookup(self, loc, xdata):
                pass
    """))
    bad = run("check", "badmod", "--python-path", str(tmp_path))
    assert bad.returncode == 1 and "must be 'async def'" in bad.stdout
    missing = run("check", "no_such_mod_zz")
    assert missing.returncode == 1 and "cannot import" in missing.stdout


def test_check_names_what_init_may_set_up(tmp_path):
    """audit defines no fop method: its Journal, made in init(), does the work; the
    warning must not claim the translator passes everything through."""
    audit = run("check", "glupy.library.audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "unless init() sets up a Journal or a MissCache" in audit.stdout


def test_new_creates_a_package(tmp_path):
    r = run("new", "my-xl", "--dest", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "my-xl" / "my_xl" / "translator.py").exists()
    again = run("new", "my-xl", "--dest", str(tmp_path))
    assert again.returncode != 0 and "already exists" in again.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")
def test_mount_reload_ps_umount(tmp_path):
    mods, src, mnt, state = (tmp_path / d for d in ("mods", "src", "mnt", "state"))
    for d in (mods, src, mnt):
        d.mkdir()
    mod = mods / "tagged_cli.py"
    mod.write_text(MODULE.format(version="one"))
    r = run("mount", "--state-dir", str(state), "--python-path", str(mods), "-t", "tagged_cli:Tagged",
            str(src), str(mnt))
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        assert os.getxattr(mnt, "glupy.tag") == b"one"
        ps = run("ps", "--state-dir", str(state))
        assert str(mnt) in ps.stdout and "tagged_cli:Tagged" in ps.stdout and "reloads 0" in ps.stdout
        mod.write_text(MODULE.format(version="two"))
        st = mod.stat()
        os.utime(mod, (st.st_atime + 2, st.st_mtime + 2))
        rl = run("reload", "--state-dir", str(state), str(mnt))
        assert rl.returncode == 0, rl.stdout + rl.stderr
        assert os.getxattr(mnt, "glupy.tag") == b"two"
        mod.write_text("syntax error (\n")
        bad = run("reload", "--state-dir", str(state), str(mnt))
        assert bad.returncode == 1 and "SyntaxError" in bad.stdout
        assert os.getxattr(mnt, "glupy.tag") == b"two"  # old code still running
    finally:
        u = run("umount", "--state-dir", str(state), str(mnt))
    assert u.returncode == 0, u.stderr
    assert not os.path.ismount(mnt)


def test_ps_forgets_mounts_whose_process_is_gone(tmp_path):
    from glupy.local import process

    state_root = tmp_path / "state"
    mnt = tmp_path / "never-mounted"
    mnt.mkdir()
    sdir = process.state_dir_for(mnt, state_root)
    sdir.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    process.MountState(mountpoint=str(mnt), state_dir=str(sdir), volfile_path=str(sdir / "graph.vol"),
                       log_path=str(sdir / "glusterfs.log"), pid_file=str(sdir / "glusterfs.pid"),
                       pid=dead.pid).save()
    first = run("ps", "--state-dir", str(state_root))
    assert first.returncode == 0 and "gone" in first.stdout and "forgot it" in first.stdout, first.stdout
    again = run("ps", "--state-dir", str(state_root))
    assert again.stdout.strip() == "no glupy mounts", again.stdout
