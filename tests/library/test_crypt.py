"""crypt (format 3) on real graphs: FUSE -> crypt -> posix over a temp dir.

Every read through the mount must match an in-memory model, the brick must hold only
the documented layout (header + sealed 4 KiB blocks), and each attack of issue 15 is
carried out on the brick directory itself and must end in EIO (or EKEYREJECTED for a
wrong key) with a log line naming the file and block.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptkeys import new_key

from glupy.library.crypt import (
    BLOCK,
    DIRIV_XATTR,
    HEADER_LEN,
    MAGIC,
    NAMEKEY_XATTR,
    STORED_BLOCK,
    HeaderError,
    KeyFileError,
    MasterKey,
    block_offset,
    brick_name,
    encrypt_name,
    load_master_key,
    make_header,
    open_header,
    open_name_key,
    passphrase_file_text,
    plain_size,
    read_key_file,
    read_passphrase_file,
    rewrap_header,
    stored_size,
)
from glupy.local.process import MountError
from glupy.testing import MountFactory, MountInfo

SPEC = "glupy.library.crypt:Crypt"
MARKER = b"GLUPY-CRYPT-PLAINTEXT-MARKER:0123456789abcdef;"

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02


def _fallocate(fd: int, mode: int, offset: int, length: int) -> None:
    if _libc.fallocate(fd, mode, offset, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


@pytest.fixture
def key_files(tmp_path: Path) -> tuple[Path, Path]:
    return new_key(tmp_path / "a.key"), new_key(tmp_path / "b.key")


NAMES_ON = {"encrypt-names": "on"}
_MASTERS: dict[Path, MasterKey | None] = {}  # backend dir -> the key its names are under


def _mount(glupy_mount: MountFactory, key: Path, backend: Path | None = None, timeout: float = 30.0,
           opts: dict[str, str] | None = None, option: str = "key-file") -> MountInfo:
    m = glupy_mount([(SPEC, {option: str(key), **(opts or {})})], backend_dir=backend,
                    timeout=timeout)
    if (opts or {}).get("encrypt-names", "on") == "off":
        _MASTERS.setdefault(m.backend_dir, None)
    else:
        _MASTERS.setdefault(m.backend_dir, load_master_key(
            key if option == "key-file" else None, key if option != "key-file" else None,
            allow_shared=True))
    return m


def _on_brick(m: MountInfo, name: str) -> Path:
    """The brick path of ``name`` (relative to the mount): its encrypted names."""
    master = _MASTERS[m.backend_dir]
    if master is None:
        return m.backend_dir / name
    try:
        record = os.getxattr(m.backend_dir, NAMEKEY_XATTR)
    except OSError:
        os.listdir(m.mountpoint)  # the first listing makes the root's records
        record = os.getxattr(m.backend_dir, NAMEKEY_XATTR)
    names = open_name_key(master, record)
    path = m.backend_dir
    for part in name.split("/"):
        path = path / brick_name(encrypt_name(names, os.getxattr(path, DIRIV_XATTR),
                                              part.encode()))
    return path


def _drop_cache(fd: int) -> None:
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def _read_all(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        _drop_cache(fd)
        out = bytearray()
        while chunk := os.read(fd, 1 << 20):
            out += chunk
        return bytes(out)
    finally:
        os.close(fd)


def _read_errno(path: Path, offset: int = 0, size: int = 1 << 30) -> int | None:
    """errno of reading up to ``size`` bytes at ``offset`` through the mount, to EOF
    (the kernel turns a failed readahead page into a short read; the next read fails).
    None: it worked."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        return e.errno
    try:
        _drop_cache(fd)
        while size > 0 and (got := os.pread(fd, min(size, 1 << 20), offset)):
            offset += len(got)
            size -= len(got)
        return None
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def _blocks(brick: Path) -> list[bytes]:
    data = brick.read_bytes()[HEADER_LEN:]
    return [data[i:i + STORED_BLOCK] for i in range(0, len(data), STORED_BLOCK)]


def _gfid(brick: Path) -> str:
    g = os.getxattr(brick, "trusted.gfid").hex()
    return f"{g[:8]}-{g[8:12]}-{g[12:16]}-{g[16:20]}-{g[20:]}"


def _log_names(m: MountInfo, brick: Path, block: int | None) -> bool:
    want = _gfid(brick)
    return any(want in line and "EIO" in line and (block is None or f"block {block}:" in line)
               for line in m.log_tail(400))


# ---------------------------------------------------------------------- unit
def test_sizes_map_both_ways() -> None:
    sizes = [*range(0, 3 * BLOCK + 40), 10**9 + 7, 2**40 + 1]
    for p in sizes:
        assert plain_size(stored_size(p)) == p, p
    assert stored_size(0) == 0 and stored_size(1) == HEADER_LEN + 33
    assert stored_size(BLOCK) == HEADER_LEN + STORED_BLOCK
    assert all(stored_size(p) < stored_size(p + 1) for p in range(0, 3 * BLOCK))


