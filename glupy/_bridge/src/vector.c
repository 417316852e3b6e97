/* glupy.Vector: the data of readv/writev, defined once for glupy._core (core.h
 * has its struct).  A Vector is either GlusterFS memory (iovecs and the iobref that
 * owns their buffers) or Python memory (bytes, or the bytearray of an alloc made
 * outside GlusterFS).  Allocating an iobuf needs GlusterFS, which glupy._core does
 * not link: the bridge registers its iobuf functions (core->iobufs) at setup, and
 * Vector.alloc chooses the storage by whether they are there. */

#include "core-module.h"
#include <string.h>

#define VEC(o) ((glupy_vector_t *)(o))

static glupy_core_api_t *core;
static char empty[1]; /* the base of empty memoryviews */

static glupy_vector_t *vector_blank(PyTypeObject *type)
{
    glupy_vector_t *v = (glupy_vector_t *)type->tp_alloc(type, 0);
    if (v)
        v->cap = -1;
    return v;
}

/* the bytes of Python memory (bytes, or a 1-D memoryview of bytes) */
static void data_span(PyObject *data, char **buf, Py_ssize_t *len)
{
    if (PyBytes_CheckExact(data)) {
        *buf = PyBytes_AS_STRING(data);
        *len = PyBytes_GET_SIZE(data);
    } else {
        Py_buffer *b = PyMemoryView_GET_BUFFER(data);
        *buf = b->buf;
        *len = b->len;
    }
}

static Py_ssize_t vector_length(PyObject *self)
{
    glupy_vector_t *v = VEC(self);
    if (v->data) {
        char *buf;
        Py_ssize_t n;
        data_span(v->data, &buf, &n);
        return n;
    }
    Py_ssize_t n = 0;
    for (int i = 0; i < v->count; i++)
        n += (Py_ssize_t)v->iov[i].iov_len;
    return n;
}

static PyObject *memory_view(void *base, Py_ssize_t len, int flags)
{
    return PyMemoryView_FromMemory(base && len ? base : empty, len, flags);
}

/* Python memory of a Vector: bytes as they are, anything else as a 1-D memoryview of
 * bytes over the same memory (a C-contiguous buffer) */
static PyObject *as_data(PyObject *obj)
{
    if (PyBytes_CheckExact(obj))
        return Py_NewRef(obj);
    PyObject *mv = PyMemoryView_FromObject(obj);
    if (!mv)
        return NULL;
    Py_buffer *b = PyMemoryView_GET_BUFFER(mv);
    if (b->ndim == 1 && b->itemsize == 1 && (!b->strides || b->strides[0] == 1))
        return mv;
    PyObject *flat = PyObject_CallMethod(mv, "cast", "s", "B"); /* C-contiguous only */
    Py_DECREF(mv);
    return flat;
}

/* ------------------------------------------------------ for the bridge (API) */

/* A Vector over ``count`` iovecs of GlusterFS memory, as valid as they are. */
static PyObject *vector_over(struct iovec *iov, int count, void *iobref)
{
    glupy_vector_t *v = vector_blank(core->vector);
    if (v) {
        v->iov = iov;
        v->count = count;
        v->iobref = iobref;
    }
    return (PyObject *)v;
}

/* A new Vector of ``size`` bytes in a fresh iobuf of ``cap`` bytes (the bridge's) */
static glupy_vector_t *vector_iobuf(PyTypeObject *type, Py_ssize_t size, Py_ssize_t cap)
{
    glupy_vector_t *v = vector_blank(type);
    if (!v)
        return NULL;
    v->iobref = core->iobufs->alloc((size_t)cap, &v->one);
    if (!v->iobref) {
        Py_DECREF(v);
        return (glupy_vector_t *)PyErr_Format(PyExc_MemoryError,
                                              "cannot allocate a %zd-byte iobuf", cap);
    }
    v->flags = GLUPY_VECTOR_OWNS_IOBREF;
    v->one.iov_len = (size_t)size;
    v->iov = &v->one;
    v->count = 1;
    v->cap = cap;
    return v;
}

/* ``value`` (a Vector, or anything bytes() takes) as a Vector over GlusterFS memory:
 * a Vector that is already, or a new iobuf with the bytes copied in. */
