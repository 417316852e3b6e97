/* glupy._core: the hot types, defined once (see core.h).  glupy.translator
 * re-exports them; the bridge's task engine imports the capsule. */

#include "core.h"
#include <structmember.h>
#include <string.h>

/* ------------------------------------------------------------ FopError */

static PyObject *glupy_errorcode; /* errno.errorcode, for str() */

static int fop_error_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"errno", "message", "reply", NULL};
    glupy_fop_error_t *e = (glupy_fop_error_t *)self;
    PyObject *code, *message = Py_None, *reply = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OO:FopError", kwlist, &code, &message,
                                     &reply))
        return -1;
    PyObject *n = PyNumber_Long(code); /* int(errno) */
    if (!n)
        return -1;
    Py_XSETREF(e->errno_, n);
    Py_XSETREF(e->reply, Py_NewRef(reply));
    Py_XSETREF(e->message, Py_NewRef(message));
    return 0;
}

/* formatted on demand: failing fops are a hot path (ENOENT lookups) */
static PyObject *fop_error_str(PyObject *self)
{
    glupy_fop_error_t *e = (glupy_fop_error_t *)self;
    if (e->message && PyObject_IsTrue(e->message) == 1)
        return PyObject_Str(e->message);
    PyErr_Clear();
    if (!e->errno_)
        return PyUnicode_FromString("FopError");
    long code = PyLong_AsLong(e->errno_);
    if (code == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return PyObject_Str(e->errno_);
    }
    PyObject *name = glupy_errorcode ? PyDict_GetItemWithError(glupy_errorcode, e->errno_) : NULL;
    if (!name && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromFormat("%S: %s", name ? name : e->errno_, strerror((int)code));
}

static int fop_error_traverse(PyObject *self, visitproc visit, void *arg)
{
    glupy_fop_error_t *e = (glupy_fop_error_t *)self;
    Py_VISIT(e->errno_);
    Py_VISIT(e->reply);
    Py_VISIT(e->message);
    return ((PyTypeObject *)PyExc_Exception)->tp_traverse(self, visit, arg);
}

static int fop_error_clear(PyObject *self)
{
    glupy_fop_error_t *e = (glupy_fop_error_t *)self;
    Py_CLEAR(e->errno_);
    Py_CLEAR(e->reply);
    Py_CLEAR(e->message);
    return ((PyTypeObject *)PyExc_Exception)->tp_clear(self);
}

static void fop_error_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    fop_error_clear(self);
    Py_TYPE(self)->tp_free(self);
}

static PyMemberDef fop_error_members[] = {
    {"errno", T_OBJECT_EX, offsetof(glupy_fop_error_t, errno_), 0, "the errno the fop fails with"},
    {"reply", T_OBJECT_EX, offsetof(glupy_fop_error_t, reply), 0,
     "the child's error reply (unwound as it is when re-raised), or None"},
    {"_message", T_OBJECT_EX, offsetof(glupy_fop_error_t, message), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_fop_error_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy.FopError",
    .tp_basicsize = sizeof(glupy_fop_error_t),
    .tp_dealloc = fop_error_dealloc,
    .tp_str = fop_error_str,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "FopError(errno, message=None, reply=None)\n--\n\n"
              "Raise to fail a fop with ``errno``; raised by a wind whose child failed.\n\n"
              "``reply`` carries the child's error reply (e.g. lookup's postparent and\n"
              "xdata) so that re-raising it unwinds exactly what the child said.",
    .tp_traverse = fop_error_traverse,
    .tp_clear = fop_error_clear,
    .tp_members = fop_error_members,
    .tp_init = fop_error_init,
};

static PyTypeObject glupy_wind_type;

static PyObject *glupy_s_slot; /* "slot" */

/* fop.slot (a glupy.fops.Fop's public field), or -1: the engine refuses the wind */
static int fop_slot(PyObject *fop)
{
    PyObject *s = PyObject_GetAttr(fop, glupy_s_slot);
    long slot = s && PyLong_CheckExact(s) ? PyLong_AsLong(s) : -1;
    Py_XDECREF(s);
    if (PyErr_Occurred())
        PyErr_Clear();
    return slot >= 0 && slot <= INT_MAX ? (int)slot : -1;
}

/* ------------------------------------------------------------ await */
/* ``await wind`` without a Python frame: the first step yields the wind or
 * gather to the engine, the second returns the reply the engine sends.  It has
 * no throw(): a failed wind's FopError is sent as the value and raised here,
 * straight in the translator's coroutine (one frame and one traceback entry
 * less per failing fop than a generator's ``reply = yield self``).  A driver
 * that throw()s instead (glupy.testing) gets the same: CPython throws into the
 * awaiting frame when the iterator has no throw(). */
typedef struct {
    PyObject_HEAD
    PyObject *awaited; /* until the first step */
} glupy_await_t;

static PyTypeObject glupy_await_type;

static PySendResult await_send(PyObject *self, PyObject *arg, PyObject **result)
{
    glupy_await_t *a = (glupy_await_t *)self;
    if (a->awaited) {
        PyObject *w = a->awaited;
        a->awaited = NULL;
        if (Py_IS_TYPE(w, &glupy_wind_type))
            ((glupy_wind_t *)w)->awaited = 1;
        else
            ((glupy_gather_t *)w)->awaited = 1;
        *result = w; /* the reference moves to the caller */
        return PYGEN_NEXT;
    }
    if (PyExceptionInstance_Check(arg)) { /* a failed wind */
        PyErr_SetObject((PyObject *)Py_TYPE(arg), arg);
        *result = NULL;
        return PYGEN_ERROR;
    }
    *result = Py_NewRef(arg);
    return PYGEN_RETURN;
}

static PyObject *await_send_method(PyObject *self, PyObject *arg)
{
    PyObject *r;
    PySendResult s = await_send(self, arg, &r);
    if (s == PYGEN_NEXT)
        return r;
    if (s == PYGEN_ERROR)
        return NULL;
    PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, r);
    Py_DECREF(r);
    if (stop) {
        PyErr_SetObject(PyExc_StopIteration, stop);
        Py_DECREF(stop);
    }
    return NULL;
}

