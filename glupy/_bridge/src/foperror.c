/* glupy.FopError: the exception a fop fails with, defined once for glupy._core
 * (core.h has its struct). */

#include "core-module.h"
#include <structmember.h>
#include <string.h>

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

int glupy_fop_error_module_init(PyObject *module, glupy_core_api_t *api)
{
    glupy_fop_error_type.tp_base = (PyTypeObject *)PyExc_Exception;
    PyObject *errno_module = PyImport_ImportModule("errno");
    if (!errno_module)
        return -1;
    glupy_errorcode = PyObject_GetAttrString(errno_module, "errorcode");
    Py_DECREF(errno_module);
    if (!glupy_errorcode)
        return -1;
    api->fop_error = &glupy_fop_error_type;
    return glupy_core_add_type(module, &glupy_fop_error_type, "FopError");
}
