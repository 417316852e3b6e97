"""Typing for glupy._core (glupy/_bridge/src/core.c): the hot types, defined once in C."""

from collections.abc import Generator
from typing import Any, Generic, TypeVar, final, overload

from glupy import replies
from glupy.fops import Fop

R = TypeVar("R")
T = TypeVar("T")

_UNSET: Any
CONVERTERS: dict[str, Any]

class FopError(Exception):
    """Raise to fail a fop with ``errno``; raised by a wind whose child failed."""

    errno: int
    reply: replies.Reply | None
    _message: str | None

    def __init__(self, errno: int, message: str | None = None,
                 reply: replies.Reply | None = None) -> None: ...

@final
class Wind(Generic[R]):
    """A pending call to a child translator; ``await`` it for the reply."""

    @property
    def child(self) -> Any: ...  # glupy.Child
    @property
    def fop(self) -> Fop: ...
    @property
    def args(self) -> tuple[Any, ...]: ...
    def __init__(self, child: Any, fop: Fop, args: tuple[Any, ...]) -> None: ...
    def __await__(self) -> Generator[Any, Any, R]: ...

@final
class Gather:
    """Several winds issued together; see glupy.gather()."""

    @property
    def winds(self) -> tuple[Wind[Any], ...]: ...
    @property
    def return_exceptions(self) -> bool: ...
    def __init__(self, winds: tuple[Wind[Any], ...], return_exceptions: bool = False) -> None: ...
    def __await__(self) -> Generator[Any, Any, list[Any]]: ...

def _make_wind(child: Any, fop: Fop, args: tuple[Any, ...]) -> Wind[Any]: ...

class Reply:
    """The storage of every reply (glupy.replies.Reply adds the rest)."""

    __slots__ = ("_dirty", "_inst", "_raw", "_vals", "op_errno", "op_ret")
    _raw: Any  # a child's reply: its C arguments (a sequence), or None
    _vals: list[Any] | None
    _inst: Any
    _dirty: bool | int
    op_ret: int
    op_errno: int

@final
class Field(Generic[T]):
    """A reply field: converted from the child's C arguments when first read."""

    @property
    def index(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def cidx(self) -> tuple[int, ...]: ...
    @property
    def bit(self) -> int: ...
    def __init__(self, index: int, name: str, kind: str, cidx: tuple[int, ...]) -> None: ...
    def __set_name__(self, owner: type, name: str) -> None: ...
    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Field[T]: ...
    @overload
    def __get__(self, obj: Reply, owner: type | None = None) -> T: ...
    def __set__(self, obj: Reply, value: T) -> None: ...

def _hand_over(obj: object) -> None: ...

class Vector:
    """The storage of every Vector (glupy.types.Vector adds the methods)."""

    __slots__ = ("_cap", "_count", "_data", "_iobref", "_iov", "_keep")
    _iov: Any  # struct iovec * (cdata), or None
    _count: int
    _iobref: Any  # struct iobref * (cdata), or None
    _keep: Any  # what keeps the memory alive
    _data: bytes | memoryview | None
    _cap: int | None

def child_method(owner: type, fop: Fop, func: Any, nargs: int, nrequired: int) -> Any: ...
def nondata(descriptor: Any) -> Any: ...
