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

/* ------------------------------------------------------------ the module */

static glupy_core_api_t glupy_core_api = {
    .abi = GLUPY_CORE_ABI,
    .fop_error = &glupy_fop_error_type,
};

static struct PyModuleDef glupy_core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "glupy._core",
    .m_doc = "The types every fop handled in Python goes through (glupy/_bridge/src/core.h).",
    .m_size = -1,
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
    if (add_type(m, &glupy_fop_error_type, "FopError") < 0 || !capsule ||
        PyModule_AddObject(m, "_C_API", capsule) < 0) {
        Py_XDECREF(capsule);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
