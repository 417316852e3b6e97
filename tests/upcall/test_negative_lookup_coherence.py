"""negative_lookup is coherent across clients: two FUSE clients of one brick with
features/upcall (cache-invalidation on); client A caches misses with timeout=600, client
B makes the names exist; A must see each within the bound.  The C performance/nl-cache
runs the same checks (where GlusterFS sends an upcall at all, see below).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rig import two_clients

NLC = ("glupy.library.negative_lookup", {"timeout": "600"})
C_NLC = ("performance/nl-cache", {"nl-cache-timeout": "600"})
BOUND = 1.0  # seconds


def missing(p: Path, dir_fd: int | None = None) -> bool:
    try:
        if dir_fd is None:
            os.lstat(p)
        else:  # relative to an open directory: the kernel does not revalidate d itself
            os.stat(p.name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return True
    return False


def seen_after(p: Path, limit: float, dir_fd: int | None = None) -> float | None:
    t0 = time.monotonic()
    while missing(p, dir_fd):
        if time.monotonic() - t0 > limit:
            return None
        time.sleep(0.02)
    return time.monotonic() - t0


def _src(b: Path, a: Path, name: str, known: bool) -> Path:
    src = b / "src" / f"{name}.src"
    src.write_text("x")
    if known:
        os.stat(a / "src" / f"{name}.src")  # client A uses the source inode
    return src


Op = Callable[[Path, Path, str], None]
# operations on B that make d/NAME exist; all but the *_unseen ones are announced to A
# by an upcall (create/mkdir/mknod/symlink: on d; rename/link: on the source inode A used)
OPS: dict[str, Op] = {
    "create": lambda b, a, n: (b / "d" / n).write_text("x"),
    "mkdir": lambda b, a, n: (b / "d" / n).mkdir(),
    "mknod": lambda b, a, n: os.mkfifo(b / "d" / n),
    "symlink": lambda b, a, n: (b / "d" / n).symlink_to("target"),
    "rename": lambda b, a, n: os.rename(_src(b, a, n, True), b / "d" / n),
    "link": lambda b, a, n: os.link(_src(b, a, n, True), b / "d" / n),
}
# rename/link into d of an inode A never used: GlusterFS sends A nothing; negative_lookup
# notices d's changed mtime when the kernel revalidates d (entry-timeout, 1 s)
UNSEEN: dict[str, Op] = {
    "rename_unseen": lambda b, a, n: os.rename(_src(b, a, n, False), b / "d" / n),
    "link_unseen": lambda b, a, n: os.link(_src(b, a, n, False), b / "d" / n),
}


def _run(tmp: Path, cache: tuple[str, dict[str, str]], ops: dict[str, Op], bound: float,
         cache_invalidation: bool = True, by_fd: bool = True) -> dict[str, float | None]:
    """A stats d/OP (missing) three times, B runs OP, then A polls d/OP; seconds until A
    sees it (None: not within ``bound``).  ``by_fd``: A looks names up relative to an
    open d, so only an upcall can tell it (no revalidation of d by path walk)."""
    out: dict[str, float | None] = {}
    with two_clients(tmp, [cache], cache_invalidation=cache_invalidation) as rig:
        (rig.b / "d").mkdir()
        (rig.b / "src").mkdir()
        os.listdir(rig.a / "d")
        os.listdir(rig.a / "src")
        fd = os.open(rig.a / "d", os.O_RDONLY | os.O_DIRECTORY) if by_fd else None
        try:
            for op, make in ops.items():
                p = rig.a / "d" / op
                for _ in range(3):
                    assert missing(p, fd)
                make(rig.b, rig.a, op)
                out[op] = seen_after(p, bound, fd)
        finally:
            if fd is not None:
                os.close(fd)
        if cache[0].startswith("glupy"):
            stats = json.loads(os.getxattr(rig.a, "glupy.negative_lookup.stats"))
            out["_hits"] = stats["hits"]
        elif cache[0].startswith("misses"):
            stats = json.loads(os.getxattr(rig.a, "glupy.misses"))
            out["_hits"], out["_dropped"] = stats["hits"], stats["dropped"]
    return out


@pytest.mark.parametrize("cache", [NLC, C_NLC], ids=["negative_lookup", "nl-cache"])
def test_names_made_on_another_client_show_within_a_second(tmp_path: Path,
                                                           cache: tuple[str, dict[str, str]]) -> None:
    res = _run(tmp_path, cache, OPS, BOUND)
    print(cache[0], res)
    late = {op: t for op, t in res.items() if not op.startswith("_") and t is None}
    assert not late, f"{cache[0]}: still missing on client A after {BOUND} s: {sorted(late)} ({res})"
    if cache is NLC:
        assert res["_hits"] >= len(OPS), "the misses were not answered from the cache at all"


def test_rename_and_link_of_inodes_this_client_never_used(tmp_path: Path) -> None:
    # no upcall reaches A; by path, the kernel revalidates d (entry-timeout 1 s), the
    # lookup of d shows its new mtime and the misses under d go
    res = _run(tmp_path, NLC, UNSEEN, 2 * BOUND, by_fd=False)
    print(res)
    assert all(res[op] is not None for op in UNSEEN), res


def test_without_cache_invalidation(tmp_path: Path) -> None:
    # by path: seen once the kernel revalidates d (its mtime moved); relative to an open
    # d nothing revalidates it: the miss is served up to `timeout` (600 s here)
    res = _run(tmp_path, NLC, {"create": OPS["create"]}, 2.5, cache_invalidation=False, by_fd=False)
    assert res["create"] is not None and res["create"] > 0.1, res
    (tmp_path / "fd").mkdir()
    res = _run(tmp_path / "fd", NLC, {"create": OPS["create"]}, 2.5, cache_invalidation=False)
    assert res["create"] is None, res


def test_a_miss_cache_alone_is_invalidated_in_c(tmp_path: Path) -> None:
    # Misses defines neither upcall() nor notify(): no Python runs for the upcall
    res = _run(tmp_path, ("misses:Misses", {}), {"create": OPS["create"], "rename": OPS["rename"]},
               BOUND)
    assert res["create"] is not None and res["rename"] is not None, res
    assert res["_hits"] >= 4 and res["_dropped"] >= 2, res  # cached, then dropped by the upcalls
