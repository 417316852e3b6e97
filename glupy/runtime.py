"""The coroutine driver: runs inside the glusterfs process, called from the C shim.

Life of a fop handled in Python (no event loop, no extra thread):

1. GlusterFS calls the fop's entry (``glupy_py_<fop>``, an extern "Python"
   function that cffi enters with the GIL).  The entry wraps the C arguments
   in views and calls the translator's ``async def`` to get a coroutine.
2. ``_run`` sends into the coroutine.  It finishes (the reply is unwound),
   raises (the errno is unwound; anything but FopError is EIO + traceback in
   the log), or suspends on a :class:`Wind` / :class:`Gather`.
3. Winds are issued in C (STACK_WIND_COOKIE, the cookie names the task);
   cffi releases the GIL while the child runs.
4. The child's callback (``glupy_py_<fop>_cbk``, any thread, maybe inside the
   wind itself) wraps the reply and resumes the coroutine right there.  If
   the reply arrives on the winding thread before the wind call returned, the
   callback resumes the coroutine nested (bounded depth); if it arrives on
   another thread while the winder is still inside C, it parks the reply and
   the winder continues when the wind returns.  A per-task lock and a
   generation number make exactly one thread continue the coroutine.

Reply views point into the child's memory, valid only while its callback
runs: when the coroutine keeps a reply across another wind, the reply is
detached (structs copied, inode/dict/fd/iobref refs taken).
"""

from __future__ import annotations

import _thread
import errno
import itertools
import logging
import sys
import traceback
from typing import Any

from glupy import control
from glupy import replies as _replies
from glupy import translator as _translator
from glupy import types as _t
from glupy.fops import CBKS_BY_NAME, FOPS, FOPS_BY_NAME, NUM_FOP_SLOTS, PY_CBKS, Fop
from glupy.loader import LoadError, add_python_path, load_class
from glupy.replies import CONVERTERS, REPLY_CLASSES, Reply
from glupy.translator import Child, FopError, Gather, InitError, Option, Translator, Wind, _Acquire, _sync
from glupy.types import (
    Caller,
    Dict,
    Dirents,
    Fd,
    Flock,
    Iatt,
    Inode,
    Lease,
    Loc,
    StatVfs,
    Vector,
    build_dirents,
)

ffi: Any = None
lib: Any = None
NULL: Any = None

log = logging.getLogger("glupy")

# task states
WINDING, WAITING, READY, RUNNING, DONE = range(5)
MAX_NESTING = 24  # synchronous replies resumed in place up to this depth

_instances: dict[Any, Instance] = {}
_inflight: dict[int, tuple[Task, int, list[Any]]] = {}
_cookies = itertools.count(1)
_get_ident = _thread.get_ident
_new = object.__new__
_NO_RESULTS: list[Any] = []
# guards the state hand-over between the winding thread and the callback's
# thread (and glupy.Lock); held for a few bytecodes, never across a C call
_task_lock = _sync



class Instance:
    """One glupy xlator in the graph: the xlator pointer and its Python object."""

    def __init__(self, xl: Any, name: str) -> None:
        self.xl = xl
        self.name = name
        self.translator: Translator | None = None
        self.fops: list[Any] = [None] * NUM_FOP_SLOTS
        self.cbks: dict[str, Any] = {}
        self.inode_ctx = _t._Ctx(lib.glupy_inode_ctx_mark, lib.glupy_inode_ctx_unmark)
        self.fd_ctx = _t._Ctx(lib.glupy_fd_ctx_mark, lib.glupy_fd_ctx_unmark)
        self.options: dict[str, Option[Any]] = {}
        self.option_tables: list[Any] = []  # C option tables, alive as long as the process
        self.log = logging.getLogger(f"glupy.{name}")
        self.spec = ""
        self.reloads = 0


class Task:
    """One fop being handled in Python."""

    __slots__ = ("inst", "fop", "frame", "coro", "state", "gen", "results",
                 "remaining", "gather", "thread", "depth")

    def __init__(self, inst: Instance, fop: Fop, frame: Any, coro: Any) -> None:
        self.inst = inst
        self.fop = fop
        self.frame = frame
        self.coro = coro
        self.state = RUNNING
        self.gen = 0
        self.results: list[Any] = []
        self.remaining = 0
        self.gather: Gather | None = None
        self.thread = 0
        self.depth = 0


# ---------------------------------------------------------------- driver


def _start(inst: Instance, fop: Fop, frame: Any, coro: Any) -> None:
    if not hasattr(coro, "send"):
        inst.log.error("%s() of %s returned %r instead of a coroutine (is it 'async def'?)",
                       fop.name, inst.spec, coro)
        lib.glupy_unwind_error(fop.slot, frame, errno.EIO)
        return
    _run(Task(inst, fop, frame, coro), None, None)


