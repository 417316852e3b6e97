"""Hot reload: new code for new fops, in-flight fops finish on the old code,
a reload that fails to import keeps the old code.  Real glusterfs process:
FUSE -> Python -> io-threads -> debug/delay-gen (slow stat) -> posix."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from glupy.local import process
from glupy.local.volfile import Graph, Volume, bridge_type
from glupy.runtime import control
from glupy.testing import require_mount_privileges

TEMPLATE = '''
from glupy import Dict, Translator, replies

VERSION = {version!r}


class Versioned(Translator):
    async def getxattr(self, loc, name, xdata):
        if name == "glupy.version":
            value = VERSION.encode()
        elif name == "glupy.slow":
            await self.child.stat(loc, None)  # takes ~1.5 s below (delay-gen)
            value = VERSION.encode()
        else:
            return await self.child.getxattr(loc, name, xdata)
        return replies.GetxattrReply(Dict.from_mapping({{name: value}}), None, op_ret=len(value))
'''


@pytest.fixture
def versioned_mount(tmp_path):
    require_mount_privileges()
    mods, backend, mnt = tmp_path / "mods", tmp_path / "backend", tmp_path / "mnt"
    for d in (mods, backend, mnt):
        d.mkdir()
    module = f"versioned_{uuid.uuid4().hex[:8]}"
    path = mods / f"{module}.py"
    path.write_text(TEMPLATE.format(version="v1"))
    g = Graph()
    g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
    g.add(Volume("delay", "debug/delay-gen", {"delay-percentage": "100", "delay-duration": "1500000",
                                              "enable": "stat"}, ["posix"]))
    g.add(Volume("iot", "performance/io-threads", {}, ["delay"]))
    g.add(Volume("py", bridge_type(), {"module": f"{module}:Versioned", "python-path": str(mods)},
                 ["iot"]))
    state = process.mount_graph(g, mnt, source_dir=backend, state_dir=tmp_path / "state")
    try:
        yield mnt, path, state
    finally:
        process.unmount(mnt, state_dir=tmp_path / "state")


def _rewrite(path: Path, text: str) -> None:
    path.write_text(text)
    # a new mtime so the import system does not reuse the cached bytecode
    st = path.stat()
    os.utime(path, (st.st_atime + 2, st.st_mtime + 2))


def test_reload_switches_new_fops_and_lets_in_flight_ones_finish(versioned_mount):
    mnt, path, state = versioned_mount
    assert os.getxattr(mnt, "glupy.version") == b"v1"
    slow: list[bytes] = []
    t = threading.Thread(target=lambda: slow.append(os.getxattr(mnt, "glupy.slow")))
    t.start()
    time.sleep(0.4)  # the slow fop is now waiting in delay-gen
    _rewrite(path, TEMPLATE.format(version="v2"))
    answer = control.request(state.pid, {"cmd": "reload", "name": "py"})
    assert answer["ok"], answer
    assert os.getxattr(mnt, "glupy.version") == b"v2"  # new fops: new code
    t.join(10)
    assert slow == [b"v1"]  # the fop in flight finished on the old code
    status = control.request(state.pid, {"cmd": "status"})
    assert status["translators"][0]["reloads"] == 1
    assert process.pid_alive(state.pid)


def test_a_reload_that_fails_keeps_the_old_code(versioned_mount):
    mnt, path, state = versioned_mount
    _rewrite(path, "this is not python (\n")
    answer = control.request(state.pid, {"cmd": "reload"})
    assert not answer["ok"]
    assert "SyntaxError" in answer["results"][0]["error"]
    assert os.getxattr(mnt, "glupy.version") == b"v1"
    log = Path(state.log_path).read_text()
    assert "reload failed, the old code keeps running" in log