def test_key_file_rules(tmp_path: Path) -> None:
    good = new_key(tmp_path / "good.key")
    assert read_key_file(good) == good.read_bytes()
    for name, data in [("short", os.urandom(31)), ("long", os.urandom(33)),
                       ("hex", os.urandom(32).hex().encode()), ("text", b"correct horse battery staple!!!!")]:
        p = tmp_path / name
        p.write_bytes(data)
        p.chmod(0o600)
        with pytest.raises(KeyFileError, match=re.escape(str(p))):
            read_key_file(p)
    with pytest.raises(KeyFileError, match=r"cannot read key file .*missing"):
        read_key_file(tmp_path / "missing")
    good.chmod(0o640)
    with pytest.raises(KeyFileError, match="accessible by group/other"):
        read_key_file(good)
    assert read_key_file(good, allow_shared=True) == good.read_bytes()


def test_passphrase_file(tmp_path: Path) -> None:
    p = tmp_path / "pass"
    p.write_bytes(passphrase_file_text(b"a long passphrase", n=1 << 14))
    p.chmod(0o600)
    key = read_passphrase_file(p)
    assert len(key) == 32 and read_passphrase_file(p) == key
    q = tmp_path / "pass2"
    q.write_bytes(passphrase_file_text(b"a long passphrase", n=1 << 14))
    q.chmod(0o600)
    assert read_passphrase_file(q) != key, "a fresh salt gives another key"
    for bad in (b"a long passphrase\n",
                b"glupy-crypt-passphrase v1 scrypt n=1024 r=8 p=1 salt=" + b"00" * 32 + b"\nx\n",
                b"glupy-crypt-passphrase v1 scrypt n=16384 r=8 p=1 salt=" + b"00" * 32 + b"\n\n"):
        p.write_bytes(bad)
        with pytest.raises(KeyFileError, match=re.escape(str(p))):
            read_passphrase_file(p)


def test_header_binds_key_gfid_and_every_byte() -> None:
    a, b = MasterKey.from_bytes(os.urandom(32)), MasterKey.from_bytes(os.urandom(32))
    gfid, other = os.urandom(16), os.urandom(16)
    fkey, fid = os.urandom(32), os.urandom(16)
    h = make_header(a, gfid, fkey, fid)
    assert len(h) == HEADER_LEN and h.startswith(MAGIC)
    assert open_header(a, gfid, h) == (fid, fkey)
    assert make_header(a, gfid, fkey, fid) == h, "deterministic wrap: replicas stay identical"
    for i in range(HEADER_LEN):
        bad = bytearray(h)
        bad[i] ^= 0x04
        with pytest.raises(HeaderError) as ei:
            open_header(a, gfid, bytes(bad))
        assert ei.value.errno in (errno.EIO, errno.EKEYREJECTED), i
    with pytest.raises(HeaderError) as ei:
        open_header(a, other, h)
    assert ei.value.errno == errno.EIO
    with pytest.raises(HeaderError) as ei:
        open_header(b, gfid, h)
    assert ei.value.errno == errno.EKEYREJECTED
    rewrapped = rewrap_header(a, b, gfid, h)
    assert rewrapped is not None and open_header(b, gfid, rewrapped) == (fid, fkey)
    assert rewrap_header(a, b, gfid, rewrapped) is None


# ---------------------------------------------------------------------- layout
def test_round_trip_and_brick_layout(glupy_mount: MountFactory, key_files: tuple[Path, Path]) -> None:
    m = _mount(glupy_mount, key_files[0])
    contents = {"small": MARKER, "big": MARKER * 5000, "exact": os.urandom(BLOCK * 3),
                "odd": os.urandom(7) + MARKER * 333 + b"tail", "empty": b""}
    for name, data in contents.items():
        (m.mountpoint / name).write_bytes(data)
    with open(m.mountpoint / "appended", "ab") as f:
        for _ in range(50):
            f.write(MARKER[:13])
            f.flush()
    contents["appended"] = MARKER[:13] * 50
    file_ids = set()
    for name, data in contents.items():
        p = m.mountpoint / name
        assert _read_all(p) == data, name
        assert p.stat().st_size == len(data)
        assert [e.stat().st_size for e in os.scandir(m.mountpoint) if e.name == name] == [len(data)]
        brick = _on_brick(m, name)
        assert brick.stat().st_size == stored_size(len(data)), name
        raw = brick.read_bytes()
        if data:
            assert raw[:4] == MAGIC and raw[4:6] == b"\0\x03"
            assert raw[78:HEADER_LEN] == bytes(HEADER_LEN - 78), "the header is padded to 512"
            file_ids.add(raw[14:30])
        assert MARKER[:16] not in raw and b"PLAINTEXT" not in raw
    assert len(file_ids) == len(contents) - 1, "every file has its own file id"


OPS = {"pwrite": 30, "pwrite_wo": 8, "pread": 30, "ftruncate": 8, "truncate": 5, "append": 10,
       "reopen": 2, "otrunc": 1}


def _open_all(names: list[Path]) -> dict[Path, dict[str, int]]:
    return {p: {"rw": os.open(p, os.O_RDWR | os.O_CREAT, 0o644),
                "app": os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644),
                "wo": os.open(p, os.O_WRONLY)} for p in names}


