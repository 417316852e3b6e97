"""Trusted code paths in a real glusterfs process (root, FUSE): what the embedded
interpreter's sys.path holds, refusal of code others can change at init, on reload and
for imports made later in a fop, and ``option untrusted-code warn`` for test setups."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from glupy.local import daemon, process, volfile
from glupy.runtime import control, security
from glupy.testing import require_mount_privileges

HERE = Path(__file__).parent / "translators"
PROBE = "glupy.probe.interpreter"
IMPORT = "glupy.probe.import."
VERSION = "glupy.probe.version"


@pytest.fixture
def code(tmp_path: Path) -> Path:
    """A root-owned 0755 directory holding a copy of the probe translator."""
    require_mount_privileges()
    d = tmp_path / "code"
    d.mkdir()
    d.chmod(0o755)
    shutil.copy(HERE / "trust_probe.py", d / "trust_probe.py")
    (d / "trust_probe.py").chmod(0o644)
    return d


class Mounter:
    """Mounts the probe over a fresh backend with glupy.local.process (not the fixture: a
    refused mount must be inspected afterwards: no mount, no process)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.n = 0
        self.mounted: list[tuple[Path, Path]] = []

    def __call__(self, python_path: Path, options: dict[str, str] | None = None,
                 spec: str = "trust_probe:TrustProbe") -> tuple[Path, process.MountState]:
        self.n += 1
        backend, mnt, state = (self.tmp / f"{what}{self.n}" for what in ("backend", "mnt", "state"))
        backend.mkdir()
        mnt.mkdir()
        graph = volfile.single_process_graph(backend, [(spec, options or {})],
                                             python_path=[python_path])
        self.last = (mnt, state)
        st = process.mount_graph(graph, mnt, source_dir=backend, state_dir=state, timeout=30)
        self.mounted.append((mnt, state))
        return mnt, st

    def log_of_last(self) -> str:
        mnt, state = self.last
        return (process.state_dir_for(mnt, state) / "glusterfs.log").read_text(errors="replace")

    def refused(self, python_path: Path, options: dict[str, str] | None = None) -> str:
        """Mount must fail; returns the error, after checking nothing is left behind."""
        with pytest.raises(process.MountError) as e:
            self(python_path, options)
        mnt, state = self.last
        assert process.mount_fstype(mnt) is None, "a refused translator left a mount"
        volfile_path = str(process.state_dir_for(mnt, state) / "graph.vol")
        assert daemon.find_pid(volfile_path) is None, "glusterfs still runs"
        log = self.log_of_last()
        refusals = [line for line in log.splitlines() if "refusing to load" in line]
        assert len(refusals) == 1, f"one log line names the path and the fix: {refusals}"
        assert "chmod go-w" in refusals[0] and "untrusted-code warn" in refusals[0]
        return str(e.value)

    def close(self) -> None:
        for mnt, state in reversed(self.mounted):
            process.unmount(mnt, state_dir=state)


@pytest.fixture
def mount(tmp_path: Path):
    m = Mounter(tmp_path)
    yield m
    m.close()


def _xattr(mnt: Path, name: str) -> object:
    return json.loads(os.getxattr(mnt, name))


def test_the_interpreter_has_no_current_directory_and_no_user_site(code, mount, tmp_path,
                                                                   monkeypatch):
    home = tmp_path / "home"
    user_site = home / ".local" / "lib" / "python3.11" / "site-packages"
    user_site.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    # glusterfs inherits these; an empty or relative entry would name the current directory
    monkeypatch.setenv("PYTHONPATH", ":relative-dir")
    monkeypatch.setenv("PYTHONUSERBASE", str(home / ".local"))
    mnt, _ = mount(code)
    seen = _xattr(mnt, PROBE)
    assert isinstance(seen, dict)
    bad = [p for p in seen["path"] if not p or not os.path.isabs(p)]
    assert bad == [], f"sys.path inside glusterfs holds the current directory: {bad}"
    assert not any(p.startswith(str(home)) for p in seen["path"]), seen["path"]
    assert seen["user_site"] is False
    assert seen["dont_write_bytecode"] is True
    assert seen["meta_path"][0] == "_Guard"
    assert str(code) in seen["path"]
    # glusterfs runs with umask 0: a __pycache__ it wrote would be world-writable
    assert not (code / "__pycache__").exists()


