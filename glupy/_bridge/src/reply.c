/* glupy._core.Reply, the storage of every reply, and its fields (glupy._core.Field),
 * defined once for glupy._core (core.h has the reply's struct).  A child's reply
 * converts a field from its callback's C arguments when it is first read, with the
 * bridge's conversion (core->reply_field), and detaches from them on request. */

#include "core-module.h"
#include <structmember.h>

static glupy_core_api_t *core; /* reply_field and detach_view: the bridge's, set at its setup */

/* ------------------------------------------------------------ Reply */

static PyObject *glupy_unset; /* _UNSET: a field not converted yet */
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

static PyObject *reply_detach(PyObject *self, PyObject *unused); /* below */

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

/* field_get and field_set hold the reply's lock: reading a field converts and stores
 * it, so two tasks reading one reply both change it */
static PyObject *field_get_locked(glupy_reply_t *r, glupy_field_t *f)
{
    PyObject *vals = field_vals(r, f);
    if (!vals)
        return NULL;
    PyObject *v = PyList_GET_ITEM(vals, f->index);
    if (v != glupy_unset)
        return Py_NewRef(v);
    if (!core->reply_field) {
        PyErr_Format(PyExc_RuntimeError, "reply field %R of a child's reply: its C arguments "
                     "are converted by the glupy bridge, inside GlusterFS", f->name);
        return NULL;
    }
    v = core->reply_field(r->raw ? r->raw : Py_None, f->cidx, f->kind,
                                   r->inst ? r->inst : Py_None);
    if (!v)
        return NULL;
    vals = r->vals; /* the conversion may have run Python: still the same list? */
    if (vals && PyList_CheckExact(vals) && PyList_GET_SIZE(vals) > f->index)
        PyList_SetItem(vals, f->index, Py_NewRef(v)); /* steals one reference */
    return v;
}

static PyObject *field_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (!obj || obj == Py_None)
        return Py_NewRef(self);
    if (field_check(obj) < 0)
        return NULL;
    PyObject *v;
    GLUPY_BEGIN_OBJECT_LOCK(obj);
    v = field_get_locked((glupy_reply_t *)obj, (glupy_field_t *)self);
    GLUPY_END_OBJECT_LOCK();
    return v;
}

static int field_set_locked(glupy_reply_t *r, glupy_field_t *f, PyObject *value)
{
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

static int field_set(PyObject *self, PyObject *obj, PyObject *value)
{
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "reply fields cannot be deleted");
        return -1;
    }
    if (field_check(obj) < 0)
        return -1;
    int r;
    GLUPY_BEGIN_OBJECT_LOCK(obj);
    r = field_set_locked((glupy_reply_t *)obj, (glupy_field_t *)self, value);
    GLUPY_END_OBJECT_LOCK();
    return r;
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

/* ------------------------------------------------ detaching a reply */

static PyObject *glupy_s_fields, *glupy_s_detach; /* "fields", "_detach" */

/* core->detach_value: a value made independent of its caller's memory (a reply's
 * field, a fop's argument): a view by the bridge (detach_view), anything else that
 * can by its own _detach() (Vector, Dirents); 0, or -1 with an exception set */
static int detach_value(PyObject *v)
{
    if (v == Py_None || PyLong_CheckExact(v) || PyUnicode_CheckExact(v) || PyBytes_CheckExact(v))
        return 0;
    if (PyObject_TypeCheck(v, core->view) && core->detach_view) {
        int r = core->detach_view(v);
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
    GLUPY_BEGIN_OBJECT_LOCK(self);
    Py_XSETREF(reply->raw, Py_NewRef(Py_None));
    Py_XSETREF(reply->dirty, Py_NewRef(Py_True));
    GLUPY_END_OBJECT_LOCK();
    return 0;
}

static PyObject *reply_detach(PyObject *self, PyObject *unused)
{
    if (glupy_reply_detach(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

int glupy_reply_module_init(PyObject *module, glupy_core_api_t *api)
{
    core = api;
    api->reply = &glupy_reply_type;
    api->detach_reply = glupy_reply_detach;
    api->detach_value = detach_value;
    glupy_s_fields = PyUnicode_InternFromString("fields");
    glupy_s_detach = PyUnicode_InternFromString("_detach");
    if (!glupy_s_fields || !glupy_s_detach)
        return -1;
    glupy_unset = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    if (!glupy_unset)
        return -1;
    if (glupy_core_add_type(module, &glupy_reply_type, "Reply") < 0 ||
        glupy_core_add_type(module, &glupy_field_type, "Field") < 0)
        return -1;
    return PyModule_AddObjectRef(module, "_UNSET", glupy_unset);
}
