"""The coroutine driver: runs inside the glusterfs process.

Life of a fop handled in Python (no event loop, no extra thread):

1. GlusterFS calls the fop's entry (``glupy_c_<fop>``, C generated from the fop
   table).  It takes the GIL, wraps the C arguments in views and calls the
   translator's ``async def`` to get a coroutine: a task.
2. The driver (glupy/_bridge/src/task.c) sends into the coroutine.  It finishes
   (the reply is unwound), raises (the errno is unwound; anything but
   FopError is EIO + traceback in the log), or suspends on a :class:`Wind` /
   :class:`Gather` / glupy.Lock.
3. Winds are issued in C (STACK_WIND_COOKIE, the cookie names the task and
   the result slot); the GIL is released while the child runs.
4. The child's callback (``glupy_c_<fop>_cbk``, any thread, maybe inside the
   wind itself) keeps the reply's C arguments in a reply object and resumes
   the coroutine right there.  If the reply arrives on the winding thread
   before the wind call returned, the callback resumes the coroutine nested
   (bounded depth); if it arrives on another thread while the winder is still
   inside C, it parks the reply and the winder continues when the wind
   returns.  Task state changes only under the GIL, and a generation number
   makes exactly one thread continue the coroutine.
5. A reply the translator passes on unchanged goes back to C as the child's
   own arguments; anything else is converted here (``_finish_slow``).

Reply views point into the child's memory, valid only while its callback
runs: when the coroutine keeps a reply across another wind, the reply is
detached (structs copied, inode/dict/fd/iobref refs taken; in C, detach.c), and so
are the fop's argument views when the fop outlives its entry.

This module holds what is not the common case: converting Python values,
logging failures, glupy.Lock hand-over, and the lifecycle
(init/fini/notify/reconfigure, reload).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

from glupy import _core
from glupy import translator as _translator
from glupy import types as _t
from glupy import upcall as _upcall
from glupy.attrcache import AttrCache
from glupy.fops import (
    CBKS_BY_NAME,
    FOPS,
    FOPS_BY_NAME,
    INODE_CREATING,
    NAME_CREATING,
    NUM_FOP_SLOTS,
    PY_CBKS,
    Fop,
)
from glupy.journal import Journal
from glupy.misscache import MissCache
from glupy.replies import REPLY_CLASSES, Reply
from glupy.runtime import control, latefrees, security
from glupy.runtime.loader import LoadError, begin_reload, load_class
from glupy.runtime.procstatus import STATUS_XATTR, process_status, statedump
from glupy.translator import Child, FopError, InitError, Option, Translator, _sync
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

_instances: dict[Any, Instance] = {}
# guards glupy.Lock state; held for a few bytecodes, never across a C call
_task_lock = _sync
_fop_by_slot: dict[int, Fop] = {f.slot: f for f in FOPS}


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
        self.miss_cache: MissCache | None = None  # attached to the C lookup entry
        self.attr_cache: AttrCache | None = None  # lookup/stat/fstat C entries
        self.handled: list[str] = []  # the fops that run in Python
        self.entered_in_c: list[str] = []  # fops installed for a C action (MissCache, Journal)
        self.upcall_unknown_logged = False
        self.loaded_at = 0.0  # time.time() of the last successful init or reload
        self.errors = 0  # fops failed with EIO because the translator raised
        self.last_error = ""
        # the class accepts options it does not declare (glupy.deploy.inert)
        self.lenient = False


# ---------------------------------------------------------------- driver
# The task state machine (entry, wind, callback, hand-over between threads,
# unwind of unchanged replies) is C: glupy/_bridge/src/task.c.  These are the
# Python pieces it calls for everything that is not the common case.


def current_caller() -> Caller:
    """The caller of the fop whose coroutine is running on this thread."""
    frame = lib.glupy_current_frame()
    if frame == NULL:
        raise RuntimeError("no fop is running on this thread")
    return Caller(frame.root)


def _reply_args(fop: Fop, reply: Reply, keep: list[Any]) -> Sequence[Any]:
    """The C arguments of ``reply``'s unwind: the child's own, when it is passed on
    unchanged (no conversion), else converted from the Python fields."""
    raw = reply._raw
    if raw is not None and not reply._dirty:
        return raw
    # every field converted (the fields the translator did not set are views of the
    # child's memory, converted back to the same pointers).  The common case, a
    # child's reply with some fields set, is unwound in C (task.c
    # glupy_finish_part); this is for what it leaves here.
    return _reply_to_c[fop.slot](reply, keep)  # type: ignore[no-any-return]


def _finish_slow(inst: Instance, slot: int, frame: Any, value: Any) -> None:
    """The coroutine returned something other than the child's unchanged reply."""
    fop = _fop_by_slot[slot]
    if type(value) is not _reply_cls[slot]:
        inst.log.error("%s() of %s returned %r, expected a %s or a %s handed off to a child "
                       "(failing the fop with EIO)", fop.name, inst.spec, value, fop.reply_class,
                       fop.name)
        lib.glupy_unwind_error(slot, frame, errno.EIO)
        return
    keep: list[Any] = []
    try:
        args = _reply_args(fop, value, keep)
    except BaseException as e:
        inst.log.error("%s() of %s returned a reply that cannot be converted: %s: %s",
                       fop.name, inst.spec, e.__class__.__name__, e)
        lib.glupy_unwind_error(slot, frame, errno.EIO)
        return
    op_ret = value.op_ret
    if fop.name in ("readdir", "readdirp") and value.entries is not None \
            and type(value.entries) is not Dirents and op_ret >= 0:
        op_ret = len(value.entries)  # a new listing: op_ret is its length
    _unwinders[slot](frame, op_ret, value.op_errno, *args)