static PyObject *vector_in_iobuf(PyObject *value)
{
    if (PyObject_TypeCheck(value, core->vector) && !VEC(value)->data)
        return Py_NewRef(value);
    if (!core->iobufs) {
        PyErr_SetString(PyExc_RuntimeError, "Vector: no GlusterFS memory outside GlusterFS");
        return NULL;
    }
    PyObject *src = PyObject_TypeCheck(value, core->vector) ? Py_NewRef(VEC(value)->data)
                    : PyObject_CheckBuffer(value)          ? Py_NewRef(value)
                                                           : PyObject_Bytes(value);
    if (!src)
        return NULL;
    Py_buffer b;
    if (PyObject_GetBuffer(src, &b, PyBUF_C_CONTIGUOUS) < 0) {
        Py_DECREF(src);
        return NULL;
    }
    glupy_vector_t *v = vector_iobuf(core->vector, b.len, b.len);
    if (v && b.len)
        memcpy(v->one.iov_base, b.buf, (size_t)b.len);
    PyBuffer_Release(&b);
    Py_DECREF(src);
    return (PyObject *)v;
}

/* ------------------------------------------------------------ the type */

static PyObject *vector_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"data", NULL};
    PyObject *data = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:Vector", kwlist, &data))
        return NULL;
    PyObject *d = data ? as_data(data) : PyBytes_FromStringAndSize(NULL, 0);
    if (!d)
        return NULL;
    glupy_vector_t *v = vector_blank(type);
    if (!v) {
        Py_DECREF(d);
        return NULL;
    }
    v->data = d;
    return (PyObject *)v;
}

static void vector_dealloc(PyObject *self)
{
    glupy_vector_t *v = VEC(self);
    if (v->flags & GLUPY_VECTOR_OWNS_IOBREF)
        core->iobufs->unref(v->iobref);
    if (v->flags & GLUPY_VECTOR_OWNS_IOV)
        PyMem_Free(v->iov);
    Py_CLEAR(v->keep);
    Py_CLEAR(v->data);
    Py_TYPE(self)->tp_free(self);
}

static PyObject *vector_from_bytes(PyObject *cls, PyObject *data)
{
    PyObject *b = PyBytes_FromObject(data);
    if (!b)
        return NULL;
    glupy_vector_t *v = vector_blank((PyTypeObject *)cls);
    if (!v) {
        Py_DECREF(b);
        return NULL;
    }
    v->data = b;
    return (PyObject *)v;
}

/* alloc(size, spare=0) */
static PyObject *vector_alloc(PyObject *cls, PyObject *const *args, Py_ssize_t nargs,
                              PyObject *kwnames)
{
    PyObject *psize = nargs > 0 ? args[0] : NULL, *pspare = nargs > 1 ? args[1] : NULL;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i);
        PyObject **dst = !PyUnicode_CompareWithASCIIString(k, "size")    ? &psize
                         : !PyUnicode_CompareWithASCIIString(k, "spare") ? &pspare
                                                                         : NULL;
        if (!dst || *dst)
            return PyErr_Format(PyExc_TypeError, "Vector.alloc(size, spare=0): bad argument %R",
                                k);
        *dst = args[nargs + i];
    }
    if (nargs > 2 || !psize) {
        PyErr_SetString(PyExc_TypeError, "Vector.alloc(size, spare=0)");
        return NULL;
    }
    Py_ssize_t size = PyNumber_AsSsize_t(psize, PyExc_OverflowError);
    Py_ssize_t spare = pspare ? PyNumber_AsSsize_t(pspare, PyExc_OverflowError) : 0;
    if ((size == -1 || spare == -1) && PyErr_Occurred())
        return NULL;
    if (size < 0 || spare < 0) {
        PyErr_SetString(PyExc_ValueError, "Vector.alloc: size and spare must be >= 0");
        return NULL;
    }
    if (size > PY_SSIZE_T_MAX - spare)
        return PyErr_NoMemory();
    Py_ssize_t cap = size + spare;
    if (core->iobufs) /* inside GlusterFS: an iobuf, passed on without a copy */
        return (PyObject *)vector_iobuf((PyTypeObject *)cls, size, cap);
    PyObject *buf = PyByteArray_FromStringAndSize(NULL, cap);
    PyObject *whole = buf ? PyMemoryView_FromObject(buf) : NULL;
    Py_XDECREF(buf);
    PyObject *data = whole ? PySequence_GetSlice(whole, 0, size) : NULL;
    glupy_vector_t *v = data ? vector_blank((PyTypeObject *)cls) : NULL;
    if (!v) {
        Py_XDECREF(whole);
        Py_XDECREF(data);
        return NULL;
    }
    v->data = data;
    v->keep = whole; /* writable(): the data and the spare bytes */
    v->cap = cap;
    return (PyObject *)v;
}

