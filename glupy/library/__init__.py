"""Ready-made translators: ``glupy mount -t glupy.library.<name>``."""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    _Count = itertools.count[int]
else:
    _Count = itertools.count  # not subscriptable at run time


class EventCounter(_Count):
    """An event counter for the fop path: ``next(counter)`` counts one event.

    That is ``itertools.count``'s own ``next()``: one C call, atomic under the
    GIL, so counting takes no lock.  ``value`` reads the count by drawing from
    it too (each read's own draw is subtracted); only readers take a lock."""

    __slots__ = ("_reads",)
    _read_lock = threading.Lock()

    def __init__(self) -> None:
        self._reads = 0

    @property
    def value(self) -> int:
        with self._read_lock:
            events: int = next(self) - self._reads
            self._reads += 1
            return events