def _fail_slow(inst: Instance, slot: int, frame: Any, e: FopError) -> None:
    """A FopError carrying a reply the translator built or changed."""
    fop = _fop_by_slot[slot]
    code = e.errno or errno.EIO
    reply = e.reply
    if reply is not None and type(reply) is _reply_cls[slot]:
        keep: list[Any] = []
        try:
            args = _reply_args(fop, reply, keep)
        except BaseException:
            args = None
        if args is not None:
            # the child's error reply (xdata, postparent ...) goes up unchanged
            _unwinders[slot](frame, -1, code, *args)
            return
    lib.glupy_unwind_error(slot, frame, code)


def _crash(inst: Instance | None, slot: int, frame: Any, e: BaseException) -> None:
    """The translator raised something other than FopError: log it, fail with EIO."""
    name = _fop_by_slot[slot].name
    if inst is not None:
        inst.errors += 1
        inst.last_error = f"{name}: {type(e).__name__}: {e}"
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__, chain=False))
    (inst.log if inst is not None else log).error(
        "%s() of %s raised %s: %s (failing the fop with EIO)\n%s",
        name, inst.spec if inst is not None else "?", type(e).__name__, e, text.rstrip())
    lib.glupy_unwind_error(slot, frame, errno.EIO)


def _wind_failed(w: Any, e: BaseException) -> BaseException:
    """The exception a coroutine sees for a wind that could not be issued."""
    if isinstance(e, FopError):
        return e
    fop = getattr(w, "fop", None)
    what = fop.name if isinstance(fop, Fop) else repr(w)
    if isinstance(e, TypeError) and "is not a child of a running translator" in str(e):
        return e
    return TypeError(f"cannot wind {what}: {e.__class__.__name__}: {e}")


def _acquire(acquire: Any, handle: int) -> bool:
    """``await lock.acquire()`` suspended (``acquire``: what it yielded): take the lock
    if it is free now, else park task ``handle`` until Lock.release hands it over
    (glupy_resume)."""
    lock = acquire.lock
    with _task_lock:
        if not lock._locked:
            lock._locked = True
            return True
        lock._waiters.append(handle)
        return False


# ------------------------------------------------------- C <-> Python glue
# Python -> C, per kind, for what the bridge's C leaves to Python; the per-fop
# functions below are generated from the fop table and only string these together.
# (C -> Python, arguments and reply fields alike, is the bridge's: convert.c, types.c)


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
    # glupy._core's: a Vector over GlusterFS memory as it is, else copied into an iobuf
    vector, iov, count, iobref = _core._in_iobuf(value)
    keep.append(vector)
    return ffi.cast("struct iovec *", iov), count, ffi.cast("struct iobref *", iobref)


