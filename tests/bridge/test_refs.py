"""Refs and memory stay balanced when fops go through Python.

One test mounts the same workload twice, side by side: through PassThrough (every fop
in Python, inode and fd context on everything it sees) and through a plain graph with
no Python at all (FUSE -> storage/posix).  Rounds of create/write/read/close, stat,
unlink, listing; after each round the kernel's caches are dropped (FORGET for every
inode) and a GlusterFS statedump of each process is read:

* no fd stays open in GlusterFS (fd_t pool, per-inode fd counts) once files are closed;
* the inode table (active/lru) and the inode/dentry/fd pools of the Python graph end
  where the plain graph's end;
* GlusterFS called release for every fd PassThrough gave a context (open + create),
  releasedir for every opendir, forget for every inode it gave a context;
* dict pools and the process RSS do not grow round over round.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import stat
import time
from pathlib import Path

import pytest

from glupy.library.passthrough import COUNTERS_XATTR
from glupy.local import process
from glupy.local.volfile import Graph, Volume

HERE = Path(__file__).parent
TRANSLATORS = str(HERE / "translators")
PASS = ("glupy.library.passthrough:PassThrough", {"track-ctx": "on"})
FILES = 500
ROUNDS = 3
RSS_GROWTH = 1.20  # after the first round, RSS may not grow by more than 20 %
STATEDUMP_RUN_DIR = Path("/var/run/gluster")  # DEFAULT_VAR_RUN_DIRECTORY of glusterfs
# GlusterFS 11 dropped the inode_t, dentry_t and data_pair_t mem pools (GF_CALLOC / GF_MALLOC)
MALLOC_TYPES = {"inode_t": "gf_common_mt_inode_ctx", "dentry_t": "gf_common_mt_dentry_ctx",
                "data_pair_t": "gf_common_mt_data_pair_t"}


# ----------------------------------------------------------------- statedumps


class Dump:
    """A parsed GlusterFS statedump."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sections: dict[str, dict[str, str]] = {}
        current: dict[str, str] = {}
        for line in text.splitlines():
            if line.startswith("[") and line.endswith("]"):
                current = self.sections.setdefault(line[1:-1], {})
            elif "=" in line:
                key, _, value = line.partition("=")
                current[key] = value
        # [mempool]: "-----=-----" separated records pool-name / xlator-name / active-count
        self.pools = {(m["pool"], m["xl"]): int(m["active"]) for m in re.finditer(
            r"pool-name=(?P<pool>\S+)\nxlator-name=(?P<xl>\S+)\nactive-count=(?P<active>\d+)",
            text)}

        self.allocs: dict[str, int] = {}
        for m in re.finditer(r"\[\S+ - usage-type (?P<type>\S+) memusage\]\n(?:[^\[\n]*\n)*?"
                             r"num_allocs=(?P<n>\d+)", text):
            self.allocs[m["type"]] = self.allocs.get(m["type"], 0) + int(m["n"])

    def pool(self, name: str) -> int:
        """Objects of type NAME in use: its mem pool (10.x), or, for the types that
        GlusterFS 11 allocates with GF_MALLOC instead, its memory-accounting type."""
        counts = [n for (pool, _), n in self.pools.items() if pool == name]
        if not counts and name in MALLOC_TYPES:
            return self.allocs.get(MALLOC_TYPES[name], 0)
        assert counts, f"no mem pool {name} in the statedump: {sorted(self.pools)}"
        return sum(counts)

    def itable(self) -> dict[str, int]:
        prefix = "xlator.mount.fuse.itable."
        table = self.sections["xlator.mount.fuse.itable"]
        return {k[len(prefix):]: int(table[k]) for k in
                (prefix + "active_size", prefix + "lru_size", prefix + "purge_size")}

    def inode_fd_counts(self) -> dict[str, tuple[int, int]]:
        """gfid -> (fd-count, active-fd-count) for every inode in the fuse itable."""
        out = {}
        for name, fields in self.sections.items():
            if re.fullmatch(r"xlator\.mount\.fuse\.itable\.(active|lru|purge)\.\d+", name):
                out[fields.get("gfid", name)] = (int(fields.get("fd-count", 0)),
                                                 int(fields.get("active-fd-count", 0)))
        return out


