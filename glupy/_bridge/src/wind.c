/* What ``await self.child.<fop>(...)`` goes through, defined once for glupy._core
 * (core.h has the structs): Child.<fop>() makes a glupy.Wind (glupy.gather() a
 * glupy.Gather of several), whose await iterator hands it to the engine (task.c)
 * and returns the reply the engine sends; a policy's fops (FopCall, call.wind())
 * the same way. */

#include "core-module.h"
#include <structmember.h>

static PyTypeObject glupy_wind_type;

/* Winds and await iterators freed, kept for the next ones (one of each per wind:
 * under the GIL): the allocator and the GC's bookkeeping skipped */
static GLUPY_SPARES(8) glupy_wind_spares, glupy_await_spares;

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
    Py_CLEAR(((glupy_await_t *)self)->awaited);
    if (!glupy_spares_keep(&glupy_await_spares, self))
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
    PyObject *spare = glupy_spares_take(&glupy_await_spares);
    glupy_await_t *a = spare ? (glupy_await_t *)PyObject_Init(spare, &glupy_await_type)
                             : PyObject_New(glupy_await_t, &glupy_await_type);
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

/* A new Wind of ``type`` (glupy.Wind, not subclassable); ``args`` is stolen. */
static PyObject *glupy_wind_new(PyTypeObject *type, PyObject *child, PyObject *fop, int slot,
                                PyObject *args)
{
    PyObject *spare = glupy_spares_take(&glupy_wind_spares);
    glupy_wind_t *w = spare ? (glupy_wind_t *)PyObject_Init(spare, type)
                            : PyObject_GC_New(glupy_wind_t, type);
    if (!w) {
        Py_DECREF(args);
        return NULL;
    }
    w->child = Py_NewRef(child);
    w->fop = Py_NewRef(fop);
    w->args = args;
    w->slot = slot;
    w->awaited = 0;
    PyObject_GC_Track(w);
    return (PyObject *)w;
}

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
    if (!glupy_spares_keep(&glupy_wind_spares, self))
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
              "A pending call to a child: ``await`` it for the reply, or return it to hand the "
              "fop off.",
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

/* ------------------------------------------------ FopCall and policy fops in C */
/* A fop under ``@glupy.policy``: the class's fop method is a _policy_fop that builds
 * the FopCall and returns the policy method's coroutine, and ``call.wind()`` builds
 * the Wind; neither runs a Python frame.  What the call knows of its fop (the
 * indices of its loc, fd and named arguments) is glupy.translator._PolicyFop's. */
typedef struct {
    PyObject_HEAD
    PyObject *spec;       /* glupy.translator._PolicyFop */
    PyObject *name;       /* the fop's name (str) */
    PyObject *translator;
    PyObject *args;       /* the arguments (a tuple) */
} glupy_fop_call_t;

static PyTypeObject glupy_fop_call_type;
static PyObject *glupy_s_name, *glupy_s_child, *glupy_s_fop, *glupy_s_loc, *glupy_s_fd,
    *glupy_s_index;

/* FopCalls freed, kept for the next policy fop's (under the GIL) */
static GLUPY_SPARES(8) glupy_fop_call_spares;

static glupy_fop_call_t *fop_call_alloc(void)
{
    PyObject *spare = glupy_spares_take(&glupy_fop_call_spares);
    glupy_fop_call_t *c = spare ? (glupy_fop_call_t *)PyObject_Init(spare, &glupy_fop_call_type)
                                : PyObject_GC_New(glupy_fop_call_t, &glupy_fop_call_type);
    if (c) {
        c->spec = c->name = c->translator = c->args = NULL;
        PyObject_GC_Track(c);
    }
    return c;
}

static PyObject *fop_call_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    return (PyObject *)fop_call_alloc();
}

static int fop_call_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"spec", "translator", "args", NULL};
    PyObject *spec, *translator, *cargs;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!:FopCall", kwlist, &spec, &translator,
                                     &PyTuple_Type, &cargs))
        return -1;
    PyObject *name = PyObject_GetAttr(spec, glupy_s_name);
    if (!name)
        return -1;
    glupy_fop_call_t *c = (glupy_fop_call_t *)self;
    Py_XSETREF(c->spec, Py_NewRef(spec));
    Py_XSETREF(c->name, name);
    Py_XSETREF(c->translator, Py_NewRef(translator));
    Py_XSETREF(c->args, Py_NewRef(cargs));
    return 0;
}

static int fop_call_traverse(PyObject *self, visitproc visit, void *arg)
{
    glupy_fop_call_t *c = (glupy_fop_call_t *)self;
    Py_VISIT(c->spec);
    Py_VISIT(c->name);
    Py_VISIT(c->translator);
    Py_VISIT(c->args);
    return 0;
}

