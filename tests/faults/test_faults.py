"""Faults: fops that crash in Python, a client killed mid-write, a replica brick killed.

a) ``Flaky`` (translators/flaky.py) raises on every Nth fop it defines: the client sees
   EIO for exactly those fops (nothing else), the process survives, and everything that
   was written successfully reads back intact (an exact model: a fop that fails in the
   translator never reached storage, so it changed nothing).
b) the client glusterfs (PassThrough on it) is SIGKILLed while writers are busy; after
   ``umount -l`` and a remount the brick directory is consistent: fsync'd files intact,
   files in progress a readable prefix of what was being written, every file with its gfid
   and .glusterfs handle, no orphan handle, nothing in .glusterfs/unlink. Two layouts: one
   process (FUSE -> Python -> posix) and a client over a glusterfsd brick (the brick
   survives and must also drop the dead client's fds).
c) replica 2 without glusterd: two glusterfsd bricks with PassThrough in their graphs, a
   client with cluster/replicate over two protocol/client volumes. One brick is SIGKILLed
   while files are written, writing goes on, the brick restarts on the same port, lookups
   and reads through the mount heal (client-side AFR self-heal), and every file is intact through
   the mount and identical on both bricks with no pending AFR changelog.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.util
import json
import os
import random
import signal
import stat
import threading
import time
from pathlib import Path

from glupy import testing
from glupy.local import brick, daemon, process, volfile
from glupy.local.volfile import Graph, Volume
from glupy.runtime import control

HERE = Path(__file__).parent
TRANSLATORS = str(HERE / "translators")
PASS = ("glupy.library.passthrough:PassThrough", {"track-ctx": "on"})
EVERY = 7
FLAKY_MESSAGE = "flaky-injected-fault"  # as in translators/flaky.py


def _load_refs_helpers():
    path = HERE.parent / "bridge" / "test_refs.py"
    spec = importlib.util.spec_from_file_location("_glupy_faults_refs", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


refs = _load_refs_helpers()


def wait_for(what: str, predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def forget_socket(pid: int | None) -> None:
    """glupy leaves /run/glupy/ctl/<pid>.sock behind when its process dies."""
    if pid is not None and not process.pid_alive(pid):
        control.socket_path(pid).unlink(missing_ok=True)


# ----------------------------------------------------------------- a) flaky fops


class Model:
    """Exact expected state of a directory: a fop that failed changed nothing."""

    def __init__(self, root: Path, backend: Path) -> None:
        self.root = root
        self.backend = backend
        self.files: dict[str, bytes] = {}
        self.eio = 0
        self.ok = 0
        self.short_writes = 0
        self.other: list[str] = []

    def attempt(self, what: str, fn, *args):
        try:
            result = fn(*args)
        except OSError as exc:
            if exc.errno == errno.EIO:
                self.eio += 1
            else:
                self.other.append(f"{what}: {exc!r}")
            return None, exc
        self.ok += 1
        return result, None

    def read_retrying(self, name: str, tries: int = 30) -> bytes:
        last: OSError | None = None
        for _ in range(tries):
            try:
                with open(self.root / name, "rb") as f:
                    os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
                    return f.read()
            except OSError as exc:
                assert exc.errno == errno.EIO, f"read {name}: {exc!r}"
                last = exc
        raise AssertionError(f"{name}: every read failed ({last})")


def flaky_workload(model: Model, rnd: random.Random, ops: int) -> None:
    root = model.root
    for n in range(ops):
        kind = rnd.choice(("create", "create", "pwrite", "read", "stat", "unlink", "mkdir"))
        names = sorted(model.files)
        if kind == "create" or not names:
            name = f"f{n:05d}"
            fd, err = model.attempt(f"create {name}", os.open, root / name,
                                    os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            if err is not None:
                # failed in lookup or create: normally never reached posix
                if (model.backend / name).exists():  # created, then a later fop failed
                    model.files[name] = (model.backend / name).read_bytes()
                continue
            model.files[name] = b""
            try:
                for _ in range(rnd.randrange(1, 5)):
                    chunk = rnd.randbytes(rnd.randrange(1, 65536))
                    off = len(model.files[name])
                    written, err = model.attempt(f"write {name}", os.pwrite, fd, chunk, off)
                    if err is None:  # a short write is legal: the kernel may split a
                        model.files[name] += chunk[:written]  # write and a later part fail
                        model.short_writes += written < len(chunk)
            finally:
                os.close(fd)  # flush is not in Flaky: cannot fail
        elif kind == "pwrite":
            name = rnd.choice(names)
            fd, err = model.attempt(f"open {name}", os.open, root / name, os.O_WRONLY)
            if err is not None:
                continue
            try:
                old = model.files[name]
                off = rnd.randrange(0, len(old) + 1)
                chunk = rnd.randbytes(rnd.randrange(1, 32768))
                written, err = model.attempt(f"pwrite {name}", os.pwrite, fd, chunk, off)
                if err is None:
                    model.short_writes += written < len(chunk)
                    new = bytearray(old)
                    new[off:off + written] = chunk[:written]
                    model.files[name] = bytes(new)
            finally:
                os.close(fd)
        elif kind == "read":
            name = rnd.choice(names)
            assert model.read_retrying(name) == model.files[name], f"{name}: content differs"
        elif kind == "stat":
            name = rnd.choice(names)
            st, err = model.attempt(f"stat {name}", os.stat, root / name)
            if err is None:
                assert st.st_size == len(model.files[name]), name
        elif kind == "unlink":
            if len(names) < 10:
                continue
            name = rnd.choice(names)
            _, err = model.attempt(f"unlink {name}", os.unlink, root / name)
            if err is None:
                del model.files[name]
        else:
            model.attempt(f"mkdir d{n}", os.mkdir, root / f"d{n:05d}")


def test_exception_every_nth_fop(glupy_mount):
    t0 = time.monotonic()
    m = glupy_mount([("flaky:Flaky", {"every": str(EVERY)})], python_path=[TRANSLATORS])
    work = m.mountpoint / "work"
    # mkdir itself may draw a fault
    for _ in range(EVERY + 1):
        with contextlib.suppress(OSError):
            work.mkdir()
        if (m.backend_dir / "work").is_dir():
            break
    model = Model(work, m.backend_dir / "work")
    seed = int(os.environ.get("GLUPY_FAULTS_SEED", str(random.randrange(1 << 30))))
    flaky_workload(model, random.Random(seed), 1500)

    stats = json.loads(os.getxattr(m.mountpoint, "glupy.flaky"))
    print(f"flaky (seed {seed}): {model.ok} fops ok, {model.eio} EIO at the client, "
          f"{model.short_writes} short writes, translator: {stats}, {len(model.files)} files, "
          f"{time.monotonic() - t0:.1f} s")
    assert not model.other, f"errors other than EIO: {model.other[:10]}"
    assert model.eio > 0 and stats["injected"] > 0
    # every EIO the client saw was one the translator injected (some injected faults hit
    # fops the kernel sends on its own, e.g. a lookup revalidation that it then retries)
    assert model.eio <= stats["injected"], (model.eio, stats)
    assert process.pid_alive(m.pid)

    # everything written successfully is intact: through the mount and in the backend
    for name, data in sorted(model.files.items()):
        assert model.read_retrying(name) == data, f"{name}: content differs through the mount"
        assert (model.backend / name).read_bytes() == data, f"{name}: content differs in the backend"
    on_disk = {p.name for p in model.backend.iterdir() if p.is_file()}
    assert on_disk == set(model.files), (sorted(on_disk - set(model.files))[:5],
                                         sorted(set(model.files) - on_disk)[:5])
    # the tracebacks are in the log, under the translator's name
    log = m.log_path.read_text(errors="replace")
    assert log.count(FLAKY_MESSAGE) >= stats["injected"] - 1  # the last one may still be written
    assert process.pid_alive(m.pid)


# ----------------------------------------------------------------- b) client killed


CHUNK = 64 * 1024


def file_content(name: str, size: int) -> bytes:
    seed = hashlib.sha256(name.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


class Writers:
    """Threads writing files in CHUNKs, fsync'd and closed before counting as done."""

    def __init__(self, root: Path, n: int = 4) -> None:
        self.root = root
        self.done: dict[str, int] = {}
        self.in_progress: dict[str, int] = {}  # name -> intended size
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(n)]

    def run(self, w: int) -> None:
        rnd = random.Random(w)
        i = 0
        while not self.stop.is_set():
            name = f"w{w}-{i:04d}"
            size = rnd.randrange(1, 32) * CHUNK + rnd.randrange(CHUNK)
            data = file_content(name, size)
            with self.lock:
                self.in_progress[name] = size
            try:
                fd = os.open(self.root / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                try:
                    for off in range(0, size, CHUNK):
                        os.pwrite(fd, data[off:off + CHUNK], off)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                self.failures.append(f"{name}: {exc!r}")
                return  # the client is gone
            with self.lock:
                del self.in_progress[name]
                self.done[name] = size
            i += 1

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self, timeout: float = 30) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self.threads), "writers hang after the kill"