def statedump(pid: int, dump_dir: Path, timeout: float = 10.0) -> Dump:
    """SIGUSR1 ``pid`` and read its statedump.

    glusterfs has no command-line option for the dump directory; it reads
    ``/var/run/gluster/glusterdump.<pid>.options`` (``path=DIR`` and which parts to
    dump) at each SIGUSR1.  That file, and the dump, are removed here."""
    dump_dir.mkdir(parents=True, exist_ok=True)
    STATEDUMP_RUN_DIR.mkdir(parents=True, exist_ok=True)
    options = STATEDUMP_RUN_DIR / f"glusterdump.{pid}.options"
    for old in dump_dir.glob(f"glusterdump.{pid}.dump.*"):
        old.unlink()
    options.write_text(f"path={dump_dir}\nall=yes\n")
    try:
        os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while not (found := sorted(dump_dir.glob(f"glusterdump.{pid}.dump.*"))):
            assert time.monotonic() < deadline, f"no statedump of {pid} in {dump_dir}"
            time.sleep(0.05)
    finally:
        options.unlink(missing_ok=True)
    text = found[0].read_text(errors="replace")  # complete: renamed into place when done
    for path in found:
        path.unlink()
    assert "DUMP-END-TIME" in text
    return Dump(text)


def open_backend_files(pid: int, backend: Path) -> list[str]:
    """Regular files under ``backend`` that the glusterfs process holds open (posix
    keeps its directories, e.g. ``.glusterfs/00`` ... ``ff``, open for good)."""
    out = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
            regular = stat.S_ISREG(os.stat(fd).st_mode)
        except OSError:
            continue
        if regular and target.startswith(str(backend) + "/"):
            out.append(target)
    return out


EMPTY_ITABLE = {"active_size": 1, "lru_size": 0, "purge_size": 0}  # only the root


def settled_dump(pid: int, dump_dir: Path, timeout: float = 15.0) -> Dump:
    """A statedump taken once the inode table has emptied out after drop_caches
    (FORGETs are processed asynchronously), or the last one after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        d = statedump(pid, dump_dir)
        try:
            settled = d.itable() == EMPTY_ITABLE
        except KeyError:
            # fuse skips the inode table in a dump when its lock is busy (FORGETs
            # still being processed): not settled yet
            settled = False
        if settled or time.monotonic() > deadline:
            return d
        time.sleep(0.5)


def drop_caches() -> bool:
    """Make the kernel forget every unused inode (FORGET to GlusterFS)."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))


# ----------------------------------------------------------------- workload


def payload(rnd: int, i: int) -> bytes:
    return (f"round {rnd} file {i} ".encode() * 300)[:4000]


def workload(mnt: Path, rnd: int) -> None:
    """create/write/close, open/read/close, stat, list, unlink half: FILES files."""
    d = mnt / f"round-{rnd}"
    d.mkdir()
    for i in range(FILES):
        with open(d / f"f{i:03d}", "wb") as f:
            f.write(payload(rnd, i))
    for i in range(FILES):
        with open(d / f"f{i:03d}", "rb") as f:
            # drop the page cache of the file: the read goes to GlusterFS
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            assert f.read() == payload(rnd, i)
    time.sleep(1.2)  # past FUSE's entry timeout (1 s): the stats below are real lookups
    for i in range(FILES):
        assert os.stat(d / f"f{i:03d}").st_size == len(payload(rnd, i))
    for i in range(0, FILES, 2):
        os.unlink(d / f"f{i:03d}")
    assert sorted(os.listdir(d)) == [f"f{i:03d}" for i in range(1, FILES, 2)]


