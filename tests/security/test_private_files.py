"""What glupy writes is private by default: the audit file (0600, or mode/group for a log
shipper, kept across rotation), brick state and volfiles, the deploy filter's log."""

from __future__ import annotations

import grp
import os
import stat
import time
from pathlib import Path

import pytest

from glupy.deploy import filter as gfilter

AUDIT = "glupy.library.audit:Audit"


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _wait_for(p: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not (p.exists() and p.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_the_audit_file_keeps_its_mode_across_rotation(glupy_mount, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("")
    path.chmod(0o644)  # a file left by an older version: made private on open
    m = glupy_mount([(AUDIT, {"log-file": str(path), "max-size": "4KB", "mode": "0640",
                              "group": str(os.getgid())})])
    for i in range(200):
        (m.mountpoint / f"f{i}").write_bytes(b"")
    deadline = time.monotonic() + 10
    while not (tmp_path / "a.jsonl.1").exists():
        assert time.monotonic() < deadline, "never rotated"
        time.sleep(0.05)
    assert _mode(path) == 0o640 and _mode(tmp_path / "a.jsonl.1") == 0o640


def test_audit_file_is_root_only_by_default(glupy_mount, tmp_path):
    log = tmp_path / "new" / "dirs" / "audit.jsonl"
    m = glupy_mount([(AUDIT, {"log-file": str(log)})])
    (m.mountpoint / "f").write_text("x")
    _wait_for(log)
    assert _mode(log) == 0o600 and log.stat().st_uid == 0
    # glusterfs runs with umask 0: the directories audit made are not world-writable
    assert _mode(log.parent) == _mode(log.parent.parent) == 0o755


def test_audit_mode_and_group_for_a_log_shipper_survive_rotation(glupy_mount, tmp_path):
    log = tmp_path / "audit.jsonl"
    group = grp.getgrgid(4).gr_name if _has_gid(4) else str(os.getgid())  # adm on Debian
    m = glupy_mount([(AUDIT, {"log-file": str(log), "mode": "0640", "group": group,
                              "max-size": "4KB"})])
    for i in range(60):
        (m.mountpoint / f"file-{i:03d}").write_text("x")
    rotated = Path(str(log) + ".1")
    _wait_for(rotated)
    _wait_for(log)
    for p in (log, rotated):
        assert _mode(p) == 0o640, p
        assert grp.getgrgid(p.stat().st_gid).gr_name == group or str(p.stat().st_gid) == group


def _has_gid(gid: int) -> bool:
    try:
        grp.getgrgid(gid)
        return True
    except KeyError:
        return False


@pytest.mark.parametrize("options, error", [
    ({"mode": "0666"}, "without group/other write"),
    ({"mode": "rw-r--r--"}, "not an octal mode"),
    ({"group": "no-such-group-zz"}, "no group named"),
])
def test_bad_audit_mode_or_group_fails_the_mount(glupy_mount, tmp_path, options, error):
    from glupy.local import process

    with pytest.raises(process.MountError, match=error):
        glupy_mount([(AUDIT, {"log-file": str(tmp_path / "a.jsonl"), **options})])


def test_brick_state_and_volfile_are_root_only(glupy_brick_mount):
    m = glupy_brick_mount([("glupy.library.passthrough", {})])
    for vol in (m.brick_volfile_path, m.client_volfile_path):
        assert _mode(vol) == 0o600, vol
        assert _mode(vol.parent) == 0o700, vol.parent


def test_the_filter_log_is_root_only(tmp_path):
    gfilter._log(tmp_path, "something happened")
    assert _mode(tmp_path / gfilter.LOG_NAME) == 0o600
