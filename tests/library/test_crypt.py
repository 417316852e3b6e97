"""crypt on a real graph: FUSE -> crypt -> posix over a temp dir.

The brick must hold only ciphertext, every read through the mount must match an
in-memory model of the files (random pwrite/pread/truncate/append/reopen runs), a wrong
key must give an error rather than garbage, and the fops crypt cannot do must fail
with EOPNOTSUPP.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import random
from pathlib import Path

import pytest

from glupy.library.crypt import KCV_XATTR, NONCE_XATTR, read_key_file
from glupy.process import MountError
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
    raw, hexed = tmp_path / "raw.key", tmp_path / "hex.key"
    raw.write_bytes(os.urandom(32))
    hexed.write_text(os.urandom(32).hex() + "\n")
    for p in (raw, hexed):
        p.chmod(0o600)
    return raw, hexed


def _mount(glupy_mount: MountFactory, key: Path, backend: Path | None = None, timeout: float = 30.0,
           opts: dict[str, str] | None = None) -> MountInfo:
    return glupy_mount([(SPEC, {"key-file": str(key), **(opts or {})})], backend_dir=backend,
                       timeout=timeout)


def _brick_files(backend: Path) -> list[Path]:
    return [Path(d) / f for d, _, files in os.walk(backend) for f in files
            if (Path(d) / f).is_file() and not (Path(d) / f).is_symlink()]


def _drop_cache(fd: int) -> None:
    """Make the next read of ``fd`` reach the translator, not the kernel page cache."""
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


def test_key_file_formats(tmp_path: Path, key_files: tuple[Path, Path]) -> None:
    raw, hexed = key_files
    assert read_key_file(raw) == raw.read_bytes()
    assert read_key_file(hexed) == bytes.fromhex(hexed.read_text())
    short = tmp_path / "short.key"
    short.write_bytes(b"x" * 31)
    with pytest.raises(ValueError, match="32 raw bytes or 64 hex digits"):
        read_key_file(short)
    with pytest.raises(ValueError, match="cannot read key file"):
        read_key_file(tmp_path / "missing.key")


def test_round_trip_and_brick_holds_only_ciphertext(glupy_mount: MountFactory,
                                                    key_files: tuple[Path, Path]) -> None:
    m = _mount(glupy_mount, key_files[0])
    contents = {
        "small": MARKER,
        "big": MARKER * 5000,
        "odd": os.urandom(7) + MARKER * 333 + b"tail",
    }
    for name, data in contents.items():
        (m.mountpoint / name).write_bytes(data)
    (m.mountpoint / "dir").mkdir()
    (m.mountpoint / "dir" / "nested").write_bytes(MARKER * 100)
    contents["dir/nested"] = MARKER * 100
    with open(m.mountpoint / "appended", "ab") as f:
        for _ in range(50):
            f.write(MARKER[:13])
            f.flush()
    contents["appended"] = MARKER[:13] * 50
    for name, data in contents.items():
        assert _read_all(m.mountpoint / name) == data, name
        brick = m.backend_dir / name
        assert brick.stat().st_size == len(data), "CTR keeps the size"
        assert brick.read_bytes() != data
        assert len(os.getxattr(brick, NONCE_XATTR)) == 16
        assert len(os.getxattr(brick, KCV_XATTR)) == 16
    nonces = {os.getxattr(m.backend_dir / n, NONCE_XATTR) for n in contents}
    assert len(nonces) == len(contents), "every file has its own nonce"
    for brick_file in _brick_files(m.backend_dir):
        blob = brick_file.read_bytes()
        assert MARKER not in blob and MARKER[:16] not in blob and b"PLAINTEXT" not in blob, brick_file
    # the crypt xattrs are invisible and untouchable through the mount
    p = m.mountpoint / "small"
    assert not [x for x in os.listxattr(p) if x.startswith("trusted.glupy.crypt")]
    with pytest.raises(OSError) as ei:
        os.getxattr(p, NONCE_XATTR)
    assert ei.value.errno == errno.ENODATA
    with pytest.raises(PermissionError):
        os.setxattr(p, NONCE_XATTR, b"x" * 16)
    with pytest.raises(PermissionError):
        os.removexattr(p, KCV_XATTR)
    os.setxattr(p, "user.other", b"ok")  # other xattrs still work
    assert os.getxattr(p, "user.other") == b"ok"


def test_holes_and_truncate(glupy_mount: MountFactory, key_files: tuple[Path, Path]) -> None:
    m = _mount(glupy_mount, key_files[0])
    p = m.mountpoint / "sparse"
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.pwrite(fd, b"abc", 5)  # gap [0, 5) in the first chunk
        os.pwrite(fd, b"XYZ", 1_000_003)  # a large hole, unaligned both ends
        model = bytearray(1_000_006)
        model[5:8] = b"abc"
        model[1_000_003:] = b"XYZ"
        _drop_cache(fd)
        assert os.pread(fd, len(model) + 10, 0) == bytes(model)
        # the hole stays a hole on the brick (sparse), and it is not plaintext zeros
        brick = m.backend_dir / "sparse"
        assert brick.stat().st_blocks * 512 < 100_000
        for size in (17, 5000, 4, 0, 33, 1_000_000, 31, 4096 * 3 + 1):  # both ways
            os.ftruncate(fd, size)
            del model[size:]
            model.extend(bytes(size - len(model)))
            _drop_cache(fd)
            assert os.pread(fd, size + 100, 0) == bytes(model), size
            assert brick.stat().st_size == size
        os.pwrite(fd, b"\xff" * 40, 4090)  # write across a chunk cut by the last truncate
        model[4090:4130] = b"\xff" * 40
        _drop_cache(fd)
        assert os.pread(fd, len(model) + 1, 0) == bytes(model)
        os.truncate(p, 20_000)  # path-based truncate
        model.extend(bytes(20_000 - len(model)))
        _drop_cache(fd)
        assert os.pread(fd, 30_000, 0) == bytes(model)
        # emptying a file gives it a fresh nonce (no keystream reuse on rewrite)
        before = os.getxattr(brick, NONCE_XATTR)
        os.ftruncate(fd, 0)
        after_ftruncate = os.getxattr(brick, NONCE_XATTR)
        os.pwrite(fd, b"new", 0)
        os.close(os.open(p, os.O_WRONLY | os.O_TRUNC))
        after_otrunc = os.getxattr(brick, NONCE_XATTR)
        assert len({before, after_ftruncate, after_otrunc}) == 3
        os.pwrite(fd, b"again", 2)
        _drop_cache(fd)
        assert os.pread(fd, 100, 0) == b"\0\0again"
    finally:
        os.close(fd)


def _open_all(names: list[Path]) -> dict[Path, dict[str, int]]:
    return {p: {"rw": os.open(p, os.O_RDWR | os.O_CREAT, 0o644),
                "app": os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644),
                "wo": os.open(p, os.O_WRONLY)} for p in names}


def _close_all(fds: dict[Path, dict[str, int]]) -> None:
    for d in fds.values():
        for fd in d.values():
            os.close(fd)
    fds.clear()


OPS = {"pwrite": 30, "pwrite_wo": 8, "pread": 30, "ftruncate": 8, "truncate": 5, "append": 10,
       "reopen": 2, "otrunc": 1}


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_random_operations_match_a_model(glupy_mount: MountFactory, key_files: tuple[Path, Path],
                                         seed: int) -> None:
    """1500 random operations on 4 files; every read is compared with a bytearray model."""
    m = _mount(glupy_mount, key_files[seed % 2])
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
            if op in ("pwrite", "pwrite_wo"):  # unaligned, aligned, past EOF
                off = rng.randrange(0, len(data) + 9000)
                if rng.random() < 0.3:
                    off -= off % 4096
                buf = rng.randbytes(rng.choice([1, 3, 15, 16, 17, 100, 4095, 4096, 4097,
                                                rng.randrange(1, 70000)]))
                assert os.pwrite(fds[p]["rw" if op == "pwrite" else "wo"], buf, off) == len(buf)
                if off > len(data):
                    data.extend(bytes(off - len(data)))
                data[off:off + len(buf)] = buf
            elif op == "pread":  # across chunk/block boundaries, past EOF
                off = rng.randrange(0, len(data) + 100)
                n = rng.choice([1, 15, 16, 17, 4096, 5000, rng.randrange(1, 140000)])
                _drop_cache(fds[p]["rw"])
                got = os.pread(fds[p]["rw"], n, off)
                assert got == bytes(data[off:off + n]), (seed, step, p.name, off, n)
            elif op in ("ftruncate", "truncate"):  # up and down
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
        assert (m.backend_dir / p.name).stat().st_size == len(model[p])
    # and from a fresh mount (nothing cached in the kernel or in the translator)
    m.unmount()
    again = _mount(glupy_mount, key_files[seed % 2], backend=m.backend_dir)
    for p in names:
        assert _read_all(again.mountpoint / p.name) == bytes(model[p]), p


def test_append_uses_the_real_end_of_file(glupy_mount: MountFactory, key_files: tuple[Path, Path]) -> None:
    """Two mounts of one brick: the O_APPEND writer's kernel has a stale size, posix
    appends at the brick's EOF, and crypt must encrypt for that offset."""
    a = _mount(glupy_mount, key_files[0])
    b = _mount(glupy_mount, key_files[0], backend=a.backend_dir)
    (a.mountpoint / "log").write_bytes(b"first line\n")
    fd_a = os.open(a.mountpoint / "log", os.O_WRONLY | os.O_APPEND)
    try:
        os.stat(a.mountpoint / "log")  # A's kernel caches size 11
        with open(b.mountpoint / "log", "ab") as f:
            f.write(b"written through the other mount\n" * 7)
        os.write(fd_a, b"appended by A\n")
    finally:
        os.close(fd_a)
    want = b"first line\n" + b"written through the other mount\n" * 7 + b"appended by A\n"
    assert _read_all(b.mountpoint / "log") == want
    assert _read_all(a.mountpoint / "log") == want


