"""Journal: fops recorded in C, read by a Python thread.

A translator that only watches fops (an audit log) would otherwise enter Python
for every one of them, only to build a record and wind on.  Set a :class:`Journal`
as the translator's ``journal`` attribute (in ``init()``): the bridge's entry of
each watched fop that the class does not define makes the record in C (time,
fop, path, gfid, caller), winds on, and completes it when the reply comes back
(op_ret, errno, latency).  The fops never take the GIL for it.  A thread of the
translator takes the records with :meth:`Journal.take`, in batches, and does
what it wants with them (glupy.library.audit formats JSON lines).

The queue holds at most ``capacity`` records; when it is full a record is
dropped and counted (``stats()["dropped"]``), and the fop goes on.  Only
inside GlusterFS: the bridge makes the records.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from glupy import types as _t
from glupy.fops import FOPS, FOPS_BY_NAME

_FOP_BY_SLOT = {f.slot: f.name for f in FOPS}
STAT_NAMES = ("queued", "recorded", "dropped")


class JournalRecord(NamedTuple):
    time: float  #: seconds since the epoch, when the fop reached the translator
    fop: str
    path: str | None  #: of the fop's first loc, or of its fd's inode
    gfid: bytes
    uid: int
    gid: int
    pid: int
    op_ret: int
    errno: int
    latency_ns: int  #: from the translator to the reply


class Journal:
    """Records of ``fops`` (names from glupy.fops), made in C.  ``path_prefix``:
    only fops whose path starts with it."""

    def __init__(self, fops: Iterable[str], capacity: int = 65536, path_prefix: str = "") -> None:
        names = list(dict.fromkeys(fops))
        unknown = [f for f in names if f not in FOPS_BY_NAME]
        if unknown:
            raise ValueError(f"Journal: unknown fops {unknown}")
        if capacity < 1:
            raise ValueError("Journal: capacity must be >= 1")
        ffi, lib = _t._ffi, _t._lib
        if lib is None:
            raise RuntimeError("a Journal's records are made by the bridge: only inside GlusterFS")
        p = lib.glupy_journal_new(capacity, path_prefix.encode("utf-8", "surrogateescape"))
        if p == ffi.NULL:
            raise MemoryError("glupy_journal_new")
        for name in names:
            lib.glupy_journal_watch(p, FOPS_BY_NAME[name].slot)
        # never freed: the bridge may hold it while fops are in flight
        self._p, self._ffi, self._lib = p, ffi, lib
        self._json_buf: Any = None
        self.fops = names

    def take(self, max_records: int = 4096) -> list[JournalRecord]:
        """Up to ``max_records`` records, oldest first (any thread)."""
        ffi, lib = self._ffi, self._lib
        out = ffi.new("glupy_journal_record_t *[]", max_records)
        n = lib.glupy_journal_take(self._p, out, max_records)
        records = []
        for i in range(n):
            r = out[i]
            path = ffi.string(r.path).decode("utf-8", "surrogateescape") if r.has_path else None
            records.append(JournalRecord(r.time_ns / 1e9, _FOP_BY_SLOT[r.slot], path,
                                         bytes(ffi.buffer(r.gfid, 16)), r.uid, r.gid, r.pid,
                                         r.op_ret, r.op_errno, r.latency_ns))
            lib.glupy_journal_record_free(r)
        return records

    def take_json(self, max_bytes: int = 1 << 20) -> bytes:
        """The queued records, oldest first, as JSON lines formatted in C (up to
        ``max_bytes``): one object per line with JournalRecord's fields (``errno``,
        ``latency_us`` for ``latency_ns``), as glupy.library.audit writes them.  The
        path is the one decoded as UTF-8 with surrogateescape, ASCII-escaped.  One
        thread at a time (the buffer is the Journal's)."""
        ffi, lib = self._ffi, self._lib
        if self._json_buf is None or len(self._json_buf) < max_bytes:
            self._json_buf = ffi.new("char[]", max_bytes)
        count = ffi.new("uint64_t *")
        n = lib.glupy_journal_take_json(self._p, self._json_buf, max_bytes, count)
        return bytes(ffi.buffer(self._json_buf, n))

    def stats(self) -> dict[str, int]:
        """``queued`` (not taken yet), ``recorded`` (ever queued), ``dropped`` (queue full)."""
        out = self._ffi.new("uint64_t[]", len(STAT_NAMES))
        self._lib.glupy_journal_stats(self._p, out)
        return dict(zip(STAT_NAMES, (int(v) for v in out), strict=True))
