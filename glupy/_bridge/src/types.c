/* The C types the task engine hands Python, and the C versions of the
 * methods and descriptors on every fop's path (installed by glupy.runtime.driver
 * through glupy_types_setup):
 *
 *   glupy._raw            a child's reply arguments as its callback got them
 *   Vector                alloc, contiguous(), writable(); reply vectors
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


/* The reply field converter for vectors (replies.py CONVERTERS["vector"]):
 * (raw, cidx, inst) -> Vector(raw[cidx[0]], raw[cidx[1]], raw[cidx[2]]), made without
 * running Vector.__init__ (a crypt-like translator reads it on every readv). */
static PyObject *glupy_reply_vector(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PySequence_Check(args[0]) || !PyTuple_Check(args[1]) ||
        PyTuple_GET_SIZE(args[1]) != 3) {
        PyErr_SetString(PyExc_TypeError, "_reply_vector(raw, cidx, inst)");
        return NULL;
    }
    PyObject *items[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        Py_ssize_t k = PyLong_AsSsize_t(PyTuple_GET_ITEM(args[1], i));
        items[i] = k < 0 && PyErr_Occurred() ? NULL
                 : k < 0 ? (PyErr_SetString(PyExc_IndexError, "_reply_vector: bad index"), NULL)
                         : PySequence_GetItem(args[0], k);
        if (!items[i]) {
            for (int j = 0; j < i; j++)
                Py_DECREF(items[j]);
            return NULL;
        }
    }
    return glupy_new_vector(items[0], items[1], items[2], Py_NewRef(Py_None),
                            Py_NewRef(Py_None));
}

static PyMethodDef glupy_reply_vector_def = {
    "_reply_vector", (PyCFunction)(void (*)(void))glupy_reply_vector, METH_FASTCALL,
    "a reply's Vector field from its raw C arguments"};

/* What a Vector.alloc buffer's ``_keep`` holds: the iovec its ``_iov`` points at and
 * the iobref ref, both released with the capsule. */
typedef struct {
    struct iovec iov;
    struct iobref *iobref;
} glupy_alloc_t;

static void glupy_alloc_free(PyObject *capsule)
{
    glupy_alloc_t *a = PyCapsule_GetPointer(capsule, "glupy.alloc");
    if (a) {
        iobref_unref(a->iobref);
        free(a);
    }
}

/* Vector.alloc inside GlusterFS: (size, cap) -> a Vector of ``size`` bytes in a new
 * iobuf of ``cap`` bytes (see glupy_iobref_alloc), built in one C call: it runs once
 * per readv/writev of a translator that transforms data (crypt). */
static PyObject *glupy_vector_alloc(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t size = nargs == 2 ? PyLong_AsSsize_t(args[0]) : -1;
    Py_ssize_t cap = nargs == 2 ? PyLong_AsSsize_t(args[1]) : -1;
    if (size < 0 || cap < size) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "_vector_alloc(size, cap)");
        return NULL;
    }
    xlator_t *x = THIS;
    if (!x || !x->ctx || !x->ctx->iobuf_pool)
        return PyErr_NoMemory();
    glupy_alloc_t *a = calloc(1, sizeof(*a));
    if (!a)
        return PyErr_NoMemory();
    a->iobref = glupy_iobref_alloc(x->ctx->iobuf_pool, cap, &a->iov);
    if (!a->iobref) {
        free(a);
        return PyErr_NoMemory();
    }
    a->iov.iov_len = size;
    PyObject *capsule = PyCapsule_New(a, "glupy.alloc", glupy_alloc_free);
    if (!capsule) {
        iobref_unref(a->iobref);
        free(a);
        return NULL;
    }
    /* the capsule (_keep) owns the iovec and the iobref ref: freed with it on failure */
    return glupy_new_vector(glupy_ptr(&a->iov, GLUPY_CT_IOVEC), PyLong_FromLong(1),
                            glupy_ptr(a->iobref, GLUPY_CT_IOBREF), capsule,
                            PyLong_FromSsize_t(cap));
}

static PyMethodDef glupy_vector_alloc_def = {
    "_vector_alloc", (PyCFunction)(void (*)(void))glupy_vector_alloc, METH_FASTCALL,
    "Vector.alloc's buffer inside GlusterFS"};

/* Vector.contiguous() / Vector.writable() for the common case, one GlusterFS buffer
 * (read-only / the data and spare bytes of an alloc'd one): a memoryview straight
 * over it; anything else goes to the Python method kept in ``py``. */
static PyObject *glupy_vec_py[2];

static PyObject *glupy_vec_view(PyObject *self, int writable)
{
    struct iovec *iov = NULL;
    long count;
    if (glupy_vector_mem(self, &iov, &count) && count == 1 && iov && iov->iov_base) {
        Py_ssize_t n = (Py_ssize_t)iov->iov_len;
        if (writable) {
            PyObject *pcap = ((glupy_vector_t *)self)->cap;
            n = pcap && PyLong_CheckExact(pcap) ? PyLong_AsSsize_t(pcap) : 0;
        }
        if (n > 0)
            return PyMemoryView_FromMemory(iov->iov_base, n, writable ? PyBUF_WRITE : PyBUF_READ);
        PyErr_Clear();
    }
    return PyObject_CallOneArg(glupy_vec_py[writable], self);
}

static PyObject *glupy_vec_contiguous(PyObject *self, PyObject *unused)
{
    return glupy_vec_view(self, 0);
}

static PyObject *glupy_vec_writable(PyObject *self, PyObject *unused)
{
    return glupy_vec_view(self, 1);
}

static PyMethodDef glupy_vec_defs[2] = {
    {"contiguous", glupy_vec_contiguous, METH_NOARGS, NULL},
    {"writable", glupy_vec_writable, METH_NOARGS, NULL},
};

/* vector_methods(py_contiguous, py_writable): Vector.contiguous/writable in C */
static PyObject *glupy_vector_methods(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "vector_methods(contiguous, writable)");
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        Py_XSETREF(glupy_vec_py[i], Py_NewRef(args[i]));
        glupy_vec_defs[i].ml_doc = NULL;
        PyObject *doc = PyObject_GetAttrString(args[i], "__doc__");
        if (doc && PyUnicode_Check(doc))
            glupy_vec_defs[i].ml_doc = PyUnicode_AsUTF8(doc); /* kept alive by the function */
        Py_XDECREF(doc);
        PyErr_Clear();
        PyObject *d = PyDescr_NewMethod((PyTypeObject *)G.vector_type, &glupy_vec_defs[i]);
        int r = d ? PyObject_SetAttrString(G.vector_type, glupy_vec_defs[i].ml_name, d) : -1;
        Py_XDECREF(d);
        if (r < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef glupy_vector_methods_def = {
    "vector_methods", (PyCFunction)(void (*)(void))glupy_vector_methods, METH_FASTCALL,
    "Vector.contiguous/writable in C (the Python ones as fallbacks)"};

/* ------------------------------------------------------------ setup */
int glupy_types_setup(PyObject *config)
{
    int r;
    if (PyType_Ready(&glupy_raw_type) < 0)
        return -1;
    /* what glupy.runtime.driver installs: the Vector methods, ... */
    PyMethodDef *defs[] = {&glupy_reply_vector_def, &glupy_vector_alloc_def,
                           &glupy_vector_methods_def};
    const char *keys[] = {"reply_vector", "vector_alloc", "vector_methods"};
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        PyObject *f = PyCFunction_New(defs[i], NULL);
        r = f ? PyDict_SetItemString(config, keys[i], f) : -1;
        Py_XDECREF(f);
        if (r < 0)
            return -1;
    }
    return 0;
}
