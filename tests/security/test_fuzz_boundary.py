"""Fuzz what reaches Python from C, through real syscalls on a FUSE mount (hypothesis,
bounded: well under a minute).  The graph puts Python translators on every fop's path:
passthrough (every fop in Python, inode/fd context kept) -> audit (every fop, records
path strings) -> posix, once in the FUSE client process and once in a glusterfsd brick
(what protocol/server decodes from a network client).  Names are arbitrary bytes (not UTF-8, 255 bytes,
control characters), xattr keys and values arbitrary (empty, 64 KiB, binary), writes
0 and 128 KiB+1 bytes.  Each outcome is compared with the same syscall on a plain
directory of the same filesystem: what works there works through Python with the same
result; what fails there fails here with an errno; glusterfs never dies.

Also (not fuzzed): non-UTF-8 names pass through passthrough and crypt unchanged (crypt
stores them encrypted)."""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import math
import os
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from glupy.local import brick, process, volfile
from glupy.testing import require_mount_privileges

FUZZ = settings(max_examples=150, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# errors that would mean the Python side broke (EIO: a translator raised; ENOTCONN: dead)
BROKEN = {errno.EIO, errno.ENOTCONN, errno.ECONNABORTED}
HERE = Path(__file__).parent / "translators"


class Mounted:
    def __init__(self, mnt: Path, backend: Path, ref: Path,
                 processes: list[tuple[int | None, str]]) -> None:
        self.mnt, self.backend, self.ref = mnt, backend, ref
        self.processes = processes  # (pid, log path) of glusterfs and glusterfsd
        self.counter = itertools.count()

    def fresh(self) -> tuple[bytes, bytes]:
        """A new empty directory on the mount and one on the reference filesystem."""
        n = next(self.counter)
        mine, ref = os.fsencode(self.mnt / f"d{n}"), os.fsencode(self.ref / f"d{n}")
        os.mkdir(mine)
        os.mkdir(ref)
        return mine, ref

    def assert_alive(self) -> None:
        for pid, log in self.processes:
            assert pid is not None and process.pid_alive(pid), \
                f"pid {pid} died; log: {process.tail(log, 40)}"
        os.stat(self.mnt)

    def logs(self) -> str:
        return "".join(Path(log).read_text(errors="replace") for _, log in self.processes)


def _mount(tmp: Path, stack: list[tuple[str, dict[str, str]]],
           python_path: tuple[Path, ...] = ()) -> tuple[Path, Path, process.MountState]:
    backend, mnt, ref, state = (tmp / d for d in ("backend", "mnt", "ref", "state"))
    for d in (backend, mnt, ref):
        d.mkdir()
    graph = volfile.single_process_graph(backend, stack, python_path=python_path)
    return mnt, backend, process.mount_graph(graph, mnt, source_dir=backend, state_dir=state)


@pytest.fixture(scope="module", params=["fuse", "brick"])
def fuzz_mount(request, tmp_path_factory):
    """The translators in the FUSE client process, or in a glusterfsd brick (what a
    network client sends, decoded by protocol/server) under a protocol/client mount."""
    require_mount_privileges()
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    stack = [("glupy.library.passthrough", {"track-ctx": "on"}),
             ("glupy.library.audit", {"log-file": str(tmp / "audit.jsonl")})]
    with contextlib.ExitStack() as stack_cm:
        if request.param == "fuse":
            mnt, backend, state = _mount(tmp, stack)
            stack_cm.callback(process.unmount, mnt, state_dir=tmp / "state")
            m = Mounted(mnt, backend, tmp / "ref", [(state.pid, state.log_path)])
        else:
            backend, mnt = tmp / "backend", tmp / "mnt"
            for d in (backend, mnt, tmp / "ref"):
                d.mkdir()
            bm = stack_cm.enter_context(brick.brick_mounted(backend, stack, mnt, tmp / "state"))
            m = Mounted(mnt, backend, tmp / "ref", [(bm.brick.pid, bm.brick.log_path),
                                                     (bm.client.pid, bm.client.log_path)])
        yield m
        m.assert_alive()
        assert "raised" not in m.logs(), "a translator raised on fuzzed input (see the log)"
        time.sleep(0.3)  # audit's writer flushes every 0.1 s
        records = (tmp / "audit.jsonl").read_text().splitlines()
        assert len(records) > 1000
        for line in records:  # odd names make valid JSON (lone surrogates escaped)
            json.loads(line)


def _outcome(fn, *args):
    """('ok', result) or ('errno', code)."""
    try:
        return "ok", fn(*args)
    except OSError as e:
        return "errno", e.errno


def _same(m: Mounted, mine, ref, what: str) -> None:
    if mine[0] == "errno":
        assert mine[1] not in BROKEN or ref == mine, f"{what}: {os.strerror(mine[1])} through Python"
    assert mine[0] == ref[0], f"{what}: {mine} through Python, {ref} on a plain directory"


names = st.binary(min_size=1, max_size=255).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))


