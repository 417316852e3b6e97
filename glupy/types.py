"""Typed views of GlusterFS's structures: Loc, Iatt, Inode, Fd, Dict, Vector, ...

A view wraps a C pointer and reads fields on access (no copy).  Views of the
fop's own arguments are valid until the fop unwinds; views of a child's reply
are made durable by the runtime (structs copied, refs taken) whenever the
coroutine keeps them across another wind.  Anything kept *beyond* the fop
(caches, contexts) should be copied into Python values (``iatt.copy()``,
``inode.gfid``, ``bytes(vector)``).
"""

from __future__ import annotations

import enum
import os
import stat as _stat
import threading
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from glupy import _core

# GLUPY_CORE_ABI of glupy/_bridge/src/core.h (tests/unit/test_core_types.py compares).
# glupy._core is built in place from a source checkout: one left by an older tree lacks
# what this source needs, and failing here says so instead of a missing attribute later.
CORE_ABI = 11
if getattr(_core, "ABI", None) != CORE_ABI:
    raise ImportError(f"glupy._core ({_core.__file__}) was built from another glupy source "
                      f"(ABI {getattr(_core, 'ABI', 'unknown')}, this one needs {CORE_ABI}): "
                      "rebuild it with `pip install -e .` (or `python setup.py build_ext "
                      "--inplace`), then `python -m glupy._build`")

# Set by glupy.runtime.driver.attach() inside a glusterfs process.
_ffi: Any = None
_lib: Any = None
_laid_out_by: Any = None  # the ffi the views' CFields were laid out from


def _bind(ffi: Any, lib: Any) -> None:
    global _ffi, _lib
    _ffi, _lib = ffi, lib
    _lay_out_fields(ffi)


def _cdata_address(p: Any) -> int:
    return int(_laid_out_by.cast("uintptr_t", p))


_core._set_cdata_address(_cdata_address)


_standalone: tuple[Any, Any] | None = None


def c_tables() -> tuple[Any, Any]:
    """(ffi, lib) with the bridge's C tables (MissCache, AttrCache): the running
    bridge's inside glusterfs; outside it (glupy check, unit tests) the built bridge
    loaded into this process as an extension module, so the same C serves there."""
    global _standalone
    if _lib is not None:
        return _ffi, _lib
    if _standalone is None:
        import importlib.util
        from importlib.machinery import ExtensionFileLoader

        from glupy._build import bridge_path

        path = bridge_path()
        if not path.exists():
            raise RuntimeError(f"the glupy bridge is not built ({path}): python -m glupy._build")
        loader = ExtensionFileLoader("_glupy_bridge", str(path))
        spec = importlib.util.spec_from_file_location("_glupy_bridge", path, loader=loader)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        _standalone = (module.ffi, module.lib)
        _lay_out_fields(module.ffi)
    return _standalone


class CTable:
    """A table the bridge keeps in C (MissCache, AttrCache): made by ``new(max_entries,
    timeout)``, freed by ``unref`` once Python and the bridge both let go."""

    #: True inside GlusterFS: the bridge's entries answer from it before Python runs
    answered_in_c: bool

    def __init__(self, new: str, unref: str, max_entries: int, timeout: float) -> None:
        if max_entries < 0 or timeout < 0:
            raise ValueError("max_entries and timeout must be >= 0")
        ffi, lib = c_tables()
        self.answered_in_c = _lib is not None
        p = getattr(lib, new)(max_entries, timeout)
        if p == ffi.NULL:
            raise MemoryError(new)
        self._p = ffi.gc(p, getattr(lib, unref))
        self._ffi, self._lib = ffi, lib


NULL_GFID = bytes(16)


def gfid_str(gfid: bytes) -> str:
    """The canonical text form of a gfid (as in .glusterfs paths and logs)."""
    h = gfid.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class IaType(enum.IntEnum):
    INVAL = 0
    REG = 1
    DIR = 2
    LNK = 3
    BLK = 4
    CHR = 5
    FIFO = 6
    SOCK = 7


_IA_TYPES = tuple(IaType)  # by value: IaType(v) costs an enum lookup on every iatt read


def _ia_type(value: int) -> IaType:
    return _IA_TYPES[value] if 0 <= value < len(_IA_TYPES) else IaType(value)


