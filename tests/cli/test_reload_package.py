"""`glupy reload` on a real mount reloads the translator's whole package: a helper
module's new code runs, contexts of reloaded classes follow the documented rule
(dropped, or carried over by migrate_ctx), and a helper that fails to import
leaves every module and the old code serving."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

GLUPY = [sys.executable, "-m", "glupy.cli"]

HELPER = '''
VERSION = {version!r}


class State:
    def __init__(self, hits=0):
        self.hits = hits


def tag():
    return VERSION
'''

TRANSLATOR = '''
from glupy import Dict, Translator, replies
from {pkg}.helper import State, tag


class Probe(Translator):
    async def getxattr(self, loc, name, xdata):
        if name != "glupy.probe":
            return await self.child.getxattr(loc, name, xdata)
        state = loc.inode.ctx
        if not isinstance(state, State):
            state = loc.inode.ctx = State()
        state.hits += 1
        value = f"{{tag()}} hits={{state.hits}}".encode()
        return replies.GetxattrReply(Dict.from_mapping({{name: value}}), None, op_ret=len(value))
{extra}'''

MIGRATE = '''
    def migrate_ctx(self, old_ctx):
        return State(old_ctx.hits)
'''


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GLUPY, *args], capture_output=True, text=True, timeout=120)


def _write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text))
    st = path.stat()  # a new mtime, as an editor's save gives
    os.utime(path, (st.st_atime + 2, st.st_mtime + 2))


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")
def test_reload_reloads_the_package(tmp_path):
    pkg = f"rlpkg_{uuid.uuid4().hex[:8]}"
    mods, src, mnt, state = (tmp_path / d for d in ("mods", "src", "mnt", "state"))
    for d in (mods / pkg, src, mnt):
        d.mkdir(parents=True)
    (mods / pkg / "__init__.py").write_text("")
    _write(mods / pkg / "helper.py", HELPER.format(version="v1"))
    _write(mods / pkg / "translator.py", TRANSLATOR.format(pkg=pkg, extra=""))
    r = run("mount", "--state-dir", str(state), "--python-path", str(mods),
            "-t", f"{pkg}.translator:Probe", str(src), str(mnt))
    assert r.returncode == 0, r.stdout + r.stderr
    log = Path(r.stdout.split("log: ", 1)[1].strip())

    def probe() -> str:
        return os.getxattr(mnt, "glupy.probe").decode()

    def reload() -> subprocess.CompletedProcess[str]:
        return run("reload", "--state-dir", str(state), str(mnt))

    try:
        assert probe() == "v1 hits=1"
        assert probe() == "v1 hits=2"

        # 1. only the helper changes: its new code runs, the report names it
        _write(mods / pkg / "helper.py", HELPER.format(version="v2"))
        rl = reload()
        assert rl.returncode == 0, rl.stdout + rl.stderr
        assert f"{pkg}.helper (changed)" in rl.stdout and f"{pkg}.translator" in rl.stdout
        assert "1 dropped" in rl.stdout
        # the root inode's State came from the old helper: dropped (no migrate_ctx)
        assert probe() == "v2 hits=1"
        assert "reload dropped 1 inode/fd contexts" in log.read_text()

        # 2. with migrate_ctx the new code gets the count carried over
        _write(mods / pkg / "translator.py", TRANSLATOR.format(pkg=pkg, extra=MIGRATE))
        _write(mods / pkg / "helper.py", HELPER.format(version="v3"))
        rl = reload()
        assert rl.returncode == 0, rl.stdout + rl.stderr
        assert "1 migrated" in rl.stdout
        assert probe() == "v3 hits=2"

        # 3. a helper that fails to import: nothing changes, the message says where
        _write(mods / pkg / "helper.py", HELPER.format(version="v4") + "\nundefined_name\n")
        _write(mods / pkg / "translator.py", TRANSLATOR.format(pkg=pkg, extra=MIGRATE) + "\n# v4\n")
        bad = reload()
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert f"{pkg}.helper" in bad.stdout and "helper.py, line 13" in bad.stdout, bad.stdout
        assert "NameError" in bad.stdout and "old code" in bad.stdout
        assert probe() == "v3 hits=3"  # old translator, old helper, its context kept

        # 4. fixed: the reload goes through
        _write(mods / pkg / "helper.py", HELPER.format(version="v5"))
        rl = reload()
        assert rl.returncode == 0, rl.stdout + rl.stderr
        assert probe() == "v5 hits=4"
    finally:
        u = run("umount", "--state-dir", str(state), str(mnt))
        assert u.returncode == 0, u.stderr
