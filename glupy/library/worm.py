"""worm: write once, read many -- a file becomes immutable once it was written and closed.

Life of a file:

1. created (or pre-existing, never written through this translator): mutable;
2. written through an fd (writev, ftruncate, fallocate, discard, zerofill,
   copy_file_range into it): the fd is marked "written" (fd context);
3. that fd is flushed (``close()`` sends flush): the translator winds
   ``fsetxattr trusted.glupy.worm = <commit time>`` on the file -- the file is
   *committed* for good (the xattr survives restarts; the time is seconds
   since the epoch, as text);
4. committed: every modification fails with EROFS -- open with O_WRONLY,
   O_RDWR, O_APPEND or O_TRUNC, writev, truncate, ftruncate, fallocate,
   discard, zerofill, copy_file_range into it, setattr/fsetattr of anything
   but atime (chmod, chown, mtime, size), setxattr, fsetxattr, removexattr,
   fremovexattr, link (as GlusterFS's worm does), rename of it, unlink of it
   and rename over it.  Reads always work.
5. with ``retention`` > 0, once ``commit time + retention`` has passed the
   file may be deleted (unlink, or replaced by a rename over it); it stays
   unmodifiable.

Nobody can set or remove ``trusted.glupy.worm`` through this translator
(EPERM), committed or not.  Directories, symlinks and special files are never
committed; mkdir/rmdir/symlink/mknod are not restricted.

Option ``retention`` (float seconds, default 0 = committed files can never be
deleted).

How the state is known: lookup asks storage/posix for the xattr in its xdata
(``xdata["trusted.glupy.worm"] = 0``; posix returns it in the reply's xdata)
and caches it in the inode context; inodes that reached the translator
without a lookup (readdirp) are checked with one getxattr wind on first use.
A commit made by this translator updates the context at once; "committed" is
never downgraded by a late lookup reply.

Limits:

* Only writes through a *flushed* fd commit: anonymous fds (NFS, gfapi's
  ``glfs_h_*`` paths) and files written but never closed stay mutable.  A file
  created and closed without any write stays mutable (``touch f; echo x > f``
  commits at the second close).
* Several fds: the first flush of a written fd commits; writes through other
  fds (or dup()s) still open fail with EROFS from then on.
* The state is cached per process: with several clients, put the translator
  on the brick side (above storage/posix), where every client's fops pass,
  as glusterd does with ``features/worm``.  Client-side, a commit made by
  another client is seen only once the inode is forgotten and looked up again.
* A root user with access to the bricks can remove the xattr there.

Differences from GlusterFS's C ``features/worm`` with ``option worm on``
(volume-level WORM; checked through FUSE by tests/library/test_worm.py):

=======================================  ===============  ==============
operation                                this translator  C worm on
=======================================  ===============  ==============
open for write / truncate / unlink /     allowed          EROFS (every
rename / link of a file never written                     existing file is
through it (pre-existing, or created                      WORM)
and closed empty)
chmod/chown/utime (mtime) of a           EROFS            allowed
committed file
setxattr of a committed file             EROFS            allowed
rmdir                                    allowed          EROFS
create + write + close, then open for    EROFS            EROFS
write, append, truncate, unlink,
rename, link, removexattr
reads, mkdir, symlink, create            allowed          allowed
=======================================  ===============  ==============

The C ``worm-file-level`` mode (``trusted.worm_file`` + ``trusted.reten_state``,
auto-commit after ``auto-commit-period`` seconds of inactivity, retention
tracked in atime, relax/enterprise modes, ``worm-files-deletable``) is a
different model: this translator commits on close, not after a delay, and
keeps only a commit time.  The C translator also exempts internal clients
(frame pid < 0); this one does not (``self.caller.pid`` would tell them apart).

Where it belongs: brick side, right above storage/posix::

    volume worm
        type features/glupy
        option module glupy.library.worm
        option retention 86400
        subvolumes posix
    end-volume
"""

from __future__ import annotations

import errno
import os
import time

