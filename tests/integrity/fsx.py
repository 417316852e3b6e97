"""fsx-style random-operation data integrity tester.

A few files under one directory; each operation is drawn from a seeded ``random.Random``
and applied both to the file and to an in-memory model (a ``bytearray`` per file):

  pwrite / pread at random, unaligned offsets and lengths; append (O_APPEND fd);
  truncate (by path) and ftruncate, up and down; mmap read and mmap shared write + msync
  (when the filesystem allows shared writable maps); fsync / fdatasync; close and reopen;
  drop the page cache (fsync + posix_fadvise DONTNEED) so the next reads reach the
  filesystem, not the kernel's cache; full-file verification and stat size checks.

Every read is compared with the model; any mismatch (or an unexpected error) raises
FsxError carrying the seed, the operation number, the first differing offset and a log
of the last 20 operations, so a failure replays with ``Fsx(dir, seed).run(n)``.

Environment: ``GLUPY_FSX_SEED`` (a seed or a comma-separated list) and
``GLUPY_FSX_OPS`` (operations per seed) override the tests' defaults.

Run by hand: ``python tests/integrity/fsx.py DIR [--seed N] [--ops N]``.
"""

from __future__ import annotations

import argparse
import collections
import mmap
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

LOG_LEN = 20


class FsxError(AssertionError):
    pass


@dataclass
class FsxStats:
    seed: int
    ops: int = 0
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    bytes_written: int = 0
    bytes_read: int = 0
    mmap_write: bool = True
    elapsed: float = 0.0

    def summary(self) -> str:
        top = ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
        return (f"seed {self.seed}: {self.ops} ops in {self.elapsed:.1f} s "
                f"({self.bytes_written >> 10} KiB written, {self.bytes_read >> 10} KiB read, "
                f"mmap write {'on' if self.mmap_write else 'off'}): {top}")


@dataclass
class _File:
    path: Path
    model: bytearray = field(default_factory=bytearray)
    fd: int = -1