@FUZZ
@given(name=names, data=st.binary(max_size=2048))
@example(name=b"\xff\xfe\xfd", data=b"not utf-8")
@example(name=b"a" * 255, data=b"")
@example(name=b"\x01\x07\x1b[31m\t\n\r\x7f", data=b"control")
@example(name="café".encode("latin-1"), data=b"latin-1")
def test_names_of_any_bytes(fuzz_mount, name, data):
    m = fuzz_mount
    d, _ref = m.fresh()
    p = d + b"/" + name
    with open(p, "wb") as f:
        f.write(data)
    assert os.listdir(d) == [name]
    assert os.stat(p).st_size == len(data)
    with open(p, "rb") as f:
        assert f.read() == data
    assert os.listdir(m.backend / os.fsdecode(os.path.basename(d))) == [os.fsdecode(name)]
    other = d + b"/" + (name[:-1] + b"~" if len(name) == 255 else name + b"~")
    os.rename(p, other)
    assert os.listdir(d) == [os.path.basename(other)]
    os.symlink(name, p)
    assert os.readlink(p) == name
    os.unlink(p)
    os.unlink(other)
    os.mkdir(p)
    os.rmdir(p)
    assert os.listdir(d) == []
    m.assert_alive()


def test_a_name_of_256_bytes_is_enametoolong(fuzz_mount):
    d, _ = fuzz_mount.fresh()
    with pytest.raises(OSError) as e:
        open(d + b"/" + b"n" * 256, "wb").close()
    assert e.value.errno == errno.ENAMETOOLONG
    fuzz_mount.assert_alive()


xattr_keys = st.one_of(
    st.binary(min_size=0, max_size=250).filter(lambda b: b"\0" not in b).map(lambda b: b"user." + b),
    st.binary(min_size=1, max_size=60).filter(lambda b: b"\0" not in b),  # no namespace
    st.sampled_from([b"user.", b"trusted.glupy.fuzz", b"glupy.counters", b"security.x",
                     b"user." + b"k" * 250, b"user." + b"\xff" * 40]),
)
value_sizes = st.sampled_from([0, 1, 255, 4096, 65535, 65536, 65537])


@FUZZ
@given(key=xattr_keys, size=st.one_of(value_sizes, st.integers(0, 300)), seed=st.integers(0, 2**32))
@example(key=b"user.empty", size=0, seed=1)
@example(key=b"user.big", size=65536, seed=2)
@example(key=b"user.\xff\xfe", size=100, seed=3)
def test_xattr_keys_and_values(fuzz_mount, key, size, seed):
    m = fuzz_mount
    value = random.Random(seed).randbytes(size)
    d, ref_dir = m.fresh()
    p, r = d + b"/f", ref_dir + b"/f"
    open(p, "wb").close()
    open(r, "wb").close()
    mine, ref = _outcome(os.setxattr, p, key, value), _outcome(os.setxattr, r, key, value)
    if key == b"glupy.counters" or key.startswith(b"trusted.glupy"):
        # not a namespace the plain directory knows; the translators' own: any errno
        assert mine[0] == "ok" or mine[1] not in BROKEN
    else:
        _same(m, mine, ref, f"setxattr {key!r} ({size} bytes)")
    if mine[0] == "ok" and key != b"glupy.counters":
        assert os.getxattr(p, key) == value
        assert key in [os.fsencode(k) for k in os.listxattr(p)]
        os.removexattr(p, key)
    got = _outcome(os.getxattr, p, key)
    if got[0] == "errno":
        assert got[1] not in BROKEN, f"getxattr {key!r}: {os.strerror(got[1])}"
    m.assert_alive()


@FUZZ
@given(size=st.one_of(st.sampled_from([0, 1, 4096, 131072, 131073, 262145]), st.integers(0, 300_000)),
       offset=st.one_of(st.sampled_from([0, 1, 4095, 131071, 2**31 + 1]), st.integers(0, 1 << 20)),
       seed=st.integers(0, 2**32))
@example(size=0, offset=0, seed=0)
@example(size=131073, offset=0, seed=1)
@example(size=131073, offset=131071, seed=2)
def test_writes_of_any_size_at_any_offset(fuzz_mount, size, offset, seed):
    m = fuzz_mount
    data = random.Random(seed).randbytes(size)
    d, _ = m.fresh()
    p = d + b"/f"
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        assert os.pwrite(fd, data, offset) == size
        os.fsync(fd)
        expected_size = offset + size if size else 0
        assert os.fstat(fd).st_size == expected_size
        assert os.pread(fd, size, offset) == data
        if offset and size:
            assert os.pread(fd, min(offset, 4096), 0) == bytes(min(offset, 4096)), "the hole reads zeros"
    finally:
        os.close(fd)
    os.unlink(p)
    m.assert_alive()