def current_caller() -> Caller:
    """The caller of the fop whose coroutine is running on this thread: found
    by walking up to the driver's frame (only paid by code that asks)."""
    f = sys._getframe(1)
    code = _run.__code__
    while f is not None:
        if f.f_code is code:
            return Caller(f.f_locals["task"].frame.root)
        f = f.f_back
    raise RuntimeError("no fop is running on this thread")


def _run(task: Task, value: Any, exc: BaseException | None, live: Any = None) -> None:
    """Drive ``task``.  ``live`` is a reply (or FopError) delivered straight from a
    child's callback that is still on the stack: its C memory is valid only
    until that callback returns, so it is detached the moment the coroutine
    suspends again -- before anything can let another thread resume it."""
    coro = task.coro
    while True:
        try:
            req = coro.send(value) if exc is None else coro.throw(exc)
        except StopIteration as stop:
            task.state = DONE
            _finish(task, stop.value)
            return
        except FopError as e:
            task.state = DONE
            # drop the traceback: it references this frame, which references
            # the exception (``exc``): a cycle per failed fop, left to the GC
            e.__traceback__ = None
            exc = value = None
            _fail(task, e)
            return
        except BaseException as e:
            task.state = DONE
            _crash(task, e)
            return
        if live is not None:
            _detach(live)
            live = None
        value = exc = None
        cls = type(req)
        if cls is Wind:  # the common case: one wind
            task.gather = None
            task.results = [None]
            task.remaining = 1
            gen = task.gen = task.gen + 1
            task.thread = _get_ident()
            task.state = WINDING
            _issue(task, 0, req)
        elif cls is Gather:
            winds = req.winds
            task.gather = req
            if not winds:
                value = []
                continue
        elif cls is _Acquire:
            lock = req.lock
            _task_lock.acquire()
            if not lock._locked:
                lock._locked = True
                _task_lock.release()
                continue
            task.gen += 1
            task.state = WAITING  # parked until Lock.release hands it the lock
            lock._waiters.append(task)
            _task_lock.release()
            return
        else:
            exc = TypeError(f"a glupy translator can only await child fops, glupy.gather() "
                            f"or a glupy.Lock, not {req!r}")
            continue
        if cls is Gather:
            task.results = [None] * len(winds)
            task.remaining = len(winds)
            gen = task.gen = task.gen + 1
            task.thread = _get_ident()
            task.state = WINDING
            for i, w in enumerate(winds):
                _issue(task, i, w)
        lock = _task_lock
        lock.acquire()
        state = task.state
        if task.gen != gen or (state != WINDING and state != READY):
            lock.release()
            return  # a nested callback already moved the task on
        if state == WINDING:
            task.state = WAITING
            lock.release()
            return
        task.state = RUNNING
        lock.release()
        value, exc = _collect(task)


def _resume_locked(task: Task) -> None:
    """A glupy.Lock was handed to a parked task: continue it on this thread."""
    task.state = RUNNING
    task.depth += 1
    try:
        _run(task, None, None)
    finally:
        task.depth -= 1


def _issue(task: Task, index: int, w: Wind) -> None:
    key = next(_cookies)
    keep: list[Any] = []
    try:
        child = w.child
        if child.xl is None:
            raise TypeError(f"{child!r} is not a child of a running translator")
        wind = _winders[w.fop.slot]
        _inflight[key] = (task, index, keep)
        wind(task.frame, child.xl, key, w.args, keep)
    except BaseException as e:
        if _inflight.pop(key, None) is None:
            raise  # the wind happened; the error came from deeper: cannot recover
        _deliver(task, index, e if isinstance(e, FopError) else
                 TypeError(f"cannot wind {w.fop.name}: {e.__class__.__name__}: {e}"))


def _deliver(task: Task, index: int, result: Any) -> None:
    lock = _task_lock
    lock.acquire()
    remaining = task.remaining - 1
    if remaining or (task.state == WINDING
                     and (task.thread != _get_ident() or task.depth >= MAX_NESTING)):
        # Another thread (or a later step) will use this result after our
        # callback has returned: detach it BEFORE it becomes visible.
        _detach(result)
        task.results[index] = result
        task.remaining = remaining
        if not remaining:
            task.state = READY
        lock.release()
        return
    task.results[index] = result
    task.remaining = 0
    task.state = RUNNING
    lock.release()
    if task.gather is None:  # one wind: no list to look at
        task.results = _NO_RESULTS
        if isinstance(result, BaseException):
            value, exc = None, result
        else:
            value, exc = result, None
    else:
        value, exc = _collect(task)
    task.depth += 1
    try:
        _run(task, value, exc, result)
    finally:
        task.depth -= 1


def _collect(task: Task) -> tuple[Any, BaseException | None]:
    results = task.results
    task.results = []
    if task.gather is None:
        r = results[0]
        return (None, r) if isinstance(r, BaseException) else (r, None)
    if not task.gather.return_exceptions:
        for r in results:
            if isinstance(r, BaseException):
                return None, r
    return results, None


