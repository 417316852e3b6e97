"""The security checks through the real CLI (``glupy check/mount/ps``, attach's up-front
check) and secret options through a real glusterfs: values stay out of what glupy shows,
out of the log and the statedump when given as ``@/file``; state files are root-only."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glupy.deploy.config import AttachSpec
from glupy.deploy.ops import DeployError, check_translator
from glupy.local import process
from glupy.runtime import control, security
from glupy.testing import require_mount_privileges

GLUPY = [sys.executable, "-m", "glupy.cli"]
HERE = Path(__file__).parent / "translators"
TOKEN = "tok-5d1c9e0a7b"  # a value to search for everywhere it must not be
PIN = "730194628851"  # long enough never to turn up by chance (timestamps, pids)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GLUPY, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    require_mount_privileges()
    out = {name: tmp_path / name for name in ("code", "src", "mnt", "state")}
    for d in out.values():
        d.mkdir()
    out["code"].chmod(0o755)
    for name in ("trust_probe.py", "secret_probe.py"):
        shutil.copy(HERE / name, out["code"] / name)
        (out["code"] / name).chmod(0o644)
    return out


def _mount_args(d: dict[str, Path], *extra: str) -> list[str]:
    return ["mount", "--state-dir", str(d["state"]), "--python-path", str(d["code"]), *extra,
            str(d["src"]), str(d["mnt"])]


def test_check_refuses_untrusted_code_without_running_it(dirs):
    module = dirs["code"] / "trust_probe.py"
    module.chmod(0o666)
    r = run("check", "trust_probe:TrustProbe", "--python-path", str(dirs["code"]))
    assert r.returncode == 1 and f"refusing to load module trust_probe from {module}" in r.stdout
    assert "NOT OK" in r.stdout and "fops in Python" not in r.stdout
    allowed = run("check", "trust_probe:TrustProbe", "--python-path", str(dirs["code"]),
                  "--allow-untrusted-code")
    assert allowed.returncode == 0 and "warning: refusing" in allowed.stdout


def test_mount_refuses_up_front_and_starts_nothing(dirs):
    (dirs["code"] / "trust_probe.py").chmod(0o666)
    r = run(*_mount_args(dirs, "-t", "trust_probe:TrustProbe"))
    assert r.returncode != 0 and "refusing to load module trust_probe" in r.stderr
    assert process.mount_fstype(dirs["mnt"]) is None
    assert list(dirs["state"].iterdir()) == [], "nothing was started (no state written)"
    ok = run(*_mount_args(dirs, "-t", "trust_probe:TrustProbe", "--allow-untrusted-code"))
    try:
        assert ok.returncode == 0, ok.stderr
        assert "warning: refusing to load module trust_probe" in ok.stderr
        graph = process.read_state(dirs["mnt"], dirs["state"]).volfile_path
        assert "option untrusted-code warn" in Path(graph).read_text()
    finally:
        run("umount", "--state-dir", str(dirs["state"]), str(dirs["mnt"]))


def test_attach_checks_the_same_up_front(dirs):
    (dirs["code"] / "trust_probe.py").chmod(0o666)
    spec = AttachSpec(name="probe", module="trust_probe:TrustProbe", python_path=[str(dirs["code"])])
    with pytest.raises(DeployError, match="refusing to load module trust_probe"):
        check_translator(spec)
    spec.options[security.UNTRUSTED_OPTION] = security.WARN
    assert check_translator(spec)["class"] == "trust_probe:TrustProbe"


def _files_text(paths: list[Path]) -> str:
    return "".join(p.read_text(errors="replace") for p in paths if p.is_file())


def _statedump(pid: int) -> str:
    before = set(glob.glob(f"/var/run/gluster/*.{pid}.dump.*"))
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        new = set(glob.glob(f"/var/run/gluster/*.{pid}.dump.*")) - before
        if new:
            time.sleep(0.5)  # written in one go, but give it a moment to finish
            text = "".join(Path(p).read_text(errors="replace") for p in new)
            for p in new:
                os.unlink(p)
            return text
        time.sleep(0.1)
    raise AssertionError(f"no statedump from pid {pid}")


def test_secret_options_stay_out_of_what_glupy_shows(dirs, tmp_path):
    secret_file = tmp_path / "token"
    secret_file.write_text(TOKEN + "\n")
    secret_file.chmod(0o600)
    r = run(*_mount_args(dirs, "-t", "secret_probe:SecretProbe",
                         "-o", f"token=@{secret_file}", "-o", f"pin={PIN}"))
    assert r.returncode == 0, r.stderr
    try:
        # the literal one is warned about, the file one is not
        assert "pin is a secret option" in r.stderr and "-o pin=@/path/to/file" in r.stderr
        assert "token is a secret" not in r.stderr
        st = process.read_state(dirs["mnt"], dirs["state"])
        digest = os.getxattr(dirs["mnt"], "glupy.probe.token-sha256").decode()
        assert digest == hashlib.sha256(f"{TOKEN}/{PIN}".encode()).hexdigest(), \
            "the translator got both values"
        ps = run("ps", "--state-dir", str(dirs["state"]))
        status = json.dumps(control.request(st.pid, {"cmd": "status"}))
        assert security.REDACTED in status
        dump = _statedump(st.pid)
        sdir = Path(st.state_dir)
        shown = ps.stdout + ps.stderr + status + dump + _files_text(list(sdir.iterdir()))
        assert TOKEN not in shown, "the @file secret leaked"
        assert PIN not in ps.stdout + status + dump
        # state: root-only
        assert stat.S_IMODE(sdir.stat().st_mode) == 0o700
        for f in ("graph.vol", "state.json", "glusterfs.out"):
            assert stat.S_IMODE((sdir / f).stat().st_mode) == 0o600, f
    finally:
        run("umount", "--state-dir", str(dirs["state"]), str(dirs["mnt"]))


def test_a_bad_secret_value_fails_init_without_showing_it(dirs):
    # glupy mount checks option values before it starts glusterfs: refused there
    r = run(*_mount_args(dirs, "-t", "secret_probe:SecretProbe", "-o", "pin=99999x"))
    assert r.returncode != 0 and "option 'pin': invalid value (secret, not shown)" in r.stderr
    assert "99999x" not in r.stderr.replace("pin=99999x", "")  # only the echoed command line
    # a volfile with it (glusterfs's own init fails) does not show it either
    from glupy.local import volfile

    graph = volfile.single_process_graph(dirs["src"], [("secret_probe:SecretProbe", {"pin": "99999x"})],
                                         python_path=[str(dirs["code"])])
    with pytest.raises(process.MountError):
        process.mount_graph(graph, dirs["mnt"], source_dir=dirs["src"], state_dir=dirs["state"],
                            timeout=20)
    log = (process.state_dir_for(dirs["mnt"], dirs["state"]) / "glusterfs.log").read_text()
    errors = [line for line in log.splitlines() if "] E [" in line]
    assert errors and not any("99999x" in line for line in errors)
