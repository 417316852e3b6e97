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
                   (external rotation works too: when the file is moved or removed, e.g.
                   by logrotate without copytruncate, the next batch goes to a new file)
* ``queue-size``   records buffered for the writer thread; when full, records are
                   dropped and counted, and the log says how many
* ``mode``         permissions of the audit file (octal, default 0600: root only; e.g.
                   0640 with ``group`` for a log shipper); set on every open, so also on
                   a file that existed and on each new file after rotation
* ``group``        group (name or gid) of the audit file (default: unchanged)

Fops never wait for the disk: they put a record on a bounded buffer that a
thread owned by the translator writes out in batches, at least every 0.1 s (a
record reaches the file within about 0.1 s of its fop).  The caller's
uid/gid/pid come from the fop's frame, so on a brick graph they are the
client's credentials as the server maps them.  Place it anywhere; at the top of a client graph it sees
what applications do, right above storage/posix on a brick it sees what
reaches the disk from every client.
"""

from __future__ import annotations

import collections
import contextlib
import grp
import os
import threading
import time
from collections.abc import Callable
from json.encoder import encode_basestring_ascii as _json_str
from typing import TextIO

from glupy import FopCall, FopError, Option, Reply, Size, Translator, gfid_str, policy
from glupy.fops import FOP_NAMES
from glupy.runtime.security import open_private
from glupy.types import NULL_GFID

DEFAULT_DIR = "/var/log/glusterfs"

#: what a fop leaves for the writer: time, fop, path, gfid, uid, gid, pid, op_ret,
#: errno, latency in ns
Record = tuple[float, str, str | None, bytes | None, int, int, int, int, int, int]


class _Writer(threading.Thread):
    """Writes the records out in batches, every ``FLUSH_INTERVAL`` or sooner when the
    buffer is half full -- never once per record: waking a thread per fop costs a GIL
    hand-over and a write(2) per fop, which made every audited fop several times dearer."""

    FLUSH_INTERVAL = 0.1

    def __init__(self, path: str, max_size: int, limit: int,
                 fmt: Callable[[Record], str], mode: int = 0o600, group: int | None = None) -> None:
        super().__init__(name="glupy-audit", daemon=True)
        self.path = path
        self.mode = mode
        self.group = group
        self.max_size = max_size
        self.limit = limit
        self.fmt = fmt  # record -> line, run here rather than on the fop's thread
        self.buf: collections.deque[Record] = collections.deque()  # append/popleft: atomic
        self.wake = threading.Event()
        self.stopping = False

    def add(self, record: Record) -> bool:
        """Queue one record (any thread); False when the buffer is full."""
        buf = self.buf
        if len(buf) >= self.limit:
            return False
        buf.append(record)
        if len(buf) * 2 >= self.limit and not self.wake.is_set():
            self.wake.set()
        return True

    def stop(self, timeout: float) -> None:
        self.stopping = True
        self.wake.set()
        self.join(timeout)

    def open(self) -> TextIO:
        """The audit file for appending, with its mode and group (every open)."""
        fd = open_private(self.path, self.mode, self.group)
        return open(fd, "a", buffering=1 << 16)

    def _reopen_if_moved(self, fh: TextIO) -> TextIO:
        """logrotate (or an admin) moved or removed the file: write to a new one at
        ``path``, not on into the old inode (one stat per batch, not per record)."""
        try:
            st = os.stat(self.path)
            fst = os.fstat(fh.fileno())
            if (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino):
                return fh
        except FileNotFoundError:
            pass
        fh.close()
        return self.open()

    def run(self) -> None:
        fh = self.open()
        try:
            while True:
                self.wake.wait(self.FLUSH_INTERVAL)
                self.wake.clear()
                stopping = self.stopping  # read before draining: nothing added is left
                buf, fmt, lines = self.buf, self.fmt, []
                while buf:
                    lines.append(fmt(buf.popleft()))
                if lines:
                    fh = self._reopen_if_moved(fh)
                    fh.write("".join(lines))
                    fh.flush()
                    if fh.tell() >= self.max_size:
                        fh.close()
                        os.replace(self.path, self.path + ".1")
                        fh = self.open()
                if stopping:
                    return
        finally:
            fh.close()


def _line(rec: Record) -> str:
    """One JSON line from what a fop recorded (formatted on the writer thread, by hand:
    json.dumps of a dict costs several times more; only the path needs escaping)."""
    when, fop, path, gfid, uid, gid, pid, op_ret, err, latency_ns = rec
    path_json = "null" if path is None else _json_str(path)
    gfid_json = f'"{gfid_str(gfid)}"' if gfid and gfid != NULL_GFID else "null"
    return (f'{{"time": {when:.6f}, "fop": "{fop}", "path": {path_json}, "gfid": {gfid_json}, '
            f'"uid": {uid}, "gid": {gid}, "pid": {pid}, "op_ret": {op_ret}, "errno": {err}, '
            f'"latency_us": {latency_ns / 1000:.1f}}}\n')


class Audit(Translator):
    """Records every (selected) fop as a JSON line."""

    log_file = Option(str, default="", doc="audit file (default /var/log/glusterfs/glupy-audit-NAME.jsonl)")
    fops = Option(str, default="", doc="comma-separated fops to record (empty: all)")
    path_prefix = Option(str, default="", doc="record only paths starting with this")
    max_size = Option(Size, default="64MB", doc="rotate the audit file at this size")
    queue_size = Option(int, default=10000, min=1, doc="records buffered for the writer")
    mode = Option(str, default="0600", doc="audit file permissions (octal; no group/other write)")
    group = Option(str, default="", doc="audit file group, name or gid (default: unchanged)")

    def init(self) -> None:
        selected = [f.strip() for f in self.fops.split(",") if f.strip()]
        unknown = [f for f in selected if f not in type(self).defined_fops()]
        if unknown:
            raise ValueError(f"option 'fops': unknown fops {unknown}")
        self.selected = selected or type(self).defined_fops()
        self.path = self.log_file or os.path.join(DEFAULT_DIR, f"glupy-audit-{self.name}.jsonl")
        _make_dirs(os.path.dirname(os.path.abspath(self.path)))
        self.dropped = 0
        self._dropped_reported = 0
        self._lock = threading.Lock()
        self.writer = _Writer(self.path, self.max_size, self.queue_size, _line,
                              _file_mode(self.mode), _group_id(self.group))
        self.writer.open().close()  # a bad path or group fails init, not the writer thread
        self.writer.start()
        self.log.info("audit: recording %d fops to %s", len(self.selected), self.path)

    def handled_fops(self) -> list[str]:
        return self.selected

    @policy(*FOP_NAMES)
    async def record(self, call: FopCall) -> Reply:
        """Every fop: its record is about its first loc or fd argument."""
        path = gfid = None
        loc = call.loc
        if loc is not None:
            path, gfid = loc.path, loc.gfid
        else:
            fd = call.fd
            inode = None if fd is None else fd.inode
            if inode is not None:
                path, gfid = inode.path(), inode.gfid
        if self.path_prefix and not (path or "").startswith(self.path_prefix):
            return await call.wind()
        caller = self.caller
        uid, gid, pid = caller.uid, caller.gid, caller.pid
        start = time.monotonic_ns()
        op_ret = err = 0
        try:
            reply = await call.wind()
            op_ret = reply.op_ret
            return reply
        except FopError as e:
            op_ret, err = -1, e.errno
            raise
        finally:
            # a tuple now, the JSON on the writer thread (off the fop's path)
            self._record((time.time(), call.name, path, gfid, uid, gid, pid, op_ret, err,
                          time.monotonic_ns() - start))

    def fini(self) -> None:
        self.writer.stop(timeout=5)

    def _record(self, rec: Record) -> None:
        if not self.writer.add(rec):
            with self._lock:
                self.dropped += 1
                report = self.dropped >= self._dropped_reported * 2 + 1
                if report:
                    self._dropped_reported = self.dropped
            if report:
                self.log.warning("audit: queue full, %d records dropped so far", self.dropped)


def _make_dirs(path: str) -> None:
    """The missing directories above the audit file, 0755 whatever the process's umask
    (glusterfs's is 0: without this, anyone could replace the file)."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(d, 0o755)
        os.chmod(d, 0o755)


def _file_mode(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        raise ValueError(f"option 'mode': {text!r} is not an octal mode (e.g. 0600)") from None
    if not 0 <= mode <= 0o777 or mode & 0o022:
        raise ValueError(f"option 'mode': {text} must be a file mode without group/other write "
                         "(e.g. 0600, or 0640 with option group)")
    return mode


def _group_id(text: str) -> int | None:
    if not text:
        return None
    if text.isdigit():
        return int(text)
    try:
        return grp.getgrnam(text).gr_gid
    except KeyError:
        raise ValueError(f"option 'group': no group named {text!r}") from None

