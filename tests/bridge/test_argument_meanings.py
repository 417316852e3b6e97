"""What fop arguments carry on a real FUSE graph (what docs/fops.md says and
glupy.constants names): open flags in readv/writev, the fallocate mode, the
setattr valid mask, xattr flags, lk cmd/type, and the stale O_APPEND offset."""

from __future__ import annotations

import fcntl
import json
import os
import struct
import subprocess
from pathlib import Path

import pytest

import glupy

TRANSLATORS = str(Path(__file__).parent / "translators")


@pytest.fixture
def mount(glupy_mount):
    m = glupy_mount([("argrecord:ArgRecord", {})], python_path=[TRANSLATORS])
    seen(m)  # drop the mount's own fops
    return m


def seen(m, fop=None):
    records = json.loads(os.getxattr(m.mountpoint, "glupy.args"))
    os.getxattr(m.mountpoint, "glupy.args.reset")
    return [r for r in records if fop is None or r["fop"] == fop]


def test_readv_and_writev_carry_the_open_flags(mount):
    path = mount.mountpoint / "f"
    path.write_bytes(b"x" * 10)
    seen(mount)
    fd = os.open(path, os.O_RDWR | os.O_APPEND)
    try:
        os.write(fd, b"abc")
        os.pread(fd, 4, 0)
    finally:
        os.close(fd)
    (w,) = seen(mount, "writev")
    assert w["flags"] & os.O_APPEND and w["fd_flags"] & os.O_APPEND and w["is_append"]
    assert w["flags"] & os.O_ACCMODE == os.O_RDWR
    r = seen(mount, "readv") or []
    # the page cache may answer the read; when it reaches the graph it carries the flags
    for rec in r:
        assert rec["flags"] & os.O_APPEND
    plain = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(plain, b"z", 0)
    finally:
        os.close(plain)
    (w2,) = seen(mount, "writev")
    assert not w2["flags"] & os.O_APPEND and not w2["is_append"]


def test_append_offset_can_be_stale_and_posix_appends_at_the_end(mount):
    """Two fds: the kernel's size for the second is stale; the data still lands at the end."""
    path = mount.mountpoint / "log"
    path.write_bytes(b"")
    appender = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(appender, b"a" * 100)
        # grow the file behind the kernel's back: straight on the backend
        with open(mount.backend_dir / "log", "ab") as f:
            f.write(b"b" * 4850)
        seen(mount)
        os.write(appender, b"c" * 10)
    finally:
        os.close(appender)
    (w,) = seen(mount, "writev")
    assert w["offset"] == 100  # what the kernel believed the size was
    assert w["pre_size"] == 4950 and w["post_size"] == 4960  # where posix really wrote
    assert (mount.backend_dir / "log").read_bytes()[-10:] == b"c" * 10


def test_fallocate_mode_from_fuse(mount):
    """keep_size is the fallocate(2) mode as GlusterFS got it; 10.x's FUSE bridge keeps
    only FALLOC_FL_KEEP_SIZE of it (fuse_fallocate_resume) and turns PUNCH_HOLE into
    discard.  If a GlusterFS passes more, this test fails and docs/fops.md needs an update."""
    path = mount.mountpoint / "g"
    path.write_bytes(b"y" * 8192)
    seen(mount)
    subprocess.run(["fallocate", "-z", "-o", "0", "-l", "4096", str(path)], check=True)
    subprocess.run(["fallocate", "-n", "-o", "8192", "-l", "4096", str(path)], check=True)
    subprocess.run(["fallocate", "-o", "0", "-l", "16384", str(path)], check=True)
    modes = [r["keep_size"] for r in seen(mount, "fallocate")]
    # -z (FALLOC_FL_ZERO_RANGE, 0x10) arrives as 0: a plain allocation, nothing is zeroed
    assert modes == [0, glupy.FALLOC_FL_KEEP_SIZE, 0]
    assert (mount.backend_dir / "g").read_bytes()[:4096] == b"y" * 4096
    subprocess.run(["fallocate", "-p", "-o", "0", "-l", "4096", str(path)], check=True)
    # punch hole (PUNCH_HOLE | KEEP_SIZE) arrives as discard, not fallocate
    assert [r["fop"] for r in seen(mount) if r["fop"] in ("fallocate", "discard")] == ["discard"]


def test_setattr_valid_mask(mount):
    path = mount.mountpoint / "h"
    path.write_bytes(b"")
    seen(mount)
    os.chmod(path, 0o640)
    (s,) = seen(mount, "setattr")
    assert s["valid"] == glupy.SETATTR_MODE and s["mode"] & 0o777 == 0o640
    os.chown(path, 1234, -1)
    (s,) = seen(mount, "setattr")
    assert s["valid"] == glupy.SETATTR_UID and s["uid"] == 1234
    os.utime(path, (1_000_000, 2_000_000))
    (s,) = seen(mount, "setattr")
    assert s["valid"] & (glupy.SETATTR_ATIME | glupy.SETATTR_MTIME) == \
        glupy.SETATTR_ATIME | glupy.SETATTR_MTIME
    os.utime(path)  # now
    (s,) = seen(mount, "setattr")
    assert s["valid"] & glupy.SETATTR_ATIME_NOW and s["valid"] & glupy.SETATTR_MTIME_NOW
    # a size change from FUSE is a truncate/ftruncate fop, not SETATTR_SIZE
    os.truncate(path, 3)
    records = seen(mount)
    assert [r["offset"] for r in records if r["fop"] in ("truncate", "ftruncate")] == [3]
    assert not [r for r in records if r["fop"] == "setattr"]


