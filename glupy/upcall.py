"""Upcalls: what another client changed, as the bricks' ``features/upcall`` reports it.

With ``features.cache-invalidation on``, a brick tells every client that used an inode
recently (within ``features.cache-invalidation-timeout`` seconds of that client's last
fop on it, on that brick) when another client changes it.  The client graph receives
this as ``GF_EVENT_UPCALL``; glupy hands a translator that defines
``upcall(self, event)`` a typed copy of it:

* :class:`CacheInvalidation`: ``gfid`` changed; ``flags`` (:class:`UpFlag`) say what;
  ``stat`` is its new iatt, ``parent``/``old_parent`` the new iatt of its parent
  directory and, for a rename, of the old parent (``None`` when not sent).  GlusterFS
  sends no entry *names*: a create/mkdir/mknod/symlink in directory D is an
  invalidation of D itself (``UP_TIMES``, ``stat`` is D's); unlink/link/rename are
  invalidations of the file with ``UP_PARENT_TIMES`` and the parent(s) in
  ``parent``/``old_parent``.
* :class:`LeaseRecall`, :class:`InodelkContention`, :class:`EntrylkContention`: the
  lease and lock upcalls, copied field by field.

Every value is copied out of GlusterFS's memory before the hook runs (the C struct
lives only for the notify call), so an event may be kept and handed to other threads.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from glupy import types as _t
from glupy.types import NULL_GFID, Flock, Iatt


class UpcallKind(enum.IntEnum):
    """``gf_upcall_event_t``."""

    CACHE_INVALIDATION = 1
    RECALL_LEASE = 2
    INODELK_CONTENTION = 3
    ENTRYLK_CONTENTION = 4


class UpFlag(enum.IntFlag):
    """What a cache invalidation says changed (``UP_*`` of upcall-utils.h)."""

    NLINK = 0x1
    MODE = 0x2
    OWN = 0x4
    SIZE = 0x8
    TIMES = 0x10
    ATIME = 0x20
    PERM = 0x40
    RENAME = 0x80
    FORGET = 0x100
    PARENT_TIMES = 0x200
    XATTR = 0x400
    XATTR_RM = 0x800
    EXPLICIT_LOOKUP = 0x1000
    INVAL_ATTR = 0x2000


#: flags after which a cached iatt of the inode is wrong (everything but atime-only)
IATT_FLAGS = (UpFlag.NLINK | UpFlag.MODE | UpFlag.OWN | UpFlag.SIZE | UpFlag.TIMES | UpFlag.PERM
              | UpFlag.RENAME | UpFlag.FORGET | UpFlag.XATTR | UpFlag.XATTR_RM
              | UpFlag.EXPLICIT_LOOKUP | UpFlag.INVAL_ATTR)


@dataclass(frozen=True)
class Upcall:
    """Common part: the inode the upcall is about and ``client_uid``, the client it
    is addressed to: set where the brick's upcall xlator emits it; ``None`` in client
    graphs (protocol/client does not carry it over the wire)."""

    gfid: bytes
    client_uid: str | None

    @property
    def kind(self) -> UpcallKind:
        raise NotImplementedError


@dataclass(frozen=True)
class CacheInvalidation(Upcall):
    """``struct gf_upcall_cache_invalidation``."""

    flags: UpFlag
    expire_time_attr: int
    stat: Iatt | None
    parent: Iatt | None
    old_parent: Iatt | None
    xattrs: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> UpcallKind:
        return UpcallKind.CACHE_INVALIDATION

    @property
    def parent_gfid(self) -> bytes | None:
        return self.parent.gfid if self.parent is not None else None

    @property
    def old_parent_gfid(self) -> bytes | None:
        return self.old_parent.gfid if self.old_parent is not None else None

    def directories(self) -> list[bytes]:
        """Gfids whose entries may have changed: the inode itself (a directory that
        got or lost a name) and the parent/old parent that were sent."""
        out = [self.gfid]
        for g in (self.parent_gfid, self.old_parent_gfid):
            if g is not None and g not in out:
                out.append(g)
        return out


@dataclass(frozen=True)
class LeaseRecall(Upcall):
    """``struct gf_upcall_recall_lease``: give the lease back (or downgrade to ``lease_type``)."""

    lease_type: int
    tid: bytes
    xdata: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> UpcallKind:
        return UpcallKind.RECALL_LEASE


@dataclass(frozen=True)
class InodelkContention(Upcall):
    """``struct gf_upcall_inodelk_contention``: another client waits for a lock we hold."""

    flock: Flock
    pid: int
    domain: str | None
    xdata: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> UpcallKind:
        return UpcallKind.INODELK_CONTENTION


@dataclass(frozen=True)
class EntrylkContention(Upcall):
    """``struct gf_upcall_entrylk_contention``."""

    type: int
    pid: int
    name: str | None
    domain: str | None
    xdata: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> UpcallKind:
        return UpcallKind.ENTRYLK_CONTENTION


AnyUpcall = CacheInvalidation | LeaseRecall | InodelkContention | EntrylkContention


class UnknownUpcall(ValueError):
    """GF_EVENT_UPCALL data glupy cannot read (no data, an unknown event type)."""


def _iatt(ffi: Any, c: Any) -> Iatt | None:
    if bytes(ffi.buffer(c.ia_gfid)) == NULL_GFID:
        return None
    return Iatt(ffi.new("struct iatt *", c))


def _dict(ffi: Any, p: Any) -> dict[str, Any]:
    if p == ffi.NULL:
        return {}
    return _t.Dict(p).copy()


def _str(ffi: Any, p: Any) -> str | None:
    return None if p == ffi.NULL else ffi.string(p).decode("utf-8", "surrogateescape")


def from_c(ffi: Any, data: Any) -> AnyUpcall:
    """A copy of the ``struct gf_upcall *`` ``data`` (valid only during this call).
    Raises :class:`UnknownUpcall` for data it cannot read."""
    if data == ffi.NULL:
        raise UnknownUpcall("GF_EVENT_UPCALL without data")
    up = ffi.cast("struct gf_upcall *", data)
    gfid = bytes(ffi.buffer(up.gfid))
    uid = _str(ffi, up.client_uid)
    kind = int(up.event_type)
    if up.data == ffi.NULL:
        raise UnknownUpcall(f"upcall of type {kind} without payload")
    if kind == UpcallKind.CACHE_INVALIDATION:
        ci = ffi.cast("struct gf_upcall_cache_invalidation *", up.data)
        return CacheInvalidation(gfid, uid, UpFlag(int(ci.flags)), int(ci.expire_time_attr),
                                 _iatt(ffi, ci.stat), _iatt(ffi, ci.p_stat), _iatt(ffi, ci.oldp_stat),
                                 _dict(ffi, ci.dict))
    if kind == UpcallKind.RECALL_LEASE:
        rl = ffi.cast("struct gf_upcall_recall_lease *", up.data)
        return LeaseRecall(gfid, uid, int(rl.lease_type), bytes(ffi.buffer(rl.tid)), _dict(ffi, rl.dict))
    if kind == UpcallKind.INODELK_CONTENTION:
        il = ffi.cast("struct gf_upcall_inodelk_contention *", up.data)
        return InodelkContention(gfid, uid, Flock(ffi.new("struct gf_flock *", il.flock)), int(il.pid),
                                 _str(ffi, il.domain), _dict(ffi, il.xdata))
    if kind == UpcallKind.ENTRYLK_CONTENTION:
        el = ffi.cast("struct gf_upcall_entrylk_contention *", up.data)
        return EntrylkContention(gfid, uid, int(el.type), int(el.pid), _str(ffi, el.name),
                                 _str(ffi, el.domain), _dict(ffi, el.xdata))
    raise UnknownUpcall(f"unknown upcall event type {kind}")
