"""Bad input never takes GlusterFS down.

Real GlusterFS (FUSE -> Python -> storage/posix, started by glupy_mount), with the
misbehaving translators of tests/bridge/translators/errors_*.py:

* a fop that raises, returns the wrong type or awaits something that is not a child
  fop fails alone (EIO at the client, the reason in the glusterfs log under the
  xlator's name) and the same process keeps serving;
* ``FopError`` reaches the client with its errno, a child's errno survives a re-raise;
* a translator that cannot start (not ``async def``, import errors, a missing or
  ambiguous class, bad options, init() raising) makes the mount fail with the cause in
  the MountError, the glusterfs process gone with a non-zero status and no mount left.
"""

from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

import pytest

from glupy.local import daemon, process, volfile
from glupy.local.volfile import Graph, Volume

HERE = Path(__file__).parent
TRANSLATORS = str(HERE / "translators")
FAULTY = ("errors_fops:Faulty", {})
# as in translators/errors_fops.py (loaded inside glusterfs, not importable here)
CRASH_MESSAGE = "deliberate-crash-7f3a"
INIT_MESSAGE = "deliberate-init-failure-51c2"
SYNTAX_ERROR_MODULE = """\
from glupy import Translator


class Broken(Translator):
    async def lookup(self, loc, xdata)   # no colon: SyntaxError
        return await self.child.lookup(loc, xdata)
"""
FAULTY_XL = "glupy-faulty"  # the volume name single_process_graph gives it
FOP_MESSAGE = re.compile(r"\w+\(\) of ")


# ----------------------------------------------------------------- helpers


def log_records(log_path: Path, xlator: str) -> list[str]:
    """The glusterfs log messages of one xlator, each a string of one or more lines.

    The bridge logs a multi-line message (a traceback) as one log line per text line,
    all under the xlator's name: a message about a fop starts with ``<fop>() of `` and
    takes the following lines of the same xlator up to the next such start."""
    tag = f" 0-{xlator}: "
    records: list[list[str]] = []
    open_record = False
    for line in Path(log_path).read_text(errors="replace").splitlines():
        if tag not in line:
            open_record = False
            continue
        text = line.split(tag, 1)[1]
        if open_record and not FOP_MESSAGE.match(text):
            records[-1].append(text)
        else:
            records.append([text])
            open_record = bool(FOP_MESSAGE.match(text))
    return ["\n".join(r) for r in records]


