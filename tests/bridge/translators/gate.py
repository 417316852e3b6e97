"""lk behind a glupy.Lock that a getxattr can hold across fops
(tests/bridge/test_detach_brick.py): the first lk after ``user.close-gate`` parks,
so its task outlives its entry, and ``user.open-gate`` lets it go on."""

from glupy import Dict, Lock, Translator, replies


class Gate(Translator):
    def init(self) -> None:
        self.gate = Lock()

    async def lk(self, fd, cmd, flock, xdata):
        async with self.gate:
            return await self.child.lk(fd, cmd, flock, xdata)

    async def getxattr(self, loc, name, xdata):
        if name == "user.close-gate":
            await self.gate.acquire()
        elif name == "user.open-gate":
            self.gate.release()
        elif name != "user.waiters":
            return await self.child.getxattr(loc, name, xdata)
        value = str(len(self.gate._waiters)).encode()
        return replies.GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))
