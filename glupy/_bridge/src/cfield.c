/* glupy._core.CField: a field of the struct a view points at, read and written in C
 * at the offset cffi gives (glupy.types declares them: Iatt.size, Loc.path ...).
 * Through cffi each read was a Python call, a cdata and a getattr on it; this is a
 * load from the view's pointer (glupy_view_address: the bridge's for its views, the
 * cdata's address once for a view Python made). */

#include "core-module.h"

static glupy_core_api_t *core; /* its view type */

enum cfield_kind { CF_INT, CF_UINT, CF_STR, CF_BYTES };

typedef struct {
    PyObject_HEAD
    Py_ssize_t offset;
    Py_ssize_t size;  /* of the integer or the byte array */
    int kind;
    PyObject *table;  /* CF_UINT: values by number (an enum's), or NULL */
    PyObject *name;
    PyObject *doc;
} glupy_cfield_t;

static const char *const kind_names[] = {"int", "uint", "str", "bytes", NULL};

static int cfield_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"name", "doc", "table", NULL};
    glupy_cfield_t *f = (glupy_cfield_t *)self;
    PyObject *name, *doc = Py_None, *table = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "U|OO:CField", kwlist, &name, &doc, &table))
        return -1;
    if (table != Py_None && !PyTuple_Check(table)) {
        PyErr_SetString(PyExc_TypeError, "CField: table is a tuple");
        return -1;
    }
    f->kind = -1;  /* until _lay_out */
    Py_XSETREF(f->table, table == Py_None ? NULL : Py_NewRef(table));
    Py_XSETREF(f->name, Py_NewRef(name));
    Py_XSETREF(f->doc, Py_NewRef(doc));
    return 0;
}

static PyObject *cfield_lay_out(PyObject *self, PyObject *args)
{
    glupy_cfield_t *f = (glupy_cfield_t *)self;
    Py_ssize_t offset, size;
    const char *kind;
    if (!PyArg_ParseTuple(args, "nsn:_lay_out", &offset, &kind, &size))
        return NULL;
    int k = 0;
    while (kind_names[k] && strcmp(kind_names[k], kind))
        k++;
    int int_size = size == 1 || size == 2 || size == 4 || size == 8;
    if (!kind_names[k] || offset < 0 || size <= 0 || (k <= CF_UINT && !int_size) ||
        (k == CF_STR && size != sizeof(char *)) || (f->table && k != CF_UINT)) {
        PyErr_Format(PyExc_ValueError, "CField %R: not a field glupy reads (%s, %zd bytes "
                     "at %zd)", f->name, kind, size, offset);
        return NULL;
    }
    f->offset = offset;
    f->size = size;
    f->kind = k;
    Py_RETURN_NONE;
}

static PyMethodDef cfield_methods[] = {
    {"_lay_out", cfield_lay_out, METH_VARARGS,
     "_lay_out(offset, kind, size): where the field is (glupy.types, from cffi's layout)"},
    {NULL, NULL, 0, NULL},
};

static void cfield_dealloc(PyObject *self)
{
    glupy_cfield_t *f = (glupy_cfield_t *)self;
    Py_CLEAR(f->table);
    Py_CLEAR(f->name);
    Py_CLEAR(f->doc);
    Py_TYPE(self)->tp_free(self);
}

/* the field's bytes in ``obj``'s struct, or NULL with an exception set */
static char *cfield_at(glupy_cfield_t *f, PyObject *obj)
{
    if (!PyObject_TypeCheck(obj, core->view)) {
        PyErr_Format(PyExc_TypeError, "%U is a field of a glupy view", f->name);
        return NULL;
    }
    if (f->kind < 0) {
        PyErr_Format(PyExc_RuntimeError, "%U: glupy.types is not bound to the bridge yet",
                     f->name);
        return NULL;
    }
    char *base = glupy_view_address(obj);
    return base ? base + f->offset : NULL;
}

/* an integer of ``size`` bytes (1, 2, 4 or 8) at ``at``, unaligned, in host order */
static uint64_t load(const char *at, Py_ssize_t size)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    switch (size) {
    case 1: memcpy(&u8, at, 1); return u8;
    case 2: memcpy(&u16, at, 2); return u16;
    case 4: memcpy(&u32, at, 4); return u32;
    default: memcpy(&u64, at, 8); return u64;
    }
}

static void store(char *at, Py_ssize_t size, uint64_t u)
{
    uint8_t u8 = (uint8_t)u;
    uint16_t u16 = (uint16_t)u;
    uint32_t u32 = (uint32_t)u;
    switch (size) {
    case 1: memcpy(at, &u8, 1); break;
    case 2: memcpy(at, &u16, 2); break;
    case 4: memcpy(at, &u32, 4); break;
    default: memcpy(at, &u, 8);
    }
}

static int64_t sign_extend(uint64_t u, Py_ssize_t size)
{
    unsigned shift = 64 - (unsigned)size * 8;
    return (int64_t)(u << shift) >> shift;
}

