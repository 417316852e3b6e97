"""Python translators on the BRICK side: glusterfsd without glusterd.

Graph: FUSE -> protocol/client  ==tcp 127.0.0.1==>  glusterfsd: protocol/server ->
debug/io-stats -> Python translator(s) -> features/locks -> storage/posix, started by
the glupy_brick_mount fixture (glupy/local/brick.py).
"""

from __future__ import annotations

import errno
import json
import os
import re
import textwrap
import time
from pathlib import Path

import pytest
from exercise import FUSE_REACHABLE_BY_EXERCISE, exercise_all

from glupy.library.passthrough import COUNTERS_XATTR
from glupy.local import brick

PASS = ("glupy.library.passthrough:PassThrough", {"track-ctx": "on"})


def counters(mnt: Path) -> dict[str, int]:
    return json.loads(os.getxattr(mnt, COUNTERS_XATTR))


def test_brick_graph_shape(tmp_path):
    g = brick.brick_graph(tmp_path, [PASS], port=12345)
    assert [v.type for v in g][:2] == ["storage/posix", "features/locks"]
    assert [v.type for v in g][-2:] == ["debug/io-stats", "protocol/server"]
    server = g.top
    assert server.options["transport-type"] == "tcp"
    assert server.options["transport.socket.listen-port"] == "12345"
    assert server.options[f"auth.addr.{brick.exported_volume(g)}.allow"] == "*"
    py = [v for v in g if "module" in v.options]
    assert len(py) == 1 and py[0].subvolumes == ["brick-locks"]
    direct = brick.brick_graph(tmp_path, [PASS], port=1, io_stats=False, locks=False)
    assert brick.exported_volume(direct) == py[0].name
    c = brick.client_graph(12345, "brick-brick")
    assert c.top.options["remote-subvolume"] == "brick-brick"


def test_every_client_fop_reaches_the_brick_translator(glupy_brick_mount):
    t0 = time.monotonic()
    m = glupy_brick_mount([PASS])
    up = time.monotonic() - t0
    log = m.brick_log_path.read_text(errors="replace")
    assert re.search(r"glupy: \S+ loaded glupy\.library\.passthrough:PassThrough", log), log[-3000:]

    before = counters(m.mountpoint)
    t1 = time.monotonic()
    checked = exercise_all(str(m.mountpoint), locks=True)  # asserts every result itself
    took = time.monotonic() - t1
    assert checked["lk"]["supported"] is True
    after = counters(m.mountpoint)

    wanted = set(FUSE_REACHABLE_BY_EXERCISE) | {"lk"}
    missing = sorted(f for f in wanted if after.get(f, 0) <= before.get(f, 0))
    assert not missing, f"fops that never reached the brick's Python translator: {missing}"
    # the translator kept fd context: the server released the fds through it
    assert after.get("release", 0) > 0 and after.get("releasedir", 0) > 0
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in sorted(set(after) | set(before))}
    print(f"\nbrick up + client connected in {up:.2f} s ({m.timings}); exercise_all {took:.2f} s")
    print("fops at the brick during exercise_all:", json.dumps(delta, sort_keys=True))
    extra = sorted(k for k, v in delta.items() if v > 0 and k not in wanted)
    print("beyond FUSE_REACHABLE_BY_EXERCISE:", extra)
    assert m.brick_alive()


BOOM = '''
from glupy import Translator


class Boom(Translator):
    """Raises in lookup of the name "boom"; forwards everything else."""

    async def lookup(self, loc, xdata):
        if loc.name == "boom":
            raise RuntimeError("boom requested by the test")
        return await self.child.lookup(loc, xdata)
'''


def test_exception_in_brick_translator_fails_only_that_fop(glupy_brick_mount, tmp_path):
    mods = tmp_path / "mods"
    mods.mkdir()
    (mods / "boomer.py").write_text(textwrap.dedent(BOOM))
    m = glupy_brick_mount([("boomer:Boom", {})], python_path=[mods])
    (m.backend_dir / "boom").write_bytes(b"on the backend")  # the lookup is what fails

    for attempt in range(3):  # not cached as a negative entry: fails every time
        with pytest.raises(OSError) as exc:
            os.stat(m.mountpoint / "boom")
        assert exc.value.errno == errno.EIO, (attempt, exc.value)

    # the brick keeps serving: other names, creation, listing, data
    assert m.brick_alive()
    (m.mountpoint / "fine").write_bytes(b"data")
    assert (m.mountpoint / "fine").read_bytes() == b"data"
    assert "fine" in os.listdir(m.mountpoint)
    with pytest.raises(OSError) as exc:
        os.stat(m.mountpoint / "boom")
    assert exc.value.errno == errno.EIO
    assert os.stat(m.mountpoint / "fine").st_size == 4
    assert m.brick_alive()

    log = m.brick_log_path.read_text(errors="replace")
    assert "RuntimeError: boom requested by the test" in log
    assert "lookup()" in log and "failing the fop with EIO" in log


def test_translator_directly_under_protocol_server(glupy_brick_mount):
    """protocol/server copies its auth.addr.*.allow / auth.login.* options into its
    child's options before the child's init: the bridge must accept them."""
    m = glupy_brick_mount([PASS], io_stats=False)
    assert m.exported.endswith("passthrough")
    before = counters(m.mountpoint)
    os.stat(m.mountpoint)
    (m.mountpoint / "x").write_bytes(b"x")
    assert counters(m.mountpoint).get("create", 0) > before.get("create", 0)
