"""A module with exactly one Translator subclass, loaded without ``:Class``
(tests/bridge/test_errors.py: unknown option keys)."""

from glupy import Translator


class Single(Translator):
    async def stat(self, loc, xdata):
        return await self.child.stat(loc, xdata)
