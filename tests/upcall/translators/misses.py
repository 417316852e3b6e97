"""A bare MissCache user with no upcall() and no notify(): the bridge alone must keep
its table coherent (in C, as the upcall arrives)."""

from __future__ import annotations

import errno
import json
from typing import Any

from glupy import Dict, FopError, MissCache, Translator, replies


class Misses(Translator):
    def init(self) -> None:
        self.miss_cache = MissCache(1000, 600)

    async def lookup(self, loc: Any, xdata: Any) -> Any:
        try:
            return await self.child.lookup(loc, xdata)
        except FopError as e:
            if e.errno == errno.ENOENT and loc.name:
                self.miss_cache.add(loc.pargfid, loc.name)
            raise

    async def getxattr(self, loc: Any, name: str | None, xdata: Any) -> Any:
        if name == "glupy.misses":
            value = json.dumps(self.miss_cache.stats()).encode()
            return replies.GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))
        return await self.child.getxattr(loc, name, xdata)
