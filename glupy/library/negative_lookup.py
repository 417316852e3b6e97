"""negative_lookup: remembers which names do not exist, and answers ENOENT for them.

Build systems, interpreters (``sys.path`` scans), shells (``$PATH`` scans) and
loaders stat many names that are not there.  Each miss is a full ``lookup``
down the graph -- a network round trip (or several, under DHT/AFR) on a real
volume.  This translator caches the ENOENT answers of named lookups per
(parent gfid, name) and answers repeated misses itself, without winding.
The misses live in a ``glupy.MissCache``: the bridge answers a cached miss in
C, before this class's ``lookup`` (and Python) runs, as cheaply as the C
nl-cache; Python only sees first misses and the fops that invalidate.

Options:

* ``timeout`` (float seconds, default 60): how long a miss is trusted.  ``0``
  caches nothing.
* ``max-entries`` (int, default 65536): LRU bound on remembered misses.
  ``0`` caches nothing.

Consistency:

* Every fop that can make a name exist through *this* translator invalidates
  its (parent, name) entry: create, mkdir, mknod, symlink, link (newloc),
  rename (newloc), put, namelink.  The bridge does it in C for any translator
  with a MissCache (misscache.c), so these fops never enter Python here: it
  forgets the name before winding, and every name under the parent once the
  reply comes back (the reply names the parent, not the name).  Every
  invalidation also bumps a counter of the parent's names (striped over a
  fixed array, so memory stays bounded); a lookup caches its ENOENT only if
  that counter did not move while it was in flight
  (``MissCache.add_unless_changed``).  So a lookup racing with a create can
  never leave a stale miss behind.
* rmdir of a directory drops every entry keyed by that directory's gfid
  (gfids are not reused, so this only frees memory).  Entries are keyed by
  gfid, not path, so renaming a directory keeps its entries valid.
* readdirp listing a name that is cached as missing drops that entry (the
  name was created behind our back; the listing proves it exists).
* Nameless (gfid) lookups and the root are never cached.
* Other clients (coherence).  With ``features.cache-invalidation on`` on the
  volume, the bricks send this client an upcall when another client changes an
  inode this client used within ``features.cache-invalidation-timeout``
  seconds (GlusterFS default 60, set it >= ``timeout``).  The bridge drops
  every miss cached under the gfids a cache invalidation names (the inode, its
  parent, its old parent) in C as the upcall arrives, which also keeps a lookup
  in flight under them from caching a stale miss; no Python runs for it.  A
  create, mkdir, mknod or symlink in directory D invalidates D itself: it is
  seen here within milliseconds, whatever ``timeout`` is.
  GlusterFS sends no upcall to this client for a rename or hard link *into* D
  when this client never used the source inode (the brick tells the clients of
  the moved/linked inode, not those of D); for those, lookups of D itself are
  watched: when D's mtime/ctime differ from those seen when misses under D were
  cached, they are dropped.  The kernel revalidates D at least every
  entry-timeout (1 s by default), so such names show within ~1-2 s.  (The C
  ``performance/nl-cache`` has only the upcall path.)
* With ``features.cache-invalidation off`` (or bricks without
  ``features/upcall``), only this client's own fops and the lookups of D
  invalidate: a name another client creates directly stays invisible here for
  up to ``timeout`` seconds.  ``glupy attach`` warns about that combination
  when ``timeout`` is longer than a few seconds.

Observability: ``getfattr -n glupy.negative_lookup.stats --only-values MOUNT``
returns JSON ``{"entries", "hits", "misses_cached", "invalidations", "raced",
"python_lookups", ...}`` (``hits`` counts the answers given in C;
``python_lookups`` the lookups that reached this class).

Where it belongs: on the client side, above everything that makes a lookup
expensive (protocol/client, cluster/distribute, cluster/replicate), below FUSE
/ md-cache.  Over a local storage/posix it saves nothing (a local miss costs
~1 us); the savings show only when the child is remote::

    volume nlc
        type features/glupy
        option module glupy.library.negative_lookup
        option timeout 30
        subvolumes dht
    end-volume
"""

from __future__ import annotations

import errno
import json
import threading
from collections import OrderedDict
from typing import Any

from glupy import Dict, FopError, MissCache, Option, Translator
from glupy.library import EventCounter
from glupy.replies import (
    GetxattrReply,
    LookupReply,
    ReaddirpReply,
    RmdirReply,
)
from glupy.types import NULL_GFID, Fd, Iatt, Loc

STATS_XATTR = "glupy.negative_lookup.stats"


