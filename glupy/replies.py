"""Reply classes, one per fop, generated from the fop table.

``LookupReply(inode, buf, xdata, postparent, op_ret=0)``: the fields are the
reply arguments of the fop's callback in GlusterFS (``fop_lookup_cbk_t``),
with ``vector, count, iobref`` folded into one ``vector``.  ``op_ret`` is the
fop's return value (bytes read/written, entries listed, 0 ...).
"""

from __future__ import annotations

from typing import Any, ClassVar

from glupy.fops import FOPS_BY_NAME, Fop
from glupy.types import Dict, Dirent, Dirents, Fd, Flock, Iatt, Inode, Lease, StatVfs, Vector


class Reply:
    """Base of all replies."""

    __slots__ = ("op_errno", "op_ret")
    fop: ClassVar[Fop]
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, op_ret: int = 0, op_errno: int = 0, **kwargs: Any) -> None:
        if len(args) > len(self.fields):
            raise TypeError(f"{type(self).__name__} takes at most {len(self.fields)} fields")
        values = dict(zip(self.fields, args, strict=False))
        for k, v in kwargs.items():
            if k not in self.fields:
                raise TypeError(f"{type(self).__name__} has no field {k!r}")
            if k in values:
                raise TypeError(f"{type(self).__name__} got {k!r} twice")
            values[k] = v
        for name in self.fields:
            setattr(self, name, values.get(name))
        self.op_ret = op_ret
        self.op_errno = op_errno

    def replace(self, **changes: Any) -> Reply:
        """A copy with some fields changed (like dataclasses.replace)."""
        values = {n: getattr(self, n) for n in self.fields}
        values.update(changes)
        op_ret = values.pop("op_ret", self.op_ret)
        return type(self)(op_ret=op_ret, **values)

    def _detach(self) -> None:
        for name in self.fields:
            v = getattr(self, name)
            detach = getattr(v, "_detach", None)
            if detach is not None:
                detach()

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.fields)
        return f"{type(self).__name__}(op_ret={self.op_ret}, {inner})"


