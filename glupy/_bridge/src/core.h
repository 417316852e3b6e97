/* glupy._core: the types every fop handled in Python goes through, defined once
 * (core.c and a source file per type: core-module.h lists them) and shared by the
 * bridge's task engine (task.c, types.c) and plain Python (glupy.translator
 * re-exports them; tests and `glupy check` use the same compiled types outside
 * GlusterFS).
 *
 * glupy._core is an ordinary CPython extension module, without GlusterFS: the
 * bridge reaches its types through the capsule GLUPY_CORE_CAPSULE
 * (glupy_core_import), and reads their fields through the structs below.
 */
#ifndef GLUPY_CORE_H
#define GLUPY_CORE_H

#include <Python.h>

#define GLUPY_CORE_CAPSULE "glupy._core._C_API"
/* bumped when a struct below or glupy_core_api_t changes: a bridge and a
   glupy._core built from different sources refuse each other */
#define GLUPY_CORE_ABI 11

/* -------------------------------------------------------- free threading */
/* GLUPY_FREE_THREADED: state shared between threads is guarded without the GIL.
 * A free-threaded CPython's headers define Py_GIL_DISABLED, which turns it on;
 * GLUPY_FREE_THREADED=1 in the build's environment (setup.py, glupy._build) turns it
 * on with a GIL too, so that a GIL interpreter runs the same code
 * (tests/bridge/test_free_threaded_switch.py).  What it covers and what is still
 * missing: bench/ANALYSIS.md, "Free-threaded CPython". */
#ifndef GLUPY_FREE_THREADED
#ifdef Py_GIL_DISABLED
#define GLUPY_FREE_THREADED 1
#else
#define GLUPY_FREE_THREADED 0
#endif
#endif
#if defined(Py_GIL_DISABLED) && !GLUPY_FREE_THREADED
#error "a free-threaded CPython needs GLUPY_FREE_THREADED"
#endif

/* add ``n`` to a process-wide count: the GIL guards a plain add */
#if GLUPY_FREE_THREADED
#define glupy_count_add(p, n) ((void)__atomic_fetch_add((p), (n), __ATOMIC_RELAXED))
#else
#define glupy_count_add(p, n) ((void)(*(p) += (n)))
#endif

/* One object's own lock around a stretch that reads or changes it, such as a reply
 * that tasks on several threads may hold: CPython 3.13's critical sections, which
 * lock only without the GIL (and step aside while the thread waits or releases it);
 * before 3.13 there is always a GIL, and nothing to do. */
#ifdef Py_BEGIN_CRITICAL_SECTION
#define GLUPY_BEGIN_OBJECT_LOCK(op) Py_BEGIN_CRITICAL_SECTION(op)
#define GLUPY_END_OBJECT_LOCK() Py_END_CRITICAL_SECTION()
#else
#define GLUPY_BEGIN_OBJECT_LOCK(op) {
#define GLUPY_END_OBJECT_LOCK() }
#endif

/* ---------------------------------------------------------------- spares */
/* Objects freed and kept for the next allocation of their kind, which skips the
 * allocator (and the GC's bookkeeping) per fop: a free list of fixed capacity.
 * GLUPY_SPARES(cap) is the type of one that keeps up to ``cap``, e.g.
 *     static GLUPY_SPARES(8) glupy_raw_spares;
 * A list shared by threads is guarded by the GIL: without one (GLUPY_FREE_THREADED)
 * it keeps nothing, and what is freed goes back to the allocator.  A thread-local
 * list (glupy_thread_spares_*) is guarded by its thread.  The user checks what it
 * takes (a Python object the gc module handed out may have other references). */
#define GLUPY_SPARES(cap) struct { size_t n; void *item[cap]; }
#define GLUPY_SPARES_CAP(s) (sizeof((s)->item) / sizeof((s)->item[0]))
/* the last one kept, or NULL when none is */
#define glupy_spares_take(s) \
    (GLUPY_FREE_THREADED ? NULL : glupy_spares_take_(&(s)->n, (s)->item))
/* keep ``p`` (not NULL): 1, or 0 when full (the caller frees it) */
#define glupy_spares_keep(s, p) \
    (!GLUPY_FREE_THREADED && glupy_spares_keep_(&(s)->n, (s)->item, GLUPY_SPARES_CAP(s), (p)))
#define glupy_spares_full(s) (GLUPY_FREE_THREADED || (s)->n >= GLUPY_SPARES_CAP(s))
#define glupy_thread_spares_take(s) glupy_spares_take_(&(s)->n, (s)->item)
#define glupy_thread_spares_keep(s, p) \
    glupy_spares_keep_(&(s)->n, (s)->item, GLUPY_SPARES_CAP(s), (p))

static inline void *glupy_spares_take_(size_t *n, void **item)
{
    if (*n == 0)
        return NULL;
    void *p = item[--*n];
    if (!p) /* never: keep is never given NULL; tells the compiler so (callers test it) */
        __builtin_unreachable();
    return p;
}

