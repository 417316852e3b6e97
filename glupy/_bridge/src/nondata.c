/* glupy._core.nondata(): attributes read on every fop.
 *
 * ``self.child`` and options (``self.timeout``) are non-data descriptors whose
 * value, once known, sits in the instance __dict__.  CPython 3.11 specializes
 * such an attribute read into a plain dict hit only if the descriptor's class
 * is immutable; _OnlyChild and Option are Python classes, so every read took
 * the generic path (type lookup, descriptor checks, dict lookup).  This C type
 * wraps such a descriptor without changing its meaning: reads on the class and
 * misses in the instance __dict__ go to the wrapped descriptor. */

#include "core-module.h"
#include <structmember.h>

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

static PyMethodDef nondata_functions[] = {
    {"nondata", glupy_new_nondata, METH_O, "an immutable non-data descriptor wrapping one"},
    {NULL, NULL, 0, NULL},
};

int glupy_nondata_module_init(PyObject *module, glupy_core_api_t *api)
{
    if (PyType_Ready(&glupy_nondata_type) < 0)
        return -1;
    return PyModule_AddFunctions(module, nondata_functions);
}
