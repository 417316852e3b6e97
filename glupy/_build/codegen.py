"""Generate the bridge's per-fop C from the fop table (glupy/fops.py).

The C is written as templates that read as C, next to the rest of the bridge
(glupy/_bridge/src/fops-tmpl.c and fops-tmpl.h; their comments say what each
function does), the way GlusterFS's generator.py expands defaults-tmpl.c.  This
module fills them in: ``/* @FOR_EACH fop@ */ ... /* @END@ */`` repeats the text
per fop (or view, pointer type, cbk), ``@NAME@`` is replaced, and a placeholder
alone on its line stands for statements, one per argument, indented like it.
It also makes the cffi declarations (``cdef``) of what Python calls.
"""

from __future__ import annotations

import re
from pathlib import Path

from glupy.fops import CBKS, FOPS, INODE_CREATING, KINDS, NAME_CREATING, NUM_FOP_SLOTS, PY_CBKS, Arg, Cbk, Fop
from glupy.runtime.procstatus import STATUS_XATTR

SOURCE_DIR = Path(__file__).resolve().parent.parent / "_bridge" / "src"

# Kinds that are views (glupy.types classes wrapping a pointer), in the order
# glupy.runtime.driver passes their classes to the driver.
VIEW_KINDS = ("loc", "fd", "inode", "dict", "iatt", "flock", "statvfs", "lease", "dirents")
# C types besides the fop table's that the driver converts, with their GLUPY_CT_ names
_DRIVER_CTYPES = {"call_frame_t *": "FRAME", "xlator_t *": "XLATOR",
                  "struct iovec *": "IOVEC", "struct iobref *": "IOBREF"}
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
# the pointer type of each view kind (one per kind)
_VIEW_CTYPE = {kind: ctype for ctype, kind in KINDS.items() if kind in VIEW_KINDS}


# ------------------------------------------------------------ the template engine

_BLOCK = re.compile(r"^[ \t]*/\* @FOR_EACH (\w+)@ \*/\n(.*?)^[ \t]*/\* @END@ \*/\n", re.S | re.M)
_STATEMENTS = re.compile(r"^([ \t]*)@([A-Z0-9_]+)@\n", re.M)
_PLACEHOLDER = re.compile(r"@([A-Z0-9_]+)@")


def _fill(text: str, values: dict[str, str | list[str]]) -> str:
    def statements(m: re.Match[str]) -> str:
        value = values[m.group(2)]
        lines = value if isinstance(value, list) else [value]
        return "".join(f"{m.group(1)}{line}\n" if line else "\n" for line in lines if line != "")
    text = _STATEMENTS.sub(statements, text)
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def expand(template: str, items: dict[str, list[dict[str, str | list[str]]]],
           values: dict[str, str | list[str]]) -> str:
    """``template`` with its FOR_EACH blocks repeated per item and placeholders filled."""
    text = _BLOCK.sub(lambda m: "".join(_fill(m.group(2), v) for v in items[m.group(1)]), template)
    return _fill(text, values)


# ------------------------------------------------------------ per fop

# fops whose entry first asks the AttrCache (attrcache.c): fop -> C call
ATTR_CACHE_ENTRIES = {
    "lookup": "glupy_attr_cache_lookup(this, frame, loc, xdata)",
    "stat": "glupy_attr_cache_stat(this, frame, loc ? loc->inode : NULL, xdata)",
    "fstat": "glupy_attr_cache_fstat(this, frame, fd, xdata)",
}

def _targets(f: Fop) -> tuple[str, str, str]:
    """C expressions of what glupy.Refuse's marks are tested on (glupy.h
    glupy_rules_to_python): the target inode (of the first loc or fd; copy_file_range:
    fd_out), its fd, and another loc's inode (rename, link: newloc; copy_file_range:
    fd_in's)."""
    locs = [a.name for a in f.args if a.ctype == "loc_t *"]
    fds = [a.name for a in f.args if a.ctype == "fd_t *"]
    if f.name == "copy_file_range":
        return "(fd_out ? fd_out->inode : NULL)", "fd_out", "(fd_in ? fd_in->inode : NULL)"
    fd = fds[0] if fds else "NULL"
    if locs:
        target = f"({locs[0]} ? {locs[0]}->inode : NULL)"
    elif fds:
        target = f"({fd} ? {fd}->inode : NULL)"
    else:
        target = "NULL"
    other = f"({locs[1]} ? {locs[1]}->inode : NULL)" if len(locs) > 1 else "NULL"
    return target, fd, other


def _decls(args: tuple[Arg, ...]) -> str:
    return "".join(", " + a.decl for a in args)


def _names(args: tuple[Arg, ...], prefix: str = "") -> str:
    return "".join(f", {prefix}{a.name}" for a in args)


