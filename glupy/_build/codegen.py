"""Generate the C shim of the bridge from the fop table (glupy/fops.py).

Per fop F (args A, reply args R) this emits, around the hand-written driver
(driver.c):

* ``glupy_c_F(frame, this, A)``: the fop in the per-instance ``struct
  xlator_fops``: builds the Python views of A and starts the task.
* ``glupy_wind_F(frame, child, rec, args)``: Python argument tuple -> C,
  STACK_WIND_COOKIE (the cookie is the wind record).
* ``glupy_c_F_cbk(frame, cookie, this, op_ret, op_errno, R)``: the child's
  reply, kept as its raw C arguments (driver.c glupy_raw_t) in a reply object,
  delivered to the task.
* ``glupy_unwind_raw_F(frame, op_ret, op_errno, raw, tail)``: an unchanged reply
  back to C, STACK_UNWIND.
* ``glupy_unwind_part_F(frame, op_ret, op_errno, raw, vals, mask, rec)``: a
  child's reply with some fields replaced: those converted, the rest raw.
* ``glupy_unwind_F(frame, op_ret, op_errno, R)``: STACK_UNWIND for replies
  Python converted (called through cffi).

plus the tables the driver indexes by slot, ``glupy_unwind_error`` (fail any
fop by slot), and the C types/view kinds shared with glupy.runtime.
"""

from __future__ import annotations

from glupy.fops import CBKS, FOPS, KINDS, NUM_FOP_SLOTS, Arg, Fop

# Kinds that are views (glupy.types classes wrapping a pointer), in the order
# glupy.runtime passes their classes to the driver.
VIEW_KINDS = ("loc", "fd", "inode", "dict", "iatt", "flock", "statvfs", "lease", "dirents")
# C types besides the fop table's that the driver converts
_DRIVER_CTYPES = ("call_frame_t *", "xlator_t *", "struct iovec *", "struct iobref *")
UNSIGNED = frozenset({"size_t", "mode_t", "dev_t", "uint32_t", "uint64_t", "uint8_t"})


def ctypes() -> list[str]:
    """Every pointer type the driver converts, in index order (GLUPY_CT_*)."""
    seen = dict.fromkeys(_DRIVER_CTYPES)
    for f in FOPS:
        for a in f.args + f.reply:
            if a.kind != "int":
                seen.setdefault(a.ctype)
    return list(seen)


_CT = {c: i for i, c in enumerate(ctypes())}


def _decls(args: tuple[Arg, ...]) -> str:
    return "".join(", " + a.decl for a in args)


def _names(args: tuple[Arg, ...]) -> str:
    return "".join(", " + a.name for a in args)


def _zero(a: Arg) -> str:
    return "NULL" if a.ctype.endswith("*") else "0"


def _unwind_proto(f: Fop) -> str:
    return f"void glupy_unwind_{f.name}(call_frame_t *frame, int32_t op_ret, int32_t op_errno{_decls(f.reply)})"


def _cbk_cbk_proto(name: str, ret: str, args: tuple[Arg, ...]) -> str:
    return f"{ret} glupy_py_cbk_{name}(xlator_t *this{_decls(args)})"


def cdef() -> str:
    """The cffi declarations: extern "Python" cbks (forget, release ...), the
    unwinds Python uses for replies it converted, and the driver's entry points."""
    out = ['extern "Python" {']
    for c in CBKS:
        out.append(f"    {_cbk_cbk_proto(c.name, c.ret, c.args)};")
    out.append("}")
    for f in FOPS:
        out.append(f"{_unwind_proto(f)};")
    out.append("void glupy_unwind_error(int slot, call_frame_t *frame, int32_t op_errno);")
    out.append("int glupy_driver_setup(uintptr_t config);")
    out.append("int glupy_set_methods(xlator_t *this, uintptr_t inst, uintptr_t methods);")
    out.append("void glupy_resume(uintptr_t handle);")
    out.append("call_frame_t *glupy_current_frame(void);")
    out.append("long glupy_tasks_in_flight(void);")
    out.append("long glupy_failures_finished_in_c(void);")
    out.append(MISS_CACHE_CDEF)
    out.append(ATTR_CACHE_CDEF)
    return "\n".join(out) + "\n"