# BEGIN GENERATED replies (python -m glupy._build.docgen; do not edit)
class StatReply(Reply):
    """Reply of ``stat``: buf, xdata."""

    __slots__ = ('buf', 'xdata')
    fields = ('buf', 'xdata')
    fop = FOPS_BY_NAME['stat']
    buf: Iatt | None
    xdata: Dict | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class ReadlinkReply(Reply):
    """Reply of ``readlink``: path, buf, xdata."""

    __slots__ = ('path', 'buf', 'xdata')
    fields = ('path', 'buf', 'xdata')
    fop = FOPS_BY_NAME['readlink']
    path: str | None
    buf: Iatt | None
    xdata: Dict | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class MknodReply(Reply):
    """Reply of ``mknod``: inode, buf, preparent, postparent, xdata."""

    __slots__ = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fields = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['mknod']
    inode: Inode | None
    buf: Iatt | None
    preparent: Iatt | None
    postparent: Iatt | None
    xdata: Dict | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class MkdirReply(Reply):
    """Reply of ``mkdir``: inode, buf, preparent, postparent, xdata."""

    __slots__ = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fields = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['mkdir']
    inode: Inode | None
    buf: Iatt | None
    preparent: Iatt | None
    postparent: Iatt | None
    xdata: Dict | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class UnlinkReply(Reply):
    """Reply of ``unlink``: preparent, postparent, xdata."""

    __slots__ = ('preparent', 'postparent', 'xdata')
    fields = ('preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['unlink']
    preparent: Iatt | None
    postparent: Iatt | None
    xdata: Dict | None


class RmdirReply(Reply):
    """Reply of ``rmdir``: preparent, postparent, xdata."""

    __slots__ = ('preparent', 'postparent', 'xdata')
    fields = ('preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['rmdir']
    preparent: Iatt | None
    postparent: Iatt | None
    xdata: Dict | None


class SymlinkReply(Reply):
    """Reply of ``symlink``: inode, buf, preparent, postparent, xdata."""

    __slots__ = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fields = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['symlink']
    inode: Inode | None
    buf: Iatt | None
    preparent: Iatt | None
    postparent: Iatt | None
    xdata: Dict | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class RenameReply(Reply):
    """Reply of ``rename``: buf, preoldparent, postoldparent, prenewparent, postnewparent, xdata."""

    __slots__ = ('buf', 'preoldparent', 'postoldparent', 'prenewparent', 'postnewparent', 'xdata')
    fields = ('buf', 'preoldparent', 'postoldparent', 'prenewparent', 'postnewparent', 'xdata')
    fop = FOPS_BY_NAME['rename']
    buf: Iatt | None
    preoldparent: Iatt | None
    postoldparent: Iatt | None
    prenewparent: Iatt | None
    postnewparent: Iatt | None
    xdata: Dict | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class LinkReply(Reply):
    """Reply of ``link``: inode, buf, preparent, postparent, xdata."""

    __slots__ = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fields = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['link']
    inode: Inode | None
    buf: Iatt | None
    preparent: Iatt | None
    postparent: Iatt | None
    xdata: Dict | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class TruncateReply(Reply):
    """Reply of ``truncate``: prebuf, postbuf, xdata."""

    __slots__ = ('prebuf', 'postbuf', 'xdata')
    fields = ('prebuf', 'postbuf', 'xdata')
    fop = FOPS_BY_NAME['truncate']
    prebuf: Iatt | None
    postbuf: Iatt | None
    xdata: Dict | None


class OpenReply(Reply):
    """Reply of ``open``: fd, xdata."""

    __slots__ = ('fd', 'xdata')
    fields = ('fd', 'xdata')
    fop = FOPS_BY_NAME['open']
    fd: Fd | None
    xdata: Dict | None


class ReadvReply(Reply):
    """Reply of ``readv``: vector, stbuf, xdata."""

    __slots__ = ('vector', 'stbuf', 'xdata')
    fields = ('vector', 'stbuf', 'xdata')
    fop = FOPS_BY_NAME['readv']
    vector: Vector | bytes | None
    stbuf: Iatt | None
    xdata: Dict | None


class WritevReply(Reply):
    """Reply of ``writev``: prebuf, postbuf, xdata."""

    __slots__ = ('prebuf', 'postbuf', 'xdata')
    fields = ('prebuf', 'postbuf', 'xdata')
    fop = FOPS_BY_NAME['writev']
    prebuf: Iatt | None
    postbuf: Iatt | None
    xdata: Dict | None


class StatfsReply(Reply):
    """Reply of ``statfs``: buf, xdata."""

    __slots__ = ('buf', 'xdata')
    fields = ('buf', 'xdata')
    fop = FOPS_BY_NAME['statfs']
    buf: StatVfs | None
    xdata: Dict | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class FlushReply(Reply):
    """Reply of ``flush``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['flush']
    xdata: Dict | None


class FsyncReply(Reply):
    """Reply of ``fsync``: prebuf, postbuf, xdata."""

    __slots__ = ('prebuf', 'postbuf', 'xdata')
    fields = ('prebuf', 'postbuf', 'xdata')
    fop = FOPS_BY_NAME['fsync']
    prebuf: Iatt | None
    postbuf: Iatt | None
    xdata: Dict | None


class SetxattrReply(Reply):
    """Reply of ``setxattr``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['setxattr']
    xdata: Dict | None


class GetxattrReply(Reply):
    """Reply of ``getxattr``: dict, xdata."""

    __slots__ = ('dict', 'xdata')
    fields = ('dict', 'xdata')
    fop = FOPS_BY_NAME['getxattr']
    dict: Dict | None
    xdata: Dict | None


class RemovexattrReply(Reply):
    """Reply of ``removexattr``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['removexattr']
    xdata: Dict | None


class OpendirReply(Reply):
    """Reply of ``opendir``: fd, xdata."""

    __slots__ = ('fd', 'xdata')
    fields = ('fd', 'xdata')
    fop = FOPS_BY_NAME['opendir']
    fd: Fd | None
    xdata: Dict | None


class FsyncdirReply(Reply):
    """Reply of ``fsyncdir``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['fsyncdir']
    xdata: Dict | None


class AccessReply(Reply):
    """Reply of ``access``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['access']
    xdata: Dict | None


class CreateReply(Reply):
    """Reply of ``create``: fd, inode, buf, preparent, postparent, xdata."""

    __slots__ = ('fd', 'inode', 'buf', 'preparent', 'postparent', 'xdata')
    fields = ('fd', 'inode', 'buf', 'preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['create']
    fd: Fd | None
    inode: Inode | None
    buf: Iatt | None
    preparent: Iatt | None
    postparent: Iatt | None
    xdata: Dict | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class FtruncateReply(Reply):
    """Reply of ``ftruncate``: prebuf, postbuf, xdata."""

    __slots__ = ('prebuf', 'postbuf', 'xdata')
    fields = ('prebuf', 'postbuf', 'xdata')
    fop = FOPS_BY_NAME['ftruncate']
    prebuf: Iatt | None
    postbuf: Iatt | None
    xdata: Dict | None


class FstatReply(Reply):
    """Reply of ``fstat``: buf, xdata."""

    __slots__ = ('buf', 'xdata')
    fields = ('buf', 'xdata')
    fop = FOPS_BY_NAME['fstat']
    buf: Iatt | None
    xdata: Dict | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class LkReply(Reply):
    """Reply of ``lk``: flock, xdata."""

    __slots__ = ('flock', 'xdata')
    fields = ('flock', 'xdata')
    fop = FOPS_BY_NAME['lk']
    flock: Flock | None
    xdata: Dict | None


class LookupReply(Reply):
    """Reply of ``lookup``: inode, buf, xdata, postparent."""

    __slots__ = ('inode', 'buf', 'xdata', 'postparent')
    fields = ('inode', 'buf', 'xdata', 'postparent')
    fop = FOPS_BY_NAME['lookup']
    inode: Inode | None
    buf: Iatt | None
    xdata: Dict | None
    postparent: Iatt | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class ReaddirReply(Reply):
    """Reply of ``readdir``: entries, xdata."""

    __slots__ = ('entries', 'xdata')
    fields = ('entries', 'xdata')
    fop = FOPS_BY_NAME['readdir']
    entries: Dirents | list[Dirent] | None
    xdata: Dict | None


class InodelkReply(Reply):
    """Reply of ``inodelk``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['inodelk']
    xdata: Dict | None


class FinodelkReply(Reply):
    """Reply of ``finodelk``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['finodelk']
    xdata: Dict | None


class EntrylkReply(Reply):
    """Reply of ``entrylk``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['entrylk']
    xdata: Dict | None


class FentrylkReply(Reply):
    """Reply of ``fentrylk``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['fentrylk']
    xdata: Dict | None


class XattropReply(Reply):
    """Reply of ``xattrop``: xattr, xdata."""

    __slots__ = ('xattr', 'xdata')
    fields = ('xattr', 'xdata')
    fop = FOPS_BY_NAME['xattrop']
    xattr: Dict | None
    xdata: Dict | None


class FxattropReply(Reply):
    """Reply of ``fxattrop``: xattr, xdata."""

    __slots__ = ('xattr', 'xdata')
    fields = ('xattr', 'xdata')
    fop = FOPS_BY_NAME['fxattrop']
    xattr: Dict | None
    xdata: Dict | None


class FgetxattrReply(Reply):
    """Reply of ``fgetxattr``: dict, xdata."""

    __slots__ = ('dict', 'xdata')
    fields = ('dict', 'xdata')
    fop = FOPS_BY_NAME['fgetxattr']
    dict: Dict | None
    xdata: Dict | None


class FsetxattrReply(Reply):
    """Reply of ``fsetxattr``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['fsetxattr']
    xdata: Dict | None


class RchecksumReply(Reply):
    """Reply of ``rchecksum``: weak_checksum, strong_checksum, xdata."""

    __slots__ = ('weak_checksum', 'strong_checksum', 'xdata')
    fields = ('weak_checksum', 'strong_checksum', 'xdata')
    fop = FOPS_BY_NAME['rchecksum']
    weak_checksum: int
    strong_checksum: Any
    xdata: Dict | None


class SetattrReply(Reply):
    """Reply of ``setattr``: preop_stbuf, postop_stbuf, xdata."""

    __slots__ = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fields = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fop = FOPS_BY_NAME['setattr']
    preop_stbuf: Iatt | None
    postop_stbuf: Iatt | None
    xdata: Dict | None


class FsetattrReply(Reply):
    """Reply of ``fsetattr``: preop_stbuf, postop_stbuf, xdata."""

    __slots__ = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fields = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fop = FOPS_BY_NAME['fsetattr']
    preop_stbuf: Iatt | None
    postop_stbuf: Iatt | None
    xdata: Dict | None


class ReaddirpReply(Reply):
    """Reply of ``readdirp``: entries, xdata."""

    __slots__ = ('entries', 'xdata')
    fields = ('entries', 'xdata')
    fop = FOPS_BY_NAME['readdirp']
    entries: Dirents | list[Dirent] | None
    xdata: Dict | None


class GetspecReply(Reply):
    """Reply of ``getspec``: spec_data."""

    __slots__ = ('spec_data',)
    fields = ('spec_data',)
    fop = FOPS_BY_NAME['getspec']
    spec_data: str | None


class FremovexattrReply(Reply):
    """Reply of ``fremovexattr``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['fremovexattr']
    xdata: Dict | None


class FallocateReply(Reply):
    """Reply of ``fallocate``: preop_stbuf, postop_stbuf, xdata."""

    __slots__ = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fields = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fop = FOPS_BY_NAME['fallocate']
    preop_stbuf: Iatt | None
    postop_stbuf: Iatt | None
    xdata: Dict | None


class DiscardReply(Reply):
    """Reply of ``discard``: preop_stbuf, postop_stbuf, xdata."""

    __slots__ = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fields = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fop = FOPS_BY_NAME['discard']
    preop_stbuf: Iatt | None
    postop_stbuf: Iatt | None
    xdata: Dict | None


class ZerofillReply(Reply):
    """Reply of ``zerofill``: preop_stbuf, postop_stbuf, xdata."""

    __slots__ = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fields = ('preop_stbuf', 'postop_stbuf', 'xdata')
    fop = FOPS_BY_NAME['zerofill']
    preop_stbuf: Iatt | None
    postop_stbuf: Iatt | None
    xdata: Dict | None


class IpcReply(Reply):
    """Reply of ``ipc``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['ipc']
    xdata: Dict | None


class SeekReply(Reply):
    """Reply of ``seek``: offset, xdata."""

    __slots__ = ('offset', 'xdata')
    fields = ('offset', 'xdata')
    fop = FOPS_BY_NAME['seek']
    offset: int
    xdata: Dict | None


class LeaseReply(Reply):
    """Reply of ``lease``: lease, xdata."""

    __slots__ = ('lease', 'xdata')
    fields = ('lease', 'xdata')
    fop = FOPS_BY_NAME['lease']
    lease: Lease | None
    xdata: Dict | None


class CompoundReply(Reply):
    """Reply of ``compound``: data, xdata."""

    __slots__ = ('data', 'xdata')
    fields = ('data', 'xdata')
    fop = FOPS_BY_NAME['compound']
    data: Any
    xdata: Dict | None


class GetactivelkReply(Reply):
    """Reply of ``getactivelk``: locklist, xdata."""

    __slots__ = ('locklist', 'xdata')
    fields = ('locklist', 'xdata')
    fop = FOPS_BY_NAME['getactivelk']
    locklist: Any
    xdata: Dict | None


class SetactivelkReply(Reply):
    """Reply of ``setactivelk``: xdata."""

    __slots__ = ('xdata',)
    fields = ('xdata',)
    fop = FOPS_BY_NAME['setactivelk']
    xdata: Dict | None


class PutReply(Reply):
    """Reply of ``put``: inode, buf, preparent, postparent, xdata."""

    __slots__ = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fields = ('inode', 'buf', 'preparent', 'postparent', 'xdata')
    fop = FOPS_BY_NAME['put']
    inode: Inode | None
    buf: Iatt | None
    preparent: Iatt | None
    postparent: Iatt | None
    xdata: Dict | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class IcreateReply(Reply):
    """Reply of ``icreate``: inode, buf, xdata."""

    __slots__ = ('inode', 'buf', 'xdata')
    fields = ('inode', 'buf', 'xdata')
    fop = FOPS_BY_NAME['icreate']
    inode: Inode | None
    buf: Iatt | None
    xdata: Dict | None

    @property
    def iatt(self) -> Iatt | None:
        """Alias of ``buf``."""
        return self.buf


class NamelinkReply(Reply):
    """Reply of ``namelink``: prebuf, postbuf, xdata."""

    __slots__ = ('prebuf', 'postbuf', 'xdata')
    fields = ('prebuf', 'postbuf', 'xdata')
    fop = FOPS_BY_NAME['namelink']
    prebuf: Iatt | None
    postbuf: Iatt | None
    xdata: Dict | None


class CopyFileRangeReply(Reply):
    """Reply of ``copy_file_range``: stbuf, prebuf_dst, postbuf_dst, xdata."""

    __slots__ = ('stbuf', 'prebuf_dst', 'postbuf_dst', 'xdata')
    fields = ('stbuf', 'prebuf_dst', 'postbuf_dst', 'xdata')
    fop = FOPS_BY_NAME['copy_file_range']
    stbuf: Iatt | None
    prebuf_dst: Iatt | None
    postbuf_dst: Iatt | None
    xdata: Dict | None


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

