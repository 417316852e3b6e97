/* The storage of glupy.types' views (glupy._core.View, InstanceView, DirentsView)
 * and of glupy.Child (glupy._core.Child), defined once for glupy._core (core.h has
 * their structs and says what detaching a view means). */

#include "core-module.h"
#include <structmember.h>

static glupy_core_api_t *core; /* detach_view: the bridge's, set at its setup */

/* glupy.types' function from a cdata pointer to its address (int), set at its import:
 * the address of a view whose _p Python set is asked of it once */
static PyObject *cdata_address;

static int view_traverse(PyObject *self, visitproc visit, void *arg)
{
    glupy_view_t *v = (glupy_view_t *)self;
    Py_VISIT(v->p);
    Py_VISIT(v->keep);
    return 0;
}

static int view_clear(PyObject *self)
{
    glupy_view_t *v = (glupy_view_t *)self;
    Py_CLEAR(v->p);
    v->addr = NULL;
    Py_CLEAR(v->keep);
    return 0;
}

/* what the view owns goes after the fields: a detached loc's cdata points into it */
static void view_release(glupy_view_t *v)
{
    void (*release)(void *) = v->release;
    void *owned = v->owned;
    v->release = NULL;
    v->owned = NULL;
    if (release)
        release(owned);
}

static void view_free(PyObject *self, inquiry clear)
{
    PyObject_GC_UnTrack(self);
    clear(self);
    view_release((glupy_view_t *)self);
    Py_TYPE(self)->tp_free(self);
}

static void view_dealloc(PyObject *self)
{
    view_free(self, view_clear);
}

/* _p: the cdata (a new reference), made now for a view the bridge made of a C pointer
 * (borrowed); under the view's lock, since two threads may ask for it at once */
static PyObject *view_cdata(glupy_view_t *v)
{
    PyObject *p = NULL;
    GLUPY_BEGIN_OBJECT_LOCK((PyObject *)v);
    if (!v->p && v->ptr) {
        if (core->view_cdata)
            v->p = core->view_cdata(v->ptr, v->ct);
        else
            PyErr_SetString(PyExc_RuntimeError, "a view's pointer without the glupy bridge");
    } else if (!v->p) {
        PyErr_SetString(PyExc_AttributeError, "_p"); /* never set: as an unset slot */
    }
    p = Py_XNewRef(v->p);
    GLUPY_END_OBJECT_LOCK();
    return p;
}

/* what == and hash compare: the cdata, or None for a view that points at nothing */
static PyObject *view_cdata_or_none(glupy_view_t *v)
{
    return v->ptr || v->p ? view_cdata(v) : Py_NewRef(Py_None);
}

/* core->view_p (the bridge's wind arguments): the same cdata _p reads */
static PyObject *view_p(PyObject *self)
{
    return view_cdata((glupy_view_t *)self);
}

static void view_set_cdata(glupy_view_t *v, PyObject *p)
{
    PyObject *old;
    GLUPY_BEGIN_OBJECT_LOCK((PyObject *)v);
    old = v->p;
    v->p = Py_XNewRef(p);
    v->ptr = NULL;
    v->addr = NULL;
    GLUPY_END_OBJECT_LOCK();
    Py_XDECREF(old); /* outside the lock: a cdata's finaliser may run */
}

void *glupy_view_address(PyObject *self)
{
    glupy_view_t *v = (glupy_view_t *)self;
    if (v->ptr) /* the bridge's pointer (p, if made, is its cdata: setting p clears ptr) */
        return v->ptr;
    if (!v->p) {
        PyErr_SetString(PyExc_AttributeError, "_p"); /* as view_cdata */
        return NULL;
    }
    if (v->addr)
        return v->addr;
    if (v->p == Py_None || !cdata_address) {
        PyErr_SetString(PyExc_ValueError, v->p == Py_None ? "the view points at nothing"
                                                           : "glupy.types is not imported");
        return NULL;
    }
    PyObject *n = PyObject_CallOneArg(cdata_address, v->p);
    if (!n)
        return NULL;
    void *addr = PyLong_AsVoidPtr(n);
    Py_DECREF(n);
    if (!addr && !PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "the view points at NULL");
    v->addr = addr;
    return addr;
}

