/* What glupy.runtime.driver.attach hands the task engine once: the Python classes and
 * helpers it uses (G, glupy.h), glupy._core's types, the offsets of the __slots__
 * it still reads (views, Child, Fop, Acquire), and the bound methods of
 * each translator instance. */

#include "glupy.h"

/* set_methods(xl, inst, methods): the translator instance of xlator ``xl`` (a cdata)
 * and its bound fop methods (list: slot -> method or None) */
static PyObject *glupy_set_methods(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    xlator_t *this = NULL;
    if (nargs != 3 || !PyList_CheckExact(args[2]) ||
        PyList_GET_SIZE(args[2]) != GLUPY_NUM_SLOTS) {
        PyErr_SetString(PyExc_TypeError, "set_methods(xl, inst, methods: list of every slot)");
        return NULL;
    }
    if (glupy_cdata_ptr(args[0], GLUPY_CT_XLATOR, (void **)&this) < 0)
        return NULL;
    if (!this || !this->private) {
        PyErr_SetString(PyExc_ValueError, "set_methods: not a glupy xlator");
        return NULL;
    }
    glupy_private_t *priv = this->private;
    PyObject *old_inst = priv->inst, *old_methods = priv->methods;
    priv->inst = Py_NewRef(args[1]);
    priv->methods = Py_NewRef(args[2]);
    Py_XDECREF(old_inst);
    Py_XDECREF(old_methods);
    Py_RETURN_NONE;
}

static PyMethodDef glupy_set_methods_def = {
    "set_methods", (PyCFunction)(void (*)(void))glupy_set_methods, METH_FASTCALL,
    "the instance and fop methods of a glupy xlator"};

static Py_ssize_t glupy_member_offset(PyObject *cls, const char *name)
{
    PyObject *d = PyObject_GetAttrString(cls, name);
    Py_ssize_t off = -1;
    if (d && Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type == T_OBJECT_EX)
            off = m->offset;
    }
    Py_XDECREF(d);
    if (off < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "glupy driver: %R.%s is not a __slots__ member", cls, name);
    }
    return off;
}

/* ``config`` (a dict built by glupy.runtime.driver.attach) hands the driver its
 * Python objects; the driver puts its functions into it (set_methods, ...).
 * Returns 0, or -1 with an exception printed. */
static int glupy_driver_setup_locked(glupy_core_api_t *core, PyObject *c);

/* The config comes through glupy._core._hand_over (core.h). */
int glupy_driver_setup(void)
{
    PyGILState_STATE gs = PyGILState_Ensure(); /* cffi released it for this call */
    glupy_cffi_bind();
    int r = -1;
    glupy_core_api_t *core = glupy_core_import();
    PyObject *config = core ? core->handed_over : NULL;
    if (core)
        core->handed_over = NULL;
    if (config && PyDict_Check(config))
        r = glupy_driver_setup_locked(core, config);
    else if (core)
        PyErr_SetString(PyExc_TypeError, "glupy driver setup: no config handed over");
    if (r < 0 && PyErr_Occurred())
        PyErr_Print();
    Py_XDECREF(config); /* the caller (glupy.runtime.driver) keeps it */
    PyGILState_Release(gs);
    return r;
}

