"""crypt's encrypted names on real graphs (FUSE -> crypt -> posix over a temp dir): the
brick never holds a plaintext name or symlink target, every name fop round-trips
through the mount, long names work, and an entry moved on the brick does not open."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from cryptkeys import new_key

from glupy.library.crypt import (
    DIRIV_XATTR,
    LONGNAME_PREFIX,
    LONGNAME_XATTR,
    NAME_MAX,
    NAMEKEY_XATTR,
    MasterKey,
    brick_name,
    decrypt_link,
    decrypt_name,
    encrypt_link,
    encrypt_name,
    load_master_key,
    make_name_key,
    open_name_key,
)
from glupy.local import brick, process, volfile
from glupy.local.volfile import Graph, Volume
from glupy.testing import BrickMountFactory, MountFactory, MountInfo

SPEC = "glupy.library.crypt:Crypt"
SECRET = "geheimnis"  # appears in every plaintext name below


def _mount(glupy_mount: MountFactory, key: Path, backend: Path | None = None,
           opts: dict[str, str] | None = None) -> MountInfo:
    return glupy_mount([(SPEC, {"key-file": str(key), "encrypt-names": "on", **(opts or {})})],
                       backend_dir=backend)


def _brick_tree(root: Path) -> list[str]:
    """Every name and symlink target on the brick outside .glusterfs."""
    out = []
    for d, dirs, files in os.walk(root):
        if Path(d) == root and ".glusterfs" in dirs:
            dirs.remove(".glusterfs")
        for n in dirs + files:
            out.append(n)
            if (Path(d) / n).is_symlink():
                out.append(os.readlink(Path(d) / n))
    return out


def _brick_entries(d: Path) -> list[Path]:
    return [p for p in d.iterdir() if p.name != ".glusterfs"]


# ---------------------------------------------------------------------- pure functions
def test_name_encryption_is_deterministic_per_directory_and_authenticated() -> None:
    names, _ = make_name_key(MasterKey.from_bytes(os.urandom(32)))
    iv_a, iv_b = os.urandom(16), os.urandom(16)
    enc = encrypt_name(names, iv_a, b"report.pdf")
    assert enc == encrypt_name(names, iv_a, b"report.pdf")
    assert enc != encrypt_name(names, iv_b, b"report.pdf")
    assert decrypt_name(names, iv_a, enc) == b"report.pdf"
    with pytest.raises(ValueError):
        decrypt_name(names, iv_b, enc)  # bound to its directory
    # lengths are rounded to 16 bytes
    assert len(encrypt_name(names, iv_a, b"a")) == len(encrypt_name(names, iv_a, b"a" * 15))
    for bad in ("", "..", enc + "A", enc[:-1] + ("A" if enc[-1] != "A" else "B"), "a.b",
                "+" + enc[1:]):
        with pytest.raises(ValueError):
            decrypt_name(names, iv_a, bad)
    long_enc = encrypt_name(names, iv_a, b"x" * NAME_MAX)
    assert len(long_enc) > NAME_MAX
    stored = brick_name(long_enc)
    assert stored.startswith(LONGNAME_PREFIX) and len(stored) <= NAME_MAX
    assert brick_name(enc) == enc
    gfid = os.urandom(16)
    link = encrypt_link(names, gfid, b"../target")
    assert decrypt_link(names, gfid, link) == b"../target"
    with pytest.raises(ValueError):
        decrypt_link(names, os.urandom(16), link)  # bound to its symlink's GFID


def test_name_key_record_opens_only_under_its_master_key() -> None:
    master, other = MasterKey.from_bytes(os.urandom(32)), MasterKey.from_bytes(os.urandom(32))
    names, record = make_name_key(master)
    iv = os.urandom(16)
    enc = encrypt_name(names, iv, b"n")
    assert decrypt_name(open_name_key(master, record), iv, enc) == b"n"
    with pytest.raises(Exception) as ei:
        open_name_key(other, record)
    assert getattr(ei.value, "errno", None) == errno.EKEYREJECTED
    flipped = bytearray(record)
    flipped[-1] ^= 1
    with pytest.raises(Exception) as ei:
        open_name_key(master, bytes(flipped))
    assert getattr(ei.value, "errno", None) == errno.EIO


# ---------------------------------------------------------------------- through FUSE
def test_names_round_trip_and_never_reach_the_brick(glupy_mount: MountFactory,
                                                    tmp_path: Path) -> None:
    m = _mount(glupy_mount, new_key(tmp_path / "k"))
    mp = m.mountpoint
    (mp / f"{SECRET}-dir").mkdir()
    (mp / f"{SECRET}-dir" / f"{SECRET}-sub").mkdir()
    (mp / f"{SECRET}-dir" / f"{SECRET}-file").write_bytes(b"data")
    (mp / f"{SECRET}-top").write_bytes(b"top")
    os.mkfifo(mp / f"{SECRET}-fifo")
    os.symlink(f"{SECRET}-dir/{SECRET}-file", mp / f"{SECRET}-link")
    os.link(mp / f"{SECRET}-top", mp / f"{SECRET}-dir" / f"{SECRET}-hard")

    assert sorted(os.listdir(mp)) == sorted(f"{SECRET}-{n}" for n in ("dir", "top", "fifo", "link"))
    assert sorted(os.listdir(mp / f"{SECRET}-dir")) == sorted(
        f"{SECRET}-{n}" for n in ("sub", "file", "hard"))
    assert os.readlink(mp / f"{SECRET}-link") == f"{SECRET}-dir/{SECRET}-file"
    assert os.lstat(mp / f"{SECRET}-link").st_size == len(f"{SECRET}-dir/{SECRET}-file")
    assert (mp / f"{SECRET}-link").read_bytes() == b"data"  # followed through the mount
    assert (mp / f"{SECRET}-dir" / f"{SECRET}-hard").read_bytes() == b"top"
    assert os.stat(mp / f"{SECRET}-top").st_nlink == 2

    on_brick = _brick_tree(m.backend_dir)
    assert len(on_brick) == 7 + 1  # 7 entries and one symlink target
    assert not [n for n in on_brick if SECRET in n], on_brick
    assert os.getxattr(m.backend_dir, DIRIV_XATTR) and os.getxattr(m.backend_dir, NAMEKEY_XATTR)

    # rename within a directory, across directories, over an existing entry
    os.rename(mp / f"{SECRET}-top", mp / f"{SECRET}-moved")
    os.rename(mp / f"{SECRET}-moved", mp / f"{SECRET}-dir" / f"{SECRET}-sub" / f"{SECRET}-deep")
    os.rename(mp / f"{SECRET}-dir" / f"{SECRET}-hard", mp / f"{SECRET}-dir" / f"{SECRET}-file")
    os.rename(mp / f"{SECRET}-dir" / f"{SECRET}-sub", mp / f"{SECRET}-sub2")
    assert (mp / f"{SECRET}-sub2" / f"{SECRET}-deep").read_bytes() == b"top"
    assert (mp / f"{SECRET}-dir" / f"{SECRET}-file").read_bytes() == b"top"
    assert sorted(os.listdir(mp / f"{SECRET}-dir")) == [f"{SECRET}-file"]
    with pytest.raises(FileNotFoundError):
        os.stat(mp / f"{SECRET}-top")
    assert not [n for n in _brick_tree(m.backend_dir) if SECRET in n]

    # a fresh mount (no cached IVs or names) sees the same tree
    m.unmount()
    again = _mount(glupy_mount, tmp_path / "k", backend=m.backend_dir)
    assert sorted(os.listdir(again.mountpoint)) == sorted(
        f"{SECRET}-{n}" for n in ("dir", "sub2", "fifo", "link"))
    assert os.readlink(again.mountpoint / f"{SECRET}-link") == f"{SECRET}-dir/{SECRET}-file"
    assert (again.mountpoint / f"{SECRET}-sub2" / f"{SECRET}-deep").read_bytes() == b"top"
    for n in ("fifo", "link"):
        os.unlink(again.mountpoint / f"{SECRET}-{n}")
    os.unlink(again.mountpoint / f"{SECRET}-sub2" / f"{SECRET}-deep")
    os.rmdir(again.mountpoint / f"{SECRET}-sub2")
    assert sorted(os.listdir(again.mountpoint)) == [f"{SECRET}-dir"]
    assert len(_brick_entries(m.backend_dir)) == 1


def test_long_names(glupy_mount: MountFactory, tmp_path: Path) -> None:
    m = _mount(glupy_mount, new_key(tmp_path / "k"))
    mp = m.mountpoint
    longest = "L" * NAME_MAX
    other = "é" * (NAME_MAX // 2)  # 254 bytes of UTF-8
    (mp / longest).write_bytes(b"long")
    (mp / "d").mkdir()
    os.symlink("../" + longest, mp / "d" / other)
    assert sorted(os.listdir(mp)) == sorted([longest, "d"])
    assert os.listdir(mp / "d") == [other]
    assert (mp / "d" / other).read_bytes() == b"long"
    stored = [p.name for p in _brick_entries(m.backend_dir)]
    assert len(stored) == 2 and sum(n.startswith(LONGNAME_PREFIX) for n in stored) == 1
    assert all(len(n.encode()) <= NAME_MAX for n in stored)
    records = [x for x in os.listxattr(m.backend_dir) if x.startswith(LONGNAME_XATTR)]
    assert len(records) == 1
    os.rename(mp / longest, mp / "d" / ("M" * NAME_MAX))
    assert sorted(os.listdir(mp / "d")) == sorted([other, "M" * NAME_MAX])
    assert os.listdir(mp) == ["d"]
    assert not [x for x in os.listxattr(m.backend_dir) if x.startswith(LONGNAME_XATTR)]
    os.unlink(mp / "d" / ("M" * NAME_MAX))
    os.unlink(mp / "d" / other)
    assert os.listdir(mp / "d") == []
    sub = _brick_entries(m.backend_dir)[0]
    assert not [x for x in os.listxattr(sub) if x.startswith(LONGNAME_XATTR)]
    with pytest.raises(OSError) as ei:
        (mp / ("N" * (NAME_MAX + 1))).write_bytes(b"")
    assert ei.value.errno == errno.ENAMETOOLONG


def test_entry_moved_on_the_brick_does_not_decrypt(glupy_mount: MountFactory,
                                                   tmp_path: Path) -> None:
    """Names are bound to their directory's IV: an entry moved to another directory
    on the brick is not shown there (one log line), and cannot be looked up."""
    key = new_key(tmp_path / "k")
    m = _mount(glupy_mount, key)
    mp = m.mountpoint
    (mp / "a").mkdir()
    (mp / "b").mkdir()
    (mp / "a" / "moved").write_bytes(b"x")
    (mp / "b" / "stays").write_bytes(b"y")
    m.unmount()
    master = load_master_key(key, None)
    names = open_name_key(master, os.getxattr(m.backend_dir, NAMEKEY_XATTR))
    root_iv = os.getxattr(m.backend_dir, DIRIV_XATTR)
    a = m.backend_dir / brick_name(encrypt_name(names, root_iv, b"a"))
    b = m.backend_dir / brick_name(encrypt_name(names, root_iv, b"b"))
    enc = brick_name(encrypt_name(names, os.getxattr(a, DIRIV_XATTR), b"moved"))
    os.rename(a / enc, b / enc)
    again = _mount(glupy_mount, key, backend=m.backend_dir)
    assert os.listdir(again.mountpoint / "b") == ["stays"]
    assert os.listdir(again.mountpoint / "a") == []
    with pytest.raises(FileNotFoundError):
        os.stat(again.mountpoint / "b" / "moved")
    lines = [x for x in again.log_tail(200) if "do not decrypt" in x]
    assert len(lines) == 1 and enc in lines[0], lines


def test_directory_without_an_iv_is_an_error(glupy_mount: MountFactory, tmp_path: Path) -> None:
    """A directory made on the brick behind crypt's back has no name IV: EIO, logged."""
    m = _mount(glupy_mount, new_key(tmp_path / "k"))
    os.listdir(m.mountpoint)  # makes the root's records
    master = load_master_key(tmp_path / "k", None)
    names = open_name_key(master, os.getxattr(m.backend_dir, NAMEKEY_XATTR))
    bare = m.backend_dir / brick_name(encrypt_name(
        names, os.getxattr(m.backend_dir, DIRIV_XATTR), b"bare"))
    bare.mkdir()
    assert os.listdir(m.mountpoint) == ["bare"]
    with pytest.raises(OSError) as ei:
        os.listdir(m.mountpoint / "bare")
    assert ei.value.errno == errno.EIO
    assert any("no name IV" in x for x in m.log_tail(100))


