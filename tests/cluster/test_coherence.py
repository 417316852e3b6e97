"""Caches stay coherent across clients on a real volume: 3 peers, 3 x 2, two FUSE clients
mounted from different peers (A from peer 1, B from peer 2), features.cache-invalidation
on.  B changes names and files; A must see each change within the bound, with the glupy
caches (negative_lookup, stat_cache, timeout=600) and, in the same way, with the C caches
(nl-cache, md-cache, timeout 600).

Run under ``flock /tmp/glupy-glusterd.lock`` (the volfile filter directory is global).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import VOLUME, glupy_cli
from pool import Pool, wait_for

pytestmark = pytest.mark.cluster

BOUND = 1.0
# FUSE keeps a name for its entry-timeout (1 s) and no translator can drop kernel dentries
# (FUSE's invalidate drops attributes only): a rename shows after ~1.0 s with either
# cache; md-cache also leaves the kernel's attributes on an nlink-only change.
KERNEL_BOUND = 1.3
NL_XL, SC_XL = f"{VOLUME}-glupy-nl", f"{VOLUME}-glupy-sc"


@pytest.fixture(scope="module")
def clients(pool: Pool, mnt: Path) -> Iterator[tuple[Path, Path]]:
    """(A, B): the session's mount (peer 1) and a second one from peer 2."""
    cli = pool.peers[0].cli
    cli("volume", "set", VOLUME, "features.cache-invalidation", "on")
    cli("volume", "set", VOLUME, "features.cache-invalidation-timeout", "600")
    b = pool.mount(VOLUME, host=pool.peers[1].host)
    try:
        yield mnt, b
    finally:
        cli("volume", "reset", VOLUME, "features.cache-invalidation-timeout", check=False)
        cli("volume", "reset", VOLUME, "features.cache-invalidation", check=False)


def _graph_has(mnt: Path, xl: str) -> bool:
    return (mnt / ".meta" / "graphs" / "active" / xl).is_dir()


def _settle(pool: Pool, mounts: tuple[Path, Path], present: dict[str, bool]) -> None:
    for m in mounts:
        for xl, want in present.items():
            wait_for(f"{xl} {'in' if want else 'out of'} {m}'s graph", lambda m=m, xl=xl, want=want:
                     _graph_has(m, xl) == want, 60)
        pool.wait_client_connected(m, 60)
    time.sleep(1.5)  # option-only changes are reconfigured in place: let them land


def _configure(pool: Pool, mounts: tuple[Path, Path], cfg: str) -> Callable[[], None]:
    """Switch both clients to ``cfg``; returns the undo."""
    cli = pool.peers[0].cli
    if cfg == "negative_lookup":
        glupy_cli(pool, "attach", VOLUME, "glupy.library.negative_lookup", "--side", "client", "--name",
                  "nl", "--position", "above:performance/quick-read", "-o", "timeout=600")
        _settle(pool, mounts, {NL_XL: True})
        return lambda: (glupy_cli(pool, "detach", VOLUME, "nl"), _settle(pool, mounts, {NL_XL: False}))
    if cfg == "nl-cache":
        cli("volume", "set", VOLUME, "performance.nl-cache-timeout", "600")
        cli("volume", "set", VOLUME, "performance.nl-cache", "on")
        _settle(pool, mounts, {f"{VOLUME}-nl-cache": True})

        def undo_nl() -> None:
            cli("volume", "set", VOLUME, "performance.nl-cache", "off")
            cli("volume", "reset", VOLUME, "performance.nl-cache-timeout")
            _settle(pool, mounts, {f"{VOLUME}-nl-cache": False})
        return undo_nl
    if cfg == "stat_cache":
        cli("volume", "set", VOLUME, "performance.stat-prefetch", "off")  # md-cache out
        glupy_cli(pool, "attach", VOLUME, "glupy.library.stat_cache", "--side", "client", "--name", "sc",
                  "--position", "top", "-o", "timeout=600")
        _settle(pool, mounts, {SC_XL: True, f"{VOLUME}-md-cache": False})

        def undo_sc() -> None:
            glupy_cli(pool, "detach", VOLUME, "sc")
            cli("volume", "reset", VOLUME, "performance.stat-prefetch")
            _settle(pool, mounts, {SC_XL: False, f"{VOLUME}-md-cache": True})
        return undo_sc
    assert cfg == "md-cache"
    cli("volume", "set", VOLUME, "performance.cache-invalidation", "on")
    cli("volume", "set", VOLUME, "performance.md-cache-timeout", "600")
    _settle(pool, mounts, {f"{VOLUME}-md-cache": True})

    def undo_md() -> None:
        cli("volume", "reset", VOLUME, "performance.md-cache-timeout")
        cli("volume", "reset", VOLUME, "performance.cache-invalidation")
        _settle(pool, mounts, {f"{VOLUME}-md-cache": True})
    return undo_md


