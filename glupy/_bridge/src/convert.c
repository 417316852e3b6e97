/* Conversions between C values and Python objects, without running Python:
 * a fop's C arguments become views (glupy.types) for the translator, and the
 * arguments of a wind (or the fields of a reply) become C values again.
 * Anything these do not know is converted by glupy.runtime.driver._to_c. */

#include "glupy.h"

/* ------------------------------------------------------------ C -> Python */

/* A fop's argument views that nothing else kept, emptied for the next fop's (under
 * the GIL): an allocation and a deallocation less per view and fop. */
static GLUPY_SPARES(4) glupy_view_spares[GLUPY_NUM_VIEWS];

/* A view of a C pointer (None for NULL), built without running Python; its cdata
 * is made only if Python reads _p. */
PyObject *glupy_view(int kind, int ct, void *p, PyObject *inst)
{
    if (!p)
        Py_RETURN_NONE;
    PyObject *v = glupy_spares_take(&glupy_view_spares[kind]);
    if (v && Py_REFCNT(v) != 1) /* the gc module handed it to someone: theirs now */
        Py_CLEAR(v);
    if (!v) {
        PyTypeObject *cls = (PyTypeObject *)G.view_cls[kind];
        v = cls->tp_alloc(cls, 0);
        if (!v)
            return NULL;
    }
    ((glupy_view_t *)v)->ptr = p;
    ((glupy_view_t *)v)->ct = ct;
    /* the classes setup.c checked: these kinds are InstanceViews */
    if (kind == GLUPY_V_LOC || kind == GLUPY_V_FD || kind == GLUPY_V_INODE ||
        kind == GLUPY_V_DIRENTS)
        ((glupy_instance_view_t *)v)->inst = Py_NewRef(inst);
    return v;
}

/* Drop a fop's argument (a reference, stolen): a view only the task held is kept for
 * glupy_view, emptied as a new one (what it owned released). */
void glupy_arg_drop(PyObject *v)
{
    if (!v)
        return;
    if (Py_REFCNT(v) != 1 || PyLong_CheckExact(v)) { /* shared, or a size or an offset */
        Py_DECREF(v);
        return;
    }
    int kind = 0;
    while (kind < GLUPY_NUM_VIEWS && (PyObject *)Py_TYPE(v) != G.view_cls[kind])
        kind++;
    if (kind == GLUPY_NUM_VIEWS || kind == GLUPY_V_DIRENTS ||
        glupy_spares_full(&glupy_view_spares[kind])) {
        Py_DECREF(v);
        return;
    }
    glupy_view_t *view = (glupy_view_t *)v;
    void (*release)(void *) = view->release;
    void *owned = view->owned;
    view->release = NULL;
    view->owned = NULL;
    view->ptr = NULL;
    Py_CLEAR(view->p);
    view->addr = NULL;
    Py_CLEAR(view->keep);
    if (kind == GLUPY_V_LOC || kind == GLUPY_V_FD || kind == GLUPY_V_INODE)
        Py_CLEAR(((glupy_instance_view_t *)v)->inst);
    if (release)
        release(owned);
    if (Py_REFCNT(v) != 1 || !glupy_spares_keep(&glupy_view_spares[kind], v))
        Py_DECREF(v); /* clearing ran Python that took it */
}

PyObject *glupy_str(const char *p)
{
    if (!p)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(p, strlen(p), "surrogateescape");
}

/* A fop argument's Vector (the iovecs a writev got), as valid as they are */
PyObject *glupy_vector(struct iovec *iov, int32_t count, struct iobref *iobref)
{
    return G.core->vector_over(iov, count, iobref);
}

/* ------------------------------------------------------------ Python -> C */

/* rec->keep, what converted wind arguments point into until the wind's callback: one
 * object (glupy_keep_add's str or bytes), or a list of them; the list, made if needed */
