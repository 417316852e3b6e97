"""Every fop of 10.3 reaches a Python translator and returns the right result.

Real GlusterFS: single-process graphs (FUSE -> Python -> storage/posix)
started by the glupy_mount fixture.  Fops a FUSE client can produce are driven
by real syscalls (tests/bridge/exercise.py checks every result); the others
are wound by a Python translator above (tests/bridge/translators/probe.py) and
their results compared with the same graph without the pass-through.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from exercise import FUSE_REACHABLE_BY_EXERCISE, FUSE_REACHABLE_CONDITIONALLY, FUSE_UNREACHABLE, exercise_all

from glupy.fops import FOP_NAMES
from glupy.library.passthrough import COUNTERS_XATTR

HERE = Path(__file__).parent
TRANSLATORS = str(HERE / "translators")
PASS = ("glupy.library.passthrough:PassThrough", {"track-ctx": "on"})
# the same, handing off every fop whose reply it does not read (return without await)
HANDING_OFF = ("glupy.library.passthrough:PassThrough", {"track-ctx": "on", "hand-off": "on"})
PROBER = ("probe:Prober", {})
RESPONDER = ("probe:Responder", {})

# Wound by the Prober: every fop FUSE cannot send, plus the conditional ones.
DISPATCHED = sorted(set(FUSE_UNREACHABLE) | set(FUSE_REACHABLE_CONDITIONALLY))


def counters(mnt: Path) -> dict[str, int]:
    return json.loads(os.getxattr(mnt, COUNTERS_XATTR))


def test_the_fop_lists_cover_the_table():
    reachable = set(FUSE_REACHABLE_BY_EXERCISE)
    assert reachable | set(FUSE_REACHABLE_CONDITIONALLY) | set(FUSE_UNREACHABLE) == FOP_NAMES
    assert not reachable & set(FUSE_UNREACHABLE)


@pytest.fixture(params=[PASS, HANDING_OFF], ids=["await", "hand-off"])
def passing(request):
    return request.param


def test_fuse_client_fops_reach_python_with_correct_results(glupy_mount, passing):
    m = glupy_mount([passing])
    before = counters(m.mountpoint)
    checked = exercise_all(str(m.mountpoint))  # asserts every result itself
    assert checked
    after = counters(m.mountpoint)
    missing = sorted(f for f in FUSE_REACHABLE_BY_EXERCISE if after.get(f, 0) <= before.get(f, 0))
    assert not missing, f"fops that never reached Python: {missing}"
    # the translator kept inode/fd context: GlusterFS called its release cbks
    assert after.get("release", 0) > 0 and after.get("releasedir", 0) > 0


def _probe(mnt: Path, path: Path, fop: str) -> dict[str, object]:
    return json.loads(os.getxattr(path, "glupy.probe." + fop))


@pytest.fixture
def probe_mounts(glupy_mount, passing):
    with_py = glupy_mount([PROBER, passing, RESPONDER], python_path=[TRANSLATORS])
    without = glupy_mount([PROBER, RESPONDER], python_path=[TRANSLATORS])
    for m in (with_py, without):
        (m.mountpoint / "f").write_bytes(b"0123456789" * 1000)
        (m.mountpoint / "d").mkdir()
    return with_py, without


@pytest.mark.parametrize("fop", DISPATCHED)
def test_fops_no_client_sends_are_dispatched_through_python(probe_mounts, fop):
    with_py, without = probe_mounts
    target = "d" if fop == "readdir" else "f"
    before = counters(with_py.mountpoint)
    got = _probe(with_py.mountpoint, with_py.mountpoint / target, fop)
    want = _probe(without.mountpoint, without.mountpoint / target, fop)
    after = counters(with_py.mountpoint)
    # (a large xattr value makes the kernel ask twice: size, then value)
    assert after.get(fop, 0) > before.get(fop, 0), f"{fop} did not go through PassThrough"
    assert got == want, f"{fop}: through Python {got} != without {want}"


def test_responder_replies_cross_the_graph(probe_mounts):
    """The fops posix lacks come back with the Responder's own values."""
    with_py, _ = probe_mounts
    f = with_py.mountpoint / "f"
    assert _probe(with_py.mountpoint, f, "getspec") == {"op_ret": 9, "errno": 0,
                                                        "spec_data": "spec:probe-key:0"}
    assert _probe(with_py.mountpoint, f, "setactivelk") == {"op_ret": -1, "errno": 1}
    assert _probe(with_py.mountpoint, f, "icreate")["buf"] == {"size": 0o644, "type": "INVAL"}
    rchk = _probe(with_py.mountpoint, f, "rchecksum")
    assert rchk["op_ret"] == 0 and rchk["weak_checksum"] != 0


@pytest.mark.parametrize("name", [b"user.ascii", "user.é".encode(), b"user.\xff\xfe"],
                         ids=["ascii", "utf-8", "not-utf-8"])
def test_xattr_names_wind_as_the_same_bytes(glupy_mount, name):
    """A name arrives as str (undecodable bytes as surrogates) and the wind converts it
    back in C (convert.c glupy_arg_str): posix sees the bytes the client sent."""
    m = glupy_mount([PASS])
    path = m.mountpoint / "f"
    path.write_bytes(b"")
    os.setxattr(path, name, b"value")
    assert os.getxattr(path, name) == b"value"
    assert os.fsdecode(name) in os.listxattr(path)
    assert os.getxattr(m.backend_dir / "f", name) == b"value"  # the brick's own name
    os.removexattr(path, name)
    with pytest.raises(OSError):
        os.getxattr(path, name)
