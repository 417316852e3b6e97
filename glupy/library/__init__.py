"""Ready-made translators: ``glupy mount -t glupy.library.<name>``."""

from __future__ import annotations

import itertools


def counted(counter: itertools.count[int]) -> int:
    """How many times ``next()`` was called on a fresh ``itertools.count()``.

    The library counts with one ``itertools.count`` per event: ``next()`` is a
    single C call, atomic under the GIL, so the hot path takes no lock; the
    value is read back from its repr, ``count(N)``."""
    return int(repr(counter)[6:-1])
