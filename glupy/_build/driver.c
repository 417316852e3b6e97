/* The coroutine driver's hot path, in C (see glupy/runtime.py for the whole
 * story and docs/concepts.md for the design).
 *
 * A fop handled in Python is a task: the translator's coroutine plus the
 * frame to unwind.  This file creates tasks at fop entry, steps the coroutine
 * (the only Python that runs is the translator's own code), issues the winds
 * it awaits, turns the child's callback into a reply object and resumes the
 * task, and unwinds the reply.  Everything unusual -- a reply the translator
 * built or changed, an exception other than FopError, Python values that need
 * converting, detaching replies, glupy.Lock -- is handed to Python helpers
 * in glupy.runtime.  Measured reason for this file: the same state machine in
 * Python cost ~30 us per fop (bench/ANALYSIS.md).
 *
 * Concurrency: task state is only read and written with the GIL held and
 * without running Python code in between, so the GIL is the task lock
 * (CPython 3.11 has a GIL; a free-threaded build would need a mutex here).
 * The GIL is released while a wind or unwind runs in GlusterFS.
 */

#include <pthread.h>
#include <structmember.h>

/* CPython 3.11's frame layout, for glupy_finish_unhandled (compiled against the
 * interpreter's own internal header; other versions raise as usual) */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 && \
    __has_include(<internal/pycore_frame.h>)
#define Py_BUILD_CORE 1
#include <internal/pycore_frame.h>
#undef Py_BUILD_CORE
#include <opcode.h>
#define GLUPY_FINISH_UNHANDLED 1
#endif

typedef struct {
    /* the Python class defines notify(): route events through Python */
    int py_notify;
    struct xlator_fops *fops;
    struct xlator_cbks *cbks;
    PyObject *inst;    /* glupy.runtime.Instance */
    PyObject *methods; /* list: slot -> bound method (or None) */
    struct glupy_miss_cache *miss_cache; /* consulted by the lookup entry (misscache.c) */
    struct glupy_attr_cache *attr_cache; /* lookup/stat/fstat entries (attrcache.c) */
} glupy_private_t;

enum { GLUPY_RUNNING, GLUPY_WINDING, GLUPY_WAITING, GLUPY_READY, GLUPY_DONE };
#define GLUPY_MAX_NESTING 24 /* synchronous replies resumed in place up to this depth */

typedef struct glupy_task glupy_task_t;

typedef struct {
    glupy_task_t *task;
    int index;
    PyObject *keep; /* Python objects the converted wind arguments point into */
    PyObject *hold; /* a tail wind's argument tuple, alive until its callback */
} glupy_wind_rec_t;

struct glupy_task {
    int refs; /* the entry, each wind in flight, a parked Lock waiter, a resumer */
    int slot;
    int state;
    int depth;
    int remaining;
    int nwinds;
    int return_exceptions;
    int gathering;
    int c_await; /* the coroutine last suspended in glupy_await_send */
    unsigned gen;
    unsigned long thread; /* the thread that issued the winds */
    call_frame_t *frame;
    xlator_t *this;
    PyObject *inst;
    PyObject *coro;
    PyObject **results;
    glupy_wind_rec_t *recs;
    PyObject *result1; /* inline storage for the common single wind */
    glupy_wind_rec_t rec1;
};

typedef int (*glupy_winder_t)(call_frame_t *, xlator_t *, glupy_wind_rec_t *, PyObject *);
/* the last argument: unwind as the tail of an entry/callback (see glupy_tail_t) */
typedef int (*glupy_raw_unwinder_t)(call_frame_t *, int32_t, int32_t, PyObject *, int);
typedef int (*glupy_part_unwinder_t)(call_frame_t *, int32_t, int32_t, PyObject *, PyObject *,
                                     unsigned long, glupy_wind_rec_t *);

/* filled in by the generated code (codegen.py) */
static glupy_winder_t glupy_winders[GLUPY_NUM_SLOTS];
static glupy_raw_unwinder_t glupy_raw_unwinders[GLUPY_NUM_SLOTS];
static glupy_part_unwinder_t glupy_part_unwinders[GLUPY_NUM_SLOTS];
static void glupy_unwind_error(int slot, call_frame_t *frame, int32_t op_errno);

/* Python objects the driver uses, handed over once by glupy.runtime.attach() */
static struct {
    PyObject *fop_error, *wind_type, *gather_type, *acquire_type, *vector_type;
    PyObject *reply_cls[GLUPY_NUM_SLOTS];
    PyObject *child_type, *fop_type;
    PyObject *view_cls[GLUPY_NUM_VIEWS];
    PyObject *ctypes[GLUPY_NUM_CTYPES];
    /* helpers in glupy.runtime */
    PyObject *finish_slow, *fail_slow, *crash, *detach, *to_c, *acquire, *wind_failed;
    /* slot offsets (member descriptors of __slots__) */
    Py_ssize_t view_p[GLUPY_NUM_VIEWS], view_inst[GLUPY_NUM_VIEWS];
    Py_ssize_t dirents_entries;
    Py_ssize_t r_raw, r_vals, r_inst, r_dirty, r_op_ret, r_op_errno;
    Py_ssize_t w_child, w_fop, w_args, g_winds, g_return_exceptions, a_lock, child_xl, f_slot;
    Py_ssize_t e_errno, e_reply, e_message;
    Py_ssize_t v_iov, v_count, v_iobref, v_data, v_keep, v_cap;
    PyObject *empty_tuple;
    PyObject *s_throw;
} G;

/* initial-exec: a plain %fs access instead of a __tls_get_addr call per use */
static __thread glupy_task_t *glupy_current __attribute__((tls_model("initial-exec")));
static long glupy_tasks_live; /* under the GIL; reported by `glupy status` */
static long glupy_unhandled_finished; /* failed fops finished by glupy_finish_unhandled */

#define SLOT(obj, off) (*(PyObject **)((char *)(obj) + (off)))

/* a borrowed slot value, NULL when unset */
static inline PyObject *glupy_get_slot(PyObject *obj, Py_ssize_t off)
{
    return SLOT(obj, off);
}

/* stores a new reference; the old value (NULL on fresh objects) is dropped */
static inline void glupy_set_slot(PyObject *obj, Py_ssize_t off, PyObject *value)
{
    PyObject *old = SLOT(obj, off);
    SLOT(obj, off) = value;
    Py_XDECREF(old);
}

static inline unsigned long glupy_thread_id(void)
{
    return (unsigned long)pthread_self();
}

/* ------------------------------------------------------------ C -> Python */

static inline PyObject *glupy_ptr(const void *p, int ct)
{
    return _cffi_from_c_pointer((char *)p, (struct _cffi_ctypedescr *)G.ctypes[ct]);
}

/* A view of a C pointer (None for NULL), built without running Python. */
static PyObject *glupy_view(int kind, int ct, void *p, PyObject *inst)
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

static PyObject *glupy_str(const char *p)
{
    if (!p)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(p, strlen(p), "surrogateescape");
}

/* A glupy.Vector made in C (its __slots__ set by offset, no __init__ frame) from new
 * references, stolen: _iov, _count, _iobref, _keep, _cap (_data is None).  NULL if
 * one of them is (the others dropped), or if out of memory. */
static PyObject *glupy_new_vector(PyObject *iov, PyObject *count, PyObject *iobref,
                                  PyObject *keep, PyObject *cap)
{
    PyObject *items[6] = {iov, count, iobref, keep, cap, Py_NewRef(Py_None)};
    Py_ssize_t offs[6] = {G.v_iov, G.v_count, G.v_iobref, G.v_keep, G.v_cap, G.v_data};
    int ok = iov && count && iobref && keep && cap;
    PyTypeObject *cls = (PyTypeObject *)G.vector_type;
    PyObject *v = ok ? cls->tp_alloc(cls, 0) : NULL;
    for (int i = 0; i < 6; i++) {
        if (v)
            glupy_set_slot(v, offs[i], items[i]);
        else
            Py_XDECREF(items[i]);
    }
    return v;
}

/* A fop argument's Vector (the iovecs a writev got) */
static PyObject *glupy_vector(struct iovec *iov, int32_t count, struct iobref *iobref)
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

/* Python's conversion (glupy.runtime._to_c) for what is not a plain view. */
static PyObject *glupy_to_c_py(const char *kind, PyObject *value, glupy_wind_rec_t *rec)
{
    PyObject *keep = glupy_keep(rec);
    if (!keep)
        return NULL;
    return PyObject_CallFunction(G.to_c, "sOO", kind, value, keep);
}

static int glupy_cdata_ptr(PyObject *cdata, int ct, void **out)
{
    char *p = _cffi_to_c_pointer(cdata, (struct _cffi_ctypedescr *)G.ctypes[ct]);
    if (!p && PyErr_Occurred())
        return -1;
    *out = p;
    return 0;
}

/* Is ``v`` a Vector over GlusterFS memory (a child's buffers, Vector.alloc's)?  Then
 * 1 with its iovecs and their count; else 0 (Python memory or anything unusual: the
 * caller leaves it to Python), no error pending. */