def _detach(result: Any) -> None:
    if isinstance(result, Reply):
        result._detach()
    elif isinstance(result, FopError) and result.reply is not None:
        result.reply._detach()


def _reply_args(task: Task, reply: Reply, keep: list[Any]) -> tuple[Any, ...]:
    """The C arguments of ``reply``'s unwind: the child's own, when it is passed on
    unchanged (no conversion), else converted from the Python fields."""
    raw = reply._raw
    if raw is not None and not reply._dirty:
        return raw
    return _reply_to_c[task.fop.slot](reply, keep)  # type: ignore[no-any-return]


def _finish(task: Task, value: Any) -> None:
    fop = task.fop
    if type(value) is not _reply_cls[fop.slot]:
        task.inst.log.error("%s() of %s returned %r, expected a %s (failing the fop with EIO)",
                            fop.name, task.inst.spec, value, fop.reply_class)
        lib.glupy_unwind_error(fop.slot, task.frame, errno.EIO)
        return
    raw = value._raw
    if raw is not None and not value._dirty:  # the hot path: the child's reply, unchanged
        _unwinders[fop.slot](task.frame, value.op_ret, value.op_errno, *raw)
        return
    keep: list[Any] = []
    try:
        args = _reply_to_c[fop.slot](value, keep)
    except BaseException as e:
        task.inst.log.error("%s() of %s returned a reply that cannot be converted: %s: %s",
                            fop.name, task.inst.spec, e.__class__.__name__, e)
        lib.glupy_unwind_error(fop.slot, task.frame, errno.EIO)
        return
    op_ret = value.op_ret
    if fop.name in ("readdir", "readdirp") and value.entries is not None \
            and type(value.entries) is not Dirents and op_ret >= 0:
        op_ret = len(value.entries)  # a new listing: op_ret is its length
    _unwinders[fop.slot](task.frame, op_ret, value.op_errno, *args)


def _fail(task: Task, e: FopError) -> None:
    fop = task.fop
    code = e.errno or errno.EIO
    reply = e.reply
    if reply is not None and type(reply) is _reply_cls[fop.slot]:
        keep: list[Any] = []
        try:
            args = _reply_args(task, reply, keep)
        except BaseException:
            args = None
        if args is not None:
            # the child's error reply (xdata, postparent ...) goes up unchanged
            _unwinders[fop.slot](task.frame, -1, code, *args)
            return
    lib.glupy_unwind_error(fop.slot, task.frame, code)


def _crash(task: Task, e: BaseException) -> None:
    inst = task.inst
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__, chain=False))
    inst.log.error("%s() of %s raised %s: %s (failing the fop with EIO)\n%s",
                   task.fop.name, inst.spec, type(e).__name__, e, text.rstrip())
    lib.glupy_unwind_error(task.fop.slot, task.frame, errno.EIO)


# ------------------------------------------------------- C <-> Python glue
# Per-kind conversions; the per-fop functions below are generated from the
# fop table and only string these together.


# C -> Python for kinds that are not views (views: _view_stmts for fop
# arguments, CONVERTERS for reply fields)


def _str(p: Any) -> str | None:
    return None if p == NULL else ffi.string(p).decode("utf-8", "surrogateescape")


def _opaque(p: Any) -> Any:
    return None if p == NULL else p


_PTR_TYPES = {"loc": Loc, "fd": Fd, "inode": Inode, "iatt": Iatt, "flock": Flock,
              "statvfs": StatVfs, "lease": Lease}


def _c_ptr(value: Any, cls: type) -> Any:
    if value is None:
        return NULL
    if type(value) is not cls:
        raise TypeError(f"expected {cls.__name__} or None, got {type(value).__name__}")
    return value._p


def _c_dict(value: Any, keep: list[Any]) -> Any:
    if value is None:
        return NULL
    if type(value) is Dict:
        return value._p
    d = Dict.from_mapping(value)
    keep.append(d)
    return d._p


def _c_str(value: Any, keep: list[Any]) -> Any:
    if value is None:
        return NULL
    b = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
    c = ffi.new("char[]", b)
    keep.append(c)
    return c


def _c_opaque(value: Any) -> Any:
    return NULL if value is None else value


def _c_vector(value: Any, keep: list[Any]) -> tuple[Any, int, Any]:
    if value is None:
        return NULL, 0, NULL
    if type(value) is Vector and value._data is None:
        return value._iov, value._count, value._iobref
    data = bytes(value)
    size = len(data)
    iov = ffi.new("struct iovec *")
    iobref = ffi.gc(lib.iobref_new(), lib.iobref_unref)
    if size:
        pool = ffi.cast("struct iobuf_pool *", _ctx_iobuf_pool())
        iobuf = lib.iobuf_get2(pool, size)
        if iobuf == NULL:
            raise MemoryError("iobuf_get2")
        ffi.memmove(iobuf.ptr, data, size)
        lib.iobref_add(iobref, iobuf)
        lib.iobuf_unref(iobuf)  # the iobref holds it now
        iov.iov_base = iobuf.ptr
    iov.iov_len = size
    keep.append(iov)
    keep.append(iobref)
    return iov, 1, iobref