def test_encrypt_names_off_keeps_names_in_clear(glupy_mount: MountFactory,
                                               tmp_path: Path) -> None:
    m = _mount(glupy_mount, new_key(tmp_path / "k"), opts={"encrypt-names": "off"})
    (m.mountpoint / "plain-name").write_bytes(b"z" * 10)
    os.symlink("plain-name", m.mountpoint / "plain-link")
    assert sorted(p.name for p in _brick_entries(m.backend_dir)) == ["plain-link", "plain-name"]
    assert os.readlink(m.backend_dir / "plain-link") == "plain-name"
    assert (m.mountpoint / "plain-link").read_bytes() == b"z" * 10
    assert (m.backend_dir / "plain-name").read_bytes() != b"z" * 10  # contents still sealed


def test_listing_skips_runs_of_foreign_entries(glupy_mount: MountFactory, tmp_path: Path) -> None:
    """Entries that do not decrypt, many of them (whole readdirp batches), are left out
    and the listing still reaches every real entry."""
    key = new_key(tmp_path / "k")
    m = _mount(glupy_mount, key)
    (m.mountpoint / "d").mkdir()
    good = {f"good-{i}" for i in range(20)}
    for n in good:
        (m.mountpoint / "d" / n).write_bytes(b"")
    d = _brick_entries(m.backend_dir)[0]
    for i in range(400):
        (d / f"foreign-{i:04d}-{'x' * 40}").write_bytes(b"")
    m.unmount()
    again = _mount(glupy_mount, key, backend=m.backend_dir)
    assert set(os.listdir(again.mountpoint / "d")) == good
    assert any("do not decrypt" in x for x in again.log_tail(200))