static int glupy_vector_mem(PyObject *v, struct iovec **iov, long *count)
{
    if ((PyObject *)Py_TYPE(v) != G.vector_type || glupy_get_slot(v, G.v_data) != Py_None)
        return 0;
    PyObject *piov = glupy_get_slot(v, G.v_iov), *pcount = glupy_get_slot(v, G.v_count);
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
static int glupy_arg_view(PyObject *value, int kind, int ct, const char *kname,
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
static int glupy_arg_other(PyObject *value, int ct, const char *kname, glupy_wind_rec_t *rec,
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

static int glupy_arg_vector(PyObject *value, glupy_wind_rec_t *rec, struct iovec **iov,
                            int32_t *count, struct iobref **iobref)
{
    /* the common case, a Vector over GlusterFS memory (a child's, or Vector.alloc's):
     * its iovecs as they are; the Vector, kept until the call returns, keeps them and
     * its iobref ref alive (what runtime._c_vector does, without the Python call) */
    long n;
    if (glupy_vector_mem(value, iov, &n)) {
        PyObject *pref = glupy_get_slot(value, G.v_iobref);
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

static int glupy_arg_int(PyObject *value, long long *out)
{
    long long v = PyLong_AsLongLong(value);
    if (v == -1 && PyErr_Occurred())
        return -1;
    *out = v;
    return 0;
}

static int glupy_arg_uint(PyObject *value, unsigned long long *out)
{
    unsigned long long v = PyLong_AsUnsignedLongLong(value);
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------ a reply's raw C arguments */
/* A child's reply keeps its callback's C arguments as they are (Reply._raw): a
 * small sequence made without a cffi object per pointer.  ``raw[i]`` makes the
 * cdata (or int) of argument i when Python reads a field (glupy.runtime's
 * CONVERTERS; an unchanged reply unwound through cffi, *raw); the C unwinders read
 * the values directly. */
#define GLUPY_RAW_MAX 6
enum { GLUPY_RAW_INT = -1, GLUPY_RAW_UINT = -2 }; /* else a GLUPY_CT_* pointer type */

typedef struct {
    PyObject_HEAD
    int n;
    const signed char *kinds; /* per argument: GLUPY_RAW_INT/UINT or the ctype index */
    union {
        void *p;
        long long i;
        unsigned long long u;
    } v[GLUPY_RAW_MAX];
} glupy_raw_t;

static PyTypeObject glupy_raw_type;

static PyObject *glupy_raw_new(int n, const signed char *kinds)
{
    glupy_raw_t *r = PyObject_New(glupy_raw_t, &glupy_raw_type);
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
    PyObject_Free(self);
}

static PySequenceMethods glupy_raw_seq = {.sq_length = glupy_raw_len, .sq_item = glupy_raw_item};

static PyTypeObject glupy_raw_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._raw",
    .tp_basicsize = sizeof(glupy_raw_t),
    .tp_dealloc = glupy_raw_dealloc,
    .tp_as_sequence = &glupy_raw_seq,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "a child's reply arguments as its callback got them",
};

static inline int glupy_raw_check(PyObject *raw, int n)
{
    return Py_IS_TYPE(raw, &glupy_raw_type) && ((glupy_raw_t *)raw)->n == n;
}

/* argument i of a reply's raw C arguments (checked with glupy_raw_check) */
#define GLUPY_RAW(raw, i) (((glupy_raw_t *)(raw))->v[i])

/* ------------------------------------------------------------------ tasks */

/* finished tasks kept for reuse (under the GIL): saves a calloc/free per fop */
#define GLUPY_TASK_CACHE 64
static glupy_task_t *glupy_task_cache[GLUPY_TASK_CACHE];
static int glupy_task_cached;

static glupy_task_t *glupy_task_new(void)
{
    glupy_task_t *t;
    if (glupy_task_cached > 0) {
        t = glupy_task_cache[--glupy_task_cached];
        memset(t, 0, sizeof(*t));
        return t;
    }
    return calloc(1, sizeof(glupy_task_t));
}

static void glupy_task_unref(glupy_task_t *t)
{
    if (--t->refs > 0)
        return;
    if (t->results != &t->result1) {
        free(t->results);
        free(t->recs);
    }
    PyObject *coro = t->coro, *inst = t->inst;
    glupy_tasks_live--;
    if (glupy_task_cached < GLUPY_TASK_CACHE)
        glupy_task_cache[glupy_task_cached++] = t;
    else
        free(t);
    Py_XDECREF(coro);
    Py_XDECREF(inst);
}

/* the coroutine is finished: drop it (its frame may hold big objects) */
static void glupy_task_done(glupy_task_t *t)
{
    PyObject *coro = t->coro;
    t->state = GLUPY_DONE;
    t->coro = NULL;
    Py_XDECREF(coro);
}

static int glupy_task_slots(glupy_task_t *t, int n)
{
    if (t->results != &t->result1) {
        free(t->results);
        free(t->recs);
    }
    t->results = &t->result1;
    t->recs = &t->rec1;
    t->nwinds = n;
    if (n > 1) {
        t->results = calloc(n, sizeof(*t->results));
        t->recs = calloc(n, sizeof(*t->recs));
        if (!t->results || !t->recs) {
            free(t->results);
            free(t->recs);
            t->results = &t->result1;
            t->recs = &t->rec1;
            t->nwinds = 0;
            PyErr_NoMemory();
            return -1;
        }
    } else {
        t->result1 = NULL;
        memset(&t->rec1, 0, sizeof(t->rec1));
    }
    return 0;
}

static PyObject *glupy_frame_obj(glupy_task_t *t)
{
    return glupy_ptr(t->frame, GLUPY_CT_FRAME);
}

/* Log the pending Python exception through glupy.runtime._crash and fail the
 * fop with EIO (the translator raised something other than FopError, or the
 * driver could not convert something). */
static void glupy_crash(glupy_task_t *t)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value)
        PyException_SetTraceback(value, tb);
    PyObject *frame = glupy_frame_obj(t);
    PyObject *r = NULL;
    if (frame && value)
        r = PyObject_CallFunction(G.crash, "OiOO", t->inst, t->slot, frame, value);
    if (!r) {
        PyErr_Print(); /* the helper itself failed: at least say something */
        Py_BEGIN_ALLOW_THREADS
        glupy_unwind_error(t->slot, t->frame, EIO);
        Py_END_ALLOW_THREADS
    }
    Py_XDECREF(r);
    Py_XDECREF(frame);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

/* ---------------------------------------------------- the tail unwind */
/* A fop's unwind must release the GIL (the parent runs arbitrary code), and the
 * entry or callback it happens in releases the GIL again when it returns: a
 * GIL release and take back (mutex, condition variable) only to release it
 * again right after.  So the unwind of a task that finishes inside an entry
 * (glupy_c_<fop>) or a callback (glupy_c_<fop>_cbk) is recorded here and done
 * as the last step of that function, after its Python work, with the GIL
 * released for good.  Still inside the child's callback: the reply's C
 * arguments are valid.  One per entry/callback (a second unwind, e.g. of a
 * task a glupy.Lock release resumed, is done at once as before); disarmed
 * (NULL) where nothing would do it: glupy_resume, and on threads that already
 * held the GIL. */
/* The same for a task's wind issued in an entry/callback (only a single wind, not a
 * gather's): the coroutine is suspended and the task waiting when the entry/callback
 * ends, so the wind is issued then, with the GIL released once instead of released
 * for the wind and taken back to return.  Its converted C arguments are kept here
 * (what they point at outlives the wind: GlusterFS memory, rec->keep, rec->hold). */
#define GLUPY_WARGS_MAX 128
typedef void (*glupy_do_wind_t)(call_frame_t *, xlator_t *, glupy_wind_rec_t *, const void *);

typedef struct {
    int set;
    int slot;
    call_frame_t *frame;
    int32_t op_ret, op_errno;
    PyObject *raw; /* the child's reply arguments, or NULL: glupy_unwind_error */
    glupy_do_wind_t wind; /* set: a wind, not an unwind */
    xlator_t *child;
    glupy_wind_rec_t *rec;
    _Alignas(16) unsigned char wargs[GLUPY_WARGS_MAX];
} glupy_tail_t;

static __thread glupy_tail_t *glupy_tail __attribute__((tls_model("initial-exec")));

static inline glupy_tail_t *glupy_tail_arm(glupy_tail_t *tail, int gs)
{
    glupy_tail_t *outer = glupy_tail;
    tail->set = 0;
    glupy_tail = gs ? tail : NULL;
    return outer;
}

/* The end of an entry/callback (GIL held): the recorded unwind, GIL released
 * first and not taken back; else the GIL released as glupy_gil_release. */
static void glupy_tail_run(glupy_tail_t *tail, glupy_tail_t *outer, int gs)
{
    glupy_tail = outer;
    if (!tail->set) {
        glupy_gil_release(gs);
        return;
    }
    if (tail->wind) {
        PyEval_SaveThread(); /* armed only when the entry/callback took the GIL (gs) */
        tail->wind(tail->frame, tail->child, tail->rec, tail->wargs);
        return;
    }
    int32_t op_errno = tail->op_errno;
    if (tail->raw) {
        if (glupy_raw_unwinders[tail->slot](tail->frame, tail->op_ret, op_errno, tail->raw, 1) == 0)
            return; /* the unwinder dropped raw and released the GIL */
        /* not expected: a clean reply's arguments came from C unchanged */
        PyErr_Clear();
        Py_DECREF(tail->raw);
        if (tail->op_ret >= 0 || op_errno <= 0)
            op_errno = EIO;
    }
    PyEval_SaveThread(); /* armed only when the entry/callback took the GIL (gs) */
    glupy_unwind_error(tail->slot, tail->frame, op_errno);
}

/* A single wind of a task: issued as the tail (1), or 0: the caller issues it now. */
static int glupy_tail_wind(call_frame_t *frame, xlator_t *child, glupy_wind_rec_t *rec,
                           glupy_do_wind_t wind, const void *wargs, size_t size,
                           PyObject *py_args)
{
    glupy_tail_t *tail = glupy_tail;
    if (!tail || tail->set || rec->task->gathering || size > GLUPY_WARGS_MAX)
        return 0;
    /* the views the arguments came from must outlive the STACK_WIND (a view the
       translator made may own what it points at): kept until the callback */
    Py_INCREF(py_args);
    rec->hold = py_args;
    tail->set = 1;
    tail->wind = wind;
    tail->frame = frame;
    tail->child = child;
    tail->rec = rec;
    memcpy(tail->wargs, wargs, size);
    return 1;
}

static int glupy_tail_set(glupy_task_t *t, int32_t op_ret, int32_t op_errno, PyObject *raw)
{
    glupy_tail_t *tail = glupy_tail;
    if (!tail || tail->set)
        return 0;
    tail->set = 1;
    tail->wind = NULL;
    tail->slot = t->slot;
    tail->frame = t->frame;
    tail->op_ret = op_ret;
    tail->op_errno = op_errno;
    Py_XINCREF(raw);
    tail->raw = raw;
    return 1;
}

/* Unwind the child's reply ``raw`` unchanged: as the tail, else now. */
static int glupy_unwind_raw(glupy_task_t *t, int32_t op_ret, int32_t op_errno, PyObject *raw)
{
    if (glupy_tail_set(t, op_ret, op_errno, raw))
        return 0;
    return glupy_raw_unwinders[t->slot](t->frame, op_ret, op_errno, raw, 0);
}

static void glupy_unwind_errno(glupy_task_t *t, int op_errno)
{
    if (glupy_tail_set(t, -1, op_errno, NULL))
        return;
    Py_BEGIN_ALLOW_THREADS
    glupy_unwind_error(t->slot, t->frame, op_errno);
    Py_END_ALLOW_THREADS
}

/* reply unchanged since the child sent it: its C arguments, else NULL */
static PyObject *glupy_clean_raw(PyObject *reply, int slot)
{
    if ((PyObject *)Py_TYPE(reply) != G.reply_cls[slot])
        return NULL;
    PyObject *raw = glupy_get_slot(reply, G.r_raw);
    PyObject *dirty = glupy_get_slot(reply, G.r_dirty);
    if (!raw || raw == Py_None || dirty != Py_False)
        return NULL;
    return raw;
}

/* A child's reply with some fields set (``_dirty``: an int, bit i = field i): the set
 * fields converted in C, the others as the child sent them.  -1 (nothing unwound, no
 * error pending): Python's _finish_slow does it. */
static int glupy_finish_part(glupy_task_t *t, PyObject *value)
{
    glupy_part_unwinder_t unwind = glupy_part_unwinders[t->slot];
    if (!unwind || (PyObject *)Py_TYPE(value) != G.reply_cls[t->slot])
        return -1;
    PyObject *raw = glupy_get_slot(value, G.r_raw);
    PyObject *dirty = glupy_get_slot(value, G.r_dirty);
    PyObject *vals = glupy_get_slot(value, G.r_vals);
    PyObject *ret = glupy_get_slot(value, G.r_op_ret);
    PyObject *err = glupy_get_slot(value, G.r_op_errno);
    if (!raw || raw == Py_None || !dirty || !PyLong_CheckExact(dirty) || !vals ||
        !PyList_CheckExact(vals) || !ret || !err)
        return -1;
    unsigned long mask = PyLong_AsUnsignedLong(dirty);
    long op_ret = PyLong_AsLong(ret);
    long op_errno = PyLong_AsLong(err);
    int r = -1;
    if (!PyErr_Occurred()) {
        glupy_wind_rec_t keep = {0}; /* what converted fields point into, until unwound */
        r = unwind(t->frame, op_ret, op_errno, raw, vals, mask, &keep);
        Py_XDECREF(keep.keep);
    }
    PyErr_Clear();
    return r;
}

/* The coroutine returned ``value``: unwind it. */
static void glupy_finish(glupy_task_t *t, PyObject *value)
{
    PyObject *raw = glupy_clean_raw(value, t->slot);
    if (raw) { /* the hot path: the child's reply, passed on unchanged */
        PyObject *ret = glupy_get_slot(value, G.r_op_ret);
        PyObject *err = glupy_get_slot(value, G.r_op_errno);
        long op_ret = ret ? PyLong_AsLong(ret) : -1;
        long op_errno = err ? PyLong_AsLong(err) : EIO;
        if (!PyErr_Occurred() && glupy_unwind_raw(t, op_ret, op_errno, raw) == 0)
            return;
        PyErr_Clear();
    } else if (glupy_finish_part(t, value) == 0) {
        return;
    }
    PyObject *frame = glupy_frame_obj(t);
    PyObject *r = frame ? PyObject_CallFunction(G.finish_slow, "OiOO", t->inst, t->slot, frame, value)
                        : NULL;
    Py_XDECREF(frame);
    if (!r)
        glupy_crash(t);
    Py_XDECREF(r);
}

/* The coroutine raised (exception pending). */
static void glupy_fail(glupy_task_t *t)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    /* the common case, a FopError instance as raised (no matching, no normalizing) */
    if (!value || (PyObject *)Py_TYPE(value) != G.fop_error) {
        if (!PyErr_GivenExceptionMatches(type, G.fop_error)) {
            PyErr_Restore(type, value, tb);
            glupy_crash(t);
            return;
        }
        PyErr_NormalizeException(&type, &value, &tb);
    }
    Py_XDECREF(tb);
    if (value && ((PyBaseExceptionObject *)value)->traceback)
        /* no traceback: it references the coroutine's frame, which references
           the exception -- a cycle per failed fop, left to the GC */
        PyException_SetTraceback(value, Py_None);
    /* FopError has __slots__ (errno, reply): read them directly */
    PyObject *reply = value ? glupy_get_slot(value, G.e_reply) : NULL;
    PyObject *err = value ? glupy_get_slot(value, G.e_errno) : NULL;
    Py_XINCREF(reply);
    Py_XINCREF(err);
    long op_errno = err ? PyLong_AsLong(err) : -1;
    if (PyErr_Occurred() || !reply) {
        PyErr_Clear();
        op_errno = EIO;
    } else if (op_errno <= 0) {
        op_errno = EIO;
    }
    if (!reply || reply == Py_None) {
        glupy_unwind_errno(t, op_errno);
    } else {
        PyObject *raw = glupy_clean_raw(reply, t->slot);
        if (!raw || glupy_unwind_raw(t, -1, op_errno, raw) != 0) {
            PyErr_Clear();
            PyObject *frame = glupy_frame_obj(t);
            PyObject *r = frame ? PyObject_CallFunction(G.fail_slow, "OiOO", t->inst, t->slot,
                                                        frame, value)
                                : NULL;
            Py_XDECREF(frame);
            if (!r) {
                PyErr_Clear();
                glupy_unwind_errno(t, op_errno);
            }
            Py_XDECREF(r);
        }
    }
    Py_XDECREF(reply);
    Py_XDECREF(err);
    Py_XDECREF(type);
    Py_XDECREF(value);
}

#ifdef GLUPY_FINISH_UNHANDLED
static PyTypeObject glupy_await_type;

/* Does an exception handler of ``code`` cover instruction ``index`` (code
 * units)?  The exception table format of CPython 3.11 (Objects/
 * exception_handling_notes.txt; ceval.c get_exception_handler): entries of
 * varints (6 bits a byte, 0x40 = more), the first byte of an entry marked 0x80:
 * start, size, target, depth/lasti. */
static int glupy_handler_covers(PyCodeObject *code, int index)
{
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(code->co_exceptiontable);
    const unsigned char *end = p + PyBytes_GET_SIZE(code->co_exceptiontable);
    while (p < end) {
        int v[2];
        for (int k = 0; k < 2; k++) {
            if (p >= end)
                return 1; /* malformed: assume covered (the slow path is always right) */
            int x = *p & 63;
            while (*p & 64) {
                if (++p >= end)
                    return 1;
                x = (x << 6) | (*p & 63);
            }
            p++;
            v[k] = x;
        }
        if (v[0] > index)
            return 0; /* sorted by start */
        if (index < v[0] + v[1])
            return 1;
        while (p < end && !(*p & 128))
            p++;
    }
    return 0;
}

/* The coroutine of ``t`` is suspended in ``await`` on a glupy wind (the C await
 * iterator) and is about to be sent ``exc``, that wind's FopError.  When no exception
 * handler (try/except/finally, with, async with) covers that await, the error
 * would only pass through the coroutine's frame on its way out: CPython would
 * build a frame object and a traceback entry for it (~1/3 of a failing Python
 * fop), and nothing in the translator could see it.  Then the coroutine is
 * marked finished instead -- its frame is cleared when the task drops it, as
 * for any finished coroutine -- and the fop fails with the error as if it had
 * been raised.  1 if so.  Not with a tracer or profiler set (they would miss
 * the exception event), nor for a coroutine awaiting another coroutine. */
static int glupy_finish_unhandled(glupy_task_t *t, PyObject *exc)
{
    /* only a child's plain FopError: anything else is a bug to report with the
       translator's traceback (glupy_crash) */
    if ((PyObject *)Py_TYPE(exc) != G.fop_error || !PyCoro_CheckExact(t->coro))
        return 0;
    PyThreadState *ts = PyThreadState_Get();
    if (ts->c_tracefunc || ts->c_profilefunc)
        return 0;
    PyCoroObject *coro = (PyCoroObject *)t->coro;
    if (coro->cr_frame_state != FRAME_SUSPENDED)
        return 0;
    _PyInterpreterFrame *f = (_PyInterpreterFrame *)coro->cr_iframe;
    PyCodeObject *code = f->f_code;
    _Py_CODEUNIT *first = _PyCode_CODE(code);
    int i = (int)(f->prev_instr - first);
    /* suspended in `await`: SEND then YIELD_VALUE, the awaited iterator on top of
       the stack -- ours, so the error is raised in this very frame */
    if (i < 1 || i >= Py_SIZE(code) || _Py_OPCODE(first[i]) != YIELD_VALUE ||
        _Py_OPCODE(first[i - 1]) != SEND || f->stacktop <= code->co_nlocalsplus ||
        Py_TYPE(f->localsplus[f->stacktop - 1]) != &glupy_await_type)
        return 0;
    if (glupy_handler_covers(code, i - 1) || glupy_handler_covers(code, i))
        return 0;
    coro->cr_frame_state = FRAME_COMPLETED;
    glupy_unhandled_finished++;
    return 1;
}
#else
static int glupy_finish_unhandled(glupy_task_t *t, PyObject *exc)
{
    return 0; /* another CPython: raised through the frame as usual */
}
#endif

/* One step of the coroutine: send ``value`` or throw ``exc`` (both stolen).
 * Returns PYGEN_NEXT (*out = what it awaits), PYGEN_RETURN (*out = result) or
 * PYGEN_ERROR (exception pending). */
static PySendResult glupy_step(glupy_task_t *t, PyObject *value, PyObject *exc, PyObject **out)
{
    glupy_task_t *outer = glupy_current;
    PySendResult r;
    glupy_current = t;
    int c_await = t->c_await;
    t->c_await = 0;
    if (!exc) {
        r = PyIter_Send(t->coro, value ? value : Py_None, out);
    } else if (c_await && glupy_finish_unhandled(t, exc)) {
        /* as the coroutine would have ended: this exception pending */
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        *out = NULL;
        r = PYGEN_ERROR;
    } else if (c_await) {
        /* suspended in our await iterator: it raises what it is sent when that
           is an exception, which saves coro.throw()'s lookups and arguments */
        r = PyIter_Send(t->coro, exc, out);
    } else {
        *out = PyObject_CallMethodOneArg(t->coro, G.s_throw, exc);
        if (*out) {
            r = PYGEN_NEXT;
        } else if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
            PyObject *type, *val, *tb;
            PyErr_Fetch(&type, &val, &tb);
            PyErr_NormalizeException(&type, &val, &tb);
            *out = val ? PyObject_GetAttrString(val, "value") : NULL;
            Py_XDECREF(type);
            Py_XDECREF(val);
            Py_XDECREF(tb);
            r = *out ? PYGEN_RETURN : PYGEN_ERROR;
        } else {
            r = PYGEN_ERROR;
        }
    }
    glupy_current = outer;
    Py_XDECREF(value);
    Py_XDECREF(exc);
    return r;
}

/* Make a reply independent of the child's memory (Python: Reply._detach). */
static void glupy_detach(PyObject *result)
{
    PyObject *r = PyObject_CallOneArg(G.detach, result);
    if (!r) {
        PyErr_WriteUnraisable(result);
    }
    Py_XDECREF(r);
}

static void glupy_deliver(glupy_task_t *t, int index, PyObject *result);

/* Wind ``w`` (a glupy.Wind) for result ``index``.  A wind that cannot be issued
 * (bad arguments) delivers the error to the coroutine instead. */
static void glupy_issue(glupy_task_t *t, int index, PyObject *w)
{
    glupy_wind_rec_t *rec = &t->recs[index];
    rec->task = t;
    rec->index = index;
    rec->keep = NULL;
    rec->hold = NULL;
    PyObject *child = glupy_get_slot(w, G.w_child);
    PyObject *fop = glupy_get_slot(w, G.w_fop);
    PyObject *args = glupy_get_slot(w, G.w_args);
    xlator_t *xl = NULL;
    long slot = -1;
    /* Fop.slot read by offset (Fop has __slots__): no attribute lookup per wind */
    if (fop && Py_IS_TYPE(fop, (PyTypeObject *)G.fop_type)) {
        PyObject *slot_obj = glupy_get_slot(fop, G.f_slot);
        if (slot_obj)
            slot = PyLong_AsLong(slot_obj);
    }
    if (PyErr_Occurred() || slot < 0 || slot >= GLUPY_NUM_SLOTS || !glupy_winders[slot] ||
        !args || !PyTuple_Check(args)) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "not a wind made by a glupy Child");
        goto failed;
    }
    if (child && (PyObject *)Py_TYPE(child) == G.child_type) {
        PyObject *cx = glupy_get_slot(child, G.child_xl);
        if (cx && cx != Py_None && glupy_cdata_ptr(cx, GLUPY_CT_XLATOR, (void **)&xl) < 0)
            goto failed;
    }
    if (!xl) {
        PyErr_Format(PyExc_TypeError, "%R is not a child of a running translator", child);
        goto failed;
    }
    t->refs++; /* the wind's: dropped by its callback */
    if (glupy_winders[slot](t->frame, xl, rec, args) == 0)
        return;
    t->refs--;
failed:;
    /* glupy.runtime._wind_failed turns it into the exception the coroutine sees */
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *e = PyObject_CallFunctionObjArgs(G.wind_failed, w, value ? value : Py_None, NULL);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    Py_CLEAR(rec->keep);
    if (!e) {
        PyErr_Clear();
        e = PyObject_CallFunction(PyExc_RuntimeError, "s", "cannot wind");
    }
    t->refs++;
    glupy_deliver(t, index, e);
    glupy_task_unref(t);
}

