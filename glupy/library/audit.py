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
* ``queue-size``   records buffered for the writer thread (default 65536); when
                   full, records are dropped and counted, and the log says how many
* ``mode``         permissions of the audit file (octal, default 0600: root only; e.g.
                   0640 with ``group`` for a log shipper); set on every open, so also on
                   a file that existed and on each new file after rotation
* ``group``        group (name or gid) of the audit file (default: unchanged)

Fops never enter Python: the bridge makes each record in C (a glupy.Journal:
time, fop, path, gfid, caller at the entry; op_ret, errno and latency at the
reply) and queues it, and a thread owned by the translator takes the records in
batches, as JSON lines formatted in C (``Journal.take_json``: no Python per
record either), and writes them out, at least every 0.05 s (a record reaches the file
within about 0.1 s of its fop).  A record is about the fop's first loc
argument, or its fd's inode; ``path-prefix`` is applied in C.  The caller's
uid/gid/pid come from the fop's frame, so on a brick graph they are the
client's credentials as the server maps them.  Place it anywhere; at the top of a client graph it sees
what applications do, right above storage/posix on a brick it sees what
reaches the disk from every client.
"""

from __future__ import annotations

import contextlib
import grp
import os
import threading
from collections.abc import Callable
from typing import BinaryIO

from glupy import Journal, Option, Size, Translator
from glupy.fops import FOP_NAMES
from glupy.runtime.security import open_private

DEFAULT_DIR = "/var/log/glusterfs"

class _Writer(threading.Thread):
    """Takes the journal's records, as JSON lines formatted in C
    (``Journal.take_json``), and writes them out in batches, every
    ``FLUSH_INTERVAL`` or at once while records keep coming -- never once per record:
    a write(2) per fop made every audited fop several times dearer."""

    FLUSH_INTERVAL = 0.05
    BATCH = 1 << 20  # bytes of JSON lines per take

    def __init__(self, path: str, max_size: int, journal: Journal,
                 report_dropped: Callable[[int], None],
                 mode: int = 0o600, group: int | None = None) -> None:
        super().__init__(name="glupy-audit", daemon=True)
        self.path = path
        self.mode = mode
        self.group = group
        self.max_size = max_size
        self.journal = journal
        self.report_dropped = report_dropped
        self.wake = threading.Event()
        self.stopping = False

    def stop(self, timeout: float) -> None:
        self.stopping = True
        self.wake.set()
        self.join(timeout)

    def open(self) -> BinaryIO:
        """The audit file for appending, with its mode and group (every open)."""
        fd = open_private(self.path, self.mode, self.group)
        return open(fd, "ab", buffering=1 << 16)

    def _reopen_if_moved(self, fh: BinaryIO) -> BinaryIO:
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
        dropped = 0
        try:
            while True:
                stopping = self.stopping  # read before taking: nothing made is left
                records = self.journal.take_json(self.BATCH)
                if records:
                    fh = self._reopen_if_moved(fh)
                    fh.write(records)
                    fh.flush()
                    if fh.tell() >= self.max_size:
                        fh.close()
                        os.replace(self.path, self.path + ".1")
                        fh = self.open()
                now_dropped = self.journal.stats()["dropped"]
                if now_dropped != dropped:
                    dropped = now_dropped
                    self.report_dropped(dropped)
                if stopping and not records:
                    return
                if len(records) < self.BATCH // 2:
                    self.wake.wait(self.FLUSH_INTERVAL)
        finally:
            fh.close()


class Audit(Translator):
    """Records every (selected) fop as a JSON line."""

    log_file = Option(str, default="", doc="audit file (default /var/log/glusterfs/glupy-audit-NAME.jsonl)")
    fops = Option(str, default="", doc="comma-separated fops to record (empty: all)")
    path_prefix = Option(str, default="", doc="record only paths starting with this")
    max_size = Option(Size, default="64MB", doc="rotate the audit file at this size")
    queue_size = Option(int, default=65536, min=1, doc="records buffered for the writer")
    mode = Option(str, default="0600", doc="audit file permissions (octal; no group/other write)")
    group = Option(str, default="", doc="audit file group, name or gid (default: unchanged)")

    def init(self) -> None:
        selected = [f.strip() for f in self.fops.split(",") if f.strip()]
        unknown = [f for f in selected if f not in FOP_NAMES]
        if unknown:
            raise ValueError(f"option 'fops': unknown fops {unknown}")
        self.selected = selected or sorted(FOP_NAMES)
        self.path = self.log_file or os.path.join(DEFAULT_DIR, f"glupy-audit-{self.name}.jsonl")
        _make_dirs(os.path.dirname(os.path.abspath(self.path)))
        # the records are made in C: no fop enters Python (glupy.Journal)
        self.journal = Journal(self.selected, self.queue_size, self.path_prefix)
        self._dropped_reported = 0
        self.writer = _Writer(self.path, self.max_size, self.journal, self._report_dropped,
                              _file_mode(self.mode), _group_id(self.group))
        self.writer.open().close()  # a bad path or group fails init, not the writer thread
        self.writer.start()
        self.log.info("audit: recording %d fops to %s", len(self.selected), self.path)

    @property
    def dropped(self) -> int:
        return self.journal.stats()["dropped"]

    def fini(self) -> None:
        self.writer.stop(timeout=5)

    def _report_dropped(self, dropped: int) -> None:
        if dropped >= self._dropped_reported * 2 + 1:
            self._dropped_reported = dropped
            self.log.warning("audit: queue full, %d records dropped so far", dropped)


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