def test_size_changed_by_another_client(glupy_mount: MountFactory, key_files: tuple[Path, Path]) -> None:
    """crypt remembers the size after its own writes to skip an fstat per aligned write.
    Another mount that leaves a partial last chunk must not make a later aligned write
    past it leave that chunk's tail undecryptable (it reads as zeros, not garbage)."""
    a = _mount(glupy_mount, key_files[0])
    b = _mount(glupy_mount, key_files[0], backend=a.backend_dir)
    first, second, third = os.urandom(4096), os.urandom(10), os.urandom(8192)
    fd_a = os.open(a.mountpoint / "f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd_a, first, 0)
        os.fsync(fd_a)  # A's crypt now knows the size: 4096
        fd_b = os.open(b.mountpoint / "f", os.O_RDWR)
        try:
            os.pwrite(fd_b, second, 4096)  # size 4106: a partial last chunk, written by B
            os.fsync(fd_b)
        finally:
            os.close(fd_b)
        os.pwrite(fd_a, third, 8192)  # aligned, past the real EOF A did not see move
        os.fsync(fd_a)
    finally:
        os.close(fd_a)
    want = first + second + bytes(8192 - 4106) + third
    assert _read_all(b.mountpoint / "f") == want
    assert _read_all(a.mountpoint / "f") == want


def test_wrong_key_is_an_error_not_garbage(glupy_mount: MountFactory, key_files: tuple[Path, Path]) -> None:
    right, wrong = key_files
    m = _mount(glupy_mount, right)
    (m.mountpoint / "secret").write_bytes(MARKER * 10)
    m.unmount()
    bad = _mount(glupy_mount, wrong, backend=m.backend_dir)
    assert (bad.mountpoint / "secret").stat().st_size == len(MARKER) * 10  # metadata visible
    for flags in (os.O_RDONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
        with pytest.raises(OSError) as ei:
            os.open(bad.mountpoint / "secret", flags)
        assert ei.value.errno == errno.EKEYREJECTED
    with pytest.raises(OSError) as ei:
        os.truncate(bad.mountpoint / "secret", 0)
    assert ei.value.errno == errno.EKEYREJECTED
    # new files are fine with the other key
    (bad.mountpoint / "other").write_bytes(b"hello")
    assert _read_all(bad.mountpoint / "other") == b"hello"
    assert any("encrypted with a different key" in line for line in bad.log_tail(200))
    bad.unmount()
    good = _mount(glupy_mount, right, backend=m.backend_dir)
    assert _read_all(good.mountpoint / "secret") == MARKER * 10
    with pytest.raises(OSError) as ei:
        os.open(good.mountpoint / "other", os.O_RDONLY)
    assert ei.value.errno == errno.EKEYREJECTED


def test_unsupported_fops(glupy_mount: MountFactory, key_files: tuple[Path, Path]) -> None:
    m = _mount(glupy_mount, key_files[0])
    p = m.mountpoint / "f"
    p.write_bytes(MARKER * 200)
    fd = os.open(p, os.O_RDWR)
    try:
        for mode in (0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE):
            with pytest.raises(OSError) as ei:
                _fallocate(fd, mode, 100, 5000)
            assert ei.value.errno == errno.EOPNOTSUPP, mode
        # glibc's posix_fallocate falls back to writing zeros: that goes through crypt
        try:
            os.posix_fallocate(fd, 0, 20000)
        except OSError as e:
            assert e.errno == errno.EOPNOTSUPP
        else:
            want = MARKER * 200
            want += bytes(20000 - len(want))
            assert _read_all(p) == want
        data = _read_all(p)
    finally:
        os.close(fd)
    # copy_file_range: crypt refuses it, the kernel falls back to read + write
    q = m.mountpoint / "g"
    with open(p, "rb") as src, open(q, "wb") as dst:
        left = len(data)
        while left:
            n = os.copy_file_range(src.fileno(), dst.fileno(), left)
            assert n > 0
            left -= n
    assert _read_all(q) == data


def test_unencrypted_files(glupy_mount: MountFactory, key_files: tuple[Path, Path]) -> None:
    m = _mount(glupy_mount, key_files[0])
    (m.backend_dir / "legacy").write_bytes(b"plaintext from before")
    (m.backend_dir / "empty").write_bytes(b"")
    with pytest.raises(PermissionError):
        os.open(m.mountpoint / "legacy", os.O_RDONLY)
    # an empty file is adopted on open
    (m.mountpoint / "empty").write_bytes(MARKER)
    assert _read_all(m.mountpoint / "empty") == MARKER
    assert MARKER not in (m.backend_dir / "empty").read_bytes()
    m.unmount()
    p = _mount(glupy_mount, key_files[0], backend=m.backend_dir,
               opts={"unencrypted-files": "passthrough"})
    assert _read_all(p.mountpoint / "legacy") == b"plaintext from before"
    assert _read_all(p.mountpoint / "empty") == MARKER


def test_bad_key_file_fails_init(glupy_mount: MountFactory, tmp_path: Path) -> None:
    short = tmp_path / "short.key"
    short.write_bytes(b"0123")
    for key in (tmp_path / "missing.key", short):
        with pytest.raises(MountError) as ei:
            _mount(glupy_mount, key, timeout=15.0)
        text = str(ei.value)
        assert "key file" in text, text
