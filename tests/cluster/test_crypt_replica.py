"""crypt attached client-side on a 3 x 2 replica volume: a peer dies (kill -9) while files
are written and rewritten through the mount, comes back, self-heal finishes; every file
reads back authentic through the mount, and both bricks of each replica pair hold the
same format-3 bytes (headers are deterministic, blocks travel with their nonce and tag).
Names encrypted (the first mkdir on this volume once hung: the bridge used the
caller's xdata after the caller had freed it).  Writes hold crypt's cluster lock (an
inodelk through AFR, on by default) while a replica is down."""

from __future__ import annotations

import hashlib
import mmap
import os
import threading
import time
from pathlib import Path

import pytest
from conftest import VOLUME, drop_crypt_root_records, glupy_cli
from pool import Pool, wait_for

from glupy.library.crypt import (
    DIRIV_XATTR,
    MAGIC,
    NAMEKEY_XATTR,
    brick_name,
    encrypt_name,
    load_master_key,
    open_name_key,
    stored_size,
)

pytestmark = pytest.mark.cluster


def content(i: int, version: int) -> bytes:
    return hashlib.sha256(f"{i}/{version}".encode()).digest() * (1 + (i * 37) % 700)


def _stored(key: Path, brick: Path, *parts: str) -> Path:
    """The brick path of mount path ``parts`` (crypt encrypts names)."""
    names = open_name_key(load_master_key(key, None), os.getxattr(brick, NAMEKEY_XATTR))
    path = brick
    for part in parts:
        path = path / brick_name(encrypt_name(names, os.getxattr(path, DIRIV_XATTR), part.encode()))
    return path


def test_crypt_peer_dies_while_writing(pool: Pool, mnt: Path, tmp_path: Path) -> None:
    key = Path("/var/tmp") / f"glupy-crypt-test-{os.getpid()}.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    # --force: the shared test volume holds other tests' plaintext files (glupy refuses
    # crypt over those otherwise); this test only uses its own directory
    glupy_cli(pool, "attach", VOLUME, "glupy.library.crypt", "--side", "client", "--name", "crypt",
              "-o", f"key-file={key}", "-o", "encrypt-names=on", "--force")
    try:
        pool.wait_client_connected(mnt)
        work = mnt / "crypt-fault"
        work.mkdir()
        versions: dict[int, int] = {}
        done = [0]  # writes that succeeded
        errors: list[str] = []
        stop = threading.Event()

        def writer() -> None:
            i = 0
            while not stop.is_set():
                n = i % 60  # 60 files, each rewritten in place (unaligned) again and again
                v = versions.get(n, -1) + 1
                try:
                    p = work / f"f{n:03d}"
                    data = content(n, v)
                    if v == 0:
                        p.write_bytes(data)
                    else:
                        with open(p, "r+b") as f:
                            f.truncate(len(data))
                            f.seek(0)
                            f.write(data)
                    versions[n] = v
                    done[0] += 1
                except OSError as exc:  # must not happen: the other replica is up
                    errors.append(f"f{n:03d} v{v}: {exc}")
                i += 1
                time.sleep(0.005)

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            wait_for("first writes", lambda: done[0] >= 100 or len(errors) > 5, 60)
            assert not errors, errors[:5]
            victim = pool.peers[1]
            assert pool.kill_peer(victim)
            at_kill = done[0]
            wait_for("writes while the peer is down", lambda: done[0] >= at_kill + 100 or len(errors) > 5,
                     90)
            victim.start()
            victim.wait_up()
            pool.wait_bricks_online(VOLUME, timeout=60)
            wait_for("writes after the peer is back", lambda: done[0] >= at_kill + 200 or len(errors) > 5,
                     90)
        finally:
            stop.set()
            thread.join(30)
        assert not errors, errors[:5]
        wait_for("self-heal to finish", lambda: pool.heal_pending(VOLUME) == 0, 180, interval=1)
        time.sleep(5)  # glfsheal can report 0 before the last writes' index entries appear
        wait_for("self-heal to finish", lambda: pool.heal_pending(VOLUME) == 0, 180, interval=1)

        pairs = [[pool.peers[0], 1, pool.peers[1], 1], [pool.peers[2], 1, pool.peers[0], 2],
                 [pool.peers[1], 2, pool.peers[2], 2]]
        pair_dirs = [(_stored(key, pool.brick_path(a, na), "crypt-fault"),
                      _stored(key, pool.brick_path(b, nb), "crypt-fault")) for a, na, b, nb in pairs]
        assert all(d1.name == d2.name != "crypt-fault" for d1, d2 in pair_dirs)
        for n, v in versions.items():
            plain_name = f"f{n:03d}"
            want = content(n, v)
            assert (work / plain_name).read_bytes() == want, plain_name
            iv = os.getxattr(pair_dirs[0][0], DIRIV_XATTR)
            names = open_name_key(load_master_key(key, None),
                                  os.getxattr(pair_dirs[0][0].parent, NAMEKEY_XATTR))
            name = brick_name(encrypt_name(names, iv, plain_name.encode()))
            holders = [(d1, d2) for d1, d2 in pair_dirs if (d1 / name).exists() or (d2 / name).exists()]
            assert len(holders) == 1, (name, holders)
            d1, d2 = holders[0]
            raw1, raw2 = (d1 / name).read_bytes(), (d2 / name).read_bytes()
            assert raw1 == raw2, f"{name}: the replicas differ after heal"
            assert raw1[:4] == MAGIC and len(raw1) == stored_size(len(want)), name
            assert want[:32] not in raw1, name
        # O_DIRECT through AFR: 128 KiB requests go O_DIRECT below crypt (the flag in the
        # writev/readv opens the bricks' anonymous fds O_DIRECT); both replicas the same
        blob = os.urandom(4 << 20)
        buf = mmap.mmap(-1, len(blob))
        buf[:] = blob
        fd = os.open(work / "direct", os.O_CREAT | os.O_WRONLY | os.O_DIRECT, 0o600)
        try:
            assert os.write(fd, buf) == len(blob)
        finally:
            os.close(fd)
        buf[:] = bytes(len(blob))
        fd = os.open(work / "direct", os.O_RDONLY | os.O_DIRECT)
        try:
            assert os.readv(fd, [buf]) == len(blob)
        finally:
            os.close(fd)
        assert bytes(buf) == blob
        name = brick_name(encrypt_name(names, iv, b"direct"))
        (d1, d2), = [(a, b) for a, b in pair_dirs if (a / name).exists() or (b / name).exists()]
        assert (d1 / name).read_bytes() == (d2 / name).read_bytes()
        assert (d1 / name).stat().st_size == stored_size(len(blob))
        log = (pool.root / f"{mnt.name}.log").read_text(errors="replace")
        assert "EIO" not in log and "authentication failed" not in log
        print(f"{len(versions)} files, {done[0]} writes ({at_kill} before the kill)")
    finally:
        glupy_cli(pool, "detach", VOLUME, "crypt", "--force")  # its encrypted files stay
        drop_crypt_root_records(pool)
        key.unlink()