def _mount_dht_over_replica_pairs(glupy_brick_mount: BrickMountFactory, tmp_path: Path,
                                  names: str) -> tuple[list[Any], Path, Path]:
    """FUSE -> crypt (encrypt-names ``names``) -> DHT -> 2 x AFR -> four bricks, mounted:
    (the bricks, the mount point, its state dir)."""
    bricks = [glupy_brick_mount([]) for _ in range(4)]
    graph = Graph()
    for i, b in enumerate(bricks):
        graph.add(brick.client_graph(b.port, b.exported, host=brick.HOST,
                                     name=f"c{i}-client").volumes[0])
    for p in range(2):
        graph.add(Volume(name=f"pair{p}", type="cluster/replicate",
                         subvolumes=[f"c{2 * p}-client", f"c{2 * p + 1}-client"]))
    dht = graph.add(Volume(name="dht", type="cluster/distribute", subvolumes=["pair0", "pair1"]))
    key = new_key(tmp_path / "k")
    volfile.stack_translators(graph, dht, [(SPEC, {"key-file": str(key), "encrypt-names": names})],
                              "t")
    mnt, state = tmp_path / "mnt", tmp_path / "state"
    mnt.mkdir()
    process.mount_graph(graph, mnt, source_dir=bricks[0].backend_dir, state_dir=state)
    return bricks, mnt, state


