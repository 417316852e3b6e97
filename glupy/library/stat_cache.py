"""stat_cache: caches the iatt (stat) of each inode and answers lookup/stat/fstat with it.

The Python counterpart of GlusterFS's ``performance/md-cache`` with
``performance.cache-invalidation on`` (iatt only, no xattrs).  Every lookup, stat and
fstat reply's iatt goes into a ``glupy.AttrCache``; the bridge answers the next
revalidating lookup (a linked inode, no xdata), stat or fstat of that inode in C,
before this class (and Python) runs, until:

* this client changes the inode (setattr, write, truncate, xattrs, link/unlink/rename,
  entries created or removed in a directory ...): the inode (and the parent
  directories an entry fop touches) is dropped before the fop is wound and again
  when it returns, and a lookup/stat in flight meanwhile does not store its reply
  (the table's epoch);
* another client changes it: with ``features.cache-invalidation on`` the bricks send
  an upcall; the bridge drops the inode and its parent(s) in C as it arrives and tells
  FUSE to drop the kernel's attributes and dentries of the inode, so the change shows
  on this client within milliseconds.  The bricks send it only to clients that used
  the inode within ``features.cache-invalidation-timeout`` seconds (default 60): set
  it at least as long as ``timeout``.  ``glupy attach`` warns otherwise;
* ``timeout`` seconds pass (the backstop, and the staleness bound when the volume has
  no cache invalidation: then keep it around a second, like md-cache's default).

Options: ``timeout`` (float seconds, default 60; 0 caches nothing), ``max-entries``
(int, default 65536, LRU; 0 caches nothing).

Where: client side, where md-cache sits (turn md-cache off: ``performance.stat-prefetch
off``, two caches of the same thing only cost memory)::

    glupy attach VOL glupy.library.stat_cache --side client --name sc \\
        --position above:performance/open-behind -o timeout=600

Stats: ``getfattr -n glupy.stat_cache.stats --only-values MOUNT`` (JSON: ``hits``
answered in C, ``stored``, ``dropped`` ..., ``python_lookups``/``python_stats``: the
ones that reached this class).
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from glupy import AttrCache, Dict, FopCall, Option, Reply, Translator, Wind, policy
from glupy.library import EventCounter
from glupy.replies import (
    FstatReply,
    GetxattrReply,
    LookupReply,
    OpenReply,
    StatReply,
)
from glupy.types import NULL_GFID, Fd, Iatt, Inode, Loc

STATS_XATTR = "glupy.stat_cache.stats"
R = TypeVar("R", bound=Reply)


def _gfid(inode: Inode | None) -> bytes | None:
    if inode is None:
        return None
    g = inode.gfid
    return None if g == NULL_GFID else g


def _loc_gfids(*locs: Loc | None) -> list[bytes]:
    """The inode and parent gfids of each loc (parents: entries change their iatt)."""
    out = []
    for loc in locs:
        if loc is None:
            continue
        for g in (loc.gfid, loc.pargfid):
            if g != NULL_GFID and g not in out:
                out.append(g)
    return out


class StatCache(Translator):
    """Caches lookup/stat/fstat iatts per inode, coherent through upcalls."""

    timeout: Option[float] = Option(float, default=60.0, min=0,
                                    doc="seconds a cached iatt is trusted (0: no caching)")
    max_entries: Option[int] = Option(int, default=65536, min=0,
                                      doc="most inodes cached (LRU; 0: no caching)")

    def init(self) -> None:
        self.attr_cache = AttrCache(self.max_entries, self.timeout)
        self._lookups = EventCounter()
        self._stats = EventCounter()
        self._lookups_xdata = EventCounter()  # lookups C could not answer: they ask for xattrs
        self._lookups_new = EventCounter()  # ... or the inode is not linked yet

    def reconfigure(self, changed: dict[str, Any]) -> None:
        self.attr_cache.configure(self.max_entries, self.timeout)

    def fini(self) -> None:
        self.attr_cache.clear()

    # ------------------------------------------------------------ filling
    def _cached(self, inode: Inode | None, for_lookup: bool = False) -> Iatt | None:
        """Outside GlusterFS (glupy.testing) the C entries do not run: answer here."""
        if self.attr_cache.answered_in_c:
            return None
        g = _gfid(inode)
        return self.attr_cache.get(g, for_lookup) if g is not None else None

    async def lookup(self, loc: Loc, xdata: Dict | None) -> LookupReply:
        next(self._lookups)
        if xdata is not None:
            next(self._lookups_xdata)
        if _gfid(loc.inode) is None:
            next(self._lookups_new)
        if xdata is None and (hit := self._cached(loc.inode, True)) is not None:
            return LookupReply(loc.inode, hit, None, None)
        epoch = self.attr_cache.epoch()
        reply = await self.child.lookup(loc, xdata)
        if reply.buf is not None:
            self.attr_cache.put(reply.buf, epoch, by_lookup=True)
        return reply

    async def stat(self, loc: Loc, xdata: Dict | None) -> StatReply:
        next(self._stats)
        if xdata is None and (hit := self._cached(loc.inode)) is not None:
            return StatReply(hit, None)
        epoch = self.attr_cache.epoch()
        reply = await self.child.stat(loc, xdata)
        if reply.buf is not None:
            self.attr_cache.put(reply.buf, epoch)
        return reply

    async def fstat(self, fd: Fd, xdata: Dict | None) -> FstatReply:
        next(self._stats)
        if xdata is None and (hit := self._cached(fd.inode)) is not None:
            return FstatReply(hit, None)
        epoch = self.attr_cache.epoch()
        reply = await self.child.fstat(fd, xdata)
        if reply.buf is not None:
            self.attr_cache.put(reply.buf, epoch)
        return reply

    # ------------------------------------------------------------ local changes
    async def _changing(self, gfids: Iterable[bytes], wind: Callable[[], Awaitable[R]]) -> R:
        """Wind a fop that changes ``gfids``: dropped before (no hit while it runs) and
        after (no reply that raced with it stays)."""
        gfids = list(gfids)
        cache = self.attr_cache
        for g in gfids:
            cache.drop(g)
        try:
            return await wind()
        finally:
            for g in gfids:
                cache.drop(g)

    def _fd(self, fd: Fd) -> list[bytes]:
        g = _gfid(fd.inode)
        return [g] if g is not None else []

    @policy("setattr", "fsetattr", "truncate", "ftruncate", "writev", "fallocate", "discard",
            "zerofill", "copy_file_range", "setxattr", "fsetxattr", "removexattr", "fremovexattr",
            "create", "mknod", "mkdir", "symlink", "unlink", "rmdir", "link", "rename")
    async def change(self, call: FopCall) -> Reply:
        """A fop that changes the iatts of its inode (and of the parents of the names it
        touches)."""
        return await self._changing(self._changed_gfids(call), call.wind)

    def _changed_gfids(self, call: FopCall) -> list[bytes]:
        name = call.name
        if name in ("link", "rename"):
            return _loc_gfids(call.arg("oldloc"), call.arg("newloc"))
        if name == "copy_file_range":
            return self._fd(call.arg("fd_out")) + self._fd(call.arg("fd_in"))
        loc = call.loc
        if loc is not None:
            return _loc_gfids(loc)
        fd = call.fd
        return self._fd(fd) if fd is not None else []

    async def open(self, loc: Loc, flags: int, fd: Fd, xdata: Dict | None) -> OpenReply | Wind[OpenReply]:
        # O_TRUNC changes size and times; any other open changes nothing cached
        if flags & os.O_TRUNC:
            return await self._changing(_loc_gfids(loc), lambda: self.child.open(loc, flags, fd, xdata))
        return self.child.open(loc, flags, fd, xdata)

    # ------------------------------------------------------------ stats
    async def getxattr(self, loc: Loc, name: str | None,
                       xdata: Dict | None) -> GetxattrReply | Wind[GetxattrReply]:
        if name == STATS_XATTR:
            stats = {**self.attr_cache.stats(), "python_lookups": self._lookups.value,
                     "python_stats": self._stats.value,
                     "python_lookups_with_xdata": self._lookups_xdata.value,
                     "python_lookups_unlinked": self._lookups_new.value}
            value = json.dumps(stats, sort_keys=True).encode()
            return GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))
        return self.child.getxattr(loc, name, xdata)
