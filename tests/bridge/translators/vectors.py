"""A translator that moves data through ``Vector.alloc`` and ``Vector.narrow``.

Writes are copied into a Vector.alloc buffer with junk around the data (a byte before,
spare bytes after) and the data range is wound with ``narrow``.  Some writes wind bytes
or a Vector.from_bytes instead (Python memory the bridge copies into an iobuf).  Reads
ask the child for up to 7 bytes more on each side and return the asked range: in odd 4
KiB pages by narrowing the child's own reply vector (a view of its iobuf) or as bytes,
in even ones by copying into a Vector.alloc buffer and narrowing that, after one more
wind (the reply's vector is detached: its own iovec and iobref ref).  Seen from the
mount it must behave exactly like no translator at all.  Inside GlusterFS too, Vector is
glupy._core's C type and Vector.alloc gives an iobuf (not a bytearray).
"""

from __future__ import annotations

from types import MethodDescriptorType

from glupy import Dict, Fd, Translator, Vector, _core
from glupy.replies import ReadvReply, WritevReply

PAD = 7


class Vectors(Translator):
    async def writev(self, fd: Fd, vector: Vector, offset: int, flags: int,
                     xdata: Dict | None) -> WritevReply:
        assert Vector is _core.Vector and all(
            type(vars(Vector)[m]) is MethodDescriptorType for m in ("contiguous", "writable"))
        n = len(vector)
        v = Vector.alloc(n + 1, spare=5)
        w = v.writable()
        assert len(w) == n + 6, (len(w), n)
        assert w.obj is None  # GlusterFS memory (an iobuf), not a bytearray's
        w[0:1] = b"\xff"
        pos = 1
        for part in vector.views():
            w[pos:pos + len(part)] = part
            pos += len(part)
        w[pos:] = b"\xee" * (len(w) - pos)
        data = v.narrow(1, 1 + n)
        assert len(data) == n and len(data.writable()) == n + 5
        assert bytes(data.contiguous()) == bytes(vector) and data.contiguous().readonly
        if offset % 3 == 1:  # Python memory, copied into an iobuf by the bridge
            return await self.child.writev(fd, bytes(data), offset, flags, xdata)
        if offset % 3 == 2:
            return await self.child.writev(fd, Vector.from_bytes(data.contiguous()), offset,
                                           flags, xdata)
        return await self.child.writev(fd, data, offset, flags, xdata)

    async def readv(self, fd: Fd, size: int, offset: int, flags: int,
                    xdata: Dict | None) -> ReadvReply:
        lo = max(offset - PAD, 0)
        skip = offset - lo
        r = await self.child.readv(fd, size + skip + PAD, lo, flags, xdata)
        got = r.vector
        # each field converted once, from the child's C arguments (the bridge's C)
        assert isinstance(got, Vector) and r.vector is got and r.stbuf is r.stbuf
        assert r._dirty is False
        whole = got.contiguous()  # the child's buffer: one read-only view, no copy
        assert whole.readonly and bytes(whole) == bytes(got) and len(whole) == len(got)
        try:
            got.writable()
        except TypeError:
            pass  # someone else's buffer
        else:
            raise AssertionError("writable() on a reply vector")
        page = offset // 4096
        if page % 4 == 3:
            out = bytes(got)[skip:skip + size]  # Python memory, copied into an iobuf
        elif page % 2:
            out = got.narrow(skip, skip + size)  # a view of the child's buffer
        else:
            await self.child.fstat(fd, None)  # got outlives its callback: detached
            data = bytes(got)
            v = Vector.alloc(len(data))
            v.writable()[:] = data
            out = v.narrow(skip, skip + size)
        r.vector = out
        assert r._dirty == type(r).vector.bit  # only the vector goes back converted
        r.op_ret = len(out)
        return r
