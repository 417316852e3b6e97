"""glupy.AttrCache's C table (glupy/_bridge/src/attrcache.c), called here outside
GlusterFS through the built bridge, as glupy check and unit tests get it.  Through
real mounts: tests/upcall/test_stat_cache_coherence.py and
tests/cluster/test_coherence.py."""

from __future__ import annotations

import time

import pytest

from glupy import AttrCache
from glupy import types as _t

G1, G2 = b"\x01" * 16, b"\x02" * 16


class FakeIatt:
    """What AttrCache.put reads of an Iatt view: its struct iatt."""

    def __init__(self, gfid: bytes, size: int) -> None:
        ffi, _ = _t.c_tables()
        self._p = ffi.new("struct iatt *")
        ffi.memmove(self._p.ia_gfid, gfid, 16)
        self._p.ia_size = size


def test_put_get_drop_and_the_epoch_race() -> None:
    c = AttrCache(10, 60)
    e = c.epoch()
    assert c.put(FakeIatt(G1, 5), e)  # type: ignore[arg-type]
    got = c.get(G1)
    assert got is not None and got.size == 5
    e = c.epoch()
    c.drop(G2)  # any drop while a reply is in flight ...
    assert not c.put(FakeIatt(G1, 6), e)  # type: ignore[arg-type]  # ... refuses it
    assert c.get(G1).size == 5  # type: ignore[union-attr]
    assert c.drop(G1) and c.get(G1) is None
    assert c.stats()["raced"] == 1 and c.stats()["dropped"] == 1


def test_only_entries_a_lookup_brought_answer_lookups() -> None:
    c = AttrCache(10, 60)
    c.put(FakeIatt(G1, 1), c.epoch())  # type: ignore[arg-type]  # from a stat
    assert c.get(G1) is not None and c.get(G1, for_lookup=True) is None
    c.put(FakeIatt(G1, 1), c.epoch(), by_lookup=True)  # type: ignore[arg-type]
    assert c.get(G1, for_lookup=True) is not None
    c.put(FakeIatt(G1, 2), c.epoch())  # type: ignore[arg-type]  # a later stat keeps the mark
    assert c.get(G1, for_lookup=True).size == 2  # type: ignore[union-attr]


def test_expiry_lru_and_zero_limits() -> None:
    c = AttrCache(2, 0.05)
    for g in (G1, G2, b"\x03" * 16):
        c.put(FakeIatt(g, 0), c.epoch())  # type: ignore[arg-type]
    assert c.get(G1) is None and len(c) == 2 and c.stats()["evicted"] == 1
    time.sleep(0.08)
    assert c.get(G2) is None and c.stats()["expired"] == 1
    z = AttrCache(0, 60)
    assert not z.put(FakeIatt(G1, 0), z.epoch())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        AttrCache(-1, 1)
