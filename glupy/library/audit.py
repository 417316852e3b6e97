"""audit: one JSON line per fop, written off the I/O path.

Each record::

    {"time": 1764090000.123456, "fop": "writev", "path": "/dir/file",
     "gfid": "0b3a...", "uid": 1000, "gid": 1000, "pid": 4242,
     "op_ret": 4096, "errno": 0, "latency_us": 38.1}

Options:

* ``log-file``     where records go (default /var/log/glusterfs/glupy-audit-<xlator>.jsonl)
* ``fops``         comma-separated fops to record (default: all); the other fops are
                   not handled in Python at all (they pass through in C)
* ``path-prefix``  only record fops whose path starts with this (default: all)
* ``max-size``     rotate when the file passes this size (``LOG.1`` keeps the previous one)
* ``queue-size``   records buffered for the writer thread; when full, records are
                   dropped and counted, and the log says how many

Fops never wait for the disk: they put a record on a bounded queue that a
thread owned by the translator writes out.  The caller's uid/gid/pid come from
the fop's frame, so on a brick graph they are the client's credentials as the
server maps them.  Place it anywhere; at the top of a client graph it sees
what applications do, right above storage/posix on a brick it sees what
reaches the disk from every client.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from typing import Any

from glupy import FopError, Option, Size, Translator, gfid_str
from glupy.fops import FOPS, Fop
from glupy.types import NULL_GFID

DEFAULT_DIR = "/var/log/glusterfs"


class _Writer(threading.Thread):
    def __init__(self, path: str, max_size: int, q: queue.Queue[str | None]) -> None:
        super().__init__(name="glupy-audit", daemon=True)
        self.path = path
        self.max_size = max_size
        self.q = q

    def run(self) -> None:
        fh = open(self.path, "a", buffering=1 << 16)  # noqa: SIM115 - lives with the thread
        try:
            while True:
                line = self.q.get()
                if line is None:
                    break
                fh.write(line)
                # write out what is queued without waiting for more
                while True:
                    try:
                        line = self.q.get_nowait()
                    except queue.Empty:
                        break
                    if line is None:
                        return
                    fh.write(line)
                fh.flush()
                if fh.tell() >= self.max_size:
                    fh.close()
                    os.replace(self.path, self.path + ".1")
                    fh = open(self.path, "a", buffering=1 << 16)  # noqa: SIM115
        finally:
            fh.close()


def _target(fop: Fop, args: tuple[Any, ...]) -> Any:
    """The loc or fd a fop is about (first loc/fd argument)."""
    for a, value in zip(fop.py_args, args, strict=True):
        if a.kind in ("loc", "fd"):
            return value
    return None


def _method(fop: Fop) -> Any:
    params = [a.name for a in fop.py_args]
    src = (f"async def {fop.name}(self, {', '.join(params)}):\n"
           f"    return await self._audit(_fop, ({', '.join(params)}{',' if params else ''}))\n")
    ns: dict[str, Any] = {"_fop": fop}
    exec(src, ns)  # generated from the fop table
    return ns[fop.name]


class Audit(Translator):
    """Records every (selected) fop as a JSON line."""

    log_file = Option(str, default="", doc="audit file (default /var/log/glusterfs/glupy-audit-NAME.jsonl)")
    fops = Option(str, default="", doc="comma-separated fops to record (empty: all)")
    path_prefix = Option(str, default="", doc="record only paths starting with this")
    max_size = Option(Size, default="64MB", doc="rotate the audit file at this size")
    queue_size = Option(int, default=10000, min=1, doc="records buffered for the writer")

    def init(self) -> None:
        selected = [f.strip() for f in self.fops.split(",") if f.strip()]
        unknown = [f for f in selected if f not in type(self).defined_fops()]
        if unknown:
            raise ValueError(f"option 'fops': unknown fops {unknown}")
        self.selected = selected or type(self).defined_fops()
        self.path = self.log_file or os.path.join(DEFAULT_DIR, f"glupy-audit-{self.name}.jsonl")
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        self.queue: queue.Queue[str | None] = queue.Queue(self.queue_size)
        self.dropped = 0
        self._dropped_reported = 0
        self._lock = threading.Lock()
        self.writer = _Writer(self.path, self.max_size, self.queue)
        self.writer.start()
        self.log.info("audit: recording %d fops to %s", len(self.selected), self.path)

    def handled_fops(self) -> list[str]:
        return self.selected

    def fini(self) -> None:
        self.queue.put(None)
        self.writer.join(timeout=5)

    async def _audit(self, fop: Fop, args: tuple[Any, ...]) -> Any:
        target = _target(fop, args)
        path = gfid = None
        if target is not None:
            if hasattr(target, "path"):  # Loc
                path = target.path
                gfid = target.gfid
            else:  # Fd
                inode = target.inode
                if inode is not None:
                    gfid = inode.gfid
                    path = inode.path()
        if self.path_prefix and not (path or "").startswith(self.path_prefix):
            return await getattr(self.child, fop.name)(*args)
        caller = self.caller
        who = (caller.uid, caller.gid, caller.pid)
        start = time.monotonic_ns()
        op_ret, err = 0, 0
        try:
            reply = await getattr(self.child, fop.name)(*args)
            op_ret = reply.op_ret
            return reply
        except FopError as e:
            op_ret, err = -1, e.errno
            raise
        finally:
            self._record(fop.name, path, gfid, who, op_ret, err,
                         (time.monotonic_ns() - start) / 1000)

    def _record(self, fop: str, path: str | None, gfid: bytes | None, who: tuple[int, int, int],
                op_ret: int, err: int, latency_us: float) -> None:
        line = json.dumps({
            "time": round(time.time(), 6), "fop": fop, "path": path,
            "gfid": gfid_str(gfid) if gfid and gfid != NULL_GFID else None, "uid": who[0], "gid": who[1],
            "pid": who[2], "op_ret": op_ret, "errno": err, "latency_us": round(latency_us, 1),
        }) + "\n"
        try:
            self.queue.put_nowait(line)
        except queue.Full:
            with self._lock:
                self.dropped += 1
                report = self.dropped >= self._dropped_reported * 2 + 1
                if report:
                    self._dropped_reported = self.dropped
            if report:
                self.log.warning("audit: queue full, %d records dropped so far", self.dropped)


for _fop in FOPS:
    setattr(Audit, _fop.name, _method(_fop))
