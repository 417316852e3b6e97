"""PassThrough: defines every fop of the table and forwards it, counting calls.

The reference "Python translator that handles everything": used by the bridge
tests (every fop must reach Python and return the child's result) and by the
benchmarks (what a Python translator costs).  The methods are generated from
the fop table.

The counters can be read through the mount without any extra tool::

    getfattr -n glupy.counters --only-values MOUNT      # JSON {fop: calls}
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

from glupy import Dict, FopError, Option, Translator
from glupy.fops import FOPS, Fop
from glupy.replies import REPLY_CLASSES

COUNTERS_XATTR = "glupy.counters"


def _method(fop: Fop) -> Any:
    params = [a.name for a in fop.py_args]
    src = (f"async def {fop.name}(self, {', '.join(params)}):\n"
           f"    self._count({fop.name!r})\n"
           f"    return await self.child.{fop.name}({', '.join(params)})\n")
    ns: dict[str, Any] = {}
    exec(src, ns)  # generated from the fop table
    return ns[fop.name]


class PassThrough(Translator):
    """Forwards every fop to its only child; counts them per fop."""

    track_ctx = Option(bool, default=False,
                       doc="keep inode/fd context on looked-up inodes and open fds "
                           "(exercises forget/release)")

    def init(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    # cbks: only called for inodes/fds carrying this translator's context
    def forget(self, inode: Any) -> None:
        self._count("forget")

    def release(self, fd: Any) -> None:
        self._count("release")

    def releasedir(self, fd: Any) -> None:
        self._count("releasedir")


for _fop in FOPS:
    setattr(PassThrough, _fop.name, _method(_fop))


async def _lookup(self: PassThrough, loc: Any, xdata: Any) -> Any:
    self._count("lookup")
    reply = await self.child.lookup(loc, xdata)
    if self.track_ctx and reply.inode is not None and reply.inode.ctx is None:
        reply.inode.ctx = {"looked_up": True}
    return reply


async def _open_like(self: PassThrough, name: str, args: tuple[Any, ...]) -> Any:
    self._count(name)
    reply = await getattr(self.child, name)(*args)
    if self.track_ctx and reply.fd is not None:
        reply.fd.ctx = {"opened_by": name}
    return reply


async def _open(self: PassThrough, loc: Any, flags: Any, fd: Any, xdata: Any) -> Any:
    return await _open_like(self, "open", (loc, flags, fd, xdata))


async def _opendir(self: PassThrough, loc: Any, fd: Any, xdata: Any) -> Any:
    return await _open_like(self, "opendir", (loc, fd, xdata))


async def _create(self: PassThrough, loc: Any, flags: Any, mode: Any, umask: Any, fd: Any,
                  xdata: Any) -> Any:
    return await _open_like(self, "create", (loc, flags, mode, umask, fd, xdata))


async def _getxattr(self: PassThrough, loc: Any, name: Any, xdata: Any) -> Any:
    if name == COUNTERS_XATTR:
        with self._lock:
            value = json.dumps(dict(self.counts), sort_keys=True).encode()
        return REPLY_CLASSES["getxattr"](Dict.from_mapping({name: value}), None, op_ret=len(value))
    self._count("getxattr")
    return await self.child.getxattr(loc, name, xdata)


PassThrough.lookup = _lookup  # type: ignore[attr-defined]
PassThrough.open = _open  # type: ignore[attr-defined]
PassThrough.opendir = _opendir  # type: ignore[attr-defined]
PassThrough.create = _create  # type: ignore[attr-defined]
PassThrough.getxattr = _getxattr  # type: ignore[attr-defined]
__all__ = ["COUNTERS_XATTR", "FopError", "PassThrough"]