from glupy import Dict, FopCall, FopError, Option, Reply, Translator, policy
from glupy.replies import (
    CreateReply,
    FlushReply,
    LinkReply,
    LookupReply,
    OpenReply,
    RenameReply,
    TruncateReply,
    UnlinkReply,
)
from glupy.types import NULL_GFID, Fd, IaType, Inode, Loc

WORM_XATTR = "trusted.glupy.worm"
GF_SET_ATTR_ATIME = 0x10
WRITE_OPEN_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_TRUNC
_NO_XATTR = (errno.ENODATA, errno.ENOENT, errno.EOPNOTSUPP)

# fd context values
_WRITTEN = "written"
_COMMITTED = "committed"


def parse_commit(value: str | bytes | bytearray | float | None) -> float | None:
    """The commit time stored in the xattr (None if absent or unreadable)."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        value = bytes(value).rstrip(b"\0").decode("ascii", "replace")
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0  # present but garbled: still committed


class Worm(Translator):
    """Files become immutable once written and closed."""

    retention: Option[float] = Option(float, default=0.0, min=0,
                       doc="seconds after the commit from which a file may be deleted (0: never)")

    # ------------------------------------------------------------ state
    @staticmethod
    def _learn(inode: Inode | None, committed: float | None, regular: bool = False) -> None:
        # a looked-up inode is not linked yet: its type is still INVAL, the caller knows better
        if inode is None or not (regular or inode.type == IaType.REG):
            return
        if committed is None and isinstance(inode.ctx, float):
            return  # never downgrade a commit (a lookup reply may be older than it)
        inode.ctx = committed if committed is not None else False

    async def _committed(self, inode: Inode | None, loc: Loc | None = None,
                         fd: Fd | None = None) -> float | None:
        """Commit time of the file, or None if it is mutable."""
        if inode is None or inode.type not in (IaType.REG, IaType.INVAL):
            return None
        state = inode.ctx
        if state is None:  # not seen by our lookup or create: ask the child once
            if inode.gfid == NULL_GFID:
                return None  # not resolved yet: nothing below knows it either
            # an anonymous fd, not the loc: fuse leaves loc->gfid empty in some fops
            # (rename's oldloc) and posix refuses a loc-based getxattr then (EFAULT)
            anon = fd if fd is not None else Fd.open_anonymous(inode)
            try:
                reply = await self.child.fgetxattr(anon, WORM_XATTR, None)
                value = reply.dict.get(WORM_XATTR) if reply.dict is not None else None
                state = parse_commit(value)
            except FopError as e:
                if e.errno not in _NO_XATTR:
                    raise
                state = None
            self._learn(inode, state)
            state = inode.ctx
        return state if isinstance(state, float) else None

    async def _refuse_if_committed(self, inode: Inode | None, loc: Loc | None = None,
                                   fd: Fd | None = None) -> None:
        if await self._committed(inode, loc, fd) is not None:
            raise FopError(errno.EROFS)

    async def _refuse_delete(self, inode: Inode | None, loc: Loc) -> None:
        committed = await self._committed(inode, loc)
        if committed is None:
            return
        if self.retention <= 0 or time.time() < committed + self.retention:
            raise FopError(errno.EROFS)

    @staticmethod
    def _mark_written(fd: Fd) -> None:
        if fd.ctx is None:
            fd.ctx = _WRITTEN

    # ------------------------------------------------------------ lookup / commit
    async def lookup(self, loc: Loc, xdata: Dict | None) -> LookupReply:
        if xdata is None:
            xdata = Dict()
        xdata[WORM_XATTR] = 0  # posix returns the xattr in the reply's xdata
        reply = await self.child.lookup(loc, xdata)
        if reply.buf is not None and reply.buf.type == IaType.REG:
            value = reply.xdata.get(WORM_XATTR) if reply.xdata is not None else None
            self._learn(reply.inode, parse_commit(value), regular=True)
        return reply

    async def flush(self, fd: Fd, xdata: Dict | None) -> FlushReply:
        reply = await self.child.flush(fd, xdata)
        if fd.ctx == _WRITTEN:
            fd.ctx = _COMMITTED
            inode = fd.inode
            if inode is not None and not isinstance(inode.ctx, float):
                now = time.time()
                value = Dict.from_mapping({WORM_XATTR: f"{now:.6f}".encode()})
                await self.child.fsetxattr(fd, value, 0, None)
                inode.ctx = now
                self.log.debug("worm: committed %r", inode)
        return reply

    async def create(self, loc: Loc, flags: int, mode: int, umask: int, fd: Fd,
                     xdata: Dict | None) -> CreateReply:
        reply = await self.child.create(loc, flags, mode, umask, fd, xdata)
        self._learn(reply.inode, None, regular=True)  # a new file: mutable
        return reply

    # ------------------------------------------------------------ opens
    async def open(self, loc: Loc, flags: int, fd: Fd, xdata: Dict | None) -> OpenReply:
        if flags & WRITE_OPEN_FLAGS:
            await self._refuse_if_committed(loc.inode, loc)
        return await self.child.open(loc, flags, fd, xdata)

    # ------------------------------------------------------------ data writes (fd)
    @policy("writev", "ftruncate", "fallocate", "discard", "zerofill", "copy_file_range")
    async def write_data(self, call: FopCall) -> Reply:
        """A write through an fd: refused into a committed file; marks the fd written."""
        fd: Fd = call.arg("fd_out") if call.name == "copy_file_range" else call.arg("fd")
        await self._refuse_if_committed(fd.inode, fd=fd)
        reply = await call.wind()
        self._mark_written(fd)
        return reply

    # ------------------------------------------------------------ metadata
    async def truncate(self, loc: Loc, offset: int, xdata: Dict | None) -> TruncateReply:
        await self._refuse_if_committed(loc.inode, loc)
        return await self.child.truncate(loc, offset, xdata)

    @policy("setattr", "fsetattr")
    async def change_attributes(self, call: FopCall) -> Reply:
        """chmod, chown, utime, size: refused on a committed file (atime alone is not)."""
        if call.arg("valid") & ~GF_SET_ATTR_ATIME:
            await self._refuse_target_if_committed(call)
        return await call.wind()

    @policy("setxattr", "fsetxattr", "removexattr", "fremovexattr")
    async def change_xattrs(self, call: FopCall) -> Reply:
        """Refused on a committed file; WORM_XATTR itself is never changed through here."""
        if call.name.endswith("setxattr"):
            xattrs: Dict | None = call.arg("dict")
            touches_worm = xattrs is not None and WORM_XATTR in xattrs
        else:
            touches_worm = call.arg("name") == WORM_XATTR
        if touches_worm:
            raise FopError(errno.EPERM)
        await self._refuse_target_if_committed(call)
        return await call.wind()

    async def _refuse_target_if_committed(self, call: FopCall) -> None:
        loc = call.loc
        if loc is not None:
            await self._refuse_if_committed(loc.inode, loc)
        else:
            fd = call.fd
            await self._refuse_if_committed(None if fd is None else fd.inode, fd=fd)

    # ------------------------------------------------------------ names
    async def unlink(self, loc: Loc, xflags: int, xdata: Dict | None) -> UnlinkReply:
        await self._refuse_delete(loc.inode, loc)
        return await self.child.unlink(loc, xflags, xdata)

    async def rename(self, oldloc: Loc, newloc: Loc, xdata: Dict | None) -> RenameReply:
        await self._refuse_if_committed(oldloc.inode, oldloc)
        if newloc.inode is not None:
            await self._refuse_delete(newloc.inode, newloc)
        return await self.child.rename(oldloc, newloc, xdata)

    async def link(self, oldloc: Loc, newloc: Loc, xdata: Dict | None) -> LinkReply:
        await self._refuse_if_committed(oldloc.inode, oldloc)
        return await self.child.link(oldloc, newloc, xdata)
