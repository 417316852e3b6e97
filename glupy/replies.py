"""Reply classes, one per fop, generated from the fop table.

``LookupReply(inode, buf, xdata, postparent, op_ret=0)``: the fields are the
reply arguments of the fop's callback in GlusterFS (``fop_lookup_cbk_t``),
with ``vector, count, iobref`` folded into one ``vector``.  ``op_ret`` is the
fop's return value (bytes read/written, entries listed, 0 ...).
"""

from __future__ import annotations

from typing import Any

from glupy.fops import FOPS, Fop


class Reply:
    """Base of all replies."""

    __slots__ = ("op_ret", "op_errno")
    fop: Fop
    fields: tuple[str, ...] = ()

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


def _make(fop: Fop) -> type[Reply]:
    fields = tuple(a.name for a in fop.py_reply)
    ns: dict[str, Any] = {"__slots__": fields, "fields": fields, "fop": fop,
                          "__doc__": f"Reply of ``{fop.name}``: {', '.join(fields) or 'no fields'}."}
    if "buf" in fields:
        ns["iatt"] = property(lambda self: self.buf, doc="alias of ``buf``")
    return type(fop.reply_class, (Reply,), ns)


REPLY_CLASSES: dict[str, type[Reply]] = {f.name: _make(f) for f in FOPS}
globals().update({cls.__name__: cls for cls in REPLY_CLASSES.values()})
__all__ = ["Reply", "REPLY_CLASSES", *[cls.__name__ for cls in REPLY_CLASSES.values()]]
