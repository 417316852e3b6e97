"""Translator.upcall() on real GlusterFS: a glusterfsd brick with features/upcall and
two FUSE clients; what client B changes reaches client A's Python translator as a
typed, copied event, and still travels up the graph."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from rig import read_log, two_clients

from glupy import gfid_str

RECORDER = ("recorder:Recorder", {})


def events(mnt: Path) -> list[dict[str, Any]]:
    return json.loads(os.getxattr(mnt, "glupy.upcalls"))


def gfid_of(backend: Path, rel: str) -> str:
    return gfid_str(os.getxattr(backend / rel, "trusted.gfid"))


def wait_event(mnt: Path, pred: Any, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        for e in events(mnt):
            if pred(e):
                return e
        if time.monotonic() > deadline:
            raise AssertionError(f"no matching upcall within {timeout} s; got {events(mnt)}")
        time.sleep(0.02)


@pytest.fixture
def rig(tmp_path: Path):  # type: ignore[no-untyped-def]
    with two_clients(tmp_path, [RECORDER]) as r:
        yield r


def test_chmod_write_create_rename_reach_the_other_client(rig) -> None:  # type: ignore[no-untyped-def]
    (rig.b / "d").mkdir()
    (rig.b / "d" / "f").write_bytes(b"12345")
    # client A uses d and d/f: the brick now sends A invalidations for them
    assert os.stat(rig.a / "d" / "f").st_size == 5
    os.listdir(rig.a / "d")
    d, f = gfid_of(rig.backend, "d"), gfid_of(rig.backend, "d/f")

    os.chmod(rig.b / "d" / "f", 0o600)
    e = wait_event(rig.a, lambda e: e["gfid"] == f and "MODE" in e["flags"])
    assert e["kind"] == "CACHE_INVALIDATION"
    assert e["stat"]["mode"] & 0o7777 == 0o600 and e["stat"]["gfid"] == f
    assert e["client_uid"] is None  # protocol/client does not fill it in (the brick addresses A by it)

    with open(rig.b / "d" / "f", "ab") as fh:
        fh.write(b"678")
    wait_event(rig.a, lambda e: e["gfid"] == f and "SIZE" in e["flags"] and e["stat"]["size"] == 8)

    # a new name in d: an invalidation of d itself (no names are sent)
    (rig.b / "d" / "new").write_bytes(b"")
    e = wait_event(rig.a, lambda e: e["gfid"] == d and "TIMES" in e["flags"])
    assert e["stat"]["type"] == "DIR"

    # rename: an invalidation of the file with its new (and old) parent
    (rig.b / "d2").mkdir()
    os.rename(rig.b / "d" / "f", rig.b / "d2" / "g")
    d2 = gfid_of(rig.backend, "d2")
    e = wait_event(rig.a, lambda e: e["gfid"] == f and "RENAME" in e["flags"])
    assert "PARENT_TIMES" in e["flags"]
    assert e["parent"]["gfid"] == d2 and e["old_parent"]["gfid"] == d


def test_a_failing_hook_is_logged_and_the_event_still_goes_up(tmp_path: Path) -> None:
    with two_clients(tmp_path, [RECORDER, ("recorder:Raising", {})]) as rig:
        (rig.b / "f").write_bytes(b"x")
        os.stat(rig.a / "f")
        f = gfid_of(rig.backend, "f")
        os.chmod(rig.b / "f", 0o640)
        # the top Recorder got it through the failing one below
        wait_event(rig.a, lambda e: e["gfid"] == f and "MODE" in e["flags"])
        log = read_log(rig.a_log)
        assert "upcall() of recorder:Raising failed (the event is still passed on)" in log
        assert "upcall hook failure (expected by the test)" in log
        # and the client keeps working (the kernel may keep the old mode for its 1 s
        # attribute timeout: Recorder does not invalidate it)
        deadline = time.monotonic() + 3
        while os.stat(rig.a / "f").st_mode & 0o777 != 0o640:
            assert time.monotonic() < deadline, "chmod never seen on client A"
            time.sleep(0.05)


def test_no_upcalls_without_cache_invalidation(tmp_path: Path) -> None:
    with two_clients(tmp_path, [RECORDER], cache_invalidation=False) as rig:
        (rig.b / "f").write_bytes(b"x")
        os.stat(rig.a / "f")
        os.chmod(rig.b / "f", 0o640)
        (rig.b / "g").write_bytes(b"y")
        time.sleep(0.5)
        assert events(rig.a) == []