/* results -> what the coroutine gets (value, or exception to throw) */
static void glupy_collect(glupy_task_t *t, PyObject **value, PyObject **exc)
{
    *value = *exc = NULL;
    if (!t->gathering) {
        PyObject *r = t->results[0];
        t->results[0] = NULL;
        if (PyExceptionInstance_Check(r))
            *exc = r;
        else
            *value = r;
        return;
    }
    int n = t->nwinds;
    PyObject *list = PyList_New(n);
    for (int i = 0; i < n; i++) {
        PyObject *r = t->results[i];
        t->results[i] = NULL;
        if (!t->return_exceptions && !*exc && PyExceptionInstance_Check(r)) {
            Py_INCREF(r);
            *exc = r;
        }
        if (list)
            PyList_SET_ITEM(list, i, r);
        else
            Py_DECREF(r);
    }
    if (*exc || !list) {
        Py_XDECREF(list);
        if (!*exc) {
            PyObject *type, *val, *tb;
            PyErr_Fetch(&type, &val, &tb);
            *exc = val ? val : PyObject_CallNoArgs(PyExc_MemoryError);
            Py_XDECREF(type);
            Py_XDECREF(tb);
        }
        return;
    }
    *value = list;
}

/* Drive task ``t`` until it suspends or finishes.  ``value``/``exc`` are stolen.
 * ``live`` (borrowed) is a reply from a child's callback that is still on the
 * stack: its C memory is valid only until that callback returns, so it is
 * detached the moment the coroutine suspends again -- before anything can let
 * another thread resume it.  The caller holds a reference on ``t``. */
