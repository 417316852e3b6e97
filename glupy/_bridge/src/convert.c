/* Conversions between C values and Python objects, without running Python:
 * a fop's C arguments become views (glupy.types) for the translator, and the
 * arguments of a wind (or the fields of a reply) become C values again.
 * Anything these do not know is converted by glupy.runtime.driver._to_c. */

#include "glupy.h"

/* ------------------------------------------------------------ C -> Python */

/* A view of a C pointer (None for NULL), built without running Python. */
PyObject *glupy_view(int kind, int ct, void *p, PyObject *inst)
{
    if (!p)
        Py_RETURN_NONE;
    PyTypeObject *cls = (PyTypeObject *)G.view_cls[kind];
    PyObject *v = cls->tp_alloc(cls, 0);
    PyObject *cdata = v ? glupy_ptr(p, ct) : NULL;
    if (!cdata) {
        Py_XDECREF(v);
        return NULL;
    }
    glupy_set_slot(v, G.view_p[kind], cdata);
    if (G.view_inst[kind] >= 0) {
        Py_INCREF(inst);
        glupy_set_slot(v, G.view_inst[kind], inst);
    }
    if (kind == GLUPY_V_DIRENTS) {
        Py_INCREF(Py_None);
        glupy_set_slot(v, G.dirents_entries, Py_None);
    }
    return v;
}

PyObject *glupy_str(const char *p)
{
    if (!p)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(p, strlen(p), "surrogateescape");
}

/* A glupy.Vector made in C (no __init__ frame) from new references, stolen: _iov,
 * _count, _iobref, _keep, _cap (_data is None).  NULL if one of them is (the others
 * dropped), or if out of memory. */
PyObject *glupy_new_vector(PyObject *iov, PyObject *count, PyObject *iobref,
                                  PyObject *keep, PyObject *cap)
{
    int ok = iov && count && iobref && keep && cap;
    PyTypeObject *cls = (PyTypeObject *)G.vector_type;
    glupy_vector_t *v = ok ? (glupy_vector_t *)cls->tp_alloc(cls, 0) : NULL;
    if (!v) {
        Py_XDECREF(iov);
        Py_XDECREF(count);
        Py_XDECREF(iobref);
        Py_XDECREF(keep);
        Py_XDECREF(cap);
        return NULL;
    }
    v->iov = iov;
    v->count = count;
    v->iobref = iobref;
    v->keep = keep;
    v->cap = cap;
    v->data = Py_NewRef(Py_None);
    return (PyObject *)v;
}

/* A fop argument's Vector (the iovecs a writev got) */
PyObject *glupy_vector(struct iovec *iov, int32_t count, struct iobref *iobref)
{
    return glupy_new_vector(glupy_ptr(iov, GLUPY_CT_IOVEC), PyLong_FromLong(count),
                            glupy_ptr(iobref, GLUPY_CT_IOBREF), Py_NewRef(Py_None),
                            Py_NewRef(Py_None));
}

/* ------------------------------------------------------------ Python -> C */

static PyObject *glupy_keep(glupy_wind_rec_t *rec)
{
    if (!rec->keep)
        rec->keep = PyList_New(0);
    return rec->keep;
}

/* Python's conversion (glupy.runtime.driver._to_c) for what is not a plain view. */
static PyObject *glupy_to_c_py(const char *kind, PyObject *value, glupy_wind_rec_t *rec)
{
    PyObject *keep = glupy_keep(rec);
    if (!keep)
        return NULL;
    return PyObject_CallFunction(G.to_c, "sOO", kind, value, keep);
}

int glupy_cdata_ptr(PyObject *cdata, int ct, void **out)
{
    char *p = G.cdata_to_ptr(cdata, (struct _cffi_ctypedescr *)G.ctypes[ct]);
    if (!p && PyErr_Occurred())
        return -1;
    *out = p;
    return 0;
}

/* Is ``v`` a Vector over GlusterFS memory (a child's buffers, Vector.alloc's)?  Then
 * 1 with its iovecs and their count; else 0 (Python memory or anything unusual: the
 * caller leaves it to Python), no error pending. */