def _close_all(fds: dict[Path, dict[str, int]]) -> None:
    for d in fds.values():
        for fd in d.values():
            os.close(fd)
    fds.clear()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operations_match_a_model(glupy_mount: MountFactory, key_files: tuple[Path, Path],
                                         seed: int) -> None:
    """1500 random operations on 4 files; every read is compared with a bytearray model."""
    m = _mount(glupy_mount, key_files[0])
    rng = random.Random(seed)
    names = [m.mountpoint / f"f{i}" for i in range(4)]
    model = {p: bytearray() for p in names}
    fds = _open_all(names)
    counts = dict.fromkeys(OPS, 0)
    try:
        for step in range(1500):
            p = rng.choice(names)
            data = model[p]
            op = rng.choices(list(OPS), list(OPS.values()))[0]
            counts[op] += 1
            if op in ("pwrite", "pwrite_wo"):
                off = rng.randrange(0, len(data) + 9000)
                if rng.random() < 0.3:
                    off -= off % 4096
                buf = rng.randbytes(rng.choice([1, 3, 15, 16, 17, 100, 4095, 4096, 4097,
                                                rng.randrange(1, 70000)]))
                assert os.pwrite(fds[p]["rw" if op == "pwrite" else "wo"], buf, off) == len(buf)
                if off > len(data):
                    data.extend(bytes(off - len(data)))
                data[off:off + len(buf)] = buf
            elif op == "pread":
                off = rng.randrange(0, len(data) + 100)
                n = rng.choice([1, 15, 16, 17, 4096, 5000, rng.randrange(1, 140000)])
                _drop_cache(fds[p]["rw"])
                got = os.pread(fds[p]["rw"], n, off)
                assert got == bytes(data[off:off + n]), (seed, step, p.name, off, n)
            elif op in ("ftruncate", "truncate"):
                size = rng.choice([0, rng.randrange(0, len(data) + 1),
                                   rng.randrange(0, len(data) + 50000)])
                if op == "ftruncate":
                    os.ftruncate(fds[p]["rw"], size)
                else:
                    os.truncate(p, size)
                del data[size:]
                data.extend(bytes(size - len(data)))
            elif op == "append":
                buf = rng.randbytes(rng.randrange(1, 9000))
                assert os.write(fds[p]["app"], buf) == len(buf)
                data.extend(buf)
            elif op == "reopen":
                _close_all(fds)
                fds = _open_all(names)
            elif op == "otrunc":
                os.close(os.open(p, os.O_WRONLY | os.O_TRUNC))
                data.clear()
    finally:
        _close_all(fds)
    assert all(counts.values()), counts
    for p in names:
        assert _read_all(p) == bytes(model[p]), p
        assert (_on_brick(m, p.name)).stat().st_size == stored_size(len(model[p]))
    m.unmount()
    again = _mount(glupy_mount, key_files[0], backend=m.backend_dir)
    for p in names:
        assert _read_all(again.mountpoint / p.name) == bytes(model[p]), p


def test_holes_truncate_and_fill_never_store_keystream(glupy_mount: MountFactory,
                                                       key_files: tuple[Path, Path]) -> None:
    """A hole or a truncate-extended range is zeros on the brick (not keystream); filling
    it later seals with fresh nonces; writing zeros is sealed like any data."""
    m = _mount(glupy_mount, key_files[0])
    p = m.mountpoint / "sparse"
    brick = _on_brick(m, "sparse")
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.pwrite(fd, b"abc", 5)
        os.pwrite(fd, b"XYZ", 1_000_003)
        os.ftruncate(fd, 3_000_000)  # extend by truncate
        model = bytearray(3_000_000)
        model[5:8] = b"abc"
        model[1_000_003:1_000_006] = b"XYZ"
        _drop_cache(fd)
        assert os.pread(fd, len(model) + 10, 0) == bytes(model)
        assert brick.stat().st_blocks * 512 < 100_000, "holes stay holes"
        blocks = _blocks(brick)
        hole_blocks = {i for i, b in enumerate(blocks) if b == bytes(len(b))}
        assert len(hole_blocks) > 600, "the gaps are stored as zeros, not keystream"
        # fill one hole block with a secret, overwrite a written block with zeros
        secret = b"password=hunter2"
        target = sorted(hole_blocks)[10]
        os.pwrite(fd, secret, target * BLOCK + 100)
        os.pwrite(fd, bytes(3), 5)
        model[target * BLOCK + 100:target * BLOCK + 116] = secret
        model[5:8] = bytes(3)
        after = _blocks(brick)
        assert after[target] != bytes(STORED_BLOCK) and secret not in brick.read_bytes()
        nonces_before = {b[:16] for b in blocks if b != bytes(len(b))}
        for i in (0, target):
            assert after[i][:16] not in nonces_before, f"block {i} reused a nonce"
        # truncate down into a block and back up: the tail reads as zeros
        for size in (17, 5000, 4, 0, 33, 1_000_000, 31, 4096 * 3 + 1, 4096 * 2):
            os.ftruncate(fd, size)
            del model[size:]
            model.extend(bytes(size - len(model)))
            _drop_cache(fd)
            assert os.pread(fd, size + 100, 0) == bytes(model), size
            assert brick.stat().st_size == stored_size(size)
        os.truncate(p, 20_000)
        model.extend(bytes(20_000 - len(model)))
        _drop_cache(fd)
        assert os.pread(fd, 30_000, 0) == bytes(model)
    finally:
        os.close(fd)