static PyObject *view_get_addr(PyObject *self, void *unused)
{
    void *addr = glupy_view_address(self);
    return addr ? PyLong_FromVoidPtr(addr) : NULL;
}

static PyObject *set_cdata_address(PyObject *unused, PyObject *fn)
{
    Py_XSETREF(cdata_address, Py_NewRef(fn));
    Py_RETURN_NONE;
}

static PyMethodDef view_functions[] = {
    {"_set_cdata_address", set_cdata_address, METH_O,
     "_set_cdata_address(fn): fn(cdata) -> the address it points at (glupy.types)"},
    {NULL, NULL, 0, NULL},
};

static PyObject *view_get_p(PyObject *self, void *unused)
{
    return view_cdata((glupy_view_t *)self);
}

static int view_set_p(PyObject *self, PyObject *value, void *unused)
{
    view_set_cdata((glupy_view_t *)self, value);
    return 0;
}

/* View(p): a view of the cdata pointer ``p`` (the classes in glupy.types that take
 * other arguments have their own __init__) */
static int view_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"p", NULL};
    PyObject *p;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:View", kwlist, &p))
        return -1;
    glupy_view_t *v = (glupy_view_t *)self;
    view_set_cdata(v, p);
    Py_CLEAR(v->keep);
    return 0;
}

/* views are equal when they are of the same class and point at the same struct */
static PyObject *view_richcompare(PyObject *self, PyObject *other, int op)
{
    if ((op != Py_EQ && op != Py_NE) || Py_TYPE(other) != Py_TYPE(self))
        Py_RETURN_NOTIMPLEMENTED; /* then == is identity: False for another class */
    glupy_view_t *a = (glupy_view_t *)self, *b = (glupy_view_t *)other;
    if (!a->p && !b->p) /* both still C pointers */
        return PyBool_FromLong((a->ptr == b->ptr) == (op == Py_EQ)); /* as cdata compare */
    PyObject *pa = view_cdata_or_none(a);
    PyObject *pb = pa ? view_cdata_or_none(b) : NULL;
    PyObject *result = pa && pb ? PyObject_RichCompare(pa, pb, op) : NULL;
    Py_XDECREF(pa);
    Py_XDECREF(pb);
    return result;
}

static Py_hash_t view_hash(PyObject *self)
{
    glupy_view_t *v = (glupy_view_t *)self;
    PyObject *p = view_cdata_or_none(v);
    if (!p)
        return -1;
    Py_hash_t h = PyObject_Hash(p);
    Py_DECREF(p);
    return h;
}