static int fop_call_clear(PyObject *self)
{
    glupy_fop_call_t *c = (glupy_fop_call_t *)self;
    Py_CLEAR(c->spec);
    Py_CLEAR(c->name);
    Py_CLEAR(c->translator);
    Py_CLEAR(c->args);
    return 0;
}

static void fop_call_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    fop_call_clear(self);
    if (!glupy_spares_keep(&glupy_fop_call_spares, self))
        PyObject_GC_Del(self);
}

/* spec.<attr> as an index into the call's arguments: the argument, or None (-1) */
static PyObject *fop_call_arg_at(glupy_fop_call_t *c, PyObject *attr)
{
    if (!c->spec || !c->args || !PyTuple_Check(c->args))
        return PyErr_Format(PyExc_TypeError, "FopCall: no fop or arguments");
    PyObject *i = PyObject_GetAttr(c->spec, attr);
    if (!i)
        return NULL;
    Py_ssize_t index = PyNumber_AsSsize_t(i, PyExc_IndexError);
    Py_DECREF(i);
    if (index == -1 && PyErr_Occurred())
        return NULL;
    if (index < 0)
        Py_RETURN_NONE;
    if (index >= PyTuple_GET_SIZE(c->args))
        return PyErr_Format(PyExc_IndexError, "FopCall: argument %zd of %zd", index,
                            PyTuple_GET_SIZE(c->args));
    return Py_NewRef(PyTuple_GET_ITEM(c->args, index));
}

static PyObject *fop_call_get_fop(PyObject *self, void *unused)
{
    glupy_fop_call_t *c = (glupy_fop_call_t *)self;
    if (!c->spec)
        return PyErr_Format(PyExc_TypeError, "FopCall: no fop");
    return PyObject_GetAttr(c->spec, glupy_s_fop);
}

static PyObject *fop_call_get_loc(PyObject *self, void *unused)
{
    return fop_call_arg_at((glupy_fop_call_t *)self, glupy_s_loc);
}

static PyObject *fop_call_get_fd(PyObject *self, void *unused)
{
    return fop_call_arg_at((glupy_fop_call_t *)self, glupy_s_fd);
}

/* call.arg(name): args[spec.index[name]] (KeyError if the fop has no such argument) */
static PyObject *fop_call_arg(PyObject *self, PyObject *name)
{
    glupy_fop_call_t *c = (glupy_fop_call_t *)self;
    if (!c->spec || !c->args || !PyTuple_Check(c->args))
        return PyErr_Format(PyExc_TypeError, "FopCall: no fop or arguments");
    PyObject *index = PyObject_GetAttr(c->spec, glupy_s_index);
    PyObject *i = index ? PyObject_GetItem(index, name) : NULL;
    Py_XDECREF(index);
    if (!i)
        return NULL;
    PyObject *r = PyObject_GetItem(c->args, i);
    Py_DECREF(i);
    return r;
}

static PyObject *fop_call_repr(PyObject *self)
{
    return PyUnicode_FromFormat("<FopCall %S>", ((glupy_fop_call_t *)self)->name
                                                    ? ((glupy_fop_call_t *)self)->name : Py_None);
}

/* call.wind(child=None): to the only child (translator.child) by default.  A Child
 * whose class's <fop> is glupy's (child_method) gets the Wind built here, as
 * Child.<fop>(*args) would build it; anything else is called as child.<fop>(*args). */
static PyObject *fop_call_wind(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    glupy_fop_call_t *c = (glupy_fop_call_t *)self;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs + nkw > 1 ||
        (nkw && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "child")))
        return PyErr_Format(PyExc_TypeError, "FopCall.wind(child=None)");
    if (!c->name || !c->translator || !c->args || !PyTuple_Check(c->args))
        return PyErr_Format(PyExc_TypeError, "FopCall.wind(): the call has no fop or arguments");
    PyObject *child = nargs + nkw ? args[0] : Py_None;
    PyObject *target = child != Py_None ? Py_NewRef(child)
                                         : PyObject_GetAttr(c->translator, glupy_s_child);
    if (!target)
        return NULL;
    PyObject *r;
    PyObject *m = _PyType_Lookup(Py_TYPE(target), c->name); /* borrowed */
    if (m && Py_IS_TYPE(m, &glupy_child_method_type) &&
        ((glupy_child_method_t *)m)->owner == (PyObject *)Py_TYPE(target) &&
        PyTuple_GET_SIZE(c->args) == ((glupy_child_method_t *)m)->nargs) {
        glupy_child_method_t *cm = (glupy_child_method_t *)m;
        r = glupy_wind_new(&glupy_wind_type, target, cm->fop, cm->slot, Py_NewRef(c->args));
    } else {
        PyObject *fn = PyObject_GetAttr(target, c->name);
        r = fn ? PyObject_Call(fn, c->args, NULL) : NULL;
        Py_XDECREF(fn);
    }
    Py_DECREF(target);
    return r;
}

