"""Threads of the translator that read one argument view's ``_p`` at once
(tests/bridge/test_view_threads.py): the view's cdata is made on the first read, and
every thread must get that one object."""

import json
import threading

from glupy import Dict, Translator, replies

READERS = 4


class CdataRace(Translator):
    async def getxattr(self, loc, name, xdata):
        if name != "user.cdata-readers":
            return await self.child.getxattr(loc, name, xdata)
        start = threading.Barrier(READERS)
        seen: list[object] = []

        def read() -> None:
            start.wait()
            seen.append(loc._p)

        threads = [threading.Thread(target=read) for _ in range(READERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        value = json.dumps({"reads": len(seen), "objects": len({id(p) for p in seen})}).encode()
        return replies.GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))
