"""MissCache: names known not to exist, answered by the bridge in C.

A translator that remembers ENOENT answers would otherwise enter Python for
every repeated miss only to raise ``FopError(ENOENT)`` (~12 µs per lookup
through FUSE).  Put the misses in a :class:`MissCache` and set it as the
translator's ``miss_cache`` attribute (in ``init()``): the bridge's lookup
entry then answers a fresh cached (parent gfid, name) with ENOENT in C,
without the GIL, and Python sees only the lookups the table cannot answer.
Python stays in charge of what goes in and out (``add``, ``discard``,
``drop_parent``); the table (misscache.c) handles expiry and the LRU bound.

The translator must handle ``lookup`` (the table is consulted by the Python
lookup's C entry).  Outside GlusterFS (glupy.testing) the same class works
on a Python dict, so a translator's own ``lookup`` should also ask
:meth:`hit` first: inside GlusterFS that only catches the rare race where an
entry was added after the C check.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from glupy import types as _t

STAT_NAMES = ("entries", "parents", "hits", "added", "expired", "evicted", "dropped",
              "invalidations", "raced")


def _name(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


class MissCache:
    """(parent gfid, name) pairs known to be missing, for ``timeout`` seconds,
    at most ``max_entries`` of them (least recently used dropped first).
    ``max_entries=0`` or ``timeout=0`` caches nothing.  Thread-safe inside
    GlusterFS (one mutex in C); the fallback is for single-threaded tests."""

    #: True inside GlusterFS: a translator's lookup never sees a fresh cached miss
    #: (the bridge answered it), so it need not call hit() itself
    answered_in_c = True

    def __new__(cls, max_entries: int = 65536, timeout: float = 60.0) -> MissCache:
        if cls is MissCache and _t._lib is None:  # outside GlusterFS: the dict version
            cls = _DictMissCache
        return super().__new__(cls)

    def __init__(self, max_entries: int = 65536, timeout: float = 60.0) -> None:
        if max_entries < 0 or timeout < 0:
            raise ValueError("max_entries and timeout must be >= 0")
        ffi, lib = _t._ffi, _t._lib
        p = lib.glupy_mc_new(max_entries, timeout)
        if p == ffi.NULL:
            raise MemoryError("glupy_mc_new")
        self._p = ffi.gc(p, lib.glupy_mc_unref)
        self._lib = lib

    def add(self, parent: bytes, name: str) -> bool:
        """Remember ``name`` under directory ``parent`` as missing (refreshes its
        expiry).  False if nothing is cached (limits of 0, a name too long)."""
        n = _name(name)
        return bool(self._lib.glupy_mc_add(self._p, parent, n, len(n)))

    def generation(self, parent: bytes) -> int:
        """The invalidation counter of ``parent``'s names: read it before winding a
        lookup, and cache its ENOENT with :meth:`add_unless_changed`."""
        return int(self._lib.glupy_mc_generation(self._p, parent))

    def add_unless_changed(self, parent: bytes, name: str, generation: int) -> bool:
        """:meth:`add`, unless a name under ``parent`` was invalidated since
        ``generation`` was read (a create, a discard, an upcall, in C or here): the
        lookup raced with it and its ENOENT may be stale.  False then, counted as
        ``raced``."""
        n = _name(name)
        return bool(self._lib.glupy_mc_add_unless_changed(self._p, parent, n, len(n), generation) > 0)

    def hit(self, parent: bytes, name: str) -> bool:
        """Whether ``name`` is cached as missing and fresh (counted as a hit)."""
        n = _name(name)
        return bool(self._lib.glupy_mc_hit(self._p, parent, n, len(n)))

    def discard(self, parent: bytes, name: str) -> bool:
        """Forget one name (it may exist now).  True if it was cached."""
        n = _name(name)
        return bool(self._lib.glupy_mc_discard(self._p, parent, n, len(n)))

    def drop_parent(self, parent: bytes) -> int:
        """Forget every name under directory ``parent``; returns how many."""
        return int(self._lib.glupy_mc_parent_names(self._p, parent, 1))

    def count_under(self, parent: bytes) -> int:
        """How many names under directory ``parent`` are cached."""
        return int(self._lib.glupy_mc_parent_names(self._p, parent, 0))

    def configure(self, max_entries: int, timeout: float) -> None:
        """New limits (trims at once; ``timeout=0`` empties the table)."""
        self._lib.glupy_mc_configure(self._p, max_entries, timeout)

    def clear(self) -> None:
        self._lib.glupy_mc_clear(self._p)

    def stats(self) -> dict[str, int]:
        """``entries``, ``parents``, ``hits`` (answered, in C or by :meth:`hit`),
        ``added``, ``expired``, ``evicted`` (LRU), ``dropped`` (discard/drop_parent),
        ``invalidations`` (discards and drops, of cached names or not: the bridge
        makes them for every fop that creates a name), ``raced``
        (:meth:`add_unless_changed` refused)."""
        out = _t._ffi.new("uint64_t[]", len(STAT_NAMES))
        self._lib.glupy_mc_stats(self._p, out)
        return dict(zip(STAT_NAMES, (int(v) for v in out), strict=True))

    def __len__(self) -> int:
        return self.stats()["entries"]

    def __repr__(self) -> str:
        return f"MissCache({self.stats()})"


class _DictMissCache(MissCache):
    """misscache.c's semantics on a dict (for glupy.testing, outside GlusterFS)."""

    answered_in_c = False

    def __init__(self, max_entries: int = 65536, timeout: float = 60.0) -> None:
        if max_entries < 0 or timeout < 0:
            raise ValueError("max_entries and timeout must be >= 0")
        self.max_entries, self.timeout = max_entries, timeout
        self.entries: OrderedDict[tuple[bytes, str], float] = OrderedDict()
        self.by_parent: dict[bytes, set[str]] = {}
        self.counts = dict.fromkeys(STAT_NAMES[2:], 0)
        self.gens: dict[bytes, int] = {}

    def _remove(self, key: tuple[bytes, str]) -> None:
        del self.entries[key]
        names = self.by_parent[key[0]]
        names.discard(key[1])
        if not names:
            del self.by_parent[key[0]]

    def _trim(self) -> None:
        while len(self.entries) > self.max_entries:
            self._remove(next(iter(self.entries)))
            self.counts["evicted"] += 1

    def add(self, parent: bytes, name: str) -> bool:
        if not self.max_entries or self.timeout <= 0 or len(_name(name)) > 4096:
            return False
        key = (parent, name)
        if key not in self.entries:
            self.counts["added"] += 1
        self.entries[key] = time.monotonic() + self.timeout
        self.entries.move_to_end(key)
        self.by_parent.setdefault(parent, set()).add(name)
        self._trim()
        return True

    def generation(self, parent: bytes) -> int:
        return self.gens.get(parent, 0)

    def add_unless_changed(self, parent: bytes, name: str, generation: int) -> bool:
        if self.gens.get(parent, 0) != generation:
            self.counts["raced"] += 1
            return False
        return self.add(parent, name)

    def _invalidated(self, parent: bytes) -> None:
        self.gens[parent] = self.gens.get(parent, 0) + 1
        self.counts["invalidations"] += 1

    def hit(self, parent: bytes, name: str) -> bool:
        key = (parent, name)
        expiry = self.entries.get(key)
        if expiry is None:
            return False
        if time.monotonic() >= expiry:
            self._remove(key)
            self.counts["expired"] += 1
            return False
        self.entries.move_to_end(key)
        self.counts["hits"] += 1
        return True

    def discard(self, parent: bytes, name: str) -> bool:
        self._invalidated(parent)
        if (parent, name) not in self.entries:
            return False
        self._remove((parent, name))
        self.counts["dropped"] += 1
        return True

    def count_under(self, parent: bytes) -> int:
        return len(self.by_parent.get(parent, ()))

    def drop_parent(self, parent: bytes) -> int:
        self._invalidated(parent)
        names = list(self.by_parent.get(parent, ()))
        for name in names:
            self._remove((parent, name))
        self.counts["dropped"] += len(names)
        return len(names)

    def configure(self, max_entries: int, timeout: float) -> None:
        self.max_entries, self.timeout = max_entries, timeout
        if timeout <= 0:
            self.clear()
        self._trim()

    def clear(self) -> None:
        for key in list(self.entries):
            self._remove(key)

    def stats(self) -> dict[str, int]:
        return {"entries": len(self.entries), "parents": len(self.by_parent), **self.counts}
