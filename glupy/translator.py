"""What translator authors import: Translator, Option, FopError, gather."""

from __future__ import annotations

import _thread
import enum
import errno as _errno
import inspect
import logging
import math
import os
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

from glupy import _core
from glupy import options as _options

# re-exported: the hot types are defined once, in C (glupy/_bridge/src/core.h)
from glupy._core import FopCall as FopCall
from glupy._core import FopError as FopError
from glupy._core import Gather as Gather
from glupy._core import Wind as Wind
from glupy._core import _make_wind
from glupy.fops import FOP_NAMES, FOPS, FOPS_BY_NAME, PY_CBKS, Fop
from glupy.replies import *  # noqa: F403 - reply classes for the generated signatures
from glupy.runtime.security import REDACTED
from glupy.types import Dict, Dirents, Fd, Flock, Iatt, Inode, Lease, Loc, StatVfs, Vector  # noqa: F401

T = TypeVar("T")

# set by glupy.runtime.driver inside GlusterFS
_current_caller: Any = None


class InitError(Exception):
    """Raise from ``init()`` (as with ValueError/OSError) to refuse to start with a
    one-line reason in the log; glusterfs then exits non-zero."""


class Size(int):
    """An option type: a byte count written like ``64MB``, ``4KB``, ``1GB``."""


def parse_size(text: str) -> int:
    """A byte count as GlusterFS reads it: ``512``, ``4KB``, ``1.5MB`` (units B, KB,
    MB, GB, TB, PB, any case, no space; no sign)."""
    n = _options.gf_string2bytesize(text)
    if n is None:
        raise ValueError(f"not a size: {text!r}")
    return n


_TRUE = {"1", "on", "yes", "true", "enable"}
_FALSE = {"0", "off", "no", "false", "disable"}


def parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError(f"not a boolean: {text!r}")