static PyObject *await_next(PyObject *self)
{
    return await_send_method(self, Py_None);
}

static void await_dealloc(PyObject *self)
{
    Py_XDECREF(((glupy_await_t *)self)->awaited);
    PyObject_Free(self);
}

static PyMethodDef await_methods[] = {
    {"send", await_send_method, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyAsyncMethods await_async = {.am_send = await_send};

static PyTypeObject glupy_await_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core._await",
    .tp_basicsize = sizeof(glupy_await_t),
    .tp_dealloc = await_dealloc,
    .tp_as_async = &await_async,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = await_next,
    .tp_methods = await_methods,
};

/* Wind.__await__ and Gather.__await__ (am_await) */
static PyObject *await_new(PyObject *self)
{
    glupy_await_t *a = PyObject_New(glupy_await_t, &glupy_await_type);
    if (!a)
        return NULL;
    a->awaited = Py_NewRef(self);
    return (PyObject *)a;
}

static PyAsyncMethods wind_async = {.am_await = await_new};

static PyMethodDef generic_methods[] = {
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, "Wind[R] in annotations"},
    {NULL, NULL, 0, NULL},
};

/* ------------------------------------------------------------ Wind */

static PyObject *wind_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"child", "fop", "args", NULL};
    PyObject *child, *fop, *wargs;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!:Wind", kwlist, &child, &fop,
                                     &PyTuple_Type, &wargs))
        return NULL;
    return glupy_wind_new(type, child, fop, fop_slot(fop), Py_NewRef(wargs));
}

/* Child.<fop>() and FopCall.wind() build their Wind with this: no tp_new
 * argument parsing. */
static PyObject *make_wind(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyTuple_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "_make_wind(child, fop, args: tuple)");
        return NULL;
    }
    return glupy_wind_new(&glupy_wind_type, args[0], args[1], fop_slot(args[1]),
                          Py_NewRef(args[2]));
}

static PyObject *wind_repr(PyObject *self)
{
    glupy_wind_t *w = (glupy_wind_t *)self;
    PyObject *fop = PyObject_GetAttrString(w->fop, "name");
    PyObject *child = fop ? PyObject_GetAttrString(w->child, "name") : NULL;
    PyObject *r = child ? PyUnicode_FromFormat("<wind %S to %S>", fop, child) : NULL;
    Py_XDECREF(fop);
    Py_XDECREF(child);
    return r;
}

static int wind_traverse(PyObject *self, visitproc visit, void *arg)
{
    glupy_wind_t *w = (glupy_wind_t *)self;
    Py_VISIT(w->child);
    Py_VISIT(w->fop);
    Py_VISIT(w->args);
    return 0;
}

static int wind_clear(PyObject *self)
{
    glupy_wind_t *w = (glupy_wind_t *)self;
    Py_CLEAR(w->child);
    Py_CLEAR(w->fop);
    Py_CLEAR(w->args);
    return 0;
}

static void wind_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    wind_clear(self);
    PyObject_GC_Del(self);
}

static PyMemberDef wind_members[] = {
    {"child", T_OBJECT, offsetof(glupy_wind_t, child), READONLY, "the glupy.Child wound to"},
    {"fop", T_OBJECT, offsetof(glupy_wind_t, fop), READONLY, "the glupy.fops.Fop"},
    {"args", T_OBJECT, offsetof(glupy_wind_t, args), READONLY, "the wind arguments (a tuple)"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_wind_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy.Wind",
    .tp_basicsize = sizeof(glupy_wind_t),
    .tp_dealloc = wind_dealloc,
    .tp_repr = wind_repr,
    .tp_as_async = &wind_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Wind(child, fop, args)\n--\n\n"
              "A pending call to a child translator; ``await`` it for the reply.",
    .tp_traverse = wind_traverse,
    .tp_clear = wind_clear,
    .tp_methods = generic_methods,
    .tp_members = wind_members,
    .tp_new = wind_tp_new,
};

/* ------------------------------------------------------------ Gather */

static PyObject *gather_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"winds", "return_exceptions", NULL};
    PyObject *winds;
    int return_exceptions = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!|p:Gather", kwlist, &PyTuple_Type, &winds,
                                     &return_exceptions))
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(winds); i++)
        if (!Py_IS_TYPE(PyTuple_GET_ITEM(winds, i), &glupy_wind_type))
            return PyErr_Format(PyExc_TypeError, "gather() takes child fops "
                                "(self.child.<fop>(...)), not %R", PyTuple_GET_ITEM(winds, i));
    glupy_gather_t *g = PyObject_GC_New(glupy_gather_t, type);
    if (!g)
        return NULL;
    g->winds = Py_NewRef(winds);
    g->return_exceptions = return_exceptions;
    g->awaited = 0;
    PyObject_GC_Track(g);
    return (PyObject *)g;
}

