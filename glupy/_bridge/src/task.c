/* The coroutine driver's hot path, in C (see glupy/runtime/driver.py for the whole
 * story and docs/concepts.md for the design).
 *
 * A fop handled in Python is a task: the translator's coroutine plus the
 * frame to unwind.  This file creates tasks at fop entry, steps the coroutine
 * (the only Python that runs is the translator's own code), issues the winds
 * it awaits, turns the child's callback into a reply object and resumes the
 * task, and unwinds the reply.  Everything unusual -- a reply the translator
 * built or changed, an exception other than FopError, Python values that need
 * converting, glupy.Lock -- is handed to Python helpers in glupy.runtime.driver
 * (views are detached in C: detach.c).  Measured reason for this file: the same
 * state machine in Python cost ~30 us per fop
 * (bench/history/2026-11-26-local-runs-1-5/ANALYSIS.md).
 *
 * Concurrency: task state is only read and written with the GIL held and
 * without running Python code in between, so the GIL is the task lock
 * (CPython 3.11 has a GIL; a free-threaded build would need a mutex here).
 * The GIL is released while a wind or unwind runs in GlusterFS.
 */

#include "glupy.h"
#include <sched.h>

/* CPython 3.11-3.13's frame layout, for glupy_finish_unhandled (compiled against the
 * interpreter's own internal headers; without them, or on another version, failures
 * are raised as usual) */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000 && \
    __has_include(<internal/pycore_frame.h>) && !defined(Py_GIL_DISABLED)
#define Py_BUILD_CORE 1
#include <internal/pycore_frame.h>
#if PY_VERSION_HEX >= 0x030C0000
#include <internal/pycore_intrinsics.h>
#endif
#undef Py_BUILD_CORE
#include <opcode.h>
#define GLUPY_FINISH_UNHANDLED 1
#endif

glupy_objects_t G;
long glupy_tasks_live;
long glupy_unhandled_finished;
/* counted only where it is read (glupy.runtime.latefrees, on a free-threaded CPython) */
static long glupy_tasks_off_entry; /* glupy_count_add */
__thread glupy_task_t *glupy_current __attribute__((tls_model("initial-exec")));
__thread glupy_tail_t *glupy_tail __attribute__((tls_model("initial-exec")));
/* tail winds issued inside one another on this thread (glupy_tail_run) */
static __thread int glupy_tail_nesting __attribute__((tls_model("initial-exec")));
__thread int glupy_thread_ready __attribute__((tls_model("initial-exec")));
__thread PyThreadState *glupy_tstate __attribute__((tls_model("initial-exec")));

/* finished tasks a thread keeps for reuse, for glupy_entry_end without the GIL
   (entries nest: FUSE issues a stat's second lookup from the first one's callback);
   freed when the thread exits (io-threads' workers come and go) */
static __thread GLUPY_SPARES(4) glupy_task_spares __attribute__((tls_model("initial-exec")));
static pthread_key_t glupy_spares_key;
static pthread_once_t glupy_spares_once = PTHREAD_ONCE_INIT;

static void glupy_spares_free(void *unused)
{
    glupy_task_t *t;
    while ((t = glupy_thread_spares_take(&glupy_task_spares)))
        free(t);
}

static void glupy_spares_key_create(void)
{
    pthread_key_create(&glupy_spares_key, glupy_spares_free);
}

/* A thread's first call into Python: its thread state, kept (glupy.h): the one
 * PyGILState_Ensure finds or makes, whose count then never drops back to zero.  A
 * thread running Python already (one Python made, such as a translator's
 * threading.Thread that drops the last reference of an fd view, so GlusterFS calls
 * release there; or a cffi callback's) keeps its state attached: detaching it would
 * leave that Python code running without one once GlusterFS returns. */
void glupy_enter_thread_first(void)
{
    if (PyGILState_Ensure() == PyGILState_LOCKED)
        glupy_tstate = PyThreadState_Get();
    else
        glupy_tstate = PyEval_SaveThread();
    glupy_thread_ready = 1;
    /* a non-NULL value, so that the key's destructor runs when the thread exits */
    pthread_once(&glupy_spares_once, glupy_spares_key_create);
    pthread_setspecific(glupy_spares_key, (void *)1);
}

/* ------------------------------------------------------------------ tasks */

/* finished tasks kept for reuse (under the GIL): saves a calloc/free per fop */
static GLUPY_SPARES(64) glupy_task_cache;
static glupy_task_t *glupy_task_new(void)
{
    glupy_task_t *t = glupy_thread_spares_take(&glupy_task_spares);
    if (!t)
        t = glupy_spares_take(&glupy_task_cache);
    if (t)
        memset(t, 0, sizeof(*t));
    else
        t = calloc(1, sizeof(glupy_task_t));
    if (t)
        glupy_task_lock_init(t);
    return t;
}

/* the task's state, stored or read alone (glupy_task_lock) */
static inline void glupy_task_set_state(glupy_task_t *t, int state)
{
    glupy_task_lock(t);
    t->state = state;
    glupy_task_unlock(t);
}

static inline int glupy_task_get_state(glupy_task_t *t)
{
    glupy_task_lock(t);
    int state = t->state;
    glupy_task_unlock(t);
    return state;
}

/* drop the fop's argument views (the coroutine holds its own references) */
static void glupy_release_args(glupy_task_t *t)
{
    int n = t->nargs;
    __atomic_store_n(&t->nargs, 0, __ATOMIC_RELAXED); /* read by glupy_entry_end */
    for (int i = 0; i < n; i++) {
        PyObject *a = t->args[i];
        t->args[i] = NULL;
        glupy_arg_drop(a);
    }
}

