"""A fop handed off to a child: ``return self.child.<fop>(...)`` without ``await``.

Real GlusterFS (FUSE -> Python -> storage/posix, started by glupy_mount).  The
child's reply is the fop's and goes to the parent without Python, as C's
STACK_WIND_TAIL does: every FUSE fop through PassThrough with ``hand-off`` gives the
same results as without it (tests/bridge/exercise.py checks each one), a child's
error reaches the client unchanged, and the arguments Python made (new data, a
name, a Loc it built, a hand-off after an await) live until the wind has returned.
A wind of another fop, or one whose arguments do not convert, fails the fop alone
with EIO and says why in the log.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from exercise import FUSE_REACHABLE_BY_EXERCISE, exercise_all
from test_errors import fails_with, still_serving, wait_for_log

from glupy.library.passthrough import COUNTERS_XATTR
from glupy.local import process
from glupy.runtime.procstatus import STATUS_XATTR

HERE = Path(__file__).parent
TRANSLATORS = str(HERE / "translators")
HANDING_OFF = ("glupy.library.passthrough:PassThrough", {"hand-off": "on"})
XLATOR = "glupy-handoff"  # the volume name single_process_graph gives it


def status(mnt: Path) -> dict:
    return json.loads(os.getxattr(mnt, STATUS_XATTR))


def test_every_fuse_fop_handed_off_gives_the_childs_result(glupy_mount):
    m = glupy_mount([HANDING_OFF])
    before = json.loads(os.getxattr(m.mountpoint, COUNTERS_XATTR))
    checked = exercise_all(str(m.mountpoint))  # asserts every result itself
    assert checked
    after = json.loads(os.getxattr(m.mountpoint, COUNTERS_XATTR))
    missing = sorted(f for f in FUSE_REACHABLE_BY_EXERCISE if after.get(f, 0) <= before.get(f, 0))
    assert not missing, f"fops that never reached Python: {missing}"
    assert status(m.mountpoint)["tasks_in_flight"] == 0
    still_serving(m, "pass")


def test_hand_off_paths(glupy_mount):
    m = glupy_mount([("handoff:HandOff", {})], python_path=[TRANSLATORS])
    mnt, backend = m.mountpoint, m.backend_dir
    for name in ("plain", "after-await-f", "new-loc-f"):
        (mnt / name).write_bytes(b"x" * 10)

    lookups = m.python_calls().get("lookup", 0)
    fails_with(errno.ENOENT, os.stat, mnt / "missing")  # the child's error, unchanged
    assert m.python_calls().get("lookup", 0) > lookups, "the lookup did not reach Python"
    assert os.stat(mnt / "plain").st_size == 10

    # held until the hand-off's wind returns: a first wind's callback, a Loc Python built
    assert os.stat(mnt / "after-await-f").st_size == 10
    fails_with(errno.ENOENT, os.stat, mnt / "after-await-missing")
    assert os.stat(mnt / "new-loc-f").st_size == 10
    fails_with(errno.ENOENT, os.stat, mnt / "new-loc-missing")

    # new data and a new name, made in Python
    (mnt / "plain").write_bytes(b"hand me off")
    assert (backend / "plain").read_bytes() == b"HAND ME OFF"
    os.setxattr(backend / "plain", "user.handoff.real", b"real value")
    assert os.getxattr(mnt / "plain", "user.handoff.real") == b"real value"
    fails_with(errno.ENODATA, os.getxattr, mnt / "plain", "user.handoff.none")

    # what cannot be handed off fails that fop alone, with the reason logged
    fails_with(errno.EIO, os.stat, mnt / "wrong-fop-f")
    record = wait_for_log(m.log_path, XLATOR, "lookup() of ")
    assert "<wind stat to " in record and "expected a LookupReply or a lookup handed off" in record, \
        record
    fails_with(errno.EIO, os.stat, mnt / "bad-args-f")
    record = wait_for_log(m.log_path, XLATOR, "Traceback")
    assert "TypeError" in record, record

    assert status(mnt)["tasks_in_flight"] == 0
    assert process.pid_alive(m.pid) and os.stat(mnt / "plain").st_size == len(b"HAND ME OFF")


def test_hand_off_on_both_sides_of_the_network(glupy_brick_mount):
    # client side: the child is protocol/client, whose replies come later on an epoll
    # thread, straight to FUSE; brick side: under io-threads, above features/locks
    m = glupy_brick_mount([HANDING_OFF], client_translators=[HANDING_OFF])
    checked = exercise_all(str(m.mountpoint))  # asserts every result itself
    assert checked
    for name in (COUNTERS_XATTR, f"{COUNTERS_XATTR}.brick-passthrough"):  # client, brick
        counts = json.loads(os.getxattr(m.mountpoint, name))
        assert counts.get("lookup", 0) > 0 and counts.get("writev", 0) > 0, (name, counts)
    assert status(m.mountpoint)["tasks_in_flight"] == 0
    assert m.brick_alive()
