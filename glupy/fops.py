"""The fop table: every fop and cbk of GlusterFS 10.x and 11.x (the same in both) — the single source of truth.

Each line is copied from ``glusterfs/xlator.h`` (``python -m glupy._build.headers``
prints the same lines from the installed headers; ``tests/unit/test_fop_table.py``
fails if they disagree).  From this table are generated:

* the C shim of the bridge (entry, wind, callback and unwind functions per fop:
  ``glupy/_bridge/src/fops-tmpl.c`` expanded by ``glupy/_build/codegen.py``),
* the Python glue that converts arguments and replies (``glupy/runtime/driver.py``),
* the typed fop methods and reply classes (the generated regions of
  ``glupy/translator.py`` and ``glupy/replies.py``) and the fop reference
  (``docs/fops.md``), by ``glupy/_build/docgen.py``.

Adding a fop is one line below.

Format: ``SLOT name(C args) -> (C reply args)``: SLOT is the index of the fop in
``struct xlator_fops`` (== ``GF_FOP_*``); args exclude ``frame, this``; reply args
exclude ``frame, cookie, this, op_ret, op_errno``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FOP_TABLE = """
 0 stat(loc_t *loc, dict_t *xdata) -> (struct iatt *buf, dict_t *xdata)
 1 readlink(loc_t *loc, size_t size, dict_t *xdata) -> (const char *path, struct iatt *buf, dict_t *xdata)
 2 mknod(loc_t *loc, mode_t mode, dev_t rdev, mode_t umask, dict_t *xdata) -> (inode_t *inode, struct iatt *buf, struct iatt *preparent, struct iatt *postparent, dict_t *xdata)
 3 mkdir(loc_t *loc, mode_t mode, mode_t umask, dict_t *xdata) -> (inode_t *inode, struct iatt *buf, struct iatt *preparent, struct iatt *postparent, dict_t *xdata)
 4 unlink(loc_t *loc, int xflags, dict_t *xdata) -> (struct iatt *preparent, struct iatt *postparent, dict_t *xdata)
 5 rmdir(loc_t *loc, int xflags, dict_t *xdata) -> (struct iatt *preparent, struct iatt *postparent, dict_t *xdata)
 6 symlink(const char *linkname, loc_t *loc, mode_t umask, dict_t *xdata) -> (inode_t *inode, struct iatt *buf, struct iatt *preparent, struct iatt *postparent, dict_t *xdata)
 7 rename(loc_t *oldloc, loc_t *newloc, dict_t *xdata) -> (struct iatt *buf, struct iatt *preoldparent, struct iatt *postoldparent, struct iatt *prenewparent, struct iatt *postnewparent, dict_t *xdata)
 8 link(loc_t *oldloc, loc_t *newloc, dict_t *xdata) -> (inode_t *inode, struct iatt *buf, struct iatt *preparent, struct iatt *postparent, dict_t *xdata)
 9 truncate(loc_t *loc, off_t offset, dict_t *xdata) -> (struct iatt *prebuf, struct iatt *postbuf, dict_t *xdata)
