"""PassThrough: defines every fop of the table and forwards it, counting calls.

The reference "Python translator that handles everything": used by the bridge
tests (every fop must reach Python and return the child's result) and by the
benchmarks (what a Python translator costs).  Every fop it does not define
itself goes through one policy method (``glupy.policy`` over the fop table).

The counters can be read through the mount without any extra tool::

    getfattr -n glupy.counters --only-values MOUNT      # JSON {fop: calls}
"""

from __future__ import annotations

import json
from collections import Counter

from glupy import Dict, Fd, FopCall, FopError, Inode, Loc, Option, Translator, Wind, policy
from glupy.fops import FOP_NAMES, PY_CBKS
from glupy.library import EventCounter
from glupy.replies import CreateReply, GetxattrReply, LookupReply, OpendirReply, OpenReply, Reply

COUNTERS_XATTR = "glupy.counters"


class PassThrough(Translator):
    """Forwards every fop to its only child; counts them per fop."""

    track_ctx = Option(bool, default=False,
                       doc="keep inode/fd context on looked-up inodes and open fds "
                           "(exercises forget/release)")
    hand_off = Option(bool, default=False,
                      doc="return the child's call instead of awaiting it: the child's reply "
                          "goes to the parent in C, without Python (fops that read the "
                          "reply for track-ctx still await it)")

    def init(self) -> None:
        # one EventCounter (an itertools.count) per fop: next() is a single C call, atomic under
        # the GIL, so counting needs no lock (this runs in every fop)
        self._calls = {name: EventCounter() for name in (*FOP_NAMES, *PY_CBKS)}

    @property
    def counts(self) -> Counter[str]:
        """Calls per fop so far (fops never called are left out)."""
        out: Counter[str] = Counter()
        for name, c in list(self._calls.items()):
            n = c.value
            if n:
                out[name] = n
        return out

    @policy(*FOP_NAMES)
    async def forward(self, call: FopCall) -> Reply | Wind[Reply]:
        """Every fop not defined below: counted, then wound unchanged."""
        next(self._calls[call.name])
        if self.hand_off:
            return call.wind()
        return await call.wind()

    # cbks: only called for inodes/fds carrying this translator's context
    def forget(self, inode: Inode) -> None:
        next(self._calls["forget"])

    def release(self, fd: Fd) -> None:
        next(self._calls["release"])

    def releasedir(self, fd: Fd) -> None:
        next(self._calls["releasedir"])

    async def lookup(self, loc: Loc, xdata: Dict | None) -> LookupReply | Wind[LookupReply]:
        next(self._calls["lookup"])
        if self.hand_off and not self.track_ctx:
            return self.child.lookup(loc, xdata)
        reply = await self.child.lookup(loc, xdata)
        if self.track_ctx and reply.inode is not None and reply.inode.ctx is None:
            reply.inode.ctx = {"looked_up": True}
        return reply

    async def open(self, loc: Loc, flags: int, fd: Fd, xdata: Dict | None) -> OpenReply | Wind[OpenReply]:
        next(self._calls["open"])
        if self.hand_off and not self.track_ctx:
            return self.child.open(loc, flags, fd, xdata)
        reply = await self.child.open(loc, flags, fd, xdata)
        if self.track_ctx:
            self._keep_ctx(reply.fd, "open")
        return reply

    async def opendir(self, loc: Loc, fd: Fd, xdata: Dict | None) -> OpendirReply | Wind[OpendirReply]:
        next(self._calls["opendir"])
        if self.hand_off and not self.track_ctx:
            return self.child.opendir(loc, fd, xdata)
        reply = await self.child.opendir(loc, fd, xdata)
        if self.track_ctx:
            self._keep_ctx(reply.fd, "opendir")
        return reply

    async def create(self, loc: Loc, flags: int, mode: int, umask: int, fd: Fd,
                     xdata: Dict | None) -> CreateReply | Wind[CreateReply]:
        next(self._calls["create"])
        if self.hand_off and not self.track_ctx:
            return self.child.create(loc, flags, mode, umask, fd, xdata)
        reply = await self.child.create(loc, flags, mode, umask, fd, xdata)
        if self.track_ctx:
            self._keep_ctx(reply.fd, "create")
        return reply

    def _keep_ctx(self, fd: Fd | None, opened_by: str) -> None:
        # only with track_ctx: reading reply.fd makes its view, which a pass-through need not
        if fd is not None:
            fd.ctx = {"opened_by": opened_by}

    async def getxattr(self, loc: Loc, name: str | None,
                       xdata: Dict | None) -> GetxattrReply | Wind[GetxattrReply]:
        # "glupy.counters" is answered by the top-most PassThrough,
        # "glupy.counters.<xlator name>" by that instance (e.g. on a brick)
        if name == COUNTERS_XATTR or name == f"{COUNTERS_XATTR}.{self.name}":
            value = json.dumps(dict(self.counts), sort_keys=True).encode()
            return GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))
        next(self._calls["getxattr"])
        if self.hand_off:
            return self.child.getxattr(loc, name, xdata)
        return await self.child.getxattr(loc, name, xdata)


__all__ = ["COUNTERS_XATTR", "FopError", "PassThrough"]
