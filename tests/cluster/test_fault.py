"""A peer dies (glusterd + bricks + shd, kill -9) while files are written through the mount
with a Python translator in every brick; it comes back, self-heal finishes, nothing is lost."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest
from conftest import VOLUME, glupy_cli
from pool import Pool, wait_for

pytestmark = pytest.mark.cluster


def content(i: int) -> bytes:
    return hashlib.sha256(str(i).encode()).hexdigest().encode() * (1 + i % 40)


def test_peer_dies_while_writing(pool: Pool, mnt: Path) -> None:
    t0 = time.monotonic()
    glupy_cli(pool, "attach", VOLUME, "glupy.library.passthrough:PassThrough", "--side", "brick",
              "--name", "ptb")
    xl = f"{VOLUME}-glupy-ptb"
    try:
        pool.wait_client_connected(mnt)
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
                    errors.append(f"f{i:04d}: {exc}")
                i += 1
                time.sleep(0.01)

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            wait_for("first writes", lambda: len(written) >= 30, 30)
            victim = pool.peers[1]
            killed = pool.kill_peer(victim)
            assert killed and victim.glusterd_pid() is None
            n_at_kill = len(written)
            wait_for("writes while the peer is down", lambda: len(written) >= n_at_kill + 60, 60)
            victim.start()
            victim.wait_up()
            procs = pool.wait_bricks_online(VOLUME, timeout=60)
            wait_for("writes after the peer is back", lambda: len(written) >= n_at_kill + 100, 60)
        finally:
            stop.set()
            thread.join(30)
        assert not errors, errors[:5]

        # the restarted bricks run the translator again
        for brick, _pid in procs.items():
            if brick.startswith(victim.host + ":"):
                log = (victim.logdir / "bricks" / (brick.split(":", 1)[1].strip("/").replace("/", "-")
                                                    + ".log")).read_text()
                assert f"glupy: {xl} loaded" in log[log.rfind("Started running"):], brick

        t_heal = time.monotonic()
        wait_for("self-heal to finish", lambda: pool.heal_pending(VOLUME) == 0, 120, interval=1)
        heal_s = time.monotonic() - t_heal

        # every file: right content through the mount and on BOTH bricks of its replica pair
        pairs = [[pool.peers[0], 1, pool.peers[1], 1], [pool.peers[2], 1, pool.peers[0], 2],
                 [pool.peers[1], 2, pool.peers[2], 2]]
        pair_dirs = [(pool.brick_path(a, na) / "fault", pool.brick_path(b, nb) / "fault")
                     for a, na, b, nb in pairs]
        assert sorted(p.name for p in work.iterdir()) == [f"f{i:04d}" for i in written]
        for i in written:
            name = f"f{i:04d}"
            assert (work / name).read_bytes() == content(i), name
            holders = [(d1, d2) for d1, d2 in pair_dirs if (d1 / name).exists() or (d2 / name).exists()]
            assert len(holders) == 1, (name, holders)
            d1, d2 = holders[0]
            assert (d1 / name).read_bytes() == content(i) == (d2 / name).read_bytes(), name
        print(f"{len(written)} files ({n_at_kill} before the kill), heal {heal_s:.1f}s, "
              f"test {time.monotonic() - t0:.1f}s")
    finally:
        glupy_cli(pool, "detach", VOLUME, "ptb")