def _zero(a: Arg) -> str:
    return "NULL" if a.ctype.endswith("*") else "0"


def _local(a: Arg) -> str:
    """A zero-initialised local for C argument ``a``."""
    return f"{a.ctype}{'' if a.ctype.endswith('*') else ' '}{a.name} = 0;"


def _to_py(a: Arg) -> str:
    """C expression: new reference to the Python value of fop argument ``a``."""
    k = a.kind
    if k in VIEW_KINDS:
        return f"glupy_view(GLUPY_V_{k.upper()}, {_CT[a.ctype]}, (void *){a.name}, PyTuple_GET_ITEM(binding, 0))"
    if k == "str":
        return f"glupy_str({a.name})"
    if k == "opaque":
        return f"({a.name} ? glupy_ptr({a.name}, {_CT[a.ctype]}) : Py_NewRef(Py_None))"
    if k == "vector":
        return f"glupy_vector({a.name}, count, iobref)"
    if a.ctype in UNSIGNED:
        return f"PyLong_FromUnsignedLongLong((unsigned long long){a.name})"
    return f"PyLong_FromLongLong((long long){a.name})"


def _raw_kind(a: Arg) -> str:
    """GLUPY_RAW_INT/UINT or the ctype index of reply argument ``a`` (glupy.h glupy_raw_t)."""
    if a.kind == "int":
        return "GLUPY_RAW_UINT" if a.ctype in UNSIGNED else "GLUPY_RAW_INT"
    return str(_CT[a.ctype])


def _raw_field(a: Arg) -> str:
    """The member of a glupy_raw_t value holding reply argument ``a``."""
    if a.kind == "int":
        return "u" if a.ctype in UNSIGNED else "i"
    return "p"


def _from_py(a: Arg, item: str, only_if: str = "") -> list[str]:
    """Statements: C argument ``a`` (a local) from Python object ``item``, converted as
    for a wind (views, ints and Vectors in C, the rest through glupy.runtime.driver._to_c),
    or return -1; only when ``only_if`` holds, if given."""
    k = a.kind
    if k in VIEW_KINDS:
        call = (f"glupy_arg_view({item}, GLUPY_V_{k.upper()}, {_CT[a.ctype]}, \"{k}\", rec, "
                f"(void **)&{a.name})")
    elif k in ("str", "opaque"):
        # a const char * in C; a char * the callee might write goes through Python's copy
        fn = "glupy_arg_str" if a.ctype == "const char *" else "glupy_arg_other"
        call = f"{fn}({item}, {_CT[a.ctype]}, \"{k}\", rec, (void **)&{a.name})"
    elif k == "vector":
        call = f"glupy_arg_vector({item}, rec, &{a.name}, &count, &iobref)"
    else:
        u = a.ctype in UNSIGNED
        tmp, fn = ("unsigned long long", "glupy_arg_uint") if u else ("long long", "glupy_arg_int")
        stmt = f"{{ {tmp} v; if ({fn}({item}, &v) < 0) return -1; {a.name} = ({a.ctype})v; }}"
        return [f"if ({only_if})", "    " + stmt] if only_if else [stmt]
    return [f"if ({f'({only_if}) && ' if only_if else ''}{call} < 0)", "    return -1;"]


def _fields_from_vals(f: Fop) -> list[str]:
    if any(a.kind == "dirents" for a in f.py_reply):
        # a new listing also changes op_ret: glupy.runtime.driver._finish_slow does that
        return ["return -1;"]
    out: list[str] = []
    for j, a in enumerate(f.py_reply):
        out += _from_py(a, f"PyList_GET_ITEM(vals, {j})", f"mask & (1UL << {j})")
    return out


