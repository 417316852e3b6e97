"""A small ctypes binding of libgfapi (GlusterFS 10.3): talk to a volume without FUSE.

::

    with Client.from_volfile("client.vol", log_file="gfapi.log") as c:
        with c.creat("/f") as fd:
            fd.write(b"hello")
        assert c.stat("/f").st_size == 5
        c.access("/f", os.R_OK)             # the access fop, which FUSE never sends down

gfapi loads the graph in THIS process. Use it on ``protocol/client`` graphs (a brick
served by glusterfsd, see :mod:`glupy.local.brick`): ``storage/posix`` directly under gfapi
crashes in 10.3 (posix's janitor uses two context lists gfapi leaves uninitialised;
``bench/gfapi_latency.py`` loads a probe xlator that fills them in).  A Python
translator in a gfapi graph works: the bridge finds CPython already running in this
process and uses it (checked on every ``bench/gfapi_latency.py`` run).

Facts this binding depends on (checked against ``/usr/include/glusterfs/api/glfs.h`` and
``objdump -T libgfapi.so.0`` of 10.3, x86_64):

* ``glfs_pread``, ``glfs_pwrite``, ``glfs_ftruncate``, ``glfs_fsync`` exist in two symbol
  versions; the default (what ``dlsym`` and therefore ctypes returns) is ``GFAPI_6.0``,
  which takes extra ``struct glfs_stat *prestat/poststat`` arguments (NULL is allowed).
  Calling them with the 3.4 argument list would pass garbage pointers.
* ``struct stat`` (x86_64 glibc, 144 bytes) and ``struct dirent`` (280 bytes, ``d_name`` at
  19) are declared below and checked by size at import.
* errors: every call returns -1 (or NULL) and sets errno in the calling thread; the
  library is loaded with ``use_errno=True`` and the errno is read with
  :func:`ctypes.get_errno`.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as errno_mod
import os
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "LOG_LEVELS",
    "Client",
    "Fd",
    "GfapiError",
    "GfapiInitError",
    "libgfapi",
    "time_fop",
]

LIBGFAPI = "libgfapi.so.0"

# gf_loglevel_t (glusterfs/logging.h)
LOG_LEVELS: dict[str, int] = {
    "NONE": 0, "EMERG": 1, "ALERT": 2, "CRITICAL": 3, "ERROR": 4, "WARNING": 5,
    "NOTICE": 6, "INFO": 7, "DEBUG": 8, "TRACE": 9,
}

_off_t = ctypes.c_int64
_mode_t = ctypes.c_uint32
_vp = ctypes.c_void_p
_cp = ctypes.c_char_p


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_int64), ("tv_nsec", ctypes.c_int64)]


class Stat(ctypes.Structure):
    """``struct stat`` of glibc on x86_64 (not the generic/aarch64 layout)."""

    _fields_ = [
        ("st_dev", ctypes.c_uint64),      # 0
        ("st_ino", ctypes.c_uint64),      # 8
        ("st_nlink", ctypes.c_uint64),    # 16 (before st_mode on x86_64)
        ("st_mode", ctypes.c_uint32),     # 24
        ("st_uid", ctypes.c_uint32),      # 28
        ("st_gid", ctypes.c_uint32),      # 32
        ("_pad0", ctypes.c_int32),        # 36
        ("st_rdev", ctypes.c_uint64),     # 40
        ("st_size", ctypes.c_int64),      # 48
        ("st_blksize", ctypes.c_int64),   # 56
        ("st_blocks", ctypes.c_int64),    # 64
        ("st_atim", _Timespec),           # 72
        ("st_mtim", _Timespec),           # 88
        ("st_ctim", _Timespec),           # 104
        ("_reserved", ctypes.c_int64 * 3),  # 120
    ]

    def to_stat_result(self) -> os.stat_result:
        def ns(ts: _Timespec) -> int:
            return int(ts.tv_sec) * 1_000_000_000 + int(ts.tv_nsec)

        a, m, c = ns(self.st_atim), ns(self.st_mtim), ns(self.st_ctim)
        return os.stat_result((
            self.st_mode, self.st_ino, self.st_dev, self.st_nlink, self.st_uid, self.st_gid,
            self.st_size,
            self.st_atim.tv_sec, self.st_mtim.tv_sec, self.st_ctim.tv_sec,  # int times
            a / 1e9, m / 1e9, c / 1e9,                                       # st_*time floats
            a, m, c,                                                         # st_*time_ns
            self.st_blksize, self.st_blocks, self.st_rdev,
        ))


class Dirent(ctypes.Structure):
    """``struct dirent`` of glibc on x86_64 (64-bit d_ino/d_off)."""

    _fields_ = [
        ("d_ino", ctypes.c_uint64),
        ("d_off", ctypes.c_int64),
        ("d_reclen", ctypes.c_uint16),
        ("d_type", ctypes.c_uint8),
        ("d_name", ctypes.c_char * 256),
    ]



def _check_layouts() -> None:
    import platform

    if platform.machine() not in ("x86_64", "AMD64"):
        raise GfapiError(f"glupy.local.gfapi declares x86_64 glibc structs; this is {platform.machine()}")
    assert ctypes.sizeof(Stat) == 144 and Stat.st_size.offset == 48 and Stat.st_mtim.offset == 88
    assert ctypes.sizeof(Dirent) == 280 and Dirent.d_name.offset == 19


# name: (restype, argtypes). Signatures from glfs.h (10.3); see the module docstring.
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "glfs_new": (_vp, [_cp]),
    "glfs_set_volfile": (ctypes.c_int, [_vp, _cp]),
    "glfs_set_logging": (ctypes.c_int, [_vp, _cp, ctypes.c_int]),
    "glfs_init": (ctypes.c_int, [_vp]),
    "glfs_fini": (ctypes.c_int, [_vp]),
    "glfs_stat": (ctypes.c_int, [_vp, _cp, ctypes.POINTER(Stat)]),
    "glfs_lstat": (ctypes.c_int, [_vp, _cp, ctypes.POINTER(Stat)]),
    "glfs_fstat": (ctypes.c_int, [_vp, ctypes.POINTER(Stat)]),
    "glfs_open": (_vp, [_vp, _cp, ctypes.c_int]),
    "glfs_creat": (_vp, [_vp, _cp, ctypes.c_int, _mode_t]),
    "glfs_close": (ctypes.c_int, [_vp]),
    "glfs_read": (ctypes.c_ssize_t, [_vp, _vp, ctypes.c_size_t, ctypes.c_int]),
    "glfs_write": (ctypes.c_ssize_t, [_vp, _vp, ctypes.c_size_t, ctypes.c_int]),
    # GFAPI_6.0 versions: trailing struct glfs_stat * arguments
    "glfs_pread": (ctypes.c_ssize_t, [_vp, _vp, ctypes.c_size_t, _off_t, ctypes.c_int, _vp]),
    "glfs_pwrite": (ctypes.c_ssize_t, [_vp, _vp, ctypes.c_size_t, _off_t, ctypes.c_int, _vp, _vp]),
    "glfs_ftruncate": (ctypes.c_int, [_vp, _off_t, _vp, _vp]),
    "glfs_fsync": (ctypes.c_int, [_vp, _vp, _vp]),
    "glfs_lseek": (_off_t, [_vp, _off_t, ctypes.c_int]),
    "glfs_truncate": (ctypes.c_int, [_vp, _cp, _off_t]),
    "glfs_access": (ctypes.c_int, [_vp, _cp, ctypes.c_int]),
    "glfs_mkdir": (ctypes.c_int, [_vp, _cp, _mode_t]),
    "glfs_rmdir": (ctypes.c_int, [_vp, _cp]),
    "glfs_unlink": (ctypes.c_int, [_vp, _cp]),
    "glfs_rename": (ctypes.c_int, [_vp, _cp, _cp]),
    "glfs_symlink": (ctypes.c_int, [_vp, _cp, _cp]),
    "glfs_readlink": (ctypes.c_int, [_vp, _cp, _vp, ctypes.c_size_t]),
    "glfs_chmod": (ctypes.c_int, [_vp, _cp, _mode_t]),
    "glfs_opendir": (_vp, [_vp, _cp]),
    "glfs_readdir_r": (ctypes.c_int, [_vp, ctypes.POINTER(Dirent), ctypes.POINTER(ctypes.c_void_p)]),
    "glfs_closedir": (ctypes.c_int, [_vp]),
    "glfs_getxattr": (ctypes.c_ssize_t, [_vp, _cp, _cp, _vp, ctypes.c_size_t]),
    "glfs_listxattr": (ctypes.c_ssize_t, [_vp, _cp, _vp, ctypes.c_size_t]),
    "glfs_setxattr": (ctypes.c_int, [_vp, _cp, _cp, _vp, ctypes.c_size_t, ctypes.c_int]),
    "glfs_removexattr": (ctypes.c_int, [_vp, _cp, _cp]),
}

_LIB: ctypes.CDLL | None = None


def libgfapi() -> ctypes.CDLL:
    """``libgfapi.so.0`` with the prototypes above (loaded once, on first use)."""
    global _LIB
    if _LIB is None:
        _check_layouts()
        try:
            lib = ctypes.CDLL(LIBGFAPI, use_errno=True)
        except OSError as exc:
            raise GfapiError(f"cannot load {LIBGFAPI} (install the libgfapi0 package): {exc}") from exc
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        _LIB = lib
    return _LIB


class GfapiError(RuntimeError):
    """libgfapi is missing or a Client is used after fini()."""


class GfapiInitError(GfapiError):
    """glfs_init failed; ``log_lines`` holds the tail of the gfapi log."""

    def __init__(self, message: str, log_lines: list[str], log_file: str | None) -> None:
        self.log_lines = log_lines
        self.log_file = log_file
        tail = "\n".join(f"    {line}" for line in log_lines)
        super().__init__(f"{message}\n  gfapi log {log_file} (last {len(log_lines)} lines):\n{tail}"
                         if log_lines else message)


PathArg = str | os.PathLike[str] | bytes


def _b(path: PathArg) -> bytes:
    return os.fsencode(path)


def _oserror(what: str, path: PathArg | None = None, path2: PathArg | None = None) -> OSError:
    err = ctypes.get_errno() or errno_mod.EIO
    msg = f"{os.strerror(err)} ({what})"
    if path is None:
        return OSError(err, msg)
    if path2 is None:
        return OSError(err, msg, os.fsdecode(path))
    return OSError(err, msg, os.fsdecode(path), None, os.fsdecode(path2))


def _log_tail(path: str | None, n: int = 40) -> list[str]:
    if not path:
        return []
    try:
        with open(path, errors="replace") as f:
            return [line.rstrip("\n") for line in f.readlines()[-n:]]
    except OSError:
        return []


class Fd:
    """An open ``glfs_fd_t``. Close it (or use ``with``) before the Client's fini()."""

    def __init__(self, client: Client, handle: int, path: str) -> None:
        self._client = client
        self._h: int | None = handle
        self.path = path

    @property
    def closed(self) -> bool:
        return self._h is None

    def _handle(self) -> int:
        if self._h is None:
            raise ValueError(f"I/O operation on closed gfapi fd ({self.path})")
        return self._h

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes from the current offset (everything up to EOF if ``size < 0``)."""
        if size < 0:
            chunks = []
            while chunk := self.read(1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        buf = ctypes.create_string_buffer(size)
        n = libgfapi().glfs_read(self._handle(), buf, size, 0)
        if n < 0:
            raise _oserror("glfs_read", self.path)
        return buf.raw[:n]

    def write(self, data: bytes | bytearray | memoryview) -> int:
        raw = bytes(data)
        n = libgfapi().glfs_write(self._handle(), raw, len(raw), 0)
        if n < 0:
            raise _oserror("glfs_write", self.path)
        return int(n)

    def pread(self, size: int, offset: int) -> bytes:
        buf = ctypes.create_string_buffer(size)
        n = libgfapi().glfs_pread(self._handle(), buf, size, offset, 0, None)
        if n < 0:
            raise _oserror("glfs_pread", self.path)
        return buf.raw[:n]

    def pwrite(self, data: bytes | bytearray | memoryview, offset: int) -> int:
        raw = bytes(data)
        n = libgfapi().glfs_pwrite(self._handle(), raw, len(raw), offset, 0, None, None)
        if n < 0:
            raise _oserror("glfs_pwrite", self.path)
        return int(n)

    def lseek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        ctypes.set_errno(0)
        pos = libgfapi().glfs_lseek(self._handle(), offset, whence)
        if pos < 0:
            raise _oserror("glfs_lseek", self.path)
        return int(pos)

    def fstat(self) -> os.stat_result:
        st = Stat()
        if libgfapi().glfs_fstat(self._handle(), ctypes.byref(st)) != 0:
            raise _oserror("glfs_fstat", self.path)
        return st.to_stat_result()

    def fsync(self) -> None:
        if libgfapi().glfs_fsync(self._handle(), None, None) != 0:
            raise _oserror("glfs_fsync", self.path)

    def ftruncate(self, length: int) -> None:
        if libgfapi().glfs_ftruncate(self._handle(), length, None, None) != 0:
            raise _oserror("glfs_ftruncate", self.path)

    def close(self) -> None:
        if self._h is None:
            return
        h, self._h = self._h, None
        self._client._fds.discard(self)
        if libgfapi().glfs_close(h) != 0:
            raise _oserror("glfs_close", self.path)

    def __enter__(self) -> Fd:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<gfapi.Fd {self.path!r}{' closed' if self.closed else ''}>"


class Client:
    """One ``glfs_t``: a client graph loaded in this process. ``with`` calls fini()."""

    def __init__(self, fs: int, *, volname: str, log_file: str | None) -> None:
        self._fs: int | None = fs
        self.volname = volname
        self.log_file = log_file
        self._fds: weakref.WeakSet[Fd] = weakref.WeakSet()

    @classmethod
    def from_volfile(
        cls,
        path: str | os.PathLike[str],
        *,
        volname: str | None = None,
        log_file: str | os.PathLike[str] | None = None,
        log_level: str | int = "INFO",
        connect_timeout: float = 20.0,
    ) -> Client:
        """glfs_new + glfs_set_volfile + glfs_set_logging + glfs_init, then wait until the
        graph answers (a stat of "/" that is not ENOTCONN) for up to ``connect_timeout`` s.

        ``log_file`` defaults to ``<volfile>.gfapi.log``. Raises GfapiInitError (with the
        log tail) when anything fails; nothing is left allocated then.
        """
        lib = libgfapi()
        vol = os.fspath(path)
        if not os.path.isfile(vol):
            raise FileNotFoundError(errno_mod.ENOENT, "volfile not found", vol)
        name = volname or Path(vol).stem
        log = os.fspath(log_file) if log_file is not None else vol + ".gfapi.log"
        level = LOG_LEVELS[log_level.upper()] if isinstance(log_level, str) else int(log_level)
        fs = lib.glfs_new(name.encode())
        if not fs:
            raise _oserror("glfs_new")
        client = cls(fs, volname=name, log_file=log)
        failed: str | None = None
        try:
            if lib.glfs_set_volfile(fs, vol.encode()) != 0:
                failed = f"glfs_set_volfile: {os.strerror(ctypes.get_errno())}"
            elif lib.glfs_set_logging(fs, log.encode(), level) != 0:
                failed = f"glfs_set_logging: {os.strerror(ctypes.get_errno())}"
            elif lib.glfs_init(fs) != 0:
                failed = f"glfs_init: {os.strerror(ctypes.get_errno())}"
            else:
                failed = client._wait_connected(connect_timeout)
        except BaseException:
            with contextlib.suppress(OSError):
                client.fini()
            raise
        if failed is not None:
            # glfs_fini also frees a glfs_t whose init failed (it returns -1 then)
            with contextlib.suppress(OSError):
                client.fini()
            # read the log after fini: gfapi writes the reason (connection refused, bad
            # volfile, ...) asynchronously
            hint = ""
            if "Input/output error" in failed or "not connected" in failed:
                hint = (" (the graph could not reach its server: is glusterfsd serving the "
                        "volfile's remote-host/remote-port/remote-subvolume?)")
            raise GfapiInitError(f"gfapi volume {name!r} from {vol}: {failed}{hint}",
                                 _log_tail(log), log)
        return client

    def _wait_connected(self, timeout: float) -> str | None:
        """None once a stat of "/" answers, else why not."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.stat("/")
                return None
            except OSError as exc:
                if exc.errno != errno_mod.ENOTCONN or time.monotonic() > deadline:
                    return f"no answer after glfs_init (stat of '/': {exc})"
            time.sleep(0.05)

    # ------------------------------------------------------------------ lifecycle

    @property
    def fs(self) -> int:
        if self._fs is None:
            raise GfapiError(f"gfapi client {self.volname!r} was finished (fini)")
        return self._fs

    @property
    def finished(self) -> bool:
        return self._fs is None

    def fini(self) -> None:
        """Close every fd still open, then glfs_fini (tears the graph down). Idempotent."""
        if self._fs is None:
            return
        for fd in list(self._fds):
            with contextlib.suppress(OSError):
                fd.close()
        fs, self._fs = self._fs, None
        if libgfapi().glfs_fini(fs) != 0:
            raise _oserror("glfs_fini")

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fini()

    def __repr__(self) -> str:
        return f"<gfapi.Client {self.volname!r}{' finished' if self.finished else ''}>"

    # ------------------------------------------------------------------ paths

    def stat(self, path: PathArg) -> os.stat_result:
        st = Stat()
        if libgfapi().glfs_stat(self.fs, _b(path), ctypes.byref(st)) != 0:
            raise _oserror("glfs_stat", path)
        return st.to_stat_result()

    def lstat(self, path: PathArg) -> os.stat_result:
        st = Stat()
        if libgfapi().glfs_lstat(self.fs, _b(path), ctypes.byref(st)) != 0:
            raise _oserror("glfs_lstat", path)
        return st.to_stat_result()

    def exists(self, path: PathArg) -> bool:
        try:
            self.stat(path)
        except OSError as exc:
            if exc.errno in (errno_mod.ENOENT, errno_mod.ENOTDIR):
                return False
            raise
        return True

    def access(self, path: PathArg, mode: int = os.F_OK) -> bool:
        """glfs_access: True if allowed; False on EACCES/ENOENT/ENOTDIR/EPERM/EROFS
        (like os.access); any other error (ENOTCONN, EIO, ...) raises OSError."""
        if libgfapi().glfs_access(self.fs, _b(path), mode) == 0:
            return True
        err = _oserror("glfs_access", path)
        if err.errno in (errno_mod.EACCES, errno_mod.ENOENT, errno_mod.ENOTDIR, errno_mod.EPERM,
                         errno_mod.EROFS):
            return False
        raise err

    def open(self, path: PathArg, flags: int = os.O_RDONLY, mode: int = 0o644) -> Fd:
        """glfs_open, or glfs_creat when ``flags`` has O_CREAT."""
        lib = libgfapi()
        if flags & os.O_CREAT:
            h = lib.glfs_creat(self.fs, _b(path), flags, mode)
            what = "glfs_creat"
        else:
            h = lib.glfs_open(self.fs, _b(path), flags)
            what = "glfs_open"
        if not h:
            raise _oserror(what, path)
        fd = Fd(self, h, os.fsdecode(path))
        self._fds.add(fd)
        return fd

    def creat(self, path: PathArg, mode: int = 0o644,
              flags: int = os.O_RDWR | os.O_TRUNC) -> Fd:
        return self.open(path, flags | os.O_CREAT, mode)

    def read_file(self, path: PathArg) -> bytes:
        with self.open(path) as fd:
            return fd.read()

    def write_file(self, path: PathArg, data: bytes, mode: int = 0o644) -> None:
        with self.creat(path, mode, os.O_WRONLY | os.O_TRUNC) as fd:
            view = memoryview(data)
            while view:
                view = view[fd.write(view):]

    def truncate(self, path: PathArg, length: int) -> None:
        if libgfapi().glfs_truncate(self.fs, _b(path), length) != 0:
            raise _oserror("glfs_truncate", path)

    def unlink(self, path: PathArg) -> None:
        if libgfapi().glfs_unlink(self.fs, _b(path)) != 0:
            raise _oserror("glfs_unlink", path)

    def mkdir(self, path: PathArg, mode: int = 0o755) -> None:
        if libgfapi().glfs_mkdir(self.fs, _b(path), mode) != 0:
            raise _oserror("glfs_mkdir", path)

    def rmdir(self, path: PathArg) -> None:
        if libgfapi().glfs_rmdir(self.fs, _b(path)) != 0:
            raise _oserror("glfs_rmdir", path)

    def rename(self, src: PathArg, dst: PathArg) -> None:
        if libgfapi().glfs_rename(self.fs, _b(src), _b(dst)) != 0:
            raise _oserror("glfs_rename", src, dst)

    def symlink(self, target: PathArg, path: PathArg) -> None:
        if libgfapi().glfs_symlink(self.fs, _b(target), _b(path)) != 0:
            raise _oserror("glfs_symlink", target, path)

    def readlink(self, path: PathArg) -> str:
        buf = ctypes.create_string_buffer(4096)
        n = libgfapi().glfs_readlink(self.fs, _b(path), buf, len(buf))
        if n < 0:
            raise _oserror("glfs_readlink", path)
        return os.fsdecode(buf.raw[:n])

    def chmod(self, path: PathArg, mode: int) -> None:
        if libgfapi().glfs_chmod(self.fs, _b(path), mode) != 0:
            raise _oserror("glfs_chmod", path)

    def scandir(self, path: PathArg = "/") -> Iterator[tuple[str, int, int]]:
        """``(name, d_type, d_ino)`` for every entry, "." and ".." included (glfs_readdir_r)."""
        lib = libgfapi()
        h = lib.glfs_opendir(self.fs, _b(path))
        if not h:
            raise _oserror("glfs_opendir", path)
        try:
            ent = Dirent()
            res = ctypes.c_void_p()
            while True:
                if lib.glfs_readdir_r(h, ctypes.byref(ent), ctypes.byref(res)) != 0:
                    raise _oserror("glfs_readdir_r", path)
                if not res.value:
                    return
                yield os.fsdecode(ent.d_name), int(ent.d_type), int(ent.d_ino)
        finally:
            lib.glfs_closedir(h)

    def listdir(self, path: PathArg = "/") -> list[str]:
        """Entry names without "." and ".." (glfs_opendir/glfs_readdir_r/glfs_closedir)."""
        return [name for name, _, _ in self.scandir(path) if name not in (".", "..")]

    # ------------------------------------------------------------------ xattrs

    def getxattr(self, path: PathArg, name: str) -> bytes:
        lib = libgfapi()
        key = name.encode()
        for _ in range(5):
            size = lib.glfs_getxattr(self.fs, _b(path), key, None, 0)
            if size < 0:
                raise _oserror(f"glfs_getxattr {name}", path)
            buf = ctypes.create_string_buffer(max(size, 1))
            n = lib.glfs_getxattr(self.fs, _b(path), key, buf, size)
            if n >= 0:
                return buf.raw[:n]
            if ctypes.get_errno() != errno_mod.ERANGE:  # grew in between: ask again
                raise _oserror(f"glfs_getxattr {name}", path)
        raise OSError(errno_mod.ERANGE, f"xattr {name} keeps changing size", os.fsdecode(path))

    def listxattr(self, path: PathArg) -> list[str]:
        lib = libgfapi()
        size = lib.glfs_listxattr(self.fs, _b(path), None, 0)
        if size < 0:
            raise _oserror("glfs_listxattr", path)
        buf = ctypes.create_string_buffer(max(size, 1) + 4096)
        n = lib.glfs_listxattr(self.fs, _b(path), buf, len(buf))
        if n < 0:
            raise _oserror("glfs_listxattr", path)
        return [k.decode(errors="surrogateescape") for k in buf.raw[:n].split(b"\0") if k]

    def setxattr(self, path: PathArg, name: str, value: bytes, flags: int = 0) -> None:
        raw = bytes(value)
        if libgfapi().glfs_setxattr(self.fs, _b(path), name.encode(), raw, len(raw), flags) != 0:
            raise _oserror(f"glfs_setxattr {name}", path)

    def removexattr(self, path: PathArg, name: str) -> None:
        if libgfapi().glfs_removexattr(self.fs, _b(path), name.encode()) != 0:
            raise _oserror(f"glfs_removexattr {name}", path)


def time_fop(fn: Callable[[], object], n: int, *, warmup: int = 100) -> float:
    """Mean latency: microseconds per call of ``fn`` over ``n`` calls (after
    ``warmup`` untimed calls). An OSError from ``fn`` counts as a completed call (a stat of a
    missing name is the usual subject); any other exception propagates."""
    def once() -> None:
        with contextlib.suppress(OSError):
            fn()

    for _ in range(warmup):
        once()
    t0 = time.perf_counter()
    for _ in range(n):
        once()
    return (time.perf_counter() - t0) / n * 1e6
