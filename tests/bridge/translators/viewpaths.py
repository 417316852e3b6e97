"""Probes Inode.child and Loc.with_path from inside a real graph.

``getfattr -n glupy.child.NAME DIR``: the GFID (text) of DIR's entry NAME in the inode
table, or null.  ``getfattr -n glupy.with-path PATH``: what ``loc.with_path`` makes of
the getxattr's own (nameless) loc and of the named loc of the last lookup of an entry
called ``named``, for each of a few paths: ``[path, name, gfid, pargfid]`` or the
ValueError's text."""

from __future__ import annotations

import json
from typing import Any

from glupy import Dict, Translator, replies
from glupy.types import gfid_str

PATHS = ["/x/y", "/z", "/", "relative", "/a//b", "/a/..", "/a/b/", "/a/./b"]
_named: list[Any] = []


def _reply(name: str, value: Any) -> Any:
    data = json.dumps(value).encode()
    return replies.GetxattrReply(Dict.from_mapping({name: data}), None, op_ret=len(data))


def _made(loc: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in PATHS:
        try:
            new = loc.with_path(path)
        except ValueError as e:
            out[path] = str(e)
        else:
            out[path] = [new.path, new.name, gfid_str(new.gfid), gfid_str(new.pargfid)]
    return {"orig": [loc.path, loc.name, gfid_str(loc.gfid), gfid_str(loc.pargfid)],
            "made": out}


class ViewPaths(Translator):
    async def lookup(self, loc, xdata):
        if loc.name == "named":
            _named[:] = [_made(loc)]
        return await self.child.lookup(loc, xdata)

    async def getxattr(self, loc, name, xdata):
        if name and name.startswith("glupy.child."):
            child = loc.inode.child(name[len("glupy.child."):])
            return _reply(name, None if child is None else gfid_str(child.gfid))
        if name == "glupy.with-path":
            return _reply(name, {"nameless": _made(loc), "named": _named[0] if _named else None})
        return await self.child.getxattr(loc, name, xdata)
