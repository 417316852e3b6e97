"""The least a Python translator that sees a fop does: hands it off to its child.

``lookup``, ``readv`` and ``writev`` enter Python and return the child's call without
awaiting it, so the child's reply goes to the parent in C; every other fop stays in C.
Against PassThrough with ``hand-off`` on (which also counts each fop and goes through
its policy method), this is the bridge's own floor per Python fop.
"""

from __future__ import annotations

from glupy import Dict, Fd, Loc, Translator, Vector, Wind
from glupy.replies import LookupReply, ReadvReply, WritevReply


class HandingOff(Translator):
    async def lookup(self, loc: Loc, xdata: Dict | None) -> Wind[LookupReply]:
        return self.child.lookup(loc, xdata)

    async def readv(self, fd: Fd, size: int, offset: int, flags: int,
                    xdata: Dict | None) -> Wind[ReadvReply]:
        return self.child.readv(fd, size, offset, flags, xdata)

    async def writev(self, fd: Fd, vector: Vector, offset: int, flags: int,
                     xdata: Dict | None) -> Wind[WritevReply]:
        return self.child.writev(fd, vector, offset, flags, xdata)
