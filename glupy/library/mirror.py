"""mirror: a two-child mirror, the teaching example of multi-child winding.

Every modifying fop is wound to both children at once (``glupy.gather``) and
succeeds only if both succeed; reads go to the first healthy child and fall
back to the other on error.  Production GlusterFS uses ``cluster/replicate``
(AFR: self-heal, quorum, split-brain handling); this translator has none of
that.  It belongs right above two subvolumes::

    volume mirror
        type features/glupy
        option module glupy.library.mirror
        subvolumes left right
    end-volume
"""

from __future__ import annotations

import errno
from typing import Any, cast

from glupy import Event, FopCall, FopError, Reply, Translator, gather, policy

# Fops that change state: wound to both children.  open/opendir/create too,
# so both children hold their own context on the fd.
MODIFYING = frozenset({
    "mknod", "mkdir", "unlink", "rmdir", "symlink", "rename", "link", "truncate", "open",
    "writev", "flush", "fsync", "setxattr", "removexattr", "opendir", "fsyncdir", "create",
    "ftruncate", "fsetxattr", "fremovexattr", "setattr", "fsetattr", "fallocate", "discard",
    "zerofill", "put", "icreate", "namelink", "xattrop", "fxattrop", "copy_file_range",
})
# Read-only fops: first healthy child, fall back to the other on error.
READING = frozenset({
    "lookup", "stat", "fstat", "readlink", "readv", "statfs", "getxattr", "fgetxattr",
    "access", "readdir", "readdirp", "seek", "rchecksum",
})
# Errors that say "this child is broken", not "the answer is no".
FALLBACK_ERRNOS = frozenset({errno.EIO, errno.ENOTCONN, errno.EBADFD, errno.ESTALE})


class Mirror(Translator):
    """Keeps two subvolumes identical."""

    def init(self) -> None:
        if len(self.children) != 2:
            raise ValueError(f"mirror needs exactly 2 subvolumes, got {len(self.children)}")
        self.up = [True, True]

    def notify(self, event: int, data: Any) -> int:
        for i, child in enumerate(self.children):
            if data == child.xl:
                if event == Event.CHILD_DOWN:
                    self.up[i] = False
                    self.log.warning("mirror: %s is down", child.name)
                elif event == Event.CHILD_UP:
                    self.up[i] = True
        return self.default_notify(event, data)

    @policy(*MODIFYING)
    async def to_both(self, call: FopCall) -> Reply:
        """A modifying fop: wound to both children, fails if either fails."""
        left, right = self.children
        first, second = await gather(call.wind(left), call.wind(right), return_exceptions=True)
        for r in (first, second):
            if isinstance(r, BaseException):
                raise r
        return cast(Reply, first)

    @policy(*READING)
    async def read_first(self, call: FopCall) -> Reply:
        """A read-only fop: the first healthy child, the other one if that fails."""
        order = [c for c, up in zip(self.children, self.up, strict=True) if up] or self.children
        last: FopError | None = None
        for child in order:
            try:
                return await call.wind(child)
            except FopError as e:
                if e.errno not in FALLBACK_ERRNOS:
                    raise
                last = e
        assert last is not None
        raise last