@pytest.fixture(scope="module")
def dict_mount(tmp_path_factory):
    require_mount_privileges()
    tmp = tmp_path_factory.mktemp("dictfuzz")
    mnt, backend, state = _mount(tmp, [("dict_fuzz:DictFuzz", {})], (HERE,))
    m = Mounted(mnt, backend, tmp / "ref", [(state.pid, state.log_path)])
    yield m
    try:
        m.assert_alive()
    finally:
        process.unmount(mnt, state_dir=tmp / "state")


INT64 = (-(2**63), 2**63 - 1)
dict_keys = st.one_of(st.text(max_size=20),
                      st.sampled_from(["", "\udcff", "\ud800", "a\x00b", "é", "k" * 300]))
dict_values = st.one_of(
    st.integers(), st.sampled_from([INT64[0], INT64[1], INT64[0] - 1, INT64[1] + 1, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=50),
    st.sampled_from(["\udcff", "\ud800", "nul\x00inside", ""]), st.binary(max_size=300),
    st.booleans(), st.none(), st.lists(st.integers(), max_size=2))


def _tagged(value: object) -> tuple[str, object]:
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, int):
        return "int", str(value)
    if isinstance(value, float):
        return "float", repr(value)
    if isinstance(value, bytes):
        return "bytes", value.hex()
    if value is None:
        return "none", None
    if isinstance(value, list):
        return "list", value
    return "str", value


def _storable(key: str, value: object) -> bool:
    """What a Dict can hold: str keys and values encodable as UTF-8 without NUL,
    int64 ints, floats, bytes."""
    def text_ok(t: str) -> bool:
        try:
            t.encode("utf-8", "surrogateescape")
        except UnicodeError:
            return False
        return "\x00" not in t
    if not text_ok(key):
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    if isinstance(value, str):
        return text_ok(value)
    return isinstance(value, float | bytes)


@FUZZ
@given(mapping=st.dictionaries(dict_keys, dict_values, max_size=6))
@example(mapping={"big": 2**63})
@example(mapping={"nan": math.nan, "inf": -math.inf, "empty": b""})
@example(mapping={"a\x00b": 1, "a\x00c": 2})
@example(mapping={"\udcff": "x"})
def test_dict_xdata_with_odd_types(dict_mount, mapping):
    m = dict_mount
    d, _ = m.fresh()
    p = d + b"/f"
    open(p, "wb").close()
    payload = json.dumps([[k, *_tagged(v)] for k, v in mapping.items()]).encode()
    got = _outcome(os.setxattr, p, b"glupy.fuzz.xdata", payload)
    if all(_storable(k, v) for k, v in mapping.items()):
        assert got == ("ok", None), f"{mapping!r}: {got}"
    else:
        assert got == ("errno", errno.EINVAL), f"{mapping!r}: {got}"
    m.assert_alive()


# ------------------------------------------------------------------- not fuzzed

ODD_NAMES = [b"\xff\xfe\xfd", "café".encode("latin-1"), b"\x01\x1b[0m\x7f", b"\xc3\x28", b"n" * 255]


@pytest.mark.parametrize("stack", ["passthrough", "crypt"])
def test_non_utf8_names_pass_through_unchanged(tmp_path, stack):
    require_mount_privileges()
    if stack == "crypt":
        key = tmp_path / "crypt.key"
        key.write_bytes(os.urandom(32))
        key.chmod(0o600)
        translators = [("glupy.library.crypt", {"key-file": str(key), "encrypt-names": "on"})]
    else:
        translators = [("glupy.library.passthrough", {})]
    mnt, backend, _state = _mount(tmp_path, translators)
    try:
        secret = b"plaintext that crypt must not store as is " * 10
        for name in ODD_NAMES:
            with open(os.fsencode(mnt) + b"/" + name, "wb") as f:
                f.write(secret + name)
        assert sorted(os.listdir(os.fsencode(mnt))) == sorted(ODD_NAMES)
        stored_names = [n for n in os.listdir(os.fsencode(backend)) if n != b".glusterfs"]
        if stack == "passthrough":
            assert sorted(stored_names) == sorted(ODD_NAMES), "names stored as given"
        else:
            assert len(stored_names) == len(ODD_NAMES) and not set(stored_names) & set(ODD_NAMES), \
                "crypt stores names encrypted"
        for stored_name in stored_names:
            with open(os.fsencode(backend) + b"/" + stored_name, "rb") as f:
                raw = f.read()
            assert (secret in raw) == (stack == "passthrough"), "crypt stores ciphertext"
        for name in ODD_NAMES:
            with open(os.fsencode(mnt) + b"/" + name, "rb") as f:
                assert f.read() == secret + name
            os.rename(os.fsencode(mnt) + b"/" + name, os.fsencode(mnt) + b"/" + name[:200] + b"\xfe")
        assert len(os.listdir(os.fsencode(mnt))) == len(ODD_NAMES)
    finally:
        process.unmount(mnt, state_dir=tmp_path / "state")