def _c_dirents(value: Any, keep: list[Any]) -> Any:
    if value is None:
        return NULL
    if type(value) is Dirents and value._p is not None:
        return value._p
    head = build_dirents(value)
    keep.append(head)
    return head


_iobuf_pool: Any = None


def _ctx_iobuf_pool() -> Any:
    global _iobuf_pool
    if _iobuf_pool is None:
        for inst in _instances.values():
            _iobuf_pool = inst.xl.ctx.iobuf_pool
            break
    return _iobuf_pool


def _py_expr(kind: str, name: str) -> str:
    """Expression converting C value ``name`` of a non-view ``kind`` to Python."""
    if kind in ("str", "opaque"):
        return f"_{kind}({name})"
    if kind == "vector":
        return "Vector(vector, count, iobref)"
    return name


_VIEW_CLASSES = {"loc": "Loc", "fd": "Fd", "inode": "Inode", "dirents": "Dirents", "iatt": "Iatt",
                 "dict": "Dict", "flock": "Flock", "statvfs": "StatVfs", "lease": "Lease"}


def _view_stmts(a: Any, var: str) -> str:
    """Statements (8-space indent) binding ``var`` to the Python view of C arg ``a``."""
    cls = _VIEW_CLASSES.get(a.kind)
    if cls is None:
        return f"        {var} = {_py_expr(a.kind, a.name)}\n"
    extra = ""
    if a.kind in ("loc", "fd", "inode", "dirents"):
        extra += f"; {var}._inst = inst"
    if a.kind == "dirents":
        extra += f"; {var}._entries = None"
    return (f"        if {a.name} == NULL:\n"
            f"            {var} = None\n"
            f"        else:\n"
            f"            {var} = _new({cls}); {var}._p = {a.name}{extra}\n")


def _c_expr(kind: str, name: str) -> str:
    """Expression converting Python value ``name`` to its C argument."""
    if kind in _PTR_TYPES:
        return f"_c_ptr({name}, {_PTR_TYPES[kind].__name__})"
    if kind == "dict":
        return f"_c_dict({name}, keep)"
    if kind == "str":
        return f"_c_str({name}, keep)"
    if kind == "dirents":
        return f"_c_dirents({name}, keep)"
    if kind == "opaque":
        return f"_c_opaque({name})"
    return name


def _c_args(args: tuple[Any, ...], src: str) -> tuple[list[str], list[str]]:
    """(statements, C argument expressions) for passing Python values named
    like ``args`` (read from ``src``) to C, vector/count/iobref expanded."""
    stmts = []
    exprs = []
    for a in args:
        if a.kind == "vector":
            stmts.append(f"_iov, _cnt, _iob = _c_vector({src}{a.name}, keep)")
            exprs.append("_iov")
        elif a.kind == "iobref":
            exprs.append("_iob")
        elif a.name == "count" and a.kind == "int":
            exprs.append("_cnt")
        else:
            exprs.append(_c_expr(a.kind, f"{src}{a.name}"))
    return stmts, exprs


_entries: dict[str, Any] = {}
_callbacks: dict[str, Any] = {}
_winders: list[Any] = [None] * NUM_FOP_SLOTS
_unwinders: list[Any] = [None] * NUM_FOP_SLOTS
_reply_to_c: list[Any] = [None] * NUM_FOP_SLOTS
_reply_cls: list[Any] = [None] * NUM_FOP_SLOTS