def _missing(p: Path, dir_fd: int | None = None) -> bool:
    try:
        if dir_fd is None:
            os.lstat(p)
        else:
            os.stat(p.name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return True
    return False


def _within(pred: Callable[[], bool], limit: float) -> float | None:
    t0 = time.monotonic()
    while True:
        try:
            if pred():
                return time.monotonic() - t0
        except FileNotFoundError:
            pass
        if time.monotonic() - t0 > limit:
            return None
        time.sleep(0.02)


NameOp = Callable[[Path, Path, str], None]


def _src(b: Path, a: Path, n: str) -> Path:
    src = b / "src" / f"{n}.src"
    src.write_text("x")
    wait_for("source visible on A", lambda: os.path.exists(a / "src" / f"{n}.src"), 5, 0.05)
    return src


# B makes d/NAME exist (rename/link: of a source A has used, so the brick tells A)
NAME_OPS: dict[str, NameOp] = {
    "create": lambda b, a, n: (b / "d" / n).write_text("x"),
    "mkdir": lambda b, a, n: (b / "d" / n).mkdir(),
    "symlink": lambda b, a, n: (b / "d" / n).symlink_to("target"),
    "rename": lambda b, a, n: os.rename(_src(b, a, n), b / "d" / n),
    "link": lambda b, a, n: os.link(_src(b, a, n), b / "d" / n),
}


@pytest.mark.parametrize("cfg", ["negative_lookup", "nl-cache"])
def test_names_made_on_another_client(pool: Pool, clients: tuple[Path, Path], cfg: str) -> None:
    a, b = clients
    base = f"nl-{cfg}"
    (b / base / "d").mkdir(parents=True)
    (b / base / "src").mkdir()
    undo = _configure(pool, clients, cfg)
    res: dict[str, float | None] = {}
    try:
        os.listdir(a / base / "d")
        os.listdir(a / base / "src")
        # relative to an open d: only an upcall can tell A (no revalidation of d)
        fd = os.open(a / base / "d", os.O_RDONLY | os.O_DIRECTORY)
        try:
            for op, make in NAME_OPS.items():
                p = a / base / "d" / op
                for _ in range(3):
                    assert _missing(p, fd)
                make(b / base, a / base, op)
                res[op] = _within(lambda p=p: not _missing(p, fd), BOUND)
        finally:
            os.close(fd)
        # and the other way: a name B unlinks is gone on A
        os.unlink(b / base / "d" / "create")
        res["unlink"] = _within(lambda: _missing(a / base / "d" / "create"), KERNEL_BOUND)
        if cfg == "negative_lookup":
            stats = json.loads(os.getxattr(a, "glupy.negative_lookup.stats"))
            print(stats)
            assert stats["hits"] >= len(NAME_OPS), stats  # the misses were cached
    finally:
        undo()
    print(cfg, res)
    late = {op: t for op, t in res.items() if t is None}
    assert not late, f"{cfg}: not seen on client A in time: {sorted(late)} ({res})"


def _append(p: Path) -> None:
    with open(p, "ab") as f:
        f.write(b"more")


FILE_OPS: dict[str, tuple[Callable[[Path], None], Callable[[Path], bool]]] = {
    "chmod": (lambda b: os.chmod(b / "f", 0o600), lambda a: os.stat(a / "f").st_mode & 0o777 == 0o600),
    "write": (lambda b: _append(b / "f"), lambda a: os.stat(a / "f").st_size == 9),
    "truncate": (lambda b: os.truncate(b / "f", 2), lambda a: os.stat(a / "f").st_size == 2),
    "link": (lambda b: os.link(b / "f", b / "f2"), lambda a: os.stat(a / "f").st_nlink == 2),
    "unlink": (lambda b: os.unlink(b / "f2"), lambda a: os.stat(a / "f").st_nlink == 1),
    "rename": (lambda b: os.rename(b / "f", b / "g"),
               lambda a: not os.path.lexists(a / "f") and os.stat(a / "g").st_size == 2),
    "create": (lambda b: (b / "h").write_bytes(b"abc"), lambda a: os.stat(a / "h").st_size == 3),
}
SLOW = {"stat_cache": {"rename"}, "md-cache": {"rename", "link", "unlink"}}


@pytest.mark.parametrize("cfg", ["stat_cache", "md-cache"])
def test_file_changes_on_another_client(pool: Pool, clients: tuple[Path, Path], cfg: str) -> None:
    a, b = clients
    base = f"sc-{cfg}"
    (b / base).mkdir()
    (b / base / "f").write_bytes(b"12345")
    undo = _configure(pool, clients, cfg)
    res: dict[str, float | None] = {}
    try:
        wait_for("f on A", lambda: os.stat(a / base / "f").st_size == 5, 5, 0.05)
        for op, (change, seen) in FILE_OPS.items():
            target = a / base / ("f" if op != "create" else "")
            for _ in range(2):
                os.stat(target)
            time.sleep(1.1)  # past the kernel's attribute timeout: A's stats reach the caches
            os.stat(target)
            change(b / base)
            res[op] = _within(lambda seen=seen: seen(a / base), KERNEL_BOUND)
        if cfg == "stat_cache":
            stats = json.loads(os.getxattr(a, "glupy.stat_cache.stats"))
            print(stats)
            assert stats["hits"] > 0 and stats["dropped"] > 0, stats
    finally:
        undo()
    print(cfg, res)
    late = {op: t for op, t in res.items()
            if t is None or t > (KERNEL_BOUND if op in SLOW[cfg] else BOUND)}
    assert not late, f"{cfg}: not seen on client A in time: {late} ({res})"
