"""Reply classes, one per fop, generated from the fop table.

``LookupReply(inode, buf, xdata, postparent, op_ret=0)``: the fields are the
reply arguments of the fop's callback in GlusterFS (``fop_lookup_cbk_t``),
with ``vector, count, iobref`` folded into one ``vector``.  ``op_ret`` is the
fop's return value (bytes read/written, entries listed, 0 ...).
"""

from __future__ import annotations

from typing import Any, ClassVar

from glupy import _core
from glupy._core import Field as _Field
from glupy.fops import FOPS_BY_NAME, Fop
from glupy.types import Dict, Dirent, Dirents, Fd, Flock, Iatt, Inode, Lease, StatVfs, Vector

# a field not read yet (a child's reply: converted from its C arguments when read,
# by the bridge inside GlusterFS)
_UNSET: Any = _core._UNSET


class Reply(_core.Reply):
    """Base of all replies.  Its storage (``_raw``, ``_vals``, ``_dirty``, ``_inst``,
    ``op_ret``, ``op_errno``), the fields (_Field) and ``_detach`` are glupy._core's, in C."""

    __slots__ = ()
    fop: ClassVar[Fop]
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, op_ret: int = 0, op_errno: int = 0, **kwargs: Any) -> None:
        fields = self.fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes at most {len(fields)} fields")
        vals = [*args, *(None,) * (len(fields) - len(args))]
        for k, v in kwargs.items():
            if k not in fields:
                raise TypeError(f"{type(self).__name__} has no field {k!r}")
            i = fields.index(k)
            if i < len(args):
                raise TypeError(f"{type(self).__name__} got {k!r} twice")
            vals[i] = v
        self._raw = None  # a child's reply: its C arguments
        self._dirty = True  # every field is converted (see core.h, glupy_reply_t)
        self._inst = None
        self._vals = vals
        self.op_ret = op_ret
        self.op_errno = op_errno

    def replace(self, **changes: Any) -> Reply:
        """A copy with some fields changed (like dataclasses.replace)."""
        values = {n: getattr(self, n) for n in self.fields}
        values.update(changes)
        op_ret = values.pop("op_ret", self.op_ret)
        return type(self)(op_ret=op_ret, **values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.fields)
        return f"{type(self).__name__}(op_ret={self.op_ret}, {inner})"