def _generate(fop: Fop) -> str:
    n = fop.name
    cargs = [a.name for a in fop.args]
    reply_cls = fop.reply_class
    out = []
    # entry: GlusterFS -> translator coroutine.  Views are built inline (no
    # __init__ frames): this runs for every fop handled in Python.
    views = "".join(_view_stmts(a, f"a{i}") for i, a in enumerate(fop.py_args))
    call = ", ".join(f"a{i}" for i in range(len(fop.py_args)))
    out.append(f"def entry_{n}(frame, this, {', '.join(cargs)}):\n"
               f"    inst = _instances.get(this)\n"
               f"    if inst is None:\n"
               f"        _no_instance(this, frame, fop_{n})\n"
               f"        return 0\n"
               f"    try:\n"
               f"{views}"
               f"        coro = inst.fops[{fop.slot}]({call})\n"
               f"    except BaseException as e:\n"
               f"        _crash(Task(inst, fop_{n}, frame, None), e)\n"
               f"        return 0\n"
               f"    _start(inst, fop_{n}, frame, coro)\n"
               f"    return 0\n")
    # callback: child's reply -> resume the task.  The reply keeps the C
    # arguments; views are made only for fields the translator reads.
    rnames = [a.name for a in fop.reply]
    nfields = len(fop.py_reply)
    out.append(f"def cbk_{n}(cookie, op_ret, op_errno{''.join(', ' + x for x in rnames)}):\n"
               f"    task, index, keep = _inflight.pop(cookie)\n"
               f"    r = _new({reply_cls})\n"
               f"    r._raw = ({''.join(x + ', ' for x in rnames)})\n"
               f"    r._vals = [{', '.join(['_UNSET'] * nfields)}]\n"
               f"    r._inst = task.inst\n"
               f"    r._dirty = False\n"
               f"    r.op_ret = op_ret\n"
               f"    r.op_errno = op_errno\n"
               f"    _deliver(task, index, r if op_ret >= 0 else _fop_error(op_errno, r))\n"
               f"    return 0\n")
    # wind: Python args -> C, STACK_WIND
    stmts, exprs = _c_args(fop.args, "")
    body = "".join(f"    {s}\n" for s in stmts)
    unpack = ", ".join(a.name for a in fop.py_args)
    out.append(f"def wind_{n}(frame, child, _cookie, args, keep):\n"
               f"    {unpack}{',' if len(fop.py_args) == 1 else ''} = args\n"
               f"{body}"
               f"    lib.glupy_wind_{n}(frame, child, _cookie{''.join(', ' + e for e in exprs)})\n")
    # reply -> C arguments of the unwind
    stmts, exprs = _c_args(fop.reply, "r.")
    body = "".join(f"    {s}\n" for s in stmts)
    out.append(f"def reply_to_c_{n}(r, keep):\n{body}"
               f"    return ({''.join(e + ', ' for e in exprs)})\n")
    return "\n".join(out)


def _fop_error(op_errno: int, reply: Reply) -> FopError:
    e = FopError.__new__(FopError)
    e.errno = op_errno
    e.reply = reply
    e._message = None
    return e


def _raw_ptr(view: Any) -> Any:
    def convert(raw: tuple[Any, ...], cidx: tuple[int, ...], inst: Any) -> Any:
        p = raw[cidx[0]]
        return None if p == NULL else view(p)

    return convert


def _raw_inst(view: Any) -> Any:
    def convert(raw: tuple[Any, ...], cidx: tuple[int, ...], inst: Any) -> Any:
        p = raw[cidx[0]]
        return None if p == NULL else view(p, inst)

    return convert


def _register_converters() -> None:
    CONVERTERS.update({
        "iatt": _raw_ptr(Iatt), "dict": _raw_ptr(Dict), "flock": _raw_ptr(Flock),
        "statvfs": _raw_ptr(StatVfs), "lease": _raw_ptr(Lease),
        "inode": _raw_inst(Inode), "fd": _raw_inst(Fd), "loc": _raw_inst(Loc),
        "dirents": _raw_inst(Dirents),
        "str": lambda raw, cidx, inst: _str(raw[cidx[0]]),
        "opaque": lambda raw, cidx, inst: _opaque(raw[cidx[0]]),
        "int": lambda raw, cidx, inst: raw[cidx[0]],
        "vector": lambda raw, cidx, inst: Vector(raw[cidx[0]], raw[cidx[1]], raw[cidx[2]]),
    })


def _no_instance(this: Any, frame: Any, fop: Fop) -> None:
    log.error("fop %s for an xlator glupy does not know (%s): failing with EIO", fop.name, this)
    lib.glupy_unwind_error(fop.slot, frame, errno.EIO)


def _build_glue() -> None:
    ns: dict[str, Any] = dict(globals())
    ns.update({cls.__name__: cls for cls in REPLY_CLASSES.values()})
    ns["_new"] = object.__new__
    ns["_UNSET"] = _replies._UNSET
    for fop in FOPS:
        ns[f"fop_{fop.name}"] = fop
        exec(_generate(fop), ns)  # generated from the fop table
        _entries[fop.name] = ns[f"entry_{fop.name}"]
        _callbacks[fop.name] = ns[f"cbk_{fop.name}"]
        _winders[fop.slot] = ns[f"wind_{fop.name}"]
        _reply_to_c[fop.slot] = ns[f"reply_to_c_{fop.name}"]
        _unwinders[fop.slot] = getattr(lib, f"glupy_unwind_{fop.name}")
        _reply_cls[fop.slot] = REPLY_CLASSES[fop.name]


# ----------------------------------------------------- lifecycle entries


def _load_class(spec: str) -> type[Translator]:
    try:
        return load_class(spec)
    except LoadError as e:
        raise InitError(str(e)) from e


