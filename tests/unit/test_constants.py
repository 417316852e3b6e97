"""glupy.constants agree with the installed GlusterFS and Linux headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import glupy
from glupy import constants

GLUSTERFS = Path("/usr/include/glusterfs")
LINUX = Path("/usr/include/linux")
# GlusterFS 11.1's headers (Debian 13 root made by the CI set-up), when this host has it
GLUSTERFS_11 = Path("/var/cache/glupy-ci/trixie-dev/usr/include/glusterfs")
ROOTS = [pytest.param(GLUSTERFS, id="host"),
         pytest.param(GLUSTERFS_11, id="11.1", marks=pytest.mark.skipif(
             not GLUSTERFS_11.exists(), reason=f"no GlusterFS 11.1 headers at {GLUSTERFS_11}"))]


def _defines(path: Path) -> dict[str, int]:
    if not path.exists():
        pytest.fail(f"{path} missing: install libglusterfs-dev / linux-libc-dev", pytrace=False)
    out = {}
    for m in re.finditer(r"^#define\s+(\w+)\s+(0x[0-9a-fA-F]+|\d+)\b", path.read_text(), re.M):
        out[m.group(1)] = int(m.group(2), 0)
    return out


def _enum(path: Path) -> dict[str, int]:
    out = {}
    for m in re.finditer(r"^\s+(\w+)\s*=\s*(\d+)(?:\s*\+\s*(\d+))?,", path.read_text(), re.M):
        out[m.group(1)] = int(m.group(2)) + int(m.group(3) or 0)
    return out


@pytest.mark.parametrize("root", ROOTS)
def test_fallocate_modes_match_linux_and_glusterfs(root):
    linux = _defines(LINUX / "falloc.h")
    compat = _defines(root / "compat.h")
    names = [n for n in dir(constants) if n.startswith("FALLOC_FL_")]
    assert len(names) == 7
    for name in names:
        assert getattr(constants, name) == linux[name], name
        if name in compat:
            assert compat[name] == linux[name], name


@pytest.mark.parametrize("root", ROOTS)
def test_setattr_bits_match_xlator_h(root):
    xl = _defines(root / "xlator.h")
    pairs = {"MODE": "GF_SET_ATTR_MODE", "UID": "GF_SET_ATTR_UID", "GID": "GF_SET_ATTR_GID",
             "SIZE": "GF_SET_ATTR_SIZE", "ATIME": "GF_SET_ATTR_ATIME", "MTIME": "GF_SET_ATTR_MTIME",
             "CTIME": "GF_SET_ATTR_CTIME", "ATIME_NOW": "GF_ATTR_ATIME_NOW",
             "MTIME_NOW": "GF_ATTR_MTIME_NOW"}
    assert {n for n in dir(constants) if n.startswith("SETATTR_")} == {f"SETATTR_{k}" for k in pairs}
    for ours, theirs in pairs.items():
        assert getattr(constants, f"SETATTR_{ours}") == xl[theirs], ours


def test_xattr_flags_match_linux():
    x = _defines(LINUX / "xattr.h")
    assert x["XATTR_CREATE"] == constants.XATTR_CREATE
    assert x["XATTR_REPLACE"] == constants.XATTR_REPLACE


@pytest.mark.parametrize("root", ROOTS)
def test_enums_match_glusterfs_fops_h(root):
    e = _enum(root / "glusterfs-fops.h")
    for name in ("ENTRYLK_LOCK", "ENTRYLK_UNLOCK", "ENTRYLK_LOCK_NB", "ENTRYLK_RDLCK",
                 "ENTRYLK_WRLCK", "GF_SEEK_DATA", "GF_SEEK_HOLE", "F_RESLK_LCK", "F_RESLK_LCKW",
                 "F_RESLK_UNLCK", "F_GETLK_FD"):
        assert getattr(constants, name) == e[name], name
    for name in [n for n in dir(constants) if n.startswith("GF_XATTROP_")]:
        assert getattr(constants, name) == e[name], name


def test_constants_are_exported_from_glupy():
    for name in ("FALLOC_FL_ZERO_RANGE", "SETATTR_MODE", "XATTR_CREATE", "F_SETLK", "ENTRYLK_WRLCK"):
        assert getattr(glupy, name) == getattr(constants, name)
        assert name in glupy.__all__
