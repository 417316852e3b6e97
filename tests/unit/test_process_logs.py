"""glupy.local.process helpers that need no glusterfs: log excerpts, state files, mountinfo."""

from __future__ import annotations

from pathlib import Path

from glupy.local import process

LOG = """\
[2026-11-25 17:31:18.162106] I [glusterfsd.c:2767:main] 0-glusterfs: Started
[2026-11-25 17:31:18.163000] W [posix-common.c:996:posix_init] 0-glupy-posix: ulimit
[2026-11-25 17:31:18.168329] W [xlator.c:392:xlator_dynload] 0-xlator: DL open failed [{error=sym}]
[2026-11-25 17:31:18.168358] E [graph.y:211:volume_type] 0-parser: type 'x' is not valid
[2026-11-25 17:31:18.169000] I [bridge.c:10:init] 0-glupy-audit: loading module
Traceback (most recent call last):
  File "x.py", line 1
ValueError: boom
[2026-11-25 17:31:18.170000] I [fuse-bridge.c:7065:fini] 0-fuse: Unmounting
"""


def test_relevant_log_lines(tmp_path: Path) -> None:
    log = tmp_path / "g.log"
    log.write_text(LOG)
    lines = process.relevant_log_lines(log, ["glupy-audit"])
    text = "\n".join(lines)
    assert "DL open failed" in text
    assert "is not valid" in text
    assert "loading module" in text and "ValueError: boom" in text  # continuation lines kept
    assert "ulimit" not in text and "Unmounting" not in text and "Started" not in text
    assert process.relevant_log_lines(log, [], limit=1) == [LOG.splitlines()[3]]
    assert process.relevant_log_lines(tmp_path / "missing.log") == []


def test_tail(tmp_path: Path) -> None:
    log = tmp_path / "g.log"
    log.write_text("".join(f"{i}\n" for i in range(100)))
    assert process.tail(log, 3) == ["97", "98", "99"]
    assert process.tail(tmp_path / "nope") == []


def test_state_round_trip(tmp_path: Path) -> None:
    sdir = process.state_dir_for("/mnt/some where", tmp_path)
    assert sdir.parent == tmp_path and " " not in sdir.name
    assert process.state_dir_for("/mnt/some where/", tmp_path) == sdir
    assert process.state_dir_for("/mnt/other", tmp_path) != sdir
    sdir.mkdir()
    state = process.MountState(
        mountpoint="/mnt/some where",
        state_dir=str(sdir),
        volfile_path=str(sdir / "graph.vol"),
        log_path=str(sdir / "glusterfs.log"),
        pid_file=str(sdir / "glusterfs.pid"),
        pid=123,
        volumes=["glupy-audit"],
    )
    state.save()
    assert process.read_state("/mnt/some where", tmp_path) == state
    assert process.list_mounts(tmp_path) == [state]
    assert process.read_state("/mnt/other", tmp_path) is None


def test_mount_fstype_root() -> None:
    assert process.mount_fstype("/") is not None
    assert process.mount_fstype("/definitely/not/mounted") is None


def test_unescape_mountinfo() -> None:
    assert process._unescape_mountinfo("/mnt/a\\040b\\134c") == "/mnt/a b\\c"


def test_error_text() -> None:
    err = process.MountError("it broke", ["line 1", "line 2"], Path("/x.log"))
    assert str(err) == "it broke\nline 1\nline 2\n(full log: /x.log)"
    assert err.message == "it broke"
