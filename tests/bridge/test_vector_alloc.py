"""Vector.alloc / writable / narrow on a real graph: data written and read through a
translator that winds narrowed alloc'd iobufs and unwinds narrowed reply vectors
(tests/bridge/translators/vectors.py) matches a model byte for byte, on the mount and
in the backend file."""

from __future__ import annotations

import os
import random
from pathlib import Path

HERE = Path(__file__).parent
TRANSLATORS = str(HERE / "translators")
SIZE = 1 << 20


def _read_uncached(fd: int, n: int, off: int) -> bytes:
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # the read must reach the graph
    return os.pread(fd, n, off)


def test_alloc_and_narrow_through_a_mount(glupy_mount):
    m = glupy_mount([("vectors:Vectors", {})], python_path=[TRANSLATORS])
    rng = random.Random(7)
    model = bytearray()
    path = m.mountpoint / "f"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        # 128 KiB (an arena iobuf), small and unaligned writes (malloc'd iobufs)
        writes = [(0, 128 << 10), (5, 3), (4093, 10), (200_000, 70_000), (SIZE - 1, 1)]
        writes += [(rng.randrange(SIZE), rng.randrange(1, 40_000)) for _ in range(30)]
        for off, n in writes:
            data = rng.randbytes(n)
            assert os.pwrite(fd, data, off) == n
            if len(model) < off:
                model.extend(bytes(off - len(model)))
            model[off:off + n] = data
        os.fsync(fd)
        assert _read_uncached(fd, len(model) + 100, 0) == bytes(model)
        for _ in range(40):
            off = rng.randrange(len(model))
            n = rng.randrange(1, 200_000)
            assert _read_uncached(fd, n, off) == bytes(model[off:off + n]), (off, n)
        assert _read_uncached(fd, 10, len(model)) == b""
    finally:
        os.close(fd)
    assert (m.backend_dir / "f").read_bytes() == bytes(model)
    assert "Traceback" not in m.log_path.read_text()
