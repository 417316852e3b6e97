"""readonly: makes everything below it read-only; every modifying fop fails with EROFS.

Reads (lookup, stat, readv, readdir(p), getxattr, readlink, statfs, access,
seek, ...) and locks pass through.  Refused with EROFS:

* every fop that changes names, data or metadata: mknod, mkdir, unlink, rmdir,
  symlink, rename, link, truncate, ftruncate, writev, setattr, fsetattr,
  setxattr, fsetxattr, removexattr, fremovexattr, create, fallocate, discard,
  zerofill, put, icreate, namelink, copy_file_range;
* xattrop / fxattrop unless every value is all zeroes (a zero xattrop only
  reads the counters: AFR and the self-heal daemon use it to read pending
  changelogs, as GlusterFS's read-only translator allows);
* open with write access (O_WRONLY, O_RDWR) or O_TRUNC -- what Linux refuses on
  a ``mount -o ro`` filesystem.  O_RDONLY|O_APPEND is allowed (it writes
  nothing; Linux allows it on a read-only mount too);
* access() asking for W_OK (Linux answers EROFS there on a read-only mount;
  the C translator allows it).  Not visible through FUSE: the GlusterFS FUSE
  mount uses ``default_permissions``, so the kernel answers access() itself.

Option ``read-only`` (bool, default on; same key as the C translator, settable
at run time through reconfigure): off passes everything through.

Differences from GlusterFS's C ``features/read-only`` (``option read-only on``),
checked through FUSE by tests/library/test_readonly.py:

===================================  ==================  ==================
operation (through FUSE)             this translator     C read-only
===================================  ==================  ==================
fsync() of a directory (fsyncdir)    allowed             EROFS
everything else tested: open for     same errno          same errno
write (O_WRONLY, O_RDWR, O_APPEND,   (EROFS for the      (EROFS / ok / ENOSYS
O_RDONLY|O_TRUNC), create, mkdir,    modifications, ok   for flock without
mknod, symlink, link, rename,        for the reads)      features/locks)
rename over, unlink, rmdir,
truncate, chmod, chown, utime,
setxattr, removexattr; stat, read,
readdir, readlink, getxattr,
listxattr, statfs, O_RDONLY|O_APPEND
===================================  ==================  ==================

Through FUSE, open(O_RDONLY|O_TRUNC) reaches both translators as a refused
truncate.  A direct ``open`` fop with O_RDONLY|O_TRUNC (gfapi, or a
translator above) differs: the C translator checks only O_ACCMODE and lets it
truncate the file; this one refuses it.

Not reachable through FUSE on a read-only mount (the kernel refuses write
fops on fds opened read-only with EBADF first), so only visible to gfapi/NFS
or to translators above: the C translator lets discard, zerofill,
fremovexattr, put, icreate, namelink and copy_file_range through; this one
refuses them.  The C translator also exempts internal clients (frame pid < 0:
self-heal, rebalance, gsyncd); this translator refuses them too (it could tell
them apart: ``self.caller.pid`` is the frame's pid).

Where it belongs: anywhere above the data it protects.  Client side (right
under FUSE/gfapi) it makes one mount read-only; brick side (above
storage/posix, where glusterd puts ``features/read-only``) it makes the brick
read-only for every client -- but then self-heal cannot write either::

    volume ro
        type features/glupy
        option module glupy.library.readonly
        subvolumes posix
    end-volume
"""

from __future__ import annotations

import errno
import os

from glupy import Dict, Fd, FopError, Loc, Option, Refuse, Translator, Wind
from glupy.replies import FxattropReply, XattropReply

# Fops that modify state and fail unconditionally when read-only.
REFUSED = (
    "mknod", "mkdir", "unlink", "rmdir", "symlink", "rename", "link", "truncate", "writev",
    "setxattr", "removexattr", "create", "ftruncate", "fsetxattr", "fremovexattr", "setattr",
    "fsetattr", "fallocate", "discard", "zerofill", "put", "icreate", "namelink",
    "copy_file_range",
)
# An open that may modify the file: O_WRONLY or O_RDWR (an access mode of 3 is
# invalid, and refused with them), or O_TRUNC.
WRITE_OPEN_BITS = os.O_WRONLY | os.O_RDWR | os.O_TRUNC


def _all_zero(xattr: Dict | None) -> bool:
    if xattr is None:
        return True
    for value in xattr.values():
        if isinstance(value, bytes | bytearray):
            if any(value):
                return False
        elif value:
            return False
    return True


class ReadOnly(Translator):
    """Refuses every modification with EROFS.  The bridge decides all but xattrop and
    fxattrop in C (glupy.Refuse): reads and refusals cost no Python."""

    read_only: Option[bool] = Option(bool, default=True,
                                     doc="refuse modifications (off: pass everything through)")

    refuse_modifications = Refuse(errno.EROFS, *REFUSED, when=read_only)
    refuse_write_opens = Refuse(errno.EROFS, "open", when=read_only, if_bits=WRITE_OPEN_BITS)
    refuse_write_access = Refuse(errno.EROFS, "access", when=read_only, if_bits=os.W_OK)

    async def xattrop(self, loc: Loc, optype: int, xattr: Dict | None,
                      xdata: Dict | None) -> Wind[XattropReply]:
        if self.read_only and not _all_zero(xattr):
            raise FopError(errno.EROFS)
        return self.child.xattrop(loc, optype, xattr, xdata)

    async def fxattrop(self, fd: Fd, optype: int, xattr: Dict | None,
                       xdata: Dict | None) -> Wind[FxattropReply]:
        if self.read_only and not _all_zero(xattr):
            raise FopError(errno.EROFS)
        return self.child.fxattrop(fd, optype, xattr, xdata)

