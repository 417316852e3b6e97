"""AttrCache: iatts per gfid, answered by the bridge in C.

The metadata twin of :class:`glupy.MissCache`.  A translator that caches stat
results puts the iatts it sees here (``put``) and drops what changed (``drop``);
set it as the translator's ``attr_cache`` attribute in ``init()``.  The bridge's
entries then answer, in C and without the GIL:

* ``lookup`` of a linked inode (a revalidation) with no xdata: the cached iatt
  (and a zeroed postparent, as md-cache does);
* ``stat`` and ``fstat`` with no xdata.

The translator must handle those fops (the table is consulted by their C
entries).  A ``GF_EVENT_UPCALL`` cache invalidation drops the inode, its parent
and old parent in C as it arrives, and makes FUSE drop the kernel's attributes
and dentries of the inode.  Races: read :meth:`epoch` before winding and pass it
to :meth:`put`; the put is refused if anything was dropped in between.

Outside GlusterFS (``glupy check``, unit tests) the same C table serves, loaded
from the built bridge; no C entry asks it there (``answered_in_c`` is False).
"""

from __future__ import annotations

from glupy import types as _t
from glupy.types import Iatt

STAT_NAMES = ("entries", "hits", "stored", "expired", "evicted", "dropped", "raced")


class AttrCache(_t.CTable):
    """gfid -> iatt for ``timeout`` seconds, at most ``max_entries`` (LRU).  ``0`` for
    either caches nothing.  Thread-safe inside GlusterFS (one mutex in C)."""

    def __init__(self, max_entries: int = 65536, timeout: float = 60.0) -> None:
        super().__init__("glupy_ac_new", "glupy_ac_unref", max_entries, timeout)

    def epoch(self) -> int:
        """Read before winding; :meth:`put` with it stores only if nothing was dropped since."""
        return int(self._lib.glupy_ac_epoch(self._p))

    def put(self, iatt: Iatt, epoch: int, by_lookup: bool = False) -> bool:
        """Cache ``iatt`` (a copy) under its gfid.  False if refused (a drop since
        ``epoch``, a null gfid, limits of 0).  ``by_lookup``: it is a lookup's reply;
        only such entries answer lookups (a stat by gfid still finds a renamed or
        unlinked-elsewhere inode whose *name* is gone)."""
        return bool(self._lib.glupy_ac_put(self._p, iatt._p, epoch, int(by_lookup)))

    def get(self, gfid: bytes, for_lookup: bool = False) -> Iatt | None:
        """A copy of the fresh cached iatt of ``gfid`` (counted as a hit), else None;
        ``for_lookup``: only an entry a lookup brought."""
        out = self._ffi.new("struct iatt *")
        return Iatt(out) if self._lib.glupy_ac_get(self._p, gfid, out, int(for_lookup)) else None

    def drop(self, gfid: bytes) -> bool:
        """Forget ``gfid`` (True if it was cached); always advances the epoch."""
        return bool(self._lib.glupy_ac_drop(self._p, gfid))

    def configure(self, max_entries: int, timeout: float) -> None:
        self._lib.glupy_ac_configure(self._p, max_entries, timeout)

    def clear(self) -> None:
        self._lib.glupy_ac_clear(self._p)

    def stats(self) -> dict[str, int]:
        out = self._ffi.new("uint64_t[]", len(STAT_NAMES))
        self._lib.glupy_ac_stats(self._p, out)
        return dict(zip(STAT_NAMES, (int(v) for v in out), strict=True))

    def __len__(self) -> int:
        return self.stats()["entries"]

    def __repr__(self) -> str:
        return f"AttrCache({self.stats()})"
