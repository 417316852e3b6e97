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
lookup's C entry).  Outside GlusterFS (``glupy check``, unit tests) the same C
table serves, loaded from the built bridge, but no C entry asks it: there
``answered_in_c`` is False and a translator's own ``lookup`` should ask
:meth:`hit` itself.
"""

from __future__ import annotations

from glupy import types as _t

STAT_NAMES = ("entries", "parents", "hits", "added", "expired", "evicted", "dropped",
              "invalidations", "raced", "dir_changed")


def _name(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


class MissCache(_t.CTable):
    """(parent gfid, name) pairs known to be missing, for ``timeout`` seconds,
    at most ``max_entries`` of them (least recently used dropped first).
    ``max_entries=0`` or ``timeout=0`` caches nothing.  Thread-safe (one mutex
    in C)."""

    def __init__(self, max_entries: int = 65536, timeout: float = 60.0) -> None:
        super().__init__("glupy_mc_new", "glupy_mc_unref", max_entries, timeout)

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
        (:meth:`add_unless_changed` refused, or a miss learned in C), ``dir_changed``
        (misses dropped because their directory's times moved: learned in C only)."""
        out = self._ffi.new("uint64_t[]", len(STAT_NAMES))
        self._lib.glupy_mc_stats(self._p, out)
        return dict(zip(STAT_NAMES, (int(v) for v in out), strict=True))

    def __len__(self) -> int:
        return self.stats()["entries"]

    def __repr__(self) -> str:
        return f"MissCache({self.stats()})"
