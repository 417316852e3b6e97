"""Generate the typed Python API and the fop reference from the fop table.

Regions between ``# BEGIN GENERATED <name>`` / ``# END GENERATED <name>`` in
glupy/replies.py and glupy/translator.py, and the whole of docs/fops.md, are
written from glupy/fops.py; glupy/_core.pyi from the built glupy._core (corestub.py):

    python -m glupy._build.docgen          # rewrite
    python -m glupy._build.docgen --check  # exit 1 if anything is stale (a test runs this)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from glupy._build import corestub
from glupy.fops import CBKS, FOPS, Arg, Fop

ROOT = Path(__file__).resolve().parents[2]
REPLIES = ROOT / "glupy" / "replies.py"
TRANSLATOR = ROOT / "glupy" / "translator.py"
FOPS_MD = ROOT / "docs" / "fops.md"
CORE_PYI = ROOT / "glupy" / "_core.pyi"

# Python type of each kind, as an argument the author receives / passes to a wind,
# and as a reply field.
ARG_TYPE = {
    "loc": "Loc", "fd": "Fd", "inode": "Inode", "dict": "Dict | None", "iatt": "Iatt",
    "str": "str | None", "vector": "Vector", "flock": "Flock", "statvfs": "StatVfs",
    "dirents": "Dirents", "lease": "Lease", "opaque": "Any", "int": "int",
}
WIND_TYPE = dict(ARG_TYPE, dict="Dict | Mapping[str, Any] | None", vector="Vector | bytes",
                 iatt="Iatt | None", str="str | None", lease="Lease | None", flock="Flock | None")
FIELD_TYPE = dict(ARG_TYPE, inode="Inode | None", iatt="Iatt | None", fd="Fd | None",
                  str="str | None", vector="Vector | bytes | None", flock="Flock | None",
                  statvfs="StatVfs | None", dirents="Dirents | list[Dirent] | None",
                  lease="Lease | None")


# What each fop argument carries (GlusterFS 10.x and 11.x: struct xlator_fops and
# these values are the same in both).  Per (fop, argument), then per argument name.
# "Verified" facts are checked by tests/bridge/test_argument_meanings.py on 10.3.
ARG_MEANING: dict[tuple[str, str], str] = {
    ("readv", "flags"): "the fd's open flags (`os.O_*`) as the kernel keeps them: `O_CREAT`/`O_EXCL`/"
                        "`O_TRUNC` cleared, `O_LARGEFILE` (0x8000) set; the same as `fd.flags` less those",
    ("writev", "flags"): "the fd's open flags as the kernel keeps them (e.g. 0x8001 for an fd opened "
                         "`O_CREAT\\|O_WRONLY`, whose `fd.flags` is 0x8041); `flags & os.O_APPEND` "
                         "(or `fd.is_append`) tells an append",
    ("writev", "offset"): "where to write; **with O_APPEND it can be stale**: the kernel sends its "
                          "cached size (100 while the file is 4950 bytes), and storage/posix writes at "
                          "the real end (Linux `pwrite` on an O_APPEND fd ignores the offset).  The "
                          "reply's `prebuf.size` / `postbuf.size` say where the data went",
    ("writev", "vector"): "the data; FUSE splits a write at `max_write` (128 KiB) and a write that starts "
                          "mid-page can arrive as two writevs split at the page boundary",
    ("readv", "size"): "bytes wanted (FUSE: up to 128 KiB per readv)",
    ("readv", "offset"): "file position",
    ("fallocate", "keep_size"): "the fallocate(2) **mode bitmask** as GlusterFS received it, not a "
                                "boolean (`glupy.FALLOC_FL_*`).  From FUSE (10.x and upstream 11.x) only "
                                "`FALLOC_FL_KEEP_SIZE` survives: `fallocate -z` (ZERO_RANGE, 0x10) arrives "
                                "as 0 and nothing is zeroed, `fallocate -p` (PUNCH_HOLE) arrives as "
                                "`discard`.  gfapi's `glfs_fallocate(fd, keep_size, ...)` passes its "
                                "argument unchanged, but storage/posix only asks `keep_size != 0` "
                                "(it never zeroes through fallocate).  Without KEEP_SIZE the file can "
                                "grow to offset+len",
    ("fallocate", "offset"): "start of the range", ("fallocate", "len"): "length of the range",
    ("discard", "offset"): "start of the hole to punch (fallocate PUNCH_HOLE; the size never changes)",
    ("discard", "len"): "length of the hole",
    ("zerofill", "offset"): "start of the range to zero (gfapi `glfs_zerofill`; FUSE never sends it)",
    ("zerofill", "len"): "length; the file can grow to offset+len",
    ("setattr", "valid"): "bitmask of the `stbuf` fields to apply: `glupy.SETATTR_MODE` (chmod), `_UID`/"
                          "`_GID` (chown), `_ATIME`/`_MTIME` (utimes; with `_ATIME_NOW`/`_MTIME_NOW` "
                          "for \"now\"), `_CTIME`, `_SIZE`.  FUSE sends size changes as truncate/"
                          "ftruncate, not `SETATTR_SIZE`",
    ("setattr", "stbuf"): "the new values; only the fields `valid` names mean anything",
    ("setxattr", "flags"): "`glupy.XATTR_CREATE` (1: fail with EEXIST if present), `glupy.XATTR_REPLACE` "
                           "(2: fail with ENODATA if absent) or 0",
    ("setxattr", "dict"): "the names and values to set (usually one)",
    ("lk", "cmd"): "the host's fcntl command: `glupy.F_GETLK`, `F_SETLK`, `F_SETLKW` (a blocking lock or "
                   "`lockf` unlock); lock recovery uses `F_RESLK_LCK`/`_LCKW`/`_UNLCK`, `F_GETLK_FD`",
    ("lk", "flock"): "the lock: `flock.type` is `glupy.F_RDLCK`/`F_WRLCK`/`F_UNLCK`, `start`, `len` "
                     "(0: to EOF), `pid`, `owner` (lk_owner bytes)",
    ("inodelk", "cmd"): "`glupy.F_GETLK`/`F_SETLK`/`F_SETLKW`, as for lk",
    ("inodelk", "flock"): "the range lock (`type` `F_RDLCK`/`F_WRLCK`/`F_UNLCK`)",
    ("inodelk", "volume"): "the lock domain: locks in different domains never conflict "
                           "(translators use their own name)",
    ("entrylk", "cmd"): "`glupy.ENTRYLK_LOCK`, `ENTRYLK_UNLOCK`, `ENTRYLK_LOCK_NB`",
    ("entrylk", "type"): "`glupy.ENTRYLK_RDLCK` or `ENTRYLK_WRLCK`",
    ("entrylk", "basename"): "the name in loc's directory to lock; None locks the whole directory",
    ("entrylk", "volume"): "the lock domain",
    ("xattrop", "optype"): "how each value of `xattr` combines with the stored one: "
                           "`glupy.GF_XATTROP_ADD_ARRAY` (32-bit big-endian adds), `_ADD_ARRAY64`, "
                           "`_OR_ARRAY`, `_AND_ARRAY`, `_GET_AND_SET`, `_ADD_ARRAY_WITH_DEFAULT`, "
                           "`_ADD_ARRAY64_WITH_DEFAULT`",
    ("xattrop", "xattr"): "names and values to combine (AFR's changelogs, quota's sizes)",
    ("seek", "what"): "`glupy.GF_SEEK_DATA` (0) or `GF_SEEK_HOLE` (1): not `os.SEEK_DATA`/`SEEK_HOLE`",
    ("seek", "offset"): "where to start looking",
    ("open", "flags"): "open(2) flags (`os.O_*`) as FUSE passes them: `O_LARGEFILE` set, no `O_CREAT`/"
                       "`O_EXCL` (a new file is `create`), no `O_TRUNC` (the kernel sends a `truncate` "
                       "to 0 after the open)",
    ("create", "flags"): "open(2) flags including `O_CREAT` (e.g. 0x8041: `O_LARGEFILE\\|O_CREAT\\|"
                         "O_WRONLY`)",
    ("create", "mode"): "file type and permission bits (`0o100644`): FUSE applied the umask already",
    ("mknod", "mode"): "file type (`stat.S_IFIFO`, `S_IFCHR` ...) and permission bits",
    ("mknod", "rdev"): "device number for character/block devices (`os.makedev`)",
    ("mkdir", "mode"): "permission bits (with `S_IFDIR`)",
    ("symlink", "linkname"): "the link's target text (not resolved)",
    ("symlink", "loc"): "the new link", ("link", "newloc"): "the new name",
    ("link", "oldloc"): "the existing file",
    ("rename", "oldloc"): "the source", ("rename", "newloc"): "the destination (may exist: it is replaced)",
    ("unlink", "xflags"): "GlusterFS-internal flags; 0 from FUSE and gfapi",
    ("rmdir", "xflags"): "non-zero asks storage/posix to remove a non-empty directory (GlusterFS's own "
                         "translators); 0 from FUSE and gfapi",
    ("truncate", "offset"): "the new size", ("ftruncate", "offset"): "the new size",
    ("fsync", "datasync"): "non-zero: fdatasync (data only)", ("fsyncdir", "datasync"): "non-zero: data only",
    ("access", "mask"): "`os.F_OK` or `R_OK\\|W_OK\\|X_OK` bits (FUSE only sends it with "
                        "`default_permissions` off; gfapi always)",
    ("getxattr", "name"): "the name wanted; None or empty: list every name",
    ("fgetxattr", "name"): "the name wanted; None or empty: list every name",
    ("removexattr", "name"): "the name to remove", ("fremovexattr", "name"): "the name to remove",
    ("readdir", "size"): "the most bytes of entries wanted", ("readdirp", "size"): "the most bytes of entries wanted",
    ("readdir", "offset"): "0, or the `d_off` of the last entry already returned",
    ("readdirp", "offset"): "0, or the `d_off` of the last entry already returned",
    ("rchecksum", "offset"): "start of the range", ("rchecksum", "len"): "length of the range",
    ("readlink", "size"): "the most bytes of target wanted",
    ("getspec", "key"): "the volfile id asked for (glusterd's management fop)",
    ("getspec", "flag"): "request flags", ("ipc", "op"): "a translator-defined operation code",
    ("lease", "lease"): "`cmd` (GF_GET/SET/UNLK_LEASE: 1/2/3), `lease_type` (GF_RD_LEASE 1, GF_RW_LEASE 2), "
                        "`lease_id`",
    ("compound", "args"): "opaque (compound fops are unused in 10.x/11.x)",
    ("setactivelk", "locklist"): "opaque lock-migration list (rebalance)",
    ("put", "flags"): "open(2) flags of the file put creates", ("put", "xattr"): "xattrs to set on it",
    ("put", "offset"): "where the data goes", ("put", "mode"): "type and permission bits",
    ("icreate", "mode"): "type and permission bits (not implemented by storage/posix in 10.3)",
    ("copy_file_range", "fd_in"): "the source file", ("copy_file_range", "off_in"): "source offset",
    ("copy_file_range", "fd_out"): "the destination file",
    ("copy_file_range", "off_out"): "destination offset (the destination can grow to off_out+len)",
    ("copy_file_range", "len"): "bytes to copy", ("copy_file_range", "flags"): "copy_file_range(2) flags (0)",
}
ARG_MEANING_BY_NAME: dict[str, str] = {
    "xdata": "GlusterFS-internal request keys (a dict, often None): pass it on unchanged",
    "loc": "the file or directory: `loc.path`, `loc.name`, `loc.parent`/`pargfid`, `loc.inode` "
           "(its gfid is zero before the first lookup)",
    "fd": "the open file or directory: `fd.inode`, `fd.flags`, `fd.is_append`, `fd.ctx`",
    "umask": "the caller's umask when the kernel did not apply it (FUSE applies it: 0)",
    "vector": "the data (one `Vector`: `bytes(vector)`, `len(vector)`)",
    "count": "part of `vector`", "iobref": "part of `vector`",
    "volume": "the lock domain", "basename": "the name in loc's directory to lock; None: the directory",
    "oldloc": "the existing entry", "newloc": "the new entry", "datasync": "non-zero: data only",
}


def arg_meaning(fop: str, name: str) -> str:
    """What argument ``name`` of ``fop`` carries (docs/fops.md)."""
    if (fop, name) in ARG_MEANING:
        return ARG_MEANING[(fop, name)]
    # the fd-based twin of a loc-based fop means the same
    twin = {"fsetattr": "setattr", "fsetxattr": "setxattr", "finodelk": "inodelk",
            "fentrylk": "entrylk", "fxattrop": "xattrop"}.get(fop)
    if twin is not None and (twin, name) in ARG_MEANING:
        return ARG_MEANING[(twin, name)]
    return ARG_MEANING_BY_NAME.get(name, "")


def _params(args: tuple[Arg, ...], types: dict[str, str], xdata_default: bool) -> str:
    out = []
    for a in args:
        t = types[a.kind]
        default = " = None" if xdata_default and a.name == "xdata" else ""
        out.append(f"{a.name}: {t}{default}")
    return ", ".join(out)


def replies_region() -> str:
    out = []
    for f in FOPS:
        fields = [a for a in f.py_reply]
        names = tuple(a.name for a in fields)
        out.append(f"class {f.reply_class}(Reply):")
        out.append(f'    """Reply of ``{f.name}``: {", ".join(names) or "no fields"}."""\n')
        out.append("    __slots__ = ()")
        out.append(f"    fields = {names!r}")
        out.append(f"    fop = FOPS_BY_NAME[{f.name!r}]")
        for i, a in enumerate(fields):
            out.append(f"    {a.name}: _Field[{FIELD_TYPE[a.kind]}] = "
                       f"_Field({i}, {a.name!r}, {a.kind!r}, {_cidx(f, a)!r})")
        if any(a.name == "buf" and a.kind == "iatt" for a in fields):
            out.append("\n    @property")
            out.append("    def iatt(self) -> Iatt | None:")
            out.append('        """Alias of ``buf``."""')
            out.append("        return self.buf")
        out.append("\n")
    out.append("REPLY_CLASSES: dict[str, type[Reply]] = {")
    for f in FOPS:
        out.append(f"    {f.name!r}: {f.reply_class},")
    out.append("}")
    names = ["REPLY_CLASSES", *sorted(["Reply", *(f.reply_class for f in FOPS)])]  # ruff RUF022 order
    out.append("__all__ = [")
    out += [f'    "{n}",' for n in names]
    out.append("]\n")
    return "\n".join(out).replace("\n\n\n\nREPLY", "\n\nREPLY")


def _cidx(f: Fop, a: Arg) -> tuple[int, ...]:
    """Indices of the C callback arguments behind Python reply field ``a``."""
    names = [r.name for r in f.reply]
    if a.kind == "vector":
        return (names.index(a.name), names.index("count"), names.index("iobref"))
    return (names.index(a.name),)


def child_region() -> str:
    out = []
    for f in FOPS:
        names = [a.name for a in f.py_args]
        tup = f"({', '.join(names)}{',' if len(names) == 1 else ''})"
        out.append(f"    def {f.name}(self, {_params(f.py_args, WIND_TYPE, True)}) -> Wind[{f.reply_class}]:")
        out.append(f'        """Wind ``{f.name}`` to this child; await the {f.reply_class}."""')
        # _make_wind (glupy._core): no __init__ frame; this runs for every wind
        out.append(f"        return _make_wind(self, FOPS_BY_NAME[{f.name!r}], {tup})\n")
    return "\n".join(out).rstrip() + "\n"


def fop_methods_region() -> str:
    out = ["class FopMethods:",
           '    """The signatures of every fop a Translator may define (for type checkers and',
           '    editors only: a Translator handles just the fops its class defines)."""\n']
    for f in FOPS:
        # a reply, or the child's call handed off (``return self.child.<fop>(...)``)
        out.append(f"    async def {f.name}(self, {_params(f.py_args, ARG_TYPE, False)}) "
                   f"-> {f.reply_class} | Wind[{f.reply_class}]:")
        out.append("        ...\n")
    # the region sits inside ``if TYPE_CHECKING:``
    return "\n".join(("    " + line) if line else "" for line in "\n".join(out).rstrip().split("\n")) + "\n"