# misscache.c: the table of known misses the lookup entry answers in C
MISS_CACHE_CDEF = """\
typedef struct glupy_miss_cache glupy_miss_cache_t;
glupy_miss_cache_t *glupy_mc_new(uint64_t max_entries, double timeout);
void glupy_mc_unref(glupy_miss_cache_t *mc);
int glupy_mc_hit(glupy_miss_cache_t *mc, const unsigned char *gfid, const char *name, size_t len);
int glupy_mc_add(glupy_miss_cache_t *mc, const unsigned char *gfid, const char *name, size_t len);
int glupy_mc_discard(glupy_miss_cache_t *mc, const unsigned char *gfid, const char *name,
                     size_t len);
size_t glupy_mc_parent_names(glupy_miss_cache_t *mc, const unsigned char *gfid, int drop);
void glupy_mc_configure(glupy_miss_cache_t *mc, uint64_t max_entries, double timeout);
void glupy_mc_clear(glupy_miss_cache_t *mc);
void glupy_mc_stats(glupy_miss_cache_t *mc, uint64_t *out);
int glupy_set_miss_cache(xlator_t *this, glupy_miss_cache_t *mc);
"""

# attrcache.c: iatts per gfid the lookup/stat/fstat entries answer in C
ATTR_CACHE_CDEF = """\
typedef struct glupy_attr_cache glupy_attr_cache_t;
glupy_attr_cache_t *glupy_ac_new(uint64_t max_entries, double timeout);
void glupy_ac_unref(glupy_attr_cache_t *ac);
uint64_t glupy_ac_epoch(glupy_attr_cache_t *ac);
int glupy_ac_put(glupy_attr_cache_t *ac, const struct iatt *iatt, uint64_t epoch, int by_lookup);
int glupy_ac_get(glupy_attr_cache_t *ac, const unsigned char *gfid, struct iatt *out,
                 int for_lookup);
int glupy_ac_drop(glupy_attr_cache_t *ac, const unsigned char *gfid);
void glupy_ac_configure(glupy_attr_cache_t *ac, uint64_t max_entries, double timeout);
void glupy_ac_clear(glupy_attr_cache_t *ac);
void glupy_ac_stats(glupy_attr_cache_t *ac, uint64_t *out);
int glupy_set_attr_cache(xlator_t *this, glupy_attr_cache_t *ac);
"""

# fops whose entry first asks the AttrCache (attrcache.c): fop -> C call
ATTR_CACHE_ENTRIES = {
    "lookup": "glupy_attr_cache_lookup(this, frame, loc, xdata)",
    "stat": "glupy_attr_cache_stat(this, frame, loc ? loc->inode : NULL, xdata)",
    "fstat": "glupy_attr_cache_fstat(this, frame, fd, xdata)",
}

THREAD_HELPER = """
/* Every GlusterFS thread that enters Python keeps one Python thread state for
   its whole life.  Without this, each call from a non-Python thread would
   create and destroy a PyThreadState (PyGILState_Ensure/Release with a zero
   count), which costs more than the fop itself. */
static __thread int glupy_thread_ready __attribute__((tls_model("initial-exec")));
static __thread PyThreadState *glupy_tstate __attribute__((tls_model("initial-exec")));
static inline void glupy_enter_thread(void)
{
    if (__builtin_expect(!glupy_thread_ready, 0)) {
        PyGILState_Ensure();
        glupy_tstate = PyEval_SaveThread();
        glupy_thread_ready = 1;
    }
}

/* The GIL for a fop entry or a callback, with the thread state kept above:
   PyGILState_Ensure/Release without their thread-local lookups and counter.
   Returns 0 when this thread already holds it (then glupy_gil_release keeps it). */
static inline int glupy_gil_ensure(void)
{
    glupy_enter_thread();
    if (__builtin_expect(_PyThreadState_UncheckedGet() == glupy_tstate, 0))
        return 0;
    PyEval_RestoreThread(glupy_tstate);
    return 1;
}

static inline void glupy_gil_release(int taken)
{
    if (taken)
        PyEval_SaveThread();
}
"""


