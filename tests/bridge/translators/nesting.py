"""Many winds in a row whose replies come back synchronously (posix answers
stat in the caller's thread): tests/bridge/test_nesting.py.  A getxattr of
``user.nesting`` winds ``rounds`` stats one after the other and answers which
of the replies were detached (the trampoline's mark: a reply resumed in place
still points into the child's memory, ``_raw`` set)."""

from glupy import Dict, Option, Translator, replies


class Nesting(Translator):
    rounds = Option(int, default=100)

    async def getxattr(self, loc, name, xdata):
        if name != "user.nesting":
            return await self.child.getxattr(loc, name, xdata)
        detached = []
        for i in range(self.rounds):
            reply = await self.child.stat(loc, None)
            if reply._raw is None:
                detached.append(str(i))
        value = ",".join(detached).encode()
        return replies.GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))
