"""A POSIX conformance suite: small named checks, each returning a JSON-able observation.

Written from the POSIX rules (and Linux's documented choices where POSIX leaves one), not
from what GlusterFS happens to do.  A check receives a fresh empty directory on the
filesystem under test and returns what it saw: results, errno *names*, and the stat fields
that must be equal on any two conforming filesystems (type, mode, nlink, size, uid, gid).
Times are only reported as relations ("mtime changed", "ctime not changed"); inode numbers
only as equalities.

``run_suite(root)`` runs every check in its own subdirectory of ``root`` and returns
``{check name: observation}``; an unexpected exception becomes ``{"exception": ...}``
rather than stopping the suite.  Checks named ``user_*`` run their body in a forked child
that dropped to uid/gid 65534 (the child ``chdir``s into its directory first, so the
mount's parents need not be searchable by that uid) and send the observation back
through a pipe.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import mmap
import os
import stat
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOBODY = 65534
OLD_NS = 1_000_000_000_123_456_789  # 2001-09-09, with a nanosecond part
TICK = 0.03  # > the backend's coarse timestamp granularity (one jiffy)

Obs = Any  # JSON-able: None, bool, int, str, list, dict


@dataclass(frozen=True)
class Check:
    name: str
    func: Callable[[Path], Obs]
    as_user: bool = False


CHECKS: list[Check] = []


def check(func: Callable[[Path], Obs]) -> Callable[[Path], Obs]:
    name = func.__name__.removeprefix("check_")
    CHECKS.append(Check(name, func, as_user=name.startswith("user_")))
    return func


# --------------------------------------------------------------------------- helpers


def ename(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, f"errno{exc.errno}")


def E(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """``"ok"`` or the errno name of the OSError ``fn(*args)`` raised."""
    try:
        res = fn(*args, **kwargs)
    except OSError as exc:
        return ename(exc)
    if isinstance(res, int) and fn in (os.open,):
        os.close(res)
    return "ok"


def R(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The result of ``fn(*args)``, or the errno name it failed with."""
    try:
        return fn(*args, **kwargs)
    except OSError as exc:
        return ename(exc)


_TYPES = {stat.S_IFREG: "reg", stat.S_IFDIR: "dir", stat.S_IFLNK: "lnk", stat.S_IFIFO: "fifo",
          stat.S_IFCHR: "chr", stat.S_IFBLK: "blk", stat.S_IFSOCK: "sock"}


def st_obs(s: os.stat_result) -> dict[str, Any]:
    return {"type": _TYPES.get(stat.S_IFMT(s.st_mode), "?"), "mode": oct(stat.S_IMODE(s.st_mode)),
            "nlink": s.st_nlink, "size": s.st_size, "uid": s.st_uid, "gid": s.st_gid}


def ST(path: str | Path | int, follow: bool = False) -> Any:
    """stat fields that must match, or the errno name."""
    try:
        s = os.stat(path) if isinstance(path, int) else os.stat(path, follow_symlinks=follow)
    except OSError as exc:
        return ename(exc)
    out = st_obs(s)
    if out["type"] == "dir":
        out.pop("size")  # a directory's size is filesystem-specific
    return out


def put(path: str | Path, data: bytes = b"", mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def get(path: str | Path) -> Any:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        return ename(exc)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks).decode("latin-1")
    finally:
        os.close(fd)


def age(path: str | Path, follow: bool = True) -> None:
    """Set atime and mtime to OLD_NS (so any later update is visible), then wait a tick."""
    os.utime(path, ns=(OLD_NS, OLD_NS), follow_symlinks=follow)
    time.sleep(TICK)


def times(path: str | Path | int, follow: bool = True) -> tuple[int, int, int]:
    s = os.stat(path) if isinstance(path, int) else os.stat(path, follow_symlinks=follow)
    return s.st_atime_ns, s.st_mtime_ns, s.st_ctime_ns


def changed(before: tuple[int, int, int], after: tuple[int, int, int]) -> dict[str, bool]:
    """mtime/ctime changed? (atime is not required to be maintained)."""
    return {"mtime_changed": after[1] != before[1], "ctime_changed": after[2] != before[2]}


def listing(path: str | Path) -> Any:
    return R(lambda: sorted(os.listdir(path)))


_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100


def utimensat(path: str | Path, atime: tuple[int, int], mtime: tuple[int, int], flags: int = 0) -> None:
    ts = (_Timespec * 2)(_Timespec(*atime), _Timespec(*mtime))
    if _libc.utimensat(AT_FDCWD, os.fsencode(str(path)), ts, flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), str(path))


# --------------------------------------------------------------------------- open / creat


@check
def check_open_creat_new_mode(d: Path) -> Obs:
    fd = os.open(d / "f", os.O_CREAT | os.O_WRONLY, 0o640)
    os.close(fd)
    return ST(d / "f")


@check
def check_open_creat_umask(d: Path) -> Obs:
    old = os.umask(0o027)
    try:
        put(d / "f", b"", 0o777)
        os.mkdir(d / "sub", 0o777)
    finally:
        os.umask(old)
    return {"file": ST(d / "f"), "dir": ST(d / "sub")}


@check
def check_open_creat_excl_existing(d: Path) -> Obs:
    put(d / "f", b"data")
    return {"excl": E(os.open, d / "f", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644),
            "creat": E(os.open, d / "f", os.O_CREAT | os.O_WRONLY, 0o600),
            "after": ST(d / "f"), "content": get(d / "f")}


@check
def check_open_creat_excl_dir(d: Path) -> Obs:
    os.mkdir(d / "sub")
    return {"excl": E(os.open, d / "sub", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644),
            "creat_on_dir": E(os.open, d / "sub", os.O_CREAT | os.O_WRONLY, 0o644)}


@check
def check_open_creat_excl_symlink(d: Path) -> Obs:
    os.symlink("target", d / "dangling")
    return {"excl_on_dangling": E(os.open, d / "dangling", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644),
            "target_exists": os.path.lexists(d / "target"),
            "creat_through_dangling": E(os.open, d / "dangling", os.O_CREAT | os.O_WRONLY, 0o600),
            "target": ST(d / "target")}


@check
def check_open_missing(d: Path) -> Obs:
    return {"rdonly": E(os.open, d / "nope", os.O_RDONLY),
            "missing_parent": E(os.open, d / "nodir" / "f", os.O_CREAT | os.O_WRONLY, 0o644),
            "empty_name": E(os.open, "", os.O_RDONLY)}


@check
def check_open_trunc(d: Path) -> Obs:
    put(d / "f", b"x" * 100)
    age(d / "f")
    before = times(d / "f")
    fd = os.open(d / "f", os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    return {"stat": ST(d / "f"), **changed(before, times(d / "f"))}


@check
def check_open_trunc_empty_file(d: Path) -> Obs:
    put(d / "f", b"")
    fd = os.open(d / "f", os.O_RDWR | os.O_TRUNC)
    os.close(fd)
    return ST(d / "f")


@check
def check_open_append(d: Path) -> Obs:
    put(d / "f", b"abc")
    fd = os.open(d / "f", os.O_WRONLY | os.O_APPEND)
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b"de")
        pos = os.lseek(fd, 0, os.SEEK_CUR)
        os.lseek(fd, 1, os.SEEK_SET)
        os.write(fd, b"fg")
    finally:
        os.close(fd)
    return {"content": get(d / "f"), "pos_after_write": pos, "stat": ST(d / "f")}


