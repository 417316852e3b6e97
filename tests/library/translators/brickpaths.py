"""Sits below crypt and records the path of every loc that reaches it on the way to
storage/posix: ``getfattr -n glupy.paths`` returns ``[[fop, path, ...], ...]`` as JSON,
oldest first; ``glupy.paths.reset`` empties the record."""

from __future__ import annotations

import json
import threading
from typing import Any

from glupy import Dict, Translator, replies

_seen: list[list[Any]] = []
_lock = threading.Lock()
KEYS = ("glupy.paths", "glupy.paths.reset")


def _note(fop: str, *locs: Any) -> None:
    with _lock:
        _seen.append([fop, *(loc.path for loc in locs)])


class BrickPaths(Translator):
    async def getxattr(self, loc, name, xdata):
        if name not in KEYS:
            _note("getxattr", loc)
            return await self.child.getxattr(loc, name, xdata)
        with _lock:
            if name == "glupy.paths.reset":
                _seen.clear()
            value = json.dumps(_seen).encode()
        return replies.GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))

    async def lookup(self, loc, xdata):
        _note("lookup", loc)
        return await self.child.lookup(loc, xdata)

    async def stat(self, loc, xdata):
        _note("stat", loc)
        return await self.child.stat(loc, xdata)

    async def opendir(self, loc, fd, xdata):
        _note("opendir", loc)
        return await self.child.opendir(loc, fd, xdata)

    async def create(self, loc, flags, mode, umask, fd, xdata):
        _note("create", loc)
        return await self.child.create(loc, flags, mode, umask, fd, xdata)

    async def mknod(self, loc, mode, rdev, umask, xdata):
        _note("mknod", loc)
        return await self.child.mknod(loc, mode, rdev, umask, xdata)

    async def mkdir(self, loc, mode, umask, xdata):
        _note("mkdir", loc)
        return await self.child.mkdir(loc, mode, umask, xdata)

    async def symlink(self, linkname, loc, umask, xdata):
        _note("symlink", loc)
        return await self.child.symlink(linkname, loc, umask, xdata)

    async def unlink(self, loc, xflags, xdata):
        _note("unlink", loc)
        return await self.child.unlink(loc, xflags, xdata)

    async def rmdir(self, loc, xflags, xdata):
        _note("rmdir", loc)
        return await self.child.rmdir(loc, xflags, xdata)

    async def link(self, oldloc, newloc, xdata):
        _note("link", oldloc, newloc)
        return await self.child.link(oldloc, newloc, xdata)

    async def rename(self, oldloc, newloc, xdata):
        _note("rename", oldloc, newloc)
        return await self.child.rename(oldloc, newloc, xdata)