# BEGIN GENERATED replies (python -m glupy._build.docgen; do not edit)
class StatReply(Reply):
    """Reply of ``stat``: buf, xdata."""

    __slots__ = ()
    fields = ('buf', 'xdata')
    fop = FOPS_BY_NAME['stat']
    buf: _Field[Iatt | None] = _Field(0, 'buf', 'iatt', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class ReadlinkReply(Reply):
    """Reply of ``readlink``: path, buf, xdata."""

    __slots__ = ()
    fields = ('path', 'buf', 'xdata')
    fop = FOPS_BY_NAME['readlink']
    path: _Field[str | None] = _Field(0, 'path', 'str', (0,))
    buf: _Field[Iatt | None] = _Field(1, 'buf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class MknodReply(Reply):
    """Reply of ``mknod``: inode, buf, preparent, postparent, xdata."""

    __slots__ = ()
    fields = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['mknod']
    inode: _Field[Inode | None] = _Field(0, 'inode', 'inode', (0,))
    buf: _Field[Iatt | None] = _Field(1, 'buf', 'iatt', (1,))
    preparent: _Field[Iatt | None] = _Field(2, 'preparent', 'iatt', (2,))
    postparent: _Field[Iatt | None] = _Field(3, 'postparent', 'iatt', (3,))
    xdata: _Field[Dict | None] = _Field(4, 'xdata', 'dict', (4,))

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class MkdirReply(Reply):
    """Reply of ``mkdir``: inode, buf, preparent, postparent, xdata."""

    __slots__ = ()
    fields = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['mkdir']
    inode: _Field[Inode | None] = _Field(0, 'inode', 'inode', (0,))
    buf: _Field[Iatt | None] = _Field(1, 'buf', 'iatt', (1,))
    preparent: _Field[Iatt | None] = _Field(2, 'preparent', 'iatt', (2,))
    postparent: _Field[Iatt | None] = _Field(3, 'postparent', 'iatt', (3,))
    xdata: _Field[Dict | None] = _Field(4, 'xdata', 'dict', (4,))

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class UnlinkReply(Reply):
    """Reply of ``unlink``: preparent, postparent, xdata."""

    __slots__ = ()
    fields = ('preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['unlink']
    preparent: _Field[Iatt | None] = _Field(0, 'preparent', 'iatt', (0,))
    postparent: _Field[Iatt | None] = _Field(1, 'postparent', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class RmdirReply(Reply):
    """Reply of ``rmdir``: preparent, postparent, xdata."""

    __slots__ = ()
    fields = ('preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['rmdir']
    preparent: _Field[Iatt | None] = _Field(0, 'preparent', 'iatt', (0,))
    postparent: _Field[Iatt | None] = _Field(1, 'postparent', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class SymlinkReply(Reply):
    """Reply of ``symlink``: inode, buf, preparent, postparent, xdata."""

    __slots__ = ()
    fields = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['symlink']
    inode: _Field[Inode | None] = _Field(0, 'inode', 'inode', (0,))
    buf: _Field[Iatt | None] = _Field(1, 'buf', 'iatt', (1,))
    preparent: _Field[Iatt | None] = _Field(2, 'preparent', 'iatt', (2,))
    postparent: _Field[Iatt | None] = _Field(3, 'postparent', 'iatt', (3,))
    xdata: _Field[Dict | None] = _Field(4, 'xdata', 'dict', (4,))

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class RenameReply(Reply):
    """Reply of ``rename``: buf, preoldparent, postoldparent, prenewparent, postnewparent, xdata."""

    __slots__ = ()
    fields = ('buf', 'preoldparent', 'postoldparent', 'prenewparent', 'postnewparent', 'xdata')
    fop = FOPS_BY_NAME['rename']
    buf: _Field[Iatt | None] = _Field(0, 'buf', 'iatt', (0,))
    preoldparent: _Field[Iatt | None] = _Field(1, 'preoldparent', 'iatt', (1,))
    postoldparent: _Field[Iatt | None] = _Field(2, 'postoldparent', 'iatt', (2,))
    prenewparent: _Field[Iatt | None] = _Field(3, 'prenewparent', 'iatt', (3,))
    postnewparent: _Field[Iatt | None] = _Field(4, 'postnewparent', 'iatt', (4,))
    xdata: _Field[Dict | None] = _Field(5, 'xdata', 'dict', (5,))

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class LinkReply(Reply):
    """Reply of ``link``: inode, buf, preparent, postparent, xdata."""

    __slots__ = ()
    fields = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['link']
    inode: _Field[Inode | None] = _Field(0, 'inode', 'inode', (0,))
    buf: _Field[Iatt | None] = _Field(1, 'buf', 'iatt', (1,))
    preparent: _Field[Iatt | None] = _Field(2, 'preparent', 'iatt', (2,))
    postparent: _Field[Iatt | None] = _Field(3, 'postparent', 'iatt', (3,))
    xdata: _Field[Dict | None] = _Field(4, 'xdata', 'dict', (4,))

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class TruncateReply(Reply):
    """Reply of ``truncate``: prebuf, postbuf, xdata."""

    __slots__ = ()
    fields = ('prebuf', 'postbuf', 'xdata')
    fop = FOPS_BY_NAME['truncate']
    prebuf: _Field[Iatt | None] = _Field(0, 'prebuf', 'iatt', (0,))
    postbuf: _Field[Iatt | None] = _Field(1, 'postbuf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class OpenReply(Reply):
    """Reply of ``open``: fd, xdata."""

    __slots__ = ()
    fields = ('fd', 'xdata')
    fop = FOPS_BY_NAME['open']
    fd: _Field[Fd | None] = _Field(0, 'fd', 'fd', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class ReadvReply(Reply):
    """Reply of ``readv``: vector, stbuf, xdata."""

    __slots__ = ()
    fields = ('vector', 'stbuf', 'xdata')
    fop = FOPS_BY_NAME['readv']
    vector: _Field[Vector | bytes | None] = _Field(0, 'vector', 'vector', (0, 1, 3))
    stbuf: _Field[Iatt | None] = _Field(1, 'stbuf', 'iatt', (2,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (4,))


class WritevReply(Reply):
    """Reply of ``writev``: prebuf, postbuf, xdata."""

    __slots__ = ()
    fields = ('prebuf', 'postbuf', 'xdata')
    fop = FOPS_BY_NAME['writev']
    prebuf: _Field[Iatt | None] = _Field(0, 'prebuf', 'iatt', (0,))
    postbuf: _Field[Iatt | None] = _Field(1, 'postbuf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class StatfsReply(Reply):
    """Reply of ``statfs``: buf, xdata."""

    __slots__ = ()
    fields = ('buf', 'xdata')
    fop = FOPS_BY_NAME['statfs']
    buf: _Field[StatVfs | None] = _Field(0, 'buf', 'statvfs', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class FlushReply(Reply):
    """Reply of ``flush``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['flush']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class FsyncReply(Reply):
    """Reply of ``fsync``: prebuf, postbuf, xdata."""

    __slots__ = ()
    fields = ('prebuf', 'postbuf', 'xdata')
    fop = FOPS_BY_NAME['fsync']
    prebuf: _Field[Iatt | None] = _Field(0, 'prebuf', 'iatt', (0,))
    postbuf: _Field[Iatt | None] = _Field(1, 'postbuf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class SetxattrReply(Reply):
    """Reply of ``setxattr``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['setxattr']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class GetxattrReply(Reply):
    """Reply of ``getxattr``: dict, xdata."""

    __slots__ = ()
    fields = ('dict', 'xdata')
    fop = FOPS_BY_NAME['getxattr']
    dict: _Field[Dict | None] = _Field(0, 'dict', 'dict', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class RemovexattrReply(Reply):
    """Reply of ``removexattr``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['removexattr']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class OpendirReply(Reply):
    """Reply of ``opendir``: fd, xdata."""

    __slots__ = ()
    fields = ('fd', 'xdata')
    fop = FOPS_BY_NAME['opendir']
    fd: _Field[Fd | None] = _Field(0, 'fd', 'fd', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class FsyncdirReply(Reply):
    """Reply of ``fsyncdir``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['fsyncdir']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class AccessReply(Reply):
    """Reply of ``access``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['access']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class CreateReply(Reply):
    """Reply of ``create``: fd, inode, buf, preparent, postparent, xdata."""

    __slots__ = ()
    fields = ('fd', 'inode', 'buf', 'preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['create']
    fd: _Field[Fd | None] = _Field(0, 'fd', 'fd', (0,))
    inode: _Field[Inode | None] = _Field(1, 'inode', 'inode', (1,))
    buf: _Field[Iatt | None] = _Field(2, 'buf', 'iatt', (2,))
    preparent: _Field[Iatt | None] = _Field(3, 'preparent', 'iatt', (3,))
    postparent: _Field[Iatt | None] = _Field(4, 'postparent', 'iatt', (4,))
    xdata: _Field[Dict | None] = _Field(5, 'xdata', 'dict', (5,))

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class FtruncateReply(Reply):
    """Reply of ``ftruncate``: prebuf, postbuf, xdata."""

    __slots__ = ()
    fields = ('prebuf', 'postbuf', 'xdata')
    fop = FOPS_BY_NAME['ftruncate']
    prebuf: _Field[Iatt | None] = _Field(0, 'prebuf', 'iatt', (0,))
    postbuf: _Field[Iatt | None] = _Field(1, 'postbuf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class FstatReply(Reply):
    """Reply of ``fstat``: buf, xdata."""

    __slots__ = ()
    fields = ('buf', 'xdata')
    fop = FOPS_BY_NAME['fstat']
    buf: _Field[Iatt | None] = _Field(0, 'buf', 'iatt', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class LkReply(Reply):
    """Reply of ``lk``: flock, xdata."""

    __slots__ = ()
    fields = ('flock', 'xdata')
    fop = FOPS_BY_NAME['lk']
    flock: _Field[Flock | None] = _Field(0, 'flock', 'flock', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class LookupReply(Reply):
    """Reply of ``lookup``: inode, buf, xdata, postparent."""

    __slots__ = ()
    fields = ('inode', 'buf', 'xdata', 'postparent')
    fop = FOPS_BY_NAME['lookup']
    inode: _Field[Inode | None] = _Field(0, 'inode', 'inode', (0,))
    buf: _Field[Iatt | None] = _Field(1, 'buf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))
    postparent: _Field[Iatt | None] = _Field(3, 'postparent', 'iatt', (3,))

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class ReaddirReply(Reply):
    """Reply of ``readdir``: entries, xdata."""

    __slots__ = ()
    fields = ('entries', 'xdata')
    fop = FOPS_BY_NAME['readdir']
    entries: _Field[Dirents | list[Dirent] | None] = _Field(0, 'entries', 'dirents', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class InodelkReply(Reply):
    """Reply of ``inodelk``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['inodelk']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class FinodelkReply(Reply):
    """Reply of ``finodelk``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['finodelk']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class EntrylkReply(Reply):
    """Reply of ``entrylk``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['entrylk']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class FentrylkReply(Reply):
    """Reply of ``fentrylk``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['fentrylk']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class XattropReply(Reply):
    """Reply of ``xattrop``: xattr, xdata."""

    __slots__ = ()
    fields = ('xattr', 'xdata')
    fop = FOPS_BY_NAME['xattrop']
    xattr: _Field[Dict | None] = _Field(0, 'xattr', 'dict', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class FxattropReply(Reply):
    """Reply of ``fxattrop``: xattr, xdata."""

    __slots__ = ()
    fields = ('xattr', 'xdata')
    fop = FOPS_BY_NAME['fxattrop']
    xattr: _Field[Dict | None] = _Field(0, 'xattr', 'dict', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class FgetxattrReply(Reply):
    """Reply of ``fgetxattr``: dict, xdata."""

    __slots__ = ()
    fields = ('dict', 'xdata')
    fop = FOPS_BY_NAME['fgetxattr']
    dict: _Field[Dict | None] = _Field(0, 'dict', 'dict', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class FsetxattrReply(Reply):
    """Reply of ``fsetxattr``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['fsetxattr']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class RchecksumReply(Reply):
    """Reply of ``rchecksum``: weak_checksum, strong_checksum, xdata."""

    __slots__ = ()
    fields = ('weak_checksum', 'strong_checksum', 'xdata')
    fop = FOPS_BY_NAME['rchecksum']
    weak_checksum: _Field[int] = _Field(0, 'weak_checksum', 'int', (0,))
    strong_checksum: _Field[Any] = _Field(1, 'strong_checksum', 'opaque', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class SetattrReply(Reply):
    """Reply of ``setattr``: preop_stbuf, postop_stbuf, xdata."""

    __slots__ = ()
    fields = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fop = FOPS_BY_NAME['setattr']
    preop_stbuf: _Field[Iatt | None] = _Field(0, 'preop_stbuf', 'iatt', (0,))
    postop_stbuf: _Field[Iatt | None] = _Field(1, 'postop_stbuf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class FsetattrReply(Reply):
    """Reply of ``fsetattr``: preop_stbuf, postop_stbuf, xdata."""

    __slots__ = ()
    fields = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fop = FOPS_BY_NAME['fsetattr']
    preop_stbuf: _Field[Iatt | None] = _Field(0, 'preop_stbuf', 'iatt', (0,))
    postop_stbuf: _Field[Iatt | None] = _Field(1, 'postop_stbuf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class ReaddirpReply(Reply):
    """Reply of ``readdirp``: entries, xdata."""

    __slots__ = ()
    fields = ('entries', 'xdata')
    fop = FOPS_BY_NAME['readdirp']
    entries: _Field[Dirents | list[Dirent] | None] = _Field(0, 'entries', 'dirents', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class GetspecReply(Reply):
    """Reply of ``getspec``: spec_data."""

    __slots__ = ()
    fields = ('spec_data',)
    fop = FOPS_BY_NAME['getspec']
    spec_data: _Field[str | None] = _Field(0, 'spec_data', 'str', (0,))


class FremovexattrReply(Reply):
    """Reply of ``fremovexattr``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['fremovexattr']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class FallocateReply(Reply):
    """Reply of ``fallocate``: preop_stbuf, postop_stbuf, xdata."""

    __slots__ = ()
    fields = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fop = FOPS_BY_NAME['fallocate']
    preop_stbuf: _Field[Iatt | None] = _Field(0, 'preop_stbuf', 'iatt', (0,))
    postop_stbuf: _Field[Iatt | None] = _Field(1, 'postop_stbuf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class DiscardReply(Reply):
    """Reply of ``discard``: preop_stbuf, postop_stbuf, xdata."""

    __slots__ = ()
    fields = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fop = FOPS_BY_NAME['discard']
    preop_stbuf: _Field[Iatt | None] = _Field(0, 'preop_stbuf', 'iatt', (0,))
    postop_stbuf: _Field[Iatt | None] = _Field(1, 'postop_stbuf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class ZerofillReply(Reply):
    """Reply of ``zerofill``: preop_stbuf, postop_stbuf, xdata."""

    __slots__ = ()
    fields = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fop = FOPS_BY_NAME['zerofill']
    preop_stbuf: _Field[Iatt | None] = _Field(0, 'preop_stbuf', 'iatt', (0,))
    postop_stbuf: _Field[Iatt | None] = _Field(1, 'postop_stbuf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class IpcReply(Reply):
    """Reply of ``ipc``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['ipc']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class SeekReply(Reply):
    """Reply of ``seek``: offset, xdata."""

    __slots__ = ()
    fields = ('offset', 'xdata')
    fop = FOPS_BY_NAME['seek']
    offset: _Field[int] = _Field(0, 'offset', 'int', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class LeaseReply(Reply):
    """Reply of ``lease``: lease, xdata."""

    __slots__ = ()
    fields = ('lease', 'xdata')
    fop = FOPS_BY_NAME['lease']
    lease: _Field[Lease | None] = _Field(0, 'lease', 'lease', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class CompoundReply(Reply):
    """Reply of ``compound``: data, xdata."""

    __slots__ = ()
    fields = ('data', 'xdata')
    fop = FOPS_BY_NAME['compound']
    data: _Field[Any] = _Field(0, 'data', 'opaque', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class GetactivelkReply(Reply):
    """Reply of ``getactivelk``: locklist, xdata."""

    __slots__ = ()
    fields = ('locklist', 'xdata')
    fop = FOPS_BY_NAME['getactivelk']
    locklist: _Field[Any] = _Field(0, 'locklist', 'opaque', (0,))
    xdata: _Field[Dict | None] = _Field(1, 'xdata', 'dict', (1,))


class SetactivelkReply(Reply):
    """Reply of ``setactivelk``: xdata."""

    __slots__ = ()
    fields = ('xdata',)
    fop = FOPS_BY_NAME['setactivelk']
    xdata: _Field[Dict | None] = _Field(0, 'xdata', 'dict', (0,))


class PutReply(Reply):
    """Reply of ``put``: inode, buf, preparent, postparent, xdata."""

    __slots__ = ()
    fields = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['put']
    inode: _Field[Inode | None] = _Field(0, 'inode', 'inode', (0,))
    buf: _Field[Iatt | None] = _Field(1, 'buf', 'iatt', (1,))
    preparent: _Field[Iatt | None] = _Field(2, 'preparent', 'iatt', (2,))
    postparent: _Field[Iatt | None] = _Field(3, 'postparent', 'iatt', (3,))
    xdata: _Field[Dict | None] = _Field(4, 'xdata', 'dict', (4,))

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class IcreateReply(Reply):
    """Reply of ``icreate``: inode, buf, xdata."""

    __slots__ = ()
    fields = ('inode', 'buf', 'xdata')
    fop = FOPS_BY_NAME['icreate']
    inode: _Field[Inode | None] = _Field(0, 'inode', 'inode', (0,))
    buf: _Field[Iatt | None] = _Field(1, 'buf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class NamelinkReply(Reply):
    """Reply of ``namelink``: prebuf, postbuf, xdata."""

    __slots__ = ()
    fields = ('prebuf', 'postbuf', 'xdata')
    fop = FOPS_BY_NAME['namelink']
    prebuf: _Field[Iatt | None] = _Field(0, 'prebuf', 'iatt', (0,))
    postbuf: _Field[Iatt | None] = _Field(1, 'postbuf', 'iatt', (1,))
    xdata: _Field[Dict | None] = _Field(2, 'xdata', 'dict', (2,))


class CopyFileRangeReply(Reply):
    """Reply of ``copy_file_range``: stbuf, prebuf_dst, postbuf_dst, xdata."""

    __slots__ = ()
    fields = ('stbuf', 'prebuf_dst', 'postbuf_dst', 'xdata')
    fop = FOPS_BY_NAME['copy_file_range']
    stbuf: _Field[Iatt | None] = _Field(0, 'stbuf', 'iatt', (0,))
    prebuf_dst: _Field[Iatt | None] = _Field(1, 'prebuf_dst', 'iatt', (1,))
    postbuf_dst: _Field[Iatt | None] = _Field(2, 'postbuf_dst', 'iatt', (2,))
    xdata: _Field[Dict | None] = _Field(3, 'xdata', 'dict', (3,))


REPLY_CLASSES: dict[str, type[Reply]] = {
    'stat': StatReply,
    'readlink': ReadlinkReply,
    'mknod': MknodReply,
    'mkdir': MkdirReply,
    'unlink': UnlinkReply,
    'rmdir': RmdirReply,
    'symlink': SymlinkReply,
    'rename': RenameReply,
    'link': LinkReply,
    'truncate': TruncateReply,
    'open': OpenReply,
    'readv': ReadvReply,
    'writev': WritevReply,
    'statfs': StatfsReply,
    'flush': FlushReply,
    'fsync': FsyncReply,
    'setxattr': SetxattrReply,
    'getxattr': GetxattrReply,
    'removexattr': RemovexattrReply,
    'opendir': OpendirReply,
    'fsyncdir': FsyncdirReply,
    'access': AccessReply,
    'create': CreateReply,
    'ftruncate': FtruncateReply,
    'fstat': FstatReply,
    'lk': LkReply,
    'lookup': LookupReply,
    'readdir': ReaddirReply,
    'inodelk': InodelkReply,
    'finodelk': FinodelkReply,
    'entrylk': EntrylkReply,
    'fentrylk': FentrylkReply,
    'xattrop': XattropReply,
    'fxattrop': FxattropReply,
    'fgetxattr': FgetxattrReply,
    'fsetxattr': FsetxattrReply,
    'rchecksum': RchecksumReply,
    'setattr': SetattrReply,
    'fsetattr': FsetattrReply,
    'readdirp': ReaddirpReply,
    'getspec': GetspecReply,
    'fremovexattr': FremovexattrReply,
    'fallocate': FallocateReply,
    'discard': DiscardReply,
    'zerofill': ZerofillReply,
    'ipc': IpcReply,
    'seek': SeekReply,
    'lease': LeaseReply,
    'compound': CompoundReply,
    'getactivelk': GetactivelkReply,
    'setactivelk': SetactivelkReply,
    'put': PutReply,
    'icreate': IcreateReply,
    'namelink': NamelinkReply,
    'copy_file_range': CopyFileRangeReply,
}
__all__ = [
    "REPLY_CLASSES",
    "AccessReply",
    "CompoundReply",
    "CopyFileRangeReply",
    "CreateReply",
    "DiscardReply",
    "EntrylkReply",
    "FallocateReply",
    "FentrylkReply",
    "FgetxattrReply",
    "FinodelkReply",
    "FlushReply",
    "FremovexattrReply",
    "FsetattrReply",
    "FsetxattrReply",
    "FstatReply",
    "FsyncReply",
    "FsyncdirReply",
    "FtruncateReply",
    "FxattropReply",
    "GetactivelkReply",
    "GetspecReply",
    "GetxattrReply",
    "IcreateReply",
    "InodelkReply",
    "IpcReply",
    "LeaseReply",
    "LinkReply",
    "LkReply",
    "LookupReply",
    "MkdirReply",
    "MknodReply",
    "NamelinkReply",
    "OpenReply",
    "OpendirReply",
    "PutReply",
    "RchecksumReply",
    "ReaddirReply",
    "ReaddirpReply",
    "ReadlinkReply",
    "ReadvReply",
    "RemovexattrReply",
    "RenameReply",
    "Reply",
    "RmdirReply",
    "SeekReply",
    "SetactivelkReply",
    "SetattrReply",
    "SetxattrReply",
    "StatReply",
    "StatfsReply",
    "SymlinkReply",
    "TruncateReply",
    "UnlinkReply",
    "WritevReply",
    "XattropReply",
    "ZerofillReply",
]
# END GENERATED replies

