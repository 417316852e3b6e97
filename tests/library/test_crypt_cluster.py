"""crypt on two clients of one brick, and of a replica pair of bricks (glusterfsd with
features/locks; two FUSE client graphs crypt -> [AFR ->] protocol/client): concurrent
read-modify-write of the same blocks must lose no update (crypt's inodelk), and a
truncate by one client is seen by the other.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from glupy.library.crypt import BLOCK, stored_size
from glupy.local import brick, process, volfile
from glupy.local.volfile import Graph, Volume
from glupy.testing import BrickMountFactory, BrickMountInfo

SPEC = "glupy.library.crypt:Crypt"


class Client:
    def __init__(self, mnt: Path, state: Path) -> None:
        self.mnt, self.state = mnt, state

    def log(self) -> str:
        logs = list(self.state.rglob("glusterfs.log"))
        return "\n".join(p.read_text(errors="replace") for p in logs)


@pytest.fixture(params=["brick", "replica"])
def two_clients(glupy_brick_mount: BrickMountFactory, tmp_path: Path,
                request: pytest.FixtureRequest) -> Iterator[tuple[BrickMountInfo, Client, Client]]:
    """Two FUSE clients, each FUSE -> crypt -> protocol/client to one brick, or
    FUSE -> crypt -> AFR -> protocol/client x 2 to a replica pair of bricks."""
    bricks = [glupy_brick_mount([]) for _ in range(1 if request.param == "brick" else 2)]
    key = tmp_path / "k"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    clients = []
    try:
        for name in ("c1", "c2"):
            graph = Graph()
            for i, b in enumerate(bricks):
                graph.add(brick.client_graph(b.port, b.exported, host=brick.HOST,
                                             name=f"{name}-{i}-client").volumes[0])
            top = graph.volumes[-1]
            if len(bricks) > 1:
                top = graph.add(Volume(name=f"{name}-afr", type="cluster/replicate",
                                       subvolumes=[v.name for v in graph.volumes]))
            opts = {"key-file": str(key), "cluster-lock": "on", "encrypt-names": "on"}
            volfile.stack_translators(graph, top, [(SPEC, opts)], name)
            mnt, state = tmp_path / f"{name}-mnt", tmp_path / f"{name}-state"
            mnt.mkdir()
            # no kernel attribute cache: each client's kernel asks for the size it reads to
            process.mount_graph(graph, mnt, source_dir=bricks[0].backend_dir, state_dir=state,
                                extra_args=("--attribute-timeout=0", "--entry-timeout=0"))
            clients.append(Client(mnt, state))
        yield bricks[0], clients[0], clients[1]
    finally:
        for c in clients:
            process.unmount(c.mnt, state_dir=c.state)


def _drop(fd: int) -> None:
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def test_concurrent_unaligned_writes_lose_nothing(
        two_clients: tuple[BrickMountInfo, Client, Client]) -> None:
    """Four writers per client fill interleaved 64-byte slots of the same 2 blocks at
    once, 10 rounds: every write is a read-modify-write of a block the other client is
    rewriting too.  (With ``cluster-lock off`` this loses updates.)"""
    info, a, b = two_clients
    slot, writers, rounds = 64, 8, 10
    nslots = (2 * BLOCK) // slot
    (a.mnt / "f").write_bytes(bytes(2 * BLOCK))
    errors: list[BaseException] = []

    def writer(c: Client, wid: int) -> None:
        try:
            fd = os.open(c.mnt / "f", os.O_RDWR)
            try:
                for rnd in range(rounds):
                    for i in range(wid, nslots, writers):
                        os.pwrite(fd, bytes([wid * rounds + rnd + 1]) * slot, i * slot)
            finally:
                os.close(fd)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(a if w % 2 else b, w)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    want = bytearray(2 * BLOCK)
    for i in range(nslots):
        w = i % writers
        want[i * slot:(i + 1) * slot] = bytes([w * rounds + rounds]) * slot
    for c in (a, b):
        fd = os.open(c.mnt / "f", os.O_RDONLY)
        try:
            _drop(fd)
            got = os.pread(fd, 8 * BLOCK, 0)
        finally:
            os.close(fd)
        lost = [i for i in range(nslots) if got[i * slot:(i + 1) * slot] != want[i * slot:(i + 1) * slot]]
        assert not lost, f"{len(lost)} of {nslots} slots lost an update, e.g. {lost[:5]}"
    for c in (a, b):
        log = c.log()
        assert "no lock translator below" not in log, "inodelk was not used"
        # every lock had an owner and every unlock reached the bricks
        assert "Assertion failed" not in log and "unlock" not in log, log[-2000:]
    stored = [p for p in info.backend_dir.iterdir() if p.name != ".glusterfs"]
    assert len(stored) == 1 and stored[0].name != "f", stored  # its name is encrypted
    assert stored[0].stat().st_size == stored_size(2 * BLOCK)


def test_truncate_by_one_client_is_seen_by_the_other(
        two_clients: tuple[BrickMountInfo, Client, Client]) -> None:
    _, a, b = two_clients
    first = os.urandom(3 * BLOCK + 11)
    (a.mnt / "g").write_bytes(first)
    fd_b = os.open(b.mnt / "g", os.O_RDWR)
    try:
        _drop(fd_b)
        assert os.pread(fd_b, len(first), 0) == first
        os.truncate(a.mnt / "g", BLOCK + 5)  # A cuts inside block 1
        os.pwrite(fd_b, b"tail", BLOCK + 5)  # B appends right at the new end
    finally:
        os.close(fd_b)
    want = first[:BLOCK + 5] + b"tail"
    for c in (a, b):
        fd = os.open(c.mnt / "g", os.O_RDONLY)
        try:
            _drop(fd)
            assert os.pread(fd, 8 * BLOCK, 0) == want
        finally:
            os.close(fd)