def fops_md() -> str:
    out = ["# Fop reference",
           "",
           "Generated from `glupy/fops.py` (the fop table) by `python -m glupy._build.docgen`;",
           "do not edit.  Every fop of GlusterFS 10.3 (`struct xlator_fops`), as a translator",
           "defines it (`async def`), as it winds it to a child (`await self.child.<fop>(...)`)",
           "and the reply it returns (or the fop handed off to a child:",
           "`return self.child.<fop>(...)` without `await`, and the child's reply goes to the",
           "parent without Python).  `vector, count, iobref` are one `Vector` in Python",
           "(return or wind `bytes` for new data).  Views are valid during the fop: copy",
           "what you keep.",
           "",
           "Each fop's table says what every argument carries.  The fop table, the",
           "argument meanings and the constants (`glupy.FALLOC_FL_*`, `glupy.SETATTR_*`,",
           "`glupy.XATTR_*`, `glupy.F_*` lock commands, `glupy.ENTRYLK_*`, `glupy.GF_SEEK_*`,",
           "`glupy.GF_XATTROP_*`; compared with the 10.3 and 11.1 headers by",
           "tests/unit/test_constants.py) are the same in GlusterFS 10.x and 11.x.  What",
           "FUSE actually sends is checked on 10.3 by tests/bridge/test_argument_meanings.py.",
           "",
           "Worth knowing before writing a translator that counts bytes (a quota, a size",
           "limit):",
           "",
           "* **Appends.** `writev`'s `flags` are the fd's open flags: `fd.is_append` (or",
           "  `flags & os.O_APPEND`) tells an append.  Its `offset` is then the kernel's idea",
           "  of the size, which can be stale (another client, another fd, a brick-side",
           "  change); storage/posix writes at the real end whatever the offset.  Where the",
           "  data went is in the reply: `postbuf.size - len(vector)`.",
           "* **fallocate's `keep_size` is the mode bitmask**, not a boolean; test",
           "  `keep_size & glupy.FALLOC_FL_KEEP_SIZE`.  From FUSE only that bit survives",
           "  (`fallocate -z` arrives as 0 and zeroes nothing: a GlusterFS 10.x FUSE bridge",
           "  limitation), punch-hole arrives as `discard`; gfapi passes the whole mode, which",
           "  storage/posix again reads as KEEP_SIZE or not (zeroing is the `zerofill` fop).",
           "  Size can change through writev, truncate, ftruncate, fallocate (no KEEP_SIZE),",
           "  zerofill, copy_file_range (destination), put and setattr with `SETATTR_SIZE`.",
           "* **FUSE splits writes** at 128 KiB and a write that starts mid-page at the page",
           "  boundary: one `write(2)` can be several writevs.",
           "* **A file's current size.**  GlusterFS keeps no size on the inode for",
           "  translators: each reply that changes or reads a file carries it (`lookup` /",
           "  `stat` / `fstat` `buf`, `writev` / `truncate` / `ftruncate` `prebuf` and",
           "  `postbuf`, fallocate/discard/zerofill `preop_stbuf` / `postop_stbuf`,",
           "  `create` `buf`, readv `stbuf`).  To know it cheaply, keep the last one you saw",
           "  in `inode.ctx` (a copy: `reply.postbuf.size` is an int) and update it from every",
           "  reply that carries one; it is exact for changes made through this translator",
           "  and stale for anything else (other clients, other bricks, the backend).  When",
           "  it must be exact (enforcing a limit), ask: `(await self.child.fstat(fd,",
           "  None)).buf.size` costs one fop (a few µs on a brick, a network round trip on",
           "  a client); hold a `glupy.Lock` per inode around the fstat and the write so two",
           "  writes cannot both pass the check, and prefer checking on the brick side,",
           "  where posix is local.",
           "",
           "| fop | slot | Python arguments | reply fields (besides `op_ret`) |",
           "|---|---|---|---|"]
    for f in FOPS:
        args = ", ".join(f"`{a.name}`" for a in f.py_args)
        reply = ", ".join(f"`{a.name}`" for a in f.py_reply) or "—"
        out.append(f"| [{f.name}](#{f.name}) | {f.slot} | {args} | {reply} |")
    for f in FOPS:
        out += ["", f"## {f.name}", "",
                "```python",
                f"async def {f.name}(self, {_params(f.py_args, ARG_TYPE, False)}) -> {f.reply_class}",
                "```", "",
                f"C: `fop_{f.name}_t(call_frame_t *frame, xlator_t *this, "
                f"{', '.join(a.decl for a in f.args)})`  ",
                f"reply: `fop_{f.name}_cbk_t(..., int32_t op_ret, int32_t op_errno, "
                f"{', '.join(a.decl for a in f.reply)})`", "",
                "| argument | Python type | C type | carries |", "|---|---|---|---|"]
        for a in f.args:
            out.append(f"| `{a.name}` | {_py(a, f, ARG_TYPE)} | `{a.ctype}` | "
                       f"{arg_meaning(f.name, a.name)} |")
        out += ["", f"`{f.reply_class}` fields:", "",
                "| field | Python type | C type |", "|---|---|---|",
                "| `op_ret` | int | `int32_t` |"]
        for a in f.reply:
            out.append(f"| `{a.name}` | {_py(a, f, FIELD_TYPE)} | `{a.ctype}` |")
    out += ["", "## Callbacks (cbks)", "",
            "Plain `def` methods (they cannot wind).  `forget`, `release` and `releasedir`",
            "are called for inodes/fds that carry this translator's `ctx`; glupy drops the",
            "context afterwards.", "",
            "| cbk | arguments | C return |", "|---|---|---|"]
    for c in CBKS:
        out.append(f"| `{c.name}` | {', '.join(f'`{a.name}`' for a in c.args)} | `{c.ret}` |")
    return "\n".join(out) + "\n"