def _c_dirents(value: Any, keep: list[Any]) -> Any:
    if value is None:
        return NULL
    if type(value) is Dirents and value._p is not None:
        return value._p
    head = build_dirents(value)
    keep.append(head)
    return head


def _c_expr(kind: str, name: str) -> str:
    """Expression converting Python value ``name`` to its C argument (the same
    conversion the driver asks ``_to_c`` for)."""
    return name if kind == "int" else f"_to_c({kind!r}, {name}, keep)"


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


_unwinders: list[Any] = [None] * NUM_FOP_SLOTS
_reply_to_c: list[Any] = [None] * NUM_FOP_SLOTS
_reply_cls: list[Any] = [None] * NUM_FOP_SLOTS


def _generate(fop: Fop) -> str:
    """Python source converting a translator-made reply to its unwind's C arguments."""
    n = fop.name
    stmts, exprs = _c_args(fop.reply, "r.")
    body = "".join(f"    {s}\n" for s in stmts)
    return (f"def reply_to_c_{n}(r, keep):\n{body}"
            f"    return ({''.join(e + ', ' for e in exprs)})\n")


def _to_c(kind: str, value: Any, keep: list[Any]) -> Any:
    """A Python value for a wind argument of ``kind`` -> its C value (the driver
    handles views, ints and vectors itself; this is for everything else)."""
    if kind in _PTR_TYPES:
        return _c_ptr(value, _PTR_TYPES[kind])
    if kind == "dict":
        return _c_dict(value, keep)
    if kind == "str":
        return _c_str(value, keep)
    if kind == "dirents":
        return _c_dirents(value, keep)
    return _c_opaque(value)


def _build_glue() -> None:
    ns: dict[str, Any] = dict(globals())
    for fop in FOPS:
        exec(_generate(fop), ns)  # generated from the fop table
        _reply_to_c[fop.slot] = ns[f"reply_to_c_{fop.name}"]
        _unwinders[fop.slot] = getattr(lib, f"glupy_unwind_{fop.name}")
        _reply_cls[fop.slot] = REPLY_CLASSES[fop.name]


def _setup_driver() -> None:
    """Hand the C driver the Python objects it creates and calls."""
    from glupy._build.codegen import VIEW_KINDS, ctypes
    from glupy.translator import _Acquire

    views = {"loc": Loc, "fd": Fd, "inode": Inode, "dict": Dict, "iatt": Iatt, "flock": Flock,
             "statvfs": StatVfs, "lease": Lease, "dirents": Dirents}
    _driver_config.update({
        "Acquire": _Acquire,
        "Vector": Vector, "Child": Child,
        "finish_slow": _finish_slow, "fail_slow": _fail_slow, "crash": _crash,
        "to_c": _to_c, "acquire": _acquire, "wind_failed": _wind_failed,
        "replies": [_reply_cls[slot] for slot in range(NUM_FOP_SLOTS)],
        "views": [views[k] for k in VIEW_KINDS], "view_kinds": tuple(VIEW_KINDS),
        "ctypes": [ffi.typeof(c) for c in ctypes()],
    })
    _core._hand_over(_driver_config)
    if lib.glupy_driver_setup() != 0:
        why = ffi.string(lib.glupy_driver_setup_error()).decode(errors="replace")
        raise RuntimeError(f"glupy: the C driver refused its setup: {why or 'no reason given'}")


def _fast_attr(descriptor: Any) -> Any:
    """``descriptor`` (a non-data descriptor: an Option) wrapped in glupy._core's
    immutable type, so that reading the value set on the instance is specialized
    by CPython (see _bridge/src/nondata.c)."""
    return _core.nondata(descriptor)