@check
def check_open_append_two_fds(d: Path) -> Obs:
    put(d / "f", b"")
    a = os.open(d / "f", os.O_WRONLY | os.O_APPEND)
    b = os.open(d / "f", os.O_WRONLY | os.O_APPEND)
    try:
        for i in range(5):
            os.write(a, f"a{i}".encode())
            os.write(b, f"b{i}".encode())
    finally:
        os.close(a)
        os.close(b)
    return get(d / "f")


@check
def check_open_directory_flag(d: Path) -> Obs:
    put(d / "f")
    os.mkdir(d / "sub")
    os.symlink("sub", d / "lsub")
    return {"on_file": E(os.open, d / "f", os.O_RDONLY | os.O_DIRECTORY),
            "on_dir": E(os.open, d / "sub", os.O_RDONLY | os.O_DIRECTORY),
            "on_symlink_to_dir": E(os.open, d / "lsub", os.O_RDONLY | os.O_DIRECTORY),
            "on_missing": E(os.open, d / "nope", os.O_RDONLY | os.O_DIRECTORY)}


@check
def check_open_nofollow(d: Path) -> Obs:
    put(d / "f", b"x")
    os.symlink("f", d / "l")
    return {"symlink": E(os.open, d / "l", os.O_RDONLY | os.O_NOFOLLOW),
            "file": E(os.open, d / "f", os.O_RDONLY | os.O_NOFOLLOW),
            "creat_symlink": E(os.open, d / "l", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)}


@check
def check_open_dir_for_write(d: Path) -> Obs:
    os.mkdir(d / "sub")
    fd = os.open(d / "sub", os.O_RDONLY)
    try:
        read = R(os.read, fd, 10)
    finally:
        os.close(fd)
    return {"wronly": E(os.open, d / "sub", os.O_WRONLY), "rdwr": E(os.open, d / "sub", os.O_RDWR),
            "rdonly": E(os.open, d / "sub", os.O_RDONLY), "read_dir_fd": read,
            "trunc": E(os.open, d / "sub", os.O_RDONLY | os.O_TRUNC)}


@check
def check_open_file_as_dir_component(d: Path) -> Obs:
    put(d / "f")
    return {"open": E(os.open, d / "f" / "x", os.O_RDONLY),
            "creat": E(os.open, d / "f" / "x", os.O_CREAT | os.O_WRONLY, 0o644),
            "stat": ST(d / "f" / "x"), "mkdir": E(os.mkdir, d / "f" / "x"),
            "trailing_slash": E(os.open, str(d / "f") + "/", os.O_RDONLY)}


@check
def check_fd_access_mode(d: Path) -> Obs:
    put(d / "f", b"hello")
    r = os.open(d / "f", os.O_RDONLY)
    w = os.open(d / "f", os.O_WRONLY)
    try:
        return {"write_on_rdonly": R(os.write, r, b"x"), "read_on_wronly": R(os.read, w, 1),
                "ftruncate_on_rdonly": R(os.ftruncate, r, 0), "content": get(d / "f")}
    finally:
        os.close(r)
        os.close(w)


