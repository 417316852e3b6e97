"""Sits below crypt and records each readv/writev that reaches storage/posix: whether
its fd is O_DIRECT, its offset and its size.  ``getfattr -n glupy.io`` returns
``[[fop, direct, offset, size], ...]`` as JSON, oldest first; ``glupy.io.reset``
empties the record."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from glupy import Dict, Translator, replies

_seen: list[list[Any]] = []
_lock = threading.Lock()
KEYS = ("glupy.io", "glupy.io.reset")


def _note(fop: str, fd: Any, offset: int, size: int) -> None:
    with _lock:
        _seen.append([fop, bool(fd.flags & os.O_DIRECT), offset, size])


class IoRecord(Translator):
    async def getxattr(self, loc, name, xdata):
        if name not in KEYS:
            return await self.child.getxattr(loc, name, xdata)
        with _lock:
            if name == "glupy.io.reset":
                _seen.clear()
            value = json.dumps(_seen).encode()
        return replies.GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))

    async def readv(self, fd, size, offset, flags, xdata):
        _note("readv", fd, offset, size)
        return await self.child.readv(fd, size, offset, flags, xdata)

    async def writev(self, fd, vector, offset, flags, xdata):
        _note("writev", fd, offset, len(vector))
        return await self.child.writev(fd, vector, offset, flags, xdata)
