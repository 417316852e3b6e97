"""crypt cannot be attached onto unencrypted files or detached from encrypted ones
without --force (the volume is read over gfapi, bricks on every peer); with
read-legacy-plaintext, files written before crypt stay readable and unchanged."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import VOLUME, drop_crypt_root_records, glupy_cli
from pool import Pool, wait_for

from glupy.library.crypt import MAGIC

pytestmark = pytest.mark.cluster
XL = f"{VOLUME}-glupy-crypt"


def test_crypt_attach_and_detach_are_refused_when_they_would_damage_data(
        pool: Pool, mnt: Path, tmp_path: Path) -> None:
    key = tmp_path / "crypt.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    (mnt / "plain").mkdir(exist_ok=True)
    (mnt / "plain" / "readme.txt").write_text("not encrypted\n")
    args = ("attach", VOLUME, "glupy.library.crypt", "--side", "client", "--name", "crypt",
            "-o", f"key-file={key}")
    res = glupy_cli(pool, *args, check=False)
    assert res.returncode != 0, res.stdout
    assert "holds files that are not encrypted" in res.stderr and "--force" in res.stderr, res.stderr
    assert "glupy.xl.crypt" not in pool.peers[0].cli("volume", "info", VOLUME).stdout.replace(
        "user.glupy.xl.crypt: detached", "")

    res = glupy_cli(pool, *args, "--force")
    assert "WARNING (--force)" in res.stdout
    try:
        wait_for("client graph switch", lambda: (mnt / ".meta/graphs/active" / XL).is_dir(), 30)
        pool.wait_client_connected(mnt)
        (mnt / "secret.txt").write_text("encrypted through crypt\n")
        assert (mnt / "secret.txt").read_text() == "encrypted through crypt\n"
        res = glupy_cli(pool, "detach", VOLUME, "crypt", check=False)
        assert res.returncode != 0, res.stdout
        named = re.search(r"holds encrypted files \(e\.g\. (/[^)]*)\)", res.stderr)
        assert named, res.stderr  # the first encrypted file the walk met (other tests' too)
        # the volume's own (encrypted) name: a file on some brick
        rel = named.group(1).lstrip("/")
        assert any((pool.brick_path(p, n) / rel).is_file() for p in pool.peers for n in (1, 2)), rel
        assert (mnt / ".meta/graphs/active" / XL).is_dir()  # still attached
    finally:
        res = glupy_cli(pool, "detach", VOLUME, "crypt", "--force", check=False)
        drop_crypt_root_records(pool)
        print(res.stdout, res.stderr)
    assert res.returncode == 0


def _errno_of(op: Callable[..., object], *args: object) -> int | None:
    try:
        op(*args)
    except OSError as e:
        return e.errno
    return None


def _write_synced(path: Path, offset: int) -> None:
    """One byte written at ``offset`` and fsynced (write-behind may defer the error)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, b"x", offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def _brick_copies(pool: Pool, rel: str) -> list[Path]:
    """Every brick's copy of the volume path ``rel`` (names in clear)."""
    return [p for peer in pool.peers for n in (1, 2)
            if (p := pool.brick_path(peer, n) / rel).is_file()]


def test_legacy_plaintext_through_dht_and_afr_is_read_only(
        pool: Pool, mnt: Path, tmp_path: Path) -> None:
    """Files written before crypt (the 3 x 2 volume, names in clear) are served by crypt
    with read-legacy-plaintext on and encrypt-names off, through DHT and AFR; every
    change to their contents is EROFS and both replicas keep the same bytes; copying a
    file through the mount encrypts the copy on both replicas."""
    key = tmp_path / "crypt.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    work = mnt / "legacy"
    work.mkdir(exist_ok=True)
    legacy = {f"f{i:02d}": os.urandom(97 * i + 5) + b"legacy plaintext\n" for i in range(12)}
    for name, data in legacy.items():
        (work / name).write_bytes(data)
    for name, data in legacy.items():
        copies = _brick_copies(pool, f"legacy/{name}")
        assert len(copies) == 2 and all(c.read_bytes() == data for c in copies), name
    glupy_cli(pool, "attach", VOLUME, "glupy.library.crypt", "--side", "client", "--name", "crypt",
              "-o", f"key-file={key}", "-o", "encrypt-names=off",
              "-o", "read-legacy-plaintext=on", "--force")
    try:
        wait_for("client graph switch", lambda: (mnt / ".meta/graphs/active" / XL).is_dir(), 30)
        pool.wait_client_connected(mnt)
        for name, data in legacy.items():
            path = work / name
            assert path.stat().st_size == len(data), name
            assert path.read_bytes() == data, name
            assert _errno_of(_write_synced, path, 5) == errno.EROFS, name
            assert _errno_of(os.truncate, path, 3) == errno.EROFS, name
        for name, data in legacy.items():
            copies = _brick_copies(pool, f"legacy/{name}")
            assert len(copies) == 2 and all(c.read_bytes() == data for c in copies), name

        (work / "f03.new").write_bytes((work / "f03").read_bytes())  # the documented way out
        (work / "f03.new").rename(work / "f03")
        copies = _brick_copies(pool, "legacy/f03")
        assert len(copies) == 2 and all(c.read_bytes()[:len(MAGIC)] == MAGIC for c in copies)
        assert copies[0].read_bytes() == copies[1].read_bytes()
        assert (work / "f03").read_bytes() == legacy["f03"]
        _write_synced(work / "f03", 0)  # encrypted now: writable
        assert (work / "f03").read_bytes() == b"x" + legacy["f03"][1:]
    finally:
        res = glupy_cli(pool, "detach", VOLUME, "crypt", "--force", check=False)
        drop_crypt_root_records(pool)
        print(res.stdout, res.stderr)
    assert res.returncode == 0
