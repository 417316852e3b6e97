"""Records the integer arguments of the fops whose meaning docs/fops.md states
(``getfattr -n glupy.args PATH`` returns them as JSON, newest last;
``glupy.args.reset`` empties the record)."""

from __future__ import annotations

from typing import Any

from glupy.testing.recording import RecordingTranslator


class ArgRecord(RecordingTranslator):
    record_key = "glupy.args"

    def _note(self, fop: str, **values: Any) -> None:
        self.record({"fop": fop, **values})

    async def open(self, loc, flags, fd, xdata):
        self._note("open", flags=flags)
        return await self.child.open(loc, flags, fd, xdata)

    async def create(self, loc, flags, mode, umask, fd, xdata):
        self._note("create", flags=flags, mode=mode, umask=umask)
        return await self.child.create(loc, flags, mode, umask, fd, xdata)

    async def readv(self, fd, size, offset, flags, xdata):
        self._note("readv", flags=flags, fd_flags=fd.flags, offset=offset, size=size)
        return await self.child.readv(fd, size, offset, flags, xdata)

    async def writev(self, fd, vector, offset, flags, xdata):
        reply = await self.child.writev(fd, vector, offset, flags, xdata)
        self._note("writev", flags=flags, fd_flags=fd.flags, is_append=fd.is_append,
                   offset=offset, len=len(vector), pre_size=reply.prebuf.size,
                   post_size=reply.postbuf.size)
        return reply

    async def fallocate(self, fd, keep_size, offset, len, xdata):
        self._note("fallocate", keep_size=keep_size, offset=offset, len=len)
        return await self.child.fallocate(fd, keep_size, offset, len, xdata)

    async def discard(self, fd, offset, len, xdata):
        self._note("discard", offset=offset, len=len)
        return await self.child.discard(fd, offset, len, xdata)

    async def zerofill(self, fd, offset, len, xdata):
        self._note("zerofill", offset=offset, len=len)
        return await self.child.zerofill(fd, offset, len, xdata)

    async def setattr(self, loc, stbuf, valid, xdata):
        self._note("setattr", valid=valid, mode=stbuf.mode, uid=stbuf.uid)
        return await self.child.setattr(loc, stbuf, valid, xdata)

    async def fsetattr(self, fd, stbuf, valid, xdata):
        self._note("fsetattr", valid=valid, mode=stbuf.mode, uid=stbuf.uid)
        return await self.child.fsetattr(fd, stbuf, valid, xdata)

    async def setxattr(self, loc, dict, flags, xdata):
        self._note("setxattr", flags=flags, keys=sorted(dict or {}))
        return await self.child.setxattr(loc, dict, flags, xdata)

    async def fsetxattr(self, fd, dict, flags, xdata):
        self._note("fsetxattr", flags=flags, keys=sorted(dict or {}))
        return await self.child.fsetxattr(fd, dict, flags, xdata)

    async def lk(self, fd, cmd, flock, xdata):
        self._note("lk", cmd=cmd, type=flock.type, whence=flock.whence, start=flock.start, len=flock.len)
        return await self.child.lk(fd, cmd, flock, xdata)

    async def truncate(self, loc, offset, xdata):
        self._note("truncate", offset=offset)
        return await self.child.truncate(loc, offset, xdata)

    async def ftruncate(self, fd, offset, xdata):
        self._note("ftruncate", offset=offset)
        return await self.child.ftruncate(fd, offset, xdata)

    async def access(self, loc, mask, xdata):
        self._note("access", mask=mask)
        return await self.child.access(loc, mask, xdata)