def test_xattr_flags(mount):
    path = mount.mountpoint / "x"
    path.write_bytes(b"")
    seen(mount)
    os.setxattr(path, "user.a", b"1", os.XATTR_CREATE)
    os.setxattr(path, "user.a", b"2", os.XATTR_REPLACE)
    os.setxattr(path, "user.a", b"3")
    flags = [r["flags"] for r in seen(mount) if r["fop"] in ("setxattr", "fsetxattr")]
    assert flags == [glupy.XATTR_CREATE, glupy.XATTR_REPLACE, 0]


def test_lk_cmd_and_type(glupy_brick_mount):
    """lk's cmd and flock.type are the host's fcntl values (features/locks below: a
    brick graph; the protocol carries GF_LK_* and the server turns them back)."""
    m = glupy_brick_mount([("argrecord:ArgRecord", {})], python_path=[TRANSLATORS])
    path = m.mountpoint / "l"
    path.write_bytes(b"0123456789")
    seen(m)
    with open(path, "r+b") as f:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 5, 2)
        fcntl.lockf(f, fcntl.LOCK_UN, 5, 2)  # blocking: F_SETLKW
        # F_GETLK with a struct flock (type, whence, start, len, pid)
        fcntl.fcntl(f, fcntl.F_GETLK, struct.pack("hhqqi4x", fcntl.F_RDLCK, 0, 0, 1, 0))
    got = [(r["cmd"], r["type"], r["start"], r["len"]) for r in seen(m, "lk")]
    assert got == [(glupy.F_SETLK, glupy.F_WRLCK, 2, 5), (glupy.F_SETLKW, glupy.F_UNLCK, 2, 5),
                   (glupy.F_GETLK, glupy.F_RDLCK, 0, 1)]


def test_fuse_splits_writes(mount):
    path = mount.mountpoint / "s"
    path.write_bytes(b"")
    seen(mount)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, b"m" * 10, 4090)  # crosses a page boundary
        mid_page = [(r["offset"], r["len"]) for r in seen(mount, "writev")]
        os.pwrite(fd, b"b" * (256 << 10), 1 << 20)  # page-aligned, 256 KiB
        big = [(r["offset"], r["len"]) for r in seen(mount, "writev")]
    finally:
        os.close(fd)
    assert mid_page == [(4090, 6), (4096, 4)]  # split at the page boundary
    assert big == [(1 << 20, 128 << 10), ((1 << 20) + (128 << 10), 128 << 10)]  # max_write


def test_open_flags_from_fuse(mount):
    path = mount.mountpoint / "t"
    path.write_bytes(b"abc")
    seen(mount)
    os.close(os.open(path, os.O_WRONLY | os.O_TRUNC))
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT))
    got = [(r["fop"], r.get("flags"), r.get("offset")) for r in seen(mount)
           if r["fop"] in ("open", "truncate", "ftruncate", "create")]
    large = 0o100000  # the kernel's O_LARGEFILE (x86_64); Python's os.O_LARGEFILE is 0 there
    assert got == [("open", os.O_WRONLY | large, None), ("truncate", None, 0),
                   ("open", os.O_RDONLY | large, None)]


def test_fallocate_mode_from_gfapi_is_whole(glupy_gfapi):
    """gfapi's glfs_fallocate(fd, keep_size, ...) passes the caller's mode unchanged: a
    brick-side translator sees FALLOC_FL_ZERO_RANGE.  storage/posix (10.x) then only
    asks `keep_size != 0`: it allocates and zeroes nothing (docs/fops.md says so)."""
    client, info = glupy_gfapi([("argrecord:ArgRecord", {})], python_path=[TRANSLATORS])
    client.write_file("z", b"y" * 8192)
    client.getxattr("/", "glupy.args.reset")
    with client.open("z", os.O_RDWR) as f:
        f.fallocate(glupy.FALLOC_FL_ZERO_RANGE | glupy.FALLOC_FL_KEEP_SIZE, 0, 4096)
    records = json.loads(client.getxattr("/", "glupy.args"))
    assert [r["keep_size"] for r in records if r["fop"] == "fallocate"] == \
        [glupy.FALLOC_FL_ZERO_RANGE | glupy.FALLOC_FL_KEEP_SIZE]
    assert (info.backend_dir / "z").read_bytes() == b"y" * 8192
    # zeroing is the zerofill fop
    with client.open("z", os.O_RDWR) as f:
        f.zerofill(0, 4096)
    records = json.loads(client.getxattr("/", "glupy.args"))
    assert [(r["offset"], r["len"]) for r in records if r["fop"] == "zerofill"] == [(0, 4096)]
    assert (info.backend_dir / "z").read_bytes() == bytes(4096) + b"y" * 4096
