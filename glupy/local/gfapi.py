"""libgfapi from Python: talk to a volume without FUSE.

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

The C side is a cffi module compiled against the installed ``api/glfs.h``,
``sys/stat.h`` and ``dirent.h`` when the bridge is built
(``glupy/_build/bindings/gfapi.py``): struct layouts and prototypes are the compiler's,
including the ``GFAPI_6.0`` versions of ``glfs_pread``, ``glfs_pwrite``,
``glfs_ftruncate`` and ``glfs_fsync`` (extra ``struct glfs_stat *`` arguments, NULL
here) that glfs.h selects.  Every call releases the GIL; errors are -1 (or NULL) with
errno, which cffi keeps per thread (``ffi.errno``).
"""

from __future__ import annotations

import contextlib
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

# gf_loglevel_t (glusterfs/logging.h)
LOG_LEVELS: dict[str, int] = {
    "NONE": 0, "EMERG": 1, "ALERT": 2, "CRITICAL": 3, "ERROR": 4, "WARNING": 5,
    "NOTICE": 6, "INFO": 7, "DEBUG": 8, "TRACE": 9,
}

ffi: Any = None
_LIB: Any = None


def libgfapi() -> Any:
    """The compiled binding's ``lib`` (glfs_* functions), loaded on first use."""
    global _LIB, ffi
    if _LIB is None:
        try:
            from glupy._bridge import _gfapi
        except ImportError as exc:
            raise GfapiError(
                f"glupy's libgfapi binding is not built or cannot load ({exc}): install "
                "libgfapi0 (and libglusterfs-dev to build), then `python -m glupy._build`"
            ) from exc
        ffi, _LIB = _gfapi.ffi, _gfapi.lib
    return _LIB