/* GlusterFS callers free what they passed (utime, quick-read, md-cache unref
 * xdata; io-threads and write-behind destroy the whole call stub) as soon as the
 * fop call returns.  Until the fop's entry returns, the argument views are valid on
 * its thread: a child that answers there (posix, and anything in the same process
 * that does not hand the fop to another thread) finishes the task inside the entry,
 * and nothing needs a copy.  Every argument view takes its own reference or copy
 * when the coroutine suspends on another thread (a reply came there first), or
 * when the entry is about to return with the task suspended (glupy_entry_end). */
static void glupy_task_detach_args(glupy_task_t *t)
{
    glupy_detach_args(t->args, t->nargs);
    glupy_release_args(t);
}

static int glupy_args_valid_here(glupy_task_t *t)
{
    /* entry_pending is written by the entry's thread only: read it there only */
    return t->entry_thread == glupy_thread_id() && t->entry_pending;
}

static void glupy_task_free(glupy_task_t *t)
{
    if (!glupy_spares_keep(&glupy_task_cache, t))
        free(t);
}

static void glupy_task_unref(glupy_task_t *t)
{
    if (glupy_task_refs_add(t, -1) > 0)
        return;
    glupy_task_lock(t); /* the entry's end may be detaching them */
    glupy_release_args(t);
    glupy_task_unlock(t);
    if (GLUPY_FREE_THREADED && t->entry_thread != glupy_thread_id())
        glupy_count_add(&glupy_tasks_off_entry, 1);
    if (t->results != &t->result1) {
        free(t->results);
        free(t->recs);
    }
    PyObject *coro = t->coro, *inst = t->inst;
    glupy_count_add(&glupy_tasks_live, -1);
    glupy_count_add(&((glupy_private_t *)t->this->private)->tasks_live, -1);
    if (__atomic_sub_fetch(&t->holders, 1, __ATOMIC_ACQ_REL) == 0)
        glupy_task_free(t); /* else glupy_entry_end frees it */
    Py_XDECREF(coro);
    Py_XDECREF(inst);
}

/* the coroutine is finished: drop it (its frame may hold big objects) */
static void glupy_task_done(glupy_task_t *t)
{
    PyObject *coro = t->coro;
    glupy_task_set_state(t, GLUPY_DONE);
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

/* Log the pending Python exception through glupy.runtime.driver._crash and fail the
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

/* ---------------------------------------------------- the tail unwind (glupy.h) */
void glupy_tail_run(glupy_tail_t *tail, glupy_tail_t *outer, int gs)
{
    glupy_tail = outer;
    if (!tail->set) {
        glupy_gil_release(gs);
        return;
    }
    if (tail->wind) {
        PyEval_SaveThread(); /* armed only when the entry/callback took the GIL (gs) */
        /* a child that replies in this thread runs the next callback, and its
           tail wind, inside this call: counted, so the nesting stays bounded */
        glupy_tail_nesting++;
        tail->wind(tail->frame, tail->child, tail->rec, tail->wargs);
        glupy_tail_nesting--;
        glupy_tail_releases(tail);
        if (tail->drop) {
            PyEval_RestoreThread(glupy_tstate);
            Py_DECREF(tail->drop);
            PyEval_SaveThread();
        }
        return;
    }
    int32_t op_errno = tail->op_errno;
    if (tail->raw) {
        if (glupy_reply_unwinders[tail->slot](tail->frame, tail->op_ret, op_errno, tail->raw,
                                              NULL, 0, NULL, 1) == 0) {
            glupy_tail_releases(tail);
            return; /* the unwinder dropped raw and released the GIL */
        }
        /* not expected: a clean reply's arguments came from C unchanged */
        PyErr_Clear();
        Py_DECREF(tail->raw);
        if (tail->op_ret >= 0 || op_errno <= 0)
            op_errno = EIO;
    }
    PyEval_SaveThread(); /* armed only when the entry/callback took the GIL (gs) */
    glupy_unwind_error(tail->slot, tail->frame, op_errno);
    glupy_tail_releases(tail);
}

/* The wind as this entry/callback's tail, if the tail is free (1), else 0: the caller
 * winds now.  GLUPY_MAX_NESTING tail winds deep, a wind is issued now, inside the
 * task's step, so that the reply coming back in this thread meets the task's own
 * depth bound.  ``drop``: a hand-off's objects, dropped after the wind (the tail's). */
static int glupy_tail_take_wind(glupy_do_wind_t wind, call_frame_t *frame, xlator_t *child,
                                glupy_wind_rec_t *rec, const void *wargs, size_t size,
                                PyObject *drop)
{
    glupy_tail_t *tail = glupy_tail;
    if (!tail || tail->set || size > GLUPY_WARGS_MAX || glupy_tail_nesting >= GLUPY_MAX_NESTING)
        return 0;
    tail->set = 1;
    tail->wind = wind;
    tail->frame = frame;
    tail->child = child;
    tail->rec = rec;
    tail->drop = drop;
    memcpy(tail->wargs, wargs, size);
    return 1;
}

int glupy_tail_wind(call_frame_t *frame, xlator_t *child, glupy_wind_rec_t *rec,
                    glupy_do_wind_t wind, const void *wargs, size_t size, PyObject *py_args)
{
    if (rec->task->gathering || !glupy_tail_take_wind(wind, frame, child, rec, wargs, size, NULL))
        return 0;
    /* the views the arguments came from must outlive the STACK_WIND (a view the
       translator made may own what it points at): kept until the callback */
    Py_INCREF(py_args);
    rec->hold = py_args;
    return 1;
}

/* Does argument ``a`` of a coroutine that never suspended (it runs inside the entry,
 * on its thread) point only at GlusterFS memory valid until the entry returns?  So
 * do None, ints, and the views and Vectors the bridge made that neither own nor keep
 * anything (the fop's own arguments and what they point at). */
static int glupy_in_caller_memory(PyObject *a)
{
    if (a == Py_None || PyLong_Check(a))
        return 1;
    if (PyObject_TypeCheck(a, G.core->view)) {
        glupy_view_t *v = (glupy_view_t *)a;
        return v->ptr && !v->owned && !v->keep;
    }
    if (PyObject_TypeCheck(a, G.core->vector)) {
        glupy_vector_t *v = (glupy_vector_t *)a;
        return !v->data && !v->flags && !v->keep;
    }
    return 0;
}

/* ... and so do all of a hand-off's arguments and what their conversion kept */
static int glupy_args_in_caller_memory(glupy_task_t *t, PyObject *py_args, PyObject *keep)
{
    if (t->gen != 0 || t->entry_thread != glupy_thread_id())
        return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(py_args); i++)
        if (!glupy_in_caller_memory(PyTuple_GET_ITEM(py_args, i)))
            return 0;
    if (keep && PyList_CheckExact(keep)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keep); i++)
            if (!glupy_in_caller_memory(PyList_GET_ITEM(keep, i)))
                return 0;
    } else if (keep && !glupy_in_caller_memory(keep)) {
        return 0;
    }
    return 1;
}