static PyObject *glupy_keep(glupy_wind_rec_t *rec)
{
    if (rec->keep && PyList_CheckExact(rec->keep))
        return rec->keep;
    PyObject *list = PyList_New(0);
    if (list && rec->keep && PyList_Append(list, rec->keep) < 0)
        Py_CLEAR(list);
    if (list)
        Py_XSETREF(rec->keep, list);
    return list;
}

/* ``obj`` (a str, bytes or Vector, never a list) kept in rec->keep */
static int glupy_keep_add(glupy_wind_rec_t *rec, PyObject *obj)
{
    if (!rec->keep) {
        rec->keep = Py_NewRef(obj);
        return 0;
    }
    PyObject *keep = glupy_keep(rec);
    return keep ? PyList_Append(keep, obj) : -1;
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

/* core->view_cdata: what _p reads for a view made by glupy_view */
PyObject *glupy_view_cdata(void *p, int ct)
{
    return glupy_ptr(p, ct);
}

int glupy_view_ptr(glupy_view_t *v, int ct, void **out)
{
    if (!v->p) {
        if (!v->ptr || v->ct == ct) { /* no pointer, or one made here: as it is */
            *out = v->ptr;
            return 0;
        }
        PyObject *p = G.core->view_p((PyObject *)v); /* what _p reads: cffi checks the type */
        if (!p)
            return -1;
        Py_DECREF(p); /* the view holds it */
    }
    if (v->p == Py_None) {
        *out = NULL;
        return 0;
    }
    return glupy_cdata_ptr(v->p, ct, out);
}

/* Is ``v`` a Vector over GlusterFS memory (a child's buffers, Vector.alloc's)? */
static inline int glupy_vector_mem(PyObject *v)
{
    return PyObject_TypeCheck(v, G.core->vector) && !((glupy_vector_t *)v)->data;
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
        glupy_view_t *v = (glupy_view_t *)value;
        if (v->p ? v->p != Py_None : v->ptr != NULL)
            return glupy_view_ptr(v, ct, out);
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

/* a const char * argument: a str's UTF-8 (lone surrogates as glupy_str reads them,
 * surrogateescape) or a bytes object's contents, kept until the callback; anything
 * else as Python converts it (glupy_arg_other) */
int glupy_arg_str(PyObject *value, int ct, const char *kname, glupy_wind_rec_t *rec,
                  void **out)
{
    PyObject *owner;
    const char *s;
    if (value == Py_None) {
        *out = NULL;
        return 0;
    }
    if (PyUnicode_CheckExact(value)) {
        s = PyUnicode_AsUTF8(value); /* the str's own (ASCII) or cached UTF-8 */
        if (s) {
            owner = Py_NewRef(value);
        } else {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
                return -1;
            PyErr_Clear();
            owner = PyUnicode_AsEncodedString(value, "utf-8", "surrogateescape");
            if (!owner)
                return -1;
            s = PyBytes_AS_STRING(owner);
        }
    } else if (PyBytes_CheckExact(value)) {
        owner = Py_NewRef(value);
        s = PyBytes_AS_STRING(value);
    } else {
        return glupy_arg_other(value, ct, kname, rec, out);
    }
    int r = glupy_keep_add(rec, owner);
    Py_DECREF(owner);
    if (r < 0)
        return -1;
    *out = (void *)s;
    return 0;
}

int glupy_arg_vector(PyObject *value, glupy_wind_rec_t *rec, struct iovec **iov,
                     int32_t *count, struct iobref **iobref)
{
    /* a Vector over GlusterFS memory (a child's, or Vector.alloc's) goes as it is;
     * Python memory (bytes, a Vector of bytes ...) is copied into a new iobuf.  The
     * Vector, kept until the call returns, keeps its iovecs and buffers alive. */
    PyObject *v = glupy_vector_mem(value) ? Py_NewRef(value) : G.core->vector_in_iobuf(value);
    if (!v || glupy_keep_add(rec, v) < 0) {
        Py_XDECREF(v);
        return -1;
    }
    glupy_vector_t *vec = (glupy_vector_t *)v;
    *iov = vec->iov;
    *count = vec->count;
    *iobref = vec->iobref;
    Py_DECREF(v);
    return 0;
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