def check_backend(backend: Path, done: dict[str, int], in_progress: dict[str, int]) -> dict[str, int]:
    """The brick directory after the crash; returns the sizes of the files in progress."""
    names = {p.name for p in backend.iterdir() if p.name != ".glusterfs"}
    assert set(done) <= names, f"fsync'd files missing: {sorted(set(done) - names)[:5]}"
    stray = names - set(done) - set(in_progress)
    assert not stray, f"unexpected entries in the brick: {sorted(stray)[:10]}"
    partial = {}
    for name in sorted(names):
        path = backend / name
        data = path.read_bytes()
        want = file_content(name, done.get(name) or in_progress[name])
        if name in done:
            assert data == want, f"{name}: fsync'd file differs in the brick"
        else:
            assert want.startswith(data), f"{name}: partial file is not a prefix of what was written"
            partial[name] = len(data)
        gfid = os.getxattr(path, "trusted.gfid")
        h = gfid.hex()
        handle = backend / ".glusterfs" / h[:2] / h[2:4] / \
            f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        assert handle.exists() and os.stat(handle).st_ino == os.stat(path).st_ino, \
            f"{name}: no .glusterfs handle for gfid {h}"
    # no orphan handle: every regular-file handle still has its name
    orphans = [str(p) for p in (backend / ".glusterfs").glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*")
               if stat.S_ISREG(p.lstat().st_mode) and p.lstat().st_nlink < 2]
    assert not orphans, f"orphan gfid handles: {orphans[:5]}"
    unlink_dir = backend / ".glusterfs" / "unlink"
    assert not unlink_dir.exists() or not any(unlink_dir.iterdir()), list(unlink_dir.iterdir())
    return partial