int glupy_hand_off(call_frame_t *frame, xlator_t *child, glupy_wind_rec_t *rec,
                   glupy_do_wind_t wind, const void *wargs, size_t size, PyObject *py_args)
{
    PyObject *drop = NULL;
    /* what else the arguments point into (rec->keep, views that own or keep
       memory, a reply's memory) lives until the STACK_WIND returns: GlusterFS
       callees take their own references or copies of what they keep longer */
    if (!glupy_args_in_caller_memory(rec->task, py_args, rec->keep)) {
        drop = PyTuple_Pack(2, py_args, rec->keep ? rec->keep : Py_None);
        if (!drop)
            return -1;
    }
    Py_CLEAR(rec->keep);
    if (glupy_tail_take_wind(wind, frame, child, NULL, wargs, size, drop))
        return 0;
    Py_BEGIN_ALLOW_THREADS
    wind(frame, child, NULL, wargs);
    Py_END_ALLOW_THREADS
    Py_XDECREF(drop);
    return 0;
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
    return glupy_reply_unwinders[t->slot](t->frame, op_ret, op_errno, raw, NULL, 0, NULL, 0);
}

static void glupy_unwind_errno(glupy_task_t *t, int op_errno)
{
    if (glupy_tail_set(t, -1, op_errno, NULL))
        return;
    Py_BEGIN_ALLOW_THREADS
    glupy_unwind_error(t->slot, t->frame, op_errno);
    Py_END_ALLOW_THREADS
}

/* reply unchanged since the child sent it: its C arguments (a new reference), with
 * its op_ret and op_errno when ``op_ret`` is given; else NULL (an exception set if
 * those are not ints).  Read under the reply's lock: a reply may be returned by tasks
 * on several threads. */
static PyObject *glupy_clean_raw(PyObject *reply, int slot, long *op_ret, long *op_errno)
{
    if ((PyObject *)Py_TYPE(reply) != G.reply_cls[slot])
        return NULL;
    glupy_reply_t *r = (glupy_reply_t *)reply;
    PyObject *raw = NULL;
    GLUPY_BEGIN_OBJECT_LOCK(reply);
    if (r->raw && r->raw != Py_None && r->dirty == Py_False) {
        if (op_ret) {
            *op_ret = r->op_ret ? PyLong_AsLong(r->op_ret) : -1;
            *op_errno = r->op_errno ? PyLong_AsLong(r->op_errno) : EIO;
        }
        if (!PyErr_Occurred())
            raw = Py_NewRef(r->raw);
    }
    GLUPY_END_OBJECT_LOCK();
    return raw;
}

static int glupy_finish_part_locked(glupy_task_t *t, glupy_reply_t *reply);

/* A child's reply with some fields set (``_dirty``: an int, bit i = field i): the set
 * fields converted in C, the others as the child sent them; or a reply Python built
 * (``_raw`` None, ``_dirty`` True): every field converted in C.  -1 (nothing unwound,
 * no error pending): Python's _finish_slow does it. */
static int glupy_finish_part(glupy_task_t *t, PyObject *value)
{
    if ((PyObject *)Py_TYPE(value) != G.reply_cls[t->slot])
        return -1;
    int r;
    GLUPY_BEGIN_OBJECT_LOCK(value);
    r = glupy_finish_part_locked(t, (glupy_reply_t *)value);
    GLUPY_END_OBJECT_LOCK();
    return r;
}