static PyObject *vector_writable(PyObject *self, PyObject *unused)
{
    glupy_vector_t *v = VEC(self);
    if (v->cap < 0) {
        PyErr_SetString(PyExc_TypeError, "only a Vector made by Vector.alloc() is writable");
        return NULL;
    }
    if (v->data)
        return PyMemoryView_FromObject(v->keep);
    return memory_view(v->cap ? v->iov[0].iov_base : NULL, v->cap, PyBUF_WRITE);
}

static PyObject *vector_bytes(PyObject *self, PyObject *unused)
{
    glupy_vector_t *v = VEC(self);
    if (v->data && PyBytes_CheckExact(v->data))
        return Py_NewRef(v->data);
    if (v->data) {
        char *buf;
        Py_ssize_t n;
        data_span(v->data, &buf, &n);
        return PyBytes_FromStringAndSize(buf, n);
    }
    PyObject *b = PyBytes_FromStringAndSize(NULL, vector_length(self));
    if (!b)
        return NULL;
    char *p = PyBytes_AS_STRING(b);
    for (int i = 0; i < v->count; i++) {
        memcpy(p, v->iov[i].iov_base ? v->iov[i].iov_base : empty, v->iov[i].iov_len);
        p += v->iov[i].iov_len;
    }
    return b;
}

static PyObject *vector_contiguous(PyObject *self, PyObject *unused)
{
    glupy_vector_t *v = VEC(self);
    if (v->data) {
        PyObject *mv = PyMemoryView_FromObject(v->data);
        if (!mv || PyMemoryView_GET_BUFFER(mv)->readonly)
            return mv;
        PyObject *ro = PyObject_CallMethod(mv, "toreadonly", NULL);
        Py_DECREF(mv);
        return ro;
    }
    if (v->count == 1)
        return memory_view(v->iov[0].iov_base, (Py_ssize_t)v->iov[0].iov_len, PyBUF_READ);
    PyObject *joined = vector_bytes(self, NULL);
    PyObject *mv = joined ? PyMemoryView_FromObject(joined) : NULL;
    Py_XDECREF(joined);
    return mv;
}

static PyObject *vector_views(PyObject *self, PyObject *unused)
{
    glupy_vector_t *v = VEC(self);
    if (v->data) {
        PyObject *mv = PyMemoryView_FromObject(v->data);
        PyObject *list = mv ? PyList_New(1) : NULL;
        if (list)
            PyList_SET_ITEM(list, 0, mv);
        else
            Py_XDECREF(mv);
        return list;
    }
    PyObject *list = PyList_New(v->count);
    for (int i = 0; list && i < v->count; i++) {
        PyObject *mv = memory_view(v->iov[i].iov_base, (Py_ssize_t)v->iov[i].iov_len,
                                   PyBUF_WRITE);
        if (!mv)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, i, mv);
    }
    return list;
}

