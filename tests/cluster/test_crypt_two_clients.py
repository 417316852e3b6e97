"""Two FUSE clients of a glusterd-managed 3 x 2 replica volume, each with crypt attached
client-side (defaults: names encrypted, cluster-lock on): writers on both clients
read-modify-write the same blocks at once; crypt's inodelk (domain glupy.crypt, on the
loc through AFR) must lose no update, every block stays authentic, and both replicas
hold the same bytes."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import VOLUME, drop_crypt_root_records, glupy_cli
from pool import Pool

from glupy.library.crypt import (
    BLOCK,
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


def test_two_clients_rewrite_the_same_blocks(pool: Pool, mnt: Path) -> None:
    key = Path("/var/tmp") / f"glupy-crypt-two-{os.getpid()}.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    glupy_cli(pool, "attach", VOLUME, "glupy.library.crypt", "--side", "client", "--name", "crypt",
              "-o", f"key-file={key}", "--force")
    extra: list[Path] = []
    # the pool's mount logs hold every earlier test's lines: only this test's are checked
    log_start = {log.stem: log.stat().st_size for log in pool.root.glob("mnt-*.log")}
    try:
        pool.wait_client_connected(mnt)
        extra.append(pool.mount(VOLUME))
        a, b = mnt, extra[0]
        work = a / "crypt-two"
        work.mkdir()
        # 8 writers on both clients, every slot of two blocks rewritten three times:
        # each block is contended by all of them.  AFR's delayed post-op (1 s by
        # default) holds AFR's eager lock after each write, so the other client's
        # write waits for it: 128 contended writes took 124 s; with the delay off
        # (docs/library.md, crypt: Concurrency) 0.4 s.
        pool.peers[0].cli("volume", "set", VOLUME, "cluster.post-op-delay-secs", "0")
        slot, writers, rounds = 64, 8, 3
        nslots = (2 * BLOCK) // slot
        (work / "f").write_bytes(bytes(2 * BLOCK))
        errors: list[BaseException] = []

        def writer(m: Path, wid: int) -> None:
            try:
                fd = os.open(m / "crypt-two" / "f", os.O_RDWR)
                try:
                    for rnd in range(rounds):
                        for i in range(wid, nslots, writers):
                            os.pwrite(fd, bytes([wid * rounds + rnd + 1]) * slot, i * slot)
                finally:
                    os.close(fd)
            except BaseException as e:  # reported by the main thread
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(a if w % 2 else b, w))
                   for w in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        assert not any(t.is_alive() for t in threads), "a writer hangs (a lock never released?)"
        assert not errors, errors
        want = bytearray(2 * BLOCK)
        for i in range(nslots):
            w = i % writers
            want[i * slot:(i + 1) * slot] = bytes([w * rounds + rounds]) * slot
        extra.append(pool.mount(VOLUME))  # a fresh client: no cache saw the writes
        got = (extra[-1] / "crypt-two" / "f").read_bytes()
        lost = [i for i in range(nslots) if got[i * slot:(i + 1) * slot] != want[i * slot:(i + 1) * slot]]
        assert not lost, f"{len(lost)} of {nslots} slots lost an update, e.g. {lost[:5]}"
        for m in (a, b):
            with open(pool.root / f"{m.name}.log", "rb") as f:
                f.seek(log_start.get(m.name, 0))
                log = f.read().decode(errors="replace")
            assert "no lock translator below" not in log, "inodelk was not used"
            lock_failures = [ln for ln in log.splitlines() if "inodelk" in ln and "failed" in ln]
            assert not lock_failures, lock_failures[:5]
            assert "EIO" not in log and "authentication failed" not in log
        master = load_master_key(key, None)
        stored = []
        for brick in pool.root.glob("bricks/*/b*"):
            names = open_name_key(master, os.getxattr(brick, NAMEKEY_XATTR))
            d = brick / brick_name(encrypt_name(names, os.getxattr(brick, DIRIV_XATTR), b"crypt-two"))
            f = d / brick_name(encrypt_name(names, os.getxattr(d, DIRIV_XATTR), b"f"))
            if f.is_file() and f.stat().st_size:  # (not a DHT linkto file)
                stored.append(f)
        assert all(f.read_bytes()[:4] == MAGIC and f.stat().st_size == stored_size(2 * BLOCK)
                   for f in stored), stored
        assert len(stored) == 2 and stored[0].read_bytes() == stored[1].read_bytes(), stored
    finally:
        for m in extra:
            subprocess.run(["umount", str(m)], check=False)
            pool.mounts.remove(m)
        glupy_cli(pool, "detach", VOLUME, "crypt", "--force")
        pool.peers[0].cli("volume", "reset", VOLUME, "cluster.post-op-delay-secs")
        drop_crypt_root_records(pool)
        key.unlink()
