"""crypt and O_DIRECT.  Format 3's header is 512 bytes, so 16 whole stored blocks from a
16th block on (FUSE's 128 KiB requests, for one) are a 512-aligned range of the brick
file.  A caller whose fd is O_DIRECT gets O_DIRECT below crypt for such ranges, reads and
writes, so crypt's bytes bypass the brick's page cache as the plaintext would have
(``none`` writes O_DIRECT there); other ranges, and callers that do not use O_DIRECT,
go through the page cache.  A recorder between crypt and storage/posix shows which."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import mmap
import os
from pathlib import Path
from typing import Any

import pytest
from cryptkeys import new_key

from glupy import FopError
from glupy.library.crypt import BLOCK, DIRECT_ALIGN, STORED_BLOCK, Crypt, block_offset, stored_size
from glupy.testing import MountFactory, MountInfo

SPEC = "glupy.library.crypt:Crypt"
TRANSLATORS = str(Path(__file__).parent / "translators")
MiB = 1 << 20


def _mount(glupy_mount: MountFactory, tmp_path: Path) -> MountInfo:
    key = new_key(tmp_path / "crypt.key")
    return glupy_mount([(SPEC, {"key-file": str(key), "encrypt-names": "off"}),
                        ("iorecord:IoRecord", {})], python_path=[TRANSLATORS])


def _io(mp: Path, fop: str) -> list[tuple[bool, int, int]]:
    """(direct, offset, size) of each ``fop`` recorded below crypt since the last call."""
    seen = json.loads(os.getxattr(mp, "glupy.io"))
    os.getxattr(mp, "glupy.io.reset")
    return [(d, off, size) for f, d, off, size in seen if f == fop]


def _aligned(data: bytes) -> mmap.mmap:
    buf = mmap.mmap(-1, len(data))  # page-aligned, as O_DIRECT wants
    buf[:] = data
    return buf


def test_direct_caller_gets_direct_stored_io(glupy_mount: MountFactory, tmp_path: Path) -> None:
    m = _mount(glupy_mount, tmp_path)
    path = m.mountpoint / "f"
    model = bytearray(os.urandom(2 * MiB))
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_DIRECT, 0o600)
    try:
        _io(m.mountpoint, "writev")
        assert os.pwrite(fd, _aligned(bytes(model[:MiB])), 0) == MiB
        assert os.pwrite(fd, _aligned(bytes(model[MiB:])), MiB) == MiB
        writes = _io(m.mountpoint, "writev")
        assert writes and all(d for d, _, _ in writes), writes
        assert all(off % DIRECT_ALIGN == 0 and size % DIRECT_ALIGN == 0 for _, off, size in writes)
        assert sum(size for _, _, size in writes) == stored_size(len(model))

        buf = mmap.mmap(-1, 2 * MiB)
        assert os.preadv(fd, [buf], 0) == 2 * MiB
        assert bytes(buf) == model
        blocks = [(d, off, size) for d, off, size in _io(m.mountpoint, "readv") if size > 512]
        assert blocks and all(d for d, _, _ in blocks), blocks

        # one 4 KiB block is never a 512-aligned stored range: through the page cache
        patch = os.urandom(BLOCK)
        assert os.pwrite(fd, _aligned(patch), 5 * BLOCK) == BLOCK
        model[5 * BLOCK:6 * BLOCK] = patch
        assert _io(m.mountpoint, "writev") == [(False, block_offset(5), STORED_BLOCK)]
    finally:
        os.close(fd)
    assert path.read_bytes() == model  # through the page cache now: the same bytes
    brick = m.backend_dir / "f"
    assert brick.stat().st_size == stored_size(len(model))
    assert model[:4096] not in brick.read_bytes()


def test_buffered_caller_stays_buffered(glupy_mount: MountFactory, tmp_path: Path) -> None:
    m = _mount(glupy_mount, tmp_path)
    data = os.urandom(MiB)
    _io(m.mountpoint, "writev")
    (m.mountpoint / "f").write_bytes(data)
    writes = _io(m.mountpoint, "writev")
    assert writes and not any(d for d, _, _ in writes), writes
    assert (m.mountpoint / "f").read_bytes() == data
    assert not any(d for d, _, _ in _io(m.mountpoint, "readv"))


class _RefusingChild:
    """A child whose brick has no O_DIRECT: EINVAL for an O_DIRECT fd, as posix answers
    when its open of the anonymous fd fails."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def writev(self, fd: Any, blob: Any, offset: int, flags: int, xdata: Any) -> Any:
        self.calls.append(("writev", fd))
        if fd == "direct":
            raise FopError(errno.EINVAL)
        return len(blob)


def test_a_brick_without_o_direct_falls_back_once(caplog: pytest.LogCaptureFixture) -> None:
    crypt = Crypt.__new__(Crypt)
    child = _RefusingChild()
    crypt.__dict__.update(child=child, log=logging.getLogger("crypt-test"), _direct=True)
    blob = bytes(DIRECT_ALIGN * 3)
    with caplog.at_level(logging.WARNING, logger="crypt-test"):
        for _ in range(2):
            assert asyncio.run(crypt._write_stored(None, "anon", blob, DIRECT_ALIGN, 0,
                                                   "direct")) == len(blob)
    assert child.calls == [("writev", "direct"), ("writev", "anon"), ("writev", "anon")]
    assert [r.message for r in caplog.records if "O_DIRECT" in r.message] and \
        len([r for r in caplog.records if "O_DIRECT" in r.message]) == 1
