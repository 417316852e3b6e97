"""Sits below crypt and records the path of every loc that reaches it on the way to
storage/posix: ``getfattr -n glupy.paths`` returns ``[[fop, path, ...], ...]`` as JSON,
oldest first; ``glupy.paths.reset`` empties the record."""

from __future__ import annotations

from typing import Any

from glupy.testing.recording import RecordingTranslator


class BrickPaths(RecordingTranslator):
    record_key = "glupy.paths"

    def _note(self, fop: str, *locs: Any) -> None:
        self.record([fop, *(loc.path for loc in locs)])

    async def getxattr(self, loc, name, xdata):
        reply = self.records_reply(name)
        if reply is not None:
            return reply
        self._note("getxattr", loc)
        return await self.child.getxattr(loc, name, xdata)

    async def lookup(self, loc, xdata):
        self._note("lookup", loc)
        return await self.child.lookup(loc, xdata)

    async def stat(self, loc, xdata):
        self._note("stat", loc)
        return await self.child.stat(loc, xdata)

    async def opendir(self, loc, fd, xdata):
        self._note("opendir", loc)
        return await self.child.opendir(loc, fd, xdata)

    async def create(self, loc, flags, mode, umask, fd, xdata):
        self._note("create", loc)
        return await self.child.create(loc, flags, mode, umask, fd, xdata)

    async def mknod(self, loc, mode, rdev, umask, xdata):
        self._note("mknod", loc)
        return await self.child.mknod(loc, mode, rdev, umask, xdata)

    async def mkdir(self, loc, mode, umask, xdata):
        self._note("mkdir", loc)
        return await self.child.mkdir(loc, mode, umask, xdata)

    async def symlink(self, linkname, loc, umask, xdata):
        self._note("symlink", loc)
        return await self.child.symlink(linkname, loc, umask, xdata)

    async def unlink(self, loc, xflags, xdata):
        self._note("unlink", loc)
        return await self.child.unlink(loc, xflags, xdata)

    async def rmdir(self, loc, xflags, xdata):
        self._note("rmdir", loc)
        return await self.child.rmdir(loc, xflags, xdata)

    async def link(self, oldloc, newloc, xdata):
        self._note("link", oldloc, newloc)
        return await self.child.link(oldloc, newloc, xdata)

    async def rename(self, oldloc, newloc, xdata):
        self._note("rename", oldloc, newloc)
        return await self.child.rename(oldloc, newloc, xdata)