def counters(mnt: Path) -> dict[str, int]:
    return json.loads(os.getxattr(mnt, COUNTERS_XATTR))


def wait_until(predicate, timeout: float = 15.0, step: float = 0.2):
    """Poll ``predicate`` (returns a value, truthy when done); return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


# ----------------------------------------------------------------- the test


@pytest.fixture
def plain_mount(tmp_path):
    """The same single-process graph without Python: FUSE -> storage/posix."""
    if os.geteuid() != 0:
        pytest.skip("needs root (FUSE mounts)")
    backend, mnt, state_dir = tmp_path / "plain-backend", tmp_path / "plain-mnt", tmp_path / "state"
    backend.mkdir()
    mnt.mkdir()
    graph = Graph([Volume("plain-posix", "storage/posix", {"directory": str(backend)})])
    with process.mounted(graph, mnt, source_dir=backend, state_dir=state_dir, timeout=30) as state:
        yield mnt, state.pid


@pytest.mark.parametrize("hand_off", ["off", "on"])
def test_refs_and_memory_stay_balanced(glupy_mount, plain_mount, tmp_path, hand_off):
    py = glupy_mount([(PASS[0], {**PASS[1], "hand-off": hand_off})])
    py_mnt, py_pid = py.mountpoint, py.pid
    plain_mnt, plain_pid = plain_mount
    dumps = tmp_path / "dumps"
    rss: list[int] = []
    pools_py: list[dict[str, int]] = []
    forgets_seen = 0
    start = counters(py_mnt)

    for rnd in range(ROUNDS):
        workload(py_mnt, rnd)
        workload(plain_mnt, rnd)

        # -- every fd closed by the client is closed in GlusterFS (RELEASE is async)
        def releases_done():
            c = counters(py_mnt)
            opened = c.get("open", 0) + c.get("create", 0)
            return c if c.get("release", 0) >= opened and \
                c.get("releasedir", 0) >= c.get("opendir", 0) else None

        c = wait_until(releases_done) or counters(py_mnt)
        assert c.get("create", 0) - start.get("create", 0) == FILES * (rnd + 1)
        assert c.get("open", 0) - start.get("open", 0) == FILES * (rnd + 1)
        assert c.get("readv", 0) - start.get("readv", 0) >= FILES * (rnd + 1), \
            "the reads did not reach GlusterFS"
        assert c.get("release", 0) == c.get("open", 0) + c.get("create", 0), c
        assert c.get("opendir", 0) >= rnd + 1
        assert c.get("releasedir", 0) == c.get("opendir", 0), c
        assert open_backend_files(py_pid, py.backend_dir) == []
        for pid, name in ((py_pid, "python"), (plain_pid, "plain")):
            d = statedump(pid, dumps)
            assert d.pool("fd_t") == 0, f"{name}: fds left open in GlusterFS"
            open_fds = {g: n for g, n in d.inode_fd_counts().items() if n != (0, 0)}
            assert not open_fds, f"{name}: inodes with open fds: {open_fds}"
            assert d.itable()["active_size"] >= 1

        # -- the kernel forgets every inode: both inode tables empty out alike
        dropped = drop_caches()

        d_py = settled_dump(py_pid, dumps) if dropped else statedump(py_pid, dumps)
        d_plain = settled_dump(plain_pid, dumps) if dropped else statedump(plain_pid, dumps)
        assert d_py.itable() == d_plain.itable(), \
            f"round {rnd}: inode table through Python {d_py.itable()} != plain {d_plain.itable()}"
        if dropped:
            assert d_py.itable() == EMPTY_ITABLE
        for pool in ("inode_t", "dentry_t", "fd_t"):
            assert d_py.pool(pool) == d_plain.pool(pool), \
                f"round {rnd}: {pool} in use: Python graph {d_py.pool(pool)}, " \
                f"plain graph {d_plain.pool(pool)}"
        assert d_py.pool("fd_t") == 0
        if dropped:
            assert d_py.pool("inode_t") == 1  # the root

        # -- forget reached Python for every inode PassThrough had given a context:
        # each round's FILES files and its directory (looked up again after the entry
        # timeout), all gone from the inode table now
        def forgotten(seen: int = forgets_seen):
            c = counters(py_mnt)
            return c if c.get("forget", 0) - seen >= FILES + 1 else None

        c = wait_until(forgotten, timeout=5) or counters(py_mnt)
        if dropped:
            assert c.get("forget", 0) - start.get("forget", 0) == (FILES + 1) * (rnd + 1), c
        forgets_seen = c.get("forget", 0)

        pools_py.append({p: d_py.pool(p) - d_plain.pool(p)
                         for p in ("dict_t", "data_t", "data_pair_t")})
        rss.append(rss_kib(py_pid))
        assert process.pid_alive(py_pid) and process.pid_alive(plain_pid)

    # -- nothing grows with the number of rounds
    assert pools_py[-1] == pools_py[0], f"dict pools (Python graph - plain graph) per round: {pools_py}"
    for rnd in range(1, ROUNDS):
        assert rss[rnd] <= rss[0] * RSS_GROWTH, \
            f"glusterfs RSS grew from {rss[0]} KiB after round 0 to {rss[rnd]} KiB after round {rnd}: {rss}"


# ------------------------------------------------------- failing fops leak nothing

FAILING = 100  # names per kind of failure


def test_failing_fops_leak_no_inode_or_fd(glupy_mount, tmp_path):
    """Fops that crash after their child answered (the reply holds inode/fd refs),
    return the wrong type, or await the wrong thing: once the kernel has forgotten
    everything, GlusterFS holds no inode but the root and no fd."""
    m = glupy_mount([("errors_fops:Faulty", {})], python_path=[TRANSLATORS])
    mnt = m.mountpoint
    for i in range(FAILING):
        (mnt / f"after-wind-{i}").write_bytes(b"x")  # the lookup misses: created fine
        (mnt / f"open-crash-{i}").write_bytes(b"x")  # create is not in Python
        (mnt / f"open-int-{i}").write_bytes(b"x")
    time.sleep(1.2)  # past the entry timeout: the next stats are lookups again
    for i in range(FAILING):
        for name, code in ((f"after-wind-{i}", errno.EIO), (f"crash-{i}", errno.EIO),
                           (f"int-{i}", errno.EIO), (f"statreply-{i}", errno.EIO),
                           (f"sleep0-{i}", errno.EIO), (f"eacces-{i}", errno.EACCES)):
            with pytest.raises(OSError) as info:
                os.stat(mnt / name)
            assert info.value.errno == code, (name, info.value)
        for name in (f"open-crash-{i}", f"open-int-{i}"):
            with pytest.raises(OSError) as info:
                open(mnt / name, "rb").close()
            assert info.value.errno == errno.EIO, (name, info.value)
    assert process.pid_alive(m.pid)
    dumps = tmp_path / "dumps"
    # (RELEASE of the last created files is asynchronous)
    def no_fd_left():
        d = statedump(m.pid, dumps)
        return d if d.pool("fd_t") == 0 else None

    d = wait_until(no_fd_left, timeout=5, step=0.5) or statedump(m.pid, dumps)
    assert d.pool("fd_t") == 0, "fds of failed opens are still open in GlusterFS"
    assert open_backend_files(m.pid, m.backend_dir) == []
    assert not {g: n for g, n in d.inode_fd_counts().items() if n != (0, 0)}
    if not drop_caches():
        pytest.skip("cannot drop the kernel's caches: inode refs not checked")

    d = settled_dump(m.pid, dumps)
    assert d.itable() == EMPTY_ITABLE, "inodes still referenced after failing fops"
    assert d.pool("inode_t") == 1 and d.pool("dentry_t") == 0 and d.pool("fd_t") == 0
    assert process.pid_alive(m.pid)