class Option(Generic[T]):
    """A translator option, declared on the class::

        class Cache(Translator):
            timeout = Option(float, default=60.0, doc="seconds", min=0)
            size = Option(Size, default="64MB")
            mode = Option(str, default="fast", choices=["fast", "safe"])

    The volfile key is the attribute name with ``_`` replaced by ``-``.
    GlusterFS validates values (types, ranges, choices) when the graph is
    built and on reconfigure; ``glupy check``/``volfile``/``mount`` check them
    the same way before anything runs (glupy.options).  The instance attribute
    holds the parsed value.

    Types: ``int`` (strtoll: ``10``, ``0x10``, ``010`` is octal), ``float``
    (not NaN), ``bool`` (on/off, yes/no, true/false, enable/disable, 1/0), ``str``,
    ``Size`` (``512``, ``4KB``, ``1.5MB``; never negative), ``pathlib.Path``
    (absolute), an ``enum.Enum`` (its values are the choices), and lists:
    ``Option(list[str], default=[".tmp", ".bak"])`` is written
    ``option suffixes .tmp,.bak`` (comma-separated, blanks around items
    stripped, empty items ignored); ``list[int]``, ``list[float]``,
    ``list[Size]`` check each item, with ``min``/``max``/``choices`` per item.

    ``secret=True`` (a password, a token): glupy never shows the value (logs,
    ``glupy ps``/``status``/``check``, errors), and ``@/path`` in the volfile
    reads it from that file instead (root-only; see docs/security.md).
    """

    # GlusterFS option type for each Python type (options.h)
    GF_TYPES: ClassVar[dict[Any, str]] = {
        bool: "BOOL", int: "INT", float: "DOUBLE", str: "STR", Size: "SIZET", os.PathLike: "PATH"}

    def __init__(self, type: type[T] = str,  # type: ignore[assignment]
                 default: Any = None, doc: str = "", *,
                 min: float | None = None, max: float | None = None,
                 choices: Iterable[str] | None = None, key: str | None = None,
                 secret: bool = False) -> None:
        if isinstance(type, enum.EnumMeta):
            members: list[Any] = list(type)
            choices = [m.value if isinstance(m.value, str) else m.name for m in members]
        self.item_type = _options.list_item_type(type)
        self.type = type
        self.doc = doc
        self.min = min
        self.max = max
        self.choices = list(choices) if choices is not None else None
        self.key = key
        self.name = key or ""
        self.default = default
        self.secret = secret

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name
        if self.key is None:
            self.key = name.replace("_", "-")

    @property
    def gf_type(self) -> str:
        if self.choices is not None or self.item_type is not None:
            return "STR"
        for t, gf in self.GF_TYPES.items():
            if self.type is t:
                return gf
        if isinstance(self.type, type) and issubclass(self.type, os.PathLike):
            return "PATH"
        return "STR"

    @property
    def default_text(self) -> str | None:
        if self.default is None:
            return None
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        if isinstance(self.default, enum.Enum):
            return str(self.default.value)
        if self.item_type is not None and not isinstance(self.default, str):
            return _options.join_list(self.default)
        return str(self.default)

    def parse(self, text: str) -> Any:
        """Convert the volfile text into the Python value.  ValueError names the
        option and, for what GlusterFS checks, says what GlusterFS would say."""
        if self.item_type is not None:
            item = Option(self.item_type, min=self.min, max=self.max, choices=self.choices,
                          key=self.key, secret=self.secret)
            return [item.parse(part) for part in _options.split_list(text)]
        why = _options.gluster_error(self, self.key or "", text)
        if why is not None:
            if self.secret:  # GlusterFS's words quote the value
                raise ValueError(f"option {self.key!r}: invalid value (secret, not shown)")
            raise ValueError(f"option {self.key!r}: {why}")
        t = self.type
        try:
            if t is bool:
                value: Any = parse_bool(text)
            elif t is Size:
                value = Size(parse_size(text))
            elif t is int:
                value = _options.gf_string2longlong(text)
            elif t is float:
                value = _options.gf_string2double(text)
                if value is None or math.isnan(value):
                    raise ValueError("not a number")
            elif isinstance(t, enum.EnumMeta):
                members: list[Any] = list(t)
                value = next(m for m in members if str(m.value) == text or m.name == text)
            elif t is str:
                value = text
            elif t is os.PathLike:
                import pathlib

                value = pathlib.Path(text)
            else:
                value = t(text)  # type: ignore[call-arg]
            if isinstance(value, int | float) and not isinstance(value, bool):
                if self.min is not None and value < self.min:
                    raise ValueError(f"must be >= {self.min}")
                if self.max is not None and value > self.max:
                    raise ValueError(f"must be <= {self.max}")
        except (ValueError, TypeError, StopIteration, OverflowError) as e:
            if self.secret:  # the value, and errors that may quote it, stay unseen
                raise ValueError(f"option {self.key!r}: invalid value (secret, not shown)") from None
            raise ValueError(f"option {self.key!r}: invalid value {text!r}: {e}") from None
        return value

    def shown(self, value: object) -> object:
        """``value`` as glupy may show it: REDACTED for a secret option."""
        return REDACTED if self.secret and value not in (None, "") else value

    # A non-data descriptor: once a value (given or default) is an instance
    # attribute, reading it is a plain instance attribute hit (options are read in
    # fops).  The value is set with object.__setattr__, never through obj.__dict__:
    # touching __dict__ makes CPython 3.11 move the instance's attributes into a
    # dict object, and every attribute read of that instance (self.child ...)
    # then misses its specialization and takes the generic path.
    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Option[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        text = self.default_text
        value = self.parse(text) if text is not None else None
        object.__setattr__(obj, self.attr, value)
        return value


class _OnlyChild:
    """``Translator.child``: the only child (error if the translator has several).
    A non-data descriptor: the runtime sets the child as an instance attribute
    when there is exactly one, so reading it in every fop is an attribute hit."""

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _OnlyChild: ...
    @overload
    def __get__(self, obj: Translator, owner: type | None = None) -> Child: ...

    def __get__(self, obj: Translator | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        if len(obj.children) != 1:
            raise RuntimeError(f"{obj.name} has {len(obj.children)} children: use self.children")
        return obj.children[0]


# Guards task hand-over and Lock state in glupy.runtime.driver; held for a few
# bytecodes at a time, never across a C call or a wait.
_sync = _thread.allocate_lock()
# set by glupy.runtime.driver: resume a parked task (a Lock was handed to it)
_resume_task: Any = None


class _Acquire:
    """``await lock.acquire()``: takes a free lock without suspending; otherwise
    parks the fop (no GlusterFS thread waits) until the holder releases it."""

    __slots__ = ("lock",)

    def __init__(self, lock: Lock) -> None:
        self.lock = lock

    def __await__(self) -> Generator[Any, Any, None]:
        lock = self.lock
        with _sync:
            if not lock._locked:
                lock._locked = True
                return
        yield self  # the driver re-checks under _sync, then parks or continues


class Lock:
    """A lock for translator coroutines (like asyncio.Lock)::

        async with self.lock:
            size = (await self.child.fstat(fd, None)).buf.size
            await self.child.writev(fd, data, size, 0, None)

    Waiting parks the fop instead of blocking a GlusterFS thread; the release
    hands the lock to the oldest waiter and resumes it.  Use it for
    read-modify-write sequences across winds; a ``threading.Lock`` must never
    be held across an ``await``.
    """

    __slots__ = ("_locked", "_waiters")

    def __init__(self) -> None:
        self._locked = False
        self._waiters: deque[Any] = deque()

    def locked(self) -> bool:
        return self._locked

    def acquire(self) -> _Acquire:
        return _Acquire(self)

    def release(self) -> None:
        with _sync:
            if not self._locked:
                raise RuntimeError("release of an unlocked glupy.Lock")
            if not self._waiters:
                self._locked = False
                return
            task = self._waiters.popleft()  # the lock passes to it, still locked
        _resume_task(task)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()


def gather(*winds: Wind[Any], return_exceptions: bool = False) -> Awaitable[list[Any]]:
    """Wind to several children at once; resumes when every reply is in.

    ``await gather(a.writev(...), b.writev(...))`` winds both before either
    reply is awaited and returns the replies in order.  A failed wind raises
    its FopError (after all replies are in) unless ``return_exceptions``.
    """
    return Gather(winds, return_exceptions)  # which refuses anything but child fops


class Child(_core.Child):
    """A subvolume as seen from a translator: one method per fop, each returning
    an awaitable :class:`Wind`.  Methods are generated from the fop table.  ``xl``
    (what the engine winds to) is glupy._core.Child's."""

    __slots__ = ("name", "type")

    def __init__(self, name: str, xl: Any = None, type: str = "") -> None:
        self.name = name
        self.xl = xl
        self.type = type

    def __repr__(self) -> str:
        return f"<child {self.name} ({self.type})>"

    # BEGIN GENERATED child (python -m glupy._build.docgen; do not edit)
    def stat(self, loc: Loc, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[StatReply]:
        """Wind ``stat`` to this child; await the StatReply."""
        return _make_wind(self, FOPS_BY_NAME['stat'], (loc, xdata))

    def readlink(self, loc: Loc, size: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[ReadlinkReply]:
        """Wind ``readlink`` to this child; await the ReadlinkReply."""
        return _make_wind(self, FOPS_BY_NAME['readlink'], (loc, size, xdata))

    def mknod(self, loc: Loc, mode: int, rdev: int, umask: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[MknodReply]:
        """Wind ``mknod`` to this child; await the MknodReply."""
        return _make_wind(self, FOPS_BY_NAME['mknod'], (loc, mode, rdev, umask, xdata))

    def mkdir(self, loc: Loc, mode: int, umask: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[MkdirReply]:
        """Wind ``mkdir`` to this child; await the MkdirReply."""
        return _make_wind(self, FOPS_BY_NAME['mkdir'], (loc, mode, umask, xdata))

    def unlink(self, loc: Loc, xflags: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[UnlinkReply]:
        """Wind ``unlink`` to this child; await the UnlinkReply."""
        return _make_wind(self, FOPS_BY_NAME['unlink'], (loc, xflags, xdata))

    def rmdir(self, loc: Loc, xflags: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[RmdirReply]:
        """Wind ``rmdir`` to this child; await the RmdirReply."""
        return _make_wind(self, FOPS_BY_NAME['rmdir'], (loc, xflags, xdata))

    def symlink(self, linkname: str | None, loc: Loc, umask: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[SymlinkReply]:
        """Wind ``symlink`` to this child; await the SymlinkReply."""
        return _make_wind(self, FOPS_BY_NAME['symlink'], (linkname, loc, umask, xdata))

    def rename(self, oldloc: Loc, newloc: Loc, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[RenameReply]:
        """Wind ``rename`` to this child; await the RenameReply."""
        return _make_wind(self, FOPS_BY_NAME['rename'], (oldloc, newloc, xdata))

    def link(self, oldloc: Loc, newloc: Loc, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[LinkReply]:
        """Wind ``link`` to this child; await the LinkReply."""
        return _make_wind(self, FOPS_BY_NAME['link'], (oldloc, newloc, xdata))

    def truncate(self, loc: Loc, offset: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[TruncateReply]:
        """Wind ``truncate`` to this child; await the TruncateReply."""
        return _make_wind(self, FOPS_BY_NAME['truncate'], (loc, offset, xdata))

    def open(self, loc: Loc, flags: int, fd: Fd, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[OpenReply]:
        """Wind ``open`` to this child; await the OpenReply."""
        return _make_wind(self, FOPS_BY_NAME['open'], (loc, flags, fd, xdata))

    def readv(self, fd: Fd, size: int, offset: int, flags: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[ReadvReply]:
        """Wind ``readv`` to this child; await the ReadvReply."""
        return _make_wind(self, FOPS_BY_NAME['readv'], (fd, size, offset, flags, xdata))

    def writev(self, fd: Fd, vector: Vector | bytes, offset: int, flags: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[WritevReply]:
        """Wind ``writev`` to this child; await the WritevReply."""
        return _make_wind(self, FOPS_BY_NAME['writev'], (fd, vector, offset, flags, xdata))

    def statfs(self, loc: Loc, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[StatfsReply]:
        """Wind ``statfs`` to this child; await the StatfsReply."""
        return _make_wind(self, FOPS_BY_NAME['statfs'], (loc, xdata))

    def flush(self, fd: Fd, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FlushReply]:
        """Wind ``flush`` to this child; await the FlushReply."""
        return _make_wind(self, FOPS_BY_NAME['flush'], (fd, xdata))

    def fsync(self, fd: Fd, datasync: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FsyncReply]:
        """Wind ``fsync`` to this child; await the FsyncReply."""
        return _make_wind(self, FOPS_BY_NAME['fsync'], (fd, datasync, xdata))

    def setxattr(self, loc: Loc, dict: Dict | Mapping[str, Any] | None, flags: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[SetxattrReply]:
        """Wind ``setxattr`` to this child; await the SetxattrReply."""
        return _make_wind(self, FOPS_BY_NAME['setxattr'], (loc, dict, flags, xdata))

    def getxattr(self, loc: Loc, name: str | None, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[GetxattrReply]:
        """Wind ``getxattr`` to this child; await the GetxattrReply."""
        return _make_wind(self, FOPS_BY_NAME['getxattr'], (loc, name, xdata))

    def removexattr(self, loc: Loc, name: str | None, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[RemovexattrReply]:
        """Wind ``removexattr`` to this child; await the RemovexattrReply."""
        return _make_wind(self, FOPS_BY_NAME['removexattr'], (loc, name, xdata))

    def opendir(self, loc: Loc, fd: Fd, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[OpendirReply]:
        """Wind ``opendir`` to this child; await the OpendirReply."""
        return _make_wind(self, FOPS_BY_NAME['opendir'], (loc, fd, xdata))

    def fsyncdir(self, fd: Fd, datasync: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FsyncdirReply]:
        """Wind ``fsyncdir`` to this child; await the FsyncdirReply."""
        return _make_wind(self, FOPS_BY_NAME['fsyncdir'], (fd, datasync, xdata))

    def access(self, loc: Loc, mask: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[AccessReply]:
        """Wind ``access`` to this child; await the AccessReply."""
        return _make_wind(self, FOPS_BY_NAME['access'], (loc, mask, xdata))

    def create(self, loc: Loc, flags: int, mode: int, umask: int, fd: Fd, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[CreateReply]:
        """Wind ``create`` to this child; await the CreateReply."""
        return _make_wind(self, FOPS_BY_NAME['create'], (loc, flags, mode, umask, fd, xdata))

    def ftruncate(self, fd: Fd, offset: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FtruncateReply]:
        """Wind ``ftruncate`` to this child; await the FtruncateReply."""
        return _make_wind(self, FOPS_BY_NAME['ftruncate'], (fd, offset, xdata))

    def fstat(self, fd: Fd, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FstatReply]:
        """Wind ``fstat`` to this child; await the FstatReply."""
        return _make_wind(self, FOPS_BY_NAME['fstat'], (fd, xdata))

    def lk(self, fd: Fd, cmd: int, flock: Flock | None, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[LkReply]:
        """Wind ``lk`` to this child; await the LkReply."""
        return _make_wind(self, FOPS_BY_NAME['lk'], (fd, cmd, flock, xdata))

    def lookup(self, loc: Loc, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[LookupReply]:
        """Wind ``lookup`` to this child; await the LookupReply."""
        return _make_wind(self, FOPS_BY_NAME['lookup'], (loc, xdata))

    def readdir(self, fd: Fd, size: int, offset: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[ReaddirReply]:
        """Wind ``readdir`` to this child; await the ReaddirReply."""
        return _make_wind(self, FOPS_BY_NAME['readdir'], (fd, size, offset, xdata))

    def inodelk(self, volume: str | None, loc: Loc, cmd: int, flock: Flock | None, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[InodelkReply]:
        """Wind ``inodelk`` to this child; await the InodelkReply."""
        return _make_wind(self, FOPS_BY_NAME['inodelk'], (volume, loc, cmd, flock, xdata))

    def finodelk(self, volume: str | None, fd: Fd, cmd: int, flock: Flock | None, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FinodelkReply]:
        """Wind ``finodelk`` to this child; await the FinodelkReply."""
        return _make_wind(self, FOPS_BY_NAME['finodelk'], (volume, fd, cmd, flock, xdata))

    def entrylk(self, volume: str | None, loc: Loc, basename: str | None, cmd: int, type: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[EntrylkReply]:
        """Wind ``entrylk`` to this child; await the EntrylkReply."""
        return _make_wind(self, FOPS_BY_NAME['entrylk'], (volume, loc, basename, cmd, type, xdata))

    def fentrylk(self, volume: str | None, fd: Fd, basename: str | None, cmd: int, type: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FentrylkReply]:
        """Wind ``fentrylk`` to this child; await the FentrylkReply."""
        return _make_wind(self, FOPS_BY_NAME['fentrylk'], (volume, fd, basename, cmd, type, xdata))

    def xattrop(self, loc: Loc, optype: int, xattr: Dict | Mapping[str, Any] | None, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[XattropReply]:
        """Wind ``xattrop`` to this child; await the XattropReply."""
        return _make_wind(self, FOPS_BY_NAME['xattrop'], (loc, optype, xattr, xdata))

    def fxattrop(self, fd: Fd, optype: int, xattr: Dict | Mapping[str, Any] | None, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FxattropReply]:
        """Wind ``fxattrop`` to this child; await the FxattropReply."""
        return _make_wind(self, FOPS_BY_NAME['fxattrop'], (fd, optype, xattr, xdata))

    def fgetxattr(self, fd: Fd, name: str | None, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FgetxattrReply]:
        """Wind ``fgetxattr`` to this child; await the FgetxattrReply."""
        return _make_wind(self, FOPS_BY_NAME['fgetxattr'], (fd, name, xdata))

    def fsetxattr(self, fd: Fd, dict: Dict | Mapping[str, Any] | None, flags: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FsetxattrReply]:
        """Wind ``fsetxattr`` to this child; await the FsetxattrReply."""
        return _make_wind(self, FOPS_BY_NAME['fsetxattr'], (fd, dict, flags, xdata))

    def rchecksum(self, fd: Fd, offset: int, len: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[RchecksumReply]:
        """Wind ``rchecksum`` to this child; await the RchecksumReply."""
        return _make_wind(self, FOPS_BY_NAME['rchecksum'], (fd, offset, len, xdata))

    def setattr(self, loc: Loc, stbuf: Iatt | None, valid: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[SetattrReply]:
        """Wind ``setattr`` to this child; await the SetattrReply."""
        return _make_wind(self, FOPS_BY_NAME['setattr'], (loc, stbuf, valid, xdata))

    def fsetattr(self, fd: Fd, stbuf: Iatt | None, valid: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FsetattrReply]:
        """Wind ``fsetattr`` to this child; await the FsetattrReply."""
        return _make_wind(self, FOPS_BY_NAME['fsetattr'], (fd, stbuf, valid, xdata))

    def readdirp(self, fd: Fd, size: int, offset: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[ReaddirpReply]:
        """Wind ``readdirp`` to this child; await the ReaddirpReply."""
        return _make_wind(self, FOPS_BY_NAME['readdirp'], (fd, size, offset, xdata))

    def getspec(self, key: str | None, flag: int) -> Wind[GetspecReply]:
        """Wind ``getspec`` to this child; await the GetspecReply."""
        return _make_wind(self, FOPS_BY_NAME['getspec'], (key, flag))

    def fremovexattr(self, fd: Fd, name: str | None, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FremovexattrReply]:
        """Wind ``fremovexattr`` to this child; await the FremovexattrReply."""
        return _make_wind(self, FOPS_BY_NAME['fremovexattr'], (fd, name, xdata))

    def fallocate(self, fd: Fd, keep_size: int, offset: int, len: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[FallocateReply]:
        """Wind ``fallocate`` to this child; await the FallocateReply."""
        return _make_wind(self, FOPS_BY_NAME['fallocate'], (fd, keep_size, offset, len, xdata))

    def discard(self, fd: Fd, offset: int, len: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[DiscardReply]:
        """Wind ``discard`` to this child; await the DiscardReply."""
        return _make_wind(self, FOPS_BY_NAME['discard'], (fd, offset, len, xdata))

    def zerofill(self, fd: Fd, offset: int, len: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[ZerofillReply]:
        """Wind ``zerofill`` to this child; await the ZerofillReply."""
        return _make_wind(self, FOPS_BY_NAME['zerofill'], (fd, offset, len, xdata))

    def ipc(self, op: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[IpcReply]:
        """Wind ``ipc`` to this child; await the IpcReply."""
        return _make_wind(self, FOPS_BY_NAME['ipc'], (op, xdata))

    def seek(self, fd: Fd, offset: int, what: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[SeekReply]:
        """Wind ``seek`` to this child; await the SeekReply."""
        return _make_wind(self, FOPS_BY_NAME['seek'], (fd, offset, what, xdata))

    def lease(self, loc: Loc, lease: Lease | None, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[LeaseReply]:
        """Wind ``lease`` to this child; await the LeaseReply."""
        return _make_wind(self, FOPS_BY_NAME['lease'], (loc, lease, xdata))

    def compound(self, args: Any, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[CompoundReply]:
        """Wind ``compound`` to this child; await the CompoundReply."""
        return _make_wind(self, FOPS_BY_NAME['compound'], (args, xdata))

    def getactivelk(self, loc: Loc, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[GetactivelkReply]:
        """Wind ``getactivelk`` to this child; await the GetactivelkReply."""
        return _make_wind(self, FOPS_BY_NAME['getactivelk'], (loc, xdata))

    def setactivelk(self, loc: Loc, locklist: Any, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[SetactivelkReply]:
        """Wind ``setactivelk`` to this child; await the SetactivelkReply."""
        return _make_wind(self, FOPS_BY_NAME['setactivelk'], (loc, locklist, xdata))

    def put(self, loc: Loc, mode: int, umask: int, flags: int, vector: Vector | bytes, offset: int, xattr: Dict | Mapping[str, Any] | None, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[PutReply]:
        """Wind ``put`` to this child; await the PutReply."""
        return _make_wind(self, FOPS_BY_NAME['put'], (loc, mode, umask, flags, vector, offset, xattr, xdata))

    def icreate(self, loc: Loc, mode: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[IcreateReply]:
        """Wind ``icreate`` to this child; await the IcreateReply."""
        return _make_wind(self, FOPS_BY_NAME['icreate'], (loc, mode, xdata))

    def namelink(self, loc: Loc, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[NamelinkReply]:
        """Wind ``namelink`` to this child; await the NamelinkReply."""
        return _make_wind(self, FOPS_BY_NAME['namelink'], (loc, xdata))

    def copy_file_range(self, fd_in: Fd, off_in: int, fd_out: Fd, off_out: int, len: int, flags: int, xdata: Dict | Mapping[str, Any] | None = None) -> Wind[CopyFileRangeReply]:
        """Wind ``copy_file_range`` to this child; await the CopyFileRangeReply."""
        return _make_wind(self, FOPS_BY_NAME['copy_file_range'], (fd_in, off_in, fd_out, off_out, len, flags, xdata))
    # END GENERATED child


def _child_methods() -> None:
    """Child.<fop> becomes glupy._core's C method (builds the Wind without a Python
    frame); the generated Python method stays its signature and its fallback."""
    for fop in FOPS:
        func = vars(Child)[fop.name]
        params = list(inspect.signature(func).parameters.values())[1:]
        if [p.name for p in params] != [a.name for a in fop.py_args] or any(
                p.kind is not p.POSITIONAL_OR_KEYWORD or p.default not in (p.empty, None)
                for p in params):
            raise RuntimeError(f"glupy: Child.{fop.name} does not match the fop table")
        required = sum(p.default is p.empty for p in params)
        setattr(Child, fop.name, _core.child_method(Child, fop, func, len(params), required))


_child_methods()


class _PolicyFop:
    """What a FopCall (glupy._core's) knows of its fop, computed once per fop and class:
    ``call.fop``, ``call.loc``, ``call.fd`` and ``call.arg(name)`` read it."""

    __slots__ = ("fop", "name", "nargs", "index", "loc", "fd")

    def __init__(self, fop: Fop) -> None:
        self.fop = fop
        self.name = fop.name
        self.nargs = len(fop.py_args)
        self.index = {a.name: i for i, a in enumerate(fop.py_args)}
        kinds = [a.kind for a in fop.py_args]
        self.loc = kinds.index("loc") if "loc" in kinds else -1
        self.fd = kinds.index("fd") if "fd" in kinds else -1


PolicyMethod = Callable[[Any, FopCall], Awaitable[Any]]


def policy(*fops: str) -> Callable[[PolicyMethod], PolicyMethod]:
    """Apply one method to several fops::

        class ReadOnly(Translator):
            @glupy.policy("writev", "truncate", "unlink")
            async def refuse(self, call: glupy.FopCall) -> Reply:
                if self.read_only:
                    raise FopError(errno.EROFS)
                return await call.wind()

    The class then defines each named fop (``defined_fops()`` lists them), as if
    it had an ``async def writev(self, fd, vector, offset, flags, xdata)``
    calling ``refuse(self, FopCall)``.  A fop method the class defines itself
    takes precedence over the policy; a fop in two policies of one class is an
    error.  Fops no method or policy names still pass through in C."""
    unknown = [f for f in fops if f not in FOPS_BY_NAME]
    if unknown or not fops:
        raise TypeError(f"policy() takes fop names (glupy.fops.FOP_NAMES), got {unknown or 'none'}")

    def mark(method: PolicyMethod) -> PolicyMethod:
        if not inspect.iscoroutinefunction(method):
            raise TypeError(f"a policy method must be 'async def': {method!r}")
        method.__glupy_policy__ = tuple(dict.fromkeys(fops))  # type: ignore[attr-defined]
        return method

    return mark


def _policy_fop_method(cls: type, fop: Fop, attr: str,
                       method: PolicyMethod) -> Callable[..., Awaitable[Any]]:
    """The fop method of ``fop`` under ``method``: ``(self, *args)`` returns
    ``method(self, FopCall(...))``, the policy's own coroutine, so the driver steps
    that coroutine directly (no coroutine in between; an unhandled child error
    still takes the short path).  glupy._core's, in C: no Python frame per fop."""
    fop_method = _core.policy_fop(_PolicyFop(fop), method)
    fop_method.__name__ = fop.name
    fop_method.__qualname__ = f"{cls.__qualname__}.{fop.name}"
    fop_method.__module__ = cls.__module__
    fop_method.__doc__ = f"``{fop.name}``: the policy {attr}()."
    fop_method.__glupy_policy_method__ = attr
    if hasattr(inspect, "markcoroutinefunction"):  # 3.12+: it returns a coroutine
        inspect.markcoroutinefunction(fop_method)
    return fop_method  # type: ignore[no-any-return]


def _inherited_policy(cls: type, attr: str) -> tuple[str, ...] | None:
    for base in cls.__mro__[1:]:
        if attr in vars(base):
            fops: tuple[str, ...] | None = getattr(vars(base)[attr], "__glupy_policy__", None)
            return fops
    return None


def _expand_policies(cls: type) -> None:
    """Give ``cls`` a method for each fop its policies name that it does not
    define itself.  A policy method overridden without @policy keeps the fops
    its base's version had (those still served by it)."""
    own = vars(cls)
    covered: dict[str, str] = {}
    for attr, value in list(own.items()):
        fops = getattr(value, "__glupy_policy__", None)
        if fops is None:
            inherited = _inherited_policy(cls, attr)
            if inherited is None:
                continue
            fops = tuple(f for f in inherited if getattr(
                getattr(cls, f, None), "__glupy_policy_method__", None) == attr)
            policy(*inherited)(value)  # the same checks, and its subclasses see it
        for name in fops:
            if name in covered:
                raise TypeError(f"{cls.__name__}: fop {name} is in two policies, "
                                f"{covered[name]}() and {attr}()")
            covered[name] = attr
            if name not in own:
                setattr(cls, name, _policy_fop_method(cls, FOPS_BY_NAME[name], attr, value))



class Refuse:
    """A decision the bridge makes in C, before Python: the named fops fail with
    ``op_errno``::

        class ReadOnly(Translator):
            read_only = Option(bool, default=True)
            refuse_writes = glupy.Refuse(errno.EROFS, "writev", "unlink", when=read_only)
            refuse_write_opens = glupy.Refuse(errno.EROFS, "open", when=read_only,
                                              if_bits=os.O_WRONLY | os.O_RDWR | os.O_TRUNC)

    ``when``: a ``bool`` Option of the class; the rule applies while it is on (read
    again after every reconfigure), always if not given.  ``if_bits``: the rule
    applies only when the fop's flag argument has one of these bits (open's and
    create's ``flags``, access's ``mask``, setattr's ``valid``:
    ``glupy.fops.Fop.flag_arg``).  ``if_marked``: a :class:`Mark` of the class; the
    rule applies only when the fop's target carries it (the inode of its first loc
    or fd, copy_file_range's ``fd_out``; for an fd mark, that fd).

    A fop the rule lets through goes to the class's method for it if there is one,
    else straight to the child, in C: neither costs Python.  With ``if_marked``, a
    fop the rule lets through because its target does not carry the mark goes
    straight to the child even if the class has a method for it: the method is
    called only when the target is an inode whose marks the bridge does not know
    yet (it decides, and should tell the bridge: ``Mark.learn``).  One rule per fop."""

    def __init__(self, op_errno: int, *fops: str, when: Option[bool] | None = None,
                 if_bits: int = 0, if_marked: Mark | None = None) -> None:
        unknown = [f for f in fops if f not in FOPS_BY_NAME]
        if unknown or not fops:
            raise TypeError(f"Refuse() takes fop names (glupy.fops.FOP_NAMES), got {unknown or 'none'}")
        if not isinstance(op_errno, int) or op_errno <= 0:
            raise TypeError(f"Refuse(): op_errno must be a positive errno, not {op_errno!r}")
        if if_bits and (no_flag := [f for f in fops if FOPS_BY_NAME[f].flag_arg is None]):
            raise TypeError(f"Refuse(if_bits=...): {', '.join(no_flag)} take no flags or mask argument")
        if when is not None and not (isinstance(when, Option) and when.type is bool):
            raise TypeError(f"Refuse(when=...) takes a bool Option of the class, not {when!r}")
        if if_marked is not None and not isinstance(if_marked, Mark):
            raise TypeError(f"Refuse(if_marked=...) takes a glupy.Mark of the class, not {if_marked!r}")
        self.op_errno = op_errno
        self.fops = tuple(dict.fromkeys(fops))
        self.when = when
        self.if_bits = if_bits
        self.if_marked = if_marked
        self.attr = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name

    def applies(self, translator: Translator) -> bool:
        """Whether the rule refuses now (its ``when`` option's value)."""
        return self.when is None or bool(getattr(translator, self.when.attr))

    def __repr__(self) -> str:
        when = f", when={self.when.attr}" if self.when is not None else ""
        bits = f", if_bits={self.if_bits:#o}" if self.if_bits else ""
        marked = f", if_marked={self.if_marked.attr}" if self.if_marked is not None else ""
        return (f"Refuse({_errno.errorcode.get(self.op_errno, self.op_errno)}, {', '.join(self.fops)}"
                f"{when}{bits}{marked})")


class Mark:
    """A flag the bridge keeps in C on inodes (``on="inode"``) or on fds (``on="fd"``),
    per translator instance, for :class:`Refuse` and :class:`WhenMarked` to test
    before Python::

        class Worm(glupy.Translator):
            committed = glupy.Mark("inode", xattr="trusted.glupy.worm")
            written = glupy.Mark("fd", set_by=("writev", "ftruncate"))
            refuse_changes = glupy.Refuse(errno.EROFS, "writev", "truncate",
                                          if_marked=committed)
            commit_on_close = glupy.WhenMarked(written, "flush")

    An inode mark with ``xattr`` is learned in C: every lookup asks the child for that
    xattr (in its xdata; storage/posix answers in the reply's xdata) and marks the
    inode if it is there.  An inode whose marks the bridge has not learned (met
    without a lookup: readdirp, an anonymous fd, a gfid) is *not known*: a rule that
    tests one of its inode marks sends the fop to the class's method, which decides
    and tells the bridge with :meth:`learn`.  Inodes made by create, mknod, mkdir and
    symlink are known, unmarked.  Lookups only add marks; :meth:`clear` removes one.
    A class with an xattr mark handles lookup in C: it may not define lookup.

    An fd mark with ``set_by``: set in C on the fd of each of these fops that is not
    refused (copy_file_range: ``fd_out``), whether or not the child then succeeds.

    In a fop method: ``mark.is_set(inode_or_fd)`` (None: an inode not known yet),
    ``mark.set(...)``, ``mark.clear(...)``, ``mark.learn(inode, present)``."""

    def __init__(self, on: str = "inode", *, xattr: str | None = None,
                 set_by: Iterable[str] = ()) -> None:
        if on not in ("inode", "fd"):
            raise TypeError(f"Mark(on=...) is 'inode' or 'fd', not {on!r}")
        set_by = tuple(set_by)
        if xattr is not None and (on != "inode" or not isinstance(xattr, str) or not xattr
                                  or "\0" in xattr):
            raise TypeError(f"Mark(xattr=...) names an xattr of an inode mark, not {xattr!r}")
        if set_by and on != "fd":
            raise TypeError("Mark(set_by=...) is for fd marks")
        no_fd = [f for f in set_by if f not in FOPS_BY_NAME
                 or not any(a.ctype == "fd_t *" for a in FOPS_BY_NAME[f].args)]
        if no_fd:
            raise TypeError(f"Mark(set_by=...) takes fops with an fd argument, not {no_fd}")
        self.on = on
        self.xattr = xattr
        self.set_by = set_by
        self.bit = 0  # set per class (_marks), from bit 1: bit 0 is "known"
        self.attr = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name

    def __repr__(self) -> str:
        extra = f", xattr={self.xattr!r}" if self.xattr else ""
        extra += f", set_by={self.set_by}" if self.set_by else ""
        return f"Mark({self.on!r}{extra})"

    def _target(self, obj: Inode | Fd) -> tuple[Any, Any, Any]:
        from glupy import types as _types

        inst = obj._inst
        if inst is None or _types._lib is None or not self.bit:
            raise RuntimeError(f"{self!r}: only inside GlusterFS, on a translator's views")
        null = _types._ffi.NULL
        if self.on == "fd":
            if not isinstance(obj, Fd):
                raise TypeError(f"{self.attr} marks fds, not {type(obj).__name__}")
            return _types._lib, inst.xl, (null, obj._p)
        if not isinstance(obj, Inode):
            raise TypeError(f"{self.attr} marks inodes, not {type(obj).__name__}")
        return _types._lib, inst.xl, (obj._p, null)

    def is_set(self, obj: Inode | Fd) -> bool | None:
        """Whether ``obj`` carries the mark; None for an inode not known yet."""
        lib, xl, (inode, fd) = self._target(obj)
        marks = int(lib.glupy_marks_get(xl, inode, fd))
        if self.on == "inode" and not marks & 1:
            return None
        return bool(marks & self.bit)

    def set(self, obj: Inode | Fd) -> None:
        """Mark ``obj`` (an inode: also known)."""
        lib, xl, (inode, fd) = self._target(obj)
        lib.glupy_marks_change(xl, inode, fd, self.bit | (self.on == "inode"), 0)

    def clear(self, obj: Inode | Fd) -> None:
        lib, xl, (inode, fd) = self._target(obj)
        lib.glupy_marks_change(xl, inode, fd, int(self.on == "inode"), self.bit)

    def learn(self, inode: Inode, present: bool) -> None:
        """What the method found out about an inode not known yet: it is known now,
        marked if ``present`` (never unmarked: use :meth:`clear`)."""
        if present:
            self.set(inode)
        else:
            lib, xl, (p, fd) = self._target(inode)
            lib.glupy_marks_change(xl, p, fd, 1, 0)


class WhenMarked:
    """The class's methods for ``fops`` run only when a target of the fop carries
    ``mark`` (or is an inode not known yet, for an inode mark); every other call goes
    straight to the child, in C.  Targets: the inodes of the fop's locs and fds, and
    its fd (for an fd mark)::

        commit_on_close = glupy.WhenMarked(written, "flush")"""

    def __init__(self, mark: Mark, *fops: str) -> None:
        if not isinstance(mark, Mark):
            raise TypeError(f"WhenMarked() takes a glupy.Mark of the class first, not {mark!r}")
        unknown = [f for f in fops if f not in FOPS_BY_NAME]
        if unknown or not fops:
            raise TypeError(f"WhenMarked() takes fop names (glupy.fops.FOP_NAMES), got {unknown or 'none'}")
        self.mark = mark
        self.fops = tuple(dict.fromkeys(fops))
        self.attr = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name

    def __repr__(self) -> str:
        return f"WhenMarked({self.mark.attr}, {', '.join(self.fops)})"


def _declared(cls: type, kind: type) -> list[tuple[str, Any]]:
    """The class's attributes that are ``kind`` (own and inherited, base classes first)."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, kind):
                out[attr] = value
    return list(out.items())


def _marks(cls: type) -> dict[str, Mark]:
    """The class's glupy.Mark attributes, each given its bit; checks the rules that
    use them."""
    marks = dict(_declared(cls, Mark))
    if len(marks) > 15:
        raise TypeError(f"{cls.__name__}: at most 15 glupy.Mark")
    for i, mark in enumerate(marks.values()):
        if mark.bit not in (0, 2 << i):
            raise TypeError(f"{cls.__name__}: {mark.attr} is a Mark of another class")
        mark.bit = 2 << i
    used = [(r.attr, r.if_marked) for _, r in _declared(cls, Refuse) if r.if_marked is not None]
    used += [(w.attr, w.mark) for _, w in _declared(cls, WhenMarked)]
    for attr, mark in used:
        if mark not in marks.values():
            raise TypeError(f"{cls.__name__}.{attr}: its Mark is not an attribute of the class")
    if any(m.xattr for m in marks.values()) and _defined(cls, "lookup"):
        raise TypeError(f"{cls.__name__}: a Mark learned from an xattr handles lookup in C; "
                        "the class may not define lookup")
    when = {}
    for _, rule in _declared(cls, WhenMarked):
        for name in rule.fops:
            if name in when:
                raise TypeError(f"{cls.__name__}: fop {name} is in two WhenMarked rules")
            if not _defined(cls, name):
                raise TypeError(f"{cls.__name__}.{rule.attr}: the class defines no {name}()")
            when[name] = rule
    return marks


def _when_marked(cls: type) -> dict[str, WhenMarked]:
    """fop name -> the class's WhenMarked for it."""
    return {name: rule for _, rule in _declared(cls, WhenMarked) for name in rule.fops}


def _refusals(cls: type) -> dict[str, Refuse]:
    """fop name -> the class's Refuse for it (own and inherited); two for one fop is
    an error."""
    out: dict[str, Refuse] = {}
    seen: set[str] = set()
    for klass in cls.__mro__:
        for attr, value in vars(klass).items():
            if attr in seen or not isinstance(value, Refuse):
                continue
            seen.add(attr)
            for name in value.fops:
                if name in out:
                    raise TypeError(f"{cls.__name__}: fop {name} is refused by two rules, "
                                    f"{out[name].attr} and {attr}")
                out[name] = value
    return out


if TYPE_CHECKING:
    # BEGIN GENERATED fop-methods (python -m glupy._build.docgen; do not edit)
    class FopMethods:
        """The signatures of every fop a Translator may define (for type checkers and
        editors only: a Translator handles just the fops its class defines)."""

        async def stat(self, loc: Loc, xdata: Dict | None) -> StatReply | Wind[StatReply]:
            ...

        async def readlink(self, loc: Loc, size: int, xdata: Dict | None) -> ReadlinkReply | Wind[ReadlinkReply]:
            ...

        async def mknod(self, loc: Loc, mode: int, rdev: int, umask: int, xdata: Dict | None) -> MknodReply | Wind[MknodReply]:
            ...

        async def mkdir(self, loc: Loc, mode: int, umask: int, xdata: Dict | None) -> MkdirReply | Wind[MkdirReply]:
            ...

        async def unlink(self, loc: Loc, xflags: int, xdata: Dict | None) -> UnlinkReply | Wind[UnlinkReply]:
            ...

        async def rmdir(self, loc: Loc, xflags: int, xdata: Dict | None) -> RmdirReply | Wind[RmdirReply]:
            ...

        async def symlink(self, linkname: str | None, loc: Loc, umask: int, xdata: Dict | None) -> SymlinkReply | Wind[SymlinkReply]:
            ...

        async def rename(self, oldloc: Loc, newloc: Loc, xdata: Dict | None) -> RenameReply | Wind[RenameReply]:
            ...

        async def link(self, oldloc: Loc, newloc: Loc, xdata: Dict | None) -> LinkReply | Wind[LinkReply]:
            ...

        async def truncate(self, loc: Loc, offset: int, xdata: Dict | None) -> TruncateReply | Wind[TruncateReply]:
            ...

        async def open(self, loc: Loc, flags: int, fd: Fd, xdata: Dict | None) -> OpenReply | Wind[OpenReply]:
            ...

        async def readv(self, fd: Fd, size: int, offset: int, flags: int, xdata: Dict | None) -> ReadvReply | Wind[ReadvReply]:
            ...

        async def writev(self, fd: Fd, vector: Vector, offset: int, flags: int, xdata: Dict | None) -> WritevReply | Wind[WritevReply]:
            ...

        async def statfs(self, loc: Loc, xdata: Dict | None) -> StatfsReply | Wind[StatfsReply]:
            ...

        async def flush(self, fd: Fd, xdata: Dict | None) -> FlushReply | Wind[FlushReply]:
            ...

        async def fsync(self, fd: Fd, datasync: int, xdata: Dict | None) -> FsyncReply | Wind[FsyncReply]:
            ...

        async def setxattr(self, loc: Loc, dict: Dict | None, flags: int, xdata: Dict | None) -> SetxattrReply | Wind[SetxattrReply]:
            ...

        async def getxattr(self, loc: Loc, name: str | None, xdata: Dict | None) -> GetxattrReply | Wind[GetxattrReply]:
            ...

        async def removexattr(self, loc: Loc, name: str | None, xdata: Dict | None) -> RemovexattrReply | Wind[RemovexattrReply]:
            ...

        async def opendir(self, loc: Loc, fd: Fd, xdata: Dict | None) -> OpendirReply | Wind[OpendirReply]:
            ...

        async def fsyncdir(self, fd: Fd, datasync: int, xdata: Dict | None) -> FsyncdirReply | Wind[FsyncdirReply]:
            ...

        async def access(self, loc: Loc, mask: int, xdata: Dict | None) -> AccessReply | Wind[AccessReply]:
            ...

        async def create(self, loc: Loc, flags: int, mode: int, umask: int, fd: Fd, xdata: Dict | None) -> CreateReply | Wind[CreateReply]:
            ...

        async def ftruncate(self, fd: Fd, offset: int, xdata: Dict | None) -> FtruncateReply | Wind[FtruncateReply]:
            ...

        async def fstat(self, fd: Fd, xdata: Dict | None) -> FstatReply | Wind[FstatReply]:
            ...

        async def lk(self, fd: Fd, cmd: int, flock: Flock, xdata: Dict | None) -> LkReply | Wind[LkReply]:
            ...

        async def lookup(self, loc: Loc, xdata: Dict | None) -> LookupReply | Wind[LookupReply]:
            ...

        async def readdir(self, fd: Fd, size: int, offset: int, xdata: Dict | None) -> ReaddirReply | Wind[ReaddirReply]:
            ...

        async def inodelk(self, volume: str | None, loc: Loc, cmd: int, flock: Flock, xdata: Dict | None) -> InodelkReply | Wind[InodelkReply]:
            ...

        async def finodelk(self, volume: str | None, fd: Fd, cmd: int, flock: Flock, xdata: Dict | None) -> FinodelkReply | Wind[FinodelkReply]:
            ...

        async def entrylk(self, volume: str | None, loc: Loc, basename: str | None, cmd: int, type: int, xdata: Dict | None) -> EntrylkReply | Wind[EntrylkReply]:
            ...

        async def fentrylk(self, volume: str | None, fd: Fd, basename: str | None, cmd: int, type: int, xdata: Dict | None) -> FentrylkReply | Wind[FentrylkReply]:
            ...

        async def xattrop(self, loc: Loc, optype: int, xattr: Dict | None, xdata: Dict | None) -> XattropReply | Wind[XattropReply]:
            ...

        async def fxattrop(self, fd: Fd, optype: int, xattr: Dict | None, xdata: Dict | None) -> FxattropReply | Wind[FxattropReply]:
            ...

        async def fgetxattr(self, fd: Fd, name: str | None, xdata: Dict | None) -> FgetxattrReply | Wind[FgetxattrReply]:
            ...

        async def fsetxattr(self, fd: Fd, dict: Dict | None, flags: int, xdata: Dict | None) -> FsetxattrReply | Wind[FsetxattrReply]:
            ...

        async def rchecksum(self, fd: Fd, offset: int, len: int, xdata: Dict | None) -> RchecksumReply | Wind[RchecksumReply]:
            ...

        async def setattr(self, loc: Loc, stbuf: Iatt, valid: int, xdata: Dict | None) -> SetattrReply | Wind[SetattrReply]:
            ...

        async def fsetattr(self, fd: Fd, stbuf: Iatt, valid: int, xdata: Dict | None) -> FsetattrReply | Wind[FsetattrReply]:
            ...

        async def readdirp(self, fd: Fd, size: int, offset: int, xdata: Dict | None) -> ReaddirpReply | Wind[ReaddirpReply]:
            ...

        async def getspec(self, key: str | None, flag: int) -> GetspecReply | Wind[GetspecReply]:
            ...

        async def fremovexattr(self, fd: Fd, name: str | None, xdata: Dict | None) -> FremovexattrReply | Wind[FremovexattrReply]:
            ...

        async def fallocate(self, fd: Fd, keep_size: int, offset: int, len: int, xdata: Dict | None) -> FallocateReply | Wind[FallocateReply]:
            ...

        async def discard(self, fd: Fd, offset: int, len: int, xdata: Dict | None) -> DiscardReply | Wind[DiscardReply]:
            ...

        async def zerofill(self, fd: Fd, offset: int, len: int, xdata: Dict | None) -> ZerofillReply | Wind[ZerofillReply]:
            ...

        async def ipc(self, op: int, xdata: Dict | None) -> IpcReply | Wind[IpcReply]:
            ...

        async def seek(self, fd: Fd, offset: int, what: int, xdata: Dict | None) -> SeekReply | Wind[SeekReply]:
            ...

        async def lease(self, loc: Loc, lease: Lease, xdata: Dict | None) -> LeaseReply | Wind[LeaseReply]:
            ...

        async def compound(self, args: Any, xdata: Dict | None) -> CompoundReply | Wind[CompoundReply]:
            ...

        async def getactivelk(self, loc: Loc, xdata: Dict | None) -> GetactivelkReply | Wind[GetactivelkReply]:
            ...

        async def setactivelk(self, loc: Loc, locklist: Any, xdata: Dict | None) -> SetactivelkReply | Wind[SetactivelkReply]:
            ...

        async def put(self, loc: Loc, mode: int, umask: int, flags: int, vector: Vector, offset: int, xattr: Dict | None, xdata: Dict | None) -> PutReply | Wind[PutReply]:
            ...

        async def icreate(self, loc: Loc, mode: int, xdata: Dict | None) -> IcreateReply | Wind[IcreateReply]:
            ...

        async def namelink(self, loc: Loc, xdata: Dict | None) -> NamelinkReply | Wind[NamelinkReply]:
            ...

        async def copy_file_range(self, fd_in: Fd, off_in: int, fd_out: Fd, off_out: int, len: int, flags: int, xdata: Dict | None) -> CopyFileRangeReply | Wind[CopyFileRangeReply]:
            ...
    # END GENERATED fop-methods
    _TranslatorBase = FopMethods
else:
    _TranslatorBase = object


class Translator(_TranslatorBase):
    """Base class of Python translators.

    Define ``async def <fop>(self, <args>)`` for the fops to handle (names and
    arguments as in GlusterFS, see docs/fops.md); every other fop passes
    through in C.  Inside, ``await self.child.<fop>(...)`` winds to the child
    and returns its reply or raises :class:`FopError`.  One method for several
    fops: ``@glupy.policy("writev", "truncate")`` over ``async def
    name(self, call: FopCall)`` (see :func:`policy`).

    Hooks a subclass may override (each documented below): ``init()``,
    ``fini()``, ``reconfigure(changed)``, ``notify(event, data)``,
    ``handled_fops()``, ``upcall(event)``, ``on_reload(old)``,
    ``migrate_ctx(old_ctx)``; class attributes ``reload_modules``,
    ``miss_cache`` and ``attr_cache``.

    Callbacks (cbks), optional plain ``def`` methods (they cannot wind):
    ``forget(inode)``, ``release(fd)``, ``releasedir(fd)``, ``invalidate(inode)``,
    ``client_destroy(client)``, ``client_disconnect(client)``,
    ``ictxmerge(fd, inode, linked_inode)``, ``fdclose(fd)``, ``fdclosedir(fd)``.
    ``forget``/``release``/``releasedir`` run for inodes/fds that carry this
    translator's ``ctx``; glupy drops the ctx right after.
    """

    #: set by the runtime
    name: str = ""
    children: ClassVar[list[Child]] = []
    log: logging.Logger = logging.getLogger("glupy")

    child = _OnlyChild()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _expand_policies(cls)
        _refusals(cls)  # two rules for one fop: an error at class creation
        _marks(cls)

    #: a glupy.MissCache to answer repeated missing-name lookups in C (set it in
    #: init(); see glupy/misscache.py).  Only consulted if lookup is handled.
    miss_cache: Any = None

    #: a glupy.AttrCache whose fresh iatts the bridge returns for lookup (of a linked
    #: inode), stat and fstat in C (see glupy/attrcache.py)
    attr_cache: Any = None

    #: the modules ``glupy reload`` covers, each with its submodules, e.g.
    #: ``("mypkg", "shared.util")``.  None (default): the translator's package,
    #: or for a top-level module the modules next to it (glupy/runtime/loader.py).
    reload_modules: ClassVar[tuple[str, ...] | None] = None

    @property
    def caller(self) -> Any:
        """Who issued the fop being handled (uid, gid, pid, groups, lk_owner):
        a :class:`glupy.types.Caller`.  Only inside a fop."""
        if _current_caller is None:
            raise RuntimeError("caller is only available inside GlusterFS")
        return _current_caller()

    def handled_fops(self) -> list[str]:
        """The fops of this instance that run in Python (default: every fop the
        class defines).  Called once after init(); override to decide from
        options, e.g. an audit translator that only watches some fops — the
        others then pass through in C at no Python cost."""
        return type(self).defined_fops()

    # lifecycle hooks ------------------------------------------------------
    def init(self) -> None:
        """Called once options are set, before any fop."""

    def fini(self) -> None:
        """Called when the graph is torn down (not on a FUSE unmount)."""

    def reconfigure(self, changed: dict[str, Any]) -> None:
        """Options changed at run time; attributes already hold the new values."""

    def notify(self, event: int, data: Any) -> int:
        """Graph events (glupy.Event).  Only called if a subclass overrides it;
        call ``self.default_notify(event, data)`` to forward as GlusterFS does."""
        return self.default_notify(event, data)

    def default_notify(self, event: int, data: Any) -> int:
        raise RuntimeError("default_notify is only available inside GlusterFS")

    def upcall(self, event: Any) -> None:
        """Another client changed something (GF_EVENT_UPCALL, needs
        ``features.cache-invalidation on``): ``event`` is a copied, typed view
        (glupy.upcall.CacheInvalidation, LeaseRecall, InodelkContention or
        EntrylkContention).  A plain def: it runs on the thread that delivered the
        upcall, with no fop to wind from.  Only called if a subclass overrides it;
        the event goes on up the graph afterwards (through notify()) either way."""

    def on_reload(self, old: Translator | None) -> None:
        """``glupy reload``: called on the NEW instance, after its ``init()`` and
        before it gets any fop, with the old instance (whose ``fini()`` runs
        next).  Instance state does not carry over by itself: copy what should
        survive (``self.misses = old.misses``).  Raising cancels the reload (the
        old code keeps running, every module goes back to the old one)."""

    def migrate_ctx(self, old_ctx: Any) -> Any:
        """``glupy reload``: called on the NEW instance for each inode/fd ``ctx``
        whose class was defined in a module the reload re-imported (an old-class
        object fails ``isinstance`` checks of the new code).  Return the object
        to store instead, or None to drop it (the default: such contexts are
        dropped and the log says how many).  Contexts of other types (dict,
        tuple, int, classes of modules not reloaded) are kept unchanged.  A fop
        still running on the old code may set an old-class ctx after the
        migration: treat a ctx that is not an instance of your class as absent.
        An exception here drops that ctx and is logged."""
        return None

    # introspection ----------------------------------------------------------
    @classmethod
    def defined_fops(cls) -> list[str]:
        return [f.name for f in FOPS if _defined(cls, f.name)]

    @classmethod
    def refusals(cls) -> dict[str, Refuse]:
        """fop name -> the glupy.Refuse rule the bridge applies to it in C."""
        return _refusals(cls)

    @classmethod
    def marks(cls) -> dict[str, Mark]:
        """attribute name -> the glupy.Mark the bridge keeps in C."""
        return _marks(cls)

    @classmethod
    def when_marked(cls) -> dict[str, WhenMarked]:
        """fop name -> the glupy.WhenMarked rule that sends it to Python."""
        return _when_marked(cls)

    @classmethod
    def defined_cbks(cls) -> list[str]:
        return [c for c in PY_CBKS if _defined(cls, c)]

    @classmethod
    def options(cls) -> dict[str, Option[Any]]:
        out: dict[str, Option[Any]] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                # inside GlusterFS options are wrapped (glupy.runtime.driver._fast_options)
                value = getattr(value, "__wrapped__", value)
                if isinstance(value, Option):
                    out[value.key or value.attr] = value
        return out

    @classmethod
    def problems(cls) -> list[str]:
        """What is wrong with this class as a translator (empty if nothing)."""
        out = []
        for name, value in vars(cls).items():
            if name.startswith("_") or not callable(value):
                continue
            if name in FOP_NAMES:
                if hasattr(value, "__glupy_policy_method__"):
                    continue  # made by policy(): checked there
                if not inspect.iscoroutinefunction(value):
                    out.append(f"fop {name}() must be 'async def'")
                    continue
                want = ["self", *[a.name for a in FOPS_BY_NAME[name].py_args]]
                got = list(inspect.signature(value).parameters)
                if len(got) != len(want) and not any(
                        p.kind == p.VAR_POSITIONAL for p in inspect.signature(value).parameters.values()):
                    out.append(f"fop {name}{tuple(got)} should take ({', '.join(want)})")
            elif name in PY_CBKS and inspect.iscoroutinefunction(value):
                out.append(f"cbk {name}() must be a plain def (it cannot wind)")
            elif name == "upcall" and inspect.iscoroutinefunction(value):
                out.append("upcall() must be a plain def (it runs in notify, with no fop to wind from)")
            elif (name.endswith("_cbk") or name in {"readdir_p", "write", "read", "getattr"}) \
                    and name not in Translator.__dict__:
                out.append(f"{name}() is not a GlusterFS fop (known fops: see glupy.fops.FOP_NAMES)")
        return out


# ``self.child`` is read in every fop: glupy._core's immutable non-data wrapper lets
# CPython specialize the read of the value the runtime sets on the instance
Translator.child = _core.nondata(vars(Translator)["child"])


def _defined(cls: type, name: str) -> bool:
    for klass in cls.__mro__:
        if klass is Translator:
            return False
        if name in vars(klass):
            return True
    return False
