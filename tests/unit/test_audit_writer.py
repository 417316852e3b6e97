"""audit's writer thread: batches, rotation, reopening (pure Python: a stand-in for
the glupy.Journal the bridge fills; the journal itself is tested through real
mounts in tests/library/test_audit.py)."""

from __future__ import annotations

import threading
import time

from glupy.library.audit import _Writer


class FakeJournal:
    """take_json()/stats() as glupy.Journal has them, over a list of lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lock = threading.Lock()
        self.dropped = 0

    def add(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)

    def take_json(self, max_bytes: int = 1 << 20) -> bytes:
        with self.lock:
            out, size = [], 0
            while self.lines and size + len(self.lines[0]) <= max_bytes:
                size += len(self.lines[0])
                out.append(self.lines.pop(0))
        return "".join(out).encode()

    def stats(self) -> dict[str, int]:
        return {"queued": len(self.lines), "recorded": 0, "dropped": self.dropped}


def _writer(path, journal, max_size=1 << 20, reports=None) -> _Writer:
    return _Writer(str(path), max_size, journal,  # type: ignore[arg-type]
                   (reports if reports is not None else []).append)


def test_stop_writes_out_everything_recorded_before_it(tmp_path):
    j = FakeJournal()
    w = _writer(tmp_path / "a.jsonl", j)
    w.start()
    lines = [f"{i}\n" for i in range(20_000)]
    for line in lines:
        j.add(line)
    w.stop(timeout=5)
    assert not w.is_alive()
    assert (tmp_path / "a.jsonl").read_text() == "".join(lines)


def test_batches_rotate_at_max_size(tmp_path):
    path = tmp_path / "a.jsonl"
    j = FakeJournal()
    w = _writer(path, j, max_size=100)
    w.start()
    for i in range(50):
        j.add(f"{i:09d}\n")
    w.stop(timeout=5)
    rotated = (tmp_path / "a.jsonl.1").read_text()
    assert len(rotated) >= 100
    assert rotated + (path.read_text() if path.exists() else "") == "".join(
        f"{i:09d}\n" for i in range(50))


def test_a_file_moved_away_by_logrotate_is_reopened(tmp_path):
    """logrotate without copytruncate renames the file: later records go to a new file
    at the configured path, none into the renamed one."""
    path = tmp_path / "a.jsonl"
    j = FakeJournal()
    w = _writer(path, j)
    w.start()
    j.add("before\n")
    deadline = time.monotonic() + 10
    while not (path.exists() and path.read_text() == "before\n"):
        assert time.monotonic() < deadline, "the first record was never written"
        time.sleep(0.01)
    path.rename(tmp_path / "a.jsonl.rotated")
    j.add("after\n")
    w.stop(timeout=5)
    assert (tmp_path / "a.jsonl.rotated").read_text() == "before\n"
    assert path.read_text() == "after\n"


def test_drops_are_reported_as_they_grow(tmp_path):
    j = FakeJournal()
    reports: list[int] = []
    w = _writer(tmp_path / "a.jsonl", j, reports=reports)
    w.start()
    j.dropped = 3
    deadline = time.monotonic() + 10
    while not reports:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    w.stop(timeout=5)
    assert reports == [3]