static PyObject *view_detach(PyObject *self, PyObject *unused)
{
    int (*detach)(PyObject *) = core->detach_view;
    if (detach && detach(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* the bridge owns a reference or copy for this view (tests, and `glupy check`) */
static PyObject *view_owns(PyObject *self, void *unused)
{
    return PyBool_FromLong(((glupy_view_t *)self)->release != NULL);
}

static PyMethodDef view_methods[] = {
    {"_detach", view_detach, METH_NOARGS,
     "take a reference or copy of what the view points at (inside GlusterFS)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef view_getset[] = {
    {"_p", view_get_p, view_set_p, "the cdata pointer", NULL},
    {"_owns", view_owns, NULL, "the view holds a reference or copy the bridge took", NULL},
    {"_addr", view_get_addr, NULL, "the address of the struct the view points at (int)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef view_members[] = {
    {"_keep", T_OBJECT, offsetof(glupy_view_t, keep), 0,
     "what keeps the pointed-at memory alive (a gc'd cdata), or None"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_view_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core.View",
    .tp_basicsize = sizeof(glupy_view_t),
    .tp_dealloc = view_dealloc,
    .tp_hash = view_hash,
    .tp_richcompare = view_richcompare,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "View(p)\n--\n\n"
              "The storage of every view of a GlusterFS struct (glupy.types adds the rest).",
    .tp_traverse = view_traverse,
    .tp_clear = view_clear,
    .tp_methods = view_methods,
    .tp_members = view_members,
    .tp_getset = view_getset,
    .tp_init = view_init,
    .tp_new = PyType_GenericNew,
};

static int instance_view_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((glupy_instance_view_t *)self)->inst);
    return view_traverse(self, visit, arg);
}

static int instance_view_clear(PyObject *self)
{
    Py_CLEAR(((glupy_instance_view_t *)self)->inst);
    return view_clear(self);
}

static void instance_view_dealloc(PyObject *self)
{
    view_free(self, instance_view_clear);
}

static int instance_view_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"p", "inst", NULL};
    PyObject *p, *inst = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:InstanceView", kwlist, &p, &inst))
        return -1;
    glupy_instance_view_t *v = (glupy_instance_view_t *)self;
    view_set_cdata(&v->view, p);
    Py_CLEAR(v->view.keep);
    Py_XSETREF(v->inst, Py_NewRef(inst));
    return 0;
}

static PyMemberDef instance_view_members[] = {
    {"_inst", T_OBJECT, offsetof(glupy_instance_view_t, inst), 0,
     "the translator instance (glupy.runtime.driver.Instance), or None"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_instance_view_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core.InstanceView",
    .tp_basicsize = sizeof(glupy_instance_view_t),
    .tp_dealloc = instance_view_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The storage of views that need the translator instance (Loc, Fd, Inode).",
    .tp_traverse = instance_view_traverse,
    .tp_clear = instance_view_clear,
    .tp_members = instance_view_members,
    .tp_init = instance_view_init,
};

static int dirents_view_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((glupy_dirents_view_t *)self)->entries);
    return instance_view_traverse(self, visit, arg);
}

static int dirents_view_clear(PyObject *self)
{
    Py_CLEAR(((glupy_dirents_view_t *)self)->entries);
    return instance_view_clear(self);
}

static void dirents_view_dealloc(PyObject *self)
{
    view_free(self, dirents_view_clear);
}

static PyMemberDef dirents_view_members[] = {
    {"_entries", T_OBJECT, offsetof(glupy_dirents_view_t, entries), 0,
     "the entries as glupy.Dirent, once read (None before)"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_dirents_view_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core.DirentsView",
    .tp_basicsize = sizeof(glupy_dirents_view_t),
    .tp_dealloc = dirents_view_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The storage of glupy.Dirents.",
    .tp_traverse = dirents_view_traverse,
    .tp_clear = dirents_view_clear,
    .tp_members = dirents_view_members,
};

static int child_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((glupy_child_t *)self)->xl);
    return 0;
}

static int child_clear(PyObject *self)
{
    Py_CLEAR(((glupy_child_t *)self)->xl);
    return 0;
}

static void child_dealloc(PyObject *self)
{
    PyObject_GC_UnTrack(self);
    child_clear(self);
    Py_TYPE(self)->tp_free(self);
}

static PyMemberDef child_members[] = {
    {"xl", T_OBJECT, offsetof(glupy_child_t, xl), 0,
     "the subvolume's xlator_t * (cdata), or None outside GlusterFS"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_child_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._core.Child",
    .tp_basicsize = sizeof(glupy_child_t),
    .tp_dealloc = child_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The storage of glupy.Child (which adds the fop methods).",
    .tp_traverse = child_traverse,
    .tp_clear = child_clear,
    .tp_members = child_members,
    .tp_new = PyType_GenericNew,
};

int glupy_view_module_init(PyObject *module, glupy_core_api_t *api)
{
    core = api;
    glupy_instance_view_type.tp_base = &glupy_view_type;
    glupy_dirents_view_type.tp_base = &glupy_instance_view_type;
    api->view = &glupy_view_type;
    api->view_p = view_p;
    api->instance_view = &glupy_instance_view_type;
    api->dirents_view = &glupy_dirents_view_type;
    api->child = &glupy_child_type;
    if (PyModule_AddFunctions(module, view_functions) < 0)
        return -1;
    if (glupy_core_add_type(module, &glupy_view_type, "View") < 0 ||
        glupy_core_add_type(module, &glupy_instance_view_type, "InstanceView") < 0 ||
        glupy_core_add_type(module, &glupy_dirents_view_type, "DirentsView") < 0)
        return -1;
    return glupy_core_add_type(module, &glupy_child_type, "Child");
}
