"""Fds whose last reference goes on a Python thread of the translator's own
(tests/bridge/test_thread_release.py).  ``open`` keeps the fd (a detached view owns
a reference) with a context on it; ``user.drop`` asks a threading.Thread to drop them,
so GlusterFS destroys the fds, and calls ``release``, on that thread; ``user.released``
answers the names of the threads ``release`` ran on so far."""

import gc
import json
import threading

from glupy import Dict, Translator, replies


class ThreadRelease(Translator):
    def init(self) -> None:
        self.kept = []
        self.released_on: list[str] = []
        self.after: list[int] = []

    async def open(self, loc, flags, fd, xdata):
        reply = await self.child.open(loc, flags, fd, xdata)
        fd.ctx = "kept"  # GlusterFS calls release for an fd carrying a context
        fd._detach()
        self.kept.append(fd)
        return reply

    def release(self, fd) -> None:
        self.released_on.append(threading.current_thread().name)

    def _drop(self, collect: bool) -> None:
        if collect:  # the fds go with a cycle, in a collection on this thread
            cycle: list = [list(self.kept)]
            cycle.append(cycle)
            self.kept.clear()
            del cycle
            gc.collect()
        else:
            self.kept.clear()
        # Python goes on running on this thread after GlusterFS called release here
        self.after.append(sum(len(str(i)) for i in range(1000)))

    async def getxattr(self, loc, name, xdata):
        if name in ("user.drop", "user.drop-in-gc"):
            t = threading.Thread(target=self._drop, args=(name == "user.drop-in-gc",),
                                 name="dropper")
            t.start()
            t.join(30)
            return self._answer(name, {"kept": len(self.kept), "after": self.after})
        if name == "user.released":
            return self._answer(name, self.released_on)
        return await self.child.getxattr(loc, name, xdata)

    @staticmethod
    def _answer(name, seen):
        value = json.dumps(seen).encode()
        return replies.GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))