@check
def check_read_write_basic(d: Path) -> Obs:
    fd = os.open(d / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        n = os.write(fd, b"0123456789")
        os.lseek(fd, 3, os.SEEK_SET)
        first = os.read(fd, 4)
        os.pwrite(fd, b"AB", 8)
        pre = os.pread(fd, 100, 6)
        eof = os.pread(fd, 10, 10)
        beyond = os.pread(fd, 10, 1000)
        fsize = os.fstat(fd).st_size
    finally:
        os.close(fd)
    return {"written": n, "read": first.decode(), "pread": pre.decode(), "at_eof": eof.decode(),
            "beyond": beyond.decode(), "fstat_size": fsize, "content": get(d / "f")}


# --------------------------------------------------------------------------- rename


@check
def check_rename_file_over_file(d: Path) -> Obs:
    put(d / "a", b"aaa")
    put(d / "b", b"bbbbbb")
    os.link(d / "b", d / "b2")
    rc = E(os.rename, d / "a", d / "b")
    return {"rc": rc, "a": ST(d / "a"), "b": ST(d / "b"), "b_content": get(d / "b"),
            "old_b_link": ST(d / "b2"), "listing": listing(d)}


@check
def check_rename_dir_over_empty_dir(d: Path) -> Obs:
    os.mkdir(d / "src")
    put(d / "src" / "inside", b"x")
    os.mkdir(d / "dst")
    rc = E(os.rename, d / "src", d / "dst")
    return {"rc": rc, "listing": listing(d), "dst": listing(d / "dst"), "parent": ST(d)}


@check
def check_rename_dir_over_nonempty_dir(d: Path) -> Obs:
    os.mkdir(d / "src")
    os.mkdir(d / "dst")
    put(d / "dst" / "keep")
    return {"rc": E(os.rename, d / "src", d / "dst"), "listing": listing(d), "dst": listing(d / "dst")}


@check
def check_rename_file_over_dir(d: Path) -> Obs:
    put(d / "f")
    os.mkdir(d / "sub")
    return {"rc": E(os.rename, d / "f", d / "sub"), "listing": listing(d), "sub": ST(d / "sub")}


@check
def check_rename_dir_over_file(d: Path) -> Obs:
    put(d / "f", b"keep")
    os.mkdir(d / "sub")
    return {"rc": E(os.rename, d / "sub", d / "f"), "listing": listing(d), "f": get(d / "f")}


@check
def check_rename_to_itself(d: Path) -> Obs:
    put(d / "f", b"same")
    os.mkdir(d / "sub")
    return {"file": E(os.rename, d / "f", d / "f"), "dir": E(os.rename, d / "sub", d / "sub"),
            "listing": listing(d), "f": ST(d / "f")}


@check
def check_rename_hardlinks_of_same_file(d: Path) -> Obs:
    put(d / "a", b"x")
    os.link(d / "a", d / "b")
    # POSIX: if old and new are links to the same file, rename does nothing and succeeds
    return {"rc": E(os.rename, d / "a", d / "b"), "listing": listing(d), "b": ST(d / "b")}


@check
def check_rename_into_own_subdir(d: Path) -> Obs:
    os.makedirs(d / "a" / "b")
    return {"child": E(os.rename, d / "a", d / "a" / "b" / "c"),
            "self_child": E(os.rename, d / "a", d / "a" / "c"), "listing": listing(d)}


@check
def check_rename_missing_and_bad(d: Path) -> Obs:
    put(d / "f")
    os.mkdir(d / "sub")
    return {"missing_src": E(os.rename, d / "nope", d / "x"),
            "missing_dst_dir": E(os.rename, d / "f", d / "nodir" / "x"),
            "dst_parent_is_file": E(os.rename, d / "sub", d / "f" / "x"),
            "dot": E(os.rename, f"{d}/sub/.", d / "x"), "listing": listing(d)}


@check
def check_rename_across_dirs_nlink(d: Path) -> Obs:
    os.mkdir(d / "p1")
    os.mkdir(d / "p2")
    os.mkdir(d / "p1" / "child")
    put(d / "p1" / "file", b"moving")
    before = {"p1": ST(d / "p1"), "p2": ST(d / "p2")}
    os.rename(d / "p1" / "child", d / "p2" / "child")
    os.rename(d / "p1" / "file", d / "p2" / "file2")
    dotdot = os.stat(d / "p2" / "child" / "..").st_ino == os.stat(d / "p2").st_ino
    return {"before": before, "after": {"p1": ST(d / "p1"), "p2": ST(d / "p2")},
            "p1": listing(d / "p1"), "p2": listing(d / "p2"), "content": get(d / "p2" / "file2"),
            "dotdot_is_new_parent": dotdot}


@check
def check_rename_open_file(d: Path) -> Obs:
    put(d / "a", b"before")
    fd = os.open(d / "a", os.O_RDWR)
    try:
        os.rename(d / "a", d / "b")
        os.pwrite(fd, b"AFTER!", 0)
        via_fd = os.pread(fd, 100, 0)
    finally:
        os.close(fd)
    return {"via_fd": via_fd.decode(), "b": get(d / "b"), "a": ST(d / "a")}


@check
def check_rename_symlink(d: Path) -> Obs:
    put(d / "t", b"target")
    os.symlink("t", d / "l")
    os.rename(d / "l", d / "l2")
    return {"readlink": R(os.readlink, d / "l2"), "l2": ST(d / "l2"), "follow": get(d / "l2")}


@check
def check_rename_times(d: Path) -> Obs:
    os.mkdir(d / "p1")
    os.mkdir(d / "p2")
    put(d / "p1" / "f")
    age(d / "p1")
    age(d / "p2")
    b1, b2 = times(d / "p1"), times(d / "p2")
    os.rename(d / "p1" / "f", d / "p2" / "f")
    return {"src_parent": changed(b1, times(d / "p1")), "dst_parent": changed(b2, times(d / "p2"))}


# --------------------------------------------------------------------------- links


@check
def check_hardlink_counts(d: Path) -> Obs:
    put(d / "a", b"shared")
    obs: dict[str, Any] = {"one": ST(d / "a")}
    os.link(d / "a", d / "b")
    os.link(d / "a", d / "c")
    obs["three"] = ST(d / "a")
    obs["same_ino"] = os.stat(d / "a").st_ino == os.stat(d / "c").st_ino
    with open(d / "b", "r+b") as f:
        f.write(b"SH")
    obs["via_c"] = get(d / "c")
    os.unlink(d / "a")
    obs["after_unlink"] = ST(d / "b")
    os.unlink(d / "b")
    obs["last"] = ST(d / "c")
    return obs


@check
def check_link_errors(d: Path) -> Obs:
    put(d / "f")
    put(d / "g")
    os.mkdir(d / "sub")
    return {"dir": E(os.link, d / "sub", d / "sub2"), "existing": E(os.link, d / "f", d / "g"),
            "missing": E(os.link, d / "nope", d / "x"),
            "into_missing_dir": E(os.link, d / "f", d / "nodir" / "x"), "f": ST(d / "f")}


@check
def check_link_ctime(d: Path) -> Obs:
    put(d / "f")
    age(d / "f")
    age(d)
    bf, bd = times(d / "f"), times(d)
    os.link(d / "f", d / "g")
    return {"file": changed(bf, times(d / "f")), "dir": changed(bd, times(d))}


@check
def check_link_to_symlink(d: Path) -> Obs:
    put(d / "t")
    os.symlink("t", d / "l")
    os.link(d / "l", d / "hl", follow_symlinks=False)
    return {"hl": ST(d / "hl"), "l": ST(d / "l"), "t": ST(d / "t"), "readlink": R(os.readlink, d / "hl")}


@check
def check_dir_nlink(d: Path) -> Obs:
    os.mkdir(d / "top")
    obs: dict[str, Any] = {"empty": ST(d / "top")}
    for i in range(3):
        os.mkdir(d / "top" / f"s{i}")
    put(d / "top" / "file")
    obs["three_subdirs"] = ST(d / "top")
    obs["sub"] = ST(d / "top" / "s0")
    os.rmdir(d / "top" / "s1")
    obs["after_rmdir"] = ST(d / "top")
    return obs


# --------------------------------------------------------------------------- unlink


@check
def check_unlink_open_file(d: Path) -> Obs:
    put(d / "f", b"still here")
    fd = os.open(d / "f", os.O_RDWR)
    try:
        os.unlink(d / "f")
        gone = ST(d / "f")
        read = os.pread(fd, 100, 0)
        os.pwrite(fd, b" and growing", 10)
        reread = os.pread(fd, 100, 0)
        fst = st_obs(os.fstat(fd))
        os.ftruncate(fd, 5)
        truncated = os.pread(fd, 100, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    return {"stat_after_unlink": gone, "read": read.decode(), "reread": reread.decode(),
            "fstat": fst, "truncated": truncated.decode(), "listing": listing(d)}


@check
def check_unlink_open_then_recreate(d: Path) -> Obs:
    put(d / "f", b"old")
    fd = os.open(d / "f", os.O_RDONLY)
    try:
        os.unlink(d / "f")
        put(d / "f", b"new file")
        old = os.pread(fd, 100, 0)
    finally:
        os.close(fd)
    return {"old_fd": old.decode(), "new": get(d / "f")}


@check
def check_unlink_one_of_links_open(d: Path) -> Obs:
    put(d / "a", b"x")
    os.link(d / "a", d / "b")
    fd = os.open(d / "a", os.O_RDONLY)
    try:
        os.unlink(d / "a")
        return {"fstat": st_obs(os.fstat(fd)), "b": ST(d / "b")}
    finally:
        os.close(fd)


@check
def check_unlink_errors(d: Path) -> Obs:
    os.mkdir(d / "sub")
    put(d / "f")
    return {"dir": E(os.unlink, d / "sub"), "missing": E(os.unlink, d / "nope"),
            "through_file": E(os.unlink, d / "f" / "x"), "listing": listing(d)}


@check
def check_unlink_dir_times(d: Path) -> Obs:
    put(d / "f")
    age(d)
    before = times(d)
    os.unlink(d / "f")
    return changed(before, times(d))


@check
def check_rmdir_open_dir(d: Path) -> Obs:
    os.mkdir(d / "sub")
    fd = os.open(d / "sub", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rmdir(d / "sub")
        return {"stat": ST(d / "sub"), "fstat_nlink": R(lambda: os.fstat(fd).st_nlink),
                "create_in_removed": E(os.open, f"/proc/self/fd/{fd}/x", os.O_CREAT | os.O_WRONLY, 0o644)}
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- errors


@check
def check_mkdir_errors(d: Path) -> Obs:
    os.mkdir(d / "sub")
    put(d / "f")
    os.symlink("nowhere", d / "dangling")
    return {"existing_dir": E(os.mkdir, d / "sub"), "existing_file": E(os.mkdir, d / "f"),
            "dangling_symlink": E(os.mkdir, d / "dangling"), "missing_parent": E(os.mkdir, d / "a" / "b"),
            "mode": (os.mkdir(d / "m", 0o705), ST(d / "m"))[1]}


@check
def check_rmdir_errors(d: Path) -> Obs:
    os.mkdir(d / "full")
    put(d / "full" / "x")
    put(d / "f")
    os.mkdir(d / "empty")
    return {"nonempty": E(os.rmdir, d / "full"), "file": E(os.rmdir, d / "f"),
            "missing": E(os.rmdir, d / "nope"), "dot": E(os.rmdir, f"{d}/empty/."),
            "empty": E(os.rmdir, d / "empty"), "listing": listing(d)}


@check
def check_rmdir_nonempty_hidden_entries(d: Path) -> Obs:
    os.mkdir(d / "a")
    os.mkdir(d / "a" / "sub")
    os.mkdir(d / "b")
    os.symlink("x", d / "b" / ".hidden")
    return {"subdir_only": E(os.rmdir, d / "a"), "dotfile_only": E(os.rmdir, d / "b")}


@check
def check_stat_errors(d: Path) -> Obs:
    put(d / "f")
    return {"missing": ST(d / "nope"), "through_file": ST(d / "f" / "x"),
            "listdir_file": listing(d / "f"), "listdir_missing": listing(d / "nope")}


@check
def check_truncate_errors(d: Path) -> Obs:
    os.mkdir(d / "sub")
    put(d / "f", b"abc")
    return {"dir": E(os.truncate, d / "sub", 0), "missing": E(os.truncate, d / "nope", 0),
            "negative": E(os.truncate, d / "f", -1), "f": ST(d / "f")}


@check
def check_read_on_dir_fd(d: Path) -> Obs:
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return {"read": R(os.read, fd, 1), "write": R(os.write, fd, b"x"),
                "ftruncate": R(os.ftruncate, fd, 0)}
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- special files


@check
def check_mkfifo(d: Path) -> Obs:
    os.mkfifo(d / "p", 0o640)
    fd = os.open(d / "p", os.O_RDONLY | os.O_NONBLOCK)
    try:
        w = os.open(d / "p", os.O_WRONLY | os.O_NONBLOCK)
        os.write(w, b"through the pipe")
        os.close(w)
        data = os.read(fd, 100)
    finally:
        os.close(fd)
    return {"stat": ST(d / "p"), "existing": E(os.mkfifo, d / "p"), "data": data.decode(),
            "listed": listing(d)}


@check
def check_mknod_devices(d: Path) -> Obs:
    os.mknod(d / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(d / "blk", 0o600 | stat.S_IFBLK, os.makedev(7, 200))
    os.mknod(d / "reg", 0o600 | stat.S_IFREG)
    s = os.stat(d / "null")
    b = os.stat(d / "blk")
    return {"chr": ST(d / "null"), "chr_rdev": [os.major(s.st_rdev), os.minor(s.st_rdev)],
            "blk": ST(d / "blk"), "blk_rdev": [os.major(b.st_rdev), os.minor(b.st_rdev)],
            "reg": ST(d / "reg"), "existing": E(os.mknod, d / "reg", 0o600 | stat.S_IFREG)}


@check
def check_unix_socket_node(d: Path) -> Obs:
    import socket

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        cwd = os.getcwd()
        os.chdir(d)
        try:
            s.bind("sock")  # relative: avoids the 108-byte sun_path limit
        finally:
            os.chdir(cwd)
    finally:
        s.close()
    return ST(d / "sock")


# --------------------------------------------------------------------------- mode / owner / times


@check
def check_chmod_modes(d: Path) -> Obs:
    put(d / "f")
    os.mkdir(d / "sub")
    out = {}
    for mode in (0o000, 0o644, 0o755, 0o4755, 0o2755, 0o1777, 0o7777, 0o600):
        os.chmod(d / "f", mode)
        os.chmod(d / "sub", mode)
        out[oct(mode)] = [ST(d / "f")["mode"], ST(d / "sub")["mode"]]
    os.chmod(d / "sub", 0o755)
    return out


@check
def check_chmod_times(d: Path) -> Obs:
    put(d / "f")
    age(d / "f")
    before = times(d / "f")
    os.chmod(d / "f", 0o600)
    return changed(before, times(d / "f"))


@check
def check_fchmod_fchown(d: Path) -> Obs:
    put(d / "f")
    fd = os.open(d / "f", os.O_RDONLY)
    try:
        os.fchmod(fd, 0o751)
        os.fchown(fd, 4321, 8765)
        return {"fstat": st_obs(os.fstat(fd)), "stat": ST(d / "f")}
    finally:
        os.close(fd)


@check
def check_chown(d: Path) -> Obs:
    put(d / "f")
    os.mkdir(d / "sub")
    os.chown(d / "f", 1234, 5678)
    a = ST(d / "f")
    os.chown(d / "f", -1, 42)
    b = ST(d / "f")
    os.chown(d / "f", 7, -1)
    c = ST(d / "f")
    os.chown(d / "sub", 99, 98)
    return {"both": a, "gid_only": b, "uid_only": c, "dir": ST(d / "sub")}


@check
def check_chown_clears_setid(d: Path) -> Obs:
    put(d / "f")
    os.chmod(d / "f", 0o6755)
    os.chown(d / "f", 1000, 1000)
    after_chown = ST(d / "f")["mode"]
    put(d / "g")
    os.chmod(d / "g", 0o2745)  # setgid without group-exec: mandatory-locking marker, kept
    os.chown(d / "g", 1000, 1000)
    return {"exec_setid": after_chown, "setgid_noexec": ST(d / "g")["mode"]}


@check
def check_chown_times(d: Path) -> Obs:
    put(d / "f")
    age(d / "f")
    before = times(d / "f")
    os.chown(d / "f", 3, 3)
    return changed(before, times(d / "f"))


@check
def check_utime_ns(d: Path) -> Obs:
    put(d / "f")
    os.mkdir(d / "sub")
    os.utime(d / "f", ns=(1_234_567_890_987_654_321, 1_111_111_111_222_333_444))
    os.utime(d / "sub", ns=(946_684_800_000_000_001, 946_684_800_999_999_999))
    s, t = os.stat(d / "f"), os.stat(d / "sub")
    return {"file": [s.st_atime_ns, s.st_mtime_ns], "dir": [t.st_atime_ns, t.st_mtime_ns]}


@check
def check_utime_now(d: Path) -> Obs:
    put(d / "f")
    age(d / "f")
    before = times(d / "f")
    os.utime(d / "f")
    after = times(d / "f")
    return {**changed(before, after), "atime_changed": after[0] != before[0],
            "mtime_recent": abs(after[1] - time.time_ns()) < 60 * 10**9}


@check
def check_utimensat_omit_now(d: Path) -> Obs:
    put(d / "f")
    os.utime(d / "f", ns=(OLD_NS, OLD_NS))
    utimensat(d / "f", (0, UTIME_OMIT), (1_500_000_000, 5))
    s = os.stat(d / "f")
    first = [s.st_atime_ns, s.st_mtime_ns]
    utimensat(d / "f", (2_000_000_000, 7), (0, UTIME_OMIT))
    s = os.stat(d / "f")
    second = [s.st_atime_ns, s.st_mtime_ns]
    utimensat(d / "f", (0, UTIME_OMIT), (0, UTIME_NOW))
    s = os.stat(d / "f")
    return {"omit_atime": first, "omit_mtime": second,
            "atime_kept": s.st_atime_ns == 2_000_000_000_000_000_007,
            "mtime_now": abs(s.st_mtime_ns - time.time_ns()) < 60 * 10**9}


@check
def check_utime_negative_and_large(d: Path) -> Obs:
    put(d / "f")
    rc1 = E(os.utime, d / "f", ns=(-1_000_000_000, -500_000_000))
    s1 = os.stat(d / "f")
    rc2 = E(os.utime, d / "f", ns=(4_000_000_000 * 10**9, 4_000_000_000 * 10**9 + 1))
    s2 = os.stat(d / "f")
    return {"negative": [rc1, s1.st_atime_ns, s1.st_mtime_ns],
            "year_2096": [rc2, s2.st_atime_ns, s2.st_mtime_ns]}


@check
def check_times_on_write(d: Path) -> Obs:
    put(d / "f", b"abc")
    age(d / "f")
    before = times(d / "f")
    fd = os.open(d / "f", os.O_WRONLY)
    try:
        os.pwrite(fd, b"X", 1)
        fst = times(fd)
    finally:
        os.close(fd)
    return {"fstat": changed(before, fst), "stat": changed(before, times(d / "f"))}


@check
def check_times_on_truncate(d: Path) -> Obs:
    put(d / "f", b"abcdef")
    out = {}
    for name, size in (("shrink", 2), ("grow", 100), ("same", 100)):
        age(d / "f")
        before = times(d / "f")
        os.truncate(d / "f", size)
        out[name] = changed(before, times(d / "f"))
    fd = os.open(d / "f", os.O_RDWR)
    try:
        age(d / "f")
        before = times(d / "f")
        os.ftruncate(fd, 10)
        out["ftruncate"] = changed(before, times(d / "f"))
    finally:
        os.close(fd)
    out["size"] = ST(d / "f")["size"]
    return out


@check
def check_times_not_on_read(d: Path) -> Obs:
    put(d / "f", b"abc")
    age(d / "f")
    before = times(d / "f")
    get(d / "f")
    os.stat(d / "f")
    after = times(d / "f")
    return {"mtime_changed": after[1] != before[1], "ctime_changed": after[2] != before[2]}


@check
def check_dir_times_on_create(d: Path) -> Obs:
    out = {}
    for name, make in (("creat", lambda: put(d / "f")), ("mkdir", lambda: os.mkdir(d / "s")),
                       ("symlink", lambda: os.symlink("x", d / "l")),
                       ("mkfifo", lambda: os.mkfifo(d / "p")),
                       ("rmdir", lambda: os.rmdir(d / "s"))):
        age(d)
        before = times(d)
        make()
        out[name] = changed(before, times(d))
    return out


@check
def check_setid_cleared_on_write(d: Path) -> Obs:
    put(d / "f", b"abc")
    os.chmod(d / "f", 0o6777)
    os.chown(d / "f", 1000, 1000)
    os.chmod(d / "f", 0o6777)
    before = ST(d / "f")["mode"]
    fd = os.open(d / "f", os.O_WRONLY)
    try:
        os.write(fd, b"root writes")
    finally:
        os.close(fd)
    return {"before": before, "after_root_write": ST(d / "f")["mode"]}


# --------------------------------------------------------------------------- symlinks


@check
def check_symlink_basic(d: Path) -> Obs:
    put(d / "t", b"target data")
    os.symlink("t", d / "l")
    long_target = "x" * 1000
    os.symlink(long_target, d / "long")
    return {"readlink": R(os.readlink, d / "l"), "lstat": ST(d / "l"), "stat": ST(d / "l", follow=True),
            "read": get(d / "l"), "long_readlink_len": len(R(os.readlink, d / "long")),
            "long_lstat": ST(d / "long"), "readlink_file": E(os.readlink, d / "t"),
            "readlink_missing": E(os.readlink, d / "nope"), "existing": E(os.symlink, "t", d / "l"),
            "over_file": E(os.symlink, "x", d / "t")}


@check
def check_symlink_dangling(d: Path) -> Obs:
    os.symlink("missing/target", d / "l")
    return {"stat": ST(d / "l", follow=True), "lstat": ST(d / "l"), "open": E(os.open, d / "l", os.O_RDONLY),
            "readlink": R(os.readlink, d / "l"), "listing": listing(d), "unlink": E(os.unlink, d / "l")}


@check
def check_symlink_loops(d: Path) -> Obs:
    os.symlink("b", d / "a")
    os.symlink("a", d / "b")
    os.symlink("self", d / "self")
    return {"stat": ST(d / "a", follow=True), "open": E(os.open, d / "a", os.O_RDONLY),
            "self_stat": ST(d / "self", follow=True), "lstat": ST(d / "a"),
            "through": ST(d / "a" / "x", follow=True), "mkdir_through": E(os.mkdir, d / "self" / "x")}


@check
def check_symlink_chain(d: Path) -> Obs:
    put(d / "t", b"end")
    prev = "t"
    for i in range(30):
        os.symlink(prev, d / f"l{i}")
        prev = f"l{i}"
    for i in range(30, 45):
        os.symlink(prev, d / f"l{i}")
        prev = f"l{i}"
    return {"depth_30": get(d / "l29"), "depth_45": get(d / "l44")}


@check
def check_symlink_dirs(d: Path) -> Obs:
    os.makedirs(d / "real" / "deep")
    put(d / "real" / "deep" / "f", b"deep")
    os.symlink("real", d / "ld")
    os.symlink("../real/deep", d / "real" / "up")
    return {"through": get(d / "ld" / "deep" / "f"), "relative_up": get(d / "real" / "up" / "f"),
            "listing_through": listing(d / "ld"), "rmdir_symlink": E(os.rmdir, d / "ld"),
            "unlink_trailing_slash": E(os.unlink, str(d / "ld") + "/"), "lstat": ST(d / "ld")}


@check
def check_lchown(d: Path) -> Obs:
    put(d / "t")
    os.symlink("t", d / "l")
    os.lchown(d / "l", 1001, 1002)
    out = {"link": ST(d / "l"), "target": ST(d / "t")}
    os.chown(d / "l", 2001, 2002)  # follows
    out["after_chown"] = {"link": ST(d / "l"), "target": ST(d / "t")}
    return out


@check
def check_symlink_lutimes(d: Path) -> Obs:
    put(d / "t")
    os.symlink("t", d / "l")
    os.utime(d / "t", ns=(OLD_NS, OLD_NS))
    rc = E(os.utime, d / "l", ns=(2 * 10**18, 2 * 10**18 + 3), follow_symlinks=False)
    ls, ts = os.lstat(d / "l"), os.stat(d / "t")
    return {"rc": rc, "link_mtime": ls.st_mtime_ns, "target_mtime": ts.st_mtime_ns}


@check
def check_symlink_chmod_follows(d: Path) -> Obs:
    put(d / "t")
    os.chmod(d / "t", 0o600)
    os.symlink("t", d / "l")
    os.chmod(d / "l", 0o640)
    return {"target": ST(d / "t"), "link_type": ST(d / "l")["type"]}


# --------------------------------------------------------------------------- names


@check
def check_name_lengths(d: Path) -> Obs:
    n255, n256 = "a" * 255, "b" * 256
    out = {"create_255": E(put, d / n255, b"x"), "stat_255": ST(d / n255), "read_255": get(d / n255),
           "mkdir_255": E(os.mkdir, d / ("d" * 255)), "symlink_255": E(os.symlink, "t", d / ("s" * 255)),
           "create_256": E(os.open, d / n256, os.O_CREAT | os.O_WRONLY, 0o644),
           "stat_256": ST(d / n256), "mkdir_256": E(os.mkdir, d / ("e" * 256)),
           "rename_to_256": E(os.rename, d / n255, d / n256),
           "link_to_256": E(os.link, d / n255, d / n256),
           "utf8_255_bytes": E(put, d / ("é" * 127 + "x"), b"")}
    out["listing_lengths"] = sorted(len(os.fsencode(n)) for n in os.listdir(d))
    return out


@check
def check_odd_names(d: Path) -> Obs:
    names = ["space name", "tab\tname", "new\nline", "ünïcødé", "日本語", "-dash", ".dot", "..dots",
             "a:b", "back\\slash", "quote'\"", "*?[", "#hash", "%25"]
    for n in names:
        put(d / n, n.encode())
    bad = os.fsdecode(b"\xff\xfe-latin1")
    put(d / bad, b"raw bytes")
    return {"listing": [os.fsencode(n).hex() for n in sorted(os.listdir(d))],
            "contents_ok": all(get(d / n) == n.encode().decode("latin-1") for n in names),
            "raw": get(d / bad)}


# --------------------------------------------------------------------------- xattrs


@check
def check_xattr_basic(d: Path) -> Obs:
    put(d / "f")
    f = d / "f"
    out: dict[str, Any] = {"missing": E(os.getxattr, f, "user.nope")}
    os.setxattr(f, "user.a", b"value-a")
    os.setxattr(f, "user.b", b"")
    os.setxattr(f, "user.bin", bytes(range(256)))
    out["get"] = R(os.getxattr, f, "user.a").hex()
    out["empty"] = R(os.getxattr, f, "user.b").hex()
    out["bin_ok"] = R(os.getxattr, f, "user.bin") == bytes(range(256))
    out["list"] = sorted(x for x in os.listxattr(f) if x.startswith("user."))
    out["create_existing"] = E(os.setxattr, f, "user.a", b"x", os.XATTR_CREATE)
    out["replace_missing"] = E(os.setxattr, f, "user.c", b"x", os.XATTR_REPLACE)
    out["replace"] = E(os.setxattr, f, "user.a", b"replaced", os.XATTR_REPLACE)
    out["after_replace"] = R(os.getxattr, f, "user.a").hex()
    out["remove"] = E(os.removexattr, f, "user.a")
    out["remove_missing"] = E(os.removexattr, f, "user.a")
    out["get_removed"] = E(os.getxattr, f, "user.a")
    out["list_after"] = sorted(x for x in os.listxattr(f) if x.startswith("user."))
    return out


@check
def check_xattr_large_and_many(d: Path) -> Obs:
    put(d / "f")
    big = bytes(i % 251 for i in range(1500))
    rc = E(os.setxattr, d / "f", "user.big", big)
    for i in range(20):
        os.setxattr(d / "f", f"user.k{i:02d}", str(i).encode())
    return {"big": rc, "big_ok": R(os.getxattr, d / "f", "user.big") == big,
            "too_big": E(os.setxattr, d / "f", "user.huge", b"x" * 70000),
            "count": len([x for x in os.listxattr(d / "f") if x.startswith("user.k")]),
            "k17": R(lambda: os.getxattr(d / "f", "user.k17").decode())}


@check
def check_xattr_dirs_symlinks(d: Path) -> Obs:
    os.mkdir(d / "sub")
    put(d / "t")
    os.symlink("t", d / "l")
    os.setxattr(d / "sub", "user.d", b"dir")
    return {"dir": R(os.getxattr, d / "sub", "user.d").decode(),
            "symlink_nofollow": E(os.setxattr, d / "l", "user.s", b"x", follow_symlinks=False),
            "symlink_follow": E(os.setxattr, d / "l", "user.s", b"y"),
            "target_got": R(os.getxattr, d / "t", "user.s").decode(),
            "missing_file": E(os.getxattr, d / "nope", "user.x"),
            "bad_namespace": E(os.setxattr, d / "t", "bogus.x", b"1")}


@check
def check_xattr_ctime(d: Path) -> Obs:
    put(d / "f")
    age(d / "f")
    before = times(d / "f")
    os.setxattr(d / "f", "user.t", b"1")
    return changed(before, times(d / "f"))


# --------------------------------------------------------------------------- readdir


@check
def check_readdir_many(d: Path) -> Obs:
    names = [f"entry-{i:05d}" + "x" * (i % 40) for i in range(1500)]
    for i, n in enumerate(names):
        if i % 10 == 0:
            os.mkdir(d / n)
        else:
            put(d / n)
    listed = os.listdir(d)
    with os.scandir(d) as it:
        types = {e.name: ("dir" if e.is_dir(follow_symlinks=False) else "file") for e in it}
    for n in names[::3]:
        (os.rmdir if (d / n).is_dir() else os.unlink)(d / n)
    after = os.listdir(d)
    return {"count": len(listed), "unique": len(set(listed)), "match": sorted(listed) == sorted(names),
            "dirs": sum(1 for t in types.values() if t == "dir"), "no_dots": "." not in listed,
            "after_delete": len(after), "after_match": sorted(after) == sorted(set(names) - set(names[::3])),
            "nlink": ST(d)["nlink"]}


@check
def check_readdir_empty_and_seek(d: Path) -> Obs:
    os.mkdir(d / "e")
    for i in range(100):
        put(d / f"f{i}")
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        first = sorted(os.listdir(fd))
        os.lseek(fd, 0, os.SEEK_SET)
        second = sorted(os.listdir(fd))
    finally:
        os.close(fd)
    return {"empty": listing(d / "e"), "rewind_same": first == second, "n": len(first)}


# --------------------------------------------------------------------------- seek / holes / sizes


@check
def check_sparse_file(d: Path) -> Obs:
    fd = os.open(d / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.lseek(fd, 1 << 20, os.SEEK_SET)
        os.write(fd, b"end")
        size = os.fstat(fd).st_size
        hole = os.pread(fd, 4096, 4096)
        head = os.pread(fd, 16, 0)
        data = R(os.lseek, fd, 0, os.SEEK_DATA)
        hole0 = R(os.lseek, fd, 0, os.SEEK_HOLE)
        data_past = R(os.lseek, fd, (1 << 20) + 10, os.SEEK_DATA)
        end = os.lseek(fd, 0, os.SEEK_END)
        past = os.lseek(fd, 100, os.SEEK_END)
        neg = R(os.lseek, fd, -1, os.SEEK_SET)
    finally:
        os.close(fd)
    return {"size": size, "hole_zero": hole == bytes(4096), "head_zero": head == bytes(16),
            "seek_data": data, "seek_hole": hole0, "seek_data_past_eof": data_past, "seek_end": end,
            "seek_past_end": past, "seek_negative": neg, "tail": get(d / "f")[-3:]}


@check
def check_truncate_extend_zero_fill(d: Path) -> Obs:
    put(d / "f", b"abcdefgh")
    os.truncate(d / "f", 3)
    os.truncate(d / "f", 10)
    return {"content": get(d / "f").encode("latin-1").hex(), "stat": ST(d / "f")}


@check
def check_write_past_eof_gap(d: Path) -> Obs:
    put(d / "f", b"12345")
    fd = os.open(d / "f", os.O_WRONLY)
    try:
        os.pwrite(fd, b"Z", 9)
    finally:
        os.close(fd)
    return get(d / "f").encode("latin-1").hex()


@check
def check_fallocate(d: Path) -> Obs:
    fd = os.open(d / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        rc = E(os.posix_fallocate, fd, 0, 65536)
        size = os.fstat(fd).st_size
        zero = os.pread(fd, 65536, 0) == bytes(65536)
    finally:
        os.close(fd)
    return {"rc": rc, "size": size, "zero": zero}


@check
def check_large_offsets(d: Path) -> Obs:
    fd = os.open(d / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        off = (1 << 40) + 123
        os.pwrite(fd, b"far", off)
        back = os.pread(fd, 3, off)
        size = os.fstat(fd).st_size
        os.ftruncate(fd, 1 << 33)
        size2 = os.fstat(fd).st_size
    finally:
        os.close(fd)
    return {"back": back.decode(), "size": size, "after_truncate": size2}


@check
def check_mmap_shared(d: Path) -> Obs:
    put(d / "f", b"." * 8192)
    fd = os.open(d / "f", os.O_RDWR)
    try:
        try:
            m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as exc:
            return {"mmap": ename(exc)}
        with m:
            m[100:105] = b"hello"
            m.flush()
            seen = os.pread(fd, 5, 100)
        os.pwrite(fd, b"WORLD", 200)
        with mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ) as m2:
            mapped = m2[200:205]
    finally:
        os.close(fd)
    return {"pread_sees_mmap": seen.decode(), "mmap_sees_pwrite": mapped.decode(),
            "content": get(d / "f")[95:210].replace(".", "")}


@check
def check_fsync_and_statvfs(d: Path) -> Obs:
    put(d / "f", b"x")
    fd = os.open(d / "f", os.O_RDWR)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        out = {"fsync": E(os.fsync, fd), "fdatasync": E(os.fdatasync, fd), "fsync_dir": E(os.fsync, dfd)}
    finally:
        os.close(fd)
        os.close(dfd)
    sv = os.statvfs(d)
    out["namemax"] = sv.f_namemax
    return out


@check
def check_dup_shared_offset(d: Path) -> Obs:
    put(d / "f", b"0123456789")
    fd = os.open(d / "f", os.O_RDONLY)
    fd2 = os.dup(fd)
    try:
        a = os.read(fd, 3)
        b = os.read(fd2, 3)
    finally:
        os.close(fd)
        os.close(fd2)
    return [a.decode(), b.decode()]


@check
def check_flock_and_fcntl_locks(d: Path) -> Obs:
    import fcntl

    put(d / "f", b"x" * 100)
    fd = os.open(d / "f", os.O_RDWR)
    try:
        out = {"flock_ex": E(fcntl.flock, fd, fcntl.LOCK_EX | fcntl.LOCK_NB),
               "flock_un": E(fcntl.flock, fd, fcntl.LOCK_UN),
               "lockf": E(fcntl.lockf, fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)}
        pid = os.fork()
        if pid == 0:  # another process must see the record lock
            code = 0
            try:
                fd2 = os.open(d / "f", os.O_RDWR)
                try:
                    fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
                except OSError as exc:
                    code = 10 + (exc.errno or 0)
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        out["other_process"] = "ok" if rc == 0 else errno.errorcode.get(rc - 10, str(rc))
    finally:
        os.close(fd)
    return out


# --------------------------------------------------------------------------- as a non-root user
# Every user_* check: setup as root in the parent, then `as_user(d, body)`.


def as_user(d: Path, body: Callable[[], Obs], uid: int = NOBODY, gid: int = NOBODY) -> Obs:
    """Run ``body`` in a forked child with cwd ``d`` and uid/gid ``uid``/``gid``; return its result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            try:
                os.chdir(d)
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                result = body()
            except BaseException as exc:
                result = {"exception": f"{type(exc).__name__}: {exc}", "tb": traceback.format_exc()[-800:]}
            data = json.dumps(result).encode()
            while data:
                data = data[os.write(w, data):]
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    with os.fdopen(r, "rb") as f:
        chunks.append(f.read())
    os.waitpid(pid, 0)
    raw = b"".join(chunks)
    return json.loads(raw) if raw else {"exception": "child sent nothing"}


@check
def check_user_identity(d: Path) -> Obs:
    return as_user(d, lambda: [os.getuid(), os.geteuid(), os.getgid(), os.getgroups()])


@check
def check_user_root_private_file(d: Path) -> Obs:
    put(d / "secret", b"root only", 0o600)
    put(d / "ro", b"readable", 0o644)
    return as_user(d, lambda: {
        "read": E(os.open, "secret", os.O_RDONLY), "write": E(os.open, "secret", os.O_WRONLY),
        "stat": ST("secret"), "read_644": get("ro"), "write_644": E(os.open, "ro", os.O_WRONLY),
        "truncate_644": E(os.truncate, "ro", 0), "access_r": os.access("secret", os.R_OK),
        "access_ro_r": os.access("ro", os.R_OK), "access_ro_w": os.access("ro", os.W_OK)})


@check
def check_user_write_0444_own_file(d: Path) -> Obs:
    os.chmod(d, 0o777)
    put(d / "mine", b"data", 0o444)
    os.chown(d / "mine", NOBODY, NOBODY)
    out = as_user(d, lambda: {"write": E(os.open, "mine", os.O_WRONLY), "trunc": E(os.truncate, "mine", 0),
                              "chmod_own": E(os.chmod, "mine", 0o644),
                              "write_after_chmod": E(put, "mine", b"changed")})
    out["root_write_0444"] = E(os.open, d / "mine", os.O_WRONLY)
    out["content"] = get(d / "mine")
    return out


@check
def check_user_create_in_0555_dir(d: Path) -> Obs:
    os.mkdir(d / "ro", 0o555)
    os.chown(d / "ro", NOBODY, NOBODY)
    os.chmod(d / "ro", 0o555)
    put(d / "ro" / "existing")
    return as_user(d, lambda: {"create": E(os.open, "ro/new", os.O_CREAT | os.O_WRONLY, 0o644),
                               "mkdir": E(os.mkdir, "ro/sub"), "unlink": E(os.unlink, "ro/existing"),
                               "rename": E(os.rename, "ro/existing", "ro/other"),
                               "symlink": E(os.symlink, "x", "ro/l"), "mkfifo": E(os.mkfifo, "ro/p"),
                               "listing": listing("ro")})


@check
def check_user_creates_in_0777_dir(d: Path) -> Obs:
    os.chmod(d, 0o777)

    def body() -> Obs:
        put("mine", b"x", 0o666)
        os.mkdir("mydir", 0o777)
        os.symlink("mine", "mylink")
        return {"file": ST("mine"), "dir": ST("mydir"), "link": ST("mylink")}

    return as_user(d, body)


@check
def check_user_setgid_dir_inherits_group(d: Path) -> Obs:
    os.chmod(d, 0o777)
    os.mkdir(d / "sg")
    os.chown(d / "sg", 0, 4242)
    os.chmod(d / "sg", 0o2777)

    def body() -> Obs:
        put("sg/f")
        os.mkdir("sg/sub")
        return {"file": ST("sg/f"), "dir": ST("sg/sub")}

    return as_user(d, body)


@check
def check_user_chmod_chown_not_owner(d: Path) -> Obs:
    put(d / "rootfile", b"", 0o666)
    os.chmod(d / "rootfile", 0o666)
    os.chmod(d, 0o777)
    put(d / "mine")
    os.chown(d / "mine", NOBODY, 4242)  # a group nobody is not a member of
    out = as_user(d, lambda: {
        "chmod": E(os.chmod, "rootfile", 0o777), "chown": E(os.chown, "rootfile", NOBODY, NOBODY),
        "chown_own_to_root": E(os.chown, "mine", 0, -1), "chgrp_own_other_group": E(os.chown, "mine", -1, 0),
        "chown_own_noop": E(os.chown, "mine", NOBODY, -1),
        "utime_explicit": E(os.utime, "rootfile", ns=(1, 1)), "utime_now": E(os.utime, "rootfile"),
        "setgid_clear": (os.chmod("mine", 0o2755), ST("mine")["mode"])[1]})
    out["rootfile"] = ST(d / "rootfile")
    out["mine"] = ST(d / "mine")
    return out


@check
def check_user_sticky_dir(d: Path) -> Obs:
    os.mkdir(d / "tmp")
    os.chmod(d / "tmp", 0o1777)
    put(d / "tmp" / "roots", b"", 0o666)
    put(d / "tmp" / "nobodys", b"", 0o644)
    os.chown(d / "tmp" / "nobodys", NOBODY, NOBODY)
    os.mkdir(d / "tmp" / "rootdir", 0o777)
    os.chmod(d / "tmp" / "rootdir", 0o777)
    out = as_user(d, lambda: {
        "unlink_others": E(os.unlink, "tmp/roots"), "rename_others": E(os.rename, "tmp/roots", "tmp/x"),
        "rmdir_others": E(os.rmdir, "tmp/rootdir"), "write_others": E(put, "tmp/roots", b"w"),
        "rename_own": E(os.rename, "tmp/nobodys", "tmp/renamed"),
        "rename_own_over_others": E(os.rename, "tmp/renamed", "tmp/roots"),
        "create_own": E(put, "tmp/new"), "unlink_own": E(os.unlink, "tmp/new"),
        "listing": listing("tmp")})
    out["root_unlink_nobodys"] = E(os.unlink, d / "tmp" / "renamed")
    out["stat"] = ST(d / "tmp")
    return out


@check
def check_user_dir_search_permission(d: Path) -> Obs:
    os.mkdir(d / "noexec", 0o766)
    os.chmod(d / "noexec", 0o766)  # r and w for others but no search
    put(d / "noexec" / "f", b"hidden", 0o644)
    os.mkdir(d / "noread", 0o711)
    os.chmod(d / "noread", 0o711)
    put(d / "noread" / "f", b"reachable", 0o644)
    return as_user(d, lambda: {
        "stat_in_noexec": ST("noexec/f"), "list_noexec": R(lambda: len(os.listdir("noexec"))),
        "open_in_noexec": E(os.open, "noexec/f", os.O_RDONLY),
        "list_noread": listing("noread"), "read_in_noread": get("noread/f")})


@check
def check_user_group_permissions(d: Path) -> Obs:
    put(d / "grp", b"group", 0o640)
    os.chown(d / "grp", 0, NOBODY)
    put(d / "grp_denied", b"nope", 0o604)  # group has fewer rights than others: group wins
    os.chown(d / "grp_denied", 0, NOBODY)
    return as_user(d, lambda: {"read_group": get("grp"), "write_group": E(os.open, "grp", os.O_WRONLY),
                               "read_group_denied": get("grp_denied")})


@check
def check_user_setid_cleared_by_write(d: Path) -> Obs:
    put(d / "f", b"abc", 0o6777)
    os.chmod(d / "f", 0o6777)
    before = ST(d / "f")["mode"]
    res = as_user(d, lambda: E(put, "f", b"nobody was here"))
    return {"before": before, "write": res, "after": ST(d / "f")["mode"], "content": get(d / "f")}


@check
def check_user_xattr_permissions(d: Path) -> Obs:
    put(d / "rootfile", b"", 0o644)
    os.setxattr(d / "rootfile", "user.r", b"v")
    return as_user(d, lambda: {"get": R(lambda: os.getxattr("rootfile", "user.r").decode()),
                               "set": E(os.setxattr, "rootfile", "user.w", b"x"),
                               "trusted_get": E(os.getxattr, "rootfile", "trusted.gfid")})


# --------------------------------------------------------------------------- runner


def run_check(c: Check, root: Path) -> Obs:
    d = root / c.name
    os.mkdir(d)
    os.chmod(d, 0o755)
    try:
        obs = c.func(d)
        json.dumps(obs)  # must be JSON-able
        return obs
    except Exception as exc:
        return {"exception": f"{type(exc).__name__}: {exc}"}


def run_suite(root: str | Path, only: list[str] | None = None) -> dict[str, Obs]:
    """Run every check (or those named in ``only``) under ``root``; ``{name: observation}``."""
    root = Path(root)
    old = os.umask(0o022)
    try:
        return {c.name: run_check(c, root) for c in CHECKS if only is None or c.name in only}
    finally:
        os.umask(old)


def diff(a: Obs, b: Obs, path: str = "") -> list[str]:
    """Human-readable differences between two observations."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: {a.get(k, '<missing>')!r} != {b.get(k, '<missing>')!r}")
            else:
                out += diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [x for i, (p, q) in enumerate(zip(a, b, strict=True)) for x in diff(p, q, f"{path}[{i}]")]
    return [] if a == b else [f"{path or '.'}: {a!r} != {b!r}"]


if len({c.name for c in CHECKS}) != len(CHECKS):  # a duplicate name would hide a check
    raise RuntimeError("posix_suite: duplicate check names")