_IFMT = {
    IaType.REG: _stat.S_IFREG, IaType.DIR: _stat.S_IFDIR, IaType.LNK: _stat.S_IFLNK,
    IaType.BLK: _stat.S_IFBLK, IaType.CHR: _stat.S_IFCHR, IaType.FIFO: _stat.S_IFIFO,
    IaType.SOCK: _stat.S_IFSOCK,
}
_IA_OF_IFMT = {v: k for k, v in _IFMT.items()}


class Event(enum.IntEnum):
    """``glusterfs_event_t``: what notify() receives."""

    PARENT_UP = 1
    POLLIN = 2
    POLLOUT = 3
    POLLERR = 4
    CHILD_UP = 5
    CHILD_DOWN = 6
    CHILD_CONNECTING = 7
    CLEANUP = 9
    TRANSPORT_CONNECTED = 10
    VOLFILE_MODIFIED = 11
    GRAPH_NEW = 12
    TRANSLATOR_INFO = 13
    TRANSLATOR_OP = 14
    AUTH_FAILED = 15
    VOLUME_DEFRAG = 16
    PARENT_DOWN = 17
    VOLUME_BARRIER_OP = 18
    UPCALL = 19
    SCRUB_STATUS = 20
    SOME_DESCENDENT_DOWN = 21
    SCRUB_ONDEMAND = 22
    SOME_DESCENDENT_UP = 23
    CHILD_PING = 24


# Views: their storage is glupy._core's (View: ``_p``, the cdata pointer, and
# ``_keep``, a Python object that keeps it alive; InstanceView adds ``_inst``); the
# classes below add the behaviour.  Equality and hashing go by the pointer; ``_detach``
# (in the bridge, per kind) takes the reference or copy a view keeps past its call.


def _int_field(name: str, doc: str) -> _core.CField[int]:
    """An integer field of the view's struct, read and written in C (glupy._core.CField;
    _lay_out_fields gives each its offset and size from cffi's layout)."""
    return _core.CField(name, doc)


def _type_field(name: str) -> _core.CField[IaType]:
    """An ia_type_t field, read as IaType."""
    return _core.CField(name, "IaType", _IA_TYPES)


def _str_field(name: str, doc: str) -> _core.CField[str | None]:
    """A char * field: str (surrogateescape), None for NULL; read-only."""
    return _core.CField(name, doc)


def _bytes_field(name: str, doc: str) -> _core.CField[bytes]:
    """A byte array field (a GFID), set whole."""
    return _core.CField(name, doc)


def _lay_out_fields(ffi: Any) -> None:
    """Give every CField of the views its place in the struct, from ``ffi``'s layout."""
    global _laid_out_by
    _laid_out_by = ffi
    for cls in (Iatt, Inode, Fd, Loc, Flock, StatVfs, Lease):
        fields = dict(ffi.typeof(cls._struct).fields)
        for attr in vars(cls).values():
            if not isinstance(attr, _core.CField):
                continue
            field = fields[attr.name]
            ct = field.type
            if ct.kind == "pointer":
                if ct.item.cname not in ("char", "const char"):
                    raise TypeError(f"{cls.__name__}.{attr.name}: not a char *")
                kind = "str"
            elif ct.kind == "array":
                kind = "bytes"
            else:
                kind = "int" if int(ffi.cast(ct, -1)) < 0 else "uint"
            attr._lay_out(field.offset, kind, ffi.sizeof(ct))