BRIDGE_OPTIONS = {"module", "python-path", "log-level"}
_GF_TYPES = {"BOOL": "GF_OPTION_TYPE_BOOL", "INT": "GF_OPTION_TYPE_INT",
             "DOUBLE": "GF_OPTION_TYPE_DOUBLE", "STR": "GF_OPTION_TYPE_STR",
             "SIZET": "GF_OPTION_TYPE_SIZET", "PATH": "GF_OPTION_TYPE_PATH"}


def _option_table(inst: Instance, options: dict[str, Option[Any]]) -> Any:
    """A ``volume_option_t[]`` for the class's options (GlusterFS validates with it)."""
    table = ffi.new("volume_option_t[]", len(options) + 1)
    strings = inst.option_tables
    strings.append(table)

    def cstr(s: str) -> Any:
        c = ffi.new("char[]", s.encode())
        strings.append(c)
        return c

    for i, opt in enumerate(options.values()):
        e = table[i]
        e.key[0] = cstr(opt.key or "")
        e.type = getattr(lib, _GF_TYPES[opt.gf_type])
        if opt.min is not None or opt.max is not None:
            e.min = opt.min if opt.min is not None else -2**53
            e.max = opt.max if opt.max is not None else 2**53
        if opt.choices:
            for j, choice in enumerate(opt.choices[:63]):
                e.value[j] = cstr(choice)
        if opt.default_text is not None:
            e.default_value = cstr(opt.default_text)
        e.description = cstr(opt.doc or opt.key or "")
    return table


def _apply_options(inst: Instance, given: dict[str, str], table: Any) -> dict[str, Any]:
    """Validate ``given`` with GlusterFS's own validator and parse values."""
    cls_opts = inst.options
    # protocol/server copies its auth.addr.*/auth.login.* options into its child
    unknown = [k for k in given if k not in cls_opts and k not in BRIDGE_OPTIONS
               and not k.startswith("auth.")]
    if unknown:
        known = ", ".join(sorted(cls_opts)) or "none"
        raise InitError(f"unknown option {unknown[0]!r} for {inst.spec} (its options: {known})")
    values = {}
    for i, (key, opt) in enumerate(cls_opts.items()):
        if key not in given:
            continue
        text = given[key]
        errstr = ffi.new("char **")
        if lib.xlator_option_validate(inst.xl, key.encode(), text.encode(),
                                      ffi.addressof(table, i), errstr) != 0:
            why = ffi.string(errstr[0]).decode() if errstr[0] != NULL else "invalid"
            raise InitError(f"option {key!r}: {why}")
        try:
            values[opt.attr] = opt.parse(text)
        except ValueError as e:
            raise InitError(str(e)) from None
    return values


def _options_of(xl_options: Any) -> dict[str, str]:
    out = {}
    for k, v in Dict(xl_options).items():
        out[k] = v if isinstance(v, str) else str(v)
    return out


def _children(xl: Any) -> list[Child]:
    out = []
    node = xl.children
    while node != NULL:
        c = node.xlator
        out.append(Child(ffi.string(c.name).decode(), c, ffi.string(c.type).decode()))
        node = node.next
    return out


def _bind_methods(inst: Instance, obj: Translator) -> None:
    """Publish obj's fop methods (one list swap, so a fop sees old or new, never a mix).
    Slots the class does not define get a pass-through: after a reload that drops
    a fop, calls already routed to Python by the old table still complete."""
    fops: list[Any] = [None] * NUM_FOP_SLOTS
    defined = set(type(obj).defined_fops())
    for fop in FOPS:
        fops[fop.slot] = (getattr(obj, fop.name) if fop.name in defined
                          else _pass_through(obj, fop))
    inst.cbks = {c: getattr(obj, c) for c in type(obj).defined_cbks()}
    inst.fops = fops


def _pass_through(obj: Translator, fop: Fop) -> Any:
    async def forward(*args: Any) -> Any:
        return await getattr(obj.child, fop.name)(*args)

    return forward


def _new_translator(inst: Instance, cls: type[Translator], values: dict[str, Any]) -> Translator:
    obj = cls()
    obj.name = inst.name
    obj.children = _children(inst.xl)
    obj.log = inst.log
    xl = inst.xl
    obj.default_notify = (lambda event, data:  # type: ignore[method-assign]
                          lib.default_notify(xl, int(event), data if data is not None else NULL))
    for attr, value in values.items():
        setattr(obj, attr, value)
    return obj