static void glupy_run(glupy_task_t *t, PyObject *value, PyObject *exc, PyObject *live)
{
    for (;;) {
        PyObject *out = NULL;
        PySendResult r = glupy_step(t, value, exc, &out);
        value = exc = NULL;
        if (r == PYGEN_RETURN) {
            t->state = GLUPY_DONE;
            glupy_finish(t, out);
            Py_DECREF(out);
            glupy_task_done(t);
            return;
        }
        if (r == PYGEN_ERROR) {
            t->state = GLUPY_DONE;
            glupy_fail(t);
            glupy_task_done(t);
            return;
        }
        if (live) {
            glupy_detach(live);
            live = NULL;
        }
        PyObject *tp = (PyObject *)Py_TYPE(out);
        unsigned gen;
        if (tp == G.wind_type) {
            if (glupy_task_slots(t, 1) < 0)
                goto bad;
            t->gathering = 0;
            t->remaining = 1;
            gen = ++t->gen;
            t->thread = glupy_thread_id();
            t->state = GLUPY_WINDING;
            glupy_issue(t, 0, out);
        } else if (tp == G.gather_type) {
            PyObject *winds = glupy_get_slot(out, G.g_winds);
            PyObject *rex = glupy_get_slot(out, G.g_return_exceptions);
            if (!winds || !PyTuple_Check(winds)) {
                PyErr_SetString(PyExc_TypeError, "malformed glupy.Gather");
                goto bad;
            }
            int n = (int)PyTuple_GET_SIZE(winds);
            if (n == 0) {
                Py_DECREF(out);
                value = PyList_New(0);
                continue;
            }
            if (glupy_task_slots(t, n) < 0)
                goto bad;
            t->gathering = 1;
            t->return_exceptions = rex && PyObject_IsTrue(rex) == 1;
            t->remaining = n;
            gen = ++t->gen;
            t->thread = glupy_thread_id();
            t->state = GLUPY_WINDING;
            Py_INCREF(winds);
            for (int i = 0; i < n; i++)
                glupy_issue(t, i, PyTuple_GET_ITEM(winds, i));
            Py_DECREF(winds);
        } else if (tp == G.acquire_type) {
            /* glupy.Lock: parked until Lock.release hands it over (glupy_resume) */
            PyObject *lock = glupy_get_slot(out, G.a_lock);
            t->gen++;
            t->state = GLUPY_WAITING;
            t->refs++; /* the waiter's */
            PyObject *got = PyObject_CallFunction(G.acquire, "OK", lock ? lock : Py_None,
                                                  (unsigned long long)(uintptr_t)t);
            Py_DECREF(out);
            if (!got) {
                t->refs--;
                t->state = GLUPY_RUNNING;
                PyObject *type, *val, *tb;
                PyErr_Fetch(&type, &val, &tb);
                PyErr_NormalizeException(&type, &val, &tb);
                Py_XDECREF(type);
                Py_XDECREF(tb);
                exc = val;
                continue;
            }
            int took = got == Py_True;
            Py_DECREF(got);
            if (!took)
                return; /* parked: the lock's release continues it */
            t->refs--;
            t->state = GLUPY_RUNNING;
            continue;
        } else {
            PyErr_Format(PyExc_TypeError,
                         "a glupy translator can only await child fops, glupy.gather() "
                         "or a glupy.Lock, not %R", out);
            goto bad;
        }
        Py_DECREF(out);
        /* who continues: a nested callback may have already moved the task on */
        if (t->gen != gen || (t->state != GLUPY_WINDING && t->state != GLUPY_READY))
            return;
        if (t->state == GLUPY_WINDING) {
            t->state = GLUPY_WAITING;
            return;
        }
        t->state = GLUPY_RUNNING;
        glupy_collect(t, &value, &exc);
        continue;
    bad:
        Py_XDECREF(out);
        {
            PyObject *type, *val, *tb;
            PyErr_Fetch(&type, &val, &tb);
            PyErr_NormalizeException(&type, &val, &tb);
            Py_XDECREF(type);
            Py_XDECREF(tb);
            exc = val ? val : PyObject_CallNoArgs(PyExc_MemoryError);
        }
    }
}

