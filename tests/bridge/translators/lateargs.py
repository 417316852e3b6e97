"""Reads every argument of its fops again after a wind and compares.

Each fop first records what its arguments say (loc path/name/GFIDs, the fd's flags and
inode, iatt fields, xdata and xattr dicts, the written bytes), then winds a side fop
(statfs) queued behind the other fops' side winds on a glupy.Lock, so that its
coroutine stays suspended a while.  The caller's call has returned by then:
io-threads and write-behind destroy their call stubs, md-cache and utime unref the
xdata they made, and other fops recycle that memory.  After the side wind it reads the
same argument views again, then winds the fop itself with the caller's arguments, as
crypt does.  A view that still points at memory the caller freed reads garbage,
crashes the process or hangs a translator below.  ``getfattr -n glupy.lateargs``
returns JSON ``{"checked": {fop: count}, "mismatches": [...]}``; a mismatch also fails
that fop with EIO.
"""

from __future__ import annotations

import errno
import json
import threading
from typing import Any

from glupy import Dict, Fd, FopError, Iatt, Inode, Loc, Lock, Translator, replies

_lock = threading.Lock()
_checked: dict[str, int] = {}
_mismatches: list[dict[str, str]] = []
KEY = "glupy.lateargs"


def _loc(loc: Loc) -> tuple[Any, ...]:
    return (loc.path, loc.name, loc.gfid, loc.pargfid,
            loc.inode.gfid if loc.inode is not None else None)


def _fd(fd: Fd) -> tuple[Any, ...]:
    return (fd.flags, fd.inode.gfid if fd.inode is not None else None)


def _iatt(iatt: Iatt) -> tuple[Any, ...]:
    return (iatt.mode, iatt.uid, iatt.gid, iatt.size, iatt.atime_ns, iatt.mtime_ns)


def _dict(d: Dict | None) -> Any:
    return None if d is None else sorted((k, repr(v)) for k, v in d.items())


class LateArgs(Translator):
    def init(self) -> None:
        self._gate = Lock()

    async def _check(self, fop: str, inode: Inode | None, read: Any) -> None:
        """``read()`` before and after a side wind must agree."""
        if inode is None or inode.gfid == bytes(16):
            return  # nothing to wind on
        before = read()
        where = Loc.for_inode(inode)
        await self._gate.acquire()  # parked behind other fops: the window for reuse is wide
        try:
            await self.child.statfs(where, None)
        finally:
            self._gate.release()
        after = read()
        with _lock:
            _checked[fop] = _checked.get(fop, 0) + 1
            if before != after:
                _mismatches.append({"fop": fop, "before": repr(before)[:300],
                                    "after": repr(after)[:300]})
        if before != after:
            self.log.error("lateargs: %s arguments changed across a wind: %r -> %r",
                           fop, before, after)
            raise FopError(errno.EIO)

    async def lookup(self, loc, xdata):
        await self._check("lookup", loc.parent or loc.inode, lambda: (_loc(loc), _dict(xdata)))
        return await self.child.lookup(loc, xdata)

    async def stat(self, loc, xdata):
        await self._check("stat", loc.inode, lambda: (_loc(loc), _dict(xdata)))
        return await self.child.stat(loc, xdata)

    async def setattr(self, loc, stbuf, valid, xdata):
        await self._check("setattr", loc.inode,
                          lambda: (_loc(loc), _iatt(stbuf), valid, _dict(xdata)))
        return await self.child.setattr(loc, stbuf, valid, xdata)

    async def fsetattr(self, fd, stbuf, valid, xdata):
        await self._check("fsetattr", fd.inode,
                          lambda: (_fd(fd), _iatt(stbuf), valid, _dict(xdata)))
        return await self.child.fsetattr(fd, stbuf, valid, xdata)

    async def create(self, loc, flags, mode, umask, fd, xdata):
        await self._check("create", loc.parent,
                          lambda: (_loc(loc), flags, mode, _fd(fd), _dict(xdata)))
        return await self.child.create(loc, flags, mode, umask, fd, xdata)

    async def open(self, loc, flags, fd, xdata):
        await self._check("open", loc.inode, lambda: (_loc(loc), flags, _fd(fd), _dict(xdata)))
        return await self.child.open(loc, flags, fd, xdata)

    async def writev(self, fd, vector, offset, flags, xdata):
        await self._check("writev", fd.inode,
                          lambda: (_fd(fd), bytes(vector), offset, _dict(xdata)))
        return await self.child.writev(fd, vector, offset, flags, xdata)

    async def readv(self, fd, size, offset, flags, xdata):
        await self._check("readv", fd.inode, lambda: (_fd(fd), size, offset, _dict(xdata)))
        return await self.child.readv(fd, size, offset, flags, xdata)

    async def setxattr(self, loc, dict, flags, xdata):
        await self._check("setxattr", loc.inode, lambda: (_loc(loc), _dict(dict), _dict(xdata)))
        return await self.child.setxattr(loc, dict, flags, xdata)

    async def unlink(self, loc, xflags, xdata):
        await self._check("unlink", loc.parent, lambda: (_loc(loc), _dict(xdata)))
        return await self.child.unlink(loc, xflags, xdata)

    async def getxattr(self, loc, name, xdata):
        if name != KEY:
            await self._check("getxattr", loc.inode, lambda: (_loc(loc), name, _dict(xdata)))
            return await self.child.getxattr(loc, name, xdata)
        with _lock:
            value = json.dumps({"checked": _checked, "mismatches": _mismatches[:20]}).encode()
        return replies.GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))