def py_init(this: Any) -> int:
    name = ffi.string(this.name).decode()
    inst = Instance(this, name)
    try:
        given = _options_of(this.options)
        spec = given.get("module")
        if not spec:
            raise InitError("option 'module' is required (package.module or package.module:Class)")
        inst.spec = spec
        add_python_path(given.get("python-path", "").split(":"))
        cls = _load_class(spec)
        inst.options = cls.options()
        table = _option_table(inst, inst.options)
        lib.glupy_register_options(this, table)
        values = _apply_options(inst, given, table)
        obj = _new_translator(inst, cls, values)
        inst.translator = obj
        _bind_methods(inst, obj)
        try:
            obj.init()
        except (InitError, ValueError, OSError) as e:
            # a configuration problem the translator diagnosed: one line, no traceback
            raise InitError(f"init() of {inst.spec}: {e}") from e
        handled = _install(inst, obj)
        _instances[this] = inst
        inst.log.info("glupy: %s loaded %s (fops in Python: %s)", name, spec,
                      ", ".join(handled) or "none")
        control.start(_instances)
        return 1
    except InitError as e:
        log_to_gluster(name, logging.ERROR, f"glupy: {name}: {e}")
    except BaseException as e:
        text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        log_to_gluster(name, logging.ERROR,
                       f"glupy: {name}: initialising {inst.spec or '?'} raised "
                       f"{type(e).__name__}: {e}\n{text.rstrip()}")
    return 0


def reload_instance(inst: Instance) -> str:
    """Hot reload: re-import the module, build a new translator with the same
    options and switch new fops to it.  Fops in flight finish on the old
    coroutines.  Raises InitError (the old code keeps running) on failure."""
    given = _options_of(inst.xl.options)
    try:
        cls = load_class(inst.spec, reload=True)
    except LoadError as e:
        raise InitError(str(e)) from e
    options = cls.options()
    table = _option_table(inst, options)
    saved = inst.options
    inst.options = options
    try:
        values = _apply_options(inst, given, table)
    except InitError:
        inst.options = saved
        raise
    obj = _new_translator(inst, cls, values)
    old = inst.translator
    try:
        obj.init()
        on_reload = getattr(obj, "on_reload", None)
        if on_reload is not None:
            on_reload(old)
    except BaseException as e:
        inst.options = saved
        raise InitError(f"init() of the new {cls.__name__} failed: {type(e).__name__}: {e}") from e
    inst.translator = obj
    _bind_methods(inst, obj)
    handled = _install(inst, obj)
    inst.reloads += 1
    if old is not None:
        try:
            old.fini()
        except BaseException:
            inst.log.exception("fini() of the old %s failed", inst.spec)
    msg = f"glupy: {inst.name} reloaded {inst.spec} (fops in Python: {', '.join(handled) or 'none'})"
    inst.log.info("%s", msg)
    return msg


def _install(inst: Instance, obj: Translator) -> list[str]:
    """Point the xlator's fop table at Python for the fops this instance handles."""
    cls = type(obj)
    handled = list(obj.handled_fops())
    extra = set(handled) - set(cls.defined_fops())
    if extra:
        raise InitError(f"handled_fops() names fops {cls.__name__} does not define: {sorted(extra)}")
    enabled = ffi.new("unsigned char[]", NUM_FOP_SLOTS)
    for name in handled:
        enabled[FOPS_BY_NAME[name].slot] = 1
    overrides_notify = cls.notify is not Translator.notify
    cb = ffi.new("unsigned char[]", 6)
    for i, name in enumerate(("invalidate", "client_destroy", "client_disconnect",
                              "ictxmerge", "fdclose", "fdclosedir")):
        cb[i] = name in inst.cbks
    if lib.glupy_install_fops(inst.xl, enabled, int(overrides_notify)) != 0 or \
            lib.glupy_install_cbks(inst.xl, cb) != 0:
        raise InitError("out of memory installing the fop table")
    return handled


def py_fini(this: Any) -> None:
    inst = _instances.pop(this, None)
    if inst is not None and inst.translator is not None:
        try:
            inst.translator.fini()
        except BaseException:
            inst.log.exception("fini() of %s failed", inst.spec)


def py_notify(this: Any, event: int, data: Any) -> int:
    inst = _instances.get(this)
    if inst is None or inst.translator is None:
        return int(lib.default_notify(this, event, data))
    try:
        try:
            ev: int = _t.Event(event)
        except ValueError:
            ev = event
        return int(inst.translator.notify(ev, data) or 0)
    except BaseException:
        inst.log.exception("notify(%s) of %s failed; forwarding as default_notify", event, inst.spec)
        return int(lib.default_notify(this, event, data))


def py_reconfigure(this: Any, options: Any) -> int:
    inst = _instances.get(this)
    if inst is None or inst.translator is None:
        return 0
    try:
        given = _options_of(options)
        table = _option_table(inst, inst.options)
        values = _apply_options(inst, given, table)
        obj = inst.translator
        # options absent from the new volfile go back to their defaults
        for opt in inst.options.values():
            if opt.key not in given and opt.attr in obj.__dict__:
                del obj.__dict__[opt.attr]
        changed = {}
        for attr, value in values.items():
            if getattr(obj, attr) != value:
                changed[attr] = value
            setattr(obj, attr, value)
        obj.reconfigure(changed)
        return 0
    except InitError as e:
        inst.log.error("glupy: %s: reconfigure: %s", inst.name, e)
    except BaseException:
        inst.log.exception("reconfigure of %s failed", inst.spec)
    return -1


