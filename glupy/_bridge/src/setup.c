/* What glupy.runtime.driver.attach hands the task engine once: the Python classes and
 * helpers it uses (G, glupy.h), checked against glupy._core's types whose structs
 * the engine reads (core.h), and the bound methods of each translator instance. */

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
    PyObject *binding = PyTuple_Pack(2, args[1], args[2]), *old = priv->binding;
    if (!binding)
        return NULL;
    __atomic_store_n(&priv->binding, binding, __ATOMIC_RELEASE);
    Py_CLEAR(priv->wound_xl);
    /* without the GIL, a fop entering on another thread may have read the old binding
       and not yet taken its reference: it stays for the life of the process (one per
       reload) */
    if (!GLUPY_FREE_THREADED)
        Py_XDECREF(old);
    Py_RETURN_NONE;
}

static PyMethodDef glupy_set_methods_def = {
    "set_methods", (PyCFunction)(void (*)(void))glupy_set_methods, METH_FASTCALL,
    "the instance and fop methods of a glupy xlator"};

/* ``cls`` is a class the engine reads as a ``base`` struct: 0, else -1 with TypeError */
static int glupy_check_class(PyObject *cls, PyTypeObject *base)
{
    if (PyType_Check(cls) && PyType_IsSubtype((PyTypeObject *)cls, base))
        return 0;
    PyErr_Format(PyExc_TypeError, "glupy driver setup: %R is not a %s", cls, base->tp_name);
    return -1;
}

/* ``config`` (a dict built by glupy.runtime.driver.attach) hands the driver its
 * Python objects; the driver puts its functions into it (set_methods, ...).
 * Returns 0, or -1 with the exception kept for glupy_driver_setup_error. */
static int glupy_driver_setup_locked(glupy_core_api_t *core, PyObject *c);

/* why the last glupy_driver_setup failed: the driver raises it into the log */
static char glupy_setup_error[512];

const char *glupy_driver_setup_error(void)
{
    return glupy_setup_error;
}

/* the pending exception, as "Type: message", into glupy_setup_error (cleared) */
static void glupy_keep_setup_error(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *text = value ? PyObject_Str(value) : NULL;
    const char *msg = text ? PyUnicode_AsUTF8(text) : NULL;
    snprintf(glupy_setup_error, sizeof(glupy_setup_error), "%s: %s",
             type ? ((PyTypeObject *)type)->tp_name : "error", msg ? msg : "(no message)");
    PyErr_Clear();
    Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

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
    glupy_setup_error[0] = '\0';
    if (r < 0 && PyErr_Occurred())
        glupy_keep_setup_error();
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
    G.core = core;
    G.fop_error = Py_NewRef((PyObject *)core->fop_error);
    G.wind_type = Py_NewRef((PyObject *)core->wind);
    G.gather_type = Py_NewRef((PyObject *)core->gather);
    G.await_type = core->await_iter;
    KEEP(G.acquire_type, "Acquire");
    KEEP(G.vector_type, "Vector");
    KEEP(G.child_type, "Child");
    KEEP(G.finish_slow, "finish_slow");
    KEEP(G.fail_slow, "fail_slow");
    KEEP(G.crash, "crash");
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
        PyTypeObject *base = i == GLUPY_V_DIRENTS ? core->dirents_view
                             : i == GLUPY_V_LOC || i == GLUPY_V_FD || i == GLUPY_V_INODE
                                 ? core->instance_view
                                 : core->view;
        if (glupy_check_class(cls, base) < 0)
            goto error;
        G.view_cls[i] = Py_NewRef(cls);
    }
    if (glupy_check_class(G.child_type, core->child) < 0 ||
        glupy_check_class(G.vector_type, core->vector) < 0)
        goto error;
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
    core->detach_view = glupy_view_detach;
    core->view_cdata = glupy_view_cdata;
    return 0;
error:
    PyErr_Print();
    return -1;
#undef GET
#undef KEEP
}