static int glupy_finish_part_locked(glupy_task_t *t, glupy_reply_t *reply)
{
    glupy_reply_unwinder_t unwind = glupy_reply_unwinders[t->slot];
    PyObject *raw = reply->raw, *dirty = reply->dirty, *vals = reply->vals;
    PyObject *ret = reply->op_ret, *err = reply->op_errno;
    if (!raw || !dirty || !vals || !PyList_CheckExact(vals) || !ret || !err)
        return -1;
    unsigned long mask;
    if (raw != Py_None && PyLong_CheckExact(dirty)) {
        mask = PyLong_AsUnsignedLong(dirty);
    } else if (raw == Py_None && dirty == Py_True) {
        raw = NULL;
        mask = ~0UL;
    } else {
        return -1;
    }
    long op_ret = PyLong_AsLong(ret);
    long op_errno = PyLong_AsLong(err);
    /* the field values and the child's arguments as they are now, held until the unwind
       returns: it runs without the GIL, and a task that shares this reply may set a
       field meanwhile (the old value, and what the unwind points into, would go) */
    PyObject *held = PyErr_Occurred() ? NULL : PyList_GetSlice(vals, 0, PyList_GET_SIZE(vals));
    int r = -1;
    if (held) {
        glupy_wind_rec_t keep = {0}; /* what converted fields point into, until unwound */
        Py_XINCREF(raw);
        r = unwind(t->frame, op_ret, op_errno, raw, held, mask, &keep, 0);
        Py_XDECREF(raw);
        Py_XDECREF(keep.keep);
        Py_DECREF(held);
    }
    PyErr_Clear();
    return r;
}

static xlator_t *glupy_wind_target(glupy_task_t *t, PyObject *w);

