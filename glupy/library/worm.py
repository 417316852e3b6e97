"""worm: write once, read many -- a file becomes immutable once it was written and closed.

Life of a file:

1. created (or pre-existing, never written through this translator): mutable;
2. written through an fd (writev, ftruncate, fallocate, discard, zerofill,
   copy_file_range into it): the fd is marked "written" (a ``glupy.Mark`` the
   bridge sets in C when it lets the write through, whether or not the write
   then succeeds);
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

How the state is known, and what costs Python: the commit is a ``glupy.Mark``
the bridge keeps in C on each inode, learned from the xattr: every lookup asks
storage/posix for it (in its xdata; posix answers in the reply's xdata), and
files made by create are known to be mutable.  The fd's "written" mark is set
in C too, by the writing fops.  So the bridge decides in C, without Python:
every read (lookup, stat, readv, open for reading, readdir(p), getxattr, ...),
every write into a file that is not committed, and every refusal of a
modification of a committed file (glupy.Refuse with ``if_marked``).  Python
runs only for:

* flush of a written fd (the commit: glupy.WhenMarked);
* unlink and rename where a file involved is committed (the retention check);
* setxattr, fsetxattr, removexattr, fremovexattr (the EPERM check on the
  xattr's name);
* a modifying fop on an inode the bridge has not seen in a lookup or create
  (met through readdirp, or an anonymous fd): one fgetxattr wind, then the mark
  is known in C.

A commit made by this translator marks the inode at once; lookups only ever
add the mark, never remove it.

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

from glupy import Dict, FopCall, FopError, Mark, Option, Refuse, Reply, Translator, WhenMarked, Wind, policy
from glupy.replies import FlushReply, RenameReply, UnlinkReply
from glupy.types import NULL_GFID, Fd, Inode, Loc

WORM_XATTR = "trusted.glupy.worm"
GF_SET_ATTR_ATIME = 0x10
WRITE_OPEN_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_TRUNC
# fops that write data through an fd (copy_file_range: into fd_out)
DATA_WRITES = ("writev", "ftruncate", "fallocate", "discard", "zerofill", "copy_file_range")
_NO_XATTR = (errno.ENODATA, errno.ENOENT, errno.EOPNOTSUPP)


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

    # decided in C (glupy.Mark, glupy.Refuse, glupy.WhenMarked)
    committed = Mark("inode", xattr=WORM_XATTR)
    written = Mark("fd", set_by=DATA_WRITES)
    refuse_writes = Refuse(errno.EROFS, *DATA_WRITES, "truncate", "link", if_marked=committed)
    refuse_write_opens = Refuse(errno.EROFS, "open", if_bits=WRITE_OPEN_FLAGS, if_marked=committed)
    refuse_attribute_changes = Refuse(errno.EROFS, "setattr", "fsetattr",
                                      if_bits=0xFFFFFFFF & ~GF_SET_ATTR_ATIME, if_marked=committed)
    commit_on_close = WhenMarked(written, "flush")
    check_retention = WhenMarked(committed, "unlink", "rename")

    # ------------------------------------------------------------ state
    async def _commit_time(self, inode: Inode, fd: Fd | None = None) -> float | None:
        """The commit time in the file's xattr, None if it has none."""
        # an anonymous fd, not the loc: fuse leaves loc->gfid empty in some fops
        # (rename's oldloc) and posix refuses a loc-based getxattr then (EFAULT)
        anon = fd if fd is not None else Fd.open_anonymous(inode)
        try:
            reply = await self.child.fgetxattr(anon, WORM_XATTR, None)
        except FopError as e:
            if e.errno not in _NO_XATTR:
                raise
            return None
        return parse_commit(reply.dict.get(WORM_XATTR) if reply.dict is not None else None)

    async def _is_committed(self, inode: Inode | None, fd: Fd | None = None) -> bool:
        if inode is None:
            return False
        state = self.committed.is_set(inode)
        if state is None:  # met without a lookup (readdirp, anonymous fd): ask the child once
            if inode.gfid == NULL_GFID:
                return False  # not resolved yet: nothing below knows it either
            state = await self._commit_time(inode, fd) is not None
            self.committed.learn(inode, state)
        return state

    async def _refuse_delete(self, inode: Inode | None) -> None:
        if inode is None or not await self._is_committed(inode):
            return
        if self.retention <= 0:
            raise FopError(errno.EROFS)
        committed = await self._commit_time(inode)
        if committed is None or time.time() < committed + self.retention:
            raise FopError(errno.EROFS)

    # ------------------------------------------------------------ not known yet
    @policy(*DATA_WRITES, "truncate", "link", "open", "setattr", "fsetattr")
    async def check_unknown(self, call: FopCall) -> Wind[Reply]:
        """A modification of an inode whose mark the bridge has not learned: refused if
        the xattr says committed (the bridge has seen the rule's other conditions hold)."""
        fd: Fd | None = call.arg("fd_out") if call.name == "copy_file_range" else call.fd
        loc = call.loc
        inode = loc.inode if loc is not None else (fd.inode if fd is not None else None)
        if await self._is_committed(inode, None if loc is not None else fd):
            raise FopError(errno.EROFS)
        return call.wind()

    # ------------------------------------------------------------ commit
    async def flush(self, fd: Fd, xdata: Dict | None) -> FlushReply:
        """Only for a written fd: commits the file."""
        reply = await self.child.flush(fd, xdata)
        self.written.clear(fd)
        inode = fd.inode
        if inode is not None and not self.committed.is_set(inode):
            now = time.time()
            value = Dict.from_mapping({WORM_XATTR: f"{now:.6f}".encode()})
            await self.child.fsetxattr(fd, value, 0, None)
            self.committed.set(inode)
            self.log.debug("worm: committed %r", inode)
        return reply

    # ------------------------------------------------------------ xattrs
    @policy("setxattr", "fsetxattr", "removexattr", "fremovexattr")
    async def change_xattrs(self, call: FopCall) -> Wind[Reply]:
        """Refused on a committed file; WORM_XATTR itself is never changed through here."""
        if call.name.endswith("setxattr"):
            xattrs: Dict | None = call.arg("dict")
            touches_worm = xattrs is not None and WORM_XATTR in xattrs
        else:
            touches_worm = call.arg("name") == WORM_XATTR
        if touches_worm:
            raise FopError(errno.EPERM)
        loc, fd = call.loc, call.fd
        inode = loc.inode if loc is not None else (fd.inode if fd is not None else None)
        if await self._is_committed(inode, None if loc is not None else fd):
            raise FopError(errno.EROFS)
        return call.wind()

    # ------------------------------------------------------------ names
    async def unlink(self, loc: Loc, xflags: int, xdata: Dict | None) -> Wind[UnlinkReply]:
        """Only when the file is committed (or not known yet)."""
        await self._refuse_delete(loc.inode)
        return self.child.unlink(loc, xflags, xdata)

    async def rename(self, oldloc: Loc, newloc: Loc, xdata: Dict | None) -> Wind[RenameReply]:
        """Only when a file involved is committed (or not known yet)."""
        if await self._is_committed(oldloc.inode):
            raise FopError(errno.EROFS)
        await self._refuse_delete(newloc.inode)
        return self.child.rename(oldloc, newloc, xdata)
