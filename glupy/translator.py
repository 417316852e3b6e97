"""What translator authors import: Translator, Option, FopError, gather."""

from __future__ import annotations

import enum
import errno as _errno
import inspect
import logging
import os
from collections.abc import Awaitable, Generator, Iterable
from typing import Any, ClassVar, Generic, TypeVar

from glupy.fops import FOP_NAMES, FOPS, FOPS_BY_NAME, PY_CBKS, Fop
from glupy.replies import Reply

T = TypeVar("T")

# set by glupy.runtime inside GlusterFS
_current_caller: Any = None


class FopError(Exception):
    """Raise to fail a fop with ``errno``; raised by a wind whose child failed.

    ``reply`` carries the child's error reply (e.g. lookup's postparent and
    xdata) so that re-raising it unwinds exactly what the child said.
    """

    def __init__(self, errno: int, message: str | None = None, reply: Reply | None = None):
        self.errno = int(errno)
        self.reply = reply
        super().__init__(message or f"{_errno.errorcode.get(self.errno, self.errno)}: "
                                    f"{os.strerror(self.errno)}")


class Size(int):
    """An option type: a byte count written like ``64MB``, ``4KB``, ``1GB``."""


_UNITS = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40,
          "PB": 1 << 50, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    s = text.strip().upper().replace(" ", "")
    num = s.rstrip("KMGTPB")
    unit = s[len(num):]
    if unit not in _UNITS or not num:
        raise ValueError(f"not a size: {text!r}")
    return int(float(num) * _UNITS[unit])


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
    built and on reconfigure; the instance attribute holds the parsed value.
    """

    # GlusterFS option type for each Python type (options.h)
    GF_TYPES: ClassVar[dict[Any, str]] = {
        bool: "BOOL", int: "INT", float: "DOUBLE", str: "STR", Size: "SIZET", os.PathLike: "PATH"}

    def __init__(self, type: Any = str, default: Any = None, doc: str = "", *,
                 min: float | None = None, max: float | None = None,
                 choices: Iterable[str] | None = None, key: str | None = None) -> None:
        if isinstance(type, enum.EnumMeta):
            choices = [m.value if isinstance(m.value, str) else m.name for m in type]
        self.type = type
        self.doc = doc
        self.min = min
        self.max = max
        self.choices = list(choices) if choices is not None else None
        self.key = key
        self.name = key or ""
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name
        if self.key is None:
            self.key = name.replace("_", "-")

    @property
    def gf_type(self) -> str:
        if self.choices is not None:
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
        return str(self.default)

    def parse(self, text: str) -> Any:
        """Convert the volfile text into the Python value; ValueError names the option."""
        try:
            if self.choices is not None and text not in self.choices:
                raise ValueError(f"must be one of {', '.join(self.choices)}")
            t = self.type
            if t is bool:
                value: Any = parse_bool(text)
            elif t is Size:
                value = Size(parse_size(text))
            elif t is int:
                value = int(text, 0)
            elif t is float:
                value = float(text)
            elif isinstance(t, enum.EnumMeta):
                value = next(m for m in t if str(m.value) == text or m.name == text)
            elif t is str:
                value = text
            else:
                value = t(text)
            if isinstance(value, int | float) and not isinstance(value, bool):
                if self.min is not None and value < self.min:
                    raise ValueError(f"must be >= {self.min}")
                if self.max is not None and value > self.max:
                    raise ValueError(f"must be <= {self.max}")
        except (ValueError, TypeError, StopIteration) as e:
            raise ValueError(f"option {self.key!r}: invalid value {text!r}: {e}") from None
        return value

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        try:
            return obj.__dict__[self.attr]
        except KeyError:
            return self.parse(self.default_text) if self.default is not None else None

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.attr] = value


class Wind:
    """A pending call to a child translator; ``await`` it for the reply."""

    __slots__ = ("child", "fop", "args")

    def __init__(self, child: Child, fop: Fop, args: tuple[Any, ...]) -> None:
        self.child = child
        self.fop = fop
        self.args = args

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield self)

    def __repr__(self) -> str:
        return f"<wind {self.fop.name} to {self.child.name}>"


class Gather:
    """Several winds issued together; see :func:`gather`."""

    __slots__ = ("winds", "return_exceptions")

    def __init__(self, winds: tuple[Wind, ...], return_exceptions: bool) -> None:
        self.winds = winds
        self.return_exceptions = return_exceptions

    def __await__(self) -> Generator[Any, Any, list[Any]]:
        return (yield self)


def gather(*winds: Wind, return_exceptions: bool = False) -> Awaitable[list[Any]]:
    """Wind to several children at once; resumes when every reply is in.

    ``await gather(a.writev(...), b.writev(...))`` winds both before either
    reply is awaited and returns the replies in order.  A failed wind raises
    its FopError (after all replies are in) unless ``return_exceptions``.
    """
    for w in winds:
        if not isinstance(w, Wind):
            raise TypeError(f"gather() takes child fops (self.child.<fop>(...)), not {w!r}")
    return Gather(winds, return_exceptions)


class Child:
    """A subvolume as seen from a translator: one method per fop, each returning
    an awaitable :class:`Wind`.  Methods are generated from the fop table."""

    __slots__ = ("name", "xl", "type")

    def __init__(self, name: str, xl: Any = None, type: str = "") -> None:
        self.name = name
        self.xl = xl
        self.type = type

    def __repr__(self) -> str:
        return f"<child {self.name} ({self.type})>"


def _child_method(fop: Fop) -> Any:
    params = [a.name for a in fop.py_args]
    sig = ", ".join(p + ("=None" if p == "xdata" else "") for p in params)
    src = (f"def {fop.name}(self, {sig}):\n"
           f"    return Wind(self, fop, ({', '.join(params)}{',' if params else ''}))\n")
    ns: dict[str, Any] = {"Wind": Wind, "fop": fop}
    exec(src, ns)  # generated from the fop table: real signatures for help()/editors
    fn = ns[fop.name]
    fn.__doc__ = f"Wind ``{fop.name}`` to this child; await the {fop.reply_class}."
    return fn


for _fop in FOPS:
    setattr(Child, _fop.name, _child_method(_fop))


class Translator:
    """Base class of Python translators.

    Define ``async def <fop>(self, <args>)`` for the fops to handle (names and
    arguments as in GlusterFS, see docs/fops.md); every other fop passes
    through in C.  Inside, ``await self.child.<fop>(...)`` winds to the child
    and returns its reply or raises :class:`FopError`.
    """

    #: set by the runtime
    name: str = ""
    children: ClassVar[list[Child]] = []
    log: logging.Logger = logging.getLogger("glupy")

    @property
    def child(self) -> Child:
        """The only child (error if the translator has several)."""
        if len(self.children) != 1:
            raise RuntimeError(f"{self.name} has {len(self.children)} children: use self.children")
        return self.children[0]

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

    # introspection ----------------------------------------------------------
    @classmethod
    def defined_fops(cls) -> list[str]:
        return [f.name for f in FOPS if _defined(cls, f.name)]

    @classmethod
    def defined_cbks(cls) -> list[str]:
        return [c for c in PY_CBKS if _defined(cls, c)]

    @classmethod
    def options(cls) -> dict[str, Option[Any]]:
        out: dict[str, Option[Any]] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
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
            elif (name.endswith("_cbk") or name in {"readdir_p", "write", "read", "getattr"}) \
                    and name not in Translator.__dict__:
                out.append(f"{name}() is not a GlusterFS fop (known fops: see glupy.fops.FOP_NAMES)")
        return out


def _defined(cls: type, name: str) -> bool:
    for klass in cls.__mro__:
        if klass is Translator:
            return False
        if name in vars(klass):
            return True
    return False