def check_mount(mnt: Path, done: dict[str, int], in_progress: dict[str, int],
                partial: dict[str, int]) -> None:
    for name, size in done.items():
        assert (mnt / name).read_bytes() == file_content(name, size), name
    for name, got in partial.items():
        data = (mnt / name).read_bytes()
        assert len(data) == got and file_content(name, in_progress[name]).startswith(data), name


def kill_mid_write(mnt: Path, pid: int) -> tuple[Writers, float]:
    writers = Writers(mnt)
    writers.start()
    wait_for("20 files written", lambda: len(writers.done) >= 20 or writers.failures, 60)
    assert not writers.failures, writers.failures
    t_kill = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    writers.join()
    assert daemon.wait_exit(pid, 10)
    assert process._run_umount(str(mnt), lazy=True)
    assert process.mount_fstype(mnt) is None
    return writers, t_kill


def test_client_killed_mid_write_single_process(glupy_mount):
    m = glupy_mount([PASS])
    writers, _ = kill_mid_write(m.mountpoint, m.pid)
    forget_socket(m.pid)
    print(f"killed with {len(writers.done)} files done, in progress: {writers.in_progress}, "
          f"writers saw: {writers.failures[:4]}")
    partial = check_backend(m.backend_dir, writers.done, writers.in_progress)
    m2 = glupy_mount([PASS], backend_dir=m.backend_dir)
    check_mount(m2.mountpoint, writers.done, writers.in_progress, partial)
    # and it takes new writes
    (m2.mountpoint / "after").write_bytes(b"after the crash")
    assert (m.backend_dir / "after").read_bytes() == b"after the crash"