/* T_OBJECT_EX: CPython specializes reading them (LOAD_ATTR_SLOT), not T_OBJECT's */
static PyMemberDef fop_call_members[] = {
    {"_spec", T_OBJECT_EX, offsetof(glupy_fop_call_t, spec), 0, "what the call knows of its fop"},
    {"name", T_OBJECT_EX, offsetof(glupy_fop_call_t, name), 0, "the fop's name: \"writev\""},
    {"translator", T_OBJECT_EX, offsetof(glupy_fop_call_t, translator), 0,
     "the translator the fop reached"},
    {"args", T_OBJECT_EX, offsetof(glupy_fop_call_t, args), 0,
     "the arguments in the fop's order, named as in docs/fops.md (call.fop.py_args)"},
    {NULL, 0, 0, 0, NULL},
};

static PyMethodDef fop_call_methods[] = {
    {"wind", (PyCFunction)(void (*)(void))fop_call_wind, METH_FASTCALL | METH_KEYWORDS,
     "wind(child=None)\n--\n\n"
     "The fop, with call.args, to ``child`` (default: the only child): "
     "``await call.wind()`` for the reply."},
    {"arg", fop_call_arg, METH_O,
     "arg(name)\n--\n\n"
     "The argument called ``name`` (``call.arg(\"offset\")``); KeyError if the fop has "
     "no such argument."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef fop_call_getset[] = {
    {"fop", fop_call_get_fop, NULL,
     "The fop's entry in the fop table (argument names and kinds).", NULL},
    {"loc", fop_call_get_loc, NULL,
     "The first ``Loc`` argument (None if the fop takes none, or got NULL).", NULL},
    {"fd", fop_call_get_fd, NULL,
     "The first ``Fd`` argument (None if the fop takes none, or got NULL).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject glupy_fop_call_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy.FopCall",
    .tp_basicsize = sizeof(glupy_fop_call_t),
    .tp_dealloc = fop_call_dealloc,
    .tp_repr = fop_call_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "FopCall(spec, translator, args)\n--\n\n"
              "One fop as a policy method sees it (glupy.policy): its name and arguments.\n\n"
              "``call.args`` are in the fop's order, named as in docs/fops.md "
              "(``call.fop.py_args``).  "
              "``await call.wind()`` winds it unchanged to the only child and returns the "
              "reply (or raises the child's FopError), as ``await self.child.<fop>(*args)`` "
              "would; ``call.wind(child)`` winds it to one of several children.",
    .tp_traverse = fop_call_traverse,
    .tp_clear = fop_call_clear,
    .tp_methods = fop_call_methods,
    .tp_members = fop_call_members,
    .tp_getset = fop_call_getset,
    .tp_init = fop_call_init,
    .tp_new = fop_call_new,
};

/* The fop method a policy gives a class: ``(self, *args)`` -> policy(self, FopCall) */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *dict;     /* __name__, __qualname__, __doc__ ... (set by glupy.translator) */
    PyObject *spec;
    PyObject *name;
    PyObject *method;   /* the policy method: (self, call) -> coroutine */
} glupy_policy_fop_t;

static PyObject *policy_fop_call(PyObject *self, PyObject *const *args, size_t nargsf,
                                 PyObject *kwnames)
{
    glupy_policy_fop_t *p = (glupy_policy_fop_t *)self;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    if (kwnames || n < 1)
        return PyErr_Format(PyExc_TypeError, "%U(self, *args) takes positional arguments only",
                            p->name);
    PyObject *cargs = PyTuple_New(n - 1);
    if (!cargs)
        return NULL;
    for (Py_ssize_t i = 1; i < n; i++)
        PyTuple_SET_ITEM(cargs, i - 1, Py_NewRef(args[i]));
    glupy_fop_call_t *c = fop_call_alloc();
    if (!c) {
        Py_DECREF(cargs);
        return NULL;
    }
    c->spec = Py_NewRef(p->spec);
    c->name = Py_NewRef(p->name);
    c->translator = Py_NewRef(args[0]);
    c->args = cargs;
    PyObject *margs[3] = {NULL, args[0], (PyObject *)c};
    PyObject *r = PyObject_Vectorcall(p->method, margs + 1, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                      NULL);
    Py_DECREF(c);
    return r;
}

static PyObject *policy_fop_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (!obj || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static int policy_fop_traverse(PyObject *self, visitproc visit, void *arg)
{
    glupy_policy_fop_t *p = (glupy_policy_fop_t *)self;
    Py_VISIT(p->dict);
    Py_VISIT(p->spec);
    Py_VISIT(p->name);
    Py_VISIT(p->method);
    return 0;
}

static int policy_fop_clear(PyObject *self)
{
    glupy_policy_fop_t *p = (glupy_policy_fop_t *)self;
    Py_CLEAR(p->dict);
    Py_CLEAR(p->spec);
    Py_CLEAR(p->name);
    Py_CLEAR(p->method);
    return 0;
}

static void policy_fop_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    policy_fop_clear(self);
    PyObject_GC_Del(self);
}

static PyTypeObject glupy_policy_fop_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core._policy_fop",
    .tp_basicsize = sizeof(glupy_policy_fop_t),
    .tp_dealloc = policy_fop_dealloc,
    .tp_vectorcall_offset = offsetof(glupy_policy_fop_t, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_getattro = PyObject_GenericGetAttr,
    .tp_setattro = PyObject_GenericSetAttr,
    .tp_descr_get = policy_fop_get,
    .tp_dictoffset = offsetof(glupy_policy_fop_t, dict),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR |
                Py_TPFLAGS_HAVE_GC,
    .tp_traverse = policy_fop_traverse,
    .tp_clear = policy_fop_clear,
};

/* policy_fop(spec, method) */
static PyObject *glupy_new_policy_fop(PyObject *unused, PyObject *args)
{
    PyObject *spec, *method;
    if (!PyArg_ParseTuple(args, "OO:policy_fop", &spec, &method))
        return NULL;
    if (!PyCallable_Check(method)) {
        PyErr_SetString(PyExc_TypeError, "policy_fop(spec, method)");
        return NULL;
    }
    PyObject *name = PyObject_GetAttr(spec, glupy_s_name);
    if (!name)
        return NULL;
    glupy_policy_fop_t *p = PyObject_GC_New(glupy_policy_fop_t, &glupy_policy_fop_type);
    if (!p) {
        Py_DECREF(name);
        return NULL;
    }
    p->vectorcall = policy_fop_call;
    p->dict = NULL;
    p->spec = Py_NewRef(spec);
    p->name = name;
    p->method = Py_NewRef(method);
    PyObject_GC_Track(p);
    return (PyObject *)p;
}

static PyMethodDef wind_functions[] = {
    {"child_method", glupy_new_child_method, METH_VARARGS,
     "child_method(owner, fop, func, nargs, nrequired): Child.<fop> in C"},
    {"policy_fop", glupy_new_policy_fop, METH_VARARGS,
     "policy_fop(spec, method): a policy's fop method in C"},
    {"_make_wind", (PyCFunction)(void (*)(void))make_wind, METH_FASTCALL,
     "_make_wind(child, fop, args): a Wind (what Child.<fop>() returns)"},
    {NULL, NULL, 0, NULL},
};

int glupy_wind_module_init(PyObject *module, glupy_core_api_t *api)
{
    glupy_s_slot = PyUnicode_InternFromString("slot");
    glupy_s_name = PyUnicode_InternFromString("name");
    glupy_s_child = PyUnicode_InternFromString("child");
    glupy_s_fop = PyUnicode_InternFromString("fop");
    glupy_s_loc = PyUnicode_InternFromString("loc");
    glupy_s_fd = PyUnicode_InternFromString("fd");
    glupy_s_index = PyUnicode_InternFromString("index");
    if (!glupy_s_slot || !glupy_s_name || !glupy_s_child || !glupy_s_fop || !glupy_s_loc ||
        !glupy_s_fd || !glupy_s_index)
        return -1;
    api->wind = &glupy_wind_type;
    api->gather = &glupy_gather_type;
    api->await_iter = &glupy_await_type;
    if (glupy_core_add_type(module, &glupy_wind_type, "Wind") < 0 ||
        glupy_core_add_type(module, &glupy_gather_type, "Gather") < 0 ||
        glupy_core_add_type(module, &glupy_fop_call_type, "FopCall") < 0 ||
        PyType_Ready(&glupy_await_type) < 0 || PyType_Ready(&glupy_child_method_type) < 0 ||
        PyType_Ready(&glupy_policy_fop_type) < 0)
        return -1;
    return PyModule_AddFunctions(module, wind_functions);
}