/* A child's reply (or a wind error) for result ``index`` (stolen). */
static void glupy_deliver(glupy_task_t *t, int index, PyObject *result)
{
    int detached = 0;
    for (;;) {
        int remaining = t->remaining - 1;
        if (remaining > 0 || (t->state == GLUPY_WINDING &&
                              (t->thread != glupy_thread_id() || t->depth >= GLUPY_MAX_NESTING))) {
            /* Another thread (or a later step) will use this result after our
               callback has returned: detach it BEFORE it becomes visible.
               Detaching runs Python (the GIL may change hands), so decide again. */
            if (!detached) {
                glupy_detach(result);
                detached = 1;
                continue;
            }
            t->results[index] = result;
            t->remaining = remaining;
            if (!remaining)
                t->state = GLUPY_READY;
            return;
        }
        break;
    }
    PyObject *value, *exc;
    t->remaining = 0;
    t->state = GLUPY_RUNNING;
    t->results[index] = result;
    Py_INCREF(result); /* stays valid as ``live`` while the task runs */
    glupy_collect(t, &value, &exc);
    t->depth++;
    glupy_run(t, value, exc, detached ? NULL : result);
    t->depth--;
    Py_DECREF(result);
}

/* ------------------------------------------------- entry and callback ends */

/* A fop entered Python: call the translator's method with the argument views
 * (``args``, stolen; a NULL entry means a conversion failed) and run it. */
static void glupy_start(xlator_t *this, int slot, call_frame_t *frame, PyObject **args, int nargs)
{
    glupy_private_t *priv = this->private;
    glupy_task_t *t = glupy_task_new();
    PyObject *coro = NULL;
    if (!t) {
        for (int i = 0; i < nargs; i++)
            Py_XDECREF(args[i]);
        Py_BEGIN_ALLOW_THREADS
        glupy_unwind_error(slot, frame, ENOMEM);
        Py_END_ALLOW_THREADS
        return;
    }
    glupy_tasks_live++;
    t->refs = 1;
    t->slot = slot;
    t->frame = frame;
    t->this = this;
    t->state = GLUPY_RUNNING;
    t->results = &t->result1;
    t->recs = &t->rec1;
    t->inst = priv->inst;
    Py_XINCREF(t->inst);
    int ok = t->inst != NULL;
    for (int i = 0; i < nargs; i++)
        ok = ok && args[i];
    if (ok) {
        PyObject *method = PyList_GET_ITEM(priv->methods, slot);
        Py_INCREF(method);
        coro = PyObject_Vectorcall(method, args, nargs, NULL);
        Py_DECREF(method);
    } else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_RuntimeError, "glupy: fop for an instance that is not ready");
    }
    for (int i = 0; i < nargs; i++)
        Py_XDECREF(args[i]);
    if (!coro) {
        glupy_crash(t);
    } else if (!PyCoro_CheckExact(coro) && !PyObject_HasAttr(coro, G.s_throw)) {
        PyErr_Format(PyExc_TypeError, "%s() returned %R instead of a coroutine (is it 'async def'?)",
                     "the fop method", coro);
        Py_DECREF(coro);
        glupy_crash(t);
    } else {
        t->coro = coro;
        glupy_run(t, NULL, NULL, NULL);
    }
    glupy_task_unref(t);
}

/* A child's callback: ``raw`` (stolen) holds its C reply arguments. */
static void glupy_reply(void *cookie, int slot, int32_t op_ret, int32_t op_errno,
                        PyObject *raw)
{
    glupy_wind_rec_t *rec = cookie;
    glupy_task_t *t = rec->task;
    int index = rec->index;
    PyObject *keep = rec->keep, *hold = rec->hold;
    rec->keep = rec->hold = NULL;
    PyTypeObject *cls = (PyTypeObject *)G.reply_cls[slot];
    PyObject *r = raw ? cls->tp_alloc(cls, 0) : NULL;
    PyObject *result = NULL;
    if (r) {
        glupy_set_slot(r, G.r_raw, raw);
        raw = NULL;
        Py_INCREF(Py_None); /* field values: made when first read (replies.py) */
        glupy_set_slot(r, G.r_vals, Py_None);
        Py_INCREF(t->inst);
        glupy_set_slot(r, G.r_inst, t->inst);
        Py_INCREF(Py_False);
        glupy_set_slot(r, G.r_dirty, Py_False);
        glupy_set_slot(r, G.r_op_ret, PyLong_FromLong(op_ret));
        glupy_set_slot(r, G.r_op_errno, PyLong_FromLong(op_errno));
        if (op_ret >= 0) {
            result = r;
            r = NULL;
        } else {
            /* FopError(op_errno, reply=r) without running its __init__ */
            PyTypeObject *et = (PyTypeObject *)G.fop_error;
            PyObject *e = et->tp_new(et, G.empty_tuple, NULL);
            PyObject *code = e ? PyLong_FromLong(op_errno) : NULL;
            if (code) {
                glupy_set_slot(e, G.e_errno, code);
                Py_INCREF(r);
                glupy_set_slot(e, G.e_reply, r);
                Py_INCREF(Py_None);
                glupy_set_slot(e, G.e_message, Py_None);
                result = e;
                e = NULL;
            }
            Py_XDECREF(e);
        }
    }
    Py_XDECREF(r);
    Py_XDECREF(raw);
    if (!result) {
        /* out of memory building the reply: the coroutine sees the error */
        PyObject *type, *val, *tb;
        PyErr_Fetch(&type, &val, &tb);
        Py_XDECREF(type);
        Py_XDECREF(tb);
        result = val ? val : PyObject_CallNoArgs(PyExc_MemoryError);
    }
    glupy_deliver(t, index, result);
    Py_XDECREF(keep);
    Py_XDECREF(hold);
    glupy_task_unref(t); /* the wind's reference */
}

/* ---------------------------------------------------------- await in C */
/* ``await wind`` without a Python frame: Wind.__await__ and Gather.__await__
 * are replaced (at setup) by a C method returning this iterator.  Its first
 * step yields the wind to the driver, its second returns the reply the driver
 * sends; it has no throw(), so a failed wind's FopError is raised straight in
 * the translator's coroutine (same behaviour as the Python __await__, one
 * frame and one traceback entry less per fop). */
typedef struct {
    PyObject_HEAD
    PyObject *awaited; /* until the first step */
} glupy_await_t;

static PySendResult glupy_await_send(PyObject *self, PyObject *arg, PyObject **result)
{
    glupy_await_t *a = (glupy_await_t *)self;
    if (a->awaited) {
        *result = a->awaited; /* the reference moves to the caller */
        a->awaited = NULL;
        if (glupy_current)
            glupy_current->c_await = 1;
        return PYGEN_NEXT;
    }
    if (PyExceptionInstance_Check(arg)) { /* a failed wind (see glupy_step) */
        PyErr_SetObject((PyObject *)Py_TYPE(arg), arg);
        *result = NULL;
        return PYGEN_ERROR;
    }
    Py_INCREF(arg);
    *result = arg;
    return PYGEN_RETURN;
}

static PyObject *glupy_await_send_method(PyObject *self, PyObject *arg)
{
    PyObject *r;
    PySendResult s = glupy_await_send(self, arg, &r);
    if (s == PYGEN_NEXT)
        return r;
    if (s == PYGEN_ERROR)
        return NULL;
    PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, r);
    Py_DECREF(r);
    if (stop) {
        PyErr_SetObject(PyExc_StopIteration, stop);
        Py_DECREF(stop);
    }
    return NULL;
}

static PyObject *glupy_await_next(PyObject *self)
{
    return glupy_await_send_method(self, Py_None);
}

static void glupy_await_dealloc(PyObject *self)
{
    Py_XDECREF(((glupy_await_t *)self)->awaited);
    PyObject_Free(self);
}