static PyObject *cfield_get(PyObject *self, PyObject *obj, PyObject *type)
{
    glupy_cfield_t *f = (glupy_cfield_t *)self;
    if (!obj || obj == Py_None)
        return Py_NewRef(self);
    char *at = cfield_at(f, obj);
    if (!at)
        return NULL;
    switch (f->kind) {
    case CF_STR: {
        const char *s;
        memcpy(&s, at, sizeof s);
        if (!s)
            Py_RETURN_NONE;
        return PyUnicode_DecodeUTF8(s, strlen(s), "surrogateescape");
    }
    case CF_BYTES:
        return PyBytes_FromStringAndSize(at, f->size);
    default: {
        uint64_t u = load(at, f->size);
        if (f->kind == CF_INT)
            return PyLong_FromLongLong(sign_extend(u, f->size));
        if (f->table && u < (uint64_t)PyTuple_GET_SIZE(f->table))
            return Py_NewRef(PyTuple_GET_ITEM(f->table, (Py_ssize_t)u));
        return PyLong_FromUnsignedLongLong(u);
    }
    }
}

/* ``value`` as an integer of the field's size and signedness, or -1 with an exception
 * set (OverflowError out of range, TypeError not an integer: as cffi's) */
static int cfield_set_int(glupy_cfield_t *f, char *at, PyObject *value)
{
    PyObject *n = PyNumber_Index(value);
    if (!n)
        return -1;
    unsigned bits = (unsigned)f->size * 8;
    uint64_t u;
    if (f->kind == CF_INT) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(n, &overflow);
        Py_DECREF(n);
        if (v == -1 && PyErr_Occurred())
            return -1;
        if (overflow || (bits < 64 && (v < -(1LL << (bits - 1)) || v >= 1LL << (bits - 1))))
            goto out_of_range;
        u = (uint64_t)v;
    } else {
        u = PyLong_AsUnsignedLongLong(n);
        Py_DECREF(n);
        if (u == (uint64_t)-1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError))
                return -1;
            PyErr_Clear();
            goto out_of_range;
        }
        if (bits < 64 && u >> bits)
            goto out_of_range;
    }
    store(at, f->size, u);
    return 0;
out_of_range:
    PyErr_Format(PyExc_OverflowError, "%U: %R does not fit %s%zd bits", f->name, value,
                 f->kind == CF_INT ? "signed " : "unsigned ", f->size * 8);
    return -1;
}

static int cfield_set(PyObject *self, PyObject *obj, PyObject *value)
{
    glupy_cfield_t *f = (glupy_cfield_t *)self;
    if (!value) {
        PyErr_Format(PyExc_AttributeError, "%U cannot be deleted", f->name);
        return -1;
    }
    if (f->kind == CF_STR) {
        PyErr_Format(PyExc_AttributeError, "%U is read-only", f->name);
        return -1;
    }
    char *at = cfield_at(f, obj);
    if (!at)
        return -1;
    if (f->kind != CF_BYTES)
        return cfield_set_int(f, at, value);
    Py_buffer b;
    if (PyObject_GetBuffer(value, &b, PyBUF_SIMPLE) < 0)
        return -1;
    int ok = b.len == f->size;
    if (ok)
        memcpy(at, b.buf, b.len);
    else
        PyErr_Format(PyExc_ValueError, "%U is %zd bytes, not %zd", f->name, f->size, b.len);
    PyBuffer_Release(&b);
    return ok ? 0 : -1;
}

static PyObject *cfield_get_doc(PyObject *self, void *unused)
{
    return Py_NewRef(((glupy_cfield_t *)self)->doc);
}

static PyObject *cfield_get_name(PyObject *self, void *unused)
{
    return Py_NewRef(((glupy_cfield_t *)self)->name);
}

static PyGetSetDef cfield_getset[] = {
    {"__doc__", cfield_get_doc, NULL, NULL, NULL},
    {"name", cfield_get_name, NULL, "the C field's name", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject glupy_cfield_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core.CField",
    .tp_basicsize = sizeof(glupy_cfield_t),
    .tp_dealloc = cfield_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "CField(name, doc=None, table=None)\n--\n\n"
              "A field of the struct a view points at, read and written in C.\n\n"
              "_lay_out says where and what: 'int' or 'uint' (1, 2, 4 or 8 bytes; a uint\n"
              "with ``table`` reads as table[value] when in range), 'str' (a char *:\n"
              "read-only, None for NULL) or 'bytes' (an array of ``size`` bytes, set whole).",
    .tp_methods = cfield_methods,
    .tp_getset = cfield_getset,
    .tp_descr_get = cfield_get,
    .tp_descr_set = cfield_set,
    .tp_init = cfield_init,
    .tp_new = PyType_GenericNew,
};

int glupy_cfield_module_init(PyObject *module, glupy_core_api_t *api)
{
    core = api;
    return glupy_core_add_type(module, &glupy_cfield_type, "CField");
}
