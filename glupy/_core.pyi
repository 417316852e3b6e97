"""Typing for glupy._core (glupy/_bridge/src/core.c): the hot types, defined once in C."""

from glupy.replies import Reply

class FopError(Exception):
    """Raise to fail a fop with ``errno``; raised by a wind whose child failed."""

    errno: int
    reply: Reply | None
    _message: str | None

    def __init__(self, errno: int, message: str | None = None, reply: Reply | None = None) -> None: ...