10 open(loc_t *loc, int32_t flags, fd_t *fd, dict_t *xdata) -> (fd_t *fd, dict_t *xdata)
11 readv(fd_t *fd, size_t size, off_t offset, uint32_t flags, dict_t *xdata) -> (struct iovec *vector, int32_t count, struct iatt *stbuf, struct iobref *iobref, dict_t *xdata)
12 writev(fd_t *fd, struct iovec *vector, int32_t count, off_t offset, uint32_t flags, struct iobref *iobref, dict_t *xdata) -> (struct iatt *prebuf, struct iatt *postbuf, dict_t *xdata)
13 statfs(loc_t *loc, dict_t *xdata) -> (struct statvfs *buf, dict_t *xdata)
14 flush(fd_t *fd, dict_t *xdata) -> (dict_t *xdata)
15 fsync(fd_t *fd, int32_t datasync, dict_t *xdata) -> (struct iatt *prebuf, struct iatt *postbuf, dict_t *xdata)
16 setxattr(loc_t *loc, dict_t *dict, int32_t flags, dict_t *xdata) -> (dict_t *xdata)
17 getxattr(loc_t *loc, const char *name, dict_t *xdata) -> (dict_t *dict, dict_t *xdata)
18 removexattr(loc_t *loc, const char *name, dict_t *xdata) -> (dict_t *xdata)
19 opendir(loc_t *loc, fd_t *fd, dict_t *xdata) -> (fd_t *fd, dict_t *xdata)
20 fsyncdir(fd_t *fd, int32_t datasync, dict_t *xdata) -> (dict_t *xdata)
21 access(loc_t *loc, int32_t mask, dict_t *xdata) -> (dict_t *xdata)
22 create(loc_t *loc, int32_t flags, mode_t mode, mode_t umask, fd_t *fd, dict_t *xdata) -> (fd_t *fd, inode_t *inode, struct iatt *buf, struct iatt *preparent, struct iatt *postparent, dict_t *xdata)
23 ftruncate(fd_t *fd, off_t offset, dict_t *xdata) -> (struct iatt *prebuf, struct iatt *postbuf, dict_t *xdata)
24 fstat(fd_t *fd, dict_t *xdata) -> (struct iatt *buf, dict_t *xdata)
25 lk(fd_t *fd, int32_t cmd, struct gf_flock *flock, dict_t *xdata) -> (struct gf_flock *flock, dict_t *xdata)
26 lookup(loc_t *loc, dict_t *xdata) -> (inode_t *inode, struct iatt *buf, dict_t *xdata, struct iatt *postparent)
27 readdir(fd_t *fd, size_t size, off_t offset, dict_t *xdata) -> (gf_dirent_t *entries, dict_t *xdata)
28 inodelk(const char *volume, loc_t *loc, int32_t cmd, struct gf_flock *flock, dict_t *xdata) -> (dict_t *xdata)
29 finodelk(const char *volume, fd_t *fd, int32_t cmd, struct gf_flock *flock, dict_t *xdata) -> (dict_t *xdata)
30 entrylk(const char *volume, loc_t *loc, const char *basename, entrylk_cmd cmd, entrylk_type type, dict_t *xdata) -> (dict_t *xdata)
31 fentrylk(const char *volume, fd_t *fd, const char *basename, entrylk_cmd cmd, entrylk_type type, dict_t *xdata) -> (dict_t *xdata)
32 xattrop(loc_t *loc, gf_xattrop_flags_t optype, dict_t *xattr, dict_t *xdata) -> (dict_t *xattr, dict_t *xdata)
33 fxattrop(fd_t *fd, gf_xattrop_flags_t optype, dict_t *xattr, dict_t *xdata) -> (dict_t *xattr, dict_t *xdata)
34 fgetxattr(fd_t *fd, const char *name, dict_t *xdata) -> (dict_t *dict, dict_t *xdata)
35 fsetxattr(fd_t *fd, dict_t *dict, int32_t flags, dict_t *xdata) -> (dict_t *xdata)
36 rchecksum(fd_t *fd, off_t offset, int32_t len, dict_t *xdata) -> (uint32_t weak_checksum, uint8_t *strong_checksum, dict_t *xdata)
37 setattr(loc_t *loc, struct iatt *stbuf, int32_t valid, dict_t *xdata) -> (struct iatt *preop_stbuf, struct iatt *postop_stbuf, dict_t *xdata)
38 fsetattr(fd_t *fd, struct iatt *stbuf, int32_t valid, dict_t *xdata) -> (struct iatt *preop_stbuf, struct iatt *postop_stbuf, dict_t *xdata)
39 readdirp(fd_t *fd, size_t size, off_t offset, dict_t *xdata) -> (gf_dirent_t *entries, dict_t *xdata)
43 getspec(const char *key, int32_t flag) -> (char *spec_data)
44 fremovexattr(fd_t *fd, const char *name, dict_t *xdata) -> (dict_t *xdata)
45 fallocate(fd_t *fd, int32_t keep_size, off_t offset, size_t len, dict_t *xdata) -> (struct iatt *preop_stbuf, struct iatt *postop_stbuf, dict_t *xdata)
46 discard(fd_t *fd, off_t offset, size_t len, dict_t *xdata) -> (struct iatt *preop_stbuf, struct iatt *postop_stbuf, dict_t *xdata)
47 zerofill(fd_t *fd, off_t offset, off_t len, dict_t *xdata) -> (struct iatt *preop_stbuf, struct iatt *postop_stbuf, dict_t *xdata)
48 ipc(int32_t op, dict_t *xdata) -> (dict_t *xdata)
49 seek(fd_t *fd, off_t offset, gf_seek_what_t what, dict_t *xdata) -> (off_t offset, dict_t *xdata)
50 lease(loc_t *loc, struct gf_lease *lease, dict_t *xdata) -> (struct gf_lease *lease, dict_t *xdata)
51 compound(void *args, dict_t *xdata) -> (void *data, dict_t *xdata)
52 getactivelk(loc_t *loc, dict_t *xdata) -> (lock_migration_info_t *locklist, dict_t *xdata)
53 setactivelk(loc_t *loc, lock_migration_info_t *locklist, dict_t *xdata) -> (dict_t *xdata)
54 put(loc_t *loc, mode_t mode, mode_t umask, uint32_t flags, struct iovec *vector, int32_t count, off_t offset, struct iobref *iobref, dict_t *xattr, dict_t *xdata) -> (inode_t *inode, struct iatt *buf, struct iatt *preparent, struct iatt *postparent, dict_t *xdata)
55 icreate(loc_t *loc, mode_t mode, dict_t *xdata) -> (inode_t *inode, struct iatt *buf, dict_t *xdata)
56 namelink(loc_t *loc, dict_t *xdata) -> (struct iatt *prebuf, struct iatt *postbuf, dict_t *xdata)
57 copy_file_range(fd_t *fd_in, off64_t off_in, fd_t *fd_out, off64_t off_out, size_t len, uint32_t flags, dict_t *xdata) -> (struct iatt *stbuf, struct iatt *prebuf_dst, struct iatt *postbuf_dst, dict_t *xdata)
"""

# ``struct xlator_cbks``: name(C args without ``this``) -> C return type.
CBK_TABLE = """
forget(inode_t *inode) -> int32_t
release(fd_t *fd) -> int32_t
releasedir(fd_t *fd) -> int32_t
invalidate(inode_t *inode) -> int32_t
client_destroy(client_t *client) -> int32_t
client_disconnect(client_t *client) -> int32_t
ictxmerge(fd_t *fd, inode_t *inode, inode_t *linked_inode) -> void
ictxsize(inode_t *inode) -> size_t
fdctxsize(fd_t *fd) -> size_t
fdclose(fd_t *fd) -> void
fdclosedir(fd_t *fd) -> void
"""

# How a C type is seen from Python.  Anything not listed is an integer.
KINDS: dict[str, str] = {
    "loc_t *": "loc",
    "fd_t *": "fd",
    "inode_t *": "inode",
    "dict_t *": "dict",
    "struct iatt *": "iatt",
    "const char *": "str",
    "char *": "str",
    "struct iovec *": "vector",  # with the following count (and the fop's iobref)
    "struct iobref *": "iobref",
    "struct gf_flock *": "flock",
    "struct statvfs *": "statvfs",
    "gf_dirent_t *": "dirents",
    "struct gf_lease *": "lease",
    "void *": "opaque",
    "lock_migration_info_t *": "opaque",
    "uint8_t *": "opaque",
    "client_t *": "opaque",
}


@dataclass(frozen=True)
class Arg:
    ctype: str
    name: str

    @property
    def kind(self) -> str:
        return KINDS.get(self.ctype, "int")

    @property
    def decl(self) -> str:
        sep = "" if self.ctype.endswith("*") else " "
        return f"{self.ctype}{sep}{self.name}"


def _py_view(args: tuple[Arg, ...]) -> tuple[Arg, ...]:
    """The arguments as Python sees them: ``vector, count`` and ``iobref`` become one
    ``vector`` (a :class:`glupy.types.Vector` owns its iobref)."""
    return tuple(a for a in args if a.kind != "iobref" and not (a.name == "count" and a.kind == "int"))


@dataclass(frozen=True, slots=True)
class Fop:
    slot: int
    name: str
    args: tuple[Arg, ...]
    reply: tuple[Arg, ...]

    @property
    def py_args(self) -> tuple[Arg, ...]:
        return _py_view(self.args)

    @property
    def py_reply(self) -> tuple[Arg, ...]:
        return _py_view(self.reply)

    @property
    def reply_class(self) -> str:
        return "".join(p.capitalize() for p in self.name.split("_")) + "Reply"

    @property
    def has_vector(self) -> bool:
        return any(a.kind == "vector" for a in self.args)

    @property
    def flag_arg(self) -> Arg | None:
        """The argument glupy.Refuse's ``if_bits`` tests: open's and create's
        ``flags``, access's ``mask``, setattr's ``valid`` (the first integer argument of
        those names)."""
        return next((a for a in self.args if a.kind == "int" and a.name in ("flags", "mask", "valid")),
                    None)


@dataclass(frozen=True)
class Cbk:
    name: str
    args: tuple[Arg, ...]
    ret: str


_LINE = re.compile(r"^\s*(?:(?P<slot>\d+)\s+)?(?P<name>\w+)\((?P<args>.*?)\)\s*->\s*(?P<reply>.*)$")


def parse_params(text: str) -> tuple[Arg, ...]:
    out = []
    for part in text.split(","):
        part = " ".join(part.split())
        if not part:
            continue
        m = re.match(r"(?P<type>.*?[\s*])(?P<name>\w+)$", part)
        if not m:
            raise ValueError(f"bad parameter {part!r}")
        ctype = re.sub(r"\s*\*", " *", m.group("type").strip())
        out.append(Arg(ctype, m.group("name")))
    return tuple(out)


def _parse_fops(table: str) -> tuple[Fop, ...]:
    fops = []
    for line in table.strip().splitlines():
        m = _LINE.match(line)
        if not m or m.group("slot") is None:
            raise ValueError(f"bad fop table line {line!r}")
        reply = m.group("reply").strip()
        if not (reply.startswith("(") and reply.endswith(")")):
            raise ValueError(f"bad reply in {line!r}")
        fops.append(Fop(int(m.group("slot")), m.group("name"), parse_params(m.group("args")),
                        parse_params(reply[1:-1])))
    return tuple(fops)


def _parse_cbks(table: str) -> tuple[Cbk, ...]:
    cbks = []
    for line in table.strip().splitlines():
        m = _LINE.match(line)
        if not m:
            raise ValueError(f"bad cbk table line {line!r}")
        cbks.append(Cbk(m.group("name"), parse_params(m.group("args")), m.group("reply").strip()))
    return tuple(cbks)


FOPS: tuple[Fop, ...] = _parse_fops(FOP_TABLE)
CBKS: tuple[Cbk, ...] = _parse_cbks(CBK_TABLE)
FOPS_BY_NAME: dict[str, Fop] = {f.name: f for f in FOPS}
CBKS_BY_NAME: dict[str, Cbk] = {c.name: c for c in CBKS}
FOP_NAMES: frozenset[str] = frozenset(FOPS_BY_NAME)
# Python-implementable cbks (the rest are GlusterFS-internal sizing/merge hooks that
# glupy implements itself for its own contexts).
PY_CBKS: tuple[str, ...] = ("forget", "release", "releasedir", "invalidate",
                             "client_destroy", "client_disconnect", "ictxmerge",
                             "fdclose", "fdclosedir")
# The fops that make a name exist: fop -> (the argument naming it, the reply's iatt of
# its parent directory).  A MissCache forgets the name before them and the parent's
# names after them, in C (misscache.c).
NAME_CREATING: dict[str, tuple[str, str]] = {
    "mknod": ("loc", "postparent"), "mkdir": ("loc", "postparent"),
    "symlink": ("loc", "postparent"), "link": ("newloc", "postparent"),
    "rename": ("newloc", "postnewparent"), "create": ("loc", "postparent"),
    "put": ("loc", "postparent"), "namelink": ("loc", "postbuf"),
}
# The fops that make a new inode (their reply's ``inode``): its glupy.Mark marks are
# known, none set, in C (rules.c glupy_marks_created).
INODE_CREATING: tuple[str, ...] = ("create", "mknod", "mkdir", "symlink")
NUM_FOP_SLOTS = 58  # GF_FOP_MAXVALUE - 1 in 10.x and 11.x: 55 fops + forget/release/releasedir placeholders