class NegativeLookup(Translator):
    """Caches ENOENT replies of named lookups."""

    timeout: Option[float] = Option(float, default=60.0, min=0,
                                    doc="seconds a cached miss is trusted (0: no caching)")
    max_entries: Option[int] = Option(int, default=65536, min=0,
                                      doc="most misses remembered (LRU; 0: no caching)")

    def init(self) -> None:
        # The misses live in a glupy.MissCache: the bridge answers a cached
        # miss in C before this lookup() runs, so a hit costs no Python.
        self.miss_cache = MissCache(self.max_entries, self.timeout)
        self._lock = threading.Lock()  # guards _dir_times (the table has its own lock)
        self.stats = {"dir_changed": 0}
        # directory gfid -> (mtime_ns, ctime_ns) last seen in a lookup of it (LRU, bounded)
        self._dir_times: OrderedDict[bytes, tuple[int, int]] = OrderedDict()
        self._wound = EventCounter()  # lookups wound to the child (counted without the lock)
        self._in_python = EventCounter()  # lookups that reached this method (not the C hits)

    def reconfigure(self, changed: dict[str, Any]) -> None:
        self.miss_cache.configure(self.max_entries, self.timeout)

    def fini(self) -> None:
        self.miss_cache.clear()

    # ------------------------------------------------------------ cache core
    def _drop_parent(self, parent: bytes) -> None:
        if parent != NULL_GFID:
            self.miss_cache.drop_parent(parent)

    def _saw_directory(self, buf: Iatt) -> None:
        """A lookup returned directory ``buf``: if its times moved since the last one,
        names may have appeared in it that no upcall announced (rename/link into it
        by a client whose source inode we never used): drop its misses."""
        gfid = buf.gfid
        times = (buf.mtime_ns, buf.ctime_ns)
        with self._lock:
            old = self._dir_times.get(gfid)
            if old == times:
                self._dir_times.move_to_end(gfid)
                return
            self._dir_times[gfid] = times
            self._dir_times.move_to_end(gfid)
            evicted = None
            if len(self._dir_times) > max(self.max_entries, 1):
                evicted, _ = self._dir_times.popitem(last=False)
        if old is not None:
            self.stats["dir_changed"] += 1
            self._drop_parent(gfid)
        if evicted is not None:
            self._drop_parent(evicted)  # no baseline any more: trust nothing under it

    # ------------------------------------------------------------ lookup
    async def lookup(self, loc: Loc, xdata: Dict | None) -> LookupReply:
        next(self._in_python)
        name = loc.name
        parent = loc.pargfid
        if not name or parent == NULL_GFID or self.timeout <= 0 or self.max_entries <= 0:
            reply = await self.child.lookup(loc, xdata)
            buf = reply.buf
            if buf is not None and buf.is_dir() and self.timeout > 0:
                self._saw_directory(buf)  # nameless (gfid) revalidations of directories
            return reply
        misses = self.miss_cache
        # Inside GlusterFS the C entry answered the cached misses before this
        # method; the check here serves glupy.testing (no C entry there).
        if not misses.answered_in_c and misses.hit(parent, name):
            raise FopError(errno.ENOENT)
        generation = misses.generation(parent)
        next(self._wound)
        try:
            reply = await self.child.lookup(loc, xdata)
        except FopError as e:
            if e.errno == errno.ENOENT:
                misses.add_unless_changed(parent, name, generation)
            raise
        buf = reply.buf
        if buf is not None and buf.is_dir():
            self._saw_directory(buf)
        return reply

    # ------------------------------------------------------------ invalidation
    async def rmdir(self, loc: Loc, xflags: int, xdata: Dict | None) -> RmdirReply:
        gfid = loc.gfid
        try:
            return await self.child.rmdir(loc, xflags, xdata)
        finally:
            self._drop_parent(gfid)

    async def readdirp(self, fd: Fd, size: int, offset: int, xdata: Dict | None) -> ReaddirpReply:
        inode = fd.inode
        parent = inode.gfid if inode is not None else NULL_GFID
        reply = await self.child.readdirp(fd, size, offset, xdata)
        misses = self.miss_cache
        if parent != NULL_GFID and misses.count_under(parent):
            for entry in reply.entries or ():
                if entry.name not in (".", ".."):
                    misses.discard(parent, entry.name)
        return reply

    # ------------------------------------------------------------ stats
    async def getxattr(self, loc: Loc, name: str | None, xdata: Dict | None) -> GetxattrReply:
        if name == STATS_XATTR:
            cache = self.miss_cache.stats()
            with self._lock:
                stats = {**self.stats, "misses_cached": cache.pop("added"),
                         "python_lookups": self._in_python.value,
                         "lookups_wound": self._wound.value}
            value = json.dumps({**cache, **stats}, sort_keys=True).encode()
            return GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))
        return await self.child.getxattr(loc, name, xdata)