def test_overwrite_snapshots_share_no_nonce(glupy_mount: MountFactory,
                                            key_files: tuple[Path, Path]) -> None:
    """Two brick snapshots around an overwrite in place: every rewritten block has a new
    nonce, so the XOR of the two ciphertexts is not the XOR of the plaintexts."""
    m = _mount(glupy_mount, key_files[0])
    p = m.mountpoint / "f"
    first, second = os.urandom(BLOCK * 8), os.urandom(BLOCK * 8)
    p.write_bytes(first)
    before = _blocks(_on_brick(m, "f"))
    fd = os.open(p, os.O_WRONLY)
    try:
        os.pwrite(fd, second[:BLOCK * 4], 0)  # aligned overwrite
        os.pwrite(fd, second[BLOCK * 4 + 7:BLOCK * 6 + 9], BLOCK * 4 + 7)  # unaligned
        os.pwrite(fd, bytes(BLOCK), BLOCK * 7)  # zeros
    finally:
        os.close(fd)
    after = _blocks(_on_brick(m, "f"))
    seen: dict[bytes, bytes] = {}
    for blob in before + after:
        nonce = blob[:16]
        assert seen.setdefault(nonce, blob) == blob, "one nonce sealed two different blocks"
    for i in (0, 1, 2, 3, 4, 5, 6, 7):
        assert after[i][:16] != before[i][:16], i
        xor = bytes(x ^ y for x, y in zip(before[i][16:-16], after[i][16:-16], strict=True))
        pt_xor = bytes(x ^ y for x, y in zip(first[i * BLOCK:(i + 1) * BLOCK],
                                              _read_all(p)[i * BLOCK:(i + 1) * BLOCK], strict=True))
        assert xor != pt_xor


# ---------------------------------------------------------------------- attacks
@pytest.fixture
def victim(glupy_mount: MountFactory, key_files: tuple[Path, Path]) -> tuple[MountInfo, bytes]:
    m = _mount(glupy_mount, key_files[0])
    data = os.urandom(BLOCK * 5 + 1000)
    for name in ("a", "b", "bystander"):
        (m.mountpoint / name).write_bytes(data if name != "b" else os.urandom(len(data)))
    return m, data


def _rewrite(brick: Path, offset: int, blob: bytes) -> None:
    fd = os.open(brick, os.O_WRONLY)
    try:
        os.pwrite(fd, blob, offset)
    finally:
        os.close(fd)


def _assert_only_victim_fails(m: MountInfo, name: str, block: int | None, offset: int = 0) -> None:
    assert _read_errno(m.mountpoint / name, offset) == errno.EIO
    assert _log_names(m, _on_brick(m, name), block), m.log_tail(20)
    assert _read_all(m.mountpoint / "bystander") != b""  # the others stay readable