def wait_for_log(log_path: Path, xlator: str, needle: str, timeout: float = 5.0) -> str:
    """The first record of ``xlator`` containing ``needle`` (the log is written by
    another process: give it a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        for record in log_records(log_path, xlator):
            if needle in record:
                return record
        if time.monotonic() > deadline:
            tail = "\n".join(process.tail(log_path, 40))
            raise AssertionError(f"no log record of {xlator} with {needle!r}; log tail:\n{tail}")
        time.sleep(0.05)


def fails_with(code: int, fn, *args) -> OSError:
    with pytest.raises(OSError) as info:
        fn(*args)
    assert info.value.errno == code, (
        f"{fn.__name__}{args}: expected {errno.errorcode[code]}, "
        f"got {errno.errorcode.get(info.value.errno, info.value.errno)}: {info.value}"
    )
    return info.value


def still_serving(m, tag: str) -> None:
    """The mount answers normal requests and its glusterfs process is alive."""
    assert m.pid is not None and process.pid_alive(m.pid), "glusterfs died"
    p = m.mountpoint / f"ok-{tag}"
    p.write_bytes(b"still here " + tag.encode())
    assert p.read_bytes() == b"still here " + tag.encode()
    assert (m.backend_dir / f"ok-{tag}").read_bytes() == b"still here " + tag.encode()
    assert f"ok-{tag}" in os.listdir(m.mountpoint)
    os.unlink(p)
    assert not p.exists()
    assert process.mount_fstype(m.mountpoint) == process.FUSE_TYPE


def in_proc_mounts(path: str) -> bool:
    with open("/proc/mounts") as f:
        return any(line.split()[1] == path for line in f if len(line.split()) > 1)


def glusterfs_pids_for(path: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            args = daemon.cmdline(int(entry.name))
            if args and "glusterfs" in os.path.basename(args[0]) and path in args:
                pids.append(int(entry.name))
    return pids


def assert_failed_cleanly(err: process.MountError, *needles: str) -> str:
    """The MountError names every needle, glusterfs exited non-zero, nothing is left."""
    text = str(err)
    for needle in needles:
        assert needle in text, f"{needle!r} not in the MountError:\n{text}"
    status = re.search(r"glusterfs exited with status (-?\d+)", text)
    assert status is not None, f"the MountError does not say how glusterfs exited:\n{text}"
    assert int(status.group(1)) != 0
    mp = re.search(r"glusterfs failed to mount (\S+):", text)
    assert mp is not None, text
    mountpoint = mp.group(1)
    assert not in_proc_mounts(mountpoint), f"stale mount left at {mountpoint}"
    assert process.mount_fstype(mountpoint) is None
    assert glusterfs_pids_for(mountpoint) == [], "a glusterfs process is still running"
    return text


# ------------------------------------------------------- errors inside fops


@pytest.fixture
def faulty(glupy_mount):
    m = glupy_mount([FAULTY], python_path=[TRANSLATORS])
    still_serving(m, "start")
    return m


@pytest.mark.parametrize("prefix, exc", [("crash-", "ValueError"), ("keyerror-", "KeyError"),
                                         ("after-wind-", "RuntimeError")])
def test_an_exception_in_a_fop_is_eio_with_a_traceback_and_the_process_lives_on(faulty, prefix, exc):
    m = faulty
    pid = m.pid
    if prefix == "after-wind-":
        # the crash comes after a successful wind: the names must exist.  Created through
        # the mount (the lookup misses, the child's ENOENT passes through), then looked
        # up again once the kernel's entry timeout (1 s) has run out.
        for i in range(3):
            (m.mountpoint / f"{prefix}{i}").write_text("x")
        time.sleep(1.2)
    for i in range(3):
        name = f"{prefix}{i}"
        fails_with(errno.EIO, os.stat, m.mountpoint / name)
        needle = "missing-key" if exc == "KeyError" else f"{CRASH_MESSAGE}"
        # this fop's own message (the KeyError's does not name the file)
        record = wait_for_log(m.log_path, FAULTY_XL,
                              f"raised {exc}" if exc == "KeyError" else f"found {name}"
                              if prefix == "after-wind-" else f"in {name}")
        assert "lookup() of errors_fops:Faulty raised" in record
        assert needle in record
        assert "Traceback (most recent call last)" in record
        assert "errors_fops.py" in record  # the frame of the translator's code
        assert "EIO" in record
        if prefix == "after-wind-":  # (a listing would refresh the other names' entries)
            assert process.pid_alive(pid)
        else:
            still_serving(m, f"{prefix}{i}")
    still_serving(m, prefix)
    if exc != "KeyError":  # (the KeyError message does not name the file)
        # each failing fop logged its own name: nothing was swallowed or merged
        # (FUSE's resolver and the lookup itself may each ask, and a stale entry is first
        # revalidated: 1 to 4 lookups per stat)
        records = [r for r in log_records(m.log_path, FAULTY_XL) if f"raised {exc}" in r]
        for i in range(3):
            mine = [r for r in records if f"{prefix}{i}" in r]
            assert 1 <= len(mine) <= 4, records
            for r in mine:  # one message per failed fop, each with the whole traceback
                assert r.count("Traceback (most recent call last)") == 1, r
                assert r.rstrip().endswith(f"{prefix}{i}"), r
        assert len(records) <= 12
    assert m.pid == pid and process.pid_alive(pid)


def test_fop_error_reaches_the_client_with_its_errno(faulty):
    m = faulty
    for i in range(3):
        fails_with(errno.EACCES, os.stat, m.mountpoint / f"eacces-{i}")
    fails_with(errno.EACCES, open, m.mountpoint / "eacces-open", "w")
    assert not (m.backend_dir / "eacces-open").exists()
    # a deliberate FopError is not a crash: nothing at error level for it
    assert not [r for r in log_records(m.log_path, FAULTY_XL) if "lookup() of" in r and "eacces-" in r]
    still_serving(m, "eacces")


def test_a_childs_fop_error_keeps_its_errno_when_re_raised(faulty):
    m = faulty
    d = m.mountpoint / "full"
    d.mkdir()
    (d / "inside").write_text("x")
    # rmdir re-raises the child's FopError as it came
    fails_with(errno.ENOTEMPTY, os.rmdir, d)
    assert (m.backend_dir / "full" / "inside").exists()
    # a child's error passing through untouched (lookup awaits the child)
    fails_with(errno.ENOENT, os.stat, m.mountpoint / "no-such-file")
    os.unlink(d / "inside")
    os.rmdir(d)
    assert not (m.backend_dir / "full").exists()
    still_serving(m, "child-errno")


def test_a_new_fop_error_built_from_the_childs_errno(faulty):
    m = faulty
    # setxattr raises FopError(e.errno) from the child's error (a new error, no reply)
    p = m.mountpoint / "xattrs"
    p.write_text("x")
    os.setxattr(p, "user.glupy-test", b"1", os.XATTR_CREATE)
    fails_with(errno.EEXIST, os.setxattr, p, "user.glupy-test", b"2", os.XATTR_CREATE)
    assert os.getxattr(p, "user.glupy-test") == b"1"
    os.setxattr(p, "user.glupy-test", b"3", os.XATTR_REPLACE)
    fails_with(errno.ENODATA, os.setxattr, p, "user.glupy-absent", b"4", os.XATTR_REPLACE)
    assert os.getxattr(m.backend_dir / "xattrs", "user.glupy-test") == b"3"
    assert not [r for r in log_records(m.log_path, FAULTY_XL) if "setxattr() of" in r]
    still_serving(m, "setxattr")


def test_a_childs_fop_error_caught_in_the_translator(faulty):
    m = faulty
    for i in range(3):
        # the miss is caught (try/except FopError around the await) and replaced
        fails_with(errno.EROFS, os.stat, m.mountpoint / f"caught-{i}")
    assert not [r for r in log_records(m.log_path, FAULTY_XL) if "lookup() of" in r]
    still_serving(m, "caught")


def test_child_methods_take_keywords_and_defaults(faulty):
    m = faulty
    for prefix in ("kwargs-", "defaults-"):
        p = m.mountpoint / f"{prefix}file"
        p.write_text("abc")
        time.sleep(1.2)  # the kernel's entry timeout: the next stat looks it up again
        assert os.stat(p).st_size == 3
        fails_with(errno.ENOENT, os.stat, m.mountpoint / f"{prefix}missing")
    assert not [r for r in log_records(m.log_path, FAULTY_XL) if "lookup() of" in r]
    # too many arguments: the TypeError of a Python call, logged with its traceback
    fails_with(errno.EIO, os.stat, m.mountpoint / "badargs-0")
    record = wait_for_log(m.log_path, FAULTY_XL, "raised TypeError")
    assert "lookup() takes from 2 to 3 positional arguments but 4 were given" in record
    assert "Traceback (most recent call last)" in record and "errors_fops.py" in record
    still_serving(m, "child-methods")


@pytest.mark.parametrize("prefix, expected", [
    ("int-", "returned 42, expected a LookupReply"),
    ("statreply-", "returned StatReply("),
    ("none-", "returned None, expected a LookupReply"),
])
def test_returning_the_wrong_type_is_eio_with_a_log_line(faulty, prefix, expected):
    m = faulty
    fails_with(errno.EIO, os.stat, m.mountpoint / f"{prefix}x")
    record = wait_for_log(m.log_path, FAULTY_XL, expected)
    assert "lookup() of errors_fops:Faulty" in record
    assert "expected a LookupReply" in record
    fails_with(errno.EIO, os.stat, m.mountpoint / f"{prefix}y")  # and again
    still_serving(m, prefix)


@pytest.mark.parametrize("prefix", ["sleep0-", "sleep1-", "future-"])
def test_awaiting_something_else_than_a_child_fop_is_eio(faulty, prefix):
    m = faulty
    fails_with(errno.EIO, os.stat, m.mountpoint / f"{prefix}x")
    record = wait_for_log(m.log_path, FAULTY_XL, "lookup() of errors_fops:Faulty raised")
    assert "Traceback (most recent call last)" in record
    if prefix == "sleep0-":
        # asyncio.sleep(0) yields None to the driver, which refuses it
        assert "can only await child fops, glupy.gather() or a glupy.Lock, not None" in record
    fails_with(errno.EIO, os.stat, m.mountpoint / f"{prefix}y")
    still_serving(m, prefix)


def test_many_failures_do_not_wear_the_process_down(faulty):
    m = faulty
    for i in range(200):
        prefix = ("crash-", "int-", "eacces-", "sleep0-")[i % 4]
        code = errno.EACCES if prefix == "eacces-" else errno.EIO
        fails_with(code, os.stat, m.mountpoint / f"{prefix}many-{i}")
    still_serving(m, "many")


# ------------------------------------------------------ translators that cannot start


@pytest.mark.parametrize("spec, options, needles", [
    ("errors_fops:PlainDef", {}, ["errors_fops:PlainDef", "fop lookup() must be 'async def'"]),
    ("errors_syntax", {}, ["cannot import translator module 'errors_syntax'", "SyntaxError"]),
    ("errors_import", {}, ["cannot import translator module 'errors_import'", "ModuleNotFoundError",
                           "glupy_test_no_such_module_e41d"]),
    ("errors_fops:MissingClass", {}, ["module 'errors_fops' has no class 'MissingClass'"]),
    ("errors_fops", {}, ["must define exactly one Translator subclass", "Faulty", "PlainDef"]),
    ("errors_single", {"bogus-key": "1"}, ["unknown option 'bogus-key'"]),
    ("errors_fops:WithLevel", {"level": "12"}, ["option 'level'", "out of range [0 - 9]"]),
    ("errors_fops:WithLevel", {"level": "many"}, ["option 'level'", "many"]),
    ("errors_fops:InitRaises", {}, [f"RuntimeError: {INIT_MESSAGE}", "Traceback",
                                    "errors_fops.py"]),
], ids=["plain-def", "syntax-error", "import-error", "missing-class", "two-classes",
        "unknown-option", "option-out-of-range", "option-not-an-int", "init-raises"])
def test_a_translator_that_cannot_start_fails_the_mount_cleanly(glupy_mount, tmp_path, spec, options,
                                                              needles):
    # a module that does not compile is written here, not kept in the tree (linters)
    (tmp_path / "errors_syntax.py").write_text(SYNTAX_ERROR_MODULE)
    with pytest.raises(process.MountError) as info:
        glupy_mount([(spec, options)], python_path=[TRANSLATORS, tmp_path], timeout=20)
    text = assert_failed_cleanly(info.value, *needles)
    assert "failed to initialise" in text


def test_missing_module_option_fails_the_mount_cleanly(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root (FUSE mounts)")
    backend, mnt = tmp_path / "backend", tmp_path / "mnt"
    backend.mkdir()
    mnt.mkdir()
    graph = Graph([
        Volume("nomod-posix", "storage/posix", {"directory": str(backend)}),
        Volume("nomod-py", volfile.bridge_type(), {"python-path": TRANSLATORS}, ["nomod-posix"]),
    ])
    try:
        with pytest.raises(process.MountError) as info:
            process.mount_graph(graph, mnt, source_dir=backend, state_dir=tmp_path / "state",
                                timeout=20)
    finally:
        if process.mount_fstype(mnt) is not None:  # only if the assertion above failed
            process.unmount(mnt, state_dir=tmp_path / "state")
    assert_failed_cleanly(info.value, "option 'module' is required", "nomod-py")
    assert process.list_mounts(tmp_path / "state") == []