def _fast_options(cls: type) -> None:
    """The Options of ``cls`` and its bases, wrapped by _fast_attr (options are
    read in fops; Translator.options() sees through the wrapper)."""
    for klass in cls.__mro__:
        for name, value in list(vars(klass).items()):
            if isinstance(value, Option):
                setattr(klass, name, _fast_attr(value))


# kept alive for the driver (it also holds references to what is inside)
_driver_config: dict[str, Any] = {}


# ----------------------------------------------------- lifecycle entries


def _load_class(spec: str, given: dict[str, str], *, reload: bool = False) -> type[Translator]:
    """Load as root only from trusted paths (glupy.runtime.security), also on reload."""
    try:
        security.judge(security.sys_path_problems())
        return load_class(spec, reload=reload, python_path=given.get("python-path", "").split(":"))
    except (LoadError, security.UntrustedCodeError) as e:
        raise InitError(str(e)) from e


def _trust_mode(inst: Instance, given: dict[str, str]) -> None:
    """``option untrusted-code warn`` lowers the trust check for the whole process
    (all of its translators run in one address space); it never raises it back."""
    mode = given.get(security.UNTRUSTED_OPTION, security.REFUSE)
    if mode not in security.MODES:
        raise InitError(f"option {security.UNTRUSTED_OPTION!r} must be one of "
                        f"{', '.join(security.MODES)}, not {mode!r}")
    if mode == security.WARN and security.mode() != security.WARN:
        security.set_mode(mode)
        inst.log.warning("glupy: %s: option %s %s: this process loads code from paths "
                         "non-root users can change (test setups only)",
                         inst.name, security.UNTRUSTED_OPTION, mode)


BRIDGE_OPTIONS = {"module", "python-path", "log-level", security.UNTRUSTED_OPTION}
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
        if opt.secret:
            # a plain string to GlusterFS (whose validators quote a bad value in the
            # log); parsed in Python, and it may be an @/path to read it from
            e.type = lib.GF_OPTION_TYPE_STR
            e.description = cstr(opt.doc or opt.key or "")
            continue
        e.type = getattr(lib, _GF_TYPES[opt.gf_type])
        if opt.min is not None or opt.max is not None:
            e.min = opt.min if opt.min is not None else -2**53
            e.max = opt.max if opt.max is not None else 2**53
        if opt.choices and opt.item_type is None:  # a list's choices apply per item (parse)
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
               and not k.startswith("auth.") and not inst.lenient]
    if unknown:
        known = ", ".join(sorted(cls_opts)) or "none"
        raise InitError(f"unknown option {unknown[0]!r} for {inst.spec} (its options: {known})")
    values = {}
    for i, (key, opt) in enumerate(cls_opts.items()):
        if key not in given:
            continue
        text = given[key]
        if opt.secret:
            try:
                if security.is_secret_file_ref(text):
                    text = security.read_secret_file(key, text)
                values[opt.attr] = opt.parse(text)
            except ValueError as e:
                raise InitError(str(e)) from None
            continue
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


def py_status(this: Any, out: Any) -> int:
    """getxattr of STATUS_XATTR (every glupy translator, bridge.c glupy_answer_status):
    the process status (glupy.runtime.procstatus) set in dict ``out``; returns its length."""
    value = json.dumps(process_status(_instances, lib)).encode()
    Dict(out)[STATUS_XATTR] = value
    return len(value)


def _pass_through(obj: Translator, fop: Fop) -> Any:
    async def forward(*args: Any) -> Any:
        return await getattr(obj.child, fop.name)(*args)

    return forward


def _new_translator(inst: Instance, cls: type[Translator], values: dict[str, Any]) -> Translator:
    obj = cls()
    obj.name = inst.name
    obj.children = _children(inst.xl)
    if len(obj.children) == 1:
        # an instance attribute (see translator._OnlyChild); not through obj.__dict__,
        # which would slow down every attribute read (see translator.Option.__get__)
        object.__setattr__(obj, "child", obj.children[0])
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
        _trust_mode(inst, given)
        cls = _load_class(spec, given)
        inst.lenient = bool(getattr(cls, "accepts_unknown_options", False))
        inst.options = cls.options()
        _fast_options(cls)
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
        inst.loaded_at = time.time()
        _instances[this] = inst
        inst.log.info("glupy: %s loaded %s (fops in Python: %s%s)", name, spec,
                      ", ".join(handled) or "none", _refused_text(obj))
        control.start(_instances)
        latefrees.start(lib.glupy_tasks_ended_off_entry)
        return 1
    except InitError as e:
        log_to_gluster(name, logging.ERROR, f"glupy: {name}: {e}")
    except BaseException as e:
        text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        log_to_gluster(name, logging.ERROR,
                       f"glupy: {name}: initialising {inst.spec or '?'} raised "
                       f"{type(e).__name__}: {e}\n{text.rstrip()}")
    return 0