def _fop_values(f: Fop) -> dict[str, str | list[str]]:
    py = f.py_args
    flag = f.flag_arg
    creating = NAME_CREATING.get(f.name)
    wind_args = f"FIRST_CHILD(this), FIRST_CHILD(this)->fops->{f.name}{_names(f.args)}"
    before: list[str] = []
    if f.name == "getxattr":  # the process status, for every glupy translator (bridge.c)
        before += ["if (glupy_is_status_key(name))", "    return glupy_answer_status(frame, this);"]
    # glupy.Refuse first (rules.c): refused, or wound on in C, before Python
    target, fd_arg, other = _targets(f)
    before += ["int refused;",
              f"int to_python = glupy_rules_to_python(this, {f.slot}, "
              f"{f'(uint64_t){flag.name}' if flag else '0'}, {target}, {fd_arg}, {other}, &refused);",
              "if (refused) {",
              f"    glupy_unwind_error({f.slot}, frame, refused);",
              "    return 0;",
              "}"]
    if creating:  # the MissCache forgets the name first (misscache.c)
        before += [f"glupy_miss_cache_forget_name(this, {creating[0]});"]
    loc = next((a.name for a in f.args if a.ctype == "loc_t *"), "NULL")
    fd = next((a.name for a in f.args if a.ctype == "fd_t *"), "NULL")
    # wound on in C: with a Journal record (journal.c) or for a name-creating fop, the
    # reply comes back through glupy_c_F_passed and glupy_unwind_F (AFTER_REPLY)
    if f.name == "lookup":  # a cached miss is answered first, in C or not (misscache.c)
        before += ["if (glupy_miss_cache_answers(this, loc)) {",
                  f"    glupy_unwind_error({f.slot}, frame, ENOENT);",
                  "    return 0;",
                  "}"]
    before += ["if (!to_python) {",
               f"    void *record = glupy_journal_begin(this, frame, {f.slot}, {loc}, {fd});"]
    wind_xdata = wind_args
    if f.name == "lookup":
        # a MissCache without a Python lookup learns its misses in C (misscache.c); the
        # xattrs glupy.Mark learns from are asked for (rules.c)
        before += ["    dict_t *asked = glupy_marks_ask(this, xdata);",
                   "    int learn = glupy_miss_cache_lookup_begin(this, frame, loc);",
                   "    if (!record && !asked && !learn) {",
                   f"        STACK_WIND_TAIL(frame, {wind_args});",
                   "        return 0;",
                   "    }"]
        wind_xdata = wind_args.replace(", xdata", ", asked ? asked : xdata")
    elif not creating:
        before += ["    if (!record) {",
                   f"        STACK_WIND_TAIL(frame, {wind_args});",
                   "        return 0;",
                   "    }"]
    before += [f"    STACK_WIND_COOKIE(frame, glupy_c_{f.name}_passed, record, {wind_xdata});"]
    if f.name == "lookup":
        before += ["    if (asked)", "        dict_unref(asked);"]
    before += ["    return 0;", "}"]
    if f.name in ATTR_CACHE_ENTRIES:  # a cached iatt is answered before Python (attrcache.c)
        before += [f"if ({ATTR_CACHE_ENTRIES[f.name]})", "    return 0;"]
    after_reply = [f"glupy_miss_cache_created(frame->this, op_ret, {creating[1]});"] if creating else []
    if f.name in INODE_CREATING:
        after_reply.append("glupy_marks_created(frame->this, op_ret, inode);")
    args_from_py: list[str] = []
    for i, a in enumerate(py):
        args_from_py += _from_py(a, f"PyTuple_GET_ITEM(py_args, {i})")
    return {
        "FOP": f.name,
        "SLOT": str(f.slot),
        "ARG_DECLS": _decls(f.args),
        "REPLY_DECLS": _decls(f.reply),
        "REPLY_NAMES": _names(f.reply),
        "REPLY_ZEROS": "".join(", " + _zero(a) for a in f.reply),
        "NUM_PY_ARGS": str(len(py)),
        "NUM_REPLY": str(len(f.reply)),
        "NUM_FIELDS": str(len(f.py_reply)),
        "RAW_KINDS": ", ".join(_raw_kind(a) for a in f.reply) or "0",
        "LISTS_ENTRIES": "1" if any(a.kind == "dirents" for a in f.reply) else "0",
        "BEFORE_PYTHON": before,
        "AFTER_REPLY": after_reply,
        # a handed-off fop's reply goes to the parent directly unless AFTER_REPLY must run
        "UNWIND_SEES_REPLY": "1" if after_reply else "0",
        "PASSED": ["glupy_miss_cache_lookup_end(this, frame, op_ret, op_errno, buf, postparent);",
                   "glupy_marks_learn(this, op_ret, inode, xdata);"] if f.name == "lookup" else [],
        "ARGS_TO_PY": [f"a[{i}] = {_to_py(a)};" for i, a in enumerate(py)],
        "REPLY_TO_RAW": [f"GLUPY_RAW(raw, {i}).{_raw_field(a)} = {'' if a.kind == 'int' else '(void *)'}"
                         f"{a.name};" for i, a in enumerate(f.reply)],
        "WARGS_FIELDS": [f"{a.decl};" for a in f.args],
        "WARGS_NAMES": _names(f.args, "a->"),
        "WARGS_INIT": ", ".join(f".{a.name} = {a.name}" for a in f.args),
        "ARG_LOCALS": [_local(a) for a in f.args],
        "ARGS_FROM_PY": args_from_py,
        "REPLY_LOCALS": [_local(a) for a in f.reply],
        "REPLY_FROM_RAW": [f"{a.name} = ({a.ctype})GLUPY_RAW(raw, {i}).{_raw_field(a)};"
                           for i, a in enumerate(f.reply)],
        "FIELDS_FROM_VALS": _fields_from_vals(f),
    }