def _py(a: Arg, f: Fop, types: dict[str, str]) -> str:
    if a.kind == "iobref" or (a.name == "count" and a.kind == "int" and f.has_vector or
                              a.name == "count" and any(r.kind == "vector" for r in f.reply)):
        return "(part of `vector`)"
    return types[a.kind].replace("|", "\\|")


def _replace(text: str, name: str, body: str) -> str:
    pat = re.compile(rf"(# BEGIN GENERATED {name}[^\n]*\n)(.*?)(^[ \t]*# END GENERATED {name})",
                     re.S | re.M)
    if not pat.search(text):
        raise SystemExit(f"region {name} not found")
    return pat.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(3), text, count=1)


def outputs() -> dict[Path, str]:
    replies = _replace(REPLIES.read_text(), "replies", replies_region())
    translator = TRANSLATOR.read_text()
    translator = _replace(translator, "child", child_region())
    translator = _replace(translator, "fop-methods", fop_methods_region())
    return {REPLIES: replies, TRANSLATOR: translator, FOPS_MD: fops_md(),
            CORE_PYI: corestub.render()}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m glupy._build.docgen")
    parser.add_argument("--check", action="store_true", help="fail if generated files are stale")
    args = parser.parse_args()
    stale = []
    for path, text in outputs().items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    if args.check and stale:
        print("stale generated files:", *map(str, stale))
        return 1
    for p in stale:
        print("wrote", p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
