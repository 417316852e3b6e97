"""glupy.runtime.latefrees' watch: when it collects, driven by a scripted count of
tasks that ended off their entry thread (the clock and gc.collect replaced)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from glupy.runtime import latefrees


class _Done(Exception):
    pass


def _collections(monkeypatch, counts: list[int]) -> list[int]:
    """Run the watch over ``counts`` (the counter read at start, then after each tick);
    the ticks at which it collected."""
    clock = [0.0]
    ticks: Iterator[int] = iter(range(1, len(counts)))
    tick = [0]
    collected: list[int] = []

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        try:
            tick[0] = next(ticks)
        except StopIteration:
            raise _Done from None

    monkeypatch.setattr(latefrees.time, "sleep", sleep)
    monkeypatch.setattr(latefrees.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(latefrees.gc, "collect", lambda: collected.append(tick[0]))
    monkeypatch.setattr(latefrees, "collections", 0)
    reads = iter(counts)
    with pytest.raises(_Done):
        latefrees._watch(lambda: next(reads))
    return collected


def test_nothing_ended_off_entry_no_collection(monkeypatch):
    assert _collections(monkeypatch, [0] * 40) == []


def test_one_collection_a_tick_after_the_last_task_ended(monkeypatch):
    # tasks end during ticks 1-3, then none: collected at tick 4, once
    assert _collections(monkeypatch, [0, 5, 9, 12, 12, 12, 12, 12]) == [4]
    assert latefrees.collections == 1  # what glupy status reports


def test_tasks_that_keep_ending_are_collected_every_longest_seconds(monkeypatch):
    ticks = int(latefrees.LONGEST / latefrees.TICK)
    counts = list(range(0, 3 * ticks + 2))  # one more each tick, never quiet
    got = _collections(monkeypatch, counts)
    assert got == [ticks, 2 * ticks, 3 * ticks]


def test_a_gil_cpython_starts_no_thread(monkeypatch):
    monkeypatch.setattr(latefrees, "_started", False)
    monkeypatch.setattr(latefrees, "needed", lambda: False)
    assert latefrees.start(lambda: 0) is False
