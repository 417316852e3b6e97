/* What the task engine hands Python besides glupy._core's types, and what it lends
 * glupy._core (glupy_types_setup):
 *
 *   glupy._raw            a child's reply arguments as its callback got them
 *   _reply_vector         a reply's Vector field, read from them (CONVERTERS["vector"])
 *   glupy_iobufs          GlusterFS's iobufs, for glupy._core's Vector (core->iobufs)
 */

#include "glupy.h"

/* ------------------------------------------------------ a reply's raw C arguments */
/* (glupy_raw_t: glupy.h) */
PyObject *glupy_raw_new(int n, const signed char *kinds)
{
    glupy_raw_t *r = PyObject_New(glupy_raw_t, &glupy_raw_type);
    if (r) {
        r->n = n;
        r->kinds = kinds;
    }
    return (PyObject *)r;
}

static Py_ssize_t glupy_raw_len(PyObject *self)
{
    return ((glupy_raw_t *)self)->n;
}

static PyObject *glupy_raw_item(PyObject *self, Py_ssize_t i)
{
    glupy_raw_t *r = (glupy_raw_t *)self;
    if (i < 0 || i >= r->n) {
        PyErr_SetString(PyExc_IndexError, "reply argument index out of range");
        return NULL;
    }
    int k = r->kinds[i];
    if (k == GLUPY_RAW_INT)
        return PyLong_FromLongLong(r->v[i].i);
    if (k == GLUPY_RAW_UINT)
        return PyLong_FromUnsignedLongLong(r->v[i].u);
    return glupy_ptr(r->v[i].p, k);
}

static void glupy_raw_dealloc(PyObject *self)
{
    PyObject_Free(self);
}

static PySequenceMethods glupy_raw_seq = {.sq_length = glupy_raw_len, .sq_item = glupy_raw_item};

PyTypeObject glupy_raw_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._raw",
    .tp_basicsize = sizeof(glupy_raw_t),
    .tp_dealloc = glupy_raw_dealloc,
    .tp_as_sequence = &glupy_raw_seq,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "a child's reply arguments as its callback got them",
};


/* The reply field converter for vectors (CONVERTERS["vector"]): (raw, cidx, inst) ->
 * a Vector over the child's iovecs raw[cidx[0]], count raw[cidx[1]], iobref
 * raw[cidx[2]], read straight from the raw C arguments (a crypt-like translator
 * reads it on every readv). */
static PyObject *glupy_reply_vector(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !Py_IS_TYPE(args[0], &glupy_raw_type) || !PyTuple_Check(args[1]) ||
        PyTuple_GET_SIZE(args[1]) != 3) {
        PyErr_SetString(PyExc_TypeError, "_reply_vector(raw, cidx, inst)");
        return NULL;
    }
    glupy_raw_t *raw = (glupy_raw_t *)args[0];
    Py_ssize_t k[3];
    for (int i = 0; i < 3; i++) {
        k[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(args[1], i));
        if (k[i] < 0 || k[i] >= raw->n) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_IndexError, "_reply_vector: bad index");
            return NULL;
        }
    }
    return glupy_vector(raw->v[k[0]].p, (int32_t)raw->v[k[1]].i, raw->v[k[2]].p);
}

static PyMethodDef glupy_reply_vector_def = {
    "_reply_vector", (PyCFunction)(void (*)(void))glupy_reply_vector, METH_FASTCALL,
    "a reply's Vector field from its raw C arguments"};

/* ------------------------------------------------ iobufs lent to glupy._core */

static void *glupy_iobuf_alloc(size_t size, struct iovec *iov)
{
    xlator_t *x = THIS;
    if (!x || !x->ctx || !x->ctx->iobuf_pool)
        return NULL;
    return glupy_iobref_alloc(x->ctx->iobuf_pool, size, iov);
}

static void *glupy_iobref_ref(void *iobref)
{
    return iobref_ref(iobref);
}

static void glupy_iobref_unref(void *iobref)
{
    iobref_unref(iobref);
}

static const glupy_iobuf_ops_t glupy_iobufs = {
    .alloc = glupy_iobuf_alloc,
    .ref = glupy_iobref_ref,
    .unref = glupy_iobref_unref,
};

glupy_core_api_t *glupy_core;

/* ------------------------------------------------------------ setup */
int glupy_types_setup(PyObject *config)
{
    if (PyType_Ready(&glupy_raw_type) < 0)
        return -1;
    glupy_core = glupy_core_import();
    if (!glupy_core)
        return -1;
    glupy_core->iobufs = &glupy_iobufs;
    PyObject *f = PyCFunction_New(&glupy_reply_vector_def, NULL);
    int r = f ? PyDict_SetItemString(config, "reply_vector", f) : -1;
    Py_XDECREF(f);
    return r;
}
