"""Data integrity through Python translators: fsx-style random operations and fio verify.

fsx (fsx.py) runs seeded random pwrite/pread/truncate/ftruncate/append/mmap/fsync/
reopen/page-cache-drop sequences against an in-memory model, through

* PassThrough (every fop in Python), where the brick files must also equal the model;
* crypt (AES-256-GCM per 4 KiB block: read-modify-write of edge blocks, holes, truncates),
  where the brick size must be the documented stored size of the model.

Default size: 3 seeds x 5,000 operations per target (~15k each).  ``-m slow`` (or
GLUPY_SLOW=1) adds 4 seeds x 15,000 per target (120k operations in all).  GLUPY_FSX_SEED
and GLUPY_FSX_OPS override seeds and operations per seed for every run.

fio writes 64 MiB with a 4k/64k block size mix and crc32c verification through
PassThrough with O_DIRECT and must report no error; through crypt with a 4k/64k/1m mix.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fsx import Fsx, FsxError, ops_from_env, seeds_from_env

from glupy.library.crypt import stored_size
from glupy.library.passthrough import COUNTERS_XATTR
from glupy.testing import MountFactory, MountInfo

PASS = "glupy.library.passthrough:PassThrough"
CRYPT = "glupy.library.crypt:Crypt"

DEFAULT_SEEDS = seeds_from_env([101, 202, 303])
DEFAULT_OPS = ops_from_env(5000)
SLOW_SEEDS = seeds_from_env([1001, 2002, 3003, 4004])
SLOW_OPS = ops_from_env(15000)


def _mount(target: str, glupy_mount: MountFactory, tmp_path: Path) -> MountInfo:
    if target == "passthrough":
        return glupy_mount([(PASS, {})])
    key = tmp_path / "crypt.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    return glupy_mount([(CRYPT, {"key-file": str(key), "encrypt-names": "on"})])


def _run_fsx(target: str, seed: int, nops: int, glupy_mount: MountFactory, tmp_path: Path) -> None:
    m = _mount(target, glupy_mount, tmp_path)
    counters = (lambda: json.loads(os.getxattr(m.mountpoint, COUNTERS_XATTR))) if target == "passthrough" \
        else (lambda: {})
    before = counters()
    fsx = Fsx(m.mountpoint / "fsx", seed)
    try:
        stats = fsx.run(nops)
    except FsxError as exc:
        raise FsxError(f"[{target}] {exc}") from None
    print(f"[{target}] {stats.summary()}")
    if target == "passthrough":  # dropping the page cache really sends reads to GlusterFS
        after = counters()
        reads = after.get("readv", 0) - before.get("readv", 0)
        print(f"[{target}] readv {reads}, writev {after.get('writev', 0) - before.get('writev', 0)}")
        assert reads >= stats.counts["drop_cache"] // 2, (reads, stats.counts)
    assert stats.mmap_write, "shared writable mmap was refused on the mount"
    if target == "passthrough":
        for f in fsx.files:
            brick = m.backend_dir / "fsx" / f.path.name
            assert brick.stat().st_size == len(f.model), f"[{target}] brick size of {f.path.name}"
            assert brick.read_bytes() == bytes(f.model), f"[{target}] brick content of {f.path.name}"
    else:  # names are encrypted on the brick: the stored sizes, as a multiset
        (work,) = [p for p in m.backend_dir.iterdir() if p.name != ".glusterfs"]
        stored = sorted(p.stat().st_size for p in work.iterdir())
        assert stored == sorted(stored_size(len(f.model)) for f in fsx.files), f"[{target}] brick sizes"
    assert os.path.ismount(m.mountpoint)


def test_fsx_detects_corruption(tmp_path: Path) -> None:
    """The checker itself: a model that disagrees with the file must fail with a replay recipe."""

    class Broken(Fsx):
        corrupted = False

        def op_pwrite(self, f):  # type: ignore[no-untyped-def]
            entry = super().op_pwrite(f)
            if self.opno >= 50 and not self.corrupted:  # the model forgets one bit of this write
                self.corrupted = True
                f.model[len(f.model) - 1] ^= 0x01
            return entry

    only = {name: 0 for name in Fsx.WEIGHTS} | {"pwrite": 1, "verify": 1}
    with pytest.raises(FsxError) as info:
        Broken(tmp_path, seed=7, nfiles=1, weights=only).run(2000)
    text = str(info.value)
    assert "seed 7" in text and "GLUPY_FSX_SEED=7" in text and "last 20 ops" in text
    assert Fsx(tmp_path / "again", seed=7).run(300).ops == 300  # a sane run passes


@pytest.mark.parametrize("seed", DEFAULT_SEEDS)
@pytest.mark.parametrize("target", ["passthrough", "crypt"])
def test_fsx(target: str, seed: int, glupy_mount: MountFactory, tmp_path: Path) -> None:
    _run_fsx(target, seed, DEFAULT_OPS, glupy_mount, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SLOW_SEEDS)
@pytest.mark.parametrize("target", ["passthrough", "crypt"])
def test_fsx_long(target: str, seed: int, glupy_mount: MountFactory, tmp_path: Path) -> None:
    _run_fsx(target, seed, SLOW_OPS, glupy_mount, tmp_path)


@pytest.mark.parametrize(("target", "bssplit"), [("passthrough", "4k/50:64k/50"),
                                                ("crypt", "4k/30:64k/30:1m/40")])
def test_fio_verify_crc32c(target: str, bssplit: str, glupy_mount: MountFactory,
                           tmp_path: Path) -> None:
    """Through crypt, 64 KiB and 1 MiB O_DIRECT writes reach the brick O_DIRECT (16-block
    aligned stored ranges) and 4 KiB ones through its page cache, in the same file."""
    fio = shutil.which("fio")
    if fio is None:
        pytest.fail("fio is not installed (apt-get install -y fio)", pytrace=False)
    m = _mount(target, glupy_mount, tmp_path)
    cmd = [fio, "--name=verify", f"--directory={m.mountpoint}", "--size=64M", "--rw=randwrite",
           f"--bssplit={bssplit}", "--ioengine=psync", "--direct=1", "--verify=crc32c",
           "--do_verify=1", "--verify_fatal=1", "--verify_dump=1", "--randrepeat=1",
           "--random_generator=tausworthe64", "--output-format=json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, f"fio exited {proc.returncode}:\n{proc.stderr}\n{proc.stdout[-2000:]}"
    out = json.loads(proc.stdout[proc.stdout.index("{"):])
    job = out["jobs"][0]
    print(f"fio: wrote {job['write']['io_bytes'] >> 20} MiB, verified {job['read']['io_bytes'] >> 20} MiB, "
          f"err {job['error']}")
    assert job["error"] == 0, job
    assert job["write"]["io_bytes"] == 64 << 20
    assert job["read"]["io_bytes"] == 64 << 20, "fio did not read everything back to verify it"
    assert "verify" not in proc.stderr.lower(), proc.stderr
