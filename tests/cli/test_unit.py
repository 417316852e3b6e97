"""`glupy unit`: the systemd unit's ExecStart really mounts (with the Python bridge),
logs where it says, and a SIGTERM (systemctl stop) unmounts."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from glupy.cli.commands import main
from glupy.local import process

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (FUSE mounts)")


def test_the_unit_mounts_and_stops(tmp_path: Path) -> None:
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    (src / "kept").write_text("x")
    out = CliRunner().invoke(main, ["unit", "-t", "glupy.library.readonly", str(src), str(mnt)])
    assert out.exit_code == 0, out.output
    assert f"RequiresMountsFor={src}" in out.output and "WantedBy=multi-user.target" in out.output
    line = next(ln for ln in out.output.splitlines() if ln.startswith("ExecStart="))
    argv = shlex.split(line[len("ExecStart="):])
    i = argv.index("--log-file")
    assert argv[i + 1] == f"/var/log/glusterfs/glupy-{str(mnt).strip('/').replace('/', '-')}.log"
    argv[i + 1] = str(tmp_path / "log" / "mnt.log")  # keep the test's log out of /var/log
    env = dict(os.environ, GLUPY_STATE_DIR=str(tmp_path / "state"))
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while process.mount_fstype(mnt) != "fuse.glusterfs" or not (mnt / "kept").exists():
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "not mounted"
            time.sleep(0.1)
        with pytest.raises(OSError):  # readonly, from the unit's -t
            (mnt / "new").write_text("y")
        assert "glupy-readonly" in (tmp_path / "log" / "mnt.log").read_text()
    finally:
        proc.send_signal(signal.SIGTERM)  # what systemctl stop sends
        proc.wait(30)
    output = proc.stdout.read() if proc.stdout else ""
    assert process.mount_fstype(mnt) is None, f"left mounted; glupy mount said:\n{output}"


def test_bad_input_is_refused() -> None:
    out = CliRunner().invoke(main, ["unit", "-o", "x=1", "/srv", "/mnt"])
    assert out.exit_code != 0 and "comes before any -t" in out.output


def test_mount_logs_under_var_log_unless_a_state_dir_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    from glupy.cli.commands import _default_log_file

    monkeypatch.delenv("GLUPY_STATE_DIR", raising=False)
    log = _default_log_file("/mnt/data", None)
    assert log is not None and log.startswith("/var/log/glusterfs/glupy-mnt-data-")
    assert _default_log_file("/mnt/data", Path("/tmp/s")) is None
    monkeypatch.setenv("GLUPY_STATE_DIR", "/tmp/x")
    assert _default_log_file("/mnt/data", None) is None
