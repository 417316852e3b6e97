"""audit's writer thread: the bounded buffer and its batches (pure Python)."""

from __future__ import annotations

from glupy.library.audit import _Writer


def test_a_full_buffer_refuses_records(tmp_path):
    w = _Writer(str(tmp_path / "a.jsonl"), max_size=1 << 20, limit=2, fmt=str)
    assert w.add("1\n") and w.add("2\n")
    assert not w.add("3\n"), "the third record does not fit a 2-record buffer"
    w.start()
    w.stop(timeout=5)
    assert not w.is_alive()
    assert (tmp_path / "a.jsonl").read_text() == "1\n2\n"


def test_stop_writes_out_everything_added_before_it(tmp_path):
    w = _Writer(str(tmp_path / "a.jsonl"), max_size=1 << 20, limit=100_000, fmt=str)
    w.start()
    lines = [f"{i}\n" for i in range(20_000)]
    for line in lines:
        assert w.add(line)
    w.stop(timeout=5)
    assert (tmp_path / "a.jsonl").read_text() == "".join(lines)


def test_batches_rotate_at_max_size(tmp_path):
    path = tmp_path / "a.jsonl"
    w = _Writer(str(path), max_size=100, limit=1000, fmt=str)
    w.start()
    for i in range(50):
        w.add(f"{i:09d}\n")
    w.stop(timeout=5)
    rotated = (tmp_path / "a.jsonl.1").read_text()
    assert len(rotated) >= 100
    assert rotated + (path.read_text() if path.exists() else "") == "".join(
        f"{i:09d}\n" for i in range(50))


def test_a_file_moved_away_by_logrotate_is_reopened(tmp_path):
    """logrotate without copytruncate renames the file: later records go to a new file
    at the configured path, none into the renamed one."""
    import time

    path = tmp_path / "a.jsonl"
    w = _Writer(str(path), max_size=1 << 20, limit=1000, fmt=str)
    w.start()
    w.add("before\n")
    deadline = time.monotonic() + 10
    while not (path.exists() and path.read_text() == "before\n"):
        assert time.monotonic() < deadline, "the first record was never written"
        time.sleep(0.01)
    path.rename(tmp_path / "a.jsonl.rotated")
    w.add("after\n")
    w.stop(timeout=5)
    assert (tmp_path / "a.jsonl.rotated").read_text() == "before\n"
    assert path.read_text() == "after\n"