def prelude() -> str:
    """Definitions driver.c needs, before it."""
    out = ["/* generated by glupy/_build/codegen.py from glupy/fops.py: do not edit */"]
    out.append(f"#define GLUPY_NUM_CTYPES {len(_CT)}")
    out.append(f"#define GLUPY_NUM_VIEWS {len(VIEW_KINDS)}")
    for i, k in enumerate(VIEW_KINDS):
        out.append(f"#define GLUPY_V_{k.upper()} {i}")
    for name, ct in (("FRAME", "call_frame_t *"), ("XLATOR", "xlator_t *"),
                     ("IOVEC", "struct iovec *"), ("IOBREF", "struct iobref *")):
        out.append(f"#define GLUPY_CT_{name} {_CT[ct]}")
    out.append(THREAD_HELPER)
    return "\n".join(out) + "\n"


def _decl(a: Arg) -> str:
    """A zero-initialised local for C argument ``a``."""
    return f"    {a.ctype}{'' if a.ctype.endswith('*') else ' '}{a.name} = 0;"


def _int_to_py(a: Arg) -> str:
    if a.ctype in UNSIGNED:
        return f"PyLong_FromUnsignedLongLong((unsigned long long){a.name})"
    return f"PyLong_FromLongLong((long long){a.name})"


def _int_from_py(a: Arg, item: str) -> str:
    """Statement: C int argument ``a`` from Python object ``item``, or return -1."""
    u = a.ctype in UNSIGNED
    tmp = "unsigned long long" if u else "long long"
    fn = "glupy_arg_uint" if u else "glupy_arg_int"
    return f"    {{ {tmp} v; if ({fn}({item}, &v) < 0) return -1; {a.name} = ({a.ctype})v; }}"


def _to_py(a: Arg) -> str:
    """C expression: new reference to the Python value of fop argument ``a``."""
    k = a.kind
    if k in VIEW_KINDS:
        return f"glupy_view(GLUPY_V_{k.upper()}, {_CT[a.ctype]}, (void *){a.name}, priv->inst)"
    if k == "str":
        return f"glupy_str({a.name})"
    if k == "opaque":
        return f"({a.name} ? glupy_ptr({a.name}, {_CT[a.ctype]}) : Py_NewRef(Py_None))"
    if k == "vector":
        return f"glupy_vector({a.name}, count, iobref)"
    return _int_to_py(a)


def _raw_kind(a: Arg) -> str:
    """GLUPY_RAW_INT/UINT or the ctype index of reply argument ``a`` (driver.c glupy_raw_t)."""
    if a.kind == "int":
        return "GLUPY_RAW_UINT" if a.ctype in UNSIGNED else "GLUPY_RAW_INT"
    return str(_CT[a.ctype])


def _raw_field(a: Arg) -> str:
    """The member of a glupy_raw_t value holding reply argument ``a``."""
    if a.kind == "int":
        return "u" if a.ctype in UNSIGNED else "i"
    return "p"


def _raw_reads(f: Fop) -> list[str]:
    """Statements: the reply's C arguments (locals) from ``raw``, or return -1."""
    lines = [f"    if (!glupy_raw_check(raw, {len(f.reply)}))", "        return -1;"]
    for i, a in enumerate(f.reply):
        lines.append(f"    {a.name} = ({a.ctype})GLUPY_RAW(raw, {i}).{_raw_field(a)};")
    return lines