def reload_instance(inst: Instance) -> dict[str, Any]:
    """Hot reload: re-import the translator's module and the modules of its reload
    set that changed (glupy.runtime.loader), build a new translator with the same options,
    carry inode/fd contexts over (Translator.migrate_ctx) and switch new fops to it.
    Fops in flight finish on the old coroutines.  Raises InitError, with every module
    and the old code as they were, on failure.  Returns what was reloaded."""
    given = _options_of(inst.xl.options)
    old = inst.translator
    declared = getattr(type(old), "reload_modules", None) if old is not None else None
    try:
        security.judge(security.sys_path_problems())
        pending = begin_reload(inst.spec, declared,
                               python_path=given.get("python-path", "").split(":"))
    except (LoadError, security.UntrustedCodeError) as e:
        raise InitError(str(e)) from e
    cls = pending.cls
    saved = inst.options, inst.lenient
    try:
        inst.lenient = bool(getattr(cls, "accepts_unknown_options", False))
        options = cls.options()
        _fast_options(cls)
        table = _option_table(inst, options)
        inst.options = options
        values = _apply_options(inst, given, table)
        obj = _new_translator(inst, cls, values)
        try:
            obj.init()
            obj.on_reload(old)
        except BaseException as e:
            raise InitError(f"init() of the new {cls.__name__} failed: {type(e).__name__}: {e}") from e
    except BaseException:
        inst.options, inst.lenient = saved
        pending.rollback()
        raise
    pending.commit()
    inst.translator = obj
    _bind_methods(inst, obj)
    handled = _install(inst, obj)
    inst.reloads += 1
    contexts = _migrate_contexts(inst, obj, set(pending.modules))
    inst.loaded_at = time.time()
    if old is not None:
        try:
            old.fini()
        except BaseException:
            inst.log.exception("fini() of the old %s failed", inst.spec)
    msg = (f"glupy: {inst.name} reloaded {inst.spec}: modules {pending.describe()}; "
           f"fops in Python: {', '.join(handled) or 'none'}{_refused_text(obj)}")
    if contexts["migrated"] or contexts["dropped"]:
        msg += (f"; contexts of reloaded classes: {contexts['migrated']} migrated, "
                f"{contexts['dropped']} dropped")
    inst.log.info("%s", msg)
    return {"message": msg, "modules": pending.modules, "changed": pending.changed,
            "contexts": contexts}


def _migrate_contexts(inst: Instance, obj: Translator, reloaded: set[str]) -> dict[str, int]:
    """Inode/fd contexts whose object's class was defined in a re-imported module go
    through the new translator's ``migrate_ctx`` (its result replaces them; None
    drops them).  Other values (plain data, classes of modules not reloaded) stay."""
    counts = {"migrated": 0, "dropped": 0, "kept": 0}
    for store in (inst.inode_ctx, inst.fd_ctx):
        for key, value in list(store.values.items()):
            if type(value).__module__ not in reloaded:
                counts["kept"] += 1
                continue
            try:
                new = obj.migrate_ctx(value)
            except BaseException:
                inst.log.exception("migrate_ctx() of %s failed: the context is dropped", inst.spec)
                new = None
            with store.lock:  # against a fop setting it meanwhile (_Ctx.set)
                if store.values.get(key) is not value:
                    continue  # forgotten/released or replaced meanwhile
                if new is None:
                    # the C marker stays: forget/release then find nothing to drop
                    store.values.pop(key, None)
                    counts["dropped"] += 1
                else:
                    store.values[key] = new
                    counts["migrated"] += 1
    if counts["dropped"]:
        inst.log.warning("glupy: %s: reload dropped %d inode/fd contexts of classes from "
                         "reloaded modules (define migrate_ctx() to carry them over)",
                         inst.name, counts["dropped"])
    return counts


