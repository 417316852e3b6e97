/* What the task engine hands Python besides glupy._core's types, and what it lends
 * glupy._core (glupy_types_setup):
 *
 *   glupy._raw            a child's reply arguments as its callback got them
 *   glupy_reply_field     a reply's field, converted from them (glupy._core's Field)
 *   glupy_iobufs          GlusterFS's iobufs, for glupy._core's Vector (core->iobufs)
 */

#include "glupy.h"

/* ------------------------------------------------------ a reply's raw C arguments */
/* (glupy_raw_t: glupy.h) */

/* freed ones kept for the next callbacks (under the GIL): the allocator skipped */
static GLUPY_SPARES(8) glupy_raw_spares;

PyObject *glupy_raw_new(int n, const signed char *kinds)
{
    PyObject *spare = glupy_spares_take(&glupy_raw_spares);
    glupy_raw_t *r = spare ? (glupy_raw_t *)PyObject_Init(spare, &glupy_raw_type)
                           : PyObject_New(glupy_raw_t, &glupy_raw_type);
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
    if (!glupy_spares_keep(&glupy_raw_spares, self))
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


/* A child's reply field from the raw C arguments (glupy._core's reply_field): the
 * same conversions as the fop's own arguments (convert.c), by the field's kind. */
enum { GLUPY_K_STR = -1, GLUPY_K_OPAQUE = -2, GLUPY_K_INT = -3, GLUPY_K_VECTOR = -4 };
static PyObject *glupy_field_kinds; /* kind (str) -> GLUPY_V_* view kind or GLUPY_K_* */

static PyObject *glupy_reply_field(PyObject *raw, PyObject *cidx, PyObject *kind, PyObject *inst)
{
    PyObject *code = PyDict_GetItemWithError(glupy_field_kinds, kind);
    if (!code) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "no conversion for reply fields of kind %R", kind);
        return NULL;
    }
    long k = PyLong_AsLong(code);
    Py_ssize_t n = k == GLUPY_K_VECTOR ? 3 : 1; /* vector, count, iobref */
    if (!Py_IS_TYPE(raw, &glupy_raw_type) || !PyTuple_Check(cidx) || PyTuple_GET_SIZE(cidx) != n)
        return PyErr_Format(PyExc_TypeError, "reply field of kind %R: not a child's C arguments",
                            kind);
    glupy_raw_t *r = (glupy_raw_t *)raw;
    Py_ssize_t i[3];
    for (Py_ssize_t j = 0; j < n; j++) {
        i[j] = PyLong_AsSsize_t(PyTuple_GET_ITEM(cidx, j));
        if (i[j] < 0 || i[j] >= r->n) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_IndexError, "reply field: C argument index out of range");
            return NULL;
        }
    }
    void *p = r->v[i[0]].p;
    int ct = r->kinds[i[0]];
    switch (k) {
    case GLUPY_K_VECTOR:
        return glupy_vector(p, (int32_t)r->v[i[1]].i, r->v[i[2]].p);
    case GLUPY_K_STR:
        return glupy_str(p);
    case GLUPY_K_INT:
        return ct == GLUPY_RAW_UINT ? PyLong_FromUnsignedLongLong(r->v[i[0]].u)
                                    : PyLong_FromLongLong(r->v[i[0]].i);
    case GLUPY_K_OPAQUE:
        return p && ct >= 0 ? glupy_ptr(p, ct) : Py_NewRef(Py_None);
    default:
        if (ct < 0)
            return PyErr_Format(PyExc_TypeError, "reply field of kind %R: not a pointer", kind);
        return glupy_view((int)k, ct, p, inst);
    }
}

/* kind -> code for glupy_reply_field: ``views`` are the view kinds in GLUPY_V_* order */
static int glupy_field_kinds_setup(PyObject *views)
{
    static const struct {
        const char *name;
        long code;
    } others[] = {{"str", GLUPY_K_STR}, {"opaque", GLUPY_K_OPAQUE}, {"int", GLUPY_K_INT},
                  {"vector", GLUPY_K_VECTOR}};
    if (!views || !PyTuple_Check(views) || PyTuple_GET_SIZE(views) != GLUPY_NUM_VIEWS) {
        PyErr_SetString(PyExc_ValueError, "glupy driver setup: bad view_kinds");
        return -1;
    }
    PyObject *kinds = PyDict_New();
    int r = kinds ? 0 : -1;
    for (Py_ssize_t i = 0; r == 0 && i < GLUPY_NUM_VIEWS; i++) {
        PyObject *code = PyLong_FromSsize_t(i);
        r = code ? PyDict_SetItem(kinds, PyTuple_GET_ITEM(views, i), code) : -1;
        Py_XDECREF(code);
    }
    for (size_t i = 0; r == 0 && i < sizeof(others) / sizeof(others[0]); i++) {
        PyObject *code = PyLong_FromLong(others[i].code);
        r = code ? PyDict_SetItemString(kinds, others[i].name, code) : -1;
        Py_XDECREF(code);
    }
    if (r < 0) {
        Py_XDECREF(kinds);
        return -1;
    }
    Py_XSETREF(glupy_field_kinds, kinds);
    return 0;
}

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

/* ------------------------------------------------------------ setup */
int glupy_types_setup(PyObject *config)
{
    if (PyType_Ready(&glupy_raw_type) < 0)
        return -1;
    if (glupy_field_kinds_setup(PyDict_GetItemString(config, "view_kinds")) < 0)
        return -1;
    G.core->iobufs = &glupy_iobufs;
    G.core->reply_field = glupy_reply_field;
    return 0;
}
