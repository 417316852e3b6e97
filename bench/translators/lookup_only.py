"""A Python translator that defines only ``lookup``: the fill-in-defaults fast path.

Every other fop passes straight through in C (the bridge leaves it NULL and GlusterFS's
fill_defaults() winds it to the child), so this measures what one Python-handled fop
costs on a graph where the rest of the traffic never enters Python.
"""

from __future__ import annotations

from typing import Any

from glupy import Translator


class LookupOnly(Translator):
    async def lookup(self, loc: Any, xdata: Any) -> Any:
        return await self.child.lookup(loc, xdata)
