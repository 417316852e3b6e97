"""negative_lookup: remembers which names do not exist, and answers ENOENT for them.

Build systems, interpreters (``sys.path`` scans), shells (``$PATH`` scans) and
loaders stat many names that are not there.  Each miss is a full ``lookup``
down the graph -- a network round trip (or several, under DHT/AFR) on a real
volume.  This translator caches the ENOENT answers of named lookups per
(parent gfid, name) and answers repeated misses itself, without winding.
The misses live in a ``glupy.MissCache``, and the class defines no lookup:
the bridge answers a cached miss in C, as cheaply as the C nl-cache, and
learns new misses in C from the ENOENT replies of the lookups it winds on.
No lookup enters Python; only rmdir, readdirp and getxattr do.

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
  watched: when D's mtime/ctime (in a lookup of D, or as the parent of a name
  looked up in it) differ from those of the reply that cached the first miss
  under D, D's misses are dropped (``dir_changed``).  The kernel revalidates D at least every
  entry-timeout (1 s by default), so such names show within ~1-2 s.  (The C
  ``performance/nl-cache`` has only the upcall path.)
* With ``features.cache-invalidation off`` (or bricks without
  ``features/upcall``), only this client's own fops and the lookups of D
  invalidate: a name another client creates directly stays invisible here for
  up to ``timeout`` seconds.  ``glupy attach`` warns about that combination
  when ``timeout`` is longer than a few seconds.

Observability: ``getfattr -n glupy.negative_lookup.stats --only-values MOUNT``
returns JSON ``{"entries", "hits", "misses_cached", "invalidations", "raced",
"dir_changed", ...}`` (``hits`` counts the answers given in C); ``glupy status
--json`` gives the fops that entered Python (``python_calls``).

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

import json
from typing import Any

from glupy import Dict, MissCache, Option, Translator, Wind
from glupy.replies import GetxattrReply, ReaddirpReply, RmdirReply
from glupy.types import NULL_GFID, Fd, Loc

STATS_XATTR = "glupy.negative_lookup.stats"


class NegativeLookup(Translator):
    """Caches ENOENT replies of named lookups."""

    timeout: Option[float] = Option(float, default=60.0, min=0,
                                    doc="seconds a cached miss is trusted (0: no caching)")
    max_entries: Option[int] = Option(int, default=65536, min=0,
                                      doc="most misses remembered (LRU; 0: no caching)")

    def init(self) -> None:
        # The misses live in a glupy.MissCache.  This class defines no lookup: the
        # bridge answers cached misses, and learns new ones from the lookups it winds
        # on, in C (misscache.c) -- no lookup enters Python.
        self.miss_cache = MissCache(self.max_entries, self.timeout)

    def reconfigure(self, changed: dict[str, Any]) -> None:
        self.miss_cache.configure(self.max_entries, self.timeout)

    def fini(self) -> None:
        self.miss_cache.clear()

    def _drop_parent(self, parent: bytes) -> None:
        if parent != NULL_GFID:
            self.miss_cache.drop_parent(parent)

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
    async def getxattr(self, loc: Loc, name: str | None,
                       xdata: Dict | None) -> GetxattrReply | Wind[GetxattrReply]:
        if name == STATS_XATTR:
            cache = self.miss_cache.stats()
            cache["misses_cached"] = cache.pop("added")
            value = json.dumps(cache, sort_keys=True).encode()
            return GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))
        return self.child.getxattr(loc, name, xdata)