def _entry(f: Fop) -> str:
    py = f.py_args
    lines = [f"static int32_t glupy_c_{f.name}(call_frame_t *frame, xlator_t *this{_decls(f.args)})",
             "{"]
    if f.name == "lookup":  # a cached miss is answered before Python (misscache.c)
        lines += ["    if (glupy_miss_cache_answers(this, loc)) {",
                  f"        glupy_unwind_error({f.slot}, frame, ENOENT);",
                  "        return 0;",
                  "    }"]
    if f.name in ATTR_CACHE_ENTRIES:  # a cached iatt is answered before Python (attrcache.c)
        lines += [f"    if ({ATTR_CACHE_ENTRIES[f.name]})", "        return 0;"]
    lines += ["    int gs = glupy_gil_ensure();",
             "    glupy_tail_t tail;",
             "    glupy_tail_t *outer = glupy_tail_arm(&tail, gs);",
             "    glupy_private_t *priv = this->private;",
             "    (void)priv;",
             f"    PyObject *a[{max(len(py), 1)}];"]
    for i, a in enumerate(py):
        lines.append(f"    a[{i}] = {_to_py(a)};")
    lines += [f"    glupy_start(this, {f.slot}, frame, a, {len(py)});",
              "    glupy_tail_run(&tail, outer, gs);",
              "    return 0;",
              "}"]
    return "\n".join(lines)


def _cbk(f: Fop) -> str:
    n = len(f.reply)
    lines = [f"static int32_t glupy_c_{f.name}_cbk(call_frame_t *frame, void *cookie, xlator_t *this, "
             f"int32_t op_ret, int32_t op_errno{_decls(f.reply)})",
             "{",
             "    int gs = glupy_gil_ensure();",
             "    glupy_tail_t tail;",
             "    glupy_tail_t *outer = glupy_tail_arm(&tail, gs);",
             f"    PyObject *raw = glupy_raw_new({n}, glupy_raw_kinds_{f.name});",
             "    if (raw) {"]
    for i, a in enumerate(f.reply):
        cast = "(void *)" if a.kind != "int" else ""
        lines.append(f"        GLUPY_RAW(raw, {i}).{_raw_field(a)} = {cast}{a.name};")
    lines += ["    }",
              f"    glupy_reply(cookie, {f.slot}, op_ret, op_errno, raw);",
              "    glupy_tail_run(&tail, outer, gs);",
              "    return 0;",
              "}"]
    return "\n".join(lines)


def _from_py(a: Arg, item: str, only_if: str = "") -> list[str]:
    """Statements: C argument ``a`` (a local) from Python object ``item``, converted as
    for a wind (views, ints and Vectors in C, the rest through glupy.runtime._to_c),
    or return -1; only when ``only_if`` holds, if given."""
    k = a.kind
    if k in VIEW_KINDS:
        call = (f"glupy_arg_view({item}, GLUPY_V_{k.upper()}, {_CT[a.ctype]}, \"{k}\", rec, "
                f"(void **)&{a.name})")
    elif k in ("str", "opaque"):
        call = f"glupy_arg_other({item}, {_CT[a.ctype]}, \"{k}\", rec, (void **)&{a.name})"
    elif k == "vector":
        call = f"glupy_arg_vector({item}, rec, &{a.name}, &count, &iobref)"
    else:
        stmt = _int_from_py(a, item)
        return [f"    if ({only_if})", "    " + stmt] if only_if else [stmt]
    return [f"    if ({f'({only_if}) && ' if only_if else ''}{call} < 0)", "        return -1;"]


def _wind(f: Fop) -> str:
    lines = [f"static int glupy_wind_{f.name}(call_frame_t *frame, xlator_t *child, "
             "glupy_wind_rec_t *rec, PyObject *py_args)",
             "{"]
    lines += [_decl(a) for a in f.args]
    lines.append(f"    if (PyTuple_GET_SIZE(py_args) != {len(f.py_args)}) {{")
    lines.append(f'        PyErr_SetString(PyExc_TypeError, "{f.name} takes {len(f.py_args)} arguments");')
    lines.append("        return -1;")
    lines.append("    }")
    for i, a in enumerate(f.py_args):
        lines += _from_py(a, f"PyTuple_GET_ITEM(py_args, {i})")
    inits = ", ".join(f".{a.name} = {a.name}" for a in f.args)
    lines += [f"    struct glupy_wargs_{f.name} w = {{{inits}}};",
              "    if (glupy_tail_wind(frame, child, rec, glupy_do_wind_" + f.name + ", &w, sizeof(w), py_args))",
              "        return 0; /* issued as the last step of this entry/callback */",
              "    Py_BEGIN_ALLOW_THREADS",
              f"    glupy_do_wind_{f.name}(frame, child, rec, &w);",
              "    Py_END_ALLOW_THREADS",
              "    return 0;",
              "}"]
    return "\n".join(lines)


