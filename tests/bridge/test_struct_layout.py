"""The structs the bridge touches have the layout libglusterfs was built with.

cffi computes field offsets from the installed headers with our compile
flags; a C program compiled with the same flags must agree, and the flags
must give the layout of Debian's libglusterfs (sizeof(xlator_t) == 4128 in 10.x
and 4096 in 11.x on x86_64 need HAVE_ATOMIC_BUILTINS: without it the layout
silently shifts).
"""

import importlib
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from glupy._build import build, release

FIELDS = {
    "xlator_t": ["name", "type", "parents", "children", "options", "ctx", "itable", "private"],
    "call_frame_t": ["root", "parent", "cookie", "this"],
    "call_stack_t": ["client", "unique", "uid", "gid", "pid", "ngrps", "groups", "lk_owner", "op"],
    "loc_t": ["path", "name", "inode", "parent", "gfid", "pargfid"],
    "inode_t": ["table", "gfid", "fd_count", "ref", "ia_type"],
    "fd_t": ["pid", "flags", "inode", "anonymous"],
    "struct iatt": ["ia_size", "ia_gfid", "ia_type", "ia_prot"],
    "data_t": ["data", "data_type", "len"],
    "dict_t": ["count", "members_list"],
    "gf_dirent_t": ["d_ino", "d_off", "d_type", "d_stat", "dict", "inode", "d_name"],
}


def _c_layout(tmp: Path) -> dict[str, int]:
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include <glusterfs/xlator.h>',
             '#include <glusterfs/gf-dirent.h>', 'int main(void) {']
    for struct, fields in FIELDS.items():
        lines.append(f'printf("{struct}=%zu\\n", sizeof({struct}));')
        for f in fields:
            lines.append(f'printf("{struct}.{f}=%zu\\n", offsetof({struct}, {f}));')
    lines.append("return 0; }")
    src = tmp / "layout.c"
    src.write_text("\n".join(lines))
    flags = [f"-D{k}" if v is None else f"-D{k}={v}" for k, v in build.DEFINES]
    exe = tmp / "layout"
    subprocess.run(["cc", *flags, str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return {k: int(v) for k, v in (line.split("=") for line in out.splitlines())}


@pytest.fixture(scope="module")
def cffi_module(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("layout")
    ffi = build.make_ffi(embedding=False, module_name="_glupy_layout_check")
    ffi.compile(tmpdir=str(tmp))
    sys.path.insert(0, str(tmp))
    try:
        yield importlib.import_module("_glupy_layout_check")
    finally:
        sys.path.remove(str(tmp))


def test_cffi_offsets_equal_the_compilers(tmp_path, cffi_module):
    c = _c_layout(tmp_path)
    ffi = cffi_module.ffi
    for struct, fields in FIELDS.items():
        assert ffi.sizeof(struct) == c[struct], struct
        for f in fields:
            assert ffi.offsetof(struct, f) == c[f"{struct}.{f}"], f"{struct}.{f}"


# sizeof(xlator_t) in Debian's x86_64 libglusterfs of each release line (without
# HAVE_ATOMIC_BUILTINS the headers give 10.3: another size, 11.1: 13576)
XLATOR_T_SIZE = {"10": 4128, "11": 4096}


@pytest.mark.skipif(platform.machine() != "x86_64", reason="reference size is for x86_64")
def test_flags_give_libglusterfs_layout(tmp_path):
    major = release.headers_release().split(".")[0]
    assert _c_layout(tmp_path)["xlator_t"] == XLATOR_T_SIZE[major]