@pytest.mark.parametrize("what", ["module file 0666", "python-path dir 0777",
                                  "python-path dir not root's", "__pycache__ 0777"])
def test_init_refuses_code_others_can_change(code, mount, what):
    if what == "module file 0666":
        culprit = code / "trust_probe.py"
        culprit.chmod(0o666)
    elif what == "python-path dir 0777":
        culprit = code
        code.chmod(0o777)
    elif what == "python-path dir not root's":
        culprit = code
        os.chown(code, 65534, 65534)
    else:
        culprit = code / "__pycache__"
        culprit.mkdir()
        culprit.chmod(0o777)
    error = mount.refused(code)
    assert "refusing to load" in error and f"{culprit} is " in error, error


def test_an_untrusted_sys_path_entry_fails_init(code, mount, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("PYTHONPATH", str(shared))
    error = mount.refused(code)
    assert f"sys.path entry {shared}" in error


def test_untrusted_code_warn_loads_and_says_so(code, mount):
    (code / "trust_probe.py").chmod(0o666)
    mnt, _ = mount(code, {security.UNTRUSTED_OPTION: security.WARN})
    assert _xattr(mnt, VERSION) == 1
    log = mount.log_of_last()
    assert "this process loads code from paths non-root users can change" in log
    assert "loading it anyway" in log and str(code / "trust_probe.py") in log


def test_reload_refuses_code_that_became_untrusted(code, mount):
    mnt, st = mount(code)
    module = code / "trust_probe.py"
    module.write_text(module.read_text().replace("CODE_VERSION = 1", "CODE_VERSION = 2"))
    module.chmod(0o666)
    answer = control.request(st.pid, {"cmd": "reload"})
    assert not answer["ok"]
    assert "refusing to load module trust_probe" in answer["results"][0]["error"]
    assert _xattr(mnt, VERSION) == 1, "the old code keeps running"
    module.chmod(0o644)
    assert control.request(st.pid, {"cmd": "reload"})["ok"]
    assert _xattr(mnt, VERSION) == 2


def test_an_import_in_a_fop_is_checked_too(code, mount, tmp_path):
    marker = tmp_path / "helper-ran"
    helper = code / "later_helper.py"
    helper.write_text(f"open({str(marker)!r}, 'w').close()\n")
    helper.chmod(0o666)
    mnt, _ = mount(code)
    with pytest.raises(OSError) as e:
        os.getxattr(mnt, IMPORT + "later_helper")
    assert e.value.errno == errno.EACCES
    assert not marker.exists(), "refused code ran"
    assert f"refusing to load module later_helper from {helper}" in mount.log_of_last()
    helper.chmod(0o644)
    assert _xattr(mnt, IMPORT + "later_helper") == "imported" and marker.exists()


def test_a_brick_refuses_untrusted_code_and_does_not_start(code, tmp_path):
    from glupy.local import brick

    (code / "trust_probe.py").chmod(0o666)
    backend, state = tmp_path / "brick-backend", tmp_path / "brick-state"
    backend.mkdir()
    with pytest.raises(brick.BrickError) as e:
        brick.serve(backend, [("trust_probe:TrustProbe", {})], state, python_path=[code])
    assert f"refusing to load module trust_probe from {code / 'trust_probe.py'}" in str(e.value)
    left = [p for p in os.listdir("/proc")
            if p.isdigit() and any(str(state) in a for a in daemon.cmdline(int(p)))]
    assert left == [], "no glusterfsd left running the refused graph"
