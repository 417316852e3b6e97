"""A translator that replaces single fields of its child's replies.

* readlink: ``path`` gets a suffix (a str field; ``buf`` and ``xdata`` stay the child's).
* lookup: the child's raw reply arguments checked as a sequence (check_raw).
* lookup and stat: ``buf`` (and ``xdata`` of lookup) set again to the child's own
  views: the set fields go back through the conversion, the others as sent.
* stat of a name starting "bad-": ``buf`` set to a str, which cannot be converted (the
  fop must fail with EIO and say so in the log).
"""

from __future__ import annotations

from glupy import Dict, Loc, Translator
from glupy.replies import LookupReply, ReadlinkReply, StatReply

SUFFIX = "-seen"


def check_raw(r: LookupReply) -> None:
    """The child's C arguments (inode, buf, xdata, postparent) as a sequence: what the
    field converters and the Python unwind path (``*raw``) rely on."""
    raw = r._raw
    assert raw is not None and len(raw) == 4
    items = list(raw)
    assert len(items) == 4
    assert repr(items[0]).startswith("<cdata") and "inode" in repr(items[0])
    assert repr(items[1]).startswith("<cdata 'struct iatt *'")
    assert raw[-4] == items[0] and raw[3] == items[3]
    try:
        raw[4]
    except IndexError:
        pass
    else:
        raise AssertionError("raw[4] did not raise IndexError")


class ReplyFields(Translator):
    async def readlink(self, loc: Loc, size: int, xdata: Dict | None) -> ReadlinkReply:
        r = await self.child.readlink(loc, size, xdata)
        r.path = (r.path or "") + SUFFIX
        r.op_ret = len(r.path.encode())
        return r

    async def lookup(self, loc: Loc, xdata: Dict | None) -> LookupReply:
        r = await self.child.lookup(loc, xdata)
        check_raw(r)
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