/* narrow(start, stop=None) */
static PyObject *vector_narrow(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    glupy_vector_t *v = VEC(self);
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "Vector.narrow(start, stop=None)");
        return NULL;
    }
    Py_ssize_t n = vector_length(self);
    Py_ssize_t start = PyNumber_AsSsize_t(args[0], PyExc_OverflowError);
    Py_ssize_t stop = nargs > 1 && args[1] != Py_None
                      ? PyNumber_AsSsize_t(args[1], PyExc_OverflowError) : n;
    if ((start == -1 || stop == -1) && PyErr_Occurred())
        return NULL;
    if (start < 0 || stop < 0) {
        PyErr_SetString(PyExc_ValueError, "Vector.narrow: negative index");
        return NULL;
    }
    if (stop > n)
        stop = n;
    if (start > stop)
        start = stop;
    glupy_vector_t *w = vector_blank(core->vector);
    if (!w)
        return NULL;
    w->cap = v->cap < 0 ? -1 : v->cap - start;
    if (v->data) {
        PyObject *whole = PyMemoryView_FromObject(v->data);
        w->data = whole ? PySequence_GetSlice(whole, start, stop) : NULL;
        Py_XDECREF(whole);
        if (w->data && v->cap >= 0)
            w->keep = PySequence_GetSlice(v->keep, start, PY_SSIZE_T_MAX);
        if (!w->data || (v->cap >= 0 && !w->keep)) {
            Py_DECREF(w);
            return NULL;
        }
        return (PyObject *)w;
    }
    /* the iovecs of [start, stop): most often part of one buffer */
    int parts = 0;
    Py_ssize_t pos = 0;
    for (int i = 0; i < v->count; i++) {
        Py_ssize_t len = (Py_ssize_t)v->iov[i].iov_len;
        if ((start > pos ? start : pos) < (stop < pos + len ? stop : pos + len))
            parts++;
        pos += len;
    }
    w->iov = &w->one;
    if (parts > 1) {
        w->iov = PyMem_Calloc((size_t)parts, sizeof(struct iovec));
        if (!w->iov) {
            Py_DECREF(w);
            return PyErr_NoMemory();
        }
        w->flags |= GLUPY_VECTOR_OWNS_IOV;
    }
    w->count = parts > 1 ? parts : 1; /* an empty range: one empty iovec */
    parts = 0;
    pos = 0;
    for (int i = 0; i < v->count; i++) {
        Py_ssize_t len = (Py_ssize_t)v->iov[i].iov_len;
        Py_ssize_t lo = start > pos ? start : pos, hi = stop < pos + len ? stop : pos + len;
        if (lo < hi) {
            w->iov[parts].iov_base = (char *)v->iov[i].iov_base + (lo - pos);
            w->iov[parts].iov_len = (size_t)(hi - lo);
            parts++;
        }
        pos += len;
    }
    w->iobref = v->iobref;
    /* the owner of the memory (none: as valid as the fop's own arguments) */
    PyObject *owner = v->flags & GLUPY_VECTOR_OWNS_IOBREF ? self : v->keep;
    w->keep = Py_XNewRef(owner);
    return (PyObject *)w;
}

/* Make it independent of the fop's memory: its own iovecs and an iobref ref. */
static PyObject *vector_detach(PyObject *self, PyObject *unused)
{
    glupy_vector_t *v = VEC(self);
    if (v->data || !v->iov || v->keep || (v->flags & GLUPY_VECTOR_OWNS_IOBREF))
        Py_RETURN_NONE; /* Python memory, or it holds its own already */
    if (v->iobref && !core->iobufs) {
        PyErr_SetString(PyExc_RuntimeError, "Vector: no GlusterFS memory outside GlusterFS");
        return NULL;
    }
    if (!(v->flags & GLUPY_VECTOR_OWNS_IOV)) {
        struct iovec *own = &v->one;
        if (v->count > 1) {
            own = PyMem_Malloc((size_t)v->count * sizeof(struct iovec));
            if (!own)
                return PyErr_NoMemory();
            v->flags |= GLUPY_VECTOR_OWNS_IOV;
        }
        memmove(own, v->iov, (size_t)v->count * sizeof(struct iovec));
        v->iov = own;
    }
    if (v->iobref) {
        v->iobref = core->iobufs->ref(v->iobref);
        v->flags |= GLUPY_VECTOR_OWNS_IOBREF;
    }
    Py_RETURN_NONE;
}

static PyObject *vector_repr(PyObject *self)
{
    int count = VEC(self)->data ? 1 : VEC(self)->count;
    return PyUnicode_FromFormat("Vector(%zd bytes in %d buffer(s))", vector_length(self),
                                count ? count : 1);
}

static PySequenceMethods vector_as_sequence = {.sq_length = vector_length};

