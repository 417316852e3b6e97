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
    return glupy_wind_new(type, child, fop, Py_NewRef(wargs));
}

/* Child.<fop>() and FopCall.wind() build their Wind with this: no tp_new
 * argument parsing. */
static PyObject *make_wind(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyTuple_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "_make_wind(child, fop, args: tuple)");
        return NULL;
    }
    return glupy_wind_new(&glupy_wind_type, args[0], args[1], Py_NewRef(args[2]));
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

/* ------------------------------------------------------------ the module */

static glupy_core_api_t glupy_core_api = {
    .abi = GLUPY_CORE_ABI,
    .fop_error = &glupy_fop_error_type,
    .wind = &glupy_wind_type,
    .gather = &glupy_gather_type,
    .await_iter = &glupy_await_type,
};

static PyMethodDef core_functions[] = {
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
    PyObject *m = PyModule_Create(&glupy_core_module);
    if (!m)
        return NULL;
    PyObject *capsule = PyCapsule_New(&glupy_core_api, GLUPY_CORE_CAPSULE, NULL);
    if (add_type(m, &glupy_fop_error_type, "FopError") < 0 ||
        add_type(m, &glupy_wind_type, "Wind") < 0 || add_type(m, &glupy_gather_type, "Gather") < 0 ||
        PyType_Ready(&glupy_await_type) < 0 || !capsule ||
        PyModule_AddObject(m, "_C_API", capsule) < 0) {
        Py_XDECREF(capsule);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
