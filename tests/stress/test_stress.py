"""16 concurrent workers hammer a Python translator: no deadlock, no crash, bounded memory,
balanced refs.

Graph (one glusterfs process)::

    FUSE -> glupy PassThrough (every fop in Python, track-ctx on: inode and fd contexts,
            forget/release callbacks) -> performance/io-threads -> storage/posix

io-threads answers from its own worker threads, so the Python callbacks (the resumed
coroutines) run on other threads than the FUSE threads that wound the fops.

Each worker owns a directory and keeps a model of it (file contents, xattrs, subdirs):
create/write, pwrite, read back and compare, truncate, stat, rename, unlink,
mkdir/rmdir, readdir against the model, setxattr/getxattr. All workers also race on one
shared directory (create/rename/unlink/stat/list of the same names), where ENOENT,
EEXIST, ENOTEMPTY and ESTALE are the expected losers' errors.

A watchdog fails the run as a deadlock when a worker made no progress for 30 s (with a
``py-spy dump`` of glusterfs when py-spy is there, and glupy's control status). At the
end: every model verified, the process alive, RSS bounded, no Python task in flight, no
fd left open in GlusterFS, the inode table back to the root once the kernel forgot
everything.

Duration: 45 s (``GLUPY_STRESS_SECONDS`` overrides); the ``slow`` variant runs 300 s
(``GLUPY_STRESS_LONG_SECONDS``) with ``-m slow`` or GLUPY_SLOW=1.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from glupy import testing
from glupy.local import process, volfile
from glupy.local.volfile import Graph, Volume
from glupy.runtime import control

WORKERS = 16
CI_SECONDS = float(os.environ.get("GLUPY_STRESS_SECONDS", "45"))
LONG_SECONDS = float(os.environ.get("GLUPY_STRESS_LONG_SECONDS", "300"))
STALL_S = 30.0  # a worker without progress for this long: deadlock
RSS_GROWTH = 1.5  # last RSS sample <= 1.5 x the sample after warm-up
SHARED_NAMES = 24
# ESTALE: GlusterFS itself answers it when a name resolved to a gfid whose file another
# worker unlinked in between (seen with the plain graph, no Python, too).
SHARED_EXPECTED = {errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.ESTALE}
MAX_FILE = 96 * 1024


def _load_refs_helpers():
    """The statedump helpers of tests/bridge/test_refs.py (loaded under another name: not
    collected twice, independent of the import mode)."""
    path = Path(__file__).parent.parent / "bridge" / "test_refs.py"
    spec = importlib.util.spec_from_file_location("_glupy_stress_refs", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


refs = _load_refs_helpers()


# ----------------------------------------------------------------- the mount


def stress_graph(backend: Path, kind: str | None = None) -> Graph:
    """``GLUPY_STRESS_GRAPH`` (debugging aid): ``py-iot`` (default), ``py`` (no io-threads),
    ``iot`` or ``plain`` (no Python: the same workload against GlusterFS alone)."""
    kind = kind or os.environ.get("GLUPY_STRESS_GRAPH", "py-iot")
    graph = Graph()
    below = graph.add(Volume("stress-posix", "storage/posix", {"directory": str(backend)}))
    if "iot" in kind:
        below = graph.add(Volume("stress-iot", "performance/io-threads", {"thread-count": "8"},
                                 subvolumes=[below.name]))
    if kind.startswith("py"):
        graph.add(Volume("stress-pass", volfile.bridge_type(),
                         {"module": "glupy.library.passthrough:PassThrough", "track-ctx": "on"},
                         subvolumes=[below.name]))
    return graph


@pytest.fixture
def stress_mount(request, tmp_path):
    testing.require_mount_privileges()
    so = volfile.bridge_so_path()
    if not so.exists():
        pytest.fail(f"the glupy bridge is not built ({so})", pytrace=False)
    backend, mnt, sdir = tmp_path / "backend", tmp_path / "mnt", tmp_path / "state"
    backend.mkdir()
    mnt.mkdir()
    graph = stress_graph(backend)
    info = testing.MountInfo(mountpoint=mnt, backend_dir=backend,
                             log_path=process.state_dir_for(mnt, sdir) / "glusterfs.log", pid=None,
                             volfile_path=process.state_dir_for(mnt, sdir) / "graph.vol",
                             graph=graph, state_dir=sdir)
    # the glupy plugin adds this log's tail to the report of a failed test
    request.node.stash.setdefault(testing._MOUNTS_KEY, []).append(info)
    state = process.mount_graph(graph, mnt, source_dir=backend, state_dir=sdir, timeout=30)
    info.pid = state.pid
    try:
        yield info
    finally:
        pid = info.pid
        if process.read_state(mnt, sdir) is not None or process.mount_fstype(mnt):
            process.unmount(mnt, state_dir=sdir)
        if pid is not None and not process.pid_alive(pid):
            control.socket_path(pid).unlink(missing_ok=True)  # glupy leaves it behind


# ----------------------------------------------------------------- workers


@dataclass
class Worker:
    index: int
    root: Path  # the mount
    seed: int
    ops: int = 0
    last_progress: float = field(default_factory=time.monotonic)
    current: str = ""
    errors: list[str] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    xattrs: dict[str, bytes] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    counter: int = 0

    @property
    def home(self) -> Path:
        return self.root / f"w{self.index:02d}"

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:06d}"

    # -- own directory: every result is checked against the model
    def op_create(self, rnd: random.Random) -> None:
        name = self.fresh("f")
        data = rnd.randbytes(rnd.randrange(0, MAX_FILE))
        with open(self.home / name, "xb") as f:
            f.write(data)
        self.files[name] = data

    def op_read(self, rnd: random.Random) -> None:
        if not self.files:
            return
        name = rnd.choice(sorted(self.files))
        with open(self.home / name, "rb") as f:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)  # really read through
            got = f.read()
        want = self.files[name]
        if got != want:
            first = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
                         min(len(got), len(want)))
            raise AssertionError(f"{name}: content differs at byte {first} "
                                 f"(read {len(got)} bytes, model {len(want)})")

    def op_pwrite(self, rnd: random.Random) -> None:
        if not self.files:
            return
        name = rnd.choice(sorted(self.files))
        old = self.files[name]
        off = rnd.randrange(0, len(old) + 1)
        chunk = rnd.randbytes(rnd.randrange(1, 16384))
        fd = os.open(self.home / name, os.O_WRONLY)
        try:
            assert os.pwrite(fd, chunk, off) == len(chunk)
            if rnd.random() < 0.2:
                os.fsync(fd)
        finally:
            os.close(fd)
        new = bytearray(old)
        new[off:off + len(chunk)] = chunk
        self.files[name] = bytes(new)

    def op_truncate(self, rnd: random.Random) -> None:
        if not self.files:
            return
        name = rnd.choice(sorted(self.files))
        old = self.files[name]
        size = rnd.randrange(0, max(len(old) * 2, 4096))
        if rnd.random() < 0.5:
            os.truncate(self.home / name, size)
        else:
            with open(self.home / name, "r+b") as f:
                f.truncate(size)
        self.files[name] = old[:size] + b"\0" * max(0, size - len(old))

    def op_stat(self, rnd: random.Random) -> None:
        if not self.files:
            return
        name = rnd.choice(sorted(self.files))
        st = os.stat(self.home / name)
        assert st.st_size == len(self.files[name]), (name, st.st_size, len(self.files[name]))

    def op_rename(self, rnd: random.Random) -> None:
        if not self.files:
            return
        src = rnd.choice(sorted(self.files))
        # sometimes over another file of the model (replaces it)
        others = sorted(set(self.files) - {src})
        dst = rnd.choice(others) if others and rnd.random() < 0.3 else self.fresh("f")
        os.rename(self.home / src, self.home / dst)
        self.files[dst] = self.files.pop(src)
        self.xattrs.pop(dst, None)
        if src in self.xattrs:
            self.xattrs[dst] = self.xattrs.pop(src)

    def op_unlink(self, rnd: random.Random) -> None:
        if len(self.files) < 5:
            return
        name = rnd.choice(sorted(self.files))
        os.unlink(self.home / name)
        del self.files[name]
        self.xattrs.pop(name, None)

    def op_dirs(self, rnd: random.Random) -> None:
        if self.dirs and rnd.random() < 0.5:
            name = rnd.choice(sorted(self.dirs))
            d = self.home / name
            inner = os.listdir(d)
            assert inner == ["inner"], (name, inner)
            os.unlink(d / "inner")
            os.rmdir(d)
            self.dirs.discard(name)
        else:
            name = self.fresh("d")
            os.mkdir(self.home / name)
            (self.home / name / "inner").write_bytes(name.encode())
            self.dirs.add(name)

    def op_readdir(self, rnd: random.Random) -> None:
        got = sorted(os.listdir(self.home))
        want = sorted([*self.files, *self.dirs])
        assert got == want, f"readdir: extra {sorted(set(got) - set(want))[:5]}, " \
                            f"missing {sorted(set(want) - set(got))[:5]}"

    def op_xattr(self, rnd: random.Random) -> None:
        if not self.files:
            return
        name = rnd.choice(sorted(self.files))
        path = self.home / name
        if name in self.xattrs and rnd.random() < 0.5:
            assert os.getxattr(path, "user.stress") == self.xattrs[name], name
        else:
            value = rnd.randbytes(rnd.randrange(1, 200))
            os.setxattr(path, "user.stress", value)
            self.xattrs[name] = value

    # -- the shared directory: everyone races on the same names
    def op_shared(self, rnd: random.Random) -> None:
        shared = self.root / "shared"
        a = shared / f"s{rnd.randrange(SHARED_NAMES):02d}"
        b = shared / f"s{rnd.randrange(SHARED_NAMES):02d}"
        what = rnd.randrange(6)
        if what == 0:
            with open(a, "wb") as f:
                f.write(rnd.randbytes(rnd.randrange(0, 8192)))
        elif what == 1:
            os.rename(a, b)
        elif what == 2:
            os.unlink(a)
        elif what == 3:
            os.stat(a)
        elif what == 4:
            for entry in os.scandir(shared):
                entry.stat()
        else:
            d = shared / f"sd{rnd.randrange(4)}"
            if rnd.random() < 0.5:
                os.mkdir(d)
            else:
                os.rmdir(d)

    OPS = (("create", 10), ("read", 14), ("pwrite", 10), ("truncate", 5), ("stat", 8),
           ("rename", 6), ("unlink", 5), ("dirs", 4), ("readdir", 3), ("xattr", 6), ("shared", 12))

    def run(self, stop: threading.Event) -> None:
        rnd = random.Random(self.seed)
        names = [n for n, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        try:
            self.home.mkdir()
        except OSError as exc:
            self.errors.append(f"mkdir {self.home}: {exc}")
            return
        while not stop.is_set():
            op = rnd.choices(names, weights)[0]
            self.current = op
            try:
                getattr(self, f"op_{op}")(rnd)
            except OSError as exc:
                if op == "shared" and exc.errno in SHARED_EXPECTED:
                    key = errno.errorcode[exc.errno]
                    self.expected[key] = self.expected.get(key, 0) + 1
                else:
                    self.errors.append(f"w{self.index} op {self.ops} {op}: {exc!r}")
            except AssertionError as exc:
                self.errors.append(f"w{self.index} op {self.ops} {op}: {exc}")
            self.ops += 1
            self.last_progress = time.monotonic()
            if len(self.errors) >= 20:
                return  # enough evidence; the test fails anyway

    def verify_all(self) -> None:
        """Every file of the model reads back exactly; the listing matches."""
        rnd = random.Random(0)
        self.op_readdir(rnd)
        for name, data in sorted(self.files.items()):
            got = (self.home / name).read_bytes()
            assert got == data, f"w{self.index}/{name}: {len(got)} bytes read, model {len(data)}"
            if name in self.xattrs:
                assert os.getxattr(self.home / name, "user.stress") == self.xattrs[name]


# ----------------------------------------------------------------- diagnostics


def diagnose(pid: int) -> str:
    """py-spy dump of glusterfs (when py-spy is installed) and glupy's control status."""
    out = []
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy:
        try:
            res = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True,
                                 timeout=60)
            out.append(f"--- py-spy dump --pid {pid} (rc {res.returncode})\n{res.stdout}{res.stderr}")
        except (OSError, subprocess.SubprocessError) as exc:
            out.append(f"--- py-spy failed: {exc}")
    else:
        out.append("--- py-spy not installed: no Python stacks")
    try:
        out.append(f"--- glupy status\n{control.request(pid, {'cmd': 'status'}, timeout=10)}")
    except (OSError, ValueError) as exc:
        out.append(f"--- glupy status failed: {exc}")
    return "\n".join(out)


