"""Drive real client syscalls on a GlusterFS 10.3 FUSE mount and check results.

``exercise_all(mnt)`` makes ordinary system calls on a mounted FUSE client
(single-process graph ``fuse -> [translator] -> storage/posix``) so that as
many ``struct xlator_fops`` fops as the fuse bridge can produce reach the
translator below FUSE, and checks every result against POSIX/Linux
semantics.  Any wrong result raises ``AssertionError`` with a message naming
the check.  The return value describes what was checked.

``FUSE_REACHABLE_BY_EXERCISE`` is the set of fops exercise_all produces on a
mount with default options (checked against debug/trace + debug/io-stats
placed below FUSE).  ``FUSE_REACHABLE_CONDITIONALLY`` holds the fops that FUSE
can produce only under conditions exercise_all cannot create by itself
(mount option, a translator below that blocks locks).  ``FUSE_UNREACHABLE``
maps every other fop to the reason no FUSE client can make it reach a
translator between fuse and posix (from xlators/mount/fuse/src/fuse-bridge.c
at tag v10.3).  The three partition the 55 fops of ``ALL_FOPS``.
``SYSCALL_TO_FOPS`` records the syscall -> fop mapping that was observed.

Byte-range locks (``lk``) are answered by features/locks; storage/posix alone
answers every ``lk`` with ENOSYS ("features/locks translator is not loaded").
``exercise_all`` detects that (``locks=None``) and then only checks that the
call fails with ENOSYS; pass ``locks=True`` to require working POSIX lock
semantics or ``locks=False`` to require ENOSYS.  Note that features/locks
does NOT work directly under fuse in one process: it needs the client_t that
only protocol/server sets (new_posix_lock() logs "invalid argument: client" and
unwinds -1 with errno 0, which FUSE takes as success for SETLK and EIO for
GETLK).  Lock semantics were verified with fuse -> ... -> protocol/client =>
protocol/server -> features/locks -> posix.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import json
import mmap
import os
import select
import shutil
import signal
import stat
import struct
import time
from collections.abc import Callable

__all__ = [
    "ALL_FOPS",
    "FUSE_REACHABLE_BY_EXERCISE",
    "FUSE_REACHABLE_CONDITIONALLY",
    "FUSE_UNREACHABLE",
    "SYSCALL_TO_FOPS",
    "exercise_all",
]

# The 55 slots of struct xlator_fops (glusterfs/xlator.h, 10.3), in order.
ALL_FOPS: tuple[str, ...] = (
    "stat", "readlink", "mknod", "mkdir", "unlink", "rmdir", "symlink",
    "rename", "link", "truncate", "open", "readv", "writev", "statfs",
    "flush", "fsync", "setxattr", "getxattr", "removexattr", "opendir",
    "fsyncdir", "access", "create", "ftruncate", "fstat", "lk", "lookup",
    "readdir", "inodelk", "finodelk", "entrylk", "fentrylk", "xattrop",
    "fxattrop", "fgetxattr", "fsetxattr", "rchecksum", "setattr", "fsetattr",
    "readdirp", "getspec", "fremovexattr", "fallocate", "discard", "zerofill",
    "ipc", "seek", "lease", "compound", "getactivelk", "setactivelk", "put",
    "icreate", "namelink", "copy_file_range",
)

# ---------------------------------------------------------------------------
# What reaches the translator.  Established by reading fuse-bridge.c (and
# libglusterfs/src/graph.c, xlators/system/posix-acl) at v10.3 and by running
# exercise_all on  fuse -> io-stats -> debug/trace -> storage/posix  and on
# fuse -> io-stats -> debug/trace -> protocol/client => protocol/server ->
# features/locks -> posix, reading which fops arrived (trace log + io-stats
# dump).  Kernel 6.18; fuse-bridge answers INIT with protocol 7.24 (its bundled
# contrib/fuse-include/fuse_kernel.h has FUSE_KERNEL_MINOR_VERSION 24) and
# flags ASYNC_READ|POSIX_LOCKS|FLOCK_LOCKS|DONT_MASK|BIG_WRITES|
# DO_READDIRPLUS (use-readdirp=yes, the default)|AUTO_INVAL_DATA; the mount has
# "default_permissions" unless --acl.
# ---------------------------------------------------------------------------
FUSE_REACHABLE_BY_EXERCISE: set[str] = {
    "lookup",       # stat()/open()/mkdir()/... of a name without a valid dentry: FUSE_LOOKUP
    "stat",         # statx(AT_STATX_FORCE_SYNC) (or any stat after the 1 s attribute timeout) of an inode with no open fd: FUSE_GETATTR
    "fstat",        # statx/fstat(AT_STATX_FORCE_SYNC) while the file is open: FUSE_GETATTR; fuse_getattr_resume() finds an fd with fd_lookup() and sends fstat
    "mkdir",        # mkdir(2)
    "mknod",        # mknod(2) S_IFREG and mkfifo(3) (S_IFIFO)
    "create",       # open(O_CREAT) of a missing name: FUSE_CREATE
    "open",         # open(2) of an existing file (also O_TRUNC, O_APPEND, and the copy_file_range/readback opens)
    "writev",       # pwrite/write (write-through page cache, one FUSE_WRITE per <=128 KiB), msync() of a MAP_SHARED mapping, copy_file_range(2) fallback
    "readv",        # pread after posix_fadvise(POSIX_FADV_DONTNEED) dropped the page cache; copy_file_range(2) fallback
    "flush",        # close(2): FUSE_FLUSH on every close of a file fd
    "fsync",        # fsync(2) and fdatasync(2) (datasync=1) on a file fd; msync(MS_SYNC)
    "fsyncdir",     # fsync(2) on an O_DIRECTORY fd: FUSE_FSYNCDIR
    "opendir",      # os.listdir/os.scandir (opendir(3)) and open(O_DIRECTORY)
    "readdirp",     # getdents64 via os.listdir/os.scandir: FUSE_READDIRPLUS
    "statfs",       # statvfs(3)
    "truncate",     # truncate(2) on a path; open(O_TRUNC) of an existing file (SETATTR size=0 without FATTR_FH: fuse-bridge sets no FUSE_ATOMIC_O_TRUNC)
    "ftruncate",    # ftruncate(2): SETATTR FATTR_SIZE|FATTR_FH
    "setattr",      # chmod/chown/utimensat(2) AND fchmod/fchown/futimens(2): the kernel sends those without FATTR_FH
    "fsetattr",     # ftruncate(2) by an unprivileged owner of a set-user-ID file (needs root to set up): kernel adds FATTR_MODE (kill suid) to the FATTR_FH setattr -> fsetattr, then ftruncate (truncate_needed)
    "setxattr",     # setxattr(2) and fsetxattr(2) (fuse-bridge always sends the path fop)
    "getxattr",     # getxattr/fgetxattr/listxattr/flistxattr(2) (listxattr = getxattr with name NULL)
    "removexattr",  # removexattr(2) and fremovexattr(2)
    "symlink",      # symlink(2)
    "readlink",     # readlink(2) (and stat through a symlink)
    "link",         # link(2)
    "rename",       # rename(2) (files, over an existing file, directories)
    "unlink",       # unlink(2)
    "rmdir",        # rmdir(2)
    "lk",           # fcntl F_SETLK/F_SETLKW/F_GETLK, F_OFD_SETLK/F_OFD_GETLK, lockf(3), flock(2) (FUSE_FLOCK_LOCKS: flock arrives as FUSE_SETLK/SETLKW with FUSE_LK_FLOCK, which fuse-bridge ignores: lk with a whole-file F_WRLCK/F_RDLCK)
    "fallocate",    # fallocate(2) mode 0, FALLOC_FL_KEEP_SIZE and FALLOC_FL_ZERO_RANGE (!), posix_fallocate(3)
    "discard",      # fallocate(FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE)
    "seek",         # lseek(SEEK_DATA) / lseek(SEEK_HOLE): FUSE_LSEEK
}

# Reachable from FUSE only under conditions exercise_all cannot set up by itself.
FUSE_REACHABLE_CONDITIONALLY: dict[str, str] = {
    "readdir": "only when mounted with `--use-readdirp=no`: getdents64 then sends FUSE_READDIR "
               "(verified: exercise_all then produces readdir instead of readdirp)",
    "fgetxattr": "only when an lk (FUSE_SETLK/SETLKW) is still pending below fuse when the "
                 "caller gets a signal: the kernel sends FUSE_INTERRUPT and "
                 "fuse_setlk_interrupt_handler() winds fgetxattr(fd, "
                 "\"glusterfs.intrlk.tposix.kblocked.<whence>,<start>-<len>\"). exercise_all does "
                 "this (signal during a blocked F_SETLKW) and it arrives whenever a translator "
                 "below blocks locks (features/locks behind protocol/server); with posix alone "
                 "lk fails at once with ENOSYS and nothing is interrupted",
}

_GFAPI = "reachable only through libgfapi"
FUSE_UNREACHABLE: dict[str, str] = {
    "access": "default mount: 'default_permissions' makes the kernel check permissions itself "
              "and never send FUSE_ACCESS. With --acl the kernel does send FUSE_ACCESS and "
              "fuse_access_resume() winds access, but glusterfs_graph_acl() (libglusterfs/src/"
              "graph.c) has put system/posix-acl ('posix-acl-autoload') on top of the volfile "
              "graph, and posix_acl_access() answers from its own ACL/mode check without "
              "winding (verified: FUSE_ACCESS in --dump-fuse, nothing below). Via gfapi: glfs_access",
    "inodelk": "fuse-bridge.c never winds inodelk (POSIX/flock locks go to lk). Generated only by "
               "cluster xlators (afr, ec, dht, shard, ...) above the translator or by "
               "protocol/server for a remote client; no glfs_* API sends it",
    "finodelk": "never wound by fuse-bridge.c; generated only by cluster xlators (afr/ec/dht/"
                "shard); no glfs_* API",
    "entrylk": "never wound by fuse-bridge.c; generated only by afr/ec/dht for namespace "
               "operations; no glfs_* API",
    "fentrylk": "never wound by fuse-bridge.c; generated only by cluster xlators; no glfs_* API",
    "xattrop": "never wound by fuse-bridge.c; generated by afr/ec (pending changelog), "
               "marker/quota, dht; no glfs_* API",
    "fxattrop": "never wound by fuse-bridge.c; generated by afr/ec/marker/quota/shard; no glfs_* API",
    "rchecksum": "never wound by fuse-bridge.c; generated only by afr/ec self-heal (data "
                 "checksums, shd); no glfs_* API",
    "fsetxattr": "FUSE_SETXATTR always becomes setxattr (the fd variant only under the "
                 "compile-time GF_TEST_FFOP, not defined in release builds). The only other wind "
                 "is syncop_fsetxattr(GF_XATTR_LOCKINFO_KEY) in fuse_migrate_locks() during a "
                 "graph switch with locks held, which needs a volfile server pushing a new graph "
                 "(impossible with a local -f volfile; not caused by a client syscall). "
                 "Via gfapi: glfs_fsetxattr",
    "fremovexattr": "FUSE_REMOVEXATTR always becomes removexattr (fremovexattr only under "
                    "GF_TEST_FFOP). Via gfapi: glfs_fremovexattr",
    "getspec": "not a data-path fop: volfiles come over the glusterfsd mgmt RPC "
               "(GF_HNDSK_GETSPEC to glusterd); fuse-bridge, gfapi and every xlator in 10.3 "
               "only pass it through (error-gen, namespace), nothing originates it",
    "zerofill": "fuse_fallocate_resume() maps FUSE_FALLOCATE to discard if mode has "
                "FALLOC_FL_PUNCH_HOLE, else to fallocate(keep_size = mode & KEEP_SIZE): "
                "FALLOC_FL_ZERO_RANGE (forwarded by Linux 6.x) becomes a plain fallocate and the "
                "range is NOT zeroed (verified). " + _GFAPI + ": glfs_zerofill()",
    "ipc": "no FUSE opcode maps to ipc (FUSE_IOCTL/POLL are not implemented). " + _GFAPI
           + ": glfs_ipc() (private symbol, api/src/glfs.c)",
    "lease": "fuse-bridge.c has no lease support (kernel leases on FUSE are local only). "
             + _GFAPI + ": glfs_lease() / glfs_h_lease()",
    "compound": "obsolete in 10.3: nothing originates it (fuse-bridge, gfapi and xlators only "
                "have pass-through/default stubs)",
    "getactivelk": "never wound by fuse-bridge.c or gfapi; only dht-rebalance lock migration "
                   "and protocol/server (for a remote client) send it",
    "setactivelk": "never wound by fuse-bridge.c or gfapi; only dht-rebalance lock migration "
                   "and protocol/server send it",
    "put": "never wound by fuse-bridge.c or gfapi; only protocol/server forwards it from a "
           "remote client (no in-tree client-side caller)",
    "icreate": "never wound by fuse-bridge.c or gfapi; only protocol/server forwards it "
               "(no in-tree caller; posix does not implement it)",
    "namelink": "never wound by fuse-bridge.c or gfapi; only protocol/server forwards it "
                "(no in-tree caller; posix does not implement it)",
    "copy_file_range": "fuse_copy_file_range() and its FUSE_COPY_FILE_RANGE table entry are "
                       "under #if FUSE_KERNEL_MINOR_VERSION >= 28 but the bundled fuse_kernel.h "
                       "is 7.24, so they are compiled out (no such symbol in fuse.so): the kernel "
                       "gets ENOSYS, sets no_copy_file_range and copy_file_range(2) falls back to "
                       "splice = readv + writev (verified). " + _GFAPI
                       + ": glfs_copy_file_range()",
}

# syscall -> fops observed below FUSE (default mount options, plain posix below).
SYSCALL_TO_FOPS: dict[str, tuple[str, ...]] = {
    "statvfs(path)": ("statfs",),
    "stat(missing name)": ("lookup",),
    "mkdir": ("lookup", "mkdir"),
    "mknod(S_IFREG) / mkfifo": ("lookup", "mknod"),
    "open(O_CREAT|O_EXCL) of a new name": ("lookup", "create"),
    "open(existing)": ("open",),
    "open(O_TRUNC) of an existing file": ("open", "truncate"),
    "pwrite (one request per <=128 KiB)": ("writev",),
    "pread after posix_fadvise(DONTNEED)": ("readv",),
    "msync(MAP_SHARED)": ("writev", "fsync"),
    "statx(AT_STATX_FORCE_SYNC), no fd open": ("stat",),
    "statx(AT_STATX_FORCE_SYNC), fd open": ("fstat",),
    "fsync / fdatasync": ("fsync",),
    "fsync(dirfd)": ("fsyncdir",),
    "close": ("flush",),
    "ftruncate": ("ftruncate",),
    "ftruncate by non-root owner of a setuid file": ("fsetattr", "ftruncate"),
    "truncate(path)": ("truncate",),
    "chmod / chown / utimensat": ("setattr",),
    "fchmod / fchown / futimens": ("setattr",),
    "fallocate(0) / fallocate(KEEP_SIZE) / posix_fallocate": ("fallocate",),
    "fallocate(ZERO_RANGE)": ("fallocate",),
    "fallocate(PUNCH_HOLE|KEEP_SIZE)": ("discard",),
    "fallocate(PUNCH_HOLE) without KEEP_SIZE": (),          # EOPNOTSUPP from the VFS
    "lseek(SEEK_DATA / SEEK_HOLE)": ("seek",),
    "lseek(SEEK_SET / SEEK_END)": (),
    "copy_file_range": ("readv", "writev"),
    "setxattr / fsetxattr": ("setxattr",),
    "getxattr / fgetxattr / listxattr / flistxattr": ("getxattr",),
    "removexattr / fremovexattr": ("removexattr",),
    "symlink": ("lookup", "symlink"),
    "readlink": ("readlink",),
    "link": ("lookup", "link"),
    "rename": ("rename",),
    "unlink": ("unlink",),
    "rmdir": ("rmdir",),
    "opendir + getdents64": ("opendir", "readdirp"),
    "opendir + getdents64 (--use-readdirp=no)": ("opendir", "readdir"),
    "fcntl F_SETLK/F_SETLKW/F_GETLK, F_OFD_*, lockf, flock": ("lk",),
    "signal during a blocked F_SETLKW (features/locks below)": ("fgetxattr",),
    "access (default_permissions)": (),
    "access (--acl)": (),   # FUSE_ACCESS answered by the autoloaded system/posix-acl
}

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
_libc.fallocate.restype = ctypes.c_int
_libc.statx.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint,
                        ctypes.c_void_p]
_libc.statx.restype = ctypes.c_int

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_ZERO_RANGE = 0x10
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_EMPTY_PATH = 0x1000
AT_STATX_FORCE_SYNC = 0x2000
STATX_BASIC_STATS = 0x7FF
SEEK_DATA = getattr(os, "SEEK_DATA", 3)
SEEK_HOLE = getattr(os, "SEEK_HOLE", 4)
_FLOCK_FMT = "@hhqqixxxx"  # struct flock on x86_64 / aarch64 (32 bytes)


def _check(cond: object, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def _expect_errno(expected: int | tuple[int, ...], what: str, fn: Callable, *args, **kw):
    exp = expected if isinstance(expected, tuple) else (expected,)
    try:
        fn(*args, **kw)
    except OSError as e:
        _check(e.errno in exp, f"{what}: expected errno {[errno.errorcode[x] for x in exp]}, "
                               f"got {errno.errorcode.get(e.errno, e.errno)} ({e})")
        return e.errno
    raise AssertionError(f"{what}: expected failure with {[errno.errorcode[x] for x in exp]}, "
                         f"but it succeeded")


def _fallocate(fd: int, mode: int, off: int, length: int) -> None:
    if _libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"fallocate(mode={mode:#x}): {os.strerror(e)}")


class _Statx:
    __slots__ = ("mode", "nlink", "uid", "gid", "ino", "size", "blocks", "atime_ns", "mtime_ns")


def _statx(path: str | None, fd: int = AT_FDCWD, nofollow: bool = False) -> _Statx:
    """statx(2) with AT_STATX_FORCE_SYNC: always sends FUSE_GETATTR."""
    buf = ctypes.create_string_buffer(256)
    flags = AT_STATX_FORCE_SYNC | (AT_SYMLINK_NOFOLLOW if nofollow else 0)
    if path is None:
        flags |= AT_EMPTY_PATH
        p = b""
    else:
        p = os.fsencode(path)
    if _libc.statx(fd, p, flags, STATX_BASIC_STATS, buf) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
    raw = buf.raw
    st = _Statx()
    st.nlink, st.uid, st.gid, st.mode = struct.unpack_from("=IIIH", raw, 16)
    st.ino, st.size, st.blocks = struct.unpack_from("=QQQ", raw, 32)
    a_s, a_ns = struct.unpack_from("=qI", raw, 64)
    m_s, m_ns = struct.unpack_from("=qI", raw, 112)
    st.atime_ns = a_s * 10**9 + a_ns
    st.mtime_ns = m_s * 10**9 + m_ns
    return st


def _mount_options(mnt: str) -> set[str]:
    """Mount options (per-mount and super-block) of the mount at ``mnt``."""
    real = os.path.realpath(mnt)
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            parts = line.split()
            if parts[4].encode().decode("unicode_escape") == real:
                sep = parts.index("-")
                return set(parts[5].split(",")) | set(parts[sep + 3].split(","))
    return set()


def _pattern(n: int, seed: int = 1) -> bytes:
    # cheap deterministic non-repeating-ish bytes, never all zero
    block = bytes(((i * 131 + seed * 7) % 251) + 1 for i in range(4093))
    return (block * (n // len(block) + 1))[:n]


def _drop_cache(fd: int) -> None:
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def _read_all(path: str, size: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        _drop_cache(fd)
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


class _Child:
    """A forked helper process speaking JSON lines over two pipes."""

    def __init__(self, body: Callable[[_Child], object]):
        c_r, p_w = os.pipe()
        p_r, c_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never returns
            code = 0
            try:
                os.close(p_w)
                os.close(p_r)
                self._r, self._w = c_r, c_w
                self._buf = b""
                try:
                    res = body(self)
                    self.send({"result": res})
                except BaseException as e:  # report everything to the parent
                    self.send({"error": f"{type(e).__name__}: {e}"})
                    code = 1
            finally:
                os._exit(code)
        os.close(c_r)
        os.close(c_w)
        self.pid = pid
        self._r, self._w = p_r, p_w
        self._buf = b""

    def send(self, obj: object) -> None:
        os.write(self._w, json.dumps(obj).encode() + b"\n")

    def recv(self, timeout: float = 10.0) -> object:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from helper process")
            r, _, _ = select.select([self._r], [], [], left)
            if r:
                chunk = os.read(self._r, 65536)
                if not chunk:
                    raise EOFError("helper process closed its pipe")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def poll(self, timeout: float) -> bool:
        if b"\n" in self._buf:
            return True
        r, _, _ = select.select([self._r], [], [], timeout)
        return bool(r)

    def finish(self, timeout: float = 10.0) -> object:
        msg = self.recv(timeout)
        self.wait()
        _check(isinstance(msg, dict), f"helper sent {msg!r}")
        if "error" in msg:
            raise AssertionError(f"helper process failed: {msg['error']}")
        return msg["result"]

    def wait(self) -> None:
        if self.pid:
            deadline = time.monotonic() + 10
            while True:
                pid, _ = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    break
                time.sleep(0.01)
            self.pid = 0
            os.close(self._r)
            os.close(self._w)

    def kill(self) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.wait()


def _run_child(body: Callable[[], object]) -> object:
    return _Child(lambda ch: body()).finish()


def _lockf_try(fd: int, kind: int, length: int, start: int) -> str:
    try:
        fcntl.lockf(fd, kind | fcntl.LOCK_NB, length, start)
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def _getlk(fd: int, ltype: int, start: int, length: int, cmd: int = fcntl.F_GETLK) -> dict:
    arg = struct.pack(_FLOCK_FMT, ltype, os.SEEK_SET, start, length, 0)
    out = fcntl.fcntl(fd, cmd, arg)
    t, _w, s, ln, pid = struct.unpack(_FLOCK_FMT, out)
    return {"type": t, "start": s, "len": ln, "pid": pid}


def _setlk(fd: int, ltype: int, start: int, length: int, cmd: int) -> None:
    fcntl.fcntl(fd, cmd, struct.pack(_FLOCK_FMT, ltype, os.SEEK_SET, start, length, 0))


# ---------------------------------------------------------------------------
# the exercise
# ---------------------------------------------------------------------------
def exercise_all(mnt: str, *, locks: bool | None = None,
                 mark: Callable[[str], None] | None = None,
                 keep: bool = False,
                 zero_range_strict: bool = False) -> dict[str, object]:
    """Run every check on the FUSE mount ``mnt``; return what was checked.

    locks: None = detect (ENOSYS from lk means no features/locks below: only
    that is checked), True = require POSIX lock semantics, False = require ENOSYS.
    mark: called with each step's name before the step (e.g. to write a marker
    lookup into a trace log).  keep: leave the work directory behind.
    zero_range_strict: require FALLOC_FL_ZERO_RANGE to zero the range when it
    succeeds.  Off by default because stock GlusterFS 10.3 fuse-bridge turns
    ZERO_RANGE into a plain fallocate (data kept) on kernels that forward it;
    with the default the data must then be exactly unchanged.
    """
    _check(os.path.ismount(mnt), f"{mnt} is not a mountpoint")
    res: dict[str, object] = {}
    root = os.path.join(mnt, f".glupy-exercise-{os.getpid()}-{os.urandom(4).hex()}")
    old_umask = os.umask(0o022)
    is_root = os.geteuid() == 0

    def step(name: str) -> None:
        if mark is not None:
            mark(name)

    try:
        # -- statfs -----------------------------------------------------
        step("statfs")
        sv = os.statvfs(mnt)
        _check(sv.f_bsize > 0 and sv.f_frsize > 0, f"statvfs: bad block size {sv}")
        _check(sv.f_blocks > 0 and 0 <= sv.f_bfree <= sv.f_blocks and
               0 <= sv.f_bavail <= sv.f_bfree, f"statvfs: inconsistent block counts {sv}")
        _check(sv.f_namemax >= 255, f"statvfs: f_namemax {sv.f_namemax} < 255")
        res["statfs"] = {"f_bsize": sv.f_bsize, "f_blocks": sv.f_blocks,
                         "f_bfree": sv.f_bfree, "f_namemax": sv.f_namemax}

        # -- mkdir / lookup ---------------------------------------------
        step("mkdir")
        os.mkdir(root, 0o777)
        st = os.lstat(root)
        _check(stat.S_ISDIR(st.st_mode), "mkdir: not a directory")
        _check(stat.S_IMODE(st.st_mode) == 0o755,
               f"mkdir(0777) under umask 022: mode {oct(stat.S_IMODE(st.st_mode))} != 0o755")
        _expect_errno(errno.EEXIST, "mkdir of existing dir", os.mkdir, root)
        res["mkdir"] = {"mode": oct(stat.S_IMODE(st.st_mode))}

        step("lookup_missing")
        _expect_errno(errno.ENOENT, "stat of missing name", os.stat,
                      os.path.join(root, "no-such-name"))
        _expect_errno(errno.ENOENT, "stat below missing dir", os.stat,
                      os.path.join(root, "no-such-dir", "x"))
        res["lookup"] = {"missing": "ENOENT"}

        # -- create / write / read -------------------------------------
        step("create_write_read")
        f = os.path.join(root, "data")
        data = _pattern(300 * 1024 + 17)          # > 2 x 128 KiB max_write
        fd = os.open(f, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o666)
        try:
            n = os.pwrite(fd, data, 0)
            _check(n == len(data), f"pwrite returned {n}, expected {len(data)}")
            os.fsync(fd)
            _drop_cache(fd)
            back = os.pread(fd, len(data) + 100, 0)
            _check(back == data, "read back != data written (whole file)")
            _check(os.pread(fd, 1000, 123456) == data[123456:124456],
                   "pread at offset 123456 returned wrong bytes")
            _check(os.pread(fd, 10, len(data)) == b"", "pread at EOF not empty")
            stx = _statx(None, fd)                    # fstat (fd is open)
            _check(stx.size == len(data), f"fstat size {stx.size} != {len(data)}")
            _check(stat.S_IMODE(stx.mode) == 0o644,
                   f"create(0666) under umask 022: mode {oct(stat.S_IMODE(stx.mode))}")
            _check(stx.blocks * 512 >= len(data) - 4096,
                   f"st_blocks {stx.blocks} too small for {len(data)} bytes")
            step("fsync")
            os.fsync(fd)
            os.fdatasync(fd)
        finally:
            step("close_flush")
            os.close(fd)
        _expect_errno(errno.EEXIST, "open(O_CREAT|O_EXCL) of existing file",
                      os.open, f, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        res["create_write_read"] = {"bytes": len(data), "max_write_requests": -(-len(data) // 131072)}

        step("append")
        fd = os.open(f, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, b"tail")
        finally:
            os.close(fd)
        _check(_read_all(f, len(data) + 100) == data + b"tail", "O_APPEND write not at EOF")
        res["append"] = {"size": len(data) + 4}

        step("mmap")
        fd = os.open(f, os.O_RDWR)
        try:
            with mmap.mmap(fd, 8192, mmap.MAP_SHARED) as mm:
                mm[100:110] = b"MMAPWRITE!"
                mm.flush()
            _drop_cache(fd)
            got = os.pread(fd, 10, 100)
        finally:
            os.close(fd)
        _check(got == b"MMAPWRITE!", f"msync'ed shared mapping not read back: {got!r}")
        data = data[:100] + b"MMAPWRITE!" + data[110:] + b"tail"
        res["mmap"] = {"ok": True}

        # -- stat / fstat ----------------------------------------------
        step("stat")
        reg = os.path.join(root, "plain")
        os.mknod(reg, stat.S_IFREG | 0o640)
        stx = _statx(reg)
        _check(stat.S_ISREG(stx.mode) and stat.S_IMODE(stx.mode) == 0o640 and stx.size == 0,
               f"mknod(S_IFREG|0640) then stat: mode {oct(stx.mode)} size {stx.size}")
        _check(stx.nlink == 1, f"nlink {stx.nlink} != 1")
        res["stat"] = {"mode": oct(stx.mode)}

        # -- truncate / ftruncate / O_TRUNC --------------------------------
        step("ftruncate")
        fd = os.open(f, os.O_RDWR)
        try:
            os.ftruncate(fd, 1000)
            _check(_statx(None, fd).size == 1000, "ftruncate(1000): size wrong")
            _drop_cache(fd)
            _check(os.pread(fd, 2000, 0) == data[:1000], "ftruncate shrank content wrongly")
            os.ftruncate(fd, 5000)
            _drop_cache(fd)
            _check(os.pread(fd, 6000, 0) == data[:1000] + bytes(4000),
                   "ftruncate extension does not read as zeros")
        finally:
            os.close(fd)
        step("truncate")
        os.truncate(f, 500)
        _check(_statx(f).size == 500, "truncate(path, 500): size wrong")
        _check(_read_all(f, 1000) == data[:500], "truncate(500): content wrong")
        step("open_trunc")
        fd = os.open(f, os.O_WRONLY | os.O_TRUNC)
        try:
            _check(_statx(None, fd).size == 0, "open(O_TRUNC): size not 0")
        finally:
            os.close(fd)
        res["truncate"] = {"ftruncate": [1000, 5000], "truncate": 500, "O_TRUNC": 0}

        # -- fallocate / discard / zero range ------------------------------
        step("fallocate")
        fa = os.path.join(root, "falloc")
        fd = os.open(fa, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            _fallocate(fd, 0, 0, 65536)
            stx = _statx(None, fd)
            _check(stx.size == 65536, f"fallocate(0, 0, 64K): size {stx.size} != 65536")
            _check(stx.blocks * 512 >= 65536, f"fallocate: st_blocks {stx.blocks} < 128")
            _check(os.pread(fd, 70000, 0) == bytes(65536), "fallocated range not zeros")
            step("fallocate_keep_size")
            # beyond EOF: size unchanged.  (st_blocks cannot show it: iatt_from_stat()
            # clamps ia_blocks to ceil(size/512), so allocate inside a hole instead.)
            _fallocate(fd, FALLOC_FL_KEEP_SIZE, 65536, 65536)
            _check(_statx(None, fd).size == 65536,
                   "fallocate(KEEP_SIZE) beyond EOF changed the size")
            os.ftruncate(fd, 4 * 65536)                   # hole [64K, 256K)
            before = _statx(None, fd).blocks
            _fallocate(fd, FALLOC_FL_KEEP_SIZE, 2 * 65536, 65536)
            stx = _statx(None, fd)
            _check(stx.size == 4 * 65536, f"fallocate(KEEP_SIZE) in a hole changed size to {stx.size}")
            _check(stx.blocks >= before + 128,
                   f"fallocate(KEEP_SIZE) of 64 KiB in a hole: st_blocks {before} -> {stx.blocks}")
            _check(os.pread(fd, 65536, 2 * 65536) == bytes(65536), "KEEP_SIZE range not zeros")
            os.ftruncate(fd, 65536)
            step("posix_fallocate")
            os.posix_fallocate(fd, 100000, 50000)
            _check(_statx(None, fd).size == 150000, "posix_fallocate did not extend to 150000")

            step("punch_hole")
            pat = _pattern(65536, seed=3)
            os.pwrite(fd, pat, 0)
            os.fsync(fd)
            blocks_before = _statx(None, fd).blocks
            _fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 16384)
            stx = _statx(None, fd)
            _check(stx.size == 150000, f"PUNCH_HOLE|KEEP_SIZE changed size to {stx.size}")
            _drop_cache(fd)
            got = os.pread(fd, 65536, 0)
            _check(got[:8192] == pat[:8192], "PUNCH_HOLE damaged data before the hole")
            _check(got[8192:24576] == bytes(16384), "PUNCH_HOLE range does not read back zeros")
            _check(got[24576:] == pat[24576:], "PUNCH_HOLE damaged data after the hole")
            _check(stx.blocks < blocks_before,
                   f"PUNCH_HOLE freed no blocks ({blocks_before} -> {stx.blocks})")
            punch_nokeep = _expect_errno(errno.EOPNOTSUPP, "PUNCH_HOLE without KEEP_SIZE",
                                         _fallocate, fd, FALLOC_FL_PUNCH_HOLE, 0, 4096)

            step("zero_range")
            # GlusterFS 10.3 fuse_fallocate_resume() knows only PUNCH_HOLE (-> discard) and
            # KEEP_SIZE: any other mode becomes fallocate(keep_size = mode & KEEP_SIZE).
            # Kernels that pass FALLOC_FL_ZERO_RANGE to FUSE (6.x does) therefore get a
            # plain fallocate: success, range NOT zeroed.  Older kernels: EOPNOTSUPP.
            zr: str
            try:
                _fallocate(fd, FALLOC_FL_ZERO_RANGE, 32768, 8192)
                zr = "ok"
            except OSError as e:
                _check(e.errno == errno.EOPNOTSUPP,
                       f"FALLOC_FL_ZERO_RANGE: expected success or EOPNOTSUPP, got {e}")
                zr = "EOPNOTSUPP"
            _drop_cache(fd)
            got = os.pread(fd, 65536, 0)
            _check(got[:32768] == pat[:8192] + bytes(16384) + pat[24576:32768],
                   "ZERO_RANGE damaged data before the range")
            _check(got[40960:] == pat[40960:], "ZERO_RANGE damaged data after the range")
            if zr == "ok":
                if got[32768:40960] == bytes(8192):
                    zr = "ok, zeroed"
                else:
                    _check(got[32768:40960] == pat[32768:40960],
                           "FALLOC_FL_ZERO_RANGE succeeded and left neither zeros nor the "
                           "old data in the range")
                    _check(not zero_range_strict,
                           "FALLOC_FL_ZERO_RANGE succeeded but the range does not read back "
                           "zeros (GlusterFS 10.3 fuse-bridge sends it as a plain fallocate)")
                    zr = "ok, NOT zeroed (glusterfs 10.3 fuse-bridge: ZERO_RANGE -> fallocate)"
            else:
                _check(got[32768:40960] == pat[32768:40960],
                       "FALLOC_FL_ZERO_RANGE failed but modified the data")
            _check(_statx(None, fd).size == 150000, "ZERO_RANGE changed the size")
        finally:
            os.close(fd)
        res["fallocate"] = {"mode0_size": 65536, "keep_size": True, "posix_fallocate": 150000}
        res["discard"] = {"punch_hole_keep_size": "zeros", "punch_hole_without_keep_size":
                          errno.errorcode[punch_nokeep]}
        res["zero_range"] = zr

        # -- seek (SEEK_DATA / SEEK_HOLE) ----------------------------------
        step("seek")
        sp = os.path.join(root, "sparse")
        fd = os.open(sp, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            mib = 1 << 20
            os.pwrite(fd, b"A" * 4096, 0)
            os.pwrite(fd, b"B" * 4096, mib)
            os.fsync(fd)
            size = mib + 4096
            d0 = os.lseek(fd, 0, SEEK_DATA)
            h0 = os.lseek(fd, 0, SEEK_HOLE)
            _check(d0 == 0, f"SEEK_DATA from 0 returned {d0}")
            _check(4096 <= h0 <= size, f"SEEK_HOLE from 0 returned {h0}")
            holes = h0 < size
            if holes:
                d1 = os.lseek(fd, h0, SEEK_DATA)
                _check(h0 < d1 <= mib, f"SEEK_DATA from hole {h0} returned {d1}, data at {mib}")
                h1 = os.lseek(fd, mib, SEEK_HOLE)
                _check(h1 == size, f"SEEK_HOLE after last data returned {h1} != size {size}")
            _expect_errno(errno.ENXIO, "SEEK_DATA at EOF", os.lseek, fd, size, SEEK_DATA)
            _expect_errno(errno.ENXIO, "SEEK_HOLE beyond EOF", os.lseek, fd, size + 1, SEEK_HOLE)
            _check(os.lseek(fd, 10, os.SEEK_SET) == 10, "SEEK_SET")
            _check(os.lseek(fd, 0, os.SEEK_END) == size, "SEEK_END != size")
        finally:
            os.close(fd)
        res["seek"] = {"SEEK_DATA(0)": d0, "SEEK_HOLE(0)": h0, "holes_reported": holes}

        # -- copy_file_range -----------------------------------------------
        step("copy_file_range")
        src, dst = os.path.join(root, "cfr-src"), os.path.join(root, "cfr-dst")
        cdata = _pattern(200 * 1024, seed=5)
        with open(src, "wb") as fh:
            fh.write(cdata)
        fi = os.open(src, os.O_RDONLY)
        fo = os.open(dst, os.O_CREAT | os.O_WRONLY, 0o644)
        try:
            want, copied = len(cdata) - 1000, 0
            while copied < want:
                n = os.copy_file_range(fi, fo, want - copied, 1000 + copied, 10 + copied)
                _check(n > 0, f"copy_file_range returned {n} after {copied} bytes")
                copied += n
        finally:
            os.close(fi)
            os.close(fo)
        out = _read_all(dst, len(cdata) + 100)
        _check(out == bytes(10) + cdata[1000:], "copy_file_range: destination content wrong")
        res["copy_file_range"] = {"bytes": copied}

        # -- xattrs ---------------------------------------------------------
        step("xattr")
        key = "user.glupy.k"
        val = bytes(range(256)) * 15 + b"\x00end"     # binary, embedded NULs
        os.setxattr(f, key, val)
        _check(os.getxattr(f, key) == val, "getxattr: value did not round-trip")
        _check(key in os.listxattr(f), f"listxattr lacks {key}: {os.listxattr(f)}")
        _expect_errno(errno.EEXIST, "setxattr(XATTR_CREATE) of existing key",
                      os.setxattr, f, key, b"x", os.XATTR_CREATE)
        os.setxattr(f, key, b"v2", os.XATTR_REPLACE)
        _check(os.getxattr(f, key) == b"v2", "XATTR_REPLACE value not read back")
        os.setxattr(f, "user.glupy.empty", b"")
        _check(os.getxattr(f, "user.glupy.empty") == b"", "empty xattr value not read back")
        fd = os.open(f, os.O_RDONLY)
        try:
            step("fxattr")
            os.setxattr(fd, "user.glupy.fd", b"via-fd")
            _check(os.getxattr(fd, "user.glupy.fd") == b"via-fd", "fgetxattr value wrong")
            _check({"user.glupy.fd", key} <= set(os.listxattr(fd)), "flistxattr incomplete")
            os.removexattr(fd, "user.glupy.fd")
            _expect_errno(errno.ENODATA, "fgetxattr after fremovexattr",
                          os.getxattr, fd, "user.glupy.fd")
        finally:
            os.close(fd)
        step("removexattr")
        os.removexattr(f, key)
        os.removexattr(f, "user.glupy.empty")
        _expect_errno(errno.ENODATA, "getxattr after removexattr", os.getxattr, f, key)
        _expect_errno(errno.ENODATA, "removexattr of missing key", os.removexattr, f, key)
        _expect_errno(errno.ENODATA, "setxattr(XATTR_REPLACE) of missing key",
                      os.setxattr, f, key, b"x", os.XATTR_REPLACE)
        _check(not [k for k in os.listxattr(f) if k.startswith("user.glupy.")],
               f"listxattr still shows removed keys: {os.listxattr(f)}")
        os.setxattr(root, "user.glupy.dir", b"d")
        _check(os.getxattr(root, "user.glupy.dir") == b"d", "directory xattr wrong")
        os.removexattr(root, "user.glupy.dir")
        res["xattr"] = {"value_bytes": len(val), "create_flag": "EEXIST",
                        "replace_missing": "ENODATA", "via_fd": True}

        # -- symlink / readlink / link / rename -----------------------------
        step("symlink")
        sl = os.path.join(root, "sym")
        os.symlink("data", sl)
        step("readlink")
        _check(os.readlink(sl) == "data", f"readlink: {os.readlink(sl)!r} != 'data'")
        _check(stat.S_ISLNK(os.lstat(sl).st_mode), "symlink is not S_IFLNK")
        _check(os.stat(sl).st_ino == os.stat(f).st_ino, "symlink does not resolve to target")
        dangling = os.path.join(root, "dangling")
        os.symlink("no/such/" + "x" * 200, dangling)
        _check(os.readlink(dangling) == "no/such/" + "x" * 200, "long symlink target wrong")
        _expect_errno(errno.ENOENT, "stat through dangling symlink", os.stat, dangling)

        step("link")
        hl = os.path.join(root, "hard")
        os.link(f, hl)
        _check(_statx(f).nlink == 2 and _statx(hl).nlink == 2, "link: nlink != 2")
        _check(os.stat(hl).st_ino == os.stat(f).st_ino, "link: different inode numbers")
        _expect_errno(errno.EEXIST, "link onto existing name", os.link, f, hl)

        step("rename")
        rn = os.path.join(root, "renamed")
        os.rename(hl, rn)
        _expect_errno(errno.ENOENT, "old name after rename", os.lstat, hl)
        _check(os.stat(rn).st_ino == os.stat(f).st_ino, "rename lost the inode")
        victim = os.path.join(root, "victim")
        with open(victim, "wb") as fh:
            fh.write(b"victim")
        os.rename(rn, victim)                  # replace an existing file
        _check(os.stat(victim).st_ino == os.stat(f).st_ino, "rename over existing: wrong file")
        _check(_statx(f).nlink == 2, "rename over existing changed nlink of the source")
        sub = os.path.join(root, "subdir")
        os.mkdir(sub)
        os.rename(sub, sub + "2")
        _check(os.path.isdir(sub + "2") and not os.path.exists(sub), "directory rename")
        res["names"] = {"symlink": True, "readlink": True, "link": 2, "rename": True}

        # -- mknod FIFO ----------------------------------------------------
        step("mknod_fifo")
        fifo = os.path.join(root, "fifo")
        os.mkfifo(fifo, 0o666)
        st = os.lstat(fifo)
        _check(stat.S_ISFIFO(st.st_mode), f"mkfifo: mode {oct(st.st_mode)} is not a FIFO")
        _check(stat.S_IMODE(st.st_mode) == 0o644, f"mkfifo(0666): mode {oct(st.st_mode)}")
        res["mknod"] = {"fifo": oct(st.st_mode), "regular": True}

        # -- setattr: chmod / chown / utime, by path and by fd ---------------
        step("chmod")
        os.chmod(f, 0o600)
        _check(stat.S_IMODE(_statx(f).mode) == 0o600, "chmod 0600 not applied")
        step("utime")
        t_a, t_m = 1_000_000_000_123_456_789, 1_100_000_000_987_654_321
        os.utime(f, ns=(t_a, t_m))
        stx = _statx(f)
        _check((stx.atime_ns, stx.mtime_ns) == (t_a, t_m),
               f"utimensat: times {stx.atime_ns},{stx.mtime_ns} != {t_a},{t_m}")
        now = time.time()
        os.utime(f)
        _check(abs(_statx(f).mtime_ns / 1e9 - now) < 60, "utime(now) not near current time")
        chown_done = None
        if is_root:
            step("chown")
            os.chown(f, 1234, 5678)
            stx = _statx(f)
            _check((stx.uid, stx.gid) == (1234, 5678), f"chown: {stx.uid}:{stx.gid}")
            chown_done = "1234:5678"
        step("fchmod_futimens")
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fchmod(fd, 0o640)
            _check(stat.S_IMODE(_statx(None, fd).mode) == 0o640, "fchmod not applied")
            os.utime(fd, ns=(t_m, t_a))
            stx = _statx(None, fd)
            _check((stx.atime_ns, stx.mtime_ns) == (t_m, t_a), "futimens not applied")
            if is_root:
                os.fchown(fd, 4321, 8765)
                stx = _statx(None, fd)
                _check((stx.uid, stx.gid) == (4321, 8765), "fchown not applied")
        finally:
            os.close(fd)
        res["setattr"] = {"chmod": "0600", "utimensat_ns": True, "chown": chown_done,
                          "fchmod": "0640", "futimens": True}

        if is_root:
            # ftruncate by an unprivileged process on a set-user-ID file: the kernel kills
            # the suid bit in the same FATTR_FH setattr -> fuse-bridge sends fsetattr.
            step("fsetattr")
            su = os.path.join(root, "suid")
            with open(su, "wb") as fh:
                fh.write(b"0123456789" * 10)
            os.chown(su, 65534, 65534)
            os.chmod(su, 0o4755)
            os.chmod(root, 0o755)

            def drop_and_truncate():
                os.chdir(root)        # the mountpoint's parents may be closed to nobody
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                fd = os.open("suid", os.O_WRONLY)
                try:
                    os.ftruncate(fd, 10)
                finally:
                    os.close(fd)
                return "ok"

            _check(_run_child(drop_and_truncate) == "ok", "unprivileged ftruncate failed")
            stx = _statx(su)
            _check(stx.size == 10, f"ftruncate(10) by owner on suid file: size {stx.size}")
            _check(stat.S_IMODE(stx.mode) == 0o755,
                   f"ftruncate by unprivileged owner did not clear S_ISUID: {oct(stx.mode)}")
            _check(_read_all(su, 100) == b"0123456789", "suid file content after ftruncate")
            res["fsetattr"] = {"suid_cleared": True, "size": 10}

        # -- access ---------------------------------------------------------
        step("access")
        os.chmod(f, 0o600)
        _check(os.access(f, os.R_OK | os.W_OK), "access(R_OK|W_OK) denied on 0600 file")
        _check(os.access(root, os.X_OK | os.R_OK), "access(X_OK) denied on directory")
        _check(not os.access(os.path.join(root, "nope"), os.F_OK), "access(F_OK) on missing")
        default_perms = "default_permissions" in _mount_options(mnt)
        if is_root and default_perms:
            # with --acl (no default_permissions) the autoloaded system/posix-acl answers
            # access() for root with 0 whatever the mode bits are
            _check(not os.access(f, os.X_OK), "root got X_OK on a file without any x bit")
            os.chown(f, 0, 0)
            probe = _run_child(lambda: (os.chdir(root), os.setgroups([]), os.setgid(65534),
                                        os.setuid(65534), os.access("data", os.R_OK),
                                        os.access(".", os.R_OK))[4:])
            _check(probe == [False, True],
                   f"access() as uid 65534: (0600 root file R_OK, 0755 dir R_OK) = {probe}")
        res["access"] = {"owner_rw": True, "dir_x": True, "other_denied": is_root,
                         "default_permissions": default_perms}

        # -- directories: opendir / readdir(p) / fsyncdir --------------------
        step("readdir")
        many = os.path.join(root, "many")
        os.mkdir(many)
        names = {f"entry-{i:04d}-" + "n" * 40 for i in range(150)}
        for nm in names:
            os.mknod(os.path.join(many, nm), stat.S_IFREG | 0o644)
        os.mkdir(os.path.join(many, "adir"))
        os.symlink("x", os.path.join(many, "alink"))
        listed = os.listdir(many)
        _check(len(listed) == len(set(listed)), "readdir returned duplicate names")
        _check(set(listed) == names | {"adir", "alink"},
               f"readdir listing wrong: missing {sorted(names - set(listed))[:5]}, "
               f"extra {sorted(set(listed) - names - {'adir', 'alink'})[:5]}")
        kinds = {e.name: (e.is_dir(follow_symlinks=False), e.is_symlink())
                 for e in os.scandir(many)}
        _check(kinds["adir"] == (True, False) and kinds["alink"] == (False, True) and
               all(kinds[n] == (False, False) for n in names), "scandir d_type wrong")
        _check(os.listdir(os.path.join(root, "subdir2")) == [], "empty dir not empty")
        step("fsyncdir")
        dfd = os.open(many, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        res["readdir"] = {"entries": len(listed), "d_type": True}
        res["fsyncdir"] = {"ok": True}

        # -- unlink of an open file ------------------------------------------
        step("unlink_open")
        uo = os.path.join(root, "open-unlinked")
        udata = _pattern(10000, seed=9)
        fd = os.open(uo, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            os.write(fd, udata)
            os.unlink(uo)
            _expect_errno(errno.ENOENT, "stat after unlink", os.stat, uo)
            _drop_cache(fd)
            _check(os.pread(fd, 20000, 0) == udata, "open fd unreadable after unlink")
            os.pwrite(fd, b"more", 10000)
            _check(_statx(None, fd).size == 10004, "write to unlinked open file")
        finally:
            os.close(fd)
        res["unlink_open"] = {"ok": True}

        # -- locks -----------------------------------------------------------
        step("locks")
        res["lk"] = _exercise_locks(root, locks, step)

        # -- unlink / rmdir ----------------------------------------------------
        step("unlink_rmdir")
        _expect_errno(errno.ENOTEMPTY, "rmdir of non-empty dir", os.rmdir, many)
        _expect_errno(errno.ENOTDIR, "rmdir of a file", os.rmdir, f)
        _expect_errno((errno.EISDIR, errno.EPERM), "unlink of a directory", os.unlink, many)
        os.unlink(fifo)
        os.unlink(sl)
        _expect_errno(errno.ENOENT, "lstat after unlink", os.lstat, sl)
        _check(os.path.exists(f), "unlinking the symlink removed its target")
        os.rmdir(sub + "2")
        _expect_errno(errno.ENOENT, "stat after rmdir", os.stat, sub + "2")
        res["unlink_rmdir"] = {"ENOTEMPTY": True, "ENOTDIR": True}

        step("cleanup")
        if not keep:
            shutil.rmtree(root)
            _check(not os.path.lexists(root), "rmtree left the work directory")
        step("done")
    finally:
        os.umask(old_umask)
    return res


def _exercise_locks(root: str, locks: bool | None, step: Callable[[str], None]) -> dict:
    lf = os.path.join(root, "locked")
    with open(lf, "wb") as fh:
        fh.write(bytes(4096))
    out: dict[str, object] = {}
    fd = os.open(lf, os.O_RDWR)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0)
            supported = True
        except OSError as e:
            _check(e.errno == errno.ENOSYS,
                   f"F_SETLK on a fresh file: expected success (features/locks) or ENOSYS "
                   f"(posix alone), got {e}")
            supported = False
        if locks is not None:
            _check(supported == locks, f"lk: locks={'supported' if supported else 'ENOSYS'} "
                                       f"but the caller required locks={locks}")
        out["supported"] = supported
        if not supported:
            # Every lock request still reaches the translator as lk: check they all
            # fail cleanly with ENOSYS.
            _expect_errno(errno.ENOSYS, "F_GETLK without features/locks",
                          _getlk, fd, fcntl.F_WRLCK, 0, 10)
            _expect_errno(errno.ENOSYS, "F_SETLKW without features/locks",
                          fcntl.lockf, fd, fcntl.LOCK_EX, 10, 0)
            _expect_errno(errno.ENOSYS, "flock without features/locks",
                          fcntl.flock, fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _expect_errno(errno.ENOSYS, "F_OFD_SETLK without features/locks",
                          _setlk, fd, fcntl.F_WRLCK, 0, 10, fcntl.F_OFD_SETLK)
            out["all"] = "ENOSYS"
            return out

        parent = os.getpid()
        # conflicting / non-conflicting requests from another process (another lock owner)
        step("lk_conflict")

        def probe_conflict():
            cfd = os.open(lf, os.O_RDWR)
            r = {"overlap": _lockf_try(cfd, fcntl.LOCK_EX, 10, 50),
                 "overlap_sh": _lockf_try(cfd, fcntl.LOCK_SH, 10, 50),
                 "getlk": _getlk(cfd, fcntl.F_WRLCK, 50, 10),
                 "getlk_free": _getlk(cfd, fcntl.F_WRLCK, 100, 100),
                 "disjoint": _lockf_try(cfd, fcntl.LOCK_EX, 100, 200)}
            return r

        r = _run_child(probe_conflict)
        _check(r["overlap"] in ("EAGAIN", "EACCES"),
               f"F_SETLK overlapping another owner's write lock: {r['overlap']}")
        _check(r["overlap_sh"] in ("EAGAIN", "EACCES"),
               f"F_SETLK read lock overlapping a write lock: {r['overlap_sh']}")
        g = r["getlk"]
        _check(g["type"] == fcntl.F_WRLCK and g["start"] == 0 and g["len"] == 100,
               f"F_GETLK did not report the conflicting lock [0,100) F_WRLCK: {g}")
        _check(g["pid"] == parent, f"F_GETLK l_pid {g['pid']} != holder pid {parent}")
        _check(r["getlk_free"]["type"] == fcntl.F_UNLCK, f"F_GETLK on free range: {r['getlk_free']}")
        _check(r["disjoint"] == "ok", f"F_SETLK on a disjoint range failed: {r['disjoint']}")
        # own lock: F_GETLK never reports the caller's own locks
        _check(_getlk(fd, fcntl.F_WRLCK, 0, 100)["type"] == fcntl.F_UNLCK,
               "F_GETLK reported the caller's own lock")
        # the disjoint lock died with the child (close -> flush releases it)
        _check(_lockf_try(fd, fcntl.LOCK_EX, 100, 200) == "ok",
               "lock of an exited process was not released")
        fcntl.lockf(fd, fcntl.LOCK_UN, 0, 0)
        out["conflict"] = {"overlap": r["overlap"], "getlk": g, "disjoint": "ok"}

        step("lk_shared")
        fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 100, 400)
        r = _run_child(lambda: (lambda c: {"sh": _lockf_try(c, fcntl.LOCK_SH, 100, 400),
                                           "ex": _lockf_try(c, fcntl.LOCK_EX, 1, 450)})(
            os.open(lf, os.O_RDWR)))
        _check(r == {"sh": "ok", "ex": r["ex"]} and r["ex"] in ("EAGAIN", "EACCES"),
               f"shared locks: second reader {r['sh']}, writer {r['ex']}")
        # upgrade own read lock to write lock (no other holder now)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 400)
        fcntl.lockf(fd, fcntl.LOCK_UN, 0, 0)
        out["shared"] = r

        # blocking F_SETLKW waits until the holder unlocks
        step("lk_blocking")
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0)

        def blocker(ch: _Child):
            cfd = os.open(lf, os.O_RDWR)
            ch.send("blocking")
            t0 = time.monotonic()
            fcntl.lockf(cfd, fcntl.LOCK_EX, 100, 0)
            ch.send("acquired")
            return time.monotonic() - t0

        ch = _Child(blocker)
        try:
            _check(ch.recv() == "blocking", "blocker did not start")
            _check(not ch.poll(0.4), "F_SETLKW returned while the range was locked")
            fcntl.lockf(fd, fcntl.LOCK_UN, 100, 0)
            _check(ch.recv() == "acquired", "F_SETLKW not granted after unlock")
            waited = ch.finish()
        finally:
            ch.kill()
        _check(waited >= 0.3, f"F_SETLKW waited only {waited:.3f}s")
        out["blocking"] = {"waited_s": round(waited, 3)}

        # blocked F_SETLKW interrupted by a signal: EINTR, and the cancelled request
        # must not be granted later (fuse-bridge cancels it with the intrlk fgetxattr)
        step("lk_interrupt")
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0)

        def interrupted(ch: _Child):
            class _Sig(Exception):
                pass

            def handler(signum, frame):
                raise _Sig()

            signal.signal(signal.SIGUSR1, handler)
            cfd = os.open(lf, os.O_RDWR)
            ch.send("blocking")
            try:
                fcntl.lockf(cfd, fcntl.LOCK_EX, 100, 0)
                ch.send("acquired")
            except _Sig:
                ch.send("interrupted")
            _check(ch.recv() == "exit", "parent protocol")
            return "done"

        ch = _Child(interrupted)
        try:
            _check(ch.recv() == "blocking", "interrupt helper did not start")
            _check(not ch.poll(0.3), "F_SETLKW returned while the range was locked")
            os.kill(ch.pid, signal.SIGUSR1)
            got = ch.recv()
            _check(got == "interrupted", f"signal during F_SETLKW: helper says {got!r}")
            fcntl.lockf(fd, fcntl.LOCK_UN, 100, 0)
            time.sleep(0.1)
            third = _run_child(lambda: _lockf_try(os.open(lf, os.O_RDWR), fcntl.LOCK_EX, 100, 0))
            _check(third == "ok", f"interrupted F_SETLKW was still granted later: third "
                                  f"process got {third}")
            ch.send("exit")
            ch.finish()
        finally:
            ch.kill()
        out["interrupt"] = "EINTR, request cancelled"

        # close() releases the process's POSIX locks (flush with lk-owner)
        step("lk_close_releases")
        fd2 = os.open(lf, os.O_RDWR)
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
        _check(_run_child(lambda: _lockf_try(os.open(lf, os.O_RDWR), fcntl.LOCK_EX, 10, 0))
               in ("EAGAIN", "EACCES"), "lock not held before close")
        os.close(fd2)  # POSIX: closing ANY fd of the file drops the process's locks
        _check(_run_child(lambda: _lockf_try(os.open(lf, os.O_RDWR), fcntl.LOCK_EX, 10, 0))
               == "ok", "close() did not release the POSIX lock")
        out["close_releases"] = True

        # OFD locks: owner is the open file description -> two fds of one process conflict
        step("lk_ofd")
        fa, fb = os.open(lf, os.O_RDWR), os.open(lf, os.O_RDWR)
        try:
            _setlk(fa, fcntl.F_WRLCK, 0, 10, fcntl.F_OFD_SETLK)
            _expect_errno((errno.EAGAIN, errno.EACCES), "F_OFD_SETLK conflicting with another OFD",
                          _setlk, fb, fcntl.F_WRLCK, 5, 10, fcntl.F_OFD_SETLK)
            g = _getlk(fb, fcntl.F_WRLCK, 0, 10, fcntl.F_OFD_GETLK)
            _check(g["type"] == fcntl.F_WRLCK and g["pid"] == -1,
                   f"F_OFD_GETLK: {g} (expected F_WRLCK, l_pid -1)")
            _setlk(fa, fcntl.F_UNLCK, 0, 10, fcntl.F_OFD_SETLK)
            _setlk(fb, fcntl.F_WRLCK, 5, 10, fcntl.F_OFD_SETLK)
            _setlk(fb, fcntl.F_UNLCK, 5, 10, fcntl.F_OFD_SETLK)
        finally:
            os.close(fa)
            os.close(fb)
        out["ofd"] = True

        # flock(2): whole-file locks per open file description
        step("flock")
        fa = os.open(lf, os.O_RDWR)
        try:
            fcntl.flock(fa, fcntl.LOCK_EX | fcntl.LOCK_NB)

            def flock_try(kind):
                c = os.open(lf, os.O_RDWR)
                try:
                    fcntl.flock(c, kind | fcntl.LOCK_NB)
                    return "ok"
                except OSError as e:
                    return errno.errorcode[e.errno]

            r1 = _run_child(lambda: flock_try(fcntl.LOCK_EX))
            _check(r1 == "EWOULDBLOCK" or r1 == "EAGAIN",
                   f"flock(LOCK_EX) against another holder: {r1}")
            r1b = _run_child(lambda: flock_try(fcntl.LOCK_SH))
            _check(r1b in ("EWOULDBLOCK", "EAGAIN"), f"flock(LOCK_SH) against LOCK_EX: {r1b}")
            fcntl.flock(fa, fcntl.LOCK_UN)
            r2 = _run_child(lambda: flock_try(fcntl.LOCK_EX))
            _check(r2 == "ok", f"flock(LOCK_EX) after LOCK_UN: {r2}")
            fcntl.flock(fa, fcntl.LOCK_SH | fcntl.LOCK_NB)
            r3 = _run_child(lambda: flock_try(fcntl.LOCK_SH))
            _check(r3 == "ok", f"two flock(LOCK_SH) holders: {r3}")
            fcntl.flock(fa, fcntl.LOCK_UN)
        finally:
            os.close(fa)
        out["flock"] = {"ex_vs_ex": r1, "sh_vs_ex": r1b, "after_unlock": r2, "sh_sh": r3}
    finally:
        os.close(fd)
    return out
