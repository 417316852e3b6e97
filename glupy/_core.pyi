"""Typing for glupy._core (glupy/_bridge/src/core.c): the hot types, defined once in C."""

from collections.abc import Generator
from typing import Any, Generic, TypeVar, final

from glupy.fops import Fop
from glupy.replies import Reply

R = TypeVar("R")

class FopError(Exception):
    """Raise to fail a fop with ``errno``; raised by a wind whose child failed."""

    errno: int
    reply: Reply | None
    _message: str | None

    def __init__(self, errno: int, message: str | None = None, reply: Reply | None = None) -> None: ...

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
