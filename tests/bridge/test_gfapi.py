"""Python translators on the brick, driven through libgfapi (glupy.local.gfapi) instead of FUSE.

Graph: gfapi Client (in the test process) -> protocol/client ==tcp 127.0.0.1==>
glusterfsd: protocol/server -> debug/io-stats -> PassThrough -> features/locks ->
storage/posix, started by the glupy_gfapi fixture. gfapi sends fops that FUSE cannot
(``access``: see exercise.FUSE_UNREACHABLE).
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import subprocess

import pytest
from exercise import FUSE_UNREACHABLE

from glupy.library.passthrough import COUNTERS_XATTR
from glupy.local import gfapi, volfile
from glupy.local.gfapi import time_fop

DT_DIR, DT_REG = 4, 8  # dirent.h

PASS = ("glupy.library.passthrough:PassThrough", {"track-ctx": "on"})


def counters(client: gfapi.Client) -> dict[str, int]:
    # answered by the brick's PassThrough: the request crosses protocol/client+server
    return json.loads(client.getxattr("/", COUNTERS_XATTR))


STRUCT_FIELDS = {
    "struct stat": ("st_dev", "st_ino", "st_nlink", "st_mode", "st_uid", "st_gid", "st_rdev",
                    "st_size", "st_blksize", "st_blocks", "st_atim", "st_mtim", "st_ctim"),
    "struct dirent": ("d_ino", "d_type", "d_name"),
}


def test_struct_layouts_are_the_compilers(tmp_path):
    """The binding's struct stat / struct dirent are what a C program that includes
    glfs.h gets on this machine (whatever the architecture), not hand-declared."""
    gfapi.libgfapi()
    lines = []
    for struct, fields in STRUCT_FIELDS.items():
        lines.append(f'printf("{struct} %zu\\n", sizeof({struct}));')
        lines += [f'printf("{struct}.{f} %zu\\n", offsetof({struct}, {f}));' for f in fields]
    src = tmp_path / "layout.c"
    src.write_text("#include <stdio.h>\n#include <stddef.h>\n#include <sys/stat.h>\n"
                   "#include <dirent.h>\n#include <glusterfs/api/glfs.h>\n"
                   "int main(void) {\n" + "\n".join(lines) + "\nreturn 0; }\n")
    subprocess.run(["cc", "-D_FILE_OFFSET_BITS=64", "-D_GNU_SOURCE", "-o", str(tmp_path / "layout"),
                    str(src)], check=True)
    expected = dict(line.rsplit(" ", 1) for line in subprocess.run(
        [str(tmp_path / "layout")], check=True, capture_output=True, text=True).stdout.splitlines())
    ffi = gfapi.ffi
    got = {}
    for struct, fields in STRUCT_FIELDS.items():
        got[struct] = str(ffi.sizeof(struct))
        got.update({f"{struct}.{f}": str(ffi.offsetof(struct, f)) for f in fields})
    assert got == expected


@pytest.mark.parametrize("hand_off", ["off", "on"])
def test_round_trips_and_every_fop_reaches_the_brick(glupy_gfapi, hand_off):
    assert "access" in FUSE_UNREACHABLE  # what this test adds over the FUSE tests
    c, info = glupy_gfapi([(PASS[0], {**PASS[1], "hand-off": hand_off})])
    before = counters(c)
    b = info.backend_dir

    # create / write / read / pwrite / pread / ftruncate / fsync / fstat
    with c.creat("/f.txt", 0o640) as fd:
        assert fd.write(b"hello world") == 11
        assert fd.pwrite(b"HELLO", 0) == 5
        fd.fsync()
        assert fd.pread(5, 6) == b"world"
        assert fd.fstat().st_size == 11
    assert (b / "f.txt").read_bytes() == b"HELLO world"
    assert c.read_file("/f.txt") == b"HELLO world"
    with c.open("/f.txt", os.O_RDWR) as fd:
        assert fd.read(5) == b"HELLO"
        assert fd.read() == b" world"
        fd.ftruncate(4)
    assert (b / "f.txt").read_bytes() == b"HELL"

    # stat agrees with the backend (not st_ino/st_dev: gfapi derives those from the gfid)
    st, bst = c.stat("/f.txt"), os.stat(b / "f.txt")
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640
    for field in ("st_mode", "st_size", "st_uid", "st_gid", "st_mtime_ns"):
        assert getattr(st, field) == getattr(bst, field), field
    # posix hides the .glusterfs/<gfid> hard link it keeps for every file
    assert st.st_nlink == bst.st_nlink - 1 == 1
    assert stat.S_ISDIR(c.stat("/").st_mode)
    assert c.exists("/f.txt") and not c.exists("/missing")
    with pytest.raises(FileNotFoundError):
        c.stat("/missing")
    with pytest.raises(FileExistsError):
        c.open("/f.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL)

    # directories
    c.mkdir("/d", 0o750)
    c.write_file("/d/one", b"1")
    c.write_file("/d/two", b"22")
    assert sorted(c.listdir("/d")) == ["one", "two"]
    assert {n for n, *_ in c.scandir("/d")} == {".", "..", "one", "two"}
    types = {n: t for n, t, _ in c.scandir("/")}
    assert types["d"] == DT_DIR and types["f.txt"] == DT_REG
    assert sorted(os.listdir(b / "d")) == ["one", "two"]
    assert sorted(c.listdir("/")) == ["d", "f.txt"]
    with pytest.raises(OSError) as exc:
        c.rmdir("/d")
    assert exc.value.errno == errno.ENOTEMPTY

    # xattrs
    c.setxattr("/f.txt", "user.colour", b"blue")
    assert c.getxattr("/f.txt", "user.colour") == b"blue"
    assert os.getxattr(b / "f.txt", "user.colour") == b"blue"
    assert "user.colour" in c.listxattr("/f.txt")
    c.removexattr("/f.txt", "user.colour")
    with pytest.raises(OSError) as exc:
        c.getxattr("/f.txt", "user.colour")
    assert exc.value.errno == errno.ENODATA

    # rename / unlink / rmdir
    c.rename("/d/one", "/d/uno")
    assert sorted(c.listdir("/d")) == ["two", "uno"] and c.read_file("/d/uno") == b"1"
    c.unlink("/d/uno")
    c.unlink("/d/two")
    c.rmdir("/d")
    assert not (b / "d").exists() and not c.exists("/d")
    with pytest.raises(FileNotFoundError):
        c.unlink("/d/two")

    # access: the fop FUSE never sends down (root: R/W allowed, X needs an x bit)
    assert c.access("/f.txt", os.F_OK) and c.access("/f.txt", os.R_OK | os.W_OK)
    assert not c.access("/f.txt", os.X_OK)
    assert not c.access("/missing", os.F_OK)
    c.chmod("/f.txt", 0o750)
    assert c.access("/f.txt", os.X_OK)

    after = counters(c)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in sorted(set(after) | set(before))}
    print("\nfops at the brick's PassThrough:", json.dumps(delta, sort_keys=True))
    print("timings:", info.timings)
    wanted = {"access", "create", "open", "writev", "readv", "fsync", "ftruncate", "fstat",
              "lookup", "mkdir", "opendir", "rmdir", "setxattr", "getxattr", "removexattr",
              "rename", "unlink", "setattr"}
    missing = sorted(f for f in wanted if delta.get(f, 0) <= 0)
    assert not missing, f"fops that never reached the brick's Python translator: {missing}"
    assert delta["access"] >= 4  # "/missing" fails in the lookup: no access fop
    assert any(delta.get(f, 0) > 0 for f in ("readdir", "readdirp"))
    assert info.brick_alive()


def test_init_failure_names_the_volfile(tmp_path):
    from glupy.local import brick

    vol = tmp_path / "nobody.vol"
    vol.write_text(brick.client_graph(brick.free_port(), "nothing").render())
    with pytest.raises(gfapi.GfapiInitError) as exc:
        gfapi.Client.from_volfile(vol, log_file=tmp_path / "gfapi.log", connect_timeout=2)
    assert str(vol) in str(exc.value) and "glfs_init" in str(exc.value)
    assert exc.value.log_lines  # the gfapi log tail is attached


def test_missing_name_stat_latency(glupy_gfapi):
    """Benchmark aid: prints µs per gfapi stat of a missing name, plain brick vs a brick
    with a Python PassThrough. Nothing is asserted about the numbers."""
    plain, _ = glupy_gfapi([])
    py, _ = glupy_gfapi([PASS])
    n = 2000

    def stat_missing(c: gfapi.Client) -> None:
        c.stat("/no-such-name")

    results: dict[str, list[float]] = {"plain": [], "python": []}
    for _ in range(3):  # interleaved: the two bricks see the same machine load
        results["plain"].append(time_fop(lambda: stat_missing(plain), n))
        results["python"].append(time_fop(lambda: stat_missing(py), n))
    med = {k: sorted(v)[1] for k, v in results.items()}
    print(f"\ngfapi stat of a missing name, µs/op (median of 3 x {n}): plain brick "
          f"{med['plain']:.1f}, PassThrough on the brick {med['python']:.1f} "
          f"({med['python'] / med['plain']:.2f}x); runs {results}")
    lookups = counters(py).get("lookup", 0)
    print(f"lookups at the PassThrough: {lookups} for {3 * (n + 100)} stats")
    with pytest.raises(FileNotFoundError):
        plain.stat("/no-such-name")


def test_a_failed_fop_still_logs_its_error_at_debug_level(glupy_gfapi):
    """GlusterFS's debug line for a failed unwind ("<xlator> returned -1 error: <strerror>")
    is still written for the bridge's unwinds when the brick logs at DEBUG (the bridge
    formats strerror only when the message is logged)."""
    c, info = glupy_gfapi([PASS], debug=True)
    with pytest.raises(FileNotFoundError):
        c.stat("/no-such-name")
    name = next(v.name for v in info.brick_graph if v.type == volfile.bridge_type())
    # 10.x: "X returned -1 error: <strerror>"; 11.x logs errno: "X returned -1 [<strerror>]"
    needle = re.compile(re.escape(name) + r" returned -1 (error: No such file or directory"
                        r"|\[No such file or directory\])")
    text = info.brick_log_path.read_text(errors="replace")
    assert needle.search(text), (needle.pattern, text[-3000:])