# ----------------------------------------------------------------- the test


def run_stress(m: testing.MountInfo, seconds: float, tmp_path: Path,
               max_growth_kib: float | None = None) -> tuple[int, int]:
    """Run the workload; returns (RSS after warm-up, last RSS) in KiB.  RSS may grow
    by ``max_growth_kib`` after warm-up when given, else to RSS_GROWTH x warm-up."""
    mnt, pid = m.mountpoint, m.pid
    assert pid is not None
    (mnt / "shared").mkdir()
    base_seed = int(os.environ.get("GLUPY_STRESS_SEED", str(random.randrange(1 << 30))))
    print(f"stress: {WORKERS} workers, {seconds:g} s, seed {base_seed}")
    workers = [Worker(i, mnt, base_seed + i) for i in range(WORKERS)]
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), name=f"stress-{w.index}", daemon=True)
               for w in workers]
    t0 = time.monotonic()
    for t in threads:
        t.start()

    warmup_at = min(15.0, seconds / 3)
    rss_warm: int | None = None
    rss: list[tuple[float, int]] = []
    next_sample = t0
    try:
        while (now := time.monotonic()) - t0 < seconds:
            assert process.pid_alive(pid), f"glusterfs (pid {pid}) died during the run"
            stalled = [w for w, t in zip(workers, threads, strict=True)
                       if t.is_alive() and now - w.last_progress > STALL_S]
            if stalled:
                desc = ", ".join(f"w{w.index} in {w.current} ({now - w.last_progress:.0f} s)"
                                 for w in stalled)
                pytest.fail(f"deadlock: no progress for {STALL_S:g} s: {desc}\n{diagnose(pid)}",
                            pytrace=False)
            if now >= next_sample:
                rss.append((now - t0, refs.rss_kib(pid)))
                if rss_warm is None and now - t0 >= warmup_at:
                    rss_warm = rss[-1][1]
                next_sample = now + 2.0
            if all(len(w.errors) >= 20 for w in workers):
                break
            time.sleep(0.5)
    finally:
        stop.set()
    deadline = time.monotonic() + STALL_S
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    hung = [t.name for t in threads if t.is_alive()]
    if hung:
        pytest.fail(f"deadlock: workers {hung} did not finish their operation in {STALL_S:g} s\n"
                    f"{diagnose(pid)}", pytrace=False)
    elapsed = time.monotonic() - t0
    rss.append((elapsed, refs.rss_kib(pid)))

    ops = sum(w.ops for w in workers)
    expected: dict[str, int] = {}
    for w in workers:
        for k, n in w.expected.items():
            expected[k] = expected.get(k, 0) + n
    errors = [e for w in workers for e in w.errors]
    print(f"stress: {ops} operations in {elapsed:.1f} s ({ops / elapsed:.0f}/s), "
          f"per worker min {min(w.ops for w in workers)}, expected race errors {expected}")
    print(f"stress: RSS samples (s, KiB): {rss[:3]} ... {rss[-3:]}; after warm-up {rss_warm}")
    assert not errors, f"{len(errors)} worker errors: " + "\n".join(errors[:20])
    assert process.pid_alive(pid), "glusterfs died"
    assert min(w.ops for w in workers) > 0

    for w in workers:
        w.verify_all()

    # memory: bounded once warmed up
    assert rss_warm is not None
    limit = rss_warm + max_growth_kib if max_growth_kib is not None else rss_warm * RSS_GROWTH
    assert rss[-1][1] <= limit, \
        f"glusterfs RSS grew from {rss_warm} KiB after warm-up to {rss[-1][1]} KiB " \
        f"(limit {limit:.0f}): {rss}"

    # no coroutine left behind
    status = {"tasks_in_flight": 0}  # GLUPY_STRESS_GRAPH without Python: nothing to ask
    if "stress-pass" in m.graph:
        status = refs.wait_until(
            lambda: (s := control.request(pid, {"cmd": "status"}))["tasks_in_flight"] == 0 and s, 10)
        status = status or control.request(pid, {"cmd": "status"})
    assert status["tasks_in_flight"] == 0, f"Python tasks still in flight after the run: {status}"

    # refs: no fd open in GlusterFS once everything is closed (RELEASE is asynchronous)
    dumps = tmp_path / "dumps"
    d = refs.wait_until(lambda: (x := refs.statedump(pid, dumps)).pool("fd_t") == 0 and x, 15, 0.5)
    d = d or refs.statedump(pid, dumps)
    assert d.pool("fd_t") == 0, "fds still open in GlusterFS after the run"
    assert not {g: n for g, n in d.inode_fd_counts().items() if n != (0, 0)}
    assert refs.open_backend_files(pid, m.backend_dir) == []
    print(f"stress: before drop_caches itable {d.itable()}, inode_t {d.pool('inode_t')}")

    # refs: once the kernel forgot everything, only the root stays in the inode table
    if not refs.drop_caches():
        pytest.skip("cannot drop the kernel's caches: inode refs not checked")
    d = refs.settled_dump(pid, dumps, timeout=30)
    print(f"stress: after drop_caches itable {d.itable()}, inode_t {d.pool('inode_t')}, "
          f"dentry_t {d.pool('dentry_t')}")
    assert d.itable() == refs.EMPTY_ITABLE, f"inodes still referenced after the run: {d.itable()}"
    assert d.pool("inode_t") == 1 and d.pool("fd_t") == 0
    assert process.pid_alive(pid)
    if "stress-pass" in m.graph:
        # the Python side holds no context for forgotten inodes / released fds
        (t,) = control.request(pid, {"cmd": "status"})["translators"]
        assert t["contexts"]["fds"] == 0 and t["contexts"]["inodes"] <= 1, t["contexts"]
    return rss_warm, rss[-1][1]