def test_attack_flipped_bit(victim: tuple[MountInfo, bytes]) -> None:
    m, _ = victim
    brick = _on_brick(m, "a")
    for pos in (block_offset(2) + 3, block_offset(2) + 16 + 100, block_offset(3) - 1):
        raw = bytearray(brick.read_bytes())
        raw[pos] ^= 0x01
        _rewrite(brick, 0, bytes(raw))
        _assert_only_victim_fails(m, "a", (pos - HEADER_LEN) // STORED_BLOCK, BLOCK * 2)
        raw[pos] ^= 0x01
        _rewrite(brick, 0, bytes(raw))
        assert _read_errno(m.mountpoint / "a") is None


def test_attack_block_moved_within_file(victim: tuple[MountInfo, bytes]) -> None:
    m, _ = victim
    blocks = _blocks(_on_brick(m, "a"))
    _rewrite(_on_brick(m, "a"), block_offset(1), blocks[3])
    _assert_only_victim_fails(m, "a", 1, BLOCK)


def test_attack_block_moved_between_files(victim: tuple[MountInfo, bytes]) -> None:
    m, _ = victim
    _rewrite(_on_brick(m, "a"), block_offset(2), _blocks(_on_brick(m, "b"))[2])
    _assert_only_victim_fails(m, "a", 2, BLOCK * 2)


def test_attack_files_swapped(victim: tuple[MountInfo, bytes]) -> None:
    """The whole content (header included) of b copied over a's inode, and back: the
    header's wrap binds the GFID (gocryptfs does not detect this)."""
    m, _ = victim
    a, b = (_on_brick(m, "a")).read_bytes(), (_on_brick(m, "b")).read_bytes()
    _rewrite(_on_brick(m, "a"), 0, b)
    _rewrite(_on_brick(m, "b"), 0, a)
    for name in ("a", "b"):
        assert _read_errno(m.mountpoint / name) == errno.EIO
        assert _log_names(m, _on_brick(m, name), None)
        assert any("header authentication failed" in line for line in m.log_tail(200))


@pytest.mark.parametrize("how", ["altered", "zeroed", "deleted", "cut"])
def test_attack_header(victim: tuple[MountInfo, bytes], how: str) -> None:
    m, _ = victim
    brick = _on_brick(m, "a")
    raw = brick.read_bytes()
    if how == "altered":
        bad = bytearray(raw)
        bad[20] ^= 0x80
        new = bytes(bad)
    elif how == "zeroed":
        new = bytes(HEADER_LEN) + raw[HEADER_LEN:]
    elif how == "deleted":
        new = raw[HEADER_LEN:]
    else:
        new = raw[:HEADER_LEN - 10]
    brick.write_bytes(new)  # (truncates, keeps the inode and its GFID)
    assert _read_errno(m.mountpoint / "a") == errno.EIO
    assert _log_names(m, brick, None)
    assert _read_all(m.mountpoint / "bystander") != b""
    with pytest.raises(OSError) as ei, open(m.mountpoint / "a", "r+b") as f:  # nor written
        f.seek(5)
        f.write(b"x")
    assert ei.value.errno == errno.EIO
    assert brick.read_bytes() == new


@pytest.mark.parametrize("cut", [1, 16, 17, STORED_BLOCK - 1])
def test_attack_truncated_block(victim: tuple[MountInfo, bytes], cut: int) -> None:
    m, data = victim
    brick = _on_brick(m, "a")
    os.truncate(brick, brick.stat().st_size - cut)
    torn = (len(data) - 1) // BLOCK if cut < len(data) % BLOCK + 32 else (len(data) - 1) // BLOCK - 1
    assert _read_errno(m.mountpoint / "a") == errno.EIO
    assert _read_errno(m.mountpoint / "a", torn * BLOCK, 10) == errno.EIO
    assert _log_names(m, brick, torn)


def test_wrong_key_is_rejected_once_and_never_garbage(glupy_mount: MountFactory,
                                                      key_files: tuple[Path, Path]) -> None:
    """(names in clear: the file headers are what rejects the key)"""
    right, wrong = key_files
    clear = {"encrypt-names": "off"}
    m = _mount(glupy_mount, right, opts=clear)
    (m.mountpoint / "secret").write_bytes(MARKER * 100)
    m.unmount()
    bad = _mount(glupy_mount, wrong, backend=m.backend_dir, opts=clear)
    assert (bad.mountpoint / "secret").stat().st_size == len(MARKER) * 100
    for _ in range(3):
        assert _read_errno(bad.mountpoint / "secret") == errno.EKEYREJECTED
    with pytest.raises(OSError) as ei, open(bad.mountpoint / "secret", "r+b") as f:
        f.write(b"x")
    assert ei.value.errno == errno.EKEYREJECTED
    lines = [x for x in bad.log_tail(400) if "EKEYREJECTED" in x and "another master key" in x]
    assert len(lines) == 1, lines
    (bad.mountpoint / "other").write_bytes(b"hello")
    assert _read_all(bad.mountpoint / "other") == b"hello"
    text = "\n".join(bad.log_tail(400))
    assert right.read_bytes().hex() not in text and wrong.read_bytes().hex() not in text
    bad.unmount()
    good = _mount(glupy_mount, right, backend=m.backend_dir, opts=clear)
    assert _read_all(good.mountpoint / "secret") == MARKER * 100
    assert _read_errno(good.mountpoint / "other") == errno.EKEYREJECTED


def test_wrong_key_with_encrypted_names(glupy_mount: MountFactory,
                                        key_files: tuple[Path, Path]) -> None:
    """Names under another master key: every name fop fails with EKEYREJECTED (one log
    line), nothing is listed or created, and the right key still reads everything."""
    right, wrong = key_files
    m = _mount(glupy_mount, right, opts=NAMES_ON)
    (m.mountpoint / "secret").write_bytes(MARKER * 100)
    m.unmount()
    bad = _mount(glupy_mount, wrong, backend=m.backend_dir, opts=NAMES_ON)
    for op in (lambda: (bad.mountpoint / "secret").stat(), lambda: os.listdir(bad.mountpoint),
               lambda: (bad.mountpoint / "other").write_bytes(b"hello"),
               lambda: (bad.mountpoint / "dir").mkdir()):
        with pytest.raises(OSError) as ei:
            op()
        assert ei.value.errno == errno.EKEYREJECTED
    lines = [x for x in bad.log_tail(400) if "EKEYREJECTED" in x and "another master key" in x]
    assert len(lines) == 1, lines
    text = "\n".join(bad.log_tail(400))
    assert right.read_bytes().hex() not in text and wrong.read_bytes().hex() not in text
    bad.unmount()
    assert len([p for p in m.backend_dir.iterdir() if p.name != ".glusterfs"]) == 1
    good = _mount(glupy_mount, right, backend=m.backend_dir, opts=NAMES_ON)
    assert os.listdir(good.mountpoint) == ["secret"]
    assert _read_all(good.mountpoint / "secret") == MARKER * 100


def test_plaintext_and_older_formats_are_refused(glupy_mount: MountFactory,
                                                 key_files: tuple[Path, Path]) -> None:
    m = _mount(glupy_mount, key_files[0])
    (_on_brick(m, "plain")).write_bytes(b"plaintext from before" * 10)
    v1 = _on_brick(m, "v1")
    v1.write_bytes(os.urandom(300))
    os.setxattr(v1, "trusted.glupy.crypt.nonce", os.urandom(16))
    v2 = MAGIC + b"\0\x02" + os.urandom(72) + os.urandom(STORED_BLOCK + 100)  # 78-byte header
    _on_brick(m, "v2").write_bytes(v2)
    assert _read_errno(m.mountpoint / "plain") == errno.EIO
    assert _read_errno(m.mountpoint / "v1") == errno.EIO
    assert _read_errno(m.mountpoint / "v2") == errno.EIO
    text = "\n".join(m.log_tail(200))
    assert "no glupy-crypt header" in text
    assert "crypt format 1 (AES-CTR)" in text
    assert "crypt format 2 (78-byte header), which is no longer read" in text
    for name in ("plain", "v2"):
        with pytest.raises(OSError) as ei, open(m.mountpoint / name, "r+b") as f:
            f.write(b"x")
        assert ei.value.errno == errno.EIO, name
    assert (_on_brick(m, "plain")).read_bytes() == b"plaintext from before" * 10
    assert (_on_brick(m, "v2")).read_bytes() == v2


def _errno_of(op: Callable[[], object]) -> int | None:
    try:
        op()
    except OSError as e:
        return e.errno
    return None


@pytest.mark.parametrize("names", ["on", "off"])
def test_legacy_plaintext_needs_the_option_and_stays_read_only(
        glupy_mount: MountFactory, key_files: tuple[Path, Path], names: str) -> None:
    """A file planted on the brick without a crypt header: EIO (logged once, naming the
    file) by default; with read-legacy-plaintext its bytes are served, and nothing that
    would change them lands (EROFS, logged once): the brick keeps the same bytes.
    Copying the file through the mount encrypts the copy.  (Names off: a volume
    written before crypt, names in clear.)"""
    m = _mount(glupy_mount, key_files[0], opts={"encrypt-names": names})
    legacy = {"big": MARKER * 300 + b"end", "small": b"legacy plaintext\n",
              "exact": bytes(range(256)) * 16}  # 4096 bytes: a valid format-3 size too
    (m.mountpoint / "enc").write_bytes(MARKER * 200)
    for name, data in legacy.items():
        _on_brick(m, name).write_bytes(data)
    v1 = _on_brick(m, "v1")
    v1.write_bytes(os.urandom(300))
    os.setxattr(v1, "trusted.glupy.crypt.nonce", os.urandom(16))
    for _ in range(3):
        assert _read_errno(m.mountpoint / "big") == errno.EIO
    lines = [x for x in m.log_tail(400) if "crypt: " + _gfid(_on_brick(m, "big")) in x]
    assert len(lines) == 1 and "no glupy-crypt header" in lines[0] \
        and "read-legacy-plaintext" in lines[0], lines
    m.unmount()

    m = _mount(glupy_mount, key_files[0], backend=m.backend_dir,
               opts={"read-legacy-plaintext": "on", "encrypt-names": names})
    sizes = {**{n: len(d) for n, d in legacy.items()}, "enc": len(MARKER) * 200}
    listed = {e.name: e.stat().st_size for e in os.scandir(m.mountpoint) if e.name in sizes}
    assert listed == sizes  # a first listing (readdirp) of files not looked up yet
    for name, data in legacy.items():
        path = m.mountpoint / name
        assert path.stat().st_size == len(data), name
        assert _read_all(path) == data, name
        fd = os.open(path, os.O_RDONLY)
        try:
            assert os.pread(fd, 100, max(0, len(data) - 50)) == data[-50:]
            assert os.pread(fd, 10, 8200) == data[8200:8210]
        finally:
            os.close(fd)
        assert path.stat().st_size == len(data), name
    assert _read_all(m.mountpoint / "enc") == MARKER * 200
    assert (m.mountpoint / "enc").stat().st_size == len(MARKER) * 200
    assert _read_errno(m.mountpoint / "v1") == errno.EIO  # format 1 is still refused
    v2 = _on_brick(m, "v2")
    # format 2, 410 bytes in its second block: a size no format-3 file has, still not plaintext
    v2.write_bytes(MAGIC + b"\0\x02" + os.urandom(72 + STORED_BLOCK + 410 + 32))
    assert v2.stat().st_size != stored_size(plain_size(v2.stat().st_size))
    assert _read_errno(m.mountpoint / "v2") == errno.EIO  # so is format 2: refused, not served
    with pytest.raises(OSError) as ei, open(m.mountpoint / "v2", "r+b") as f:
        f.write(b"x")  # EIO as an encrypted file that does not open, not EROFS as plaintext
    assert ei.value.errno == errno.EIO

    big = m.mountpoint / "big"

    def write_at(offset: int, flags: int = os.O_WRONLY) -> None:
        fd = os.open(big, flags)
        try:
            os.pwrite(fd, b"x", offset)
            os.fsync(fd)
        finally:
            os.close(fd)

    def fallocate() -> None:
        fd = os.open(big, os.O_RDWR)
        try:
            _fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, BLOCK)
        finally:
            os.close(fd)

    changes = {"write": lambda: write_at(5), "write past EOF": lambda: write_at(10**6),
               "append": lambda: write_at(0, os.O_WRONLY | os.O_APPEND),
               "truncate": lambda: os.truncate(big, 10), "truncate to 0": lambda: os.truncate(big, 0),
               "extend": lambda: os.truncate(big, 10**6),
               "open O_TRUNC": lambda: os.close(os.open(big, os.O_WRONLY | os.O_TRUNC)),
               "punch hole": fallocate}
    for what, op in changes.items():
        assert _errno_of(op) == errno.EROFS, what
        assert _on_brick(m, "big").read_bytes() == legacy["big"], what
    lines = [x for x in m.log_tail(400) if "crypt: " + _gfid(_on_brick(m, "big")) in x]
    assert len(lines) == 1 and "EROFS" in lines[0], lines
    assert _read_all(big) == legacy["big"]

    (m.mountpoint / "big.new").write_bytes(big.read_bytes())  # the documented way out
    (m.mountpoint / "big.new").rename(big)
    assert _on_brick(m, "big").read_bytes()[:4] == MAGIC
    assert legacy["big"][:50] not in _on_brick(m, "big").read_bytes()
    assert _read_all(big) == legacy["big"] and big.stat().st_size == len(legacy["big"])
    write_at(5)  # encrypted now: writable
    assert _read_all(big)[:6] == legacy["big"][:5] + b"x"