static int gather_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((glupy_gather_t *)self)->winds);
    return 0;
}

static int gather_clear(PyObject *self)
{
    Py_CLEAR(((glupy_gather_t *)self)->winds);
    return 0;
}

static void gather_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    gather_clear(self);
    PyObject_GC_Del(self);
}

static PyMemberDef gather_members[] = {
    {"winds", T_OBJECT, offsetof(glupy_gather_t, winds), READONLY, "the winds (a tuple)"},
    {"return_exceptions", T_BOOL, offsetof(glupy_gather_t, return_exceptions), READONLY,
     "failed winds give their FopError in the list instead of raising it"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_gather_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy.Gather",
    .tp_basicsize = sizeof(glupy_gather_t),
    .tp_dealloc = gather_dealloc,
    .tp_as_async = &wind_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Gather(winds, return_exceptions=False)\n--\n\n"
              "Several winds issued together; see glupy.gather().",
    .tp_traverse = gather_traverse,
    .tp_clear = gather_clear,
    .tp_members = gather_members,
    .tp_new = gather_tp_new,
};

/* ------------------------------------------------------------ Reply */

static PyObject *glupy_unset; /* _UNSET: a field not converted yet */
static glupy_core_api_t glupy_core_api; /* its reply_field: the bridge's conversion */

static int reply_traverse(PyObject *self, visitproc visit, void *arg)
{
    glupy_reply_t *r = (glupy_reply_t *)self;
    Py_VISIT(r->raw);
    Py_VISIT(r->vals);
    Py_VISIT(r->inst);
    Py_VISIT(r->dirty);
    Py_VISIT(r->op_ret);
    Py_VISIT(r->op_errno);
    return 0;
}

static int reply_clear(PyObject *self)
{
    glupy_reply_t *r = (glupy_reply_t *)self;
    Py_CLEAR(r->raw);
    Py_CLEAR(r->vals);
    Py_CLEAR(r->inst);
    Py_CLEAR(r->dirty);
    Py_CLEAR(r->op_ret);
    Py_CLEAR(r->op_errno);
    return 0;
}

static void reply_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    reply_clear(self);
    Py_TYPE(self)->tp_free(self);
}

static PyMemberDef reply_members[] = {
    {"_raw", T_OBJECT_EX, offsetof(glupy_reply_t, raw), 0, NULL},
    {"_vals", T_OBJECT_EX, offsetof(glupy_reply_t, vals), 0, NULL},
    {"_inst", T_OBJECT_EX, offsetof(glupy_reply_t, inst), 0, NULL},
    {"_dirty", T_OBJECT_EX, offsetof(glupy_reply_t, dirty), 0, NULL},
    {"op_ret", T_OBJECT_EX, offsetof(glupy_reply_t, op_ret), 0,
     "the fop's return value (bytes read/written, entries listed, 0 ...; -1 failed)"},
    {"op_errno", T_OBJECT_EX, offsetof(glupy_reply_t, op_errno), 0, "errno when op_ret is -1"},
    {NULL, 0, 0, 0, NULL},
};

static PyObject *reply_detach(PyObject *self, PyObject *unused); /* with the views, below */

static PyMethodDef reply_methods[] = {
    {"_detach", reply_detach, METH_NOARGS,
     "_detach()\n--\n\nIndependent of the child's memory: every field read and detached."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject glupy_reply_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core.Reply",
    .tp_basicsize = sizeof(glupy_reply_t),
    .tp_dealloc = reply_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The storage of every reply (glupy.replies.Reply adds the rest).",
    .tp_traverse = reply_traverse,
    .tp_clear = reply_clear,
    .tp_methods = reply_methods,
    .tp_members = reply_members,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------ Field */
/* A reply field: converted when first read (core->reply_field, the bridge's) and
 * kept in _vals; setting one stores it and marks its bit in _dirty (True stays
 * True). */
typedef struct {
    PyObject_HEAD
    Py_ssize_t index;
    PyObject *name, *kind; /* str */
    PyObject *cidx;        /* tuple of C argument indices */
    Py_ssize_t nfields;    /* len(owner.fields), from __set_name__ (0: unknown) */
} glupy_field_t;

static PyObject *field_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"index", "name", "kind", "cidx", NULL};
    Py_ssize_t index;
    PyObject *name, *kind, *cidx;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "nUUO!:Field", kwlist, &index, &name, &kind,
                                     &PyTuple_Type, &cidx))
        return NULL;
    if (index < 0 || index >= (Py_ssize_t)(8 * sizeof(long))) {
        PyErr_SetString(PyExc_ValueError, "Field: index out of range");
        return NULL;
    }
    glupy_field_t *f = (glupy_field_t *)type->tp_alloc(type, 0);
    if (!f)
        return NULL;
    f->index = index;
    f->name = Py_NewRef(name);
    f->kind = Py_NewRef(kind);
    PyUnicode_InternInPlace(&f->kind);
    f->cidx = Py_NewRef(cidx);
    return (PyObject *)f;
}