int glupy_vector_mem(PyObject *v, struct iovec **iov, long *count)
{
    if ((PyObject *)Py_TYPE(v) != G.vector_type || ((glupy_vector_t *)v)->data != Py_None)
        return 0;
    PyObject *piov = ((glupy_vector_t *)v)->iov, *pcount = ((glupy_vector_t *)v)->count;
    if (piov && piov != Py_None && pcount && PyLong_CheckExact(pcount) &&
        glupy_cdata_ptr(piov, GLUPY_CT_IOVEC, (void **)iov) == 0) {
        *count = PyLong_AsLong(pcount);
        if (!PyErr_Occurred())
            return 1;
    }
    PyErr_Clear();
    return 0;
}

/* a view kind argument: None, the view itself, or whatever Python converts */
int glupy_arg_view(PyObject *value, int kind, int ct, const char *kname,
                          glupy_wind_rec_t *rec, void **out)
{
    if (value == Py_None) {
        *out = NULL;
        return 0;
    }
    if ((PyObject *)Py_TYPE(value) == G.view_cls[kind]) {
        PyObject *p = glupy_get_slot(value, G.view_p[kind]);
        if (p && p != Py_None)
            return glupy_cdata_ptr(p, ct, out);
    }
    PyObject *c = glupy_to_c_py(kname, value, rec);
    if (!c)
        return -1;
    int r = glupy_cdata_ptr(c, ct, out);
    Py_DECREF(c); /* the cdata is in rec->keep if it owns memory */
    return r;
}

/* str / opaque arguments always go through Python (rare, and they own memory) */
int glupy_arg_other(PyObject *value, int ct, const char *kname, glupy_wind_rec_t *rec,
                           void **out)
{
    if (value == Py_None) {
        *out = NULL;
        return 0;
    }
    PyObject *c = glupy_to_c_py(kname, value, rec);
    if (!c)
        return -1;
    int r = glupy_cdata_ptr(c, ct, out);
    Py_DECREF(c);
    return r;
}

int glupy_arg_vector(PyObject *value, glupy_wind_rec_t *rec, struct iovec **iov,
                            int32_t *count, struct iobref **iobref)
{
    /* the common case, a Vector over GlusterFS memory (a child's, or Vector.alloc's):
     * its iovecs as they are; the Vector, kept until the call returns, keeps them and
     * its iobref ref alive (what runtime._c_vector does, without the Python call) */
    long n;
    if (glupy_vector_mem(value, iov, &n)) {
        PyObject *pref = ((glupy_vector_t *)value)->iobref;
        PyObject *keep = glupy_keep(rec);
        if (!keep)
            return -1;
        if (pref &&
            (pref == Py_None ? (*iobref = NULL, 0)
                             : glupy_cdata_ptr(pref, GLUPY_CT_IOBREF, (void **)iobref)) == 0 &&
            PyList_Append(keep, value) == 0) {
            *count = (int32_t)n;
            return 0;
        }
        PyErr_Clear(); /* anything unusual: Python's conversion decides */
    }
    PyObject *c = glupy_to_c_py("vector", value, rec);
    if (!c)
        return -1;
    int r = -1;
    if (PyTuple_Check(c) && PyTuple_GET_SIZE(c) == 3 &&
        glupy_cdata_ptr(PyTuple_GET_ITEM(c, 0), GLUPY_CT_IOVEC, (void **)iov) == 0 &&
        glupy_cdata_ptr(PyTuple_GET_ITEM(c, 2), GLUPY_CT_IOBREF, (void **)iobref) == 0) {
        long n = PyLong_AsLong(PyTuple_GET_ITEM(c, 1));
        if (!(n == -1 && PyErr_Occurred())) {
            *count = (int32_t)n;
            r = 0;
        }
    }
    Py_DECREF(c);
    return r;
}

int glupy_arg_int(PyObject *value, long long *out)
{
    long long v = PyLong_AsLongLong(value);
    if (v == -1 && PyErr_Occurred())
        return -1;
    *out = v;
    return 0;
}

int glupy_arg_uint(PyObject *value, unsigned long long *out)
{
    unsigned long long v = PyLong_AsUnsignedLongLong(value);
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    *out = v;
    return 0;
}