# ---------------------------------------------------------------------- other fops
def test_fallocate_discard_zerofill_seek(glupy_mount: MountFactory,
                                         key_files: tuple[Path, Path]) -> None:
    m = _mount(glupy_mount, key_files[0])
    p = m.mountpoint / "f"
    data = bytearray(os.urandom(BLOCK * 10 + 123))
    p.write_bytes(data)
    fd = os.open(p, os.O_RDWR)
    try:
        _fallocate(fd, 0, len(data), 50_000)  # extends
        data.extend(bytes(50_000))
        _fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 200_000)
        assert os.fstat(fd).st_size == len(data)
        _fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000, BLOCK * 4)
        data[1000:1000 + BLOCK * 4] = bytes(BLOCK * 4)
        _fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, BLOCK * 9 + 5, BLOCK * 20)
        data[BLOCK * 9 + 5:] = bytes(len(data) - BLOCK * 9 - 5)  # (punching keeps the size)
        _drop_cache(fd)
        assert os.pread(fd, len(data) + 10, 0) == bytes(data)
        assert os.fstat(fd).st_size == len(data)
        raw = (_on_brick(m, "f")).read_bytes()
        assert raw[block_offset(1):block_offset(4)] == bytes(3 * STORED_BLOCK), "punched"
        # SEEK_DATA / SEEK_HOLE on a file with a big hole in the middle
        os.ftruncate(fd, 0)
        os.pwrite(fd, b"head", 0)
        os.pwrite(fd, b"tail", 5 * 1024 * 1024)
        size = 5 * 1024 * 1024 + 4
        hole = os.lseek(fd, 0, os.SEEK_HOLE)
        assert 4 <= hole < 5 * 1024 * 1024
        assert hole % BLOCK == 0
        nxt = os.lseek(fd, hole, os.SEEK_DATA)
        assert hole < nxt <= 5 * 1024 * 1024
        assert os.pread(fd, 5 * 1024 * 1024 - hole, hole) == bytes(5 * 1024 * 1024 - hole)
        assert os.lseek(fd, nxt, os.SEEK_HOLE) == size
        with pytest.raises(OSError) as ei:
            os.lseek(fd, size, os.SEEK_DATA)
        assert ei.value.errno == errno.ENXIO
    finally:
        os.close(fd)