def _stat_result(st: Any) -> os.stat_result:
    """A ``struct stat *`` as os.stat_result."""
    a, m, c = (int(ts.tv_sec) * 1_000_000_000 + int(ts.tv_nsec)
               for ts in (st.st_atim, st.st_mtim, st.st_ctim))
    return os.stat_result((
        st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, st.st_size,
        st.st_atim.tv_sec, st.st_mtim.tv_sec, st.st_ctim.tv_sec,  # int times
        a / 1e9, m / 1e9, c / 1e9,                                 # st_*time floats
        a, m, c,                                                   # st_*time_ns
        st.st_blksize, st.st_blocks, st.st_rdev,
    ))


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
    err = ffi.errno or errno_mod.EIO
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

    def __init__(self, client: Client, handle: Any, path: str) -> None:
        self._client = client
        self._h: Any = handle
        self.path = path

    @property
    def closed(self) -> bool:
        return self._h is None

    def _handle(self) -> Any:
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
        lib = libgfapi()
        buf = ffi.new("char[]", max(size, 1))
        n = lib.glfs_read(self._handle(), buf, size, 0)
        if n < 0:
            raise _oserror("glfs_read", self.path)
        return ffi.buffer(buf, n)[:]

    def write(self, data: bytes | bytearray | memoryview) -> int:
        lib = libgfapi()
        raw = ffi.from_buffer(data)
        n = lib.glfs_write(self._handle(), raw, len(raw), 0)
        if n < 0:
            raise _oserror("glfs_write", self.path)
        return int(n)

    def pread(self, size: int, offset: int) -> bytes:
        lib = libgfapi()
        buf = ffi.new("char[]", max(size, 1))
        n = lib.glfs_pread(self._handle(), buf, size, offset, 0, ffi.NULL)
        if n < 0:
            raise _oserror("glfs_pread", self.path)
        return ffi.buffer(buf, n)[:]

    def pwrite(self, data: bytes | bytearray | memoryview, offset: int) -> int:
        lib = libgfapi()
        raw = ffi.from_buffer(data)
        n = lib.glfs_pwrite(self._handle(), raw, len(raw), offset, 0, ffi.NULL, ffi.NULL)
        if n < 0:
            raise _oserror("glfs_pwrite", self.path)
        return int(n)

    def lseek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        lib = libgfapi()
        ffi.errno = 0
        pos = lib.glfs_lseek(self._handle(), offset, whence)
        if pos < 0:
            raise _oserror("glfs_lseek", self.path)
        return int(pos)

    def fstat(self) -> os.stat_result:
        lib = libgfapi()
        st = ffi.new("struct stat *")
        if lib.glfs_fstat(self._handle(), st) != 0:
            raise _oserror("glfs_fstat", self.path)
        return _stat_result(st)

    def fsync(self) -> None:
        if libgfapi().glfs_fsync(self._handle(), ffi.NULL, ffi.NULL) != 0:
            raise _oserror("glfs_fsync", self.path)

    def ftruncate(self, length: int) -> None:
        if libgfapi().glfs_ftruncate(self._handle(), length, ffi.NULL, ffi.NULL) != 0:
            raise _oserror("glfs_ftruncate", self.path)

    def fallocate(self, mode: int, offset: int, length: int) -> None:
        """glfs_fallocate: ``mode`` (its ``keep_size`` argument) is passed down unchanged."""
        if libgfapi().glfs_fallocate(self._handle(), mode, offset, length) != 0:
            raise _oserror("glfs_fallocate", self.path)

    def zerofill(self, offset: int, length: int) -> None:
        if libgfapi().glfs_zerofill(self._handle(), offset, length) != 0:
            raise _oserror("glfs_zerofill", self.path)

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

    def __init__(self, fs: Any, *, volname: str, log_file: str | None) -> None:
        self._fs: Any = fs
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
        if fs == ffi.NULL:
            raise _oserror("glfs_new")
        client = cls(fs, volname=name, log_file=log)
        failed: str | None = None
        try:
            if lib.glfs_set_volfile(fs, vol.encode()) != 0:
                failed = f"glfs_set_volfile: {os.strerror(ffi.errno)}"
            elif lib.glfs_set_logging(fs, log.encode(), level) != 0:
                failed = f"glfs_set_logging: {os.strerror(ffi.errno)}"
            elif lib.glfs_init(fs) != 0:
                failed = f"glfs_init: {os.strerror(ffi.errno)}"
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
    def fs(self) -> Any:
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
        lib = libgfapi()
        st = ffi.new("struct stat *")
        if lib.glfs_stat(self.fs, _b(path), st) != 0:
            raise _oserror("glfs_stat", path)
        return _stat_result(st)

    def lstat(self, path: PathArg) -> os.stat_result:
        lib = libgfapi()
        st = ffi.new("struct stat *")
        if lib.glfs_lstat(self.fs, _b(path), st) != 0:
            raise _oserror("glfs_lstat", path)
        return _stat_result(st)

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
        if h == ffi.NULL:
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
        lib = libgfapi()
        buf = ffi.new("char[]", 4096)
        n = lib.glfs_readlink(self.fs, _b(path), buf, len(buf))
        if n < 0:
            raise _oserror("glfs_readlink", path)
        return os.fsdecode(ffi.buffer(buf, n)[:])

    def chmod(self, path: PathArg, mode: int) -> None:
        if libgfapi().glfs_chmod(self.fs, _b(path), mode) != 0:
            raise _oserror("glfs_chmod", path)

    def scandir(self, path: PathArg = "/") -> Iterator[tuple[str, int, int]]:
        """``(name, d_type, d_ino)`` for every entry, "." and ".." included (glfs_readdir_r)."""
        lib = libgfapi()
        h = lib.glfs_opendir(self.fs, _b(path))
        if h == ffi.NULL:
            raise _oserror("glfs_opendir", path)
        try:
            ent = ffi.new("struct dirent *")
            res = ffi.new("struct dirent **")
            while True:
                if lib.glfs_readdir_r(h, ent, res) != 0:
                    raise _oserror("glfs_readdir_r", path)
                if res[0] == ffi.NULL:
                    return
                yield os.fsdecode(ffi.string(ent.d_name)), int(ent.d_type), int(ent.d_ino)
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
            size = lib.glfs_getxattr(self.fs, _b(path), key, ffi.NULL, 0)
            if size < 0:
                raise _oserror(f"glfs_getxattr {name}", path)
            buf = ffi.new("char[]", max(size, 1))
            n = lib.glfs_getxattr(self.fs, _b(path), key, buf, size)
            if n >= 0:
                return ffi.buffer(buf, n)[:]
            if ffi.errno != errno_mod.ERANGE:  # grew in between: ask again
                raise _oserror(f"glfs_getxattr {name}", path)
        raise OSError(errno_mod.ERANGE, f"xattr {name} keeps changing size", os.fsdecode(path))

    def listxattr(self, path: PathArg) -> list[str]:
        lib = libgfapi()
        size = lib.glfs_listxattr(self.fs, _b(path), ffi.NULL, 0)
        if size < 0:
            raise _oserror("glfs_listxattr", path)
        buf = ffi.new("char[]", max(size, 1) + 4096)
        n = lib.glfs_listxattr(self.fs, _b(path), buf, len(buf))
        if n < 0:
            raise _oserror("glfs_listxattr", path)
        return [k.decode(errors="surrogateescape") for k in ffi.buffer(buf, n)[:].split(b"\0") if k]

    def setxattr(self, path: PathArg, name: str, value: bytes, flags: int = 0) -> None:
        lib = libgfapi()
        raw = ffi.from_buffer(value)
        if lib.glfs_setxattr(self.fs, _b(path), name.encode(), raw, len(raw), flags) != 0:
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