def _install(inst: Instance, obj: Translator) -> list[str]:
    """Point the xlator's fop table at Python for the fops this instance handles."""
    cls = type(obj)
    handled = list(obj.handled_fops())
    extra = set(handled) - set(cls.defined_fops())
    if extra:
        raise InitError(f"handled_fops() names fops {cls.__name__} does not define: {sorted(extra)}")
    # with a MissCache, the fops that create names forget them in C (misscache.c), and
    # without a Python lookup, lookups answer and learn misses in C
    invalidating = list(NAME_CREATING) if getattr(obj, "miss_cache", None) is not None else []
    if invalidating and "lookup" not in handled:
        invalidating.append("lookup")
    journal = getattr(obj, "journal", None)
    if journal is not None and not isinstance(journal, Journal):
        raise InitError(f"journal must be a glupy.Journal, not {type(journal).__name__}")
    journaled = [f for f in journal.fops if f not in handled] if journal is not None else []
    marked = [f for f in _mark_fops(cls) if f not in handled]
    enabled = ffi.new("unsigned char[]", NUM_FOP_SLOTS)
    for name in [*handled, *cls.refusals(), *invalidating, *journaled, *marked]:
        enabled[FOPS_BY_NAME[name].slot] = 1
    # upcall() is dispatched from py_notify: a class defining it takes notify in Python
    overrides_notify = cls.notify is not Translator.notify or cls.upcall is not Translator.upcall
    wanted = ffi.new("struct glupy_cbks_wanted *")
    for name in inst.cbks:
        setattr(wanted, name, 1)
    _driver_config["set_methods"](inst.xl, inst, inst.fops)
    _attach_miss_cache(inst, obj, handled)
    _attach_attr_cache(inst, obj, handled)
    inst.handled, inst.entered_in_c = handled, [*invalidating, *journaled, *marked]
    lib.glupy_set_journal(inst.xl, journal._p if journal is not None else NULL)
    _attach_rules(inst, obj)
    if lib.glupy_install_fops(inst.xl, enabled, int(overrides_notify)) != 0 or \
            lib.glupy_install_cbks(inst.xl, wanted) != 0:
        raise InitError("out of memory installing the fop table")
    return handled


def _refused_text(obj: Translator) -> str:
    """What the load line adds: the fops decided or recorded in C."""
    refusals = type(obj).refusals()
    text = f"; decided in C by glupy.Refuse: {', '.join(refusals)}" if refusals else ""
    journal = getattr(obj, "journal", None)
    if isinstance(journal, Journal):
        text += f"; recorded in C by glupy.Journal: {', '.join(journal.fops)}"
    return text


def _mark_fops(cls: type[Translator]) -> list[str]:
    """The fops whose entries glupy.Mark needs: lookup (learning from xattrs), the
    inode-creating fops (new inodes are known), the fops that set fd marks."""
    marks = cls.marks().values()
    out = [f for m in marks for f in m.set_by]
    if any(m.on == "inode" for m in marks):
        out += INODE_CREATING
    if any(m.xattr for m in marks):
        out.append("lookup")
    return list(dict.fromkeys(out))