def test_client_killed_mid_write_over_brick(tmp_path):
    testing.require_mount_privileges()
    backend, mnt, sdir = tmp_path / "backend", tmp_path / "mnt", tmp_path / "state"
    backend.mkdir()
    mnt.mkdir()
    _, bstate = brick.serve(backend, [], sdir / "brick")
    client_pids: list[int] = []
    try:
        graph = brick.client_graph(bstate.port, bstate.exported, name="c")
        graph.add(Volume("c-pass", volfile.bridge_type(),
                         {"module": PASS[0], "track-ctx": "on"}, subvolumes=["c"]))
        state = process.mount_graph(graph, mnt, state_dir=sdir / "client", timeout=30)
        client_pids.append(state.pid)
        brick.wait_client_connected(mnt, "c")
        writers, t_kill = kill_mid_write(mnt, state.pid)
        print(f"killed with {len(writers.done)} files done, in progress: {writers.in_progress}")

        # the brick outlives its client and lets go of the dead client's fds
        dumps = tmp_path / "dumps"
        d = refs.wait_until(lambda: (x := refs.statedump(bstate.pid, dumps)).pool("fd_t") == 0 and x,
                            30, 0.5)
        assert d, f"the brick still holds fds of the killed client: " \
                  f"{refs.statedump(bstate.pid, dumps).pool('fd_t')}"
        print(f"brick released the dead client's fds {time.monotonic() - t_kill:.1f} s after the kill")
        assert refs.open_backend_files(bstate.pid, backend) == []

        partial = check_backend(backend, writers.done, writers.in_progress)
        state = process.mount_graph(graph, mnt, state_dir=sdir / "client", timeout=30)
        client_pids.append(state.pid)
        brick.wait_client_connected(mnt, "c")
        check_mount(mnt, writers.done, writers.in_progress, partial)
        (mnt / "after").write_bytes(b"after the crash")
        assert (backend / "after").read_bytes() == b"after the crash"
        assert bstate.alive()
    finally:
        with contextlib.suppress(process.GlupyProcessError):
            process.unmount(mnt, state_dir=sdir / "client")
        brick.stop_brick(bstate)
        for pid in client_pids:
            forget_socket(pid)


# ----------------------------------------------------------------- c) replica 2


def afr_client_graph(bricks: list[brick.BrickState]) -> Graph:
    graph = Graph()
    names = []
    for i, b in enumerate(bricks):
        c = brick.client_graph(b.port, b.exported, name=f"c{i}").top
        c.options["ping-timeout"] = "5"
        graph.add(c)
        names.append(c.name)
    graph.add(Volume("rep", "cluster/replicate", {
        "afr-pending-xattr": ",".join(names),  # what glusterd writes for a replica volume
        "data-self-heal": "on", "metadata-self-heal": "on", "entry-self-heal": "on",
        "quorum-type": "none",
    }, subvolumes=names))
    return graph


def content(i: int) -> bytes:
    return hashlib.sha256(str(i).encode()).hexdigest().encode() * (1 + i % 40)


def pending(path: Path, names: list[str]) -> dict[str, str]:
    out = {}
    for n in names:
        try:
            v = os.getxattr(path, f"trusted.afr.{n}")
        except OSError:
            continue
        if any(v):
            out[n] = v.hex()
    return out


