"""A Python pass-through that also computes for a while on every lookup and readv:
bench/gil.py's view of what the GIL does to a translator whose Python work is not
small.  The work is a plain loop (``loops`` additions, ~20 ns each on CPython 3.11):
CPU in the interpreter, holding the GIL, as a real decision or transformation would.
"""

from __future__ import annotations

from typing import Any

from glupy import Option, Translator


def _work(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i
    return total


class Busy(Translator):
    loops = Option(int, default=3000, min=0, doc="loop iterations of Python work per fop")

    async def lookup(self, loc: Any, xdata: Any) -> Any:
        _work(self.loops)
        return await self.child.lookup(loc, xdata)

    async def readv(self, fd: Any, size: int, offset: int, flags: int, xdata: Any) -> Any:
        _work(self.loops)
        return await self.child.readv(fd, size, offset, flags, xdata)