def test_names_through_distribute_over_replica_pairs(glupy_brick_mount: BrickMountFactory,
                                                     tmp_path: Path) -> None:
    """FUSE -> crypt -> DHT -> 2 x AFR -> four bricks: the name records (root name key
    and IVs, long names) go through DHT and AFR, replicas hold the same encrypted names,
    and no plaintext name reaches any brick."""
    bricks, mnt, state = _mount_dht_over_replica_pairs(glupy_brick_mount, tmp_path, "on")
    plain = {"dir", "moved", "short", "L" * NAME_MAX} | {f"f{i}" for i in range(12)}
    try:
        (mnt / "dir").mkdir()
        (mnt / "dir" / ("L" * NAME_MAX)).write_bytes(b"long")
        (mnt / "dir" / "short").write_bytes(b"short")
        for i in range(12):
            (mnt / "dir" / f"f{i}").write_bytes(b"%d" % i)
        os.rename(mnt / "dir" / "short", mnt / "moved")
        assert sorted(os.listdir(mnt)) == ["dir", "moved"]
        assert sorted(os.listdir(mnt / "dir")) == sorted(["L" * NAME_MAX] + [f"f{i}" for i in range(12)])
        assert (mnt / "dir" / ("L" * NAME_MAX)).read_bytes() == b"long"
        assert (mnt / "moved").read_bytes() == b"short"
        trees = [sorted(_brick_tree(b.backend_dir)) for b in bricks]
        assert trees[0] == trees[1] and trees[2] == trees[3]
        assert len(set(trees[0]) | set(trees[2])) == 2 + 13
        assert not plain & (set(trees[0]) | set(trees[2]))
    finally:
        process.unmount(mnt, state_dir=state)


@pytest.mark.parametrize("names", ["on", "off"])
def test_renames_across_directories_through_distribute(glupy_brick_mount: BrickMountFactory,
                                                       tmp_path: Path, names: str) -> None:
    """FUSE -> crypt -> DHT -> 2 x AFR: files renamed into another directory (DHT leaves
    linkto files where the new name hashes elsewhere) read back whole, sizes included,
    through the same mount; once a read gave a renamed file's bytes as zeros."""
    _, mnt, state = _mount_dht_over_replica_pairs(glupy_brick_mount, tmp_path, names)
    try:
        for d in ("a", "b", "c"):
            (mnt / d).mkdir()
        want = {f"f{i:02d}": os.urandom(1 + (i * 977) % 9000) for i in range(24)}
        for name, data in want.items():
            (mnt / "a" / name).write_bytes(data)
        for i, name in enumerate(want):  # into b under a new name, half of them on into c
            os.rename(mnt / "a" / name, mnt / "b" / f"r-{name}")
            if i % 2:
                os.rename(mnt / "b" / f"r-{name}", mnt / "c" / f"s-{name}")
        for i, (name, data) in enumerate(want.items()):
            moved = mnt / ("c" if i % 2 else "b") / (f"s-{name}" if i % 2 else f"r-{name}")
            assert moved.stat().st_size == len(data), moved
            assert moved.read_bytes() == data, moved
        assert os.listdir(mnt / "a") == []
    finally:
        process.unmount(mnt, state_dir=state)