static PyMethodDef glupy_await_methods[] = {
    {"send", glupy_await_send_method, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyAsyncMethods glupy_await_async = {.am_send = glupy_await_send};

static PyTypeObject glupy_await_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._await",
    .tp_basicsize = sizeof(glupy_await_t),
    .tp_dealloc = glupy_await_dealloc,
    .tp_as_async = &glupy_await_async,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = glupy_await_next,
    .tp_methods = glupy_await_methods,
};

static PyObject *glupy_await(PyObject *self, PyObject *unused)
{
    glupy_await_t *a = PyObject_New(glupy_await_t, &glupy_await_type);
    if (!a)
        return NULL;
    Py_INCREF(self);
    a->awaited = self;
    return (PyObject *)a;
}

static PyMethodDef glupy_await_def = {"__await__", glupy_await, METH_NOARGS,
                                      "yield this to the glupy driver, return its reply"};

/* Child.<fop>() builds its Wind with this (translator._make_wind): no
 * object.__new__ call, no attribute lookups. */
static PyObject *glupy_make_wind(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "_make_wind(child, fop, args)");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)G.wind_type;
    PyObject *w = cls->tp_alloc(cls, 0);
    if (!w)
        return NULL;
    Py_INCREF(args[0]);
    glupy_set_slot(w, G.w_child, args[0]);
    Py_INCREF(args[1]);
    glupy_set_slot(w, G.w_fop, args[1]);
    Py_INCREF(args[2]);
    glupy_set_slot(w, G.w_args, args[2]);
    return w;
}

static PyMethodDef glupy_make_wind_def = {"_make_wind", (PyCFunction)(void (*)(void))glupy_make_wind,
                                          METH_FASTCALL, "build a glupy.Wind"};

/* The reply field converter for vectors (replies.py CONVERTERS["vector"]):
 * (raw, cidx, inst) -> Vector(raw[cidx[0]], raw[cidx[1]], raw[cidx[2]]), made without
 * running Vector.__init__ (a crypt-like translator reads it on every readv). */
static PyObject *glupy_reply_vector(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PySequence_Check(args[0]) || !PyTuple_Check(args[1]) ||
        PyTuple_GET_SIZE(args[1]) != 3) {
        PyErr_SetString(PyExc_TypeError, "_reply_vector(raw, cidx, inst)");
        return NULL;
    }
    PyObject *items[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        Py_ssize_t k = PyLong_AsSsize_t(PyTuple_GET_ITEM(args[1], i));
        items[i] = k < 0 && PyErr_Occurred() ? NULL
                 : k < 0 ? (PyErr_SetString(PyExc_IndexError, "_reply_vector: bad index"), NULL)
                         : PySequence_GetItem(args[0], k);
        if (!items[i]) {
            for (int j = 0; j < i; j++)
                Py_DECREF(items[j]);
            return NULL;
        }
    }
    return glupy_new_vector(items[0], items[1], items[2], Py_NewRef(Py_None),
                            Py_NewRef(Py_None));
}

static PyMethodDef glupy_reply_vector_def = {
    "_reply_vector", (PyCFunction)(void (*)(void))glupy_reply_vector, METH_FASTCALL,
    "a reply's Vector field from its raw C arguments"};

/* What a Vector.alloc buffer's ``_keep`` holds: the iovec its ``_iov`` points at and
 * the iobref ref, both released with the capsule. */
typedef struct {
    struct iovec iov;
    struct iobref *iobref;
} glupy_alloc_t;

static void glupy_alloc_free(PyObject *capsule)
{
    glupy_alloc_t *a = PyCapsule_GetPointer(capsule, "glupy.alloc");
    if (a) {
        iobref_unref(a->iobref);
        free(a);
    }
}

/* Vector.alloc inside GlusterFS: (size, cap) -> a Vector of ``size`` bytes in a new
 * iobuf of ``cap`` bytes (see glupy_iobref_alloc), built in one C call: it runs once
 * per readv/writev of a translator that transforms data (crypt). */
static PyObject *glupy_vector_alloc(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t size = nargs == 2 ? PyLong_AsSsize_t(args[0]) : -1;
    Py_ssize_t cap = nargs == 2 ? PyLong_AsSsize_t(args[1]) : -1;
    if (size < 0 || cap < size) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "_vector_alloc(size, cap)");
        return NULL;
    }
    xlator_t *x = THIS;
    if (!x || !x->ctx || !x->ctx->iobuf_pool)
        return PyErr_NoMemory();
    glupy_alloc_t *a = calloc(1, sizeof(*a));
    if (!a)
        return PyErr_NoMemory();
    a->iobref = glupy_iobref_alloc(x->ctx->iobuf_pool, cap, &a->iov);
    if (!a->iobref) {
        free(a);
        return PyErr_NoMemory();
    }
    a->iov.iov_len = size;
    PyObject *capsule = PyCapsule_New(a, "glupy.alloc", glupy_alloc_free);
    if (!capsule) {
        iobref_unref(a->iobref);
        free(a);
        return NULL;
    }
    /* the capsule (_keep) owns the iovec and the iobref ref: freed with it on failure */
    return glupy_new_vector(glupy_ptr(&a->iov, GLUPY_CT_IOVEC), PyLong_FromLong(1),
                            glupy_ptr(a->iobref, GLUPY_CT_IOBREF), capsule,
                            PyLong_FromSsize_t(cap));
}

static PyMethodDef glupy_vector_alloc_def = {
    "_vector_alloc", (PyCFunction)(void (*)(void))glupy_vector_alloc, METH_FASTCALL,
    "Vector.alloc's buffer inside GlusterFS"};

/* FopError.__init__(errno, message=None, reply=None) without a Python frame:
 * translators raise it on hot paths (a cached miss, a denied write). */
static PyObject *glupy_fop_error_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"errno", "message", "reply", NULL};
    PyObject *code, *message = Py_None, *reply = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OO:FopError", kwlist, &code, &message, &reply))
        return NULL;
    PyObject *n = PyNumber_Long(code); /* int(errno), as the Python version */
    if (!n)
        return NULL;
    glupy_set_slot(self, G.e_errno, n);
    Py_INCREF(reply);
    glupy_set_slot(self, G.e_reply, reply);
    Py_INCREF(message);
    glupy_set_slot(self, G.e_message, message);
    Py_RETURN_NONE;
}

static PyMethodDef glupy_fop_error_init_def = {
    "__init__", (PyCFunction)(void (*)(void))glupy_fop_error_init, METH_VARARGS | METH_KEYWORDS,
    "FopError(errno, message=None, reply=None)"};

static PyObject *glupy_await_slot(PyObject *self)
{
    return glupy_await(self, NULL);
}

static int glupy_install_await(PyObject *cls)
{
    PyObject *d = PyDescr_NewMethod((PyTypeObject *)cls, &glupy_await_def);
    int r = d ? PyObject_SetAttrString(cls, "__await__", d) : -1;
    Py_XDECREF(d);
    /* setting __await__ made am_await the generic slot (look up __await__, call
       the descriptor): point it at the C function itself */
    if (r == 0)
        ((PyTypeObject *)cls)->tp_as_async->am_await = glupy_await_slot;
    return r;
}

/* ------------------------------------------------ Child.<fop>() in C */
/* ``self.child.lookup(loc, xdata)`` runs for every wind: the Python method (a
 * frame, two global lookups, a dict lookup, a tuple) is replaced inside
 * GlusterFS by this method descriptor, one per fop, that builds the Wind
 * directly.  Calls with keywords (or anything unusual) go to the Python method
 * it replaces, which stays the documented signature (Child.<fop> on the class
 * still returns it). */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *fop;  /* glupy.fops.Fop */
    PyObject *func; /* the Python method (translator.Child.<fop>) */
    Py_ssize_t nargs, nrequired; /* wind arguments; those without a default (None) */
} glupy_child_method_t;

static PyObject *glupy_child_method_call(PyObject *self, PyObject *const *args, size_t nargsf,
                                         PyObject *kwnames)
{
    glupy_child_method_t *m = (glupy_child_method_t *)self;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf) - 1; /* args[0] is the child */
    if (kwnames || n < m->nrequired || n > m->nargs ||
        (PyObject *)Py_TYPE(args[0]) != G.child_type)
        return PyObject_Vectorcall(m->func, args, nargsf, kwnames);
    PyObject *tuple = PyTuple_New(m->nargs);
    if (!tuple)
        return NULL;
    for (Py_ssize_t i = 0; i < m->nargs; i++) {
        PyObject *v = i < n ? args[i + 1] : Py_None;
        Py_INCREF(v);
        PyTuple_SET_ITEM(tuple, i, v);
    }
    PyTypeObject *cls = (PyTypeObject *)G.wind_type;
    PyObject *w = cls->tp_alloc(cls, 0);
    if (!w) {
        Py_DECREF(tuple);
        return NULL;
    }
    Py_INCREF(args[0]);
    glupy_set_slot(w, G.w_child, args[0]);
    Py_INCREF(m->fop);
    glupy_set_slot(w, G.w_fop, m->fop);
    glupy_set_slot(w, G.w_args, tuple);
    return w;
}

static PyObject *glupy_child_method_get(PyObject *self, PyObject *obj, PyObject *type)
{
    glupy_child_method_t *m = (glupy_child_method_t *)self;
    if (!obj || obj == Py_None) {
        Py_INCREF(m->func);
        return m->func;
    }
    return PyMethod_New(self, obj);
}

static void glupy_child_method_dealloc(PyObject *self)
{
    glupy_child_method_t *m = (glupy_child_method_t *)self;
    Py_XDECREF(m->fop);
    Py_XDECREF(m->func);
    PyObject_Free(self);
}

