"""A translator that hands fops off to its child (``return self.child.<fop>(...)``,
no ``await``) in each way the bridge treats differently (tests/bridge/test_hand_off.py).

By the file's name, lookup hands off:

* ``after-await-*``: from the callback of a first lookup it awaited (the arguments
  are held until the hand-off's STACK_WIND returns, with the GIL taken back);
* ``new-loc-*``: with a Loc Python built for the same path (a view that owns memory);
* ``wrong-fop-*``: a stat's call for a lookup (EIO, logged);
* ``bad-args-*``: a call whose arguments do not convert (EIO, traceback logged);
* anything else: with its own arguments (the fast path: nothing held).

writev hands off new data Python made (upper-cased bytes, copied into an iobuf),
getxattr its name (a str the converted ``const char *`` points into).
"""

from __future__ import annotations

from glupy import Dict, Fd, Loc, Translator, Vector, Wind
from glupy.replies import GetxattrReply, LookupReply, StatReply, WritevReply


class HandOff(Translator):
    async def lookup(self, loc: Loc, xdata: Dict | None) -> LookupReply | Wind[LookupReply]:
        name = loc.name or ""
        if name.startswith("after-await-"):
            await self.child.lookup(loc, xdata)
            return self.child.lookup(loc, xdata)
        if name.startswith("new-loc-"):
            return self.child.lookup(loc.with_path(loc.path or "/"), xdata)
        if name.startswith("wrong-fop-"):
            return self.child.stat(loc, xdata)  # type: ignore[return-value]
        if name.startswith("bad-args-"):
            return self.child.lookup(name, xdata)  # type: ignore[arg-type]
        return self.child.lookup(loc, xdata)

    async def stat(self, loc: Loc, xdata: Dict | None) -> StatReply | Wind[StatReply]:
        return self.child.stat(loc, xdata)

    async def writev(self, fd: Fd, vector: Vector, offset: int, flags: int,
                     xdata: Dict | None) -> WritevReply | Wind[WritevReply]:
        return self.child.writev(fd, bytes(vector).upper(), offset, flags, xdata)

    async def getxattr(self, loc: Loc, name: str | None,
                       xdata: Dict | None) -> GetxattrReply | Wind[GetxattrReply]:
        return self.child.getxattr(loc, name, xdata)  # a str: held until the wind returns