def _cbk_entry(name: str, ctx: str | None, void: bool) -> Any:
    """forget/release/releasedir drop the Python context; all cbks call the
    translator's method when it defines one."""

    def cbk(this: Any, *args: Any) -> int:
        inst = _instances.get(this)
        if inst is None:
            return 0
        try:
            method = inst.cbks.get(name)
            if method is not None:
                wrapped = [Inode(a, inst) if ffi.typeof(a) is ffi.typeof("inode_t *")
                           else Fd(a, inst) if ffi.typeof(a) is ffi.typeof("fd_t *") else a
                           for a in args]
                method(*wrapped)
        except BaseException:
            inst.log.exception("%s() of %s failed", name, inst.spec)
        finally:
            if ctx is not None:
                store = getattr(inst, ctx)
                store.drop(args[0])
        return None if void else 0

    return cbk


# ---------------------------------------------------------------- logging

_GF_LEVEL = {logging.CRITICAL: 3, logging.ERROR: 4, logging.WARNING: 5, logging.INFO: 7,
             logging.DEBUG: 8}
_PY_LEVEL = {0: logging.CRITICAL + 10, 1: logging.CRITICAL, 2: logging.CRITICAL,
             3: logging.CRITICAL, 4: logging.ERROR, 5: logging.WARNING, 6: logging.INFO,
             7: logging.INFO, 8: logging.DEBUG, 9: logging.DEBUG}


def log_to_gluster(domain: str, level: int, msg: str, file: str = "", func: str = "",
                   line: int = 0) -> None:
    gf = _GF_LEVEL.get(level, 7)
    for text in msg.splitlines() or [""]:
        lib.glupy_log(domain.encode(), file.encode(), func.encode(), line, gf,
                      text.encode("utf-8", "replace"))


class GlusterHandler(logging.Handler):
    """Python logging -> the glusterfs process log, domain = xlator name."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            domain = record.name[6:] if record.name.startswith("glupy.") else record.name
            log_to_gluster(domain, record.levelno, self.format(record), record.pathname,
                           record.funcName, record.lineno)
        except Exception:
            self.handleError(record)


# ------------------------------------------------------------------ attach


def attach(ffi_: Any, lib_: Any) -> None:
    """Called once by the bridge's embedding init code."""
    global ffi, lib, NULL
    ffi, lib, NULL = ffi_, lib_, ffi_.NULL
    _t._bind(ffi, lib)
    _translator._current_caller = current_caller
    _translator._resume_task = _resume_locked
    root = logging.getLogger()
    handler = GlusterHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(_PY_LEVEL.get(int(lib.gf_log_get_loglevel()), logging.INFO))
    _register_converters()
    _build_glue()
    # ~30 short-lived objects per fop: collect the young generation less often
    import gc
    gc.set_threshold(20000, 20, 20)
    gc.freeze()
    for fop in FOPS:
        ffi.def_extern(name=f"glupy_py_{fop.name}", onerror=_extern_error)(_entries[fop.name])
        ffi.def_extern(name=f"glupy_py_{fop.name}_cbk", onerror=_extern_error)(_callbacks[fop.name])
    for name in (*PY_CBKS, "ictxsize", "fdctxsize"):
        ctx = {"forget": "inode_ctx", "release": "fd_ctx", "releasedir": "fd_ctx"}.get(name)
        void = CBKS_BY_NAME[name].ret == "void"
        ffi.def_extern(name=f"glupy_py_cbk_{name}", onerror=_extern_error)(_cbk_entry(name, ctx, void))
    ffi.def_extern(name="glupy_py_init", error=0, onerror=_extern_error)(py_init)
    ffi.def_extern(name="glupy_py_fini", onerror=_extern_error)(py_fini)
    ffi.def_extern(name="glupy_py_notify", onerror=_extern_error)(py_notify)
    ffi.def_extern(name="glupy_py_reconfigure", error=-1, onerror=_extern_error)(py_reconfigure)


def _extern_error(exc: type, value: BaseException, tb: Any) -> None:
    """Last line of defence: an error escaped the runtime itself (a glupy bug).
    Log it, and fail the fop if the frame is known, so nothing hangs."""
    text = "".join(traceback.format_exception(exc, value, tb))
    log_to_gluster("glupy", logging.ERROR, f"glupy internal error: {text.rstrip()}")
    frame_locals = tb.tb_frame.f_locals if tb is not None else {}
    frame = frame_locals.get("frame")
    fop = frame_locals.get("fop") or (frame_locals.get("task") and frame_locals["task"].fop)
    if frame is not None and isinstance(fop, Fop):
        lib.glupy_unwind_error(fop.slot, frame, errno.EIO)