def _do_wind(f: Fop) -> str:
    """The converted arguments of a wind (``struct glupy_wargs_F``) and the
    STACK_WIND with them (``glupy_do_wind_F``; GIL released)."""
    fields = "".join(f"    {a.decl};\n" for a in f.args)
    names = "".join(", a->" + a.name for a in f.args)
    return (f"struct glupy_wargs_{f.name} {{\n{fields}}};\n"
            f"_Static_assert(sizeof(struct glupy_wargs_{f.name}) <= GLUPY_WARGS_MAX, "
            f'"wind arguments of {f.name} do not fit glupy_tail_t");\n'
            f"static void glupy_do_wind_{f.name}(call_frame_t *frame, xlator_t *child, "
            "glupy_wind_rec_t *rec, const void *p)\n{\n"
            f"    const struct glupy_wargs_{f.name} *a = p;\n"
            f"    STACK_WIND_COOKIE(frame, glupy_c_{f.name}_cbk, (void *)rec, child,\n"
            f"                      child->fops->{f.name}{names});\n}}")


def _unwind_raw(f: Fop) -> str:
    lines = [f"static int glupy_unwind_raw_{f.name}(call_frame_t *frame, int32_t op_ret, "
             "int32_t op_errno, PyObject *raw, int tail)",
             "{"]
    lines += [_decl(a) for a in f.reply]
    lines += _raw_reads(f)
    lines += ["    if (tail) { /* the last step of an entry/callback: raw dropped, GIL released for good */",
              "        Py_DECREF(raw);",
              "        PyEval_SaveThread();",
              f"        STACK_UNWIND_STRICT({f.name}, frame, op_ret, op_errno{_names(f.reply)});",
              "        return 0;",
              "    }",
              "    Py_BEGIN_ALLOW_THREADS",
              f"    STACK_UNWIND_STRICT({f.name}, frame, op_ret, op_errno{_names(f.reply)});",
              "    Py_END_ALLOW_THREADS",
              "    return 0;",
              "}"]
    return "\n".join(lines)


def _unwind_part(f: Fop) -> str | None:
    """``glupy_unwind_part_F``: a child's reply of which Python set some fields (bit i
    of ``mask``: field i of the reply class, a value in ``vals``): those converted like
    wind arguments, the others from ``raw``.  None for readdir/readdirp (a new listing
    also changes op_ret: Python's _finish_slow does that)."""
    fields = f.py_reply
    if any(a.kind == "dirents" for a in fields):
        return None
    lines = [f"static int glupy_unwind_part_{f.name}(call_frame_t *frame, int32_t op_ret, "
             "int32_t op_errno, PyObject *raw, PyObject *vals, unsigned long mask, "
             "glupy_wind_rec_t *rec)",
             "{"]
    lines += [_decl(a) for a in f.reply]
    lines.append(f"    if (PyList_GET_SIZE(vals) != {len(fields)})")
    lines.append("        return -1;")
    lines += _raw_reads(f)
    for j, a in enumerate(fields):
        lines += _from_py(a, f"PyList_GET_ITEM(vals, {j})", f"mask & (1UL << {j})")
    lines += ["    Py_BEGIN_ALLOW_THREADS",
              f"    STACK_UNWIND_STRICT({f.name}, frame, op_ret, op_errno{_names(f.reply)});",
              "    Py_END_ALLOW_THREADS",
              "    return 0;",
              "}"]
    return "\n".join(lines)


