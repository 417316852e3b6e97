"""A translator with a secret option; proves it got the value without showing it."""

import hashlib

from glupy import Dict, Option, Translator
from glupy.replies import GetxattrReply

DIGEST = "glupy.probe.token-sha256"


class SecretProbe(Translator):
    token = Option(str, default=None, secret=True, doc="an API token")
    pin = Option(int, default=None, secret=True, min=0, max=10**12 - 1, doc="a secret number")

    async def getxattr(self, loc, name, xdata):
        if name != DIGEST:
            return await self.child.getxattr(loc, name, xdata)
        data = hashlib.sha256(f"{self.token}/{self.pin}".encode()).hexdigest().encode()
        return GetxattrReply(Dict.from_mapping({name: data}), None, op_ret=len(data))