static int glupy_driver_setup_locked(glupy_core_api_t *core, PyObject *c)
{
#define GET(name) PyDict_GetItemString(c, name)
#define KEEP(dst, name)                                                     \
    do {                                                                    \
        PyObject *o_ = GET(name);                                           \
        if (!o_) {                                                          \
            PyErr_Format(PyExc_KeyError, "glupy driver setup: %s", name); \
            goto error;                                                     \
        }                                                                   \
        Py_INCREF(o_);                                                      \
        dst = o_;                                                           \
    } while (0)
    G.fop_error = Py_NewRef((PyObject *)core->fop_error);
    G.wind_type = Py_NewRef((PyObject *)core->wind);
    G.gather_type = Py_NewRef((PyObject *)core->gather);
    G.await_type = core->await_iter;
    KEEP(G.acquire_type, "Acquire");
    KEEP(G.vector_type, "Vector");
    KEEP(G.child_type, "Child");
    KEEP(G.fop_type, "Fop");
    KEEP(G.finish_slow, "finish_slow");
    KEEP(G.fail_slow, "fail_slow");
    KEEP(G.crash, "crash");
    KEEP(G.detach, "detach");
    KEEP(G.to_c, "to_c");
    KEEP(G.acquire, "acquire");
    KEEP(G.wind_failed, "wind_failed");
    PyObject *replies = GET("replies"), *views = GET("views"), *ctypes = GET("ctypes");
    if (!replies || !views || !ctypes || PyList_Size(replies) != GLUPY_NUM_SLOTS ||
        PyList_Size(views) != GLUPY_NUM_VIEWS || PyList_Size(ctypes) != GLUPY_NUM_CTYPES) {
        PyErr_SetString(PyExc_ValueError, "glupy driver setup: bad replies/views/ctypes");
        goto error;
    }
    for (int i = 0; i < GLUPY_NUM_SLOTS; i++) {
        G.reply_cls[i] = PyList_GET_ITEM(replies, i);
        if (G.reply_cls[i] != Py_None && (!PyType_Check(G.reply_cls[i]) ||
            !PyType_IsSubtype((PyTypeObject *)G.reply_cls[i], core->reply))) {
            PyErr_Format(PyExc_TypeError, "glupy driver setup: %R is not a reply class",
                         G.reply_cls[i]);
            goto error;
        }
        Py_INCREF(G.reply_cls[i]);
    }
    for (int i = 0; i < GLUPY_NUM_CTYPES; i++) {
        G.ctypes[i] = PyList_GET_ITEM(ctypes, i);
        Py_INCREF(G.ctypes[i]);
    }
    for (int i = 0; i < GLUPY_NUM_VIEWS; i++) {
        PyObject *cls = PyList_GET_ITEM(views, i);
        Py_INCREF(cls);
        G.view_cls[i] = cls;
        if ((G.view_p[i] = glupy_member_offset(cls, "_p")) < 0)
            goto error;
        G.view_inst[i] = -1;
        if (i == GLUPY_V_LOC || i == GLUPY_V_FD || i == GLUPY_V_INODE || i == GLUPY_V_DIRENTS)
            if ((G.view_inst[i] = glupy_member_offset(cls, "_inst")) < 0)
                goto error;
    }
    if ((G.dirents_entries = glupy_member_offset(G.view_cls[GLUPY_V_DIRENTS], "_entries")) < 0)
        goto error;
    if ((G.a_lock = glupy_member_offset(G.acquire_type, "lock")) < 0 ||
        (G.child_xl = glupy_member_offset(G.child_type, "xl")) < 0 ||
        (G.f_slot = glupy_member_offset(G.fop_type, "slot")) < 0)
        goto error;
    if (!PyType_Check(G.vector_type) ||
        !PyType_IsSubtype((PyTypeObject *)G.vector_type, core->vector)) {
        PyErr_Format(PyExc_TypeError, "glupy driver setup: %R is not a Vector", G.vector_type);
        goto error;
    }
    if (glupy_types_setup(c) < 0)
        goto error;
    PyObject *set_methods = PyCFunction_New(&glupy_set_methods_def, NULL);
    int added = set_methods ? PyDict_SetItemString(c, "set_methods", set_methods) : -1;
    Py_XDECREF(set_methods);
    if (added < 0)
        goto error;
    G.empty_tuple = PyTuple_New(0);
    if (!G.empty_tuple)
        goto error;
    G.s_throw = PyUnicode_InternFromString("throw");
    G.s_detach = PyUnicode_InternFromString("_detach");
    return 0;
error:
    PyErr_Print();
    return -1;
#undef GET
#undef KEEP
}
