"""glupy.MissCache's C table (glupy/_bridge/src/misscache.c), the one the bridge's
lookup entry consults inside GlusterFS, called here outside it through the built
bridge (as glupy check and unit tests get it).  Through real mounts:
tests/library/test_negative_lookup.py."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from glupy import MissCache

NewCache = Callable[..., MissCache]


@pytest.fixture
def new_cache() -> NewCache:
    def new(*args: float) -> MissCache:
        cache = MissCache(*args)
        assert not cache.answered_in_c  # no C lookup entry asks it out here
        return cache
    return new

P1, P2 = b"\x01" * 16, b"\x02" * 16


def test_add_hit_discard(new_cache: NewCache) -> None:
    c = new_cache(10, 60)
    assert not c.hit(P1, "a")
    assert c.add(P1, "a")
    assert c.hit(P1, "a")
    assert not c.hit(P2, "a")  # keyed by parent too
    assert c.discard(P1, "a")
    assert not c.discard(P1, "a")
    assert not c.hit(P1, "a")
    st = c.stats()
    assert (st["hits"], st["added"], st["dropped"], st["entries"]) == (1, 1, 1, 0)


def test_lru_bound_keeps_the_recently_used(new_cache: NewCache) -> None:
    c = new_cache(3, 60)
    for n in "abc":
        c.add(P1, n)
    assert c.hit(P1, "a")  # a is now the newest
    c.add(P1, "d")  # evicts b, the least recently used
    assert [c.hit(P1, n) for n in "abcd"] == [True, False, True, True]
    assert len(c) == 3 and c.stats()["evicted"] == 1


def test_entries_expire(new_cache: NewCache) -> None:
    c = new_cache(10, 0.05)
    c.add(P1, "a")
    assert c.hit(P1, "a")
    time.sleep(0.08)
    assert not c.hit(P1, "a")
    assert c.stats()["expired"] == 1 and len(c) == 0


def test_drop_parent_and_count_under(new_cache: NewCache) -> None:
    c = new_cache(100, 60)
    for i in range(5):
        c.add(P1, f"x{i}")
    c.add(P2, "y")
    assert c.count_under(P1) == 5 and c.count_under(P2) == 1
    assert c.drop_parent(P1) == 5
    assert c.count_under(P1) == 0 and c.hit(P2, "y")
    assert c.stats()["parents"] == 1


def test_zero_limits_cache_nothing_and_configure_trims(new_cache: NewCache) -> None:
    assert not new_cache(0, 60).add(P1, "a")
    assert not new_cache(10, 0).add(P1, "a")
    c = new_cache(10, 60)
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


def test_names_are_any_str_and_limits_are_checked(new_cache: NewCache) -> None:
    c = new_cache(10, 60)
    odd = "caf\u00e9-\udcff"  # surrogate-escaped byte, as Loc.name decodes it
    assert c.add(P1, odd) and c.hit(P1, odd)
    assert not c.add(P1, "x" * 5000)  # longer than any name GlusterFS passes
    with pytest.raises(ValueError):
        new_cache(-1, 60)


def test_a_lookup_that_raced_with_an_invalidation_caches_nothing(new_cache: NewCache) -> None:
    c = new_cache(10, 60)
    gen = c.generation(P1)
    c.discard(P1, "other")  # a create under P1 while the lookup was in flight
    assert not c.add_unless_changed(P1, "a", gen)
    assert not c.hit(P1, "a") and c.stats()["raced"] == 1
    gen = c.generation(P1)
    assert c.add_unless_changed(P2, "a", c.generation(P2))  # another parent: unaffected
    c.drop_parent(P1)
    assert not c.add_unless_changed(P1, "a", gen)
    assert c.add_unless_changed(P1, "a", c.generation(P1)) and c.hit(P1, "a")
    assert c.stats()["invalidations"] == 2 and c.stats()["raced"] == 2