def test_replica2_brick_killed_while_writing(tmp_path):
    testing.require_mount_privileges()
    t0 = time.monotonic()
    backends = [tmp_path / f"b{i}" for i in range(2)]
    mnt, sdir = tmp_path / "mnt", tmp_path / "state"
    mnt.mkdir()
    graphs, states = [], []
    extra_pids: list[int] = []
    try:
        for i, b in enumerate(backends):
            b.mkdir()
            g, s = brick.serve(b, [PASS], sdir / f"brick{i}", name_prefix=f"b{i}")
            graphs.append(g)
            states.append(s)
        client = afr_client_graph(states)
        cstate = process.mount_graph(client, mnt, state_dir=sdir / "client", timeout=30)
        extra_pids.append(cstate.pid)
        for c in ("c0", "c1"):
            brick.wait_client_connected(mnt, c)
        work = mnt / "fault"
        work.mkdir()
        written: list[int] = []
        errors: list[str] = []
        stop = threading.Event()

        def writer() -> None:
            i = 0
            while not stop.is_set():
                try:
                    (work / f"f{i:04d}").write_bytes(content(i))
                    written.append(i)
                except OSError as exc:  # must not happen: the other replica is up
                    errors.append(f"f{i:04d}: {exc!r}")
                i += 1
                time.sleep(0.01)

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        try:
            wait_for("first writes", lambda: len(written) >= 30 or errors, 30)
            victim = states[0]
            os.kill(victim.pid, signal.SIGKILL)
            assert daemon.wait_exit(victim.pid, 10)
            forget_socket(victim.pid)
            n_at_kill = len(written)
            wait_for("writes while the brick is down", lambda: len(written) >= n_at_kill + 60 or errors,
                     60)
            # the same graph (same port) again
            restarted = brick.start_brick(graphs[0], sdir / "brick0-restart", backend_dir=backends[0])
            states[0] = restarted
            brick.wait_client_connected(mnt, "c0", timeout=60)
            reconnect_s = time.monotonic()
            wait_for("writes after the brick is back", lambda: len(written) >= n_at_kill + 100 or errors,
                     60)
        finally:
            stop.set()
            thread.join(30)
        assert not errors, errors[:5]
        log = Path(states[0].log_path).read_text(errors="replace")
        assert "loaded glupy.library.passthrough:PassThrough" in log

        # heal: client-side AFR self-heal, until both bricks agree. In 10.3 a lookup heals
        # entries and metadata only; data heal starts from the inode refresh of a read or
        # write transaction (afr_inode_refresh_done): so read every file through the mount.
        names = ["c0", "c1"]
        b0, b1 = (b / "fault" for b in backends)

        def healed():
            refs.drop_caches()  # the next stats are real lookups, the reads reach AFR
            os.listdir(work)
            for i in written:
                assert (work / f"f{i:04d}").read_bytes() == content(i), f"f{i:04d}"
            for i in written:
                n = f"f{i:04d}"
                for d in (b0, b1):
                    p = d / n
                    if not p.exists() or p.read_bytes() != content(i) or pending(p, names):
                        return False
            return not pending(b0, names) and not pending(b1, names)

        t_heal = time.monotonic()
        try:
            wait_for("self-heal of both bricks", healed, 120, interval=1)
        except AssertionError:
            bad = [(f"f{i:04d}", [(d / f"f{i:04d}").exists() and pending(d / f"f{i:04d}", names)
                                  for d in (b0, b1)]) for i in written
                   if not all((d / f"f{i:04d}").exists() for d in (b0, b1))
                   or any(pending(d / f"f{i:04d}", names) for d in (b0, b1))]
            raise AssertionError(f"not healed: {len(bad)} files, e.g. {bad[:5]}") from None
        heal_s = time.monotonic() - t_heal

        assert sorted(p.name for p in work.iterdir()) == [f"f{i:04d}" for i in written]
        for i in written:
            n = f"f{i:04d}"
            assert (work / n).read_bytes() == content(i), n
            assert (b0 / n).read_bytes() == content(i) == (b1 / n).read_bytes(), n
            assert os.getxattr(b0 / n, "trusted.gfid") == os.getxattr(b1 / n, "trusted.gfid"), n
        assert sorted(p.name for p in b0.iterdir()) == sorted(p.name for p in b1.iterdir())
        assert all(s.alive() for s in states)
        print(f"replica 2: {len(written)} files ({n_at_kill} before the kill), brick back after "
              f"{reconnect_s - t0:.1f} s, heal {heal_s:.1f} s, test {time.monotonic() - t0:.1f} s")
    finally:
        with contextlib.suppress(process.GlupyProcessError):
            process.unmount(mnt, state_dir=sdir / "client")
        for s in states:
            brick.stop_brick(s)
            extra_pids.append(s.pid)
        for pid in extra_pids:
            forget_socket(pid)
