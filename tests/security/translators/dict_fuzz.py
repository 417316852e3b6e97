"""Builds a glupy.Dict from a mapping of odd Python values sent by the test (setxattr
of ``glupy.fuzz.xdata``, JSON with typed values), reads it back and winds it to the
child as a stat's xdata.  EINVAL: the Dict refused a value (TypeError/ValueError ...);
EBADMSG: it stored something other than it was given."""

import errno
import json
import math

from glupy import Dict, FopError, Translator
from glupy.replies import SetxattrReply

MAGIC = "glupy.fuzz.xdata"
REFUSED = (TypeError, ValueError, OverflowError, UnicodeError)


def _decode(tag, payload):
    return {"int": int, "float": float, "str": str, "bytes": bytes.fromhex,
            "bool": bool, "none": lambda p: None, "list": list}[tag](payload)


def _same(got, want):
    if isinstance(want, float):  # GlusterFS keeps doubles as "%f" text
        want = float(f"{want:f}")
        return isinstance(got, float) and (got == want or (math.isnan(got) and math.isnan(want)))
    if isinstance(want, bool):
        return got == int(want)
    return type(got) is type(want) and got == want


class DictFuzz(Translator):
    async def setxattr(self, loc, dict, flags, xdata):
        if dict is None or MAGIC not in list(dict):
            return await self.child.setxattr(loc, dict, flags, xdata)
        raw = dict[MAGIC]
        items = [(k, _decode(tag, p)) for k, tag, p in json.loads(
            raw if isinstance(raw, str) else raw.decode("utf-8", "surrogatepass"))]
        try:
            odd = Dict.from_mapping(dict_ := {k: v for k, v in items})
        except REFUSED as e:
            self.log.info("dict fuzz: refused: %s: %s", type(e).__name__, e)
            raise FopError(errno.EINVAL) from None
        for k, v in dict_.items():
            if not _same(odd[k], v):
                self.log.error("dict fuzz: %r stored %r, read back %r", k, v, odd[k])
                raise FopError(errno.EBADMSG)
        if sorted(odd) != sorted(dict_):
            self.log.error("dict fuzz: keys %r, read back %r", sorted(dict_), sorted(odd))
            raise FopError(errno.EBADMSG)
        await self.child.stat(loc, odd)  # the odd Dict as xdata through the child
        return SetxattrReply(None)
