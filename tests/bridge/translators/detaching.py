"""The bridge detaches views in C (glupy/_bridge/src/detach.c): tests/bridge/test_detach.py.
A getxattr of ``user.detach`` answers, as JSON, what its views looked like before and
after the coroutine suspended, and what detaching and freeing a view did to the
inode's reference count."""

import json

from glupy import Dict, Loc, Translator, replies
from glupy.types import Inode


class Detaching(Translator):
    async def getxattr(self, loc, name, xdata):
        if name == "user.detach-late":
            return await self._late(loc, name)
        if name == "user.detach-sync":  # done inside the entry: the next one is lazy
            return replies.GetxattrReply(Dict.from_mapping({name: b"ok"}), None, op_ret=2)
        if name == "user.detach-keep":  # an argument view the translator keeps
            loc._detach()
            self._kept = loc
            return await self.child.getxattr(loc, "user.none", xdata)
        if name == "user.detach-kept":
            value = json.dumps([self._kept.path, self._kept._owns, loc.path]).encode()
            return replies.GetxattrReply(Dict.from_mapping({name: value}), None,
                                         op_ret=len(value))
        if name != "user.detach":
            return await self.child.getxattr(loc, name, xdata)
        seen = {"path": loc.path}
        p0 = loc._p
        seen["owns_before"] = loc._owns
        inode = loc.inode
        ref0 = int(inode._p.ref)
        # a view of the same loc that is not an argument: detached only when asked;
        # it holds a loc copy (a reference on the inode) until it is freed
        extra = Loc(loc._p, None)
        extra._detach()
        seen["extra"] = [extra._owns, extra._p != p0, extra.path, int(inode._p.ref) - ref0]
        del extra
        seen["ref_after_free"] = int(inode._p.ref) - ref0
        same = Inode(inode._p)
        same._detach()
        seen["inode"] = [same._owns, same._p == inode._p, int(inode._p.ref) - ref0]
        del same
        seen["inode_after_free"] = int(inode._p.ref) - ref0

        first = await self.child.stat(loc, None)
        buf = first.buf
        size = buf.size
        await self.child.stat(loc, None)  # the first reply is kept across a wind
        # detached when the coroutine suspended on a thread other than the entry's,
        # or the entry returned first: not when posix answered inside the entry
        seen["owns_after"] = loc._owns
        seen["copy"] = [loc._p != p0, loc.path, loc.gfid == inode.gfid]
        seen["reply"] = [buf._owns, buf.size == size, first._raw is None]
        value = json.dumps(seen).encode()
        return replies.GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))

    async def _late(self, loc, name):
        """The loc read again after a wind whose reply may come on another thread,
        once the entry returned and its caller (io-threads above) freed its loc."""
        before = (loc.path, loc.name, loc.gfid, loc.pargfid)
        await self.child.stat(loc, None)
        after = (loc.path, loc.name, loc.gfid, loc.pargfid)
        value = b"ok" if after == before else repr((before, after)).encode()
        return replies.GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))