static inline int glupy_spares_keep_(size_t *n, void **item, size_t cap, void *p)
{
    if (*n >= cap)
        return 0;
    item[(*n)++] = p;
    return 1;
}

/* glupy.FopError(errno, message=None, reply=None) */
typedef struct {
    PyException_HEAD
    PyObject *errno_;   /* int */
    PyObject *reply;    /* the child's error reply, or None */
    PyObject *message;  /* str or None: str() formats errno when None */
} glupy_fop_error_t;

/* glupy.Wind: a pending call to a child; ``await`` it for the reply.  A
 * Child.<fop>() call makes it, the engine issues it when the coroutine yields it. */
typedef struct {
    PyObject_HEAD
    PyObject *child; /* glupy.Child */
    PyObject *fop;   /* glupy.fops.Fop */
    PyObject *args;  /* tuple: the fop's wind arguments */
    int slot;        /* fop.slot, read when the wind is made (-1: fop is not a Fop) */
    /* glupy's await iterator yielded it (read and cleared by the engine): the
       coroutine is suspended in that iterator, which raises an exception it is sent */
    int awaited;
} glupy_wind_t;

/* glupy.Gather: several winds issued together (glupy.gather()) */
typedef struct {
    PyObject_HEAD
    PyObject *winds; /* tuple of glupy.Wind */
    int return_exceptions;
    int awaited; /* as glupy_wind_t's */
} glupy_gather_t;

/* glupy.Reply, the base of every fop's reply class (glupy.replies).  A child's
 * reply keeps its callback's C arguments (raw) and makes a field's value only
 * when it is read (glupy._core.Field, through the API's reply_field), so a reply
 * passed on unchanged goes back to C without any conversion. */
typedef struct {
    PyObject_HEAD
    PyObject *raw;   /* _raw: the child's C arguments (glupy._raw), or None */
    PyObject *vals;  /* _vals: list of field values (_UNSET: not read yet), or None */
    PyObject *inst;  /* _inst: the translator instance (for views) */
    /* _dirty: False, the child's reply unchanged; an int, bit i set = field i
       replaced; True, every field is converted (built in Python, or detached) */
    PyObject *dirty;
    PyObject *op_ret, *op_errno;
} glupy_reply_t;

/* ------------------------------------------------------------ Vector (vector.c) */
#include <sys/uio.h>

/* What the bridge lends glupy._core at setup (core->iobufs): GlusterFS's iobufs,
 * for Vector.alloc and for Python memory passed to C.  iobrefs are struct iobref *. */
typedef struct {
    /* a new iobref holding a fresh iobuf of at least ``size`` bytes; ``iov`` points
       at it (iov_len = size); NULL when out of memory */
    void *(*alloc)(size_t size, struct iovec *iov);
    void *(*ref)(void *iobref);
    void (*unref)(void *iobref);
} glupy_iobuf_ops_t;

enum {
    GLUPY_VECTOR_OWNS_IOV = 1,    /* iov is PyMem_Malloc'd */
    GLUPY_VECTOR_OWNS_IOBREF = 2, /* holds a ref of iobref (released with the Vector) */
};

/* glupy.Vector: readv/writev data.  GlusterFS memory (data NULL): ``count`` iovecs
 * at ``iov`` and the iobref owning their buffers, kept alive by the Vector itself
 * (flags), by ``keep`` (the Vector it was narrowed from), or by nobody (a fop's
 * own arguments: valid until the fop unwinds, unless detached).  Python memory:
 * ``data``, bytes or a 1-D memoryview of bytes. */
typedef struct {
    PyObject_HEAD
    struct iovec *iov;
    int count;
    int flags;        /* GLUPY_VECTOR_OWNS_* */
    void *iobref;     /* struct iobref *, or NULL */
    PyObject *keep;   /* the owner of the memory, or NULL; alloc'd Python memory:
                         a memoryview of its bytearray (what writable() gives) */
    PyObject *data;   /* Python memory, or NULL */
    Py_ssize_t cap;   /* writable bytes from the data's start (alloc'd), -1: not writable */
    struct iovec one; /* iov when it is one iovec of its own */
} glupy_vector_t;

/* ------------------------------------------------ views and Child (view.c) */
/* The storage of glupy.types' views (Loc, Fd, Inode, Dict, Iatt, ...; the classes
 * there add the behaviour): a GlusterFS pointer as a cffi cdata.  A view of a fop's
 * argument or of a child's reply points into memory its caller owns, valid only
 * for that call; detaching it (glupy_core_api_t.detach_view, which the bridge sets)
 * takes a reference or a copy that the view then owns: ``release(owned)`` when the
 * view is freed. */
