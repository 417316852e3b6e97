"""Values GlusterFS passes in fop arguments (10.x and 11.x: unchanged between them).

Where each comes from (a unit test compares them with the installed headers):
``FALLOC_FL_*``: linux/falloc.h (also glusterfs/compat.h); ``SETATTR_*``:
glusterfs/xlator.h ``GF_SET_ATTR_*`` / ``GF_ATTR_*_NOW``; ``XATTR_*``:
linux/xattr.h; ``ENTRYLK_*``, ``GF_SEEK_DATA``/``GF_SEEK_HOLE`` (seek's ``what``),
``GF_XATTROP_*``, ``F_RESLK_*``: glusterfs/glusterfs-fops.h.  ``lk``/``inodelk``
commands are the host's ``fcntl.F_GETLK``/``F_SETLK``/``F_SETLKW`` and lock
types ``fcntl.F_RDLCK``/``F_WRLCK``/``F_UNLCK``, re-exported here.
"""

from __future__ import annotations

import fcntl as _fcntl

# fallocate(fd, keep_size, offset, len, xdata): ``keep_size`` is the whole mode
# bitmask of fallocate(2), not a boolean (see docs/fops.md: what FUSE keeps of it).
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_NO_HIDE_STALE = 0x04
FALLOC_FL_COLLAPSE_RANGE = 0x08
FALLOC_FL_ZERO_RANGE = 0x10
FALLOC_FL_INSERT_RANGE = 0x20
FALLOC_FL_UNSHARE_RANGE = 0x40

# setattr/fsetattr ``valid``: which fields of ``stbuf`` to apply.
SETATTR_MODE = 0x1
SETATTR_UID = 0x2
SETATTR_GID = 0x4
SETATTR_SIZE = 0x8
SETATTR_ATIME = 0x10
SETATTR_MTIME = 0x20
SETATTR_CTIME = 0x40
SETATTR_ATIME_NOW = 0x80  # with SETATTR_ATIME: "now" (utimensat UTIME_NOW)
SETATTR_MTIME_NOW = 0x100

# setxattr/fsetxattr ``flags``
XATTR_CREATE = 0x1  # fail with EEXIST if the name exists
XATTR_REPLACE = 0x2  # fail with ENODATA if it does not

# lk/inodelk/finodelk ``cmd`` and ``flock.type`` (host fcntl values)
F_GETLK = _fcntl.F_GETLK
F_SETLK = _fcntl.F_SETLK
F_SETLKW = _fcntl.F_SETLKW
F_RDLCK = _fcntl.F_RDLCK
F_WRLCK = _fcntl.F_WRLCK
F_UNLCK = _fcntl.F_UNLCK
# lock recovery commands (glusterfs_lk_recovery_cmds_t)
F_RESLK_LCK = 200
F_RESLK_LCKW = 201
F_RESLK_UNLCK = 202
F_GETLK_FD = 203

# entrylk/fentrylk ``cmd`` and ``type``
ENTRYLK_LOCK = 0
ENTRYLK_UNLOCK = 1
ENTRYLK_LOCK_NB = 2
ENTRYLK_RDLCK = 0
ENTRYLK_WRLCK = 1

# seek ``what`` (gf_seek_what_t)
GF_SEEK_DATA = 0  # not os.SEEK_DATA (3): FUSE's lseek is translated
GF_SEEK_HOLE = 1

# xattrop/fxattrop ``optype`` (gf_xattrop_flags_t)
GF_XATTROP_ADD_ARRAY = 0
GF_XATTROP_ADD_ARRAY64 = 1
GF_XATTROP_OR_ARRAY = 2
GF_XATTROP_AND_ARRAY = 3
GF_XATTROP_GET_AND_SET = 4
GF_XATTROP_ADD_ARRAY_WITH_DEFAULT = 5
GF_XATTROP_ADD_ARRAY64_WITH_DEFAULT = 6

__all__ = [n for n in dir() if n[0].isupper()]
