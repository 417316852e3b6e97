"""A translator that replaces single fields of its child's replies.

* readlink: ``path`` gets a suffix (a str field; ``buf`` and ``xdata`` stay the child's).
* lookup and stat: ``buf`` (and ``xdata`` of lookup) set again to the child's own
  views: the set fields go back through the conversion, the others as sent.
* stat of a name starting "bad-": ``buf`` set to a str, which cannot be converted (the
  fop must fail with EIO and say so in the log).
"""

from __future__ import annotations

from glupy import Dict, Loc, Translator
from glupy.replies import LookupReply, ReadlinkReply, StatReply

SUFFIX = "-seen"


class ReplyFields(Translator):
    async def readlink(self, loc: Loc, size: int, xdata: Dict | None) -> ReadlinkReply:
        r = await self.child.readlink(loc, size, xdata)
        r.path = (r.path or "") + SUFFIX
        r.op_ret = len(r.path.encode())
        return r

    async def lookup(self, loc: Loc, xdata: Dict | None) -> LookupReply:
        r = await self.child.lookup(loc, xdata)
        r.buf = r.buf
        r.xdata = r.xdata
        return r

    async def stat(self, loc: Loc, xdata: Dict | None) -> StatReply:
        r = await self.child.stat(loc, xdata)
        if (loc.name or "").startswith("bad-") or (loc.path or "").rsplit("/", 1)[-1].startswith("bad-"):
            r.buf = "not an iatt"  # type: ignore[assignment]
        else:
            r.buf = r.buf
        return r
