"""``getfattr -n glupy.path`` on a path or an open fd: ``fd.inode.path()`` /
``loc.inode.path()`` as JSON (null for None)."""

from __future__ import annotations

import json

from glupy import Dict, InitError, Option, Translator, replies


def _reply(name, value):
    data = json.dumps(value).encode()
    return replies.GetxattrReply(Dict.from_mapping({name: data}), None, op_ret=len(data))


class PathProbe(Translator):
    refuse = Option(bool, default=False, doc="fail init() (to see where the log line says it failed)")

    def init(self):
        if self.refuse:
            raise InitError("refused as asked")

    async def getxattr(self, loc, name, xdata):
        if name != "glupy.path":
            return await self.child.getxattr(loc, name, xdata)
        return _reply(name, loc.inode.path())

    async def fgetxattr(self, fd, name, xdata):
        if name != "glupy.path":
            return await self.child.fgetxattr(fd, name, xdata)
        return _reply(name, fd.inode.path())