static PyObject *glupy_child_method_getattro(PyObject *self, PyObject *name)
{
    /* __doc__, __name__, __signature__ ...: the Python method's */
    PyObject *r = PyObject_GenericGetAttr(self, name);
    if (r || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return r;
    PyErr_Clear();
    return PyObject_GetAttr(((glupy_child_method_t *)self)->func, name);
}

static PyTypeObject glupy_child_method_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._child_method",
    .tp_basicsize = sizeof(glupy_child_method_t),
    .tp_dealloc = glupy_child_method_dealloc,
    .tp_vectorcall_offset = offsetof(glupy_child_method_t, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_getattro = glupy_child_method_getattro,
    .tp_descr_get = glupy_child_method_get,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
};

/* child_method(fop, func, nargs, nrequired) */
static PyObject *glupy_new_child_method(PyObject *unused, PyObject *args)
{
    PyObject *fop, *func;
    Py_ssize_t nargs, nrequired;
    if (!PyArg_ParseTuple(args, "OOnn:child_method", &fop, &func, &nargs, &nrequired))
        return NULL;
    if (!Py_IS_TYPE(fop, (PyTypeObject *)G.fop_type) || nrequired < 0 || nrequired > nargs) {
        PyErr_SetString(PyExc_TypeError, "child_method(fop, func, nargs, nrequired)");
        return NULL;
    }
    glupy_child_method_t *m = PyObject_New(glupy_child_method_t, &glupy_child_method_type);
    if (!m)
        return NULL;
    m->vectorcall = glupy_child_method_call;
    Py_INCREF(fop);
    m->fop = fop;
    Py_INCREF(func);
    m->func = func;
    m->nargs = nargs;
    m->nrequired = nrequired;
    return (PyObject *)m;
}

static PyMethodDef glupy_new_child_method_def = {
    "child_method", glupy_new_child_method, METH_VARARGS, "a Child.<fop> method in C"};

/* --------------------------------------- attributes read on every fop */
/* ``self.child`` and options (``self.timeout``) are non-data descriptors whose
 * value, once known, sits in the instance __dict__.  CPython 3.11 specializes
 * such an attribute read into a plain dict hit only if the descriptor's class
 * is immutable; _OnlyChild and Option are Python classes, so every read took
 * the generic path (type lookup, descriptor checks, dict lookup).  This C type
 * wraps such a descriptor without changing its meaning: reads on the class and
 * misses in the instance __dict__ go to the wrapped descriptor. */
typedef struct {
    PyObject_HEAD
    PyObject *wrapped;
} glupy_nondata_t;

static PyObject *glupy_nondata_get(PyObject *self, PyObject *obj, PyObject *type)
{
    PyObject *d = ((glupy_nondata_t *)self)->wrapped;
    descrgetfunc get = Py_TYPE(d)->tp_descr_get;
    if (!get) {
        Py_INCREF(d);
        return d;
    }
    return get(d, obj, type);
}

static void glupy_nondata_dealloc(PyObject *self)
{
    Py_XDECREF(((glupy_nondata_t *)self)->wrapped);
    PyObject_Free(self);
}

static PyMemberDef glupy_nondata_members[] = {
    {"__wrapped__", T_OBJECT, offsetof(glupy_nondata_t, wrapped), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject glupy_nondata_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._nondata",
    .tp_basicsize = sizeof(glupy_nondata_t),
    .tp_dealloc = glupy_nondata_dealloc,
    .tp_descr_get = glupy_nondata_get,
    .tp_members = glupy_nondata_members,
    .tp_flags = Py_TPFLAGS_DEFAULT,
};

static PyObject *glupy_new_nondata(PyObject *unused, PyObject *wrapped)
{
    if (Py_TYPE(wrapped)->tp_descr_set) {
        PyErr_SetString(PyExc_TypeError, "nondata() wraps non-data descriptors only");
        return NULL;
    }
    glupy_nondata_t *d = PyObject_New(glupy_nondata_t, &glupy_nondata_type);
    if (!d)
        return NULL;
    Py_INCREF(wrapped);
    d->wrapped = wrapped;
    return (PyObject *)d;
}

static PyMethodDef glupy_new_nondata_def = {
    "nondata", glupy_new_nondata, METH_O, "an immutable non-data descriptor wrapping one"};

/* Vector.contiguous() / Vector.writable() for the common case, one GlusterFS buffer
 * (read-only / the data and spare bytes of an alloc'd one): a memoryview straight
 * over it; anything else goes to the Python method kept in ``py``. */
static PyObject *glupy_vec_py[2];

static PyObject *glupy_vec_view(PyObject *self, int writable)
{
    struct iovec *iov = NULL;
    long count;
    if (glupy_vector_mem(self, &iov, &count) && count == 1 && iov && iov->iov_base) {
        Py_ssize_t n = (Py_ssize_t)iov->iov_len;
        if (writable) {
            PyObject *pcap = glupy_get_slot(self, G.v_cap);
            n = pcap && PyLong_CheckExact(pcap) ? PyLong_AsSsize_t(pcap) : 0;
        }
        if (n > 0)
            return PyMemoryView_FromMemory(iov->iov_base, n, writable ? PyBUF_WRITE : PyBUF_READ);
        PyErr_Clear();
    }
    return PyObject_CallOneArg(glupy_vec_py[writable], self);
}

static PyObject *glupy_vec_contiguous(PyObject *self, PyObject *unused)
{
    return glupy_vec_view(self, 0);
}

static PyObject *glupy_vec_writable(PyObject *self, PyObject *unused)
{
    return glupy_vec_view(self, 1);
}

static PyMethodDef glupy_vec_defs[2] = {
    {"contiguous", glupy_vec_contiguous, METH_NOARGS, NULL},
    {"writable", glupy_vec_writable, METH_NOARGS, NULL},
};

/* vector_methods(py_contiguous, py_writable): Vector.contiguous/writable in C */
static PyObject *glupy_vector_methods(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "vector_methods(contiguous, writable)");
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        Py_XSETREF(glupy_vec_py[i], Py_NewRef(args[i]));
        glupy_vec_defs[i].ml_doc = NULL;
        PyObject *doc = PyObject_GetAttrString(args[i], "__doc__");
        if (doc && PyUnicode_Check(doc))
            glupy_vec_defs[i].ml_doc = PyUnicode_AsUTF8(doc); /* kept alive by the function */
        Py_XDECREF(doc);
        PyErr_Clear();
        PyObject *d = PyDescr_NewMethod((PyTypeObject *)G.vector_type, &glupy_vec_defs[i]);
        int r = d ? PyObject_SetAttrString(G.vector_type, glupy_vec_defs[i].ml_name, d) : -1;
        Py_XDECREF(d);
        if (r < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef glupy_vector_methods_def = {
    "vector_methods", (PyCFunction)(void (*)(void))glupy_vector_methods, METH_FASTCALL,
    "Vector.contiguous/writable in C (the Python ones as fallbacks)"};

/* A reply field (replies.py _Field, same rules) read and set in C: a field of a
 * child's reply is converted when first read (CONVERTERS[kind](raw, cidx, inst)) and
 * kept in _vals; setting one stores it and marks its bit in _dirty (True stays
 * True).  On the class it gives the wrapped Python _Field. */
typedef struct {
    PyObject_HEAD
    PyObject *field;     /* the replies._Field */
    PyObject *convert;   /* CONVERTERS[kind] */
    PyObject *cidx;      /* tuple of C argument indices */
    PyObject *unset;     /* replies._UNSET */
    Py_ssize_t index, nfields;
    unsigned long bit;
} glupy_field_t;

static PyObject *glupy_field_vals(PyObject *obj, glupy_field_t *f)
{
    PyObject *vals = glupy_get_slot(obj, G.r_vals);
    if (vals && PyList_CheckExact(vals) && PyList_GET_SIZE(vals) == f->nfields)
        return vals;
    if (vals && vals != Py_None) {
        PyErr_SetString(PyExc_TypeError, "reply field values are not a list of the fields");
        return NULL;
    }
    vals = PyList_New(f->nfields);
    if (!vals)
        return NULL;
    for (Py_ssize_t i = 0; i < f->nfields; i++) {
        Py_INCREF(f->unset);
        PyList_SET_ITEM(vals, i, f->unset);
    }
    glupy_set_slot(obj, G.r_vals, vals);
    return vals;
}

static PyObject *glupy_field_get(PyObject *self, PyObject *obj, PyObject *type)
{
    glupy_field_t *f = (glupy_field_t *)self;
    if (!obj || obj == Py_None)
        return Py_NewRef(f->field);
    PyObject *vals = glupy_field_vals(obj, f);
    if (!vals)
        return NULL;
    PyObject *v = PyList_GET_ITEM(vals, f->index);
    if (v != f->unset)
        return Py_NewRef(v);
    PyObject *raw = glupy_get_slot(obj, G.r_raw), *inst = glupy_get_slot(obj, G.r_inst);
    PyObject *args[3] = {raw ? raw : Py_None, f->cidx, inst ? inst : Py_None};
    v = PyObject_Vectorcall(f->convert, args, 3, NULL);
    if (!v)
        return NULL;
    Py_INCREF(v);
    PyList_SetItem(vals, f->index, v); /* steals one reference */
    return v;
}

static int glupy_field_set(PyObject *self, PyObject *obj, PyObject *value)
{
    glupy_field_t *f = (glupy_field_t *)self;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "reply fields cannot be deleted");
        return -1;
    }
    PyObject *vals = glupy_field_vals(obj, f);
    if (!vals)
        return -1;
    Py_INCREF(value);
    PyList_SetItem(vals, f->index, value);
    PyObject *dirty = glupy_get_slot(obj, G.r_dirty);
    if (dirty == Py_True)
        return 0;
    unsigned long mask = 0;
    if (dirty && dirty != Py_False && dirty != Py_None) {
        mask = PyLong_AsUnsignedLong(dirty);
        if (mask == (unsigned long)-1 && PyErr_Occurred())
            return -1;
    }
    PyObject *m = PyLong_FromUnsignedLong(mask | f->bit);
    if (!m)
        return -1;
    glupy_set_slot(obj, G.r_dirty, m);
    return 0;
}

static void glupy_field_dealloc(PyObject *self)
{
    glupy_field_t *f = (glupy_field_t *)self;
    Py_XDECREF(f->field);
    Py_XDECREF(f->convert);
    Py_XDECREF(f->cidx);
    Py_XDECREF(f->unset);
    PyObject_Free(self);
}

static PyTypeObject glupy_field_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy._field",
    .tp_basicsize = sizeof(glupy_field_t),
    .tp_dealloc = glupy_field_dealloc,
    .tp_descr_get = glupy_field_get,
    .tp_descr_set = glupy_field_set,
    .tp_flags = Py_TPFLAGS_DEFAULT,
};

