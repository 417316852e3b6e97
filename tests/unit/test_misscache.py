"""glupy.MissCache outside GlusterFS (the dict fallback glupy.testing uses).

The C table (misscache.c) behind it inside GlusterFS is exercised through
real mounts in tests/library/test_negative_lookup.py."""

from __future__ import annotations

import time

import pytest

from glupy import MissCache

P1, P2 = b"\x01" * 16, b"\x02" * 16


def test_add_hit_discard() -> None:
    c = MissCache(10, 60)
    assert not c.hit(P1, "a")
    assert c.add(P1, "a")
    assert c.hit(P1, "a")
    assert not c.hit(P2, "a")  # keyed by parent too
    assert c.discard(P1, "a")
    assert not c.discard(P1, "a")
    assert not c.hit(P1, "a")
    st = c.stats()
    assert (st["hits"], st["added"], st["dropped"], st["entries"]) == (1, 1, 1, 0)


def test_lru_bound_keeps_the_recently_used() -> None:
    c = MissCache(3, 60)
    for n in "abc":
        c.add(P1, n)
    assert c.hit(P1, "a")  # a is now the newest
    c.add(P1, "d")  # evicts b, the least recently used
    assert [c.hit(P1, n) for n in "abcd"] == [True, False, True, True]
    assert len(c) == 3 and c.stats()["evicted"] == 1


def test_entries_expire() -> None:
    c = MissCache(10, 0.05)
    c.add(P1, "a")
    assert c.hit(P1, "a")
    time.sleep(0.08)
    assert not c.hit(P1, "a")
    assert c.stats()["expired"] == 1 and len(c) == 0


def test_drop_parent_and_count_under() -> None:
    c = MissCache(100, 60)
    for i in range(5):
        c.add(P1, f"x{i}")
    c.add(P2, "y")
    assert c.count_under(P1) == 5 and c.count_under(P2) == 1
    assert c.drop_parent(P1) == 5
    assert c.count_under(P1) == 0 and c.hit(P2, "y")
    assert c.stats()["parents"] == 1


def test_zero_limits_cache_nothing_and_configure_trims() -> None:
    assert not MissCache(0, 60).add(P1, "a")
    assert not MissCache(10, 0).add(P1, "a")
    c = MissCache(10, 60)
    for i in range(10):
        c.add(P1, f"n{i}")
    c.configure(4, 60)
    assert len(c) == 4
    c.configure(4, 0)
    assert len(c) == 0 and not c.add(P1, "z")
    c.configure(4, 60)
    assert c.add(P1, "z")
    c.clear()
    assert len(c) == 0


def test_names_are_any_str_and_limits_are_checked() -> None:
    c = MissCache(10, 60)
    odd = "caf\u00e9-\udcff"  # surrogate-escaped byte, as Loc.name decodes it
    assert c.add(P1, odd) and c.hit(P1, odd)
    assert not c.add(P1, "x" * 5000)  # longer than any name GlusterFS passes
    with pytest.raises(ValueError):
        MissCache(-1, 60)