# 10.x's STACK_UNWIND_STRICT passes strerror(op_errno) to a debug message on every
# error unwind, and _gf_msg drops it unless debug messages are logged: the
# strerror call alone (gettext lookups) was ~1.7k instructions per failed fop,
# more than a tenth of what a Python translator adds.  In the unwinds below
# strerror only runs when the message is logged (_gf_msg's own test,
# skip_logging(): the xlator's log level, else the process's).  11.x passes
# op_errno to the log instead and never calls strerror here.
LAZY_STRERROR = """
static const char *glupy_unwind_strerror(int op_errno)
{
    xlator_t *x = THIS;
    if (!x || !x->ctx)
        return "";
    gf_loglevel_t level = x->loglevel ? x->loglevel : x->ctx->log.loglevel;
    return GF_LOG_DEBUG > level ? "" : strerror(op_errno);
}
#define strerror(e) glupy_unwind_strerror(e)
"""


def source() -> str:
    """C code after driver.c: the per-fop functions and the tables."""
    out = ["/* generated by glupy/_build/codegen.py from glupy/fops.py: do not edit */"]
    out.append(LAZY_STRERROR)
    for f in FOPS:
        out.append(f"static {_unwind_proto(f)}\n{{\n"
                   f"    STACK_UNWIND_STRICT({f.name}, frame, op_ret, op_errno{_names(f.reply)});\n}}")
    out.append("static void glupy_unwind_error(int slot, call_frame_t *frame, int32_t op_errno)\n{\n"
               "    switch (slot) {")
    for f in FOPS:
        zeros = "".join(", " + _zero(a) for a in f.reply)
        out.append(f"    case {f.slot}: glupy_unwind_{f.name}(frame, -1, op_errno{zeros}); break;")
    out.append("    }\n}")
    for f in FOPS:
        kinds = ", ".join(_raw_kind(a) for a in f.reply) or "0"
        out.append(f"static const signed char glupy_raw_kinds_{f.name}[] = {{{kinds}}};")
    parts = {f.name: _unwind_part(f) for f in FOPS}
    for f in FOPS:
        out.append(_entry(f))
        out.append(_cbk(f))
        out.append(_do_wind(f))
        out.append(_wind(f))
        out.append(_unwind_raw(f))
        if parts[f.name]:
            out.append(parts[f.name])
    out.append("#undef strerror")
    for c in CBKS:
        out.append(f"static {_cbk_cbk_proto(c.name, c.ret, c.args)};")
    out.append("static glupy_winder_t glupy_winders[GLUPY_NUM_SLOTS] = {\n    "
               + ",\n    ".join(f"[{f.slot}] = glupy_wind_{f.name}" for f in FOPS) + "\n};")
    out.append("static glupy_raw_unwinder_t glupy_raw_unwinders[GLUPY_NUM_SLOTS] = {\n    "
               + ",\n    ".join(f"[{f.slot}] = glupy_unwind_raw_{f.name}" for f in FOPS) + "\n};")
    out.append("static glupy_part_unwinder_t glupy_part_unwinders[GLUPY_NUM_SLOTS] = {\n    "
               + ",\n    ".join(f"[{f.slot}] = glupy_unwind_part_{f.name}" for f in FOPS
                               if parts[f.name]) + "\n};")
    # The entry points, in struct xlator_fops slot order (NULL = placeholder).
    slots = ["NULL"] * NUM_FOP_SLOTS
    for f in FOPS:
        slots[f.slot] = f"(void *)glupy_c_{f.name}"
    out.append(f"static void *const glupy_entry_points[{NUM_FOP_SLOTS}] = {{\n    "
               + ",\n    ".join(slots) + "\n};")
    # The table must agree with the headers this is compiled against.
    out.append(f"_Static_assert({max(len(f.reply) for f in FOPS)} <= GLUPY_RAW_MAX,"
               ' "a reply has more arguments than glupy_raw_t holds");')
    out.append(f"_Static_assert(GF_FOP_MAXVALUE == {NUM_FOP_SLOTS} + 1,"
               ' "number of fops differs from the installed headers");')
    for f in FOPS:
        out.append(f"_Static_assert(offsetof(struct xlator_fops, {f.name}) == {f.slot} * sizeof(void *),"
                   f' "slot of {f.name} differs from the installed headers");')
    return "\n".join(out) + "\n"


assert set(VIEW_KINDS) <= set(KINDS.values())