/* The coroutine returned ``value``: unwind it, or hand the fop off to a child. */
static void glupy_finish(glupy_task_t *t, PyObject *value)
{
    if ((PyObject *)Py_TYPE(value) == G.wind_type && ((glupy_wind_t *)value)->slot == t->slot) {
        /* ``return self.child.F(...)``: the child's reply will be the fop's */
        glupy_wind_rec_t rec = {.task = t};
        xlator_t *xl = glupy_wind_target(t, value);
        if (xl && glupy_winders[t->slot](t->frame, xl, &rec, ((glupy_wind_t *)value)->args, 1) == 0)
            return;
        Py_CLEAR(rec.keep);
        glupy_crash(t); /* the arguments did not convert: logged, EIO */
        return;
    }
    long op_ret, op_errno;
    PyObject *raw = glupy_clean_raw(value, t->slot, &op_ret, &op_errno);
    if (raw) { /* the hot path: the child's reply, passed on unchanged */
        int r = glupy_unwind_raw(t, op_ret, op_errno, raw);
        Py_DECREF(raw);
        if (r == 0)
            return;
        PyErr_Clear();
    } else if (PyErr_Occurred()) {
        PyErr_Clear(); /* op_ret or op_errno not an int: _finish_slow says so */
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
    PyObject *reply = value ? ((glupy_fop_error_t *)value)->reply : NULL;
    PyObject *err = value ? ((glupy_fop_error_t *)value)->errno_ : NULL;
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
        /* the FopError's errno is the one unwound, not the reply's */
        PyObject *raw = glupy_clean_raw(reply, t->slot, NULL, NULL);
        int done = raw && glupy_unwind_raw(t, -1, op_errno, raw) == 0;
        Py_XDECREF(raw);
        if (!done) {
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

#if PY_VERSION_HEX < 0x030C0000
#define GLUPY_OP(u) _Py_OPCODE(u)
#define GLUPY_ARG(u) _Py_OPARG(u)
#else
#define GLUPY_OP(u) ((u).op.code)
#define GLUPY_ARG(u) ((u).op.arg)
#endif

/* The handler (its target, in code units) that ``code``'s exception table gives
 * instruction ``index``; -1: none; -2: the table does not read as expected (taken as
 * a handler: the slow path is always right).  The format (Objects/
 * exception_handling_notes.txt; ceval.c get_exception_handler): entries of varints
 * (6 bits a byte, 0x40 = more), the first byte of an entry marked 0x80: start,
 * size, target, depth/lasti; sorted by start. */
static int glupy_handler_at(PyCodeObject *code, int index)
{
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(code->co_exceptiontable);
    const unsigned char *end = p + PyBytes_GET_SIZE(code->co_exceptiontable);
    while (p < end) {
        int v[3];
        for (int k = 0; k < 3; k++) {
            if (p >= end)
                return -2;
            int x = *p & 63;
            while (*p & 64) {
                if (++p >= end)
                    return -2;
                x = (x << 6) | (*p & 63);
            }
            p++;
            v[k] = x;
        }
        if (v[0] > index)
            return -1;
        if (index < v[0] + v[1])
            return v[2];
        while (p < end && !(*p & 128))
            p++;
    }
    return -1;
}

/* Would an exception raised at instruction ``index`` be seen by the coroutine's own
 * code?  From 3.12 on, every instruction of a coroutine is covered at least by the
 * implicit handler that turns a StopIteration into a RuntimeError and re-raises
 * anything else (CALL_INTRINSIC_1 INTRINSIC_STOPITERATION_ERROR): not the
 * translator's. */
static int glupy_handler_covers(PyCodeObject *code, int index)
{
    int target = glupy_handler_at(code, index);
    if (target == -1)
        return 0;
#if PY_VERSION_HEX >= 0x030C0000
    if (target >= 0 && target < Py_SIZE(code)) {
        _Py_CODEUNIT h = _PyCode_CODE(code)[target];
        if (GLUPY_OP(h) == CALL_INTRINSIC_1 && GLUPY_ARG(h) == INTRINSIC_STOPITERATION_ERROR)
            return 0;
    }
#endif
    return 1;
}

/* The coroutine of ``t`` is suspended in ``await`` on a glupy wind (the C await
 * iterator) and is about to be sent ``exc``, that wind's FopError, which the iterator
 * raises in SEND.  When no exception handler (try/except/finally, with, async with)
 * covers that await, the error would only pass through the coroutine's frame on its
 * way out: CPython would build a frame object and a traceback entry for it (~1/3 of a
 * failing Python fop), and nothing in the translator could see it.  Then the
 * coroutine is marked finished instead -- its frame is cleared when the task drops
 * it, as for any finished coroutine -- and the fop fails with the error as if it had
 * been raised.  1 if so.  Not with a tracer, profiler or sys.monitoring tool (they
 * would miss the exception event), nor for a coroutine awaiting another coroutine.
 * Only for a child's plain FopError (the caller checks): anything else is a bug to
 * report with the translator's traceback (glupy_crash). */
static int glupy_finish_unhandled(glupy_task_t *t)
{
    if (!PyCoro_CheckExact(t->coro))
        return 0;
    PyThreadState *ts = PyThreadState_Get();
    if (ts->c_tracefunc || ts->c_profilefunc)
        return 0;
    PyCoroObject *coro = (PyCoroObject *)t->coro;
#if PY_VERSION_HEX >= 0x030D0000
    if (coro->cr_frame_state != FRAME_SUSPENDED_YIELD_FROM)
        return 0;
#else
    if (coro->cr_frame_state != FRAME_SUSPENDED)
        return 0;
#endif
    _PyInterpreterFrame *f = (_PyInterpreterFrame *)coro->cr_iframe;
#if PY_VERSION_HEX >= 0x030D0000
    if (!PyCode_Check(f->f_executable))
        return 0;
    PyCodeObject *code = (PyCodeObject *)f->f_executable;
    _Py_CODEUNIT *at = f->instr_ptr;
#else
    PyCodeObject *code = f->f_code;
    _Py_CODEUNIT *at = f->prev_instr;
#endif
#if PY_VERSION_HEX >= 0x030C0000
    if (code->_co_monitoring)
        return 0;
#endif
    _Py_CODEUNIT *first = _PyCode_CODE(code);
    int i = (int)(at - first);
    /* suspended in `await`: SEND (3.12+: and its cache entry) then YIELD_VALUE, the
       awaited iterator on top of the stack -- ours, so the error is raised in this
       very frame, at SEND.  The frame points at the YIELD_VALUE (3.13: or past it). */
    if (i >= 1 && i < Py_SIZE(code) && GLUPY_OP(first[i]) != YIELD_VALUE &&
        GLUPY_OP(first[i - 1]) == YIELD_VALUE)
        i--;
#if PY_VERSION_HEX >= 0x030C0000
    int send = i - 1 - INLINE_CACHE_ENTRIES_SEND;
    if (send < 0 || i >= Py_SIZE(code) || GLUPY_OP(first[i]) != YIELD_VALUE ||
        (GLUPY_OP(first[send]) != SEND && GLUPY_OP(first[send]) != SEND_GEN))
        return 0;
#else
    int send = i - 1;
    if (send < 0 || i >= Py_SIZE(code) || GLUPY_OP(first[i]) != YIELD_VALUE ||
        GLUPY_OP(first[send]) != SEND)
        return 0;
#endif
    if (f->stacktop <= code->co_nlocalsplus ||
        Py_TYPE(f->localsplus[f->stacktop - 1]) != G.await_type)
        return 0;
    if (glupy_handler_covers(code, send))
        return 0;
#if PY_VERSION_HEX < 0x030C0000
    if (glupy_handler_covers(code, i))
        return 0;
#endif
    coro->cr_frame_state = FRAME_COMPLETED;
    glupy_count_add(&glupy_unhandled_finished, 1);
    return 1;
}
#else
static int glupy_finish_unhandled(glupy_task_t *t)
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
    } else if (c_await && (PyObject *)Py_TYPE(exc) == G.fop_error && glupy_finish_unhandled(t)) {
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

static void glupy_deliver(glupy_task_t *t, int index, PyObject *result);

/* The child xlator wind ``w`` (a glupy.Wind) goes to; NULL with an exception if it
 * is not a wind a glupy Child made for a running translator */
static xlator_t *glupy_wind_target(glupy_task_t *t, PyObject *w)
{
    PyObject *child = ((glupy_wind_t *)w)->child;
    PyObject *args = ((glupy_wind_t *)w)->args;
    int slot = ((glupy_wind_t *)w)->slot;
    xlator_t *xl = NULL;
    if (!((glupy_wind_t *)w)->fop || slot < 0 || slot >= GLUPY_NUM_SLOTS ||
        !glupy_winders[slot] || !args || !PyTuple_Check(args)) {
        PyErr_SetString(PyExc_TypeError, "not a wind made by a glupy Child");
        return NULL;
    }
    if (child && (PyObject *)Py_TYPE(child) == G.child_type) {
        glupy_private_t *priv = t->this->private;
        PyObject *cx = ((glupy_child_t *)child)->xl;
        if (!GLUPY_FREE_THREADED && cx && cx == priv->wound_xl) {
            xl = priv->wound; /* the same child as the last wind: converted then */
        } else if (cx && cx != Py_None) {
            if (glupy_cdata_ptr(cx, GLUPY_CT_XLATOR, (void **)&xl) < 0)
                return NULL;
            if (!GLUPY_FREE_THREADED) { /* the GIL guards the pair */
                Py_XSETREF(priv->wound_xl, Py_NewRef(cx));
                priv->wound = xl;
            }
        }
    }
    if (!xl)
        PyErr_Format(PyExc_TypeError, "%R is not a child of a running translator", child);
    return xl;
}

/* Wind ``w`` (a glupy.Wind) for result ``index``.  A wind that cannot be issued
 * (bad arguments) delivers the error to the coroutine instead. */
static void glupy_issue(glupy_task_t *t, int index, PyObject *w)
{
    glupy_wind_rec_t *rec = &t->recs[index];
    rec->task = t;
    rec->index = index;
    rec->keep = NULL;
    rec->hold = NULL;
    int slot = ((glupy_wind_t *)w)->slot; /* the fop's, read when the wind was made */
    xlator_t *xl = glupy_wind_target(t, w);
    if (!xl)
        goto failed;
    glupy_task_refs_add(t, 1); /* the wind's: dropped by its callback */
    if (glupy_winders[slot](t->frame, xl, rec, ((glupy_wind_t *)w)->args, 0) == 0)
        return;
    glupy_task_refs_add(t, -1);
failed:;
    /* glupy.runtime.driver._wind_failed turns it into the exception the coroutine sees */
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
    glupy_task_refs_add(t, 1);
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
            glupy_task_set_state(t, GLUPY_DONE);
            glupy_finish(t, out);
            Py_DECREF(out);
            glupy_task_done(t);
            return;
        }
        if (r == PYGEN_ERROR) {
            glupy_task_set_state(t, GLUPY_DONE);
            glupy_fail(t);
            glupy_task_done(t);
            return;
        }
        if (live) {
            glupy_detach_reply(live);
            live = NULL;
        }
        if (__atomic_load_n(&t->nargs, __ATOMIC_RELAXED) && !glupy_args_valid_here(t)) {
            glupy_task_lock(t); /* the entry's end may be detaching them too */
            glupy_task_detach_args(t);
            glupy_task_unlock(t);
        }
        PyObject *tp = (PyObject *)Py_TYPE(out);
        unsigned gen;
        if (tp == G.wind_type) {
            t->c_await = ((glupy_wind_t *)out)->awaited;
            ((glupy_wind_t *)out)->awaited = 0;
            if (glupy_task_slots(t, 1) < 0)
                goto bad;
            glupy_task_lock(t);
            t->gathering = 0;
            t->remaining = 1;
            gen = ++t->gen;
            t->thread = glupy_thread_id();
            t->state = GLUPY_WINDING;
            glupy_task_unlock(t);
            glupy_issue(t, 0, out);
        } else if (tp == G.gather_type) {
            glupy_gather_t *g = (glupy_gather_t *)out;
            PyObject *winds = g->winds;
            t->c_await = g->awaited;
            g->awaited = 0;
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
            glupy_task_lock(t);
            t->gathering = 1;
            t->return_exceptions = g->return_exceptions;
            t->remaining = n;
            gen = ++t->gen;
            t->thread = glupy_thread_id();
            t->state = GLUPY_WINDING;
            glupy_task_unlock(t);
            Py_INCREF(winds);
            for (int i = 0; i < n; i++)
                glupy_issue(t, i, PyTuple_GET_ITEM(winds, i));
            Py_DECREF(winds);
        } else if (tp == G.acquire_type) {
            /* glupy.Lock: parked until Lock.release hands it over (glupy_resume) */
            glupy_task_lock(t);
            t->gen++;
            t->state = GLUPY_WAITING;
            glupy_task_unlock(t);
            glupy_task_refs_add(t, 1); /* the waiter's */
            PyObject *got = PyObject_CallFunction(G.acquire, "OK", out,
                                                  (unsigned long long)(uintptr_t)t);
            Py_DECREF(out);
            if (!got) {
                glupy_task_refs_add(t, -1);
                glupy_task_set_state(t, GLUPY_RUNNING);
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
            glupy_task_refs_add(t, -1);
            glupy_task_set_state(t, GLUPY_RUNNING);
            continue;
        } else {
            PyErr_Format(PyExc_TypeError,
                         "a glupy translator can only await child fops, glupy.gather() "
                         "or a glupy.Lock, not %R", out);
            goto bad;
        }
        Py_DECREF(out);
        /* who continues: a nested callback may have already moved the task on */
        glupy_task_lock(t);
        if (t->gen != gen || (t->state != GLUPY_WINDING && t->state != GLUPY_READY)) {
            glupy_task_unlock(t);
            return;
        }
        if (t->state == GLUPY_WINDING) {
            t->state = GLUPY_WAITING;
            glupy_task_unlock(t);
            return;
        }
        t->state = GLUPY_RUNNING;
        glupy_task_unlock(t);
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
        glupy_task_lock(t);
        int remaining = t->remaining - 1;
        if (remaining > 0 || (t->state == GLUPY_WINDING &&
                              (t->thread != glupy_thread_id() || t->depth >= GLUPY_MAX_NESTING))) {
            /* Another thread (or a later step) will use this result after our
               callback has returned: detach it BEFORE it becomes visible.
               Detaching runs Python (the GIL may change hands), so decide again. */
            if (!detached) {
                glupy_task_unlock(t);
                glupy_detach_reply(result);
                detached = 1;
                continue;
            }
            t->results[index] = result;
            t->remaining = remaining;
            if (!remaining)
                t->state = GLUPY_READY;
            glupy_task_unlock(t);
            return;
        }
        break;
    }
    PyObject *value, *exc;
    t->remaining = 0;
    t->state = GLUPY_RUNNING;
    t->results[index] = result;
    glupy_task_unlock(t);
    Py_INCREF(result); /* stays valid as ``live`` while the task runs */
    glupy_collect(t, &value, &exc);
    t->depth++;
    glupy_run(t, value, exc, detached ? NULL : result);
    t->depth--;
    Py_DECREF(result);
}

/* ------------------------------------------------- entry and callback ends */

/* A fop entered Python: call the translator's method with the argument views
 * (``args``, stolen; a NULL entry means a conversion failed; args[-1] may be written
 * during the call) and run it. */
glupy_task_t *glupy_start(xlator_t *this, PyObject *binding, int slot, call_frame_t *frame,
                          PyObject **args, int nargs)
{
    glupy_private_t *priv = this->private;
    glupy_task_t *t = glupy_task_new();
    PyObject *coro = NULL;
    if (!t) {
        for (int i = 0; i < nargs; i++)
            Py_XDECREF(args[i]);
        Py_DECREF(binding);
        Py_BEGIN_ALLOW_THREADS
        glupy_unwind_error(slot, frame, ENOMEM);
        Py_END_ALLOW_THREADS
        return NULL;
    }
    glupy_count_add(&glupy_tasks_live, 1);
    glupy_count_add(&priv->tasks_live, 1);
    t->refs = 1;
    t->slot = slot;
    t->frame = frame;
    t->this = this;
    t->state = GLUPY_RUNNING;
    t->results = &t->result1;
    t->recs = &t->rec1;
    t->inst = Py_NewRef(PyTuple_GET_ITEM(binding, 0));
    t->holders = 2; /* the entry's and the task's */
    /* where the child answered the last time: inside the entry, the arguments are
       left as they are (detached only if the task outlives the entry); else they are
       detached when the coroutine first suspends, and the entry ends without the GIL */
    t->entry_pending = __atomic_load_n(&priv->done_in_entry[slot], __ATOMIC_RELAXED);
    t->entry_thread = glupy_thread_id();
    int ok = 1;
    for (int i = 0; i < nargs; i++)
        ok = ok && args[i];
    if (ok) {
        PyObject *method = PyList_GET_ITEM(PyTuple_GET_ITEM(binding, 1), slot);
        Py_INCREF(method);
        /* args[-1] is free (the entry's array): the bound method puts self there */
        coro = PyObject_Vectorcall(method, args, nargs | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        Py_DECREF(method);
    } else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_RuntimeError, "glupy: a fop argument did not convert");
    }
    Py_DECREF(binding);
    if (nargs <= GLUPY_ENTRY_ARGS_MAX) {
        memcpy(t->args, args, nargs * sizeof(*args)); /* references kept until detached */
        t->nargs = nargs;
    } else {
        for (int i = 0; i < nargs; i++)
            Py_XDECREF(args[i]);
    }
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
    glupy_task_unref(t); /* the entry's reference; the memory waits for glupy_entry_end */
    return t;
}

void glupy_entry_end(glupy_task_t *t)
{
    if (!t)
        return;
    int done = __atomic_load_n(&t->holders, __ATOMIC_ACQUIRE) == 1;
    if (!done && __atomic_load_n(&t->nargs, __ATOMIC_RELAXED)) {
        /* the task outlives the entry with its arguments as they came (nargs is only
           ever cleared, so 0 here is final; a stale nonzero only costs the GIL) */
        int gs = glupy_gil_ensure();
        /* a reply on another thread resumed the coroutine, which let the GIL go
           mid-step: it may be reading the views; it detaches them when it suspends */
        while (__atomic_load_n(&t->holders, __ATOMIC_ACQUIRE) == 2 && t->nargs &&
               glupy_task_get_state(t) == GLUPY_RUNNING) {
            PyThreadState *ts = PyEval_SaveThread();
            sched_yield();
            PyEval_RestoreThread(ts);
        }
        glupy_task_lock(t);
        glupy_task_detach_args(t); /* none left if the coroutine detached them */
        t->entry_pending = 0;
        glupy_task_unlock(t);
        glupy_gil_release(gs);
    }
    glupy_private_t *priv = t->this->private;
    __atomic_store_n(&priv->done_in_entry[t->slot], done, __ATOMIC_RELAXED);
    if (__atomic_sub_fetch(&t->holders, 1, __ATOMIC_ACQ_REL) > 0)
        return; /* the task's last reference frees it */
    /* the common case: done inside the entry (its arguments never copied) */
    if (!glupy_thread_spares_keep(&glupy_task_spares, t))
        free(t);
}

/* A child's error reply that the task would raise now (glupy_deliver), in an await
 * no handler covers (glupy_finish_unhandled): the fop fails with it as it came, and
 * neither the reply nor its FopError is made.  ``raw`` is stolen when 1. */
static int glupy_fail_unhandled(glupy_task_t *t, int32_t op_errno, PyObject *raw)
{
    glupy_task_lock(t);
    if (t->gathering || t->remaining != 1 || !t->c_await || !t->coro ||
        (t->state == GLUPY_WINDING &&
         (t->thread != glupy_thread_id() || t->depth >= GLUPY_MAX_NESTING)) ||
        !glupy_finish_unhandled(t)) {
        glupy_task_unlock(t);
        return 0;
    }
    t->remaining = 0;
    t->c_await = 0;
    t->state = GLUPY_DONE;
    glupy_task_unlock(t);
    if (op_errno <= 0)
        op_errno = EIO;
    if (glupy_unwind_raw(t, -1, op_errno, raw) != 0) {
        PyErr_Clear(); /* not expected: the child's arguments, unchanged */
        glupy_unwind_errno(t, op_errno);
    }
    Py_DECREF(raw);
    glupy_task_done(t);
    return 1;
}

/* A reply only the task still held when its coroutine was done with it, per fop:
 * emptied and used for the fop's next reply (under the GIL), which saves an
 * allocation and a deallocation per Python fop. */
static GLUPY_SPARES(1) glupy_reply_spares[GLUPY_NUM_SLOTS];

/* Drop a reference to ``result`` (a child's reply to fop ``slot``, once delivered): a
 * reply of the fop's own class that nothing else holds is emptied and kept. */
static void glupy_reply_drop(PyObject *result, int slot)
{
    if (Py_REFCNT(result) != 1 || (PyObject *)Py_TYPE(result) != G.reply_cls[slot] ||
        glupy_spares_full(&glupy_reply_spares[slot])) {
        Py_DECREF(result);
        return;
    }
    Py_TYPE(result)->tp_clear(result); /* glupy._core's reply_clear, via the subclass */
    if (Py_REFCNT(result) != 1 || !glupy_spares_keep(&glupy_reply_spares[slot], result))
        Py_DECREF(result); /* clearing ran Python that took it */
}

/* What the coroutine gets for a child's reply (``raw`` stolen): the reply, or a
 * FopError carrying it; the exception if out of memory. */
static PyObject *glupy_reply_result(glupy_task_t *t, int slot, int32_t op_ret,
                                    int32_t op_errno, PyObject *raw)
{
    PyTypeObject *cls = (PyTypeObject *)G.reply_cls[slot];
    PyObject *r = glupy_spares_take(&glupy_reply_spares[slot]);
    if (r && (Py_REFCNT(r) != 1 || Py_TYPE(r) != cls)) /* the gc module handed it out */
        Py_CLEAR(r);
    if (!raw)
        Py_CLEAR(r);
    else if (!r)
        r = cls->tp_alloc(cls, 0);
    PyObject *result = NULL;
    if (r) {
        glupy_reply_t *reply = (glupy_reply_t *)r;
        reply->raw = raw;
        raw = NULL;
        reply->vals = Py_NewRef(Py_None); /* field values: made when first read */
        reply->inst = Py_NewRef(t->inst);
        reply->dirty = Py_NewRef(Py_False);
        reply->op_ret = PyLong_FromLong(op_ret);
        reply->op_errno = PyLong_FromLong(op_errno);
        if (op_ret >= 0) {
            result = r;
            r = NULL;
        } else {
            /* FopError(op_errno, reply=r) without running its __init__ */
            PyTypeObject *et = (PyTypeObject *)G.fop_error;
            PyObject *e = et->tp_new(et, G.empty_tuple, NULL);
            PyObject *code = e ? PyLong_FromLong(op_errno) : NULL;
            if (code) {
                glupy_fop_error_t *fe = (glupy_fop_error_t *)e;
                fe->errno_ = code;
                fe->reply = Py_NewRef(r);
                fe->message = Py_NewRef(Py_None);
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
    return result;
}

/* A child's callback: ``raw`` (stolen) holds its C reply arguments. */
void glupy_reply(void *cookie, int slot, int32_t op_ret, int32_t op_errno,
                        PyObject *raw)
{
    glupy_wind_rec_t *rec = cookie;
    glupy_task_t *t = rec->task;
    int index = rec->index;
    PyObject *keep = rec->keep, *hold = rec->hold;
    rec->keep = rec->hold = NULL;
    if (!(op_ret < 0 && raw && glupy_fail_unhandled(t, op_errno, raw))) {
        PyObject *result = glupy_reply_result(t, slot, op_ret, op_errno, raw);
        Py_INCREF(result);
        glupy_deliver(t, index, result);
        glupy_reply_drop(result, slot);
    }
    if (hold && glupy_tail && glupy_tail->set)
        glupy_tail_take_releases(glupy_tail, hold);
    Py_XDECREF(keep);
    Py_XDECREF(hold);
    glupy_task_unref(t); /* the wind's reference */
}

/* ------------------------------------------------------ called from Python */

/* glupy.Lock.release handed the lock to parked task ``handle``: continue it here. */
void glupy_resume(uintptr_t handle)
{
    PyGILState_STATE gs = PyGILState_Ensure(); /* cffi released it for this call */
    glupy_task_t *t = (glupy_task_t *)handle;
    glupy_tail_t *outer = glupy_tail;
    glupy_tail = NULL; /* called from Python: its unwind is done here, at once */
    glupy_task_set_state(t, GLUPY_RUNNING);
    t->depth++;
    glupy_run(t, NULL, NULL, NULL);
    t->depth--;
    glupy_task_unref(t); /* the waiter's reference */
    glupy_tail = outer;
    PyGILState_Release(gs);
}

/* Tasks not finished and freed yet (read without the GIL: a snapshot). */
long glupy_tasks_in_flight(void)
{
    return __atomic_load_n(&glupy_tasks_live, __ATOMIC_RELAXED);
}

/* Tasks that ended on a thread other than their entry's, which made their argument
 * views (glupy.runtime.latefrees); counted only when built GLUPY_FREE_THREADED (0
 * otherwise); a snapshot, read without the GIL. */
long glupy_tasks_ended_off_entry(void)
{
    return __atomic_load_n(&glupy_tasks_off_entry, __ATOMIC_RELAXED);
}

/* Failed fops whose FopError was not raised through the translator's frame
 * (glupy_finish_unhandled); a snapshot, read without the GIL. */
long glupy_failures_finished_in_c(void)
{
    return __atomic_load_n(&glupy_unhandled_finished, __ATOMIC_RELAXED);
}

int glupy_free_threaded(void)
{
    return GLUPY_FREE_THREADED;
}

/* The frame of the fop whose coroutine runs on this thread (NULL outside). */
call_frame_t *glupy_current_frame(void)
{
    return glupy_current ? glupy_current->frame : NULL;
}
