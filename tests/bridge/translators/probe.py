"""Test translators that issue fops no client can send through FUSE.

``Prober`` (top of the graph): ``getfattr -n glupy.probe.<fop> PATH`` makes it
wind <fop> itself, with arguments built from PATH's loc, to its child; the
xattr value is a JSON summary of the child's reply (or errno).

``Responder`` (bottom, above posix): answers the fops storage/posix does not
implement in 10.3 (getspec, compound, getactivelk, setactivelk, icreate,
namelink) with fixed replies, so they can travel the whole graph.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from typing import Any

from glupy import Dict, Fd, Flock, FopError, Iatt, Lease, Translator, replies

PREFIX = "glupy.probe."
ENTRYLK_LOCK, ENTRYLK_WRLCK = 0, 1
GF_XATTROP_ADD_ARRAY64 = 1
GF_GET_LEASE = 1


def _summary(value: Any) -> Any:
    if value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Iatt):
        return {"size": value.size, "type": value.type.name}
    if isinstance(value, Dict):
        return sorted(value)
    if isinstance(value, bytes):
        return value.hex()
    return type(value).__name__


def _args(fop: str, loc: Any) -> tuple[Any, ...]:
    fd = Fd.open_anonymous(loc.inode)
    lock = Flock()
    lock.type, lock.whence, lock.start, lock.len = fcntl.F_WRLCK, os.SEEK_SET, 0, 0
    counter = {"trusted.glupy.probe-counter": (1).to_bytes(8, "big")}
    lease = Lease()
    lease.cmd = GF_GET_LEASE
    return {
        "access": (loc, os.R_OK, None),
        "inodelk": ("glupy-probe", loc, fcntl.F_SETLK, lock, None),
        "finodelk": ("glupy-probe", fd, fcntl.F_SETLK, lock, None),
        "entrylk": ("glupy-probe", loc, "entry", ENTRYLK_LOCK, ENTRYLK_WRLCK, None),
        "fentrylk": ("glupy-probe", fd, "entry", ENTRYLK_LOCK, ENTRYLK_WRLCK, None),
        "xattrop": (loc, GF_XATTROP_ADD_ARRAY64, counter, None),
        "fxattrop": (fd, GF_XATTROP_ADD_ARRAY64, counter, None),
        "rchecksum": (fd, 0, 4096, None),
        "fsetxattr": (fd, {"user.probe": b"v1"}, 0, None),
        "fgetxattr": (fd, "user.probe", None),
        "fremovexattr": (fd, "user.probe", None),
        "copy_file_range": (fd, 0, fd, 1 << 20, 4, 0, None),
        "zerofill": (fd, 0, 4, None),
        "ipc": (0, None),
        "lease": (loc, lease, None),
        "getspec": ("probe-key", 0),
        "compound": (None, None),
        "getactivelk": (loc, None),
        "setactivelk": (loc, None, None),
        "put": (loc, 0o644, 0, os.O_WRONLY, b"put-data", 0, None, None),
        "icreate": (loc, 0o644, None),
        "namelink": (loc, None),
        "readdir": (fd, 4096, 0, None),
        "stat": (loc, None),
    }[fop]


class Prober(Translator):
    async def getxattr(self, loc, name, xdata):
        if not (name or "").startswith(PREFIX):
            return await self.child.getxattr(loc, name, xdata)
        fop = name[len(PREFIX):]
        try:
            reply = await getattr(self.child, fop)(*_args(fop, loc))
            result = {"op_ret": reply.op_ret, "errno": 0,
                      **{f: _summary(getattr(reply, f)) for f in reply.fields}}
        except FopError as e:
            result = {"op_ret": -1, "errno": e.errno}
        value = json.dumps(result, sort_keys=True).encode()
        return replies.GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))


class Responder(Translator):
    """Answers the fops posix lacks; everything else passes through in C."""

    async def getspec(self, key, flag):
        return replies.GetspecReply(f"spec:{key}:{flag}", op_ret=len(key))

    async def compound(self, args, xdata):
        return replies.CompoundReply(None, None, op_ret=0)

    async def getactivelk(self, loc, xdata):
        return replies.GetactivelkReply(None, Dict.from_mapping({"responder": "getactivelk"}))

    async def setactivelk(self, loc, locklist, xdata):
        raise FopError(errno.EPERM)

    async def icreate(self, loc, mode, xdata):
        buf = Iatt()
        buf.size = mode
        return replies.IcreateReply(loc.inode, buf, None)

    async def namelink(self, loc, xdata):
        return replies.NamelinkReply(Iatt(), Iatt(), Dict.from_mapping({"responder": "namelink"}))
