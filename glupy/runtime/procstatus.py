"""What a glusterfs process runs, as glupy itself sees it from inside.

Every glupy translator answers ``getxattr(NAME=STATUS_XATTR)`` on any inode with
:func:`process_status` of its whole process (JSON), without winding it down.  It is
read over the data path (a protocol/client graph to one brick, see
:mod:`glupy.deploy.probe`), so ``glupy status VOLUME`` learns what every brick process
of the volume runs, on whichever host, from the process itself.  The control socket's
``status`` command (this host only) uses the same description.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from typing import Any

from glupy.runtime import latefrees

STATUS_XATTR = "glupy.status"


def describe(inst: Any, lib: Any) -> dict[str, Any]:
    """One glupy translator instance (a runtime.Instance); ``lib``: the bridge."""
    obj = inst.translator
    options: dict[str, str] = {}
    if obj is not None:
        for opt in inst.options.values():
            options[opt.key] = repr(opt.shown(getattr(obj, opt.attr)))  # secret ones redacted
    out: dict[str, Any] = {
        "name": inst.name,
        "module": inst.spec,
        "class": type(obj).__qualname__ if obj is not None else None,
        "loaded_at": getattr(inst, "loaded_at", 0.0),
        "fops": obj.handled_fops() if obj is not None else [],
        # fops that entered Python since the process started (the C rules and
        # caches answer the others), by fop
        "python_calls": python_calls(inst, lib),
        "refused_in_c": sorted(type(obj).refusals()) if obj is not None else [],
        "tasks_in_flight": int(lib.glupy_instance_tasks(inst.xl)),
        "reloads": inst.reloads,
        "errors": getattr(inst, "errors", 0),
        "last_error": getattr(inst, "last_error", ""),
        "contexts": {"inodes": len(inst.inode_ctx.values), "fds": len(inst.fd_ctx.values)},
        "options": options,
        "children": [c.name for c in obj.children] if obj is not None else [],
    }
    counts = getattr(obj, "counts", None)
    if isinstance(counts, Mapping):
        out["counts"] = {str(k): int(v) for k, v in counts.items()}
    return out


def python_calls(inst: Any, lib: Any) -> dict[str, int]:
    from glupy.fops import FOPS

    calls = {f.name: int(lib.glupy_python_calls(inst.xl, f.slot)) for f in FOPS}
    return {name: n for name, n in calls.items() if n}


def process_status(instances: Mapping[Any, Any], lib: Any) -> dict[str, Any]:
    """The glupy translators of this process and the process-wide driver counters."""
    from glupy import __version__

    return {
        "pid": os.getpid(),
        "host": platform.node(),
        "glupy": __version__,
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "tasks_in_flight": int(lib.glupy_tasks_in_flight()),
        # failed fops whose FopError left the coroutine without being raised
        # through its frame (no handler around the await: driver.c)
        "failures_finished_in_c": int(lib.glupy_failures_finished_in_c()),
        # the bridge guards its shared state without the GIL (core.h GLUPY_FREE_THREADED)
        "free_threaded": bool(lib.glupy_free_threaded()),
        # on a free-threaded CPython: whether a module imported since made it take the GIL
        "gil_enabled": sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True,
        # collections run to free what a free-threaded CPython's threads left (latefrees)
        "late_free_collections": latefrees.collections,
        "translators": [describe(i, lib) for i in list(instances.values())],
    }


def statedump(inst: Any, lib: Any) -> list[tuple[str, str]]:
    """The ``key=value`` lines of one translator's statedump section (``kill -USR1``,
    written by the bridge's dump.c): :func:`describe` flattened (``calls.lookup=12``,
    lists comma-separated), then the process's Python and glupy."""
    from glupy import __version__

    lines: list[tuple[str, str]] = []

    def add(key: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                add(f"{key}.{k}", v)
        elif isinstance(value, list | tuple):
            lines.append((key, ",".join(str(v) for v in value)))
        else:
            lines.append((key, " ".join(str(value).split("\n"))))

    for key, value in describe(inst, lib).items():
        add(key, value)
    add("python", platform.python_version())
    add("glupy", __version__)
    add("process_tasks_in_flight", int(lib.glupy_tasks_in_flight()))
    return lines