/* field(_Field, converter, nfields, _UNSET) -> the C descriptor */
static PyObject *glupy_new_field(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "field(_field, convert, nfields, unset)");
        return NULL;
    }
    PyObject *index = PyObject_GetAttrString(args[0], "index");
    PyObject *cidx = index ? PyObject_GetAttrString(args[0], "cidx") : NULL;
    Py_ssize_t i = index ? PyLong_AsSsize_t(index) : -1;
    Py_ssize_t n = PyLong_AsSsize_t(args[2]);
    Py_XDECREF(index);
    if (!cidx || !PyTuple_Check(cidx) || i < 0 || n <= i || i >= (Py_ssize_t)(8 * sizeof(long))) {
        Py_XDECREF(cidx);
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "field(): bad _Field");
        return NULL;
    }
    glupy_field_t *f = PyObject_New(glupy_field_t, &glupy_field_type);
    if (!f) {
        Py_DECREF(cidx);
        return NULL;
    }
    f->field = Py_NewRef(args[0]);
    f->convert = Py_NewRef(args[1]);
    f->cidx = cidx;
    f->unset = Py_NewRef(args[3]);
    f->index = i;
    f->nfields = n;
    f->bit = 1UL << i;
    return (PyObject *)f;
}

static PyMethodDef glupy_new_field_def = {
    "field", (PyCFunction)(void (*)(void))glupy_new_field, METH_FASTCALL,
    "a reply field descriptor in C"};

/* ------------------------------------------------------ called from Python */

/* glupy.Lock.release handed the lock to parked task ``handle``: continue it here. */
static void glupy_resume(uintptr_t handle)
{
    PyGILState_STATE gs = PyGILState_Ensure(); /* cffi released it for this call */
    glupy_task_t *t = (glupy_task_t *)handle;
    glupy_tail_t *outer = glupy_tail;
    glupy_tail = NULL; /* called from Python: its unwind is done here, at once */
    t->state = GLUPY_RUNNING;
    t->depth++;
    glupy_run(t, NULL, NULL, NULL);
    t->depth--;
    glupy_task_unref(t); /* the waiter's reference */
    glupy_tail = outer;
    PyGILState_Release(gs);
}

/* Tasks not finished and freed yet (read without the GIL: a snapshot). */
static long glupy_tasks_in_flight(void)
{
    return __atomic_load_n(&glupy_tasks_live, __ATOMIC_RELAXED);
}

/* Failed fops whose FopError was not raised through the translator's frame
 * (glupy_finish_unhandled); a snapshot, read without the GIL. */
static long glupy_failures_finished_in_c(void)
{
    return __atomic_load_n(&glupy_unhandled_finished, __ATOMIC_RELAXED);
}

/* The frame of the fop whose coroutine runs on this thread (NULL outside). */
static call_frame_t *glupy_current_frame(void)
{
    return glupy_current ? glupy_current->frame : NULL;
}

static int glupy_set_methods(xlator_t *this, uintptr_t inst, uintptr_t methods)
{
    PyGILState_STATE gs = PyGILState_Ensure(); /* cffi released it for this call */
    glupy_private_t *priv = this->private;
    PyObject *old_inst = priv->inst, *old_methods = priv->methods;
    Py_INCREF((PyObject *)inst);
    Py_INCREF((PyObject *)methods);
    priv->inst = (PyObject *)inst;
    priv->methods = (PyObject *)methods;
    Py_XDECREF(old_inst);
    Py_XDECREF(old_methods);
    PyGILState_Release(gs);
    return 0;
}

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

/* ``config`` (a dict built by glupy.runtime.attach) hands the driver its
 * Python objects.  Returns 0, or -1 with an exception printed. */
static int glupy_driver_setup_locked(PyObject *c);
static int glupy_driver_setup(uintptr_t config)
{
    PyGILState_STATE gs = PyGILState_Ensure(); /* cffi released it for this call */
    int r = glupy_driver_setup_locked((PyObject *)config);
    PyGILState_Release(gs);
    return r;
}

static int glupy_driver_setup_locked(PyObject *c)
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
    KEEP(G.fop_error, "FopError");
    KEEP(G.wind_type, "Wind");
    KEEP(G.gather_type, "Gather");
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
    PyObject *reply = GET("Reply");
    if (!reply ||
        (G.r_raw = glupy_member_offset(reply, "_raw")) < 0 ||
        (G.r_vals = glupy_member_offset(reply, "_vals")) < 0 ||
        (G.r_inst = glupy_member_offset(reply, "_inst")) < 0 ||
        (G.r_dirty = glupy_member_offset(reply, "_dirty")) < 0 ||
        (G.r_op_ret = glupy_member_offset(reply, "op_ret")) < 0 ||
        (G.r_op_errno = glupy_member_offset(reply, "op_errno")) < 0 ||
        (G.w_child = glupy_member_offset(G.wind_type, "child")) < 0 ||
        (G.w_fop = glupy_member_offset(G.wind_type, "fop")) < 0 ||
        (G.w_args = glupy_member_offset(G.wind_type, "args")) < 0 ||
        (G.g_winds = glupy_member_offset(G.gather_type, "winds")) < 0 ||
        (G.g_return_exceptions = glupy_member_offset(G.gather_type, "return_exceptions")) < 0 ||
        (G.a_lock = glupy_member_offset(G.acquire_type, "lock")) < 0 ||
        (G.child_xl = glupy_member_offset(G.child_type, "xl")) < 0 ||
        (G.f_slot = glupy_member_offset(G.fop_type, "slot")) < 0 ||
        (G.e_errno = glupy_member_offset(G.fop_error, "errno")) < 0 ||
        (G.e_reply = glupy_member_offset(G.fop_error, "reply")) < 0 ||
        (G.e_message = glupy_member_offset(G.fop_error, "_message")) < 0 ||
        (G.v_iov = glupy_member_offset(G.vector_type, "_iov")) < 0 ||
        (G.v_count = glupy_member_offset(G.vector_type, "_count")) < 0 ||
        (G.v_iobref = glupy_member_offset(G.vector_type, "_iobref")) < 0 ||
        (G.v_data = glupy_member_offset(G.vector_type, "_data")) < 0 ||
        (G.v_keep = glupy_member_offset(G.vector_type, "_keep")) < 0 ||
        (G.v_cap = glupy_member_offset(G.vector_type, "_cap")) < 0)
        goto error;
    if (PyType_Ready(&glupy_raw_type) < 0 || PyType_Ready(&glupy_await_type) < 0 || glupy_install_await(G.wind_type) < 0 ||
        glupy_install_await(G.gather_type) < 0)
        goto error;
    {
        PyObject *init = PyDescr_NewMethod((PyTypeObject *)G.fop_error, &glupy_fop_error_init_def);
        int r = init ? PyObject_SetAttrString(G.fop_error, "__init__", init) : -1;
        Py_XDECREF(init);
        if (r < 0)
            goto error;
    }
    if (PyType_Ready(&glupy_child_method_type) < 0 || PyType_Ready(&glupy_nondata_type) < 0 ||
        PyType_Ready(&glupy_field_type) < 0)
        goto error;
    G.empty_tuple = PyTuple_New(0);
    if (!G.empty_tuple)
        goto error;
    {
        /* what glupy.runtime installs: translator._make_wind, Child.<fop>, ... */
        PyMethodDef *defs[] = {&glupy_make_wind_def, &glupy_new_child_method_def,
                               &glupy_new_nondata_def, &glupy_reply_vector_def,
                               &glupy_vector_alloc_def, &glupy_new_field_def,
                               &glupy_vector_methods_def};
        const char *keys[] = {"make_wind", "child_method", "nondata", "reply_vector",
                              "vector_alloc", "field", "vector_methods"};
        for (int i = 0; i < 7; i++) {
            PyObject *f = PyCFunction_New(defs[i], NULL);
            int r = f ? PyDict_SetItemString(c, keys[i], f) : -1;
            Py_XDECREF(f);
            if (r < 0)
                goto error;
        }
    }
    G.s_throw = PyUnicode_InternFromString("throw");
    return 0;
error:
    PyErr_Print();
    return -1;
#undef GET
#undef KEEP
}
