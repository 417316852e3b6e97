"""glupy.library.EventCounter: bumps counted without a lock, read back exactly."""

import threading

from glupy.library import EventCounter


def test_value_is_the_number_of_bumps_however_often_it_is_read():
    c = EventCounter()
    assert c.value == 0
    for expected in range(1, 6):
        next(c)
        assert c.value == expected
        assert c.value == expected  # a read does not count


def test_bumps_from_many_threads_are_all_counted():
    c = EventCounter()

    def bump_many() -> None:
        for _ in range(10_000):
            next(c)

    threads = [threading.Thread(target=bump_many) for _ in range(4)]
    for t in threads:
        t.start()
    readings = [c.value for _ in range(100)]
    for t in threads:
        t.join()
    assert c.value == 40_000
    assert readings == sorted(readings) and all(0 <= r <= 40_000 for r in readings)
