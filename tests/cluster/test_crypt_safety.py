"""crypt cannot be attached onto unencrypted files or detached from encrypted ones
without --force (the volume is read over gfapi, bricks on every peer)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import VOLUME, drop_crypt_root_records, glupy_cli
from pool import Pool, wait_for

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
