"""A translator mixing glupy.Refuse rules with Python fops, for tests/bridge/test_refuse.py."""

from __future__ import annotations

import errno
import os

from glupy import Dict, FopError, Loc, Option, Refuse, Translator
from glupy.replies import LookupReply, OpenReply
from glupy.types import Fd


class Refusing(Translator):
    enforce: Option[bool] = Option(bool, default=True)

    no_unlink = Refuse(errno.EPERM, "unlink", "rmdir", when=enforce)
    no_write_open = Refuse(errno.EACCES, "open", if_bits=os.O_WRONLY | os.O_RDWR)

    async def lookup(self, loc: Loc, xdata: Dict | None) -> LookupReply:
        return await self.child.lookup(loc, xdata)

    async def open(self, loc: Loc, flags: int, fd: Fd, xdata: Dict | None) -> OpenReply:
        # reached only for opens the rule let through
        if flags & os.O_APPEND:
            raise FopError(errno.ENOTSUP)
        return await self.child.open(loc, flags, fd, xdata)