# forget/release/releasedir reach Python only when it holds a context or the class
# defines the cbk: an inode or fd may carry only glupy.Mark bits (rules.c)
_CBK_TO_PYTHON = {"forget": "glupy_forget_to_python(this, inode)",
                  "release": "glupy_release_to_python(this, fd, 0)",
                  "releasedir": "glupy_release_to_python(this, fd, 1)"}


def _cbk_values(c: Cbk) -> dict[str, str | list[str]]:
    to_python = _CBK_TO_PYTHON.get(c.name)
    return {"CBK": c.name, "CBK_RET": c.ret, "CBK_DECLS": _decls(c.args),
            "CBK_NAMES": _names(c.args), "CBK_RETURN": "" if c.ret == "void" else "return ",
            "CBK_SKIP": [f"if (!{to_python})", "    return 0;"] if to_python else []}


def _items() -> dict[str, list[dict[str, str | list[str]]]]:
    py_cbks = [c for c in CBKS if c.name in PY_CBKS]
    return {
        "fop": [_fop_values(f) for f in FOPS],
        "cbk": [_cbk_values(c) for c in py_cbks],
        "any_cbk": [_cbk_values(c) for c in CBKS],
        "view": [{"VIEW": k.upper(), "INDEX": str(i), "CT": str(_CT[_VIEW_CTYPE[k]])}
                 for i, k in enumerate(VIEW_KINDS)],
        "ctype": [{"CTYPE": n, "INDEX": str(_CT[c])} for c, n in _DRIVER_CTYPES.items()],
    }


def _file_values() -> dict[str, str | list[str]]:
    return {"NUM_SLOTS": str(NUM_FOP_SLOTS), "NUM_VIEWS": str(len(VIEW_KINDS)),
            "STATUS_XATTR": STATUS_XATTR,
            "NUM_CTYPES": str(len(_CT)), "MAX_REPLY": str(max(len(f.reply) for f in FOPS))}


def _generated(name: str) -> str:
    template = (SOURCE_DIR / name.replace(".", "-tmpl.")).read_text()
    note = (f"/* generated from {name.replace('.', '-tmpl.')} by glupy/_build/codegen.py "
            "(glupy/fops.py): do not edit */\n")
    return note + expand(template, _items(), _file_values())


def header() -> str:
    """fops.h: the fop table's numbers and per-fop declarations (glupy.h includes it)."""
    return _generated("fops.h")


def source() -> str:
    """fops.c: entry, callback, wind and unwind of every fop, the tables, the cbks."""
    return _generated("fops.c")


def write(directory: Path) -> list[Path]:
    """fops.h and fops.c in ``directory``; returns the .c files to compile."""
    (directory / "fops.h").write_text(header())
    out = directory / "fops.c"
    out.write_text(source())
    return [out]


# ------------------------------------------------------------ what Python calls

def _unwind_proto(f: Fop) -> str:
    return f"void glupy_unwind_{f.name}(call_frame_t *frame, int32_t op_ret, int32_t op_errno{_decls(f.reply)})"


def cdef() -> str:
    """The cffi declarations: extern "Python" cbks (forget, release ...), the
    unwinds Python uses for replies it converted, and the driver's entry points."""
    out = ['extern "Python+C" {']
    for c in CBKS:
        out.append(f"    {c.ret} glupy_py_cbk_{c.name}(xlator_t *this{_decls(c.args)});")
    out.append("}")
    out.append("struct glupy_cbks_wanted {")
    out += [f"    unsigned char {c};" for c in PY_CBKS]
    out.append("};")
    out.append("int glupy_install_cbks(xlator_t *this, const struct glupy_cbks_wanted *wanted);")
    for f in FOPS:
        out.append(f"{_unwind_proto(f)};")
    out.append("void glupy_unwind_error(int slot, call_frame_t *frame, int32_t op_errno);")
    out.append("int glupy_driver_setup(void);")
    out.append("const char *glupy_driver_setup_error(void);")
    out.append("void glupy_resume(uintptr_t handle);")
    out.append("call_frame_t *glupy_current_frame(void);")
    out.append("long glupy_tasks_in_flight(void);")
    out.append("long glupy_failures_finished_in_c(void);")
    out.append("long glupy_tasks_ended_off_entry(void);")
    out.append("int glupy_free_threaded(void);")
    out.append(_cache_tables_cdef())
    return "\n".join(out) + "\n"


def _cache_tables_cdef() -> str:
    """misscache.c's and attrcache.c's functions for Python, as glupy.h declares them."""
    header = (SOURCE_DIR / "glupy.h").read_text()
    start = header.index("typedef struct glupy_miss_cache glupy_miss_cache_t;")
    return header[start:header.index("/* (end of what Python calls) */", start)]


assert set(VIEW_KINDS) <= set(KINDS.values())
