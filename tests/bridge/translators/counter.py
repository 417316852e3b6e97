"""Read-modify-write of an xattr counter across two winds, serialised with a
glupy.Lock (tests/bridge/test_lock.py).  ``locked off`` drops the lock to show
the race it prevents."""

from glupy import Dict, FopError, Lock, Option, Translator, replies

COUNTER = "user.counter"


class Counter(Translator):
    locked = Option(bool, default=True)

    def init(self) -> None:
        self.lock = Lock()
        self.max_waiters = 0

    async def _incr(self, loc, name):
        # (the kernel serialises setxattr per inode, getxattr it does not)
        if self.locked:
            async with self.lock:
                self.max_waiters = max(self.max_waiters, len(self.lock._waiters))
                await self._increment(loc)
        else:
            await self._increment(loc)
        return replies.GetxattrReply(Dict.from_mapping({name: b"ok"}), None, op_ret=2)

    async def _increment(self, loc):
        try:
            value = int((await self.child.getxattr(loc, COUNTER, None)).dict[COUNTER])
        except FopError:
            value = 0
        await self.child.setxattr(loc, Dict.from_mapping({COUNTER: str(value + 1).encode()}), 0, None)

    async def getxattr(self, loc, name, xdata):
        if name == "user.incr":
            return await self._incr(loc, name)
        if name == "user.max-waiters":
            v = str(self.max_waiters).encode()
            return replies.GetxattrReply(Dict.from_mapping({name: v}), None, op_ret=len(v))
        return await self.child.getxattr(loc, name, xdata)
