"""Every shape of code around an ``await`` whose child fails, picked by the looked-up
name's prefix (tests/bridge/test_fail_paths.py).  A failing wind's FopError is
either raised through the coroutine's frame, or -- when no handler covers the
await -- the coroutine is finished without raising (task.c,
glupy_finish_unhandled).  Both must look the same from outside, and handlers must
still run."""

import errno
import json

from glupy import Dict, FopError, Lock, Translator, replies

STATS = "user.failpaths"


class FailPaths(Translator):
    def init(self) -> None:
        self.lock = Lock()
        self.counts = {"finally": 0, "caught": 0, "after": 0}

    async def _helper(self, loc, xdata):
        return await self.child.lookup(loc, xdata)

    async def lookup(self, loc, xdata):
        name = loc.name or ""
        if name.startswith("caught-"):
            try:
                return await self.child.lookup(loc, xdata)
            except FopError as e:
                self.counts["caught"] += 1
                raise FopError(errno.EACCES) from e
        if name.startswith("finally-"):
            try:
                return await self.child.lookup(loc, xdata)
            finally:
                self.counts["finally"] += 1
        if name.startswith("locked-"):
            async with self.lock:
                return await self.child.lookup(loc, xdata)
        if name.startswith("nested-"):
            return await self._helper(loc, xdata)
        if name.startswith("twice-"):
            # the first failure is handled, the second one is not
            try:
                await self.child.lookup(loc, xdata)
            except FopError:
                self.counts["after"] += 1
            return await self.child.lookup(loc, xdata)
        return await self.child.lookup(loc, xdata)

    async def getxattr(self, loc, name, xdata):
        if name == STATS:
            v = json.dumps(self.counts).encode()
            return replies.GetxattrReply(Dict.from_mapping({name: v}), None, op_ret=len(v))
        return await self.child.getxattr(loc, name, xdata)