typedef struct {
    PyObject_HEAD
    PyObject *p;    /* _p: the cdata pointer (a copy's once detached), or None */
    PyObject *keep; /* _keep: a Python object that keeps *p alive (NULL reads as None) */
    void *owned;    /* the reference or copy the bridge took, or NULL */
    void (*release)(void *owned); /* drops it, once; GlusterFS code, GIL or not */
    /* a view the bridge made (p NULL): the pointer and the bridge's cffi type for
       it; _p's cdata is made from them when Python first reads it (core->view_cdata),
       so a view passed on to a wind never makes one.  Ignored once p is set. */
    void *ptr;
    int ct;
    /* for a p Python set (ptr NULL): the address it points at, once a CField or _addr
       asked (NULL: not yet); whoever sets or clears p clears it */
    void *addr;
} glupy_view_t;

/* glupy._core.InstanceView: views whose methods need the translator instance (Loc,
 * Fd, Inode: contexts, inode tables) */
typedef struct {
    glupy_view_t view;
    PyObject *inst; /* _inst: glupy.runtime.driver.Instance, or None */
} glupy_instance_view_t;

/* glupy._core.DirentsView: a readdir(p) listing */
typedef struct {
    glupy_instance_view_t base;
    PyObject *entries; /* _entries: list of glupy.Dirent once read (NULL reads as None) */
} glupy_dirents_view_t;

/* glupy._core.Child, the base of glupy.Child: the subvolume the engine winds to */
typedef struct {
    PyObject_HEAD
    PyObject *xl; /* xl: its xlator_t * (cdata), or None outside GlusterFS */
} glupy_child_t;

typedef struct {
    int abi;
    int free_threaded; /* GLUPY_FREE_THREADED: the bridge's must match */
    PyTypeObject *fop_error;
    PyTypeObject *reply;
    PyTypeObject *vector;
    PyTypeObject *wind, *gather;
    /* what Wind.__await__/Gather.__await__ return: its first step yields the wind
       or gather, its second returns the value sent (raises it if an exception) */
    PyTypeObject *await_iter;
    /* what glupy._core._hand_over(obj) was last given (a new reference), for the
       bridge to take: Python objects reach the bridge here, not as id() */
    PyObject *handed_over;
    /* a child's reply field from its callback's C arguments ``raw`` (glupy._raw),
       ``cidx`` their indices, ``kind`` the field's (glupy.fops): a new reference, or
       NULL with an exception set.  The bridge's conversion (set at setup; NULL
       outside GlusterFS, where no reply has C arguments) */
    PyObject *(*reply_field)(PyObject *raw, PyObject *cidx, PyObject *kind, PyObject *inst);
    /* Vector (vector.c): the bridge sets iobufs at setup (NULL outside GlusterFS) */
    const glupy_iobuf_ops_t *iobufs;
    /* a new Vector over ``count`` iovecs of GlusterFS memory, as valid as they are */
    PyObject *(*vector_over)(struct iovec *iov, int count, void *iobref);
    /* ``value`` (a Vector, or anything bytes() takes) as a new reference to a Vector
       over GlusterFS memory: itself, or its bytes copied into a new iobuf */
    PyObject *(*vector_in_iobuf)(PyObject *value);
    /* views and Child (see above) */
    PyTypeObject *view, *instance_view, *dirents_view, *child;
    /* set by the bridge at its setup (NULL outside GlusterFS): make ``view``
       independent of its caller's memory.  0 done, 1 not a view the bridge detaches
       in C (the caller leaves it as it is), -1 with an exception set. */
    int (*detach_view)(PyObject *view);
    /* set by the bridge at its setup: the cdata of a view's ``ptr`` (its ``ct``), for
       _p; a new reference, or NULL with an exception set */
    PyObject *(*view_cdata)(void *ptr, int ct);
    /* a view's _p (a new reference): its cdata, made once under the view's lock if
       it still has only the bridge's pointer, or NULL with an exception set
       (glupy._core's own) */
    PyObject *(*view_p)(PyObject *view);
    /* Reply._detach: 0, or -1 with an exception set (glupy._core's own) */
    int (*detach_reply)(PyObject *reply);
    /* any value a fop or a reply holds made independent of its caller's memory: a
       view by detach_view, anything else with a _detach() (Vector, Dirents) by it;
       0, or -1 with an exception set (glupy._core's own) */
    int (*detach_value)(PyObject *value);
} glupy_core_api_t;

/* The API of the glupy._core that the running interpreter imports (new
 * reference kept for the life of the process), or NULL with an exception set. */
static inline glupy_core_api_t *glupy_core_import(void)
{
    glupy_core_api_t *api = PyCapsule_Import(GLUPY_CORE_CAPSULE, 0);
    if (api && api->abi != GLUPY_CORE_ABI) {
        PyErr_Format(PyExc_ImportError, "glupy._core has ABI %d, the bridge expects %d: "
                     "rebuild both (python -m glupy._build)", api->abi, GLUPY_CORE_ABI);
        return NULL;
    }
    if (api && api->free_threaded != GLUPY_FREE_THREADED) {
        PyErr_Format(PyExc_ImportError, "glupy._core was built %s GLUPY_FREE_THREADED, the "
                     "bridge %s: rebuild both (python -m glupy._build)",
                     api->free_threaded ? "with" : "without", GLUPY_FREE_THREADED ? "with" : "without");
        return NULL;
    }
    return api;
}

#endif
