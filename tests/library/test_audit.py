"""audit on a real FUSE graph: the records match what the client did."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

AUDIT = "glupy.library.audit:Audit"


def _records(path: Path, until: str = "", timeout: float = 10.0) -> list[dict]:
    """The records, once one for fop ``until`` is there (the writer is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        recs = [json.loads(line) for line in lines]
        if any(r["fop"] == until for r in recs) or time.monotonic() > deadline:
            return recs
        time.sleep(0.05)


def test_records_every_fop_with_caller_result_and_latency(glupy_mount, tmp_path):
    log = tmp_path / "audit.jsonl"
    m = glupy_mount([(AUDIT, {"log-file": str(log)})])
    f = m.mountpoint / "hello.txt"
    f.write_bytes(b"x" * 5000)
    assert f.read_bytes() == b"x" * 5000
    with contextlib.suppress(FileNotFoundError):
        os.stat(m.mountpoint / "missing")
    os.unlink(f)
    recs = _records(log, until="unlink")
    by_fop: dict[str, list[dict]] = {}
    for r in recs:
        by_fop.setdefault(r["fop"], []).append(r)
    create = by_fop["create"][0]
    assert create["path"] == "/hello.txt" and create["errno"] == 0
    assert create["uid"] == os.getuid() and create["pid"] > 0 and create["latency_us"] > 0
    writes = by_fop["writev"]
    assert sum(r["op_ret"] for r in writes) == 5000
    assert all(r["path"] == "/hello.txt" and len(r["gfid"]) == 36 for r in writes)
    misses = [r for r in by_fop["lookup"] if r["path"] == "/missing"]
    assert misses and misses[0]["errno"] == 2 and misses[0]["op_ret"] == -1
    assert any(r["path"] == "/hello.txt" for r in by_fop["unlink"])


def test_fops_and_path_prefix_select_what_is_recorded(glupy_mount, tmp_path):
    log = tmp_path / "audit.jsonl"
    m = glupy_mount([(AUDIT, {"log-file": str(log), "fops": "create,unlink",
                              "path-prefix": "/keep"})])
    (m.mountpoint / "keep").mkdir()
    (m.mountpoint / "skip").mkdir()
    for d in ("keep", "skip"):
        (m.mountpoint / d / "a").write_bytes(b"1")
        os.unlink(m.mountpoint / d / "a")
    recs = _records(log, until="unlink")
    time.sleep(0.3)
    recs = _records(log, until="unlink")
    assert sorted((r["fop"], r["path"]) for r in recs) == [("create", "/keep/a"), ("unlink", "/keep/a")]
    # only the selected fops are recorded, in C: none runs in Python
    assert any("fops in Python: none; recorded in C by glupy.Journal: create, unlink" in line
               for line in m.log_tail(400))
    assert not {"create", "unlink", "mkdir", "lookup"} & set(m.python_calls())


def test_rotation_by_size(glupy_mount, tmp_path):
    log = tmp_path / "audit.jsonl"
    m = glupy_mount([(AUDIT, {"log-file": str(log), "max-size": "4KB"})])
    for i in range(200):
        (m.mountpoint / f"f{i}").write_bytes(b"")
    deadline = time.monotonic() + 10
    while not Path(str(log) + ".1").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Path(str(log) + ".1").exists()
    assert Path(str(log) + ".1").stat().st_size >= 4096


def test_bad_fops_option_fails_the_mount(glupy_mount, tmp_path):
    import pytest

    from glupy.local.process import MountError

    with pytest.raises(MountError) as e:
        glupy_mount([(AUDIT, {"log-file": str(tmp_path / "a.jsonl"), "fops": "lookup,frobnicate"})])
    assert "frobnicate" in str(e.value) + "\n".join(e.value.log_lines)


def test_records_reach_the_file_without_more_fops(glupy_mount, tmp_path):
    """The writer flushes on its own clock: the last fop's record is not held back
    until the next fop (or the buffer filling up)."""
    log = tmp_path / "audit.jsonl"
    m = glupy_mount([(AUDIT, {"log-file": str(log), "fops": "mkdir"})])
    (m.mountpoint / "only").mkdir()
    recs = _records(log, until="mkdir", timeout=2.0)
    assert [(r["fop"], r["path"]) for r in recs] == [("mkdir", "/only")]


def test_a_full_queue_drops_records_and_the_log_says_so(glupy_mount, tmp_path):
    """queue-size 1: the journal (in C) holds one record between two takes of the
    writer (every 0.05 s), so a burst of fops overflows it; the fops go on."""
    log = tmp_path / "audit.jsonl"
    m = glupy_mount([(AUDIT, {"log-file": str(log), "queue-size": "1", "fops": "stat,lookup"})])
    for _ in range(2000):
        os.stat(m.mountpoint)
    deadline = time.monotonic() + 10
    while not any("records dropped so far" in line for line in m.log_tail(400)):
        assert time.monotonic() < deadline, "no drop was reported"
        time.sleep(0.05)
    written = log.read_text().count("\n") if log.exists() else 0
    assert written < 2000


def test_paths_are_json_as_python_writes_them(glupy_mount, tmp_path):
    """The lines are formatted in C: a path with quotes, backslashes, control and
    non-ASCII characters (one outside the BMP), and bytes that are not UTF-8, reads
    back as the path decoded with surrogateescape, and the line is the text Python's
    json module makes of it."""
    log = tmp_path / "audit.jsonl"
    m = glupy_mount([(AUDIT, {"log-file": str(log), "fops": "mkdir"})])
    names = ['q"b\\s\tn', "caf\u00e9-\U0001f600", "\x7f\x01"]
    raw = [b"bad\xff", b"cut\xe2\x82", b"sur\xed\xa0\x80", b"long\xf0\x90\x80"]
    for n in names:
        os.mkdir(m.mountpoint / n)
    for r in raw:
        os.mkdir(os.path.join(os.fsencode(m.mountpoint), r))
    expected = ["/" + n for n in names] + ["/" + os.fsdecode(r) for r in raw]
    deadline = time.monotonic() + 10
    while True:
        lines = log.read_text(errors="surrogateescape").splitlines() if log.exists() else []
        if len(lines) >= len(expected) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    recs = [json.loads(line) for line in lines]
    assert [r["path"] for r in recs] == expected
    assert all(abs(r["time"] - time.time()) < 60 and r["latency_us"] > 0 for r in recs)
    assert all(r["op_ret"] == 0 and r["errno"] == 0 and r["uid"] == os.getuid() for r in recs)
    for line, r in zip(lines, recs, strict=True):
        assert line.isascii()
        assert f'"path": {json.dumps(r["path"])}, ' in line  # ensure_ascii, as Python writes it