class Fsx:
    """Random operations on ``nfiles`` files in ``directory``, checked against a model."""

    WEIGHTS: ClassVar[dict[str, int]] = {
        "pwrite": 22, "pread": 22, "append": 4, "truncate": 5, "ftruncate": 5, "mmap_read": 6,
        "mmap_write": 6, "fsync": 3, "fdatasync": 2, "reopen": 5, "drop_cache": 6, "verify": 3,
        "stat": 4,
    }

    def __init__(self, directory: str | os.PathLike[str], seed: int, *, nfiles: int = 2,
                 max_size: int = 256 * 1024, max_io: int = 64 * 1024, use_mmap: bool = True,
                 weights: dict[str, int] | None = None) -> None:
        self.dir = Path(directory)
        self.seed = seed
        self.rng = random.Random(seed)
        self.max_size = max_size
        self.max_io = max_io
        self.files = [_File(self.dir / f"fsx-{seed}-{i}") for i in range(nfiles)]
        self.log: collections.deque[str] = collections.deque(maxlen=LOG_LEN)
        self.stats = FsxStats(seed)
        self.use_mmap = use_mmap
        w = dict(self.WEIGHTS, **(weights or {}))
        self.ops = list(w)
        self.cum = list(w.values())
        self.opno = 0

    # ----------------------------------------------------------------- plumbing

    def fail(self, what: str) -> FsxError:
        log = "\n".join(f"    {line}" for line in self.log)
        return FsxError(f"fsx mismatch (seed {self.seed}, op #{self.opno}): {what}\n"
                        f"  replay: GLUPY_FSX_SEED={self.seed} GLUPY_FSX_OPS={self.opno + 1}\n"
                        f"  last {len(self.log)} ops:\n{log}")

    def compare(self, f: _File, offset: int, got: bytes, where: str) -> None:
        want = bytes(f.model[offset:offset + len(got)]) if offset < len(f.model) else b""
        if got != want:
            first = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
                         min(len(got), len(want)))
            raise self.fail(
                f"{where} {f.path.name} @{offset} len {len(got)}: first difference at file offset "
                f"{offset + first} (got {got[first:first + 8].hex() or 'EOF'}, "
                f"want {want[first:first + 8].hex() or 'EOF'}; got {len(got)} bytes, want {len(want)}; "
                f"model size {len(f.model)})")

    def open(self, f: _File) -> None:
        if f.fd < 0:
            f.fd = os.open(f.path, os.O_RDWR | os.O_CREAT, 0o644)

    def close_all(self) -> None:
        for f in self.files:
            if f.fd >= 0:
                os.close(f.fd)
                f.fd = -1

    def _set_size(self, f: _File, size: int) -> None:
        if size < len(f.model):
            del f.model[size:]
        else:
            f.model.extend(bytes(size - len(f.model)))

    def _range(self, f: _File, within: bool = False) -> tuple[int, int]:
        """An offset and length; ``within``: inside the current size (mmap)."""
        limit = len(f.model) if within else self.max_size
        r = self.rng.random()
        if r < 0.25:
            length = self.rng.randint(1, 16)  # tiny, unaligned
        elif r < 0.5:
            length = self.rng.choice((512, 4096, 8192, 65536, 4095, 4097))
        else:
            length = self.rng.randint(1, self.max_io)
        length = max(1, min(length, limit))
        off = self.rng.randint(0, max(0, limit - length))
        if not within and self.rng.random() < 0.15:
            off = (off // 4096) * 4096  # page aligned
        return off, length

    # ----------------------------------------------------------------- operations

    def op_pwrite(self, f: _File) -> str:
        off, n = self._range(f)
        data = self.rng.randbytes(n)
        written = os.pwrite(f.fd, data, off)
        if written != n:
            raise self.fail(f"short pwrite {written}/{n}")
        if off > len(f.model):
            f.model.extend(bytes(off - len(f.model)))
        f.model[off:off + n] = data
        self.stats.bytes_written += n
        return f"pwrite {f.path.name} off={off} len={n}"

    def op_pread(self, f: _File) -> str:
        off, n = self._range(f)
        if self.rng.random() < 0.1 and f.model:
            off = self.rng.randint(max(0, len(f.model) - 100), len(f.model) + 100)  # around EOF
        got = os.pread(f.fd, n, off)
        self.stats.bytes_read += len(got)
        self.compare(f, off, got, "pread")
        return f"pread {f.path.name} off={off} len={n} -> {len(got)}"

    def op_append(self, f: _File) -> str:
        n = self.rng.randint(1, 9000)
        if len(f.model) + n > self.max_size:
            return self.op_truncate(f)
        data = self.rng.randbytes(n)
        fd = os.open(f.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        f.model.extend(data)
        self.stats.bytes_written += n
        return f"append {f.path.name} len={n} -> size {len(f.model)}"

    def _new_size(self, f: _File) -> int:
        r = self.rng.random()
        if r < 0.1:
            return 0
        if r < 0.5 and f.model:
            return self.rng.randint(0, len(f.model))  # down
        return self.rng.randint(len(f.model), self.max_size)  # up

    def op_truncate(self, f: _File) -> str:
        size = self._new_size(f)
        os.truncate(f.path, size)
        old = len(f.model)
        self._set_size(f, size)
        return f"truncate {f.path.name} {old} -> {size}"

    def op_ftruncate(self, f: _File) -> str:
        size = self._new_size(f)
        os.ftruncate(f.fd, size)
        old = len(f.model)
        self._set_size(f, size)
        return f"ftruncate {f.path.name} {old} -> {size}"

    def op_mmap_read(self, f: _File) -> str:
        if not self.use_mmap or not f.model:
            return self.op_pread(f)
        off, n = self._range(f, within=True)
        with mmap.mmap(f.fd, len(f.model), mmap.MAP_SHARED, mmap.PROT_READ) as m:
            got = m[off:off + n]
        self.stats.bytes_read += len(got)
        self.compare(f, off, got, "mmap read")
        return f"mmap_read {f.path.name} off={off} len={n}"

    def op_mmap_write(self, f: _File) -> str:
        if not self.use_mmap or not self.stats.mmap_write or not f.model:
            return self.op_pwrite(f)
        off, n = self._range(f, within=True)
        data = self.rng.randbytes(n)
        try:
            m = mmap.mmap(f.fd, len(f.model), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError:
            self.stats.mmap_write = False  # e.g. FUSE direct_io: no shared writable maps
            return self.op_pwrite(f)
        with m:
            m[off:off + n] = data
            m.flush()  # msync(MS_SYNC)
        f.model[off:off + n] = data
        self.stats.bytes_written += n
        return f"mmap_write+msync {f.path.name} off={off} len={n}"

    def op_fsync(self, f: _File) -> str:
        os.fsync(f.fd)
        return f"fsync {f.path.name}"

    def op_fdatasync(self, f: _File) -> str:
        os.fdatasync(f.fd)
        return f"fdatasync {f.path.name}"

    def op_reopen(self, f: _File) -> str:
        os.close(f.fd)
        f.fd = -1
        flags = os.O_RDWR
        how = "rdwr"
        if self.rng.random() < 0.2:
            flags |= os.O_TRUNC
            how = "rdwr|trunc"
            f.model.clear()
        f.fd = os.open(f.path, flags)
        return f"reopen {f.path.name} {how}"

    def op_drop_cache(self, f: _File) -> str:
        os.fsync(f.fd)
        os.posix_fadvise(f.fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return f"drop_cache {f.path.name}"

    def op_verify(self, f: _File) -> str:
        got = bytearray()
        while chunk := os.pread(f.fd, 1 << 20, len(got)):
            got += chunk
        self.stats.bytes_read += len(got)
        if len(got) != len(f.model):
            self.compare(f, 0, bytes(got), "verify (size)")
        self.compare(f, 0, bytes(got), "verify")
        return f"verify {f.path.name} size={len(got)}"

    def op_stat(self, f: _File) -> str:
        a, b = os.fstat(f.fd).st_size, os.stat(f.path).st_size
        if a != len(f.model) or b != len(f.model):
            raise self.fail(f"size of {f.path.name}: fstat {a}, stat {b}, model {len(f.model)}")
        return f"stat {f.path.name} size={a}"

    # ----------------------------------------------------------------- driver

    def run(self, nops: int) -> FsxStats:
        t0 = time.monotonic()
        self.dir.mkdir(parents=True, exist_ok=True)
        for f in self.files:
            with open(f.path, "wb"):
                pass
            self.open(f)
        try:
            for self.opno in range(nops):
                f = self.rng.choice(self.files)
                name = self.rng.choices(self.ops, weights=self.cum)[0]
                try:
                    entry = getattr(self, f"op_{name}")(f)
                except FsxError:
                    raise
                except OSError as exc:
                    raise self.fail(f"{name} on {f.path.name} raised {exc!r}") from exc
                self.log.append(f"#{self.opno} {entry}")
                self.stats.counts[name] += 1
            self.opno = nops
            for f in self.files:  # final check through a fresh fd, page cache dropped
                self.op_drop_cache(f)
                os.close(f.fd)
                f.fd = os.open(f.path, os.O_RDONLY)
                self.log.append(f"final verify {f.path.name}")
                self.op_verify(f)
        finally:
            self.close_all()
        self.stats.ops = nops
        self.stats.elapsed = time.monotonic() - t0
        return self.stats


def seeds_from_env(default: list[int]) -> list[int]:
    raw = os.environ.get("GLUPY_FSX_SEED", "").strip()
    return [int(s, 0) for s in raw.split(",") if s.strip()] if raw else default


def ops_from_env(default: int) -> int:
    raw = os.environ.get("GLUPY_FSX_OPS", "").strip()
    return int(raw) if raw else default


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("directory")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--ops", type=int, default=10000)
    ap.add_argument("--files", type=int, default=2)
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    print(f"fsx seed {seed}, {args.ops} ops", flush=True)
    try:
        stats = Fsx(args.directory, seed, nfiles=args.files).run(args.ops)
    except FsxError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(stats.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
