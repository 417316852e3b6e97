"""Objects a free-threaded CPython keeps waiting, freed once the process goes quiet.

A free-threaded CPython frees an object that a thread other than its maker dropped
last only when the maker next runs Python, or at a collection (biased reference
counting).  A fop's argument views are made on its entry's thread (FUSE's reader, a
brick's epoll workers); when the task ends on another (io-threads' workers), the
views, and the fds, inodes and dicts they hold in GlusterFS, wait for that thread to
enter Python again, which in a quiet process may be hours away.  So a thread of
glupy's watches the tasks that ended off their entry thread: once some have and none
has for a tick, or at the latest every ``LONGEST`` seconds while they keep coming,
one collection frees what waits (it merges every thread's queue).  With the GIL
nothing waits, and no thread is started.
"""

from __future__ import annotations

import gc
import sysconfig
import threading
import time
from collections.abc import Callable

TICK = 0.5  # seconds without a task ending off its entry thread: quiet
LONGEST = 10.0  # seconds at most between collections while such tasks keep ending

_lock = threading.Lock()
_started = False
collections = 0  # run so far (glupy status ``late_free_collections``)


def needed() -> bool:
    """This CPython counts references per thread (a free-threaded build)."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def start(ended_off_entry: Callable[[], int]) -> bool:
    """Start the thread (once per process) if this CPython needs it; True if it runs.
    ``ended_off_entry``: the bridge's count of tasks that ended off their entry thread."""
    global _started
    with _lock:
        if _started or not needed():
            return _started
        _started = True
    threading.Thread(target=_watch, args=(ended_off_entry,), name="glupy-late-frees",
                     daemon=True).start()
    return True


def _watch(ended_off_entry: Callable[[], int]) -> None:
    global collections
    collected = seen = ended_off_entry()
    last = time.monotonic()
    while True:
        time.sleep(TICK)
        count = ended_off_entry()
        quiet = count == seen
        seen = count
        if count != collected and (quiet or time.monotonic() - last >= LONGEST):
            gc.collect()
            collections += 1
            collected, last = count, time.monotonic()