static PyMethodDef vector_methods[] = {
    {"from_bytes", vector_from_bytes, METH_O | METH_CLASS,
     "from_bytes(data)\n--\n\nA Vector of a copy of ``data`` (Python memory)."},
    {"alloc", (PyCFunction)(void (*)(void))vector_alloc,
     METH_FASTCALL | METH_KEYWORDS | METH_CLASS,
     "alloc(size, spare=0)\n--\n\n"
     "A new Vector of ``size`` bytes to fill in place through ``writable()``.\n\n"
     "Inside glusterfs the memory is a fresh iobuf from the process's iobuf pool,\n"
     "owned by a new iobref (released when the Vector and every wind/unwind that\n"
     "used it are done), so returning or winding the Vector passes the buffer on\n"
     "without a copy.  Outside glusterfs (plain Python) it is a bytearray.\n"
     "``spare`` extra writable bytes follow the data without being part of it (e.g.\n"
     "for ``CipherContext.update_into``, which may want room for a block more).\n"
     "The contents start undefined: write all ``size`` bytes."},
    {"writable", vector_writable, METH_NOARGS,
     "writable()\n--\n\n"
     "A writable memoryview of the data and the spare bytes after it (``len(v) +\n"
     "spare``) of a Vector made by ``alloc`` (or narrowed from one).  Other Vectors\n"
     "are views of buffers that belong to someone else: TypeError."},
    {"narrow", (PyCFunction)(void (*)(void))vector_narrow, METH_FASTCALL,
     "narrow(start, stop=None)\n--\n\n"
     "The bytes ``[start:stop]`` of this Vector as a new Vector over the same\n"
     "memory (no copy; indexes are clamped like a slice's, negative ones are an\n"
     "error).  It is valid as long as this one is, and keeps an owned buffer alive."},
    {"contiguous", vector_contiguous, METH_NOARGS,
     "contiguous()\n--\n\n"
     "The data as one read-only memoryview: a view of GlusterFS's buffer (no\n"
     "copy) when it is in one buffer, as it almost always is; the buffers joined\n"
     "otherwise."},
    {"views", vector_views, METH_NOARGS,
     "views()\n--\n\nZero-copy memoryviews of the buffers, one per iovec."},
    {"__bytes__", vector_bytes, METH_NOARGS, "__bytes__()\n--\n\nThe data joined."},
    {"tobytes", vector_bytes, METH_NOARGS, "tobytes()\n--\n\nThe data joined (bytes(v))."},
    {"_detach", vector_detach, METH_NOARGS,
     "_detach()\n--\n\nIndependent of the fop's memory: own iovecs and an iobref ref."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject glupy_vector_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy.Vector",
    .tp_basicsize = sizeof(glupy_vector_t),
    .tp_dealloc = vector_dealloc,
    .tp_repr = vector_repr,
    .tp_as_sequence = &vector_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Vector(data=b'')\n--\n\n"
              "Data of readv/writev: an iovec array and the iobref that owns the memory.\n\n"
              "``views()`` gives zero-copy memoryviews of GlusterFS's buffers;\n"
              "``bytes(v)`` joins them.  To return new data, return/wind ``bytes`` (or\n"
              "``Vector.from_bytes``) and the runtime allocates an iobuf for it and copies\n"
              "the data in; or fill a ``Vector.alloc(size)`` in place and return/wind that\n"
              "(no copy).  ``v.narrow(start, stop)`` is a zero-copy sub-range.",
    .tp_methods = vector_methods,
    .tp_new = vector_tp_new,
};

/* _in_iobuf(value) -> (vector, iovec address, count, iobref address): what a wind or
 * unwind made in Python passes to C (glupy.runtime.driver); ``vector`` keeps it alive */
static PyObject *in_iobuf_parts(PyObject *unused, PyObject *value)
{
    PyObject *v = vector_in_iobuf(value);
    if (!v)
        return NULL;
    PyObject *r = Py_BuildValue("(NNiN)", v, PyLong_FromVoidPtr(VEC(v)->iov), VEC(v)->count,
                                PyLong_FromVoidPtr(VEC(v)->iobref));
    return r;
}

static PyMethodDef vector_functions[] = {
    {"_in_iobuf", in_iobuf_parts, METH_O,
     "_in_iobuf(value): (Vector in GlusterFS memory, iovec address, count, iobref address)"},
    {NULL, NULL, 0, NULL},
};

int glupy_vector_module_init(PyObject *module, glupy_core_api_t *api)
{
    core = api;
    api->vector = &glupy_vector_type;
    api->vector_over = vector_over;
    api->vector_in_iobuf = vector_in_iobuf;
    if (glupy_core_add_type(module, &glupy_vector_type, "Vector") < 0)
        return -1;
    return PyModule_AddFunctions(module, vector_functions);
}