def test_stress(stress_mount, tmp_path):
    run_stress(stress_mount, CI_SECONDS, tmp_path)


@pytest.mark.slow
def test_stress_long(slow_enabled, stress_mount, tmp_path):
    """Over minutes GlusterFS's own RSS grows with the inodes the kernel keeps
    cached (measured: a graph without Python grew 1.8x in 120 s), so the bound
    is relative: the same workload on the same graph without Python runs first,
    and the Python graph may grow at most 1.5x as much (+8 MiB for the
    interpreter's arenas)."""
    if not slow_enabled:
        pytest.skip("long stress run: select it with `-m slow` or GLUPY_SLOW=1")
    plain = tmp_path / "plain"
    (plain / "backend").mkdir(parents=True)
    (plain / "mnt").mkdir()
    graph = stress_graph(plain / "backend", kind="iot")
    state = process.mount_graph(graph, plain / "mnt", source_dir=plain / "backend",
                                state_dir=plain / "state", timeout=30)
    info = testing.MountInfo(mountpoint=plain / "mnt", backend_dir=plain / "backend",
                             log_path=Path(state.log_path), pid=state.pid,
                             volfile_path=Path(state.volfile_path), graph=graph,
                             state_dir=plain / "state")
    try:
        warm, last = run_stress(info, LONG_SECONDS, plain, max_growth_kib=float("inf"))
    finally:
        process.unmount(plain / "mnt", state_dir=plain / "state")
    plain_growth = max(last - warm, 0)
    print(f"stress: the graph without Python grew {plain_growth} KiB after warm-up")
    run_stress(stress_mount, LONG_SECONDS, tmp_path, max_growth_kib=1.5 * plain_growth + 8192)