def test_copy_file_range_reencrypts(glupy_mount: MountFactory, key_files: tuple[Path, Path]) -> None:
    m = _mount(glupy_mount, key_files[0])
    data = os.urandom(300_000)
    (m.mountpoint / "src").write_bytes(data)
    with open(m.mountpoint / "src", "rb") as src, open(m.mountpoint / "dst", "wb") as dst:
        left = len(data)
        while left:
            n = os.copy_file_range(src.fileno(), dst.fileno(), left)
            assert n > 0
            left -= n
    assert _read_all(m.mountpoint / "dst") == data
    a, b = _blocks(_on_brick(m, "src")), _blocks(_on_brick(m, "dst"))
    assert not {x[:16] for x in a} & {x[:16] for x in b}, "blocks were copied, not sealed anew"


def test_truncate_by_another_client_is_seen(glupy_mount: MountFactory,
                                            key_files: tuple[Path, Path]) -> None:
    """B's cached file key goes stale when A empties and rewrites the file (new file
    id and key): B's read past block 0, which trusts that key, fails to authenticate
    and is retried with the header read again; B's write reads the header anyway."""
    a = _mount(glupy_mount, key_files[0])
    b = _mount(glupy_mount, key_files[0], backend=a.backend_dir)
    first, second = os.urandom(BLOCK * 3 + 5), os.urandom(BLOCK * 2 + 9)
    (a.mountpoint / "f").write_bytes(first)
    assert _read_all(b.mountpoint / "f") == first
    fd_b = os.open(b.mountpoint / "f", os.O_RDWR)
    try:
        (a.mountpoint / "f").write_bytes(second)  # O_TRUNC then write: a new header
        _drop_cache(fd_b)
        assert os.pread(fd_b, BLOCK, BLOCK) == second[BLOCK:BLOCK * 2]
        os.pwrite(fd_b, b"from b", 3)  # B writes with the new key, not its cached one
        os.ftruncate(fd_b, 100)
    finally:
        os.close(fd_b)
    want = second[:3] + b"from b" + second[9:100]
    assert _read_all(a.mountpoint / "f") == want
    assert _read_all(b.mountpoint / "f") == want


