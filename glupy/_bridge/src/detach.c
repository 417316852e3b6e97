/* Detaching: a view of a fop's argument or of a child's reply points into memory
 * its caller owns, valid only for that call.  When the coroutine keeps it longer
 * (it suspends while the caller goes on; a reply kept across another wind), the
 * view takes a reference (inode, fd, dict) or a copy (loc, iatt, flock, statvfs,
 * lease) that it owns: glupy._core's view frees it with the release function set
 * here (core.h, glupy_view_t).  Done in C, by the view's kind, without a Python call
 * per view; Vector (its iobref, in glupy._core) and Dirents (its entries, in Python)
 * detach themselves. */

#include "glupy.h"

static const int glupy_view_ct[GLUPY_NUM_VIEWS] = {
    [GLUPY_V_LOC] = GLUPY_V_LOC_CT,         [GLUPY_V_FD] = GLUPY_V_FD_CT,
    [GLUPY_V_INODE] = GLUPY_V_INODE_CT,     [GLUPY_V_DICT] = GLUPY_V_DICT_CT,
    [GLUPY_V_IATT] = GLUPY_V_IATT_CT,       [GLUPY_V_FLOCK] = GLUPY_V_FLOCK_CT,
    [GLUPY_V_STATVFS] = GLUPY_V_STATVFS_CT, [GLUPY_V_LEASE] = GLUPY_V_LEASE_CT,
    [GLUPY_V_DIRENTS] = GLUPY_V_DIRENTS_CT,
};

static void glupy_release_loc(void *loc)
{
    loc_wipe(loc);
    free(loc);
}

static void glupy_release_inode(void *inode)
{
    inode_unref(inode);
}

static void glupy_release_fd(void *fd)
{
    fd_unref(fd);
}

static void glupy_release_dict(void *dict)
{
    dict_unref(dict);
}

/* the GLUPY_V_* kind of a view's class (the classes glupy.runtime.driver handed
 * over, or a subclass of one), or -1 */
static int glupy_view_kind(PyObject *view)
{
    PyTypeObject *tp = Py_TYPE(view);
    for (int k = 0; k < GLUPY_NUM_VIEWS; k++)
        if ((PyObject *)tp == G.view_cls[k])
            return k;
    for (int k = 0; k < GLUPY_NUM_VIEWS; k++)
        if (PyType_IsSubtype(tp, (PyTypeObject *)G.view_cls[k]))
            return k;
    return -1;
}

int glupy_view_detach(PyObject *view)
{
    int kind = glupy_view_kind(view);
    if (kind < 0 || kind == GLUPY_V_DIRENTS)
        return 1;
    glupy_view_t *v = (glupy_view_t *)view;
    int ct = glupy_view_ct[kind];
    void *p = NULL;
    /* no pointer, or one whose memory the view's _keep owns (Loc.with_name, ...) */
    if (v->keep && v->keep != Py_None)
        return 0;
    if (glupy_view_ptr(v, ct, &p) < 0)
        return -1;
    if (!p || (v->release && v->owned == p))
        return 0; /* nothing, or already its own */
    void *owned = p;
    void (*release)(void *) = NULL;
    size_t size = 0; /* > 0: a struct copied */
    switch (kind) {
    case GLUPY_V_LOC: {
        loc_t *copy = calloc(1, sizeof(*copy));
        if (!copy || loc_copy(copy, p) != 0) {
            if (copy)
                glupy_release_loc(copy);
            PyErr_NoMemory();
            return -1;
        }
        owned = copy;
        release = glupy_release_loc;
        break;
    }
    case GLUPY_V_FD:
        fd_ref(p);
        release = glupy_release_fd;
        break;
    case GLUPY_V_INODE:
        inode_ref(p);
        release = glupy_release_inode;
        break;
    case GLUPY_V_DICT:
        dict_ref(p);
        release = glupy_release_dict;
        break;
    case GLUPY_V_IATT:
        size = sizeof(struct iatt);
        break;
    case GLUPY_V_FLOCK:
        size = sizeof(struct gf_flock);
        break;
    case GLUPY_V_STATVFS:
        size = sizeof(struct statvfs);
        break;
    case GLUPY_V_LEASE:
        size = sizeof(struct gf_lease);
        break;
    default:
        return 1;
    }
    if (size) {
        owned = malloc(size);
        if (!owned) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(owned, p, size);
        release = free;
    }
    if (owned != p) { /* the view points at its copy from now on (its cdata made if read) */
        Py_CLEAR(v->p);
        v->addr = NULL;
        v->ptr = owned;
        v->ct = ct;
    }
    /* what it owned before (Python set another _p since): dropped */
    void (*old_release)(void *) = v->release;
    void *old = v->owned;
    v->owned = owned;
    v->release = release;
    if (old_release)
        old_release(old);
    return 0;
}

void glupy_detach_args(PyObject **args, int nargs)
{
    for (int i = 0; i < nargs; i++)
        if (args[i] && G.core->detach_value(args[i]) < 0)
            PyErr_WriteUnraisable(args[i]);
}

void glupy_detach_reply(PyObject *result)
{
    PyObject *reply = result;
    if (PyObject_TypeCheck(result, G.core->fop_error))
        reply = ((glupy_fop_error_t *)result)->reply;
    /* glupy._core's Reply._detach: each field read, then its view detached here */
    if (reply && PyObject_TypeCheck(reply, G.core->reply) && G.core->detach_reply(reply) < 0)
        PyErr_WriteUnraisable(reply);
}

void glupy_tail_take_releases(glupy_tail_t *tail, PyObject *hold)
{
    /* only views that go with the tuple: one kept elsewhere stays valid anyway */
    if (!PyTuple_CheckExact(hold) || Py_REFCNT(hold) != 1)
        return;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(hold); i++) {
        PyObject *a = PyTuple_GET_ITEM(hold, i);
        if (Py_REFCNT(a) != 1 || !PyObject_TypeCheck(a, G.core->view))
            continue;
        glupy_view_t *v = (glupy_view_t *)a;
        if (!v->release || tail->nreleases >= GLUPY_ENTRY_ARGS_MAX)
            continue;
        tail->owned[tail->nreleases] = v->owned;
        tail->release[tail->nreleases++] = v->release;
        v->owned = NULL;
        v->release = NULL;
    }
}

void glupy_tail_releases(glupy_tail_t *tail)
{
    int n = tail->nreleases;
    tail->nreleases = 0;
    for (int i = 0; i < n; i++)
        tail->release[i](tail->owned[i]);
}