def _attach_rules(inst: Instance, obj: Translator) -> None:
    """The table every C entry reads first (rules.c): the class's glupy.Refuse rules
    with the options' current values, its glupy.Mark and WhenMarked rules, and for
    each fop whose entry is installed without a Python method (a rule's, a
    MissCache's invalidation, a Mark's), that it goes on to the child in C.  None
    needed: no table."""
    cls = type(obj)
    refusals, when_marked, marks = cls.refusals(), cls.when_marked(), cls.marks()
    in_c = set(refusals) | set(when_marked) | set(inst.entered_in_c)
    if not in_c:
        lib.glupy_set_rules(inst.xl, NULL)
        return
    rules = lib.glupy_rules_new()
    if rules == NULL:
        raise InitError("out of memory building the Refuse rules")
    for mark in marks.values():
        if lib.glupy_rules_mark(rules, mark.bit, int(mark.on == "inode"),
                                mark.xattr.encode() if mark.xattr else NULL) != 0:
            raise InitError(f"cannot keep {mark!r} in C")
    set_fd: dict[str, int] = {}
    for mark in marks.values():
        for name in mark.set_by:
            set_fd[name] = set_fd.get(name, 0) | mark.bit
    for name in in_c:
        rule, when = refusals.get(name), when_marked.get(name)
        marked = rule is not None and rule.if_marked is not None
        slot = FOPS_BY_NAME[name].slot
        lib.glupy_rules_set(rules, slot,
                            rule.op_errno if rule is not None and rule.applies(obj) else 0,
                            rule.if_bits if rule is not None else 0,
                            int(name in inst.handled and not marked and when is None))
        lib.glupy_rules_set_marks(rules, slot, rule.if_marked.bit if marked else 0,  # type: ignore[union-attr]
                                  int(name in inst.handled),
                                  when.mark.bit if when is not None else 0, set_fd.get(name, 0))
    lib.glupy_set_rules(inst.xl, rules)  # published whole, never freed (rules.c)


def _attach_miss_cache(inst: Instance, obj: Translator, handled: list[str]) -> None:
    """The translator's ``miss_cache`` (glupy.MissCache), consulted by the C lookup entry."""
    # every lookup entry consults it (without a Python lookup it also learns misses in C)
    _attach_table(inst, obj, handled, "miss_cache", MissCache, (), lib.glupy_set_miss_cache)


def _attach_attr_cache(inst: Instance, obj: Translator, handled: list[str]) -> None:
    """The translator's ``attr_cache`` (glupy.AttrCache), consulted by the C
    lookup/stat/fstat entries."""
    _attach_table(inst, obj, handled, "attr_cache", AttrCache, ("lookup", "stat", "fstat"),
                  lib.glupy_set_attr_cache)


def _attach_table(inst: Instance, obj: Translator, handled: list[str], attr: str, kind: type,
                  entries: tuple[str, ...], attach: Any) -> None:
    """A C table the translator set as ``attr``, handed to the entries of ``entries``
    (warned about when the class handles none of them; empty: every class's entries
    consult it); the one it replaces is emptied but kept allocated (an entry in flight
    may read it)."""
    table = getattr(obj, attr, None)
    if table is not None and not isinstance(table, kind):
        raise InitError(f"{attr} must be a glupy.{kind.__name__}, not {type(table).__name__}")
    if table is not None and entries and not set(entries) & set(handled):
        inst.log.warning("glupy: %s sets %s but handles none of %s: the table is never "
                         "consulted", inst.spec, attr, ", ".join(entries))
    old = getattr(inst, attr)
    attach(inst.xl, table._p if table is not None else NULL)
    setattr(inst, attr, table)
    if old is not None and old is not table:
        old.clear()


def py_fini(this: Any) -> None:
    inst = _instances.pop(this, None)
    if inst is not None and inst.translator is not None:
        try:
            inst.translator.fini()
        except BaseException:
            inst.log.exception("fini() of %s failed", inst.spec)
    if inst is not None and inst.miss_cache is not None:
        lib.glupy_set_miss_cache(inst.xl, NULL)
        inst.miss_cache.clear()
    if inst is not None and inst.attr_cache is not None:
        lib.glupy_set_attr_cache(inst.xl, NULL)
        inst.attr_cache.clear()


def _deliver_upcall(inst: Instance, obj: Translator, data: Any) -> None:
    """Hand ``obj.upcall`` a copy of the GF_EVENT_UPCALL data.  Data glupy cannot
    read is logged once per instance at debug level and only forwarded."""
    try:
        event = _upcall.from_c(ffi, data)
    except _upcall.UnknownUpcall as e:
        if not inst.upcall_unknown_logged:
            inst.upcall_unknown_logged = True
            inst.log.debug("glupy: %s: %s: passed on, not given to upcall() "
                           "(logged once)", inst.name, e)
        return
    try:
        obj.upcall(event)
    except BaseException:
        inst.log.exception("upcall() of %s failed (the event is still passed on)", inst.spec)