static PyObject *field_set_name(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    glupy_field_t *f = (glupy_field_t *)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "__set_name__(owner, name)");
        return NULL;
    }
    PyObject *fields = PyObject_GetAttrString(args[0], "fields");
    if (!fields)
        return NULL;
    Py_ssize_t n = PyObject_Length(fields);
    Py_DECREF(fields);
    if (n < 0)
        return NULL;
    if (f->index >= n)
        return PyErr_Format(PyExc_ValueError, "Field %R: index %zd, but %R has %zd fields",
                            f->name, f->index, args[0], n);
    f->nfields = n;
    Py_RETURN_NONE;
}

/* obj's _vals, made (all _UNSET) for a child's reply nothing was read of yet */
static PyObject *field_vals(glupy_reply_t *r, glupy_field_t *f)
{
    PyObject *vals = r->vals;
    Py_ssize_t n = f->nfields;
    if (vals && PyList_CheckExact(vals) && PyList_GET_SIZE(vals) > f->index)
        return vals;
    if (vals && vals != Py_None) {
        PyErr_SetString(PyExc_TypeError, "reply field values are not a list of the fields");
        return NULL;
    }
    if (n <= 0) { /* a Field not set on a class body */
        PyObject *fields = PyObject_GetAttrString((PyObject *)Py_TYPE(r), "fields");
        n = fields ? PyObject_Length(fields) : -1;
        Py_XDECREF(fields);
        if (n < 0)
            return NULL;
        if (n <= f->index) {
            PyErr_SetString(PyExc_TypeError, "reply field index beyond the reply's fields");
            return NULL;
        }
    }
    vals = PyList_New(n);
    if (!vals)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++)
        PyList_SET_ITEM(vals, i, Py_NewRef(glupy_unset));
    Py_XSETREF(r->vals, vals);
    return vals;
}

static int field_check(PyObject *obj)
{
    if (PyObject_TypeCheck(obj, &glupy_reply_type))
        return 0;
    PyErr_Format(PyExc_TypeError, "a reply field of %R", Py_TYPE(obj));
    return -1;
}

static PyObject *field_get(PyObject *self, PyObject *obj, PyObject *type)
{
    glupy_field_t *f = (glupy_field_t *)self;
    if (!obj || obj == Py_None)
        return Py_NewRef(self);
    if (field_check(obj) < 0)
        return NULL;
    glupy_reply_t *r = (glupy_reply_t *)obj;
    PyObject *vals = field_vals(r, f);
    if (!vals)
        return NULL;
    PyObject *v = PyList_GET_ITEM(vals, f->index);
    if (v != glupy_unset)
        return Py_NewRef(v);
    if (!glupy_core_api.reply_field) {
        PyErr_Format(PyExc_RuntimeError, "reply field %R of a child's reply: its C arguments "
                     "are converted by the glupy bridge, inside GlusterFS", f->name);
        return NULL;
    }
    v = glupy_core_api.reply_field(r->raw ? r->raw : Py_None, f->cidx, f->kind,
                                   r->inst ? r->inst : Py_None);
    if (!v)
        return NULL;
    vals = r->vals; /* the conversion may have run Python: still the same list? */
    if (vals && PyList_CheckExact(vals) && PyList_GET_SIZE(vals) > f->index)
        PyList_SetItem(vals, f->index, Py_NewRef(v)); /* steals one reference */
    return v;
}

static int field_set(PyObject *self, PyObject *obj, PyObject *value)
{
    glupy_field_t *f = (glupy_field_t *)self;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "reply fields cannot be deleted");
        return -1;
    }
    if (field_check(obj) < 0)
        return -1;
    glupy_reply_t *r = (glupy_reply_t *)obj;
    PyObject *vals = field_vals(r, f);
    if (!vals)
        return -1;
    PyList_SetItem(vals, f->index, Py_NewRef(value));
    /* which fields changed: only those are converted when the reply goes back to C */
    PyObject *dirty = r->dirty;
    if (dirty == Py_True)
        return 0;
    unsigned long mask = 0;
    if (dirty && dirty != Py_False && dirty != Py_None) {
        mask = PyLong_AsUnsignedLong(dirty);
        if (mask == (unsigned long)-1 && PyErr_Occurred())
            return -1;
    }
    PyObject *m = PyLong_FromUnsignedLong(mask | (1UL << f->index));
    if (!m)
        return -1;
    Py_XSETREF(r->dirty, m);
    return 0;
}

static PyObject *field_bit(PyObject *self, void *unused)
{
    return PyLong_FromUnsignedLong(1UL << ((glupy_field_t *)self)->index);
}

static PyObject *field_repr(PyObject *self)
{
    glupy_field_t *f = (glupy_field_t *)self;
    return PyUnicode_FromFormat("<reply field %S (%S)>", f->name, f->kind);
}

static int field_traverse(PyObject *self, visitproc visit, void *arg)
{
    glupy_field_t *f = (glupy_field_t *)self;
    Py_VISIT(f->name);
    Py_VISIT(f->kind);
    Py_VISIT(f->cidx);
    return 0;
}

