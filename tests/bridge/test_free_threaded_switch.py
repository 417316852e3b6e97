"""The bridge built with its free-threading switch (GLUPY_FREE_THREADED, core.h) on this
GIL interpreter: the shared state is then guarded without the GIL (atomic counters,
no shared free lists, no cached wind target, a reload's old methods kept), and the
fops must come out the same.  No free-threaded CPython is packaged for the Debian
releases tested here: .ci/free-threaded.sh builds one (3.13t, from Debian's source)
and runs this folder with it, where the switch is on by itself and the GIL is off.

A copy of this checkout is built with GLUPY_FREE_THREADED=1 (glupy._core and the
bridge, ~12 s) and mounted in real glusterfs processes: FUSE -> Python -> posix for
every fop, and FUSE -> Python -> io-threads -> posix for fops whose replies and
reloads come on other threads.  Then the rest of this folder runs against the copy
(~3 min): gather, glupy.Lock, failures, hand-offs, references, reloads, all through the
task lock (glupy.h glupy_task_lock) instead of the GIL alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import pytest
from exercise import FUSE_REACHABLE_BY_EXERCISE, exercise_all
from test_refs import statedump, wait_until

import glupy
from glupy.library.passthrough import COUNTERS_XATTR
from glupy.local import process, volfile
from glupy.local.volfile import Graph, Volume
from glupy.runtime import control
from glupy.runtime.procstatus import STATUS_XATTR
from glupy.testing import require_mount_privileges

CHECKOUT = Path(glupy.__file__).resolve().parent.parent
FREE_THREADED_CPYTHON = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
HERE = Path(__file__).parent
COPIED = ("setup.py", "pyproject.toml", "MANIFEST.in", "README.md")
PASS = ("glupy.library.passthrough:PassThrough", {"track-ctx": "on"})
HANDING_OFF = ("glupy.library.passthrough:PassThrough", {"track-ctx": "on", "hand-off": "on"})

# every fop in Python, awaiting its reply (which io-threads sends on its own threads)
VERSIONED = '''
from glupy import Dict, replies
from glupy.library.passthrough import PassThrough

VERSION = {version!r}


class Versioned(PassThrough):
    async def getxattr(self, loc, name, xdata):
        if name != "glupy.version":
            return await super().getxattr(loc, name, xdata)
        value = VERSION.encode()
        return replies.GetxattrReply(Dict.from_mapping({{name: value}}), None, op_ret=len(value))
'''


@pytest.fixture(scope="module")
def switched_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this checkout built with the switch on."""
    if not (CHECKOUT / "setup.py").exists():
        pytest.skip("glupy is installed, not a checkout: nothing to rebuild")
    root = tmp_path_factory.mktemp("free-threaded")
    for name in COPIED:
        shutil.copy2(CHECKOUT / name, root / name)
    shutil.copytree(CHECKOUT / "glupy", root / "glupy",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "build-info.json"))
    env = dict(os.environ, GLUPY_FREE_THREADED="1", PYTHONPATH=str(root))
    done = subprocess.run([sys.executable, "-m", "glupy._build"], cwd=root, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


@pytest.fixture(scope="module")
def switched(switched_copy: Path) -> str:
    """The volfile type of the copy's bridge."""
    so = switched_copy / "glupy" / "_bridge" / "glupy.so"
    assert so.exists()
    return os.path.relpath(so.with_suffix(""), volfile.xlatordir())


def _status(mnt: Path) -> dict:
    return json.loads(os.getxattr(mnt, STATUS_XATTR))


def test_the_switch_reaches_both_modules(switched_copy):
    probe = "import glupy._core as c; print(c.__file__, c.FREE_THREADED)"
    on_by_itself = "1" if FREE_THREADED_CPYTHON else "0"
    for where, expected in ((switched_copy, "1"), (CHECKOUT, on_by_itself)):
        out = subprocess.run([sys.executable, "-c", probe], cwd=where, capture_output=True,
                             text=True, env=dict(os.environ, PYTHONPATH=str(where)), check=True)
        path, flag = out.stdout.split()
        assert Path(path).is_relative_to(where) and flag == expected, out.stdout


@pytest.mark.skipif(FREE_THREADED_CPYTHON, reason="a free-threaded CPython switches every build")
def test_a_bridge_and_core_built_apart_refuse_each_other(glupy_mount, switched_copy, tmp_path):
    """The switched bridge beside an unswitched glupy._core (whose free lists would be
    shared without a lock): the mount fails and the log says which was built how."""
    mixed = tmp_path / "mixed"
    shutil.copytree(switched_copy, mixed, ignore=shutil.ignore_patterns("__pycache__"))
    for core in (mixed / "glupy").glob("_core.*.so"):
        core.unlink()
    for core in (CHECKOUT / "glupy").glob("_core.*.so"):
        shutil.copy2(core, mixed / "glupy" / core.name)
    so = mixed / "glupy" / "_bridge" / "glupy.so"
    with pytest.raises(process.MountError) as info:
        glupy_mount([PASS], glupy_type=os.path.relpath(so.with_suffix(""), volfile.xlatordir()),
                    timeout=20)
    assert ("the C driver refused its setup: ImportError: glupy._core was built without "
            "GLUPY_FREE_THREADED, the bridge with: rebuild both" in str(info.value)), str(info.value)


@pytest.mark.skipif(not FREE_THREADED_CPYTHON,
                    reason="a GIL CPython (.ci/free-threaded.sh builds one without)")
def test_a_free_threaded_cpython_serves_fops_without_the_gil(glupy_mount):
    """This tree's own bridge on a free-threaded CPython: switched by itself, and nothing
    the translator and the driver import (cffi's modules, glupy._core) brings the GIL
    back, so the fops of this whole folder run with threads truly in parallel."""
    m = glupy_mount([PASS])
    before = _status(m.mountpoint)
    assert before["free_threaded"] is True and before["gil_enabled"] is False, before
    assert exercise_all(str(m.mountpoint))
    after = _status(m.mountpoint)
    assert after["gil_enabled"] is False and after["tasks_in_flight"] == 0, after


@pytest.mark.parametrize("passing", [PASS, HANDING_OFF], ids=["await", "hand-off"])
def test_every_fuse_fop_through_the_switched_bridge(glupy_mount, switched, passing):
    m = glupy_mount([passing], glupy_type=switched)
    assert _status(m.mountpoint)["free_threaded"] is True
    checked = exercise_all(str(m.mountpoint))  # asserts every result itself
    assert checked
    calls = json.loads(os.getxattr(m.mountpoint, COUNTERS_XATTR))
    missing = sorted(f for f in FUSE_REACHABLE_BY_EXERCISE if not calls.get(f))
    assert not missing, f"fops that never reached Python: {missing}"
    assert calls.get("release", 0) > 0 and calls.get("releasedir", 0) > 0
    status = _status(m.mountpoint)
    assert status["tasks_in_flight"] == 0, status


# one reply object returned by every getxattr of one name, its dict replaced now and then:
# with io-threads above, fops enter Python on four threads at once (without a GIL, truly)
SHARED_REPLY = '''
from glupy import Dict, Translator, replies

VALUES = (b"one", b"two")


class SharedReply(Translator):
    def init(self):
        self.calls = 0
        self.shared = replies.GetxattrReply(Dict.from_mapping({"user.shared": VALUES[0]}), None,
                                            op_ret=3)

    async def getxattr(self, loc, name, xdata):
        if name != "user.shared":
            return self.child.getxattr(loc, name, xdata)
        self.calls += 1
        if self.calls % 5 == 0:
            self.shared.dict = Dict.from_mapping({"user.shared": VALUES[self.calls % 2]})
        assert self.shared.xdata is None
        return self.shared
'''


@pytest.mark.parametrize("which", ["switched", "this checkout's"])
def test_one_reply_returned_by_fops_on_several_threads(tmp_path, switched, which):
    """Reading a reply's field stores it, setting one changes the reply, and returning it
    converts its fields and unwinds them without the GIL: the reply's own lock (core.h
    GLUPY_BEGIN_OBJECT_LOCK) and the values held until the unwind returns keep each
    fop's answer whole while other threads do the same to that one object."""
    bridge = switched if which == "switched" else volfile.bridge_type()
    require_mount_privileges()
    mods, backend, mnt = tmp_path / "mods", tmp_path / "backend", tmp_path / "mnt"
    for d in (mods, backend, mnt):
        d.mkdir()
    (mods / "shared_reply_ft.py").write_text(SHARED_REPLY)
    g = Graph()
    g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
    g.add(Volume("py", bridge, {"module": "shared_reply_ft:SharedReply",
                                  "python-path": str(mods)}, ["posix"]))
    g.add(Volume("iot", "performance/io-threads", {"thread-count": "4"}, ["py"]))
    with process.mounted(g, mnt, source_dir=backend, state_dir=tmp_path / "state"):
        seen: list[bytes] = []
        errors: list[BaseException] = []

        def ask() -> None:
            try:
                for _ in range(300):
                    seen.append(os.getxattr(mnt, "user.shared"))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert len(seen) == 1200 and set(seen) <= {b"one", b"two"}, set(seen)
        status = _status(mnt)
        assert status["tasks_in_flight"] == 0, status
        (mine,) = status["translators"]
        assert mine["errors"] == 0 and mine["python_calls"]["getxattr"] >= 1200, mine


def test_a_quiet_process_lets_go_of_what_fops_referenced(tmp_path):
    """Fops that enter on FUSE's thread and end on io-threads' (PassThrough awaiting, with
    fd contexts): once nothing runs, GlusterFS holds no fd for them.  A free-threaded
    CPython frees what FUSE's thread made and io-threads dropped only when FUSE's thread
    runs Python again, or at a collection: glupy.runtime.latefrees runs one."""
    require_mount_privileges()
    backend, mnt = tmp_path / "backend", tmp_path / "mnt"
    for d in (backend, mnt):
        d.mkdir()
    g = Graph()
    g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
    g.add(Volume("iot", "performance/io-threads", {"thread-count": "4"}, ["posix"]))
    g.add(Volume("py", volfile.bridge_type(), {"module": PASS[0], **PASS[1]}, ["iot"]))
    with process.mounted(g, mnt, source_dir=backend, state_dir=tmp_path / "state") as state:
        def work(i: int) -> None:
            for n in range(50):
                p = mnt / f"f{i}-{n}"
                p.write_bytes(b"x" * 100)
                assert p.read_bytes() == b"x" * 100

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        dumps = tmp_path / "dumps"
        quiet = wait_until(lambda: (d := statedump(state.pid, dumps)).pool("fd_t") == 0 and d, 10, 0.5)
        assert quiet, f"fds still open in GlusterFS: {statedump(state.pid, dumps).pool('fd_t')}"
        calls = json.loads(os.getxattr(mnt, COUNTERS_XATTR))
        assert calls["create"] + calls["open"] >= 400, calls
        collections = _status(mnt)["late_free_collections"]
        assert collections >= 1 if FREE_THREADED_CPYTHON else collections == 0, collections


@pytest.fixture
def threaded_mount(tmp_path, switched):
    """FUSE -> Versioned (the switched bridge) -> io-threads -> posix."""
    require_mount_privileges()
    mods, backend, mnt = tmp_path / "mods", tmp_path / "backend", tmp_path / "mnt"
    for d in (mods, backend, mnt):
        d.mkdir()
    module = mods / "versioned_ft.py"
    module.write_text(VERSIONED.format(version="v1"))
    g = Graph()
    g.add(Volume("posix", "storage/posix", {"directory": str(backend)}))
    g.add(Volume("iot", "performance/io-threads", {"thread-count": "4"}, ["posix"]))
    g.add(Volume("py", switched, {"module": "versioned_ft:Versioned", "python-path": str(mods)},
                 ["iot"]))
    with process.mounted(g, mnt, source_dir=backend, state_dir=tmp_path / "state") as state:
        yield mnt, module, state


def test_fops_on_several_threads_and_a_reload(threaded_mount):
    mnt, module, state = threaded_mount
    assert _status(mnt)["free_threaded"] is True
    assert os.getxattr(mnt, "glupy.version") == b"v1"
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            p = mnt / f"f{i}"
            for n in range(40):
                data = f"{i}:{n}".encode() * 100
                p.write_bytes(data)
                assert p.read_bytes() == data
                os.setxattr(p, "user.n", str(n).encode())
                assert os.getxattr(p, "user.n") == str(n).encode()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    module.write_text(VERSIONED.format(version="v2"))
    st = module.stat()
    os.utime(module, (st.st_atime + 2, st.st_mtime + 2))  # no cached bytecode
    answer = control.request(state.pid, {"cmd": "reload", "name": "py"})
    for t in threads:
        t.join(60)
    assert answer["ok"], answer
    assert not errors, errors
    assert os.getxattr(mnt, "glupy.version") == b"v2"
    assert sorted(p.name for p in mnt.iterdir()) == [f"f{i}" for i in range(4)]
    status = _status(mnt)
    assert status["tasks_in_flight"] == 0, status
    work(0)  # once more, surely after the reload
    assert not errors, errors
    calls = json.loads(os.getxattr(mnt, COUNTERS_XATTR))  # the new instance's, since the reload
    assert all(calls.get(f, 0) >= 40 for f in ("writev", "setxattr", "getxattr")), calls


def test_the_bridge_suite_on_the_switched_build(switched_copy, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(switched_copy))  # the copy's glupy first
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE), "-q", "-p", "no:cacheprovider",
         f"--ignore={Path(__file__).resolve()}", f"--basetemp={tmp_path / 'inner'}"],
        cwd=switched_copy, env=env, capture_output=True, text=True, timeout=1800)
    summary = done.stdout.strip().splitlines()[-1:] or [done.stderr[-2000:]]
    assert done.returncode == 0 and " passed" in summary[0] and "failed" not in summary[0], \
        done.stdout[-6000:] + done.stderr[-2000:]