def py_dump(this: Any, dump: Any) -> int:
    """The translator's statedump section (dump.c gathers it, GlusterFS writes it)."""
    inst = _instances.get(this)
    lines = (statedump(inst, lib) if inst is not None
             else [("state", "not loaded (initialisation failed or finished: see the log)")])
    for key, value in lines:
        if lib.glupy_dump_line(dump, key.encode(), value.encode("utf-8", "replace")) != 0:
            return -1
    return 0


def py_notify(this: Any, event: int, data: Any) -> int:
    inst = _instances.get(this)
    if inst is None or inst.translator is None:
        return int(lib.default_notify(this, event, data))
    if event == _t.Event.UPCALL and type(inst.translator).upcall is not Translator.upcall:
        _deliver_upcall(inst, inst.translator, data)
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
            if opt.key not in given:
                # not through obj.__dict__ (see Option.__get__); AttributeError: the
                # option was never read, its default applies already
                with contextlib.suppress(AttributeError):
                    object.__delattr__(obj, opt.attr)
        changed = {}
        for attr, value in values.items():
            if getattr(obj, attr) != value:
                changed[attr] = value
            setattr(obj, attr, value)
        obj.reconfigure(changed)
        if type(obj).refusals():
            _attach_rules(inst, obj)
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
    if not file:  # glupy's own lines: where they were logged from, not "[:0:]"
        caller = sys._getframe(1)
        file, func, line = caller.f_code.co_filename, caller.f_code.co_name, caller.f_lineno
    file = os.path.basename(file)
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
    # code runs as root here: no current directory on sys.path, no bytecode written
    # (glusterfs runs with umask 0: a __pycache__ it made would be world-writable),
    # every later import checked (glupy.runtime.security)
    security.harden_sys_path()
    sys.dont_write_bytecode = True
    security.install_guard()
    _t._bind(ffi, lib)
    _translator._current_caller = current_caller
    _translator._resume_task = lib.glupy_resume
    root = logging.getLogger()
    handler = GlusterHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(_PY_LEVEL.get(int(lib.gf_log_get_loglevel()), logging.INFO))
    _build_glue()
    _setup_driver()
    # ~30 short-lived objects per fop: collect the young generation less often
    import gc
    gc.set_threshold(20000, 20, 20)
    gc.freeze()
    for name in (*PY_CBKS, "ictxsize", "fdctxsize"):
        ctx = {"forget": "inode_ctx", "release": "fd_ctx", "releasedir": "fd_ctx"}.get(name)
        void = CBKS_BY_NAME[name].ret == "void"
        ffi.def_extern(name=f"glupy_py_cbk_{name}", onerror=_extern_error)(_cbk_entry(name, ctx, void))
    ffi.def_extern(name="glupy_py_init", error=0, onerror=_extern_error)(py_init)
    ffi.def_extern(name="glupy_py_fini", onerror=_extern_error)(py_fini)
    ffi.def_extern(name="glupy_py_notify", onerror=_extern_error)(py_notify)
    ffi.def_extern(name="glupy_py_reconfigure", error=-1, onerror=_extern_error)(py_reconfigure)
    ffi.def_extern(name="glupy_py_status", error=-errno.EIO, onerror=_extern_error)(py_status)
    ffi.def_extern(name="glupy_py_dump", error=-1, onerror=_extern_error)(py_dump)


def _extern_error(exc: type, value: BaseException, tb: Any) -> None:
    """Last line of defence: an error escaped an extern "Python" entry (init,
    fini, notify, reconfigure, the cbks; fops never enter Python that way:
    task.c fails those itself).  A glupy bug: log it."""
    text = "".join(traceback.format_exception(exc, value, tb))
    log_to_gluster("glupy", logging.ERROR, f"glupy internal error: {text.rstrip()}")