static void field_dealloc(PyObject *self)
{
    glupy_field_t *f = (glupy_field_t *)self;
    PyObject_GC_UnTrack(self);
    Py_CLEAR(f->name);
    Py_CLEAR(f->kind);
    Py_CLEAR(f->cidx);
    PyObject_GC_Del(self);
}

static PyMemberDef field_members[] = {
    {"index", T_PYSSIZET, offsetof(glupy_field_t, index), READONLY, "position in fields"},
    {"name", T_OBJECT, offsetof(glupy_field_t, name), READONLY, NULL},
    {"kind", T_OBJECT, offsetof(glupy_field_t, kind), READONLY,
     "what it holds (a glupy.fops kind: iatt, vector, str ...)"},
    {"cidx", T_OBJECT, offsetof(glupy_field_t, cidx), READONLY,
     "indices of its callback's C arguments"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef field_getset[] = {
    {"bit", field_bit, NULL, "its bit in a reply's _dirty", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef field_methods[] = {
    {"__set_name__", (PyCFunction)(void (*)(void))field_set_name, METH_FASTCALL, NULL},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, "Field[T] in annotations"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject glupy_field_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core.Field",
    .tp_basicsize = sizeof(glupy_field_t),
    .tp_dealloc = field_dealloc,
    .tp_repr = field_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Field(index, name, kind, cidx)\n--\n\n"
              "A reply field: converted from the child's C arguments when first read.",
    .tp_traverse = field_traverse,
    .tp_methods = field_methods,
    .tp_members = field_members,
    .tp_getset = field_getset,
    .tp_descr_get = field_get,
    .tp_descr_set = field_set,
    .tp_new = field_tp_new,
};

/* ------------------------------------------------ Child.<fop>() in C */
/* ``self.child.lookup(loc, xdata)`` runs for every wind: Child.<fop> is this
 * method descriptor (set by glupy.translator when it defines Child), one per fop,
 * that builds the Wind without a Python frame.  Calls with keywords (or anything
 * unusual) go to the generated Python method it wraps, which is the documented
 * signature (Child.<fop> on the class returns it) and builds the same Wind. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *owner; /* the Child class: calls on anything else go to func */
    PyObject *fop;  /* glupy.fops.Fop */
    PyObject *func; /* the Python method (translator.Child.<fop>) */
    int slot;       /* fop.slot */
    Py_ssize_t nargs, nrequired; /* wind arguments; those without a default (None) */
} glupy_child_method_t;

static PyObject *glupy_child_method_call(PyObject *self, PyObject *const *args, size_t nargsf,
                                         PyObject *kwnames)
{
    glupy_child_method_t *m = (glupy_child_method_t *)self;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf) - 1; /* args[0] is the child */
    if (kwnames || n < m->nrequired || n > m->nargs ||
        (PyObject *)Py_TYPE(args[0]) != m->owner)
        return PyObject_Vectorcall(m->func, args, nargsf, kwnames);
    PyObject *tuple = PyTuple_New(m->nargs);
    if (!tuple)
        return NULL;
    for (Py_ssize_t i = 0; i < m->nargs; i++) {
        PyObject *v = i < n ? args[i + 1] : Py_None;
        Py_INCREF(v);
        PyTuple_SET_ITEM(tuple, i, v);
    }
    return glupy_wind_new(&glupy_wind_type, args[0], m->fop, m->slot, tuple);
}

static PyObject *glupy_child_method_get(PyObject *self, PyObject *obj, PyObject *type)
{
    glupy_child_method_t *m = (glupy_child_method_t *)self;
    if (!obj || obj == Py_None) {
        Py_INCREF(m->func);
        return m->func;
    }
    return PyMethod_New(self, obj);
}

static void glupy_child_method_dealloc(PyObject *self)
{
    glupy_child_method_t *m = (glupy_child_method_t *)self;
    Py_XDECREF(m->owner);
    Py_XDECREF(m->fop);
    Py_XDECREF(m->func);
    PyObject_Free(self);
}

static PyObject *glupy_child_method_getattro(PyObject *self, PyObject *name)
{
    /* __doc__, __name__, __signature__ ...: the Python method's */
    PyObject *r = PyObject_GenericGetAttr(self, name);
    if (r || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return r;
    PyErr_Clear();
    return PyObject_GetAttr(((glupy_child_method_t *)self)->func, name);
}

static PyTypeObject glupy_child_method_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core._child_method",
    .tp_basicsize = sizeof(glupy_child_method_t),
    .tp_dealloc = glupy_child_method_dealloc,
    .tp_vectorcall_offset = offsetof(glupy_child_method_t, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_getattro = glupy_child_method_getattro,
    .tp_descr_get = glupy_child_method_get,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
};

/* child_method(owner, fop, func, nargs, nrequired) */
static PyObject *glupy_new_child_method(PyObject *unused, PyObject *args)
{
    PyObject *owner, *fop, *func;
    Py_ssize_t nargs, nrequired;
    if (!PyArg_ParseTuple(args, "O!OOnn:child_method", &PyType_Type, &owner, &fop, &func, &nargs,
                          &nrequired))
        return NULL;
    if (!PyCallable_Check(func) || nrequired < 0 || nrequired > nargs) {
        PyErr_SetString(PyExc_TypeError, "child_method(owner, fop, func, nargs, nrequired)");
        return NULL;
    }
    glupy_child_method_t *m = PyObject_New(glupy_child_method_t, &glupy_child_method_type);
    if (!m)
        return NULL;
    m->vectorcall = glupy_child_method_call;
    m->owner = Py_NewRef(owner);
    Py_INCREF(fop);
    m->fop = fop;
    Py_INCREF(func);
    m->func = func;
    m->slot = fop_slot(fop);
    m->nargs = nargs;
    m->nrequired = nrequired;
    return (PyObject *)m;
}


/* --------------------------------------- attributes read on every fop */
/* ``self.child`` and options (``self.timeout``) are non-data descriptors whose
 * value, once known, sits in the instance __dict__.  CPython 3.11 specializes
 * such an attribute read into a plain dict hit only if the descriptor's class
 * is immutable; _OnlyChild and Option are Python classes, so every read took
 * the generic path (type lookup, descriptor checks, dict lookup).  This C type
 * wraps such a descriptor without changing its meaning: reads on the class and
 * misses in the instance __dict__ go to the wrapped descriptor. */
typedef struct {
    PyObject_HEAD
    PyObject *wrapped;
} glupy_nondata_t;

static PyObject *glupy_nondata_get(PyObject *self, PyObject *obj, PyObject *type)
{
    PyObject *d = ((glupy_nondata_t *)self)->wrapped;
    descrgetfunc get = Py_TYPE(d)->tp_descr_get;
    if (!get) {
        Py_INCREF(d);
        return d;
    }
    return get(d, obj, type);
}

static void glupy_nondata_dealloc(PyObject *self)
{
    Py_XDECREF(((glupy_nondata_t *)self)->wrapped);
    PyObject_Free(self);
}

static PyMemberDef glupy_nondata_members[] = {
    {"__wrapped__", T_OBJECT, offsetof(glupy_nondata_t, wrapped), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_nondata_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core._nondata",
    .tp_basicsize = sizeof(glupy_nondata_t),
    .tp_dealloc = glupy_nondata_dealloc,
    .tp_descr_get = glupy_nondata_get,
    .tp_members = glupy_nondata_members,
    .tp_flags = Py_TPFLAGS_DEFAULT,
};

static PyObject *glupy_new_nondata(PyObject *unused, PyObject *wrapped)
{
    if (Py_TYPE(wrapped)->tp_descr_set) {
        PyErr_SetString(PyExc_TypeError, "nondata() wraps non-data descriptors only");
        return NULL;
    }
    glupy_nondata_t *d = PyObject_New(glupy_nondata_t, &glupy_nondata_type);
    if (!d)
        return NULL;
    Py_INCREF(wrapped);
    d->wrapped = wrapped;
    return (PyObject *)d;
}


/* ------------------------------------------------ views and Child (core.h) */

static int view_traverse(PyObject *self, visitproc visit, void *arg)
{
    glupy_view_t *v = (glupy_view_t *)self;
    Py_VISIT(v->p);
    Py_VISIT(v->keep);
    return 0;
}

static int view_clear(PyObject *self)
{
    glupy_view_t *v = (glupy_view_t *)self;
    Py_CLEAR(v->p);
    Py_CLEAR(v->keep);
    return 0;
}

/* what the view owns goes after the fields: a detached loc's cdata points into it */
static void view_release(glupy_view_t *v)
{
    void (*release)(void *) = v->release;
    void *owned = v->owned;
    v->release = NULL;
    v->owned = NULL;
    if (release)
        release(owned);
}

static void view_free(PyObject *self, inquiry clear)
{
    PyObject_GC_UnTrack(self);
    clear(self);
    view_release((glupy_view_t *)self);
    Py_TYPE(self)->tp_free(self);
}

static void view_dealloc(PyObject *self)
{
    view_free(self, view_clear);
}

/* View(p): a view of the cdata pointer ``p`` (the classes in glupy.types that take
 * other arguments have their own __init__) */
static int view_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"p", NULL};
    PyObject *p;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:View", kwlist, &p))
        return -1;
    glupy_view_t *v = (glupy_view_t *)self;
    Py_XSETREF(v->p, Py_NewRef(p));
    Py_CLEAR(v->keep);
    return 0;
}

/* views are equal when they are of the same class and point at the same struct */
static PyObject *view_richcompare(PyObject *self, PyObject *other, int op)
{
    if ((op != Py_EQ && op != Py_NE) || Py_TYPE(other) != Py_TYPE(self))
        Py_RETURN_NOTIMPLEMENTED; /* then == is identity: False for another class */
    PyObject *a = ((glupy_view_t *)self)->p, *b = ((glupy_view_t *)other)->p;
    return PyObject_RichCompare(a ? a : Py_None, b ? b : Py_None, op);
}

static Py_hash_t view_hash(PyObject *self)
{
    PyObject *p = ((glupy_view_t *)self)->p;
    return PyObject_Hash(p ? p : Py_None);
}

static PyObject *view_detach(PyObject *self, PyObject *unused)
{
    int (*detach)(PyObject *) = glupy_core_api.detach_view;
    if (detach && detach(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* the bridge owns a reference or copy for this view (tests, and `glupy check`) */
static PyObject *view_owns(PyObject *self, void *unused)
{
    return PyBool_FromLong(((glupy_view_t *)self)->release != NULL);
}

static PyMethodDef view_methods[] = {
    {"_detach", view_detach, METH_NOARGS,
     "take a reference or copy of what the view points at (inside GlusterFS)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef view_getset[] = {
    {"_owns", view_owns, NULL, "the view holds a reference or copy the bridge took", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef view_members[] = {
    {"_p", T_OBJECT_EX, offsetof(glupy_view_t, p), 0, "the cdata pointer"},
    {"_keep", T_OBJECT, offsetof(glupy_view_t, keep), 0,
     "what keeps the pointed-at memory alive (a gc'd cdata), or None"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_view_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core.View",
    .tp_basicsize = sizeof(glupy_view_t),
    .tp_dealloc = view_dealloc,
    .tp_hash = view_hash,
    .tp_richcompare = view_richcompare,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "View(p)\n--\n\n"
              "The storage of every view of a GlusterFS struct (glupy.types adds the rest).",
    .tp_traverse = view_traverse,
    .tp_clear = view_clear,
    .tp_methods = view_methods,
    .tp_members = view_members,
    .tp_getset = view_getset,
    .tp_init = view_init,
    .tp_new = PyType_GenericNew,
};

static int instance_view_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((glupy_instance_view_t *)self)->inst);
    return view_traverse(self, visit, arg);
}

static int instance_view_clear(PyObject *self)
{
    Py_CLEAR(((glupy_instance_view_t *)self)->inst);
    return view_clear(self);
}

static void instance_view_dealloc(PyObject *self)
{
    view_free(self, instance_view_clear);
}

static PyMemberDef instance_view_members[] = {
    {"_inst", T_OBJECT, offsetof(glupy_instance_view_t, inst), 0,
     "the translator instance (glupy.runtime.driver.Instance), or None"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_instance_view_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core.InstanceView",
    .tp_basicsize = sizeof(glupy_instance_view_t),
    .tp_dealloc = instance_view_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The storage of views that need the translator instance (Loc, Fd, Inode).",
    .tp_traverse = instance_view_traverse,
    .tp_clear = instance_view_clear,
    .tp_members = instance_view_members,
};

static int dirents_view_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((glupy_dirents_view_t *)self)->entries);
    return instance_view_traverse(self, visit, arg);
}

static int dirents_view_clear(PyObject *self)
{
    Py_CLEAR(((glupy_dirents_view_t *)self)->entries);
    return instance_view_clear(self);
}

static void dirents_view_dealloc(PyObject *self)
{
    view_free(self, dirents_view_clear);
}

static PyMemberDef dirents_view_members[] = {
    {"_entries", T_OBJECT, offsetof(glupy_dirents_view_t, entries), 0,
     "the entries as glupy.Dirent, once read (None before)"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_dirents_view_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core.DirentsView",
    .tp_basicsize = sizeof(glupy_dirents_view_t),
    .tp_dealloc = dirents_view_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The storage of glupy.Dirents.",
    .tp_traverse = dirents_view_traverse,
    .tp_clear = dirents_view_clear,
    .tp_members = dirents_view_members,
};

static int child_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((glupy_child_t *)self)->xl);
    return 0;
}

static int child_clear(PyObject *self)
{
    Py_CLEAR(((glupy_child_t *)self)->xl);
    return 0;
}

static void child_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    child_clear(self);
    Py_TYPE(self)->tp_free(self);
}

static PyMemberDef child_members[] = {
    {"xl", T_OBJECT, offsetof(glupy_child_t, xl), 0,
     "the subvolume's xlator_t * (cdata), or None outside GlusterFS"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_child_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core.Child",
    .tp_basicsize = sizeof(glupy_child_t),
    .tp_dealloc = child_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The storage of glupy.Child (which adds the fop methods).",
    .tp_traverse = child_traverse,
    .tp_clear = child_clear,
    .tp_members = child_members,
    .tp_new = PyType_GenericNew,
};


/* ------------------------------------------------ detaching a reply */

static PyObject *glupy_s_fields, *glupy_s_detach; /* "fields", "_detach" */

/* a reply field's value made independent of the child's memory: a view by the
 * bridge (detach_view), anything else that can by its own _detach() (Vector,
 * Dirents); 0, or -1 with an exception set */
static int detach_value(PyObject *v)
{
    if (v == Py_None || PyLong_CheckExact(v) || PyUnicode_CheckExact(v) || PyBytes_CheckExact(v))
        return 0;
    if (PyObject_TypeCheck(v, &glupy_view_type) && glupy_core_api.detach_view) {
        int r = glupy_core_api.detach_view(v);
        if (r <= 0)
            return r;
    }
    PyObject *detach = PyObject_GetAttr(v, glupy_s_detach);
    if (!detach) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return -1;
        PyErr_Clear(); /* a value with nothing to detach */
        return 0;
    }
    PyObject *r = PyObject_CallNoArgs(detach);
    Py_DECREF(detach);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* Reply._detach (core->detach_reply): every field read (the C arguments converted)
 * and detached; the reply then goes back to C as converted fields (_raw None,
 * _dirty True), since the child's arguments are gone once its callback returns. */
static int glupy_reply_detach(PyObject *self)
{
    glupy_reply_t *reply = (glupy_reply_t *)self;
    PyObject *fields = PyObject_GetAttr((PyObject *)Py_TYPE(self), glupy_s_fields);
    PyObject *names = fields ? PySequence_Fast(fields, "Reply.fields: a tuple of names") : NULL;
    Py_XDECREF(fields);
    if (!names)
        return -1;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(names); i++) {
        PyObject *v = PyObject_GetAttr(self, PySequence_Fast_GET_ITEM(names, i));
        int r = v ? detach_value(v) : -1;
        Py_XDECREF(v);
        if (r < 0) {
            Py_DECREF(names);
            return -1;
        }
    }
    Py_DECREF(names);
    Py_XSETREF(reply->raw, Py_NewRef(Py_None));
    Py_XSETREF(reply->dirty, Py_NewRef(Py_True));
    return 0;
}

static PyObject *reply_detach(PyObject *self, PyObject *unused)
{
    if (glupy_reply_detach(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------ the module */

static glupy_core_api_t glupy_core_api = {
    .abi = GLUPY_CORE_ABI,
    .view = &glupy_view_type,
    .instance_view = &glupy_instance_view_type,
    .dirents_view = &glupy_dirents_view_type,
    .child = &glupy_child_type,
    .detach_reply = glupy_reply_detach,
    .fop_error = &glupy_fop_error_type,
    .reply = &glupy_reply_type,
    .wind = &glupy_wind_type,
    .gather = &glupy_gather_type,
    .await_iter = &glupy_await_type,
};

static PyObject *hand_over(PyObject *unused, PyObject *obj)
{
    Py_XSETREF(glupy_core_api.handed_over, Py_NewRef(obj));
    Py_RETURN_NONE;
}

static PyMethodDef core_functions[] = {
    {"child_method", glupy_new_child_method, METH_VARARGS,
     "child_method(owner, fop, func, nargs, nrequired): Child.<fop> in C"},
    {"nondata", glupy_new_nondata, METH_O, "an immutable non-data descriptor wrapping one"},
    {"_hand_over", hand_over, METH_O,
     "_hand_over(obj): for the bridge to take (glupy_driver_setup)"},
    {"_make_wind", (PyCFunction)(void (*)(void))make_wind, METH_FASTCALL,
     "_make_wind(child, fop, args): a Wind (what Child.<fop>() returns)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef glupy_core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "glupy._core",
    .m_doc = "The types every fop handled in Python goes through (glupy/_bridge/src/core.h).",
    .m_size = -1,
    .m_methods = core_functions,
};

static int add_type(PyObject *m, PyTypeObject *type, const char *name)
{
    if (PyType_Ready(type) < 0)
        return -1;
    return PyModule_AddObjectRef(m, name, (PyObject *)type);
}

PyMODINIT_FUNC PyInit__core(void)
{
    glupy_fop_error_type.tp_base = (PyTypeObject *)PyExc_Exception;
    PyObject *errno_module = PyImport_ImportModule("errno");
    if (!errno_module)
        return NULL;
    glupy_errorcode = PyObject_GetAttrString(errno_module, "errorcode");
    Py_DECREF(errno_module);
    if (!glupy_errorcode)
        return NULL;
    glupy_instance_view_type.tp_base = &glupy_view_type;
    glupy_dirents_view_type.tp_base = &glupy_instance_view_type;
    glupy_s_slot = PyUnicode_InternFromString("slot");
    glupy_s_fields = PyUnicode_InternFromString("fields");
    glupy_s_detach = PyUnicode_InternFromString("_detach");
    if (!glupy_s_slot || !glupy_s_fields || !glupy_s_detach)
        return NULL;
    glupy_unset = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    if (!glupy_unset)
        return NULL;
    PyObject *m = PyModule_Create(&glupy_core_module);
    if (!m)
        return NULL;
    PyObject *capsule = PyCapsule_New(&glupy_core_api, GLUPY_CORE_CAPSULE, NULL);
    if (add_type(m, &glupy_fop_error_type, "FopError") < 0 ||
        add_type(m, &glupy_wind_type, "Wind") < 0 || add_type(m, &glupy_gather_type, "Gather") < 0 ||
        add_type(m, &glupy_reply_type, "Reply") < 0 || add_type(m, &glupy_field_type, "Field") < 0 ||
        glupy_vector_module_init(m, &glupy_core_api) < 0 ||
        add_type(m, &glupy_view_type, "View") < 0 ||
        add_type(m, &glupy_instance_view_type, "InstanceView") < 0 ||
        add_type(m, &glupy_dirents_view_type, "DirentsView") < 0 ||
        add_type(m, &glupy_child_type, "Child") < 0 ||
        PyModule_AddObjectRef(m, "_UNSET", glupy_unset) < 0 ||
        PyModule_AddIntConstant(m, "ABI", GLUPY_CORE_ABI) < 0 ||
        PyType_Ready(&glupy_await_type) < 0 || PyType_Ready(&glupy_child_method_type) < 0 ||
        PyType_Ready(&glupy_nondata_type) < 0 || !capsule ||
        PyModule_AddObject(m, "_C_API", capsule) < 0) {
        Py_XDECREF(capsule);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