# ---------------------------------------------------------------------- keys and init
def test_bad_key_files_fail_init(glupy_mount: MountFactory, tmp_path: Path) -> None:
    short = tmp_path / "short.key"
    short.write_bytes(b"0123")
    short.chmod(0o600)
    shared = new_key(tmp_path / "shared.key")
    shared.chmod(0o644)
    text = tmp_path / "text.key"
    text.write_bytes(b"x" * 32)
    text.chmod(0o600)
    for key, words in [(tmp_path / "missing.key", "cannot read key file"),
                       (short, "exactly 32 raw bytes"), (shared, "accessible by group/other"),
                       (text, "passphrase")]:
        with pytest.raises(MountError) as ei:
            _mount(glupy_mount, key, timeout=15.0)
        msg = str(ei.value)
        assert words in msg and str(key) in msg, msg
    m = _mount(glupy_mount, shared, opts={"allow-shared-key-file": "on"})
    (m.mountpoint / "x").write_bytes(b"ok")
    assert _read_all(m.mountpoint / "x") == b"ok"


def test_passphrase_mount_and_rotation(glupy_mount: MountFactory, tmp_path: Path,
                                       key_files: tuple[Path, Path]) -> None:
    pf = tmp_path / "pass"
    proc = subprocess.run([sys.executable, "-m", "glupy.library.crypt", "new-passphrase-file",
                           "--scrypt-n", "16384", str(pf)], input=b"correct horse\n",
                          capture_output=True, check=True)
    assert proc.returncode == 0 and pf.stat().st_mode & 0o777 == 0o600
    m = _mount(glupy_mount, pf, option="passphrase-file", opts=NAMES_ON)
    files = {f"d/f{i}": os.urandom(i * 3000 + 1) for i in range(6)}
    (m.mountpoint / "d").mkdir()
    for name, data in files.items():
        (m.mountpoint / name).write_bytes(data)
    m.unmount()
    paths = {n: _on_brick(m, n) for n in files}
    record = os.getxattr(m.backend_dir, NAMEKEY_XATTR)
    blocks_before = {n: paths[n].read_bytes()[HEADER_LEN:] for n in files}
    new_key = key_files[1]
    cmd = [sys.executable, "-m", "glupy.library.crypt", "rotate", "--old-passphrase-file",
           str(pf), "--new-key-file", str(new_key), str(m.backend_dir)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert "7 rewrapped, 0 already" in out, out  # 6 headers and the volume's name key
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert "0 rewrapped, 7 already" in out, out  # resumable: a second run has nothing to do
    for n in files:
        assert paths[n].read_bytes()[HEADER_LEN:] == blocks_before[n], "data untouched"
    assert os.getxattr(m.backend_dir, NAMEKEY_XATTR) != record
    new = _mount(glupy_mount, new_key, backend=m.backend_dir, opts=NAMES_ON)
    for name, data in files.items():
        assert _read_all(new.mountpoint / name) == data
    new.unmount()
    old = _mount(glupy_mount, pf, backend=m.backend_dir, option="passphrase-file", opts=NAMES_ON)
    assert _read_errno(old.mountpoint / "d/f1") == errno.EKEYREJECTED



def test_quick_read_above_crypt_gets_plaintext(glupy_mount: MountFactory, tmp_path: Path,
                                               key_files: tuple[Path, Path]) -> None:
    """performance/quick-read asks lookup for small files' bytes (xdata
    "glusterfs.content") and serves reads from them: crypt must not let it cache the
    brick's ciphertext."""
    from glupy.local import process
    from glupy.local.volfile import Graph, Volume, bridge_type

    m = _mount(glupy_mount, key_files[0])
    data = {f"small{i}": os.urandom(100 + i * 700) for i in range(8)}
    for name, blob in data.items():
        (m.mountpoint / name).write_bytes(blob)
    m.unmount()
    g = Graph()
    g.add(Volume("qr-posix", "storage/posix", {"directory": str(m.backend_dir)}))
    g.add(Volume("qr-crypt", bridge_type(), {"module": SPEC, "key-file": str(key_files[0])},
                 ["qr-posix"]))
    g.add(Volume("qr-quick-read", "performance/quick-read", {}, ["qr-crypt"]))
    mnt, state = tmp_path / "qr-mnt", tmp_path / "qr-state"
    mnt.mkdir()
    process.mount_graph(g, mnt, source_dir=m.backend_dir, state_dir=state)
    try:
        for name, blob in data.items():
            assert (mnt / name).read_bytes() == blob, name
        assert sorted(os.listdir(mnt)) == sorted(data)
        for name, blob in data.items():  # after readdirp too
            assert (mnt / name).read_bytes() == blob, name
    finally:
        process.unmount(mnt, state_dir=state)