def _time_field(name: str) -> property:
    def get(self: _core.View) -> float:
        p = self._p
        return float(getattr(p, name) + getattr(p, name + "_nsec") / 1e9)

    def set(self: _core.View, value: float) -> None:
        sec = int(value // 1)
        setattr(self._p, name, sec)
        setattr(self._p, name + "_nsec", round((value - sec) * 1e9) % 1_000_000_000)

    return property(get, set, doc=f"{name[3:]} in seconds (float)")


def _ns_field(name: str) -> property:
    def get(self: _core.View) -> int:
        p = self._p
        return int(getattr(p, name) * 1_000_000_000 + getattr(p, name + "_nsec"))

    def set(self: _core.View, value: int) -> None:
        setattr(self._p, name, value // 1_000_000_000)
        setattr(self._p, name + "_nsec", value % 1_000_000_000)

    return property(get, set, doc=f"{name[3:]} in nanoseconds (int)")


class Iatt(_core.View):
    """``struct iatt``: GlusterFS's stat buffer."""

    __slots__ = ()
    _struct = "struct iatt"

    def __init__(self, p: Any = None) -> None:
        self._p = _ffi.new("struct iatt *") if p is None else p
        self._keep = None

    flags = _int_field("ia_flags", "ia_flags")
    ino = _int_field("ia_ino", "inode number")
    dev = _int_field("ia_dev", "backing device")
    rdev = _int_field("ia_rdev", "device id of special files")
    size = _int_field("ia_size", "size in bytes")
    nlink = _int_field("ia_nlink", "link count")
    uid = _int_field("ia_uid", "owner uid")
    gid = _int_field("ia_gid", "owner gid")
    blksize = _int_field("ia_blksize", "preferred I/O size")
    blocks = _int_field("ia_blocks", "512-byte blocks allocated")
    attributes = _int_field("ia_attributes", "chattr attributes")
    attributes_mask = _int_field("ia_attributes_mask", "mask of valid attributes")
    atime = _time_field("ia_atime")
    mtime = _time_field("ia_mtime")
    ctime = _time_field("ia_ctime")
    btime = _time_field("ia_btime")
    atime_ns = _ns_field("ia_atime")
    mtime_ns = _ns_field("ia_mtime")
    ctime_ns = _ns_field("ia_ctime")
    btime_ns = _ns_field("ia_btime")

    gfid = _bytes_field("ia_gfid", "the GFID (16 bytes)")
    type = _type_field("ia_type")

    @property
    def mode(self) -> int:
        """st_mode: file type bits and permission bits."""
        pr = self._p.ia_prot
        bits = ((pr.suid << 11) | (pr.sgid << 10) | (pr.sticky << 9)
                | (pr.owner.read << 8) | (pr.owner.write << 7) | (pr.owner.exec << 6)
                | (pr.group.read << 5) | (pr.group.write << 4) | (pr.group.exec << 3)
                | (pr.other.read << 2) | (pr.other.write << 1) | pr.other.exec)
        return int(_IFMT.get(_ia_type(self._p.ia_type), 0) | bits)

    @mode.setter
    def mode(self, value: int) -> None:
        pr = self._p.ia_prot
        pr.suid, pr.sgid, pr.sticky = (value >> 11) & 1, (value >> 10) & 1, (value >> 9) & 1
        pr.owner.read, pr.owner.write, pr.owner.exec = (value >> 8) & 1, (value >> 7) & 1, (value >> 6) & 1
        pr.group.read, pr.group.write, pr.group.exec = (value >> 5) & 1, (value >> 4) & 1, (value >> 3) & 1
        pr.other.read, pr.other.write, pr.other.exec = (value >> 2) & 1, (value >> 1) & 1, value & 1
        fmt = _stat.S_IFMT(value)
        if fmt:
            self._p.ia_type = _IA_OF_IFMT.get(fmt, IaType.INVAL)

    def is_dir(self) -> bool:
        return self.type == IaType.DIR

    def is_reg(self) -> bool:
        return self.type == IaType.REG

    def copy(self) -> Iatt:
        """An independent copy owned by Python."""
        return Iatt(_ffi.new("struct iatt *", self._p[0]))

    def __repr__(self) -> str:
        return (f"Iatt(gfid={gfid_str(self.gfid)}, type={self.type.name}, mode={self.mode:o}, "
                f"size={self.size}, nlink={self.nlink}, uid={self.uid}, gid={self.gid})")


class _Ctx:
    """Per-translator context storage for inodes/fds, keyed by the C address (a view's
    ``_addr``; Inode.ctx and Fd.ctx read ``values`` directly).
    GlusterFS calls the translator's forget/release for pointers that carry our
    marker, and the runtime drops the entry then.  Setting holds ``lock``: the value
    and the C marker change together (the marker calls let the GIL go, and a
    free-threaded build has none), so a value never outlives its marker."""

    __slots__ = ("lock", "mark", "unmark", "values")

    def __init__(self, mark: Any, unmark: Any) -> None:
        self.values: dict[Any, Any] = {}
        self.mark = mark
        self.unmark = unmark
        self.lock = threading.Lock()

    def set(self, p: Any, xl: Any, value: Any) -> None:
        key = _cdata_address(p)
        with self.lock:
            if value is None:
                if self.values.pop(key, None) is not None:
                    self.unmark(p, xl)
                return
            if key not in self.values:
                self.mark(p, xl)
            self.values[key] = value

    def drop(self, p: Any) -> None:
        """GlusterFS forgot the inode / released the fd."""
        self.values.pop(_cdata_address(p), None)


class Inode(_core.InstanceView):
    """``inode_t``: a file or directory known to this process."""

    __slots__ = ()
    _struct = "inode_t"
    gfid = _bytes_field("gfid", "the GFID (16 bytes)")
    type = _type_field("ia_type")

    def find(self, gfid: bytes) -> Inode | None:
        """The inode of ``gfid`` in this inode's table (inode_find), or None if the
        table does not hold it."""
        p = _lib.inode_find(self._p.table, _ffi.new("unsigned char[16]", gfid))
        if p == _ffi.NULL:
            return None
        found = Inode(_ffi.gc(p, _lib.inode_unref), self._inst)
        return found

    def child(self, name: str) -> Inode | None:
        """The inode of entry ``name`` of this directory as this process's inode table
        holds it (inode_grep: the dentry GlusterFS linked when the entry was last looked
        up or made here), or None if the table has no such dentry."""
        p = _lib.inode_grep(self._p.table, self._p, name.encode("utf-8", "surrogateescape"))
        if p == _ffi.NULL:
            return None
        return Inode(_ffi.gc(p, _lib.inode_unref), self._inst)

    @property
    def ctx(self) -> Any:
        """This translator's context object for the inode (None if unset);
        dropped when GlusterFS forgets the inode."""
        return self._inst.inode_ctx.values.get(self._addr)

    @ctx.setter
    def ctx(self, value: Any) -> None:
        self._inst.inode_ctx.set(self._p, self._inst.xl, value)

    def path(self, name: str | None = None) -> str | None:
        """The inode's path as this process knows it (inode_path), or None when it has
        none (never looked up by name here, or deleted while still open: GlusterFS
        then makes up ``<gfid:...>``, which is not a path)."""
        buf = _ffi.new("char **")
        n = _lib.inode_path(self._p, name.encode() if name else _ffi.NULL, buf)
        if n < 0 or buf[0] == _ffi.NULL:
            return None
        try:
            path = str(_ffi.string(buf[0]).decode("utf-8", "surrogateescape"))
        finally:
            _lib.glupy_free(buf[0])
        return None if path.startswith("<gfid:") else path

    def __repr__(self) -> str:
        return f"Inode(gfid={gfid_str(self.gfid)}, type={self.type.name})"


class Fd(_core.InstanceView):
    """``fd_t``: an open file or directory."""

    __slots__ = ()
    _struct = "fd_t"

    @classmethod
    def open_anonymous(cls, inode: Inode, flags: int = 0) -> Fd:
        """An anonymous fd on ``inode`` (fd_anonymous), for fd-based fops a
        translator issues itself; unreffed when the Python object goes away.
        ``flags``: ``os.O_DIRECT`` gives the inode's anonymous fd that storage/posix
        opens O_DIRECT (fd_anonymous_with_flags; other flags are ignored)."""
        p = (_lib.fd_anonymous_with_flags(inode._p, _lib.GF_ANON_FD_FLAGS | flags) if flags
             else _lib.fd_anonymous(inode._p))  # flags as fd.c compares them: one fd per inode
        if p == _ffi.NULL:
            raise MemoryError("fd_anonymous")
        fd = cls(p, inode._inst)
        fd._keep = _ffi.gc(p, _lib.fd_unref)
        return fd

    @property
    def inode(self) -> Inode | None:
        p = self._p.inode
        return None if p == _ffi.NULL else Inode(p, self._inst)

    flags = _int_field("flags", "The flags the file was opened with (``os.O_*``; what "
                       "readv/writev also carry in their ``flags``).")

    @property
    def is_append(self) -> bool:
        """Opened with O_APPEND: storage/posix writes at the real end of file,
        whatever ``offset`` a writev carries (see docs/fops.md, writev)."""
        return bool(self._p.flags & os.O_APPEND)

    @property
    def pid(self) -> int:
        return int(self._p.pid)

    @property
    def anonymous(self) -> bool:
        return bool(self._p.anonymous)

    @property
    def ctx(self) -> Any:
        """This translator's context object for the fd; dropped on release."""
        return self._inst.fd_ctx.values.get(self._addr)

    @ctx.setter
    def ctx(self, value: Any) -> None:
        self._inst.fd_ctx.set(self._p, self._inst.xl, value)

    def __repr__(self) -> str:
        return f"Fd(flags={self.flags:#o}, inode={self.inode!r})"


class Caller(_core.View):
    """The process that issued a fop (``frame->root``): uid, gid, pid, groups."""

    __slots__ = ()

    @property
    def uid(self) -> int:
        return int(self._p.uid)

    @property
    def gid(self) -> int:
        return int(self._p.gid)

    @property
    def pid(self) -> int:
        return int(self._p.pid)

    @property
    def groups(self) -> list[int]:
        p = self._p
        return [int(p.groups[i]) for i in range(p.ngrps)] if p.groups != _ffi.NULL else []

    @property
    def lk_owner(self) -> bytes:
        o = self._p.lk_owner
        return bytes(_ffi.buffer(o.data, o.len))

    @lk_owner.setter
    def lk_owner(self, value: bytes) -> None:
        """The call stack's lock owner (what features/locks tells lock holders apart
        by) for the fops wound after this: an inodelk and its unlock need the same;
        ``b""`` is the null owner."""
        o = self._p.lk_owner
        if len(value) > len(o.data):
            raise ValueError(f"lk_owner: at most {len(o.data)} bytes")
        _ffi.memmove(o.data, value, len(value))
        o.len = len(value)

    def __repr__(self) -> str:
        return f"Caller(uid={self.uid}, gid={self.gid}, pid={self.pid})"


class Loc(_core.InstanceView):
    """``loc_t``: where a path-based fop applies."""

    __slots__ = ()
    _struct = "loc_t"
    path = _str_field("path", "the path, or None")
    name = _str_field("name", "the entry's name, or None")

    @property
    def gfid(self) -> bytes:
        """loc->gfid, or the inode's gfid when the loc's is not filled in."""
        g = bytes(_ffi.buffer(self._p.gfid))
        if g == NULL_GFID and self._p.inode != _ffi.NULL:
            g = bytes(_ffi.buffer(self._p.inode.gfid))
        return g

    @property
    def pargfid(self) -> bytes:
        g = bytes(_ffi.buffer(self._p.pargfid))
        if g == NULL_GFID and self._p.parent != _ffi.NULL:
            g = bytes(_ffi.buffer(self._p.parent.gfid))
        return g

    @property
    def inode(self) -> Inode | None:
        p = self._p.inode
        return None if p == _ffi.NULL else Inode(p, self._inst)

    @property
    def parent(self) -> Inode | None:
        p = self._p.parent
        return None if p == _ffi.NULL else Inode(p, self._inst)

    def with_name(self, name: bytes | str, *, gfid_path: bool = False) -> Loc:
        """A new loc for the entry ``name`` in the same parent directory (same
        inode, parent and GFIDs), for winding an entry fop under another name
        (crypt's encrypted names).  Its path is the parent's path + "/" + name, or
        with ``gfid_path`` ``<gfid:PARENT-GFID>/name`` (for a translator whose
        parent paths mean nothing below it).  The new loc_t is owned by the
        returned Loc (loc_wipe when it is collected)."""
        raw = name.encode("utf-8", "surrogateescape") if isinstance(name, str) else bytes(name)
        if not raw or raw.find(b"/") >= 0 or raw.find(b"\0") >= 0 or raw in (b".", b".."):
            raise ValueError(f"not an entry name: {raw!r}")
        if self._p.name == _ffi.NULL or not _ffi.string(self._p.name):
            raise ValueError("Loc.with_name needs a loc that names an entry")
        if self._p.path != _ffi.NULL and not gfid_path:
            old = _ffi.string(self._p.path)
            cut = old.rfind(b"/")
            head = old[:cut] if cut >= 0 else b""
        else:
            head = f"<gfid:{gfid_str(self.pargfid)}>".encode()
        return self._with_path(head + b"/" + raw, len(head) + 1)

    @classmethod
    def for_inode(cls, inode: Inode) -> Loc:
        """A new nameless loc for ``inode`` (path ``/`` for the root, else
        ``<gfid:GFID>``), owned by the returned Loc: for path-based fops on an inode
        a translator holds (through AFR these lock properly, anonymous fds do not)."""
        gfid = inode.gfid
        path = b"/" if gfid == bytes(15) + b"\x01" else f"<gfid:{gfid_str(gfid)}>".encode()
        new_path = _lib.gf_strdup(path)
        if new_path == _ffi.NULL:
            raise MemoryError("gf_strdup")
        copy = _ffi.new("loc_t *")
        copy.path = new_path
        copy.inode = _lib.inode_ref(inode._p)
        _ffi.memmove(copy.gfid, gfid, 16)
        loc = cls(copy, inode._inst)
        loc._keep = _ffi.gc(copy, _lib.loc_wipe)
        return loc

    def by_gfid(self) -> Loc:
        """A new loc for the same inode whose path is ``<gfid:GFID>`` and which has
        no name: a path-free loc for a translator whose paths mean nothing below it
        (storage/posix takes a directory's absolute path literally)."""
        return self._with_path(f"<gfid:{gfid_str(self.gfid)}>".encode(), None)

    def with_path(self, path: bytes | str) -> Loc:
        """A new loc for the same inode (same parent and GFIDs) whose path is
        ``path``, an absolute path as the layers below know it (crypt's encrypted
        path on the brick); its name is the last component of ``path``, or none if
        this loc has none (a nameless loc stays nameless).  storage/posix acts on an
        absolute path as given (an entry's, and a directory's), not through the
        GFID handle, so ``path`` must name this same entry.  Owned by the returned
        Loc, as with :meth:`with_name`."""
        raw = path.encode("utf-8", "surrogateescape") if isinstance(path, str) else bytes(path)
        # Every component between slashes: none empty, "." or "..".  (find, not `in`:
        # bytes.__contains__ first tries its operand as an int, and pays an exception.)
        slashed = raw + b"/"
        if raw != b"/" and (raw[:1] != b"/" or raw.find(b"\0") >= 0
                            or slashed.find(b"//") >= 0 or slashed.find(b"/./") >= 0
                            or slashed.find(b"/../") >= 0):
            raise ValueError(f"not a normalised absolute path: {raw!r}")
        named = self._p.name != _ffi.NULL and bool(_ffi.string(self._p.name))
        if named and raw == b"/":
            raise ValueError(f"{raw!r} names no entry, and this loc has a name")
        return self._with_path(raw, raw.rfind(b"/") + 1 if named else None)

    def _with_path(self, path: bytes, name_at: int | None) -> Loc:
        copy = _ffi.new("loc_t *")
        if _lib.glupy_loc_with_path(copy, self._p, path, -1 if name_at is None else name_at):
            raise MemoryError("loc_copy")
        loc = Loc(copy, self._inst)
        loc._keep = _ffi.gc(copy, _lib.loc_wipe)
        return loc

    def __repr__(self) -> str:
        return f"Loc(path={self.path!r}, gfid={gfid_str(self.gfid)})"


class Dict(_core.View, MutableMapping[str, Any]):
    """``dict_t`` (xdata, xattrs): str keys; values int, float, str or bytes.

    Integers and strings stored by GlusterFS come back as int/str; binary
    values (xattr contents, gfids) as bytes.  Keys and str values that are not
    UTF-8 use surrogateescape both ways; ints are 64-bit; floats are kept by
    GlusterFS as ``%f`` text (six decimals); NUL is refused in keys and str values
    (ValueError).
    """

    __slots__ = ()

    def __init__(self, p: Any = None, *, owned: bool = False) -> None:
        if p is None:
            p = _ffi.gc(_lib.dict_new(), _lib.dict_unref)
        elif owned:
            p = _ffi.gc(p, _lib.dict_unref)
        self._p = p
        self._keep = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Dict:
        d = cls()
        for k, v in values.items():
            d[k] = v
        return d

    def _data(self, key: str) -> Any:
        return _lib.dict_get(self._p, _dict_key(key))

    def __getitem__(self, key: str) -> Any:
        data = self._data(key)
        if data == _ffi.NULL:
            raise KeyError(key)
        return _data_value(data)

    def __setitem__(self, key: str, value: Any) -> None:
        k = _dict_key(key)
        if isinstance(value, bool | int):
            if not -(2**63) <= value < 2**63:
                raise ValueError(f"Dict {key!r}: ints are 64-bit signed, {value} is out of range")
            ret = _lib.dict_set_int64(self._p, k, int(value))
        elif isinstance(value, float):
            ret = _lib.dict_set_double(self._p, k, value)  # stored as text, "%f"
        elif isinstance(value, str):
            if "\0" in value:
                raise ValueError(f"Dict {key!r}: a str value cannot hold NUL (use bytes)")
            text = value.encode("utf-8", "surrogateescape")  # as str values are read
            ret = _lib.dict_set_dynstr_with_alloc(self._p, k, text)
        elif isinstance(value, bytes | bytearray | memoryview):
            b = bytes(value)
            ret = _lib.glupy_dict_set_bytes(self._p, k, b, len(b))
        else:
            raise TypeError(f"Dict values are int, float, str or bytes, not {type(value).__name__}")
        if ret != 0:
            raise MemoryError(f"dict_set {key!r} failed")

    def __delitem__(self, key: str) -> None:
        if self._data(key) == _ffi.NULL:
            raise KeyError(key)
        _lib.dict_del(self._p, _dict_key(key))

    def __iter__(self) -> Iterator[str]:
        keys = []
        pair = self._p.members_list
        while pair != _ffi.NULL:
            keys.append(_ffi.string(_lib.glupy_pair_key(pair)).decode("utf-8", "surrogateescape"))
            pair = pair.next
        return iter(keys)

    def __len__(self) -> int:
        return int(self._p.count)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._data(key) != _ffi.NULL

    def copy(self) -> dict[str, Any]:
        return dict(self.items())

    def __repr__(self) -> str:
        return f"Dict({self.copy()!r})"


def _dict_key(key: str) -> bytes:
    """A dict key as C wants it: keys read from GlusterFS decode with surrogateescape
    (xattr names are bytes), so they encode the same way; NUL would cut the key short."""
    if "\0" in key:
        raise ValueError(f"Dict keys cannot hold NUL: {key!r}")
    return key.encode("utf-8", "surrogateescape")


def _data_value(data: Any) -> Any:
    t = data.data_type
    if t == _lib.GF_DATA_TYPE_INT:
        return int(_lib.data_to_int64(data))
    if t == _lib.GF_DATA_TYPE_UINT:
        return int(_lib.data_to_uint64(data))
    if t == _lib.GF_DATA_TYPE_DOUBLE:
        # GlusterFS keeps doubles as text (data_from_double: "%f")
        return float(bytes(_ffi.buffer(data.data, data.len)).rstrip(b"\0") or b"nan")
    if t in (_lib.GF_DATA_TYPE_STR, _lib.GF_DATA_TYPE_STR_OLD):
        raw = bytes(_ffi.buffer(data.data, data.len))
        return raw.rstrip(b"\0").decode("utf-8", "surrogateescape")
    return bytes(_ffi.buffer(data.data, data.len))


# readv/writev data: glupy._core's, in C (_bridge/src/vector.c)
Vector = _core.Vector


class Flock(_core.View):
    """``struct gf_flock``."""

    __slots__ = ()
    _struct = "struct gf_flock"

    def __init__(self, p: Any = None) -> None:
        self._p = _ffi.new("struct gf_flock *") if p is None else p
        self._keep = None

    type = _int_field("l_type", "F_RDLCK/F_WRLCK/F_UNLCK")
    whence = _int_field("l_whence", "SEEK_SET/CUR/END")
    start = _int_field("l_start", "start offset")
    len = _int_field("l_len", "length (0 = to EOF)")
    pid = _int_field("l_pid", "owner pid")

    @property
    def owner(self) -> bytes:
        o = self._p.l_owner
        return bytes(_ffi.buffer(o.data, o.len))

    def __repr__(self) -> str:
        return f"Flock(type={self.type}, start={self.start}, len={self.len}, pid={self.pid})"


class StatVfs(_core.View):
    """``struct statvfs`` of statfs."""

    __slots__ = ()
    _struct = "struct statvfs"

    def __init__(self, p: Any = None) -> None:
        self._p = _ffi.new("struct statvfs *") if p is None else p
        self._keep = None

    bsize = _int_field("f_bsize", "block size")
    frsize = _int_field("f_frsize", "fragment size")
    blocks = _int_field("f_blocks", "blocks")
    bfree = _int_field("f_bfree", "free blocks")
    bavail = _int_field("f_bavail", "free blocks for unprivileged users")
    files = _int_field("f_files", "inodes")
    ffree = _int_field("f_ffree", "free inodes")
    favail = _int_field("f_favail", "free inodes for unprivileged users")
    fsid = _int_field("f_fsid", "filesystem id")
    flag = _int_field("f_flag", "mount flags")
    namemax = _int_field("f_namemax", "maximum name length")



class Lease(_core.View):
    """``struct gf_lease``."""

    __slots__ = ()
    _struct = "struct gf_lease"

    def __init__(self, p: Any = None) -> None:
        self._p = _ffi.new("struct gf_lease *") if p is None else p
        self._keep = None

    cmd = _int_field("cmd", "GF_GET_LEASE/GF_SET_LEASE/GF_UNLK_LEASE")
    lease_type = _int_field("lease_type", "GF_RD_LEASE/GF_RW_LEASE")
    lease_flags = _int_field("lease_flags", "flags")

    @property
    def lease_id(self) -> bytes:
        return bytes(_ffi.buffer(self._p.lease_id))



class Dirent:
    """One entry of readdir/readdirp.  A view of GlusterFS's entry, or a Python
    value (``Dirent(name, ...)``) when building a new listing."""

    __slots__ = ("name", "d_ino", "d_off", "d_type", "stat", "dict", "inode")

    def __init__(self, name: str, d_ino: int = 0, d_off: int = 0, d_type: int = 0,
                 stat: Iatt | None = None, dict: Dict | None = None, inode: Inode | None = None):
        self.name = name
        self.d_ino = d_ino
        self.d_off = d_off
        self.d_type = d_type
        self.stat = stat
        self.dict = dict
        self.inode = inode

    def __repr__(self) -> str:
        return f"Dirent({self.name!r}, d_off={self.d_off})"


class Dirents(_core.DirentsView):
    """The entry list of readdir/readdirp (``gf_dirent_t``).  Iterate it for
    ``Dirent`` objects; to change a listing, return a list of Dirents."""

    __slots__ = ()

    def _load(self) -> list[Dirent]:
        if self._entries is None:
            out = []
            head = _ffi.cast("struct list_head *", self._p)
            node = head.next
            while node != head:
                e = _ffi.cast("gf_dirent_t *", node)
                out.append(Dirent(
                    _ffi.string(e.d_name).decode("utf-8", "surrogateescape"),
                    int(e.d_ino), int(e.d_off), int(e.d_type),
                    Iatt(_ffi.addressof(e, "d_stat")),
                    None if e.dict == _ffi.NULL else Dict(e.dict),
                    None if e.inode == _ffi.NULL else Inode(e.inode, self._inst)))
                node = node.next
            self._entries = out
        return self._entries

    def __iter__(self) -> Iterator[Dirent]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __getitem__(self, i: int) -> Dirent:
        return self._load()[i]

    def _detach(self) -> None:
        for e in self._load():
            if e.stat is not None:
                e.stat._detach()
            if e.dict is not None:
                e.dict._detach()
            if e.inode is not None:
                e.inode._detach()
        self._p = None  # the C list is gone: unwinding rebuilds one


def build_dirents(entries: Iterable[Dirent]) -> Any:
    """A new gf_dirent_t list (head) from Dirent values; freed by the caller
    with gf_dirent_free + the head's own lifetime."""
    head = _ffi.new("gf_dirent_t *")
    _lib.glupy_dirents_init(head)
    for d in entries:
        e = _lib.gf_dirent_for_name(d.name.encode("utf-8", "surrogateescape"))
        if e == _ffi.NULL:
            raise MemoryError("gf_dirent_for_name")
        e.d_ino, e.d_off, e.d_type = d.d_ino, d.d_off, d.d_type
        if d.stat is not None:
            e.d_stat = d.stat._p[0]
        if d.dict is not None:
            e.dict = _lib.dict_ref(d.dict._p)
        if d.inode is not None:
            e.inode = _lib.inode_ref(d.inode._p)
        _lib.glupy_dirents_append(head, e)
    return _ffi.gc(head, _lib.gf_dirent_free)
