/* The bridge's internal interface: what its C files share.
 *
 * The bridge (glupy/_bridge/glupy.so, the features/glupy xlator) is one cffi
 * embedding module built from these translation units (glupy/_build/build.py):
 *
 *   bridge.c     the xlator: xlator_api, starting CPython, the fop/cbk tables
 *   task.c       the task engine: a fop handled in Python, from entry to unwind
 *   convert.c    C values -> Python views, and Python values -> C wind arguments
 *   types.c      the raw reply the engine hands Python, the reply vector
 *                converter, and the iobufs lent to glupy._core's Vector
 *   setup.c      glupy.runtime.driver.attach's hand-over of Python classes and helpers
 *   detach.c     views and replies made independent of their caller's memory
 *   misscache.c  glupy.MissCache, consulted by the lookup entry without the GIL
 *   rules.c      glupy.Refuse, Mark, WhenMarked: fops refused or passed on in C,
 *                before Python; inode and fd marks
 *   journal.c    glupy.Journal: fops recorded in C, drained by a Python thread
 *   dump.c       the statedump section (kill -USR1), written from glupy.runtime.procstatus
 *   fops.c       generated per fop from fops-tmpl.c (glupy/_build/codegen.py):
 *                entry, callback, wind and unwind of each fop, and the tables
 *
 * The types Python and the engine share (FopError, Wind, Gather, the reply base,
 * Vector, the views' storage) are glupy._core's, a separate extension module
 * (core.h; core-module.h lists its files), reached through its capsule.
 *
 * fops.h (generated from fops-tmpl.h) gives the fop table's numbers: slots,
 * view kinds, pointer types.  Everything here is hidden: only xlator_api and
 * cffi's module init leave the library.
 */
#ifndef GLUPY_H
#define GLUPY_H

#include <Python.h>
#include <structmember.h>
#include <pthread.h>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include <glusterfs/xlator.h>
#include <glusterfs/defaults.h>
#include <glusterfs/stack.h>
#include <glusterfs/logging.h>
#include <glusterfs/globals.h>
#include <glusterfs/iobuf.h>

#pragma GCC visibility push(hidden)

struct _cffi_ctypedescr; /* cffi's, opaque here */

#include "fops.h"
#include "core.h"

/* ---------------------------------------------------------- per instance */
typedef struct {
    /* the Python class defines notify(): route events through Python */
    int py_notify;
    struct xlator_fops *fops;
    struct xlator_cbks *cbks;
    /* (inst, methods): the glupy.runtime.driver.Instance and its fop methods (a list:
       slot -> bound method or None), replaced together by a reload (setup.c
       glupy_set_methods); a fop's entry reads both with one load (glupy_binding) */
    PyObject *binding;
    /* the child the last wind went to: its Child.xl (cdata) and what that points at
       (under the GIL; unused when GLUPY_FREE_THREADED) */
    PyObject *wound_xl;
    xlator_t *wound;
    struct glupy_miss_cache *miss_cache; /* consulted by the lookup entry (misscache.c) */
    struct glupy_attr_cache *attr_cache; /* lookup/stat/fstat entries (attrcache.c) */
    struct glupy_rules *rules;           /* every entry, first (rules.c) */
    struct glupy_journal *journal;       /* fops wound on in C record here (journal.c) */
    uint64_t python_calls[GLUPY_NUM_SLOTS]; /* fops that entered Python, per slot */
    struct glupy_cbks_wanted cbks_wanted; /* the cbks the class defines */
    long tasks_live; /* tasks not finished yet (glupy_count_add) */
    /* per slot: the last task finished inside its entry (its child answered there),
       so the next one leaves its arguments as they are until its entry ends */
    unsigned char done_in_entry[GLUPY_NUM_SLOTS];
} glupy_private_t;
#define glupy_binding(priv) __atomic_load_n(&(priv)->binding, __ATOMIC_ACQUIRE)

/* ------------------------------------------------------------------ tasks */
enum { GLUPY_RUNNING, GLUPY_WINDING, GLUPY_WAITING, GLUPY_READY, GLUPY_DONE };
#define GLUPY_MAX_NESTING 24 /* synchronous replies resumed in place up to this depth */

typedef struct glupy_task glupy_task_t;

#define GLUPY_ENTRY_ARGS_MAX 8 /* put: the most Python arguments of any fop */

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
    int c_await; /* the coroutine last suspended in glupy._core's await iterator */
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
    /* the fop's argument views until they are detached (task.c glupy_entry_end: the
       caller may free what they point at once the fop's entry returns) */
    PyObject *args[GLUPY_ENTRY_ARGS_MAX];
    int nargs;
    /* the argument views stay as they are while the coroutine runs on the entry's
       thread before the entry (glupy_c_<fop>) returns (task.c glupy_entry_end) */
    int entry_pending;
    unsigned long entry_thread;
    /* atomic: who still holds the task's memory, the entry (until glupy_entry_end)
       and the task (until its last reference): the last one frees it */
    int holders;
#if GLUPY_FREE_THREADED
    pthread_mutex_t lock; /* glupy_task_lock */
#endif
};

/* A task's state machine (state, gen, remaining, results, thread, depth) changes on
 * the thread that runs its coroutine, on the threads its children reply on and on a
 * glupy.Lock's releaser.  The GIL makes each decision and its stores one step; without
 * it (GLUPY_FREE_THREADED, core.h) the task's own mutex does, taken around those
 * stretches of C only, never while Python runs or a wind is issued.  ``refs`` is
 * counted atomically then. */
#if GLUPY_FREE_THREADED
#define glupy_task_lock_init(t) pthread_mutex_init(&(t)->lock, NULL)
#define glupy_task_lock(t) pthread_mutex_lock(&(t)->lock)
#define glupy_task_unlock(t) pthread_mutex_unlock(&(t)->lock)
#define glupy_task_refs_add(t, n) __atomic_add_fetch(&(t)->refs, (n), __ATOMIC_ACQ_REL)
#else
#define glupy_task_lock_init(t) ((void)0)
#define glupy_task_lock(t) ((void)0)
#define glupy_task_unlock(t) ((void)0)
#define glupy_task_refs_add(t, n) ((t)->refs += (n))
#endif

/* The task running on this thread (initial-exec: a plain %fs access instead of
 * a __tls_get_addr call per use). */
extern __thread glupy_task_t *glupy_current __attribute__((tls_model("initial-exec")));

/* A fop entered Python: call the method of ``binding`` (priv->binding, what the entry
 * built the views with; a reference, stolen) with the argument views ``args`` (stolen;
 * args[-1] may be written during the call) and drive the coroutine.  Returns the task
 * (or NULL), for glupy_entry_end once the entry's tail has run. */
glupy_task_t *glupy_start(xlator_t *this, PyObject *binding, int slot, call_frame_t *frame,
                          PyObject **args, int nargs);
/* The last step of a fop's entry, GIL held or not: a task that finished is freed; one
 * still suspended gets its argument views detached before the entry returns. */
void glupy_entry_end(glupy_task_t *t);
/* A child's callback for the wind ``cookie``: ``raw`` (stolen) holds its C arguments. */
void glupy_reply(void *cookie, int slot, int32_t op_ret, int32_t op_errno, PyObject *raw);
/* called from Python (cffi) */
void glupy_resume(uintptr_t handle);
long glupy_tasks_in_flight(void);
long glupy_failures_finished_in_c(void);
long glupy_tasks_ended_off_entry(void); /* glupy.runtime.latefrees */
int glupy_free_threaded(void); /* built with GLUPY_FREE_THREADED (core.h) */
call_frame_t *glupy_current_frame(void);
int glupy_driver_setup(void);
const char *glupy_driver_setup_error(void); /* why it failed: "Type: message" */

/* --------------------------------------------------- the GIL per thread */
/* Every GlusterFS thread that enters Python keeps one Python thread state for
   its whole life.  Without this, each call from a non-Python thread would
   create and destroy a PyThreadState (PyGILState_Ensure/Release with a zero
   count), which costs more than the fop itself. */
extern __thread int glupy_thread_ready __attribute__((tls_model("initial-exec")));
extern __thread PyThreadState *glupy_tstate __attribute__((tls_model("initial-exec")));
void glupy_enter_thread_first(void);

static inline void glupy_enter_thread(void)
{
    if (__builtin_expect(!glupy_thread_ready, 0))
        glupy_enter_thread_first();
}

/* this thread's attached Python thread state, or NULL: public from 3.13 on; before,
   only CPython's own exported name has it (CI runs 3.11, 3.12 and 3.13) */
#if PY_VERSION_HEX >= 0x030D0000
#define glupy_current_tstate() PyThreadState_GetUnchecked()
#else
#define glupy_current_tstate() _PyThreadState_UncheckedGet()
#endif

/* The GIL for a fop entry or a callback, with the thread state kept above:
   PyGILState_Ensure/Release without their thread-local lookups and counter.
   Returns 0 when this thread already holds it (then glupy_gil_release keeps it). */
static inline int glupy_gil_ensure(void)
{
    glupy_enter_thread();
    if (__builtin_expect(glupy_current_tstate() == glupy_tstate, 0))
        return 0;
    PyEval_RestoreThread(glupy_tstate);
    return 1;
}

static inline void glupy_gil_release(int taken)
{
    if (taken)
        PyEval_SaveThread();
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
    /* what the wind-argument views of the callback's task owned (detach.c): the
       reply may point into it, so it is released after the unwind, not with them */
    int nreleases;
    void *owned[GLUPY_ENTRY_ARGS_MAX];
    void (*release[GLUPY_ENTRY_ARGS_MAX])(void *);
    /* with ``wind``: a hand-off's Python objects its C arguments point into, dropped
       after the wind with the GIL taken back (NULL: nothing to drop) */
    PyObject *drop;
} glupy_tail_t;

extern __thread glupy_tail_t *glupy_tail __attribute__((tls_model("initial-exec")));

static inline glupy_tail_t *glupy_tail_arm(glupy_tail_t *tail, int gs)
{
    glupy_tail_t *outer = glupy_tail;
    tail->set = 0;
    tail->nreleases = 0;
    glupy_tail = gs ? tail : NULL;
    return outer;
}

/* The end of an entry/callback (GIL held): the recorded unwind, GIL released
 * first and not taken back; else the GIL released as glupy_gil_release. */
void glupy_tail_run(glupy_tail_t *tail, glupy_tail_t *outer, int gs);
/* A single wind of a task: issued as the tail (1), or 0: the caller issues it now. */
int glupy_tail_wind(call_frame_t *frame, xlator_t *child, glupy_wind_rec_t *rec,
                    glupy_do_wind_t wind, const void *wargs, size_t size, PyObject *py_args);
/* A wind the coroutine returned (``return self.child.F(...)``): the fop handed off to
 * the child, as the tail or now; its reply is the fop's and never reaches Python.
 * 0, or -1 with an exception (nothing wound). */
int glupy_hand_off(call_frame_t *frame, xlator_t *child, glupy_wind_rec_t *rec,
                   glupy_do_wind_t wind, const void *wargs, size_t size, PyObject *py_args);

/* -------------------------------------------------------- per fop (fops.c) */
/* Python's wind arguments -> C, then STACK_WIND (or recorded as the tail) */
/* Python's wind arguments converted and wound; the last argument: hand the fop off
 * (glupy_hand_off) instead of winding it for the task */
typedef int (*glupy_winder_t)(call_frame_t *, xlator_t *, glupy_wind_rec_t *, PyObject *, int);
/* A child's reply ``raw`` unwound, fields of ``mask`` replaced by ``vals``, or (raw
 * NULL, mask all ones) a reply Python built, from ``vals`` (see fops-tmpl.c); the
 * last argument: unwind as the tail of an entry/callback. */
typedef int (*glupy_reply_unwinder_t)(call_frame_t *, int32_t, int32_t, PyObject *, PyObject *,
                                      unsigned long, glupy_wind_rec_t *, int);
extern const glupy_winder_t glupy_winders[GLUPY_NUM_SLOTS];
extern const glupy_reply_unwinder_t glupy_reply_unwinders[GLUPY_NUM_SLOTS];
extern void *const glupy_entry_points[GLUPY_NUM_SLOTS];
/* fail the fop of ``slot`` with ``op_errno`` (GIL released) */
void glupy_unwind_error(int slot, call_frame_t *frame, int32_t op_errno);

/* ------------------------------------------------------------ Python objects */
/* Python objects the engine uses, handed over once by glupy.runtime.driver.attach() (setup.c) */
typedef struct {
    glupy_core_api_t *core; /* glupy._core's types */
    PyObject *fop_error, *wind_type, *gather_type, *acquire_type, *vector_type;
    PyTypeObject *await_type; /* glupy._core's (core.h) */
    PyObject *reply_cls[GLUPY_NUM_SLOTS];
    PyObject *child_type;
    PyObject *view_cls[GLUPY_NUM_VIEWS];
    PyObject *ctypes[GLUPY_NUM_CTYPES];
    /* helpers in glupy.runtime.driver */
    PyObject *finish_slow, *fail_slow, *crash, *to_c, *acquire, *wind_failed;
    PyObject *empty_tuple;
    PyObject *s_throw;
    /* cffi's own conversions (its _cffi_* helpers exist only in the cffi module's
       source, which hands them over): a C pointer <-> a cdata of G.ctypes[ct] */
    PyObject *(*cdata_from_ptr)(char *p, struct _cffi_ctypedescr *ctype);
    char *(*cdata_to_ptr)(PyObject *cdata, struct _cffi_ctypedescr *ctype);
} glupy_objects_t;

extern glupy_objects_t G;

extern long glupy_tasks_live;         /* glupy_count_add; reported by `glupy status` */
extern long glupy_unhandled_finished; /* failed fops finished by glupy_finish_unhandled */

/* the cffi module (build.py) hands over its conversions, before glupy_driver_setup */
void glupy_cffi_bind(void);

static inline unsigned long glupy_thread_id(void)
{
    return (unsigned long)pthread_self();
}

/* ------------------------------------------------------------ convert.c */
/* the cdata of pointer ``p`` as G.ctypes[ct] */
static inline PyObject *glupy_ptr(const void *p, int ct)
{
    return G.cdata_from_ptr((char *)p, (struct _cffi_ctypedescr *)G.ctypes[ct]);
}

/* C -> Python: new references */
PyObject *glupy_view(int kind, int ct, void *p, PyObject *inst);
void glupy_arg_drop(PyObject *arg);
PyObject *glupy_str(const char *p);
PyObject *glupy_vector(struct iovec *iov, int32_t count, struct iobref *iobref);
/* Python -> C: 0, or -1 with an exception set; what the C value points into is
 * kept in rec->keep */
int glupy_cdata_ptr(PyObject *cdata, int ct, void **out);
/* the pointer a view (glupy._core's View) points at, as ``ct``: NULL if none */
int glupy_view_ptr(glupy_view_t *v, int ct, void **out);
PyObject *glupy_view_cdata(void *p, int ct);
int glupy_arg_view(PyObject *value, int kind, int ct, const char *kname, glupy_wind_rec_t *rec,
                   void **out);
int glupy_arg_other(PyObject *value, int ct, const char *kname, glupy_wind_rec_t *rec,
                    void **out);
int glupy_arg_str(PyObject *value, int ct, const char *kname, glupy_wind_rec_t *rec,
                  void **out);
int glupy_arg_vector(PyObject *value, glupy_wind_rec_t *rec, struct iovec **iov,
                     int32_t *count, struct iobref **iobref);
int glupy_arg_int(PyObject *value, long long *out);
int glupy_arg_uint(PyObject *value, unsigned long long *out);

/* ------------------------------------------------------------ detach.c */
/* ``view`` takes a reference or copy of what it points at (glupy_core_api_t.detach_view):
 * 0, 1 if it is not a view of a kind detached in C, -1 with an exception set */
int glupy_view_detach(PyObject *view);
/* A fop's argument views, when its coroutine first suspends (task.c): what an
 * argument points at may be freed by the caller once the fop call returns. */
void glupy_detach_args(PyObject **args, int nargs);
/* A child's reply (or a FopError carrying one), when the coroutine keeps it past the
 * callback that delivered it. */
void glupy_detach_reply(PyObject *result);
/* A callback is about to drop its wind's argument tuple ``hold`` while the tail it
 * set (an unwind, or the next wind) is still to run: what views freed with it own
 * moves to the tail, released after it (glupy_tail_run). */
void glupy_tail_take_releases(glupy_tail_t *tail, PyObject *hold);
void glupy_tail_releases(glupy_tail_t *tail);

/* ------------------------------------------------------------ types.c */
/* A child's reply keeps its callback's C arguments as they are (Reply._raw): a
 * small sequence made without a cffi object per pointer.  Its fields are converted
 * by glupy_reply_field when Python reads them; ``raw[i]`` makes the cdata (or int)
 * of argument i for an unchanged reply unwound through cffi (*raw); the C unwinders
 * read the values directly. */
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

extern PyTypeObject glupy_raw_type;

PyObject *glupy_raw_new(int n, const signed char *kinds);

static inline int glupy_raw_check(PyObject *raw, int n)
{
    return Py_IS_TYPE(raw, &glupy_raw_type) && ((glupy_raw_t *)raw)->n == n;
}

/* argument i of a reply's raw C arguments (checked with glupy_raw_check) */
#define GLUPY_RAW(raw, i) (((glupy_raw_t *)(raw))->v[i])

/* Ready the types, lend glupy._core (G.core) the iobuf functions and the reply
 * fields' conversion (``config["view_kinds"]``: the view kinds' names in GLUPY_V_*
 * order): 0, or -1 with an exception set. */
int glupy_types_setup(PyObject *config);

/* a new iobref with one buffer of ``size`` bytes at iov (bindings/iobuf.py) */
struct iobref *glupy_iobref_alloc(struct iobuf_pool *pool, size_t size, struct iovec *iov);

/* ------------------------------------------------ misscache.c, attrcache.c */
/* the tables' clock (ns, CLOCK_MONOTONIC) and bucket hash of a gfid */
static inline int64_t glupy_mc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline uint64_t glupy_mc_gfid_hash(const unsigned char *gfid)
{
    uint64_t h;
    memcpy(&h, gfid + 8, sizeof(h));
    return h;
}

/* What Python calls (cffi declarations read from here, codegen.py): */
typedef struct glupy_miss_cache glupy_miss_cache_t;
glupy_miss_cache_t *glupy_mc_new(uint64_t max_entries, double timeout);
void glupy_mc_unref(glupy_miss_cache_t *mc);
int glupy_mc_hit(glupy_miss_cache_t *mc, const unsigned char *gfid, const char *name, size_t len);
int glupy_mc_add(glupy_miss_cache_t *mc, const unsigned char *gfid, const char *name, size_t len);
int glupy_mc_discard(glupy_miss_cache_t *mc, const unsigned char *gfid, const char *name,
                     size_t len);
size_t glupy_mc_parent_names(glupy_miss_cache_t *mc, const unsigned char *gfid, int drop);
uint64_t glupy_mc_generation(glupy_miss_cache_t *mc, const unsigned char *gfid);
int glupy_mc_add_unless_changed(glupy_miss_cache_t *mc, const unsigned char *gfid,
                                const char *name, size_t len, uint64_t gen);
void glupy_mc_configure(glupy_miss_cache_t *mc, uint64_t max_entries, double timeout);
void glupy_mc_clear(glupy_miss_cache_t *mc);
void glupy_mc_stats(glupy_miss_cache_t *mc, uint64_t *out);
int glupy_set_miss_cache(xlator_t *this, glupy_miss_cache_t *mc);
typedef struct glupy_attr_cache glupy_attr_cache_t;
glupy_attr_cache_t *glupy_ac_new(uint64_t max_entries, double timeout);
void glupy_ac_unref(glupy_attr_cache_t *ac);
uint64_t glupy_ac_epoch(glupy_attr_cache_t *ac);
int glupy_ac_put(glupy_attr_cache_t *ac, const struct iatt *iatt, uint64_t epoch, int by_lookup);
int glupy_ac_get(glupy_attr_cache_t *ac, const unsigned char *gfid, struct iatt *out,
                 int for_lookup);
int glupy_ac_drop(glupy_attr_cache_t *ac, const unsigned char *gfid);
void glupy_ac_configure(glupy_attr_cache_t *ac, uint64_t max_entries, double timeout);
void glupy_ac_clear(glupy_attr_cache_t *ac);
void glupy_ac_stats(glupy_attr_cache_t *ac, uint64_t *out);
int glupy_set_attr_cache(xlator_t *this, glupy_attr_cache_t *ac);
typedef struct glupy_rules glupy_rules_t;
glupy_rules_t *glupy_rules_new(void);
int glupy_rules_set(glupy_rules_t *rules, int slot, int op_errno, uint64_t if_bits, int python);
int glupy_rules_set_marks(glupy_rules_t *rules, int slot, uint64_t if_marked, int python_unknown,
                          uint64_t python_if, uint64_t set_fd);
int glupy_rules_mark(glupy_rules_t *rules, uint64_t bit, int on_inode, const char *xattr);
uint64_t glupy_marks_get(xlator_t *this, inode_t *inode, fd_t *fd);
void glupy_marks_change(xlator_t *this, inode_t *inode, fd_t *fd, uint64_t set, uint64_t clear);
void glupy_set_rules(xlator_t *this, glupy_rules_t *rules);
uint64_t glupy_python_calls(xlator_t *this, int slot);
typedef struct glupy_journal glupy_journal_t;
typedef struct glupy_journal_record {
    struct glupy_journal_record *next;
    glupy_journal_t *journal;
    int64_t time_ns;    /* CLOCK_REALTIME at the entry */
    int64_t latency_ns; /* entry to reply */
    int slot;
    uint32_t uid, gid;
    int32_t pid, op_ret, op_errno;
    unsigned char gfid[16];
    int has_path;
    char path[];
} glupy_journal_record_t;
glupy_journal_t *glupy_journal_new(uint64_t capacity, const char *prefix);
int glupy_journal_watch(glupy_journal_t *j, int slot);
void glupy_journal_stats(glupy_journal_t *j, uint64_t *out);
size_t glupy_journal_take(glupy_journal_t *j, glupy_journal_record_t **out, size_t n);
size_t glupy_journal_take_json(glupy_journal_t *j, char *buf, size_t size, uint64_t *records);
void glupy_journal_record_free(glupy_journal_record_t *r);
void glupy_set_journal(xlator_t *this, glupy_journal_t *j);
/* (end of what Python calls) */

/* The entries' fast paths (attrcache.c): 1 if the fop was answered (unwound) from
 * the table, without the GIL. */
int glupy_attr_cache_lookup(xlator_t *this, call_frame_t *frame, loc_t *loc, dict_t *xdata);
int glupy_attr_cache_stat(xlator_t *this, call_frame_t *frame, inode_t *inode, dict_t *xdata);
int glupy_attr_cache_fstat(xlator_t *this, call_frame_t *frame, fd_t *fd, dict_t *xdata);
/* GF_EVENT_UPCALL, in C before Python (bridge.c glupy_notify): drop what a cache
 * invalidation names from each table */
void glupy_miss_cache_upcall(xlator_t *this, void *data);
void glupy_attr_cache_upcall(xlator_t *this, void *data);
/* A fop wound on in C (journal.c): its record (NULL: not journaled), then its reply */
/* the fop names of the slots (glupy.fops), for journal.c's JSON lines */
extern const char *const glupy_fop_names[GLUPY_NUM_SLOTS];
void *glupy_journal_begin(xlator_t *this, call_frame_t *frame, int slot, loc_t *loc, fd_t *fd);
void glupy_journal_end(void *record, int32_t op_ret, int32_t op_errno);
/* The entry and the unwind of a fop that makes a name exist (codegen NAME_CREATING) */
void glupy_miss_cache_forget_name(xlator_t *this, loc_t *loc);
void glupy_miss_cache_created(xlator_t *this, int32_t op_ret, struct iatt *parent);
/* The miss table's key directory of a named loc: its pargfid, else its parent
 * inode's gfid; NULL for a nameless loc or an unknown parent. */
static inline const unsigned char *glupy_miss_cache_parent(loc_t *loc)
{
    static const unsigned char null_gfid[16];
    if (!loc || !loc->name || !*loc->name)
        return NULL;
    const unsigned char *gfid = loc->pargfid;
    if (!memcmp(gfid, null_gfid, 16) && loc->parent)
        gfid = loc->parent->gfid;
    return memcmp(gfid, null_gfid, 16) ? gfid : NULL;
}

/* A lookup wound on in C for a translator whose MissCache learns misses in C (it
 * defines no lookup): begin, in the entry (1: the reply must reach lookup_end;
 * frame->local keeps the name), and end, in the reply (ENOENT cached unless the
 * parent's generation moved; a directory's moved times drop its misses). */
int glupy_miss_cache_lookup_begin(xlator_t *this, call_frame_t *frame, loc_t *loc);
void glupy_miss_cache_lookup_end(xlator_t *this, call_frame_t *frame, int32_t op_ret,
                                 int32_t op_errno, struct iatt *buf, struct iatt *postparent);

/* Called first by the lookup entry: 1 if it should answer ENOENT (a cached miss). */
static inline int glupy_miss_cache_answers(xlator_t *this, loc_t *loc)
{
    glupy_private_t *priv = this->private;
    glupy_miss_cache_t *mc = __atomic_load_n(&priv->miss_cache, __ATOMIC_ACQUIRE);
    const unsigned char *parent = mc ? glupy_miss_cache_parent(loc) : NULL;
    return parent && glupy_mc_hit(mc, parent, loc->name, strlen(loc->name));
}

/* glupy.Mark: bits the bridge keeps per instance on inodes (the context's value2;
 * value1 is Python's ctx marker) and fds (the context's value, bit 0 Python's
 * marker).  An inode's GLUPY_MARK_KNOWN: its inode marks are known (learned from a
 * lookup reply's xattrs, a create, or Python); a mark is bit 1 and up. */
#define GLUPY_MARK_KNOWN 1ULL
#define GLUPY_MAX_MARKS 16
uint64_t glupy_inode_marks(xlator_t *this, inode_t *inode);
uint64_t glupy_fd_marks(xlator_t *this, fd_t *fd);
/* set and clear bits of an fd's context value (Python's marker: bit 0) */
int glupy_fd_bits_change(xlator_t *this, fd_t *fd, uint64_t set, uint64_t clear);

/* glupy.Refuse, per fop slot: refuse with op_errno (0: never) when the fop's flag
 * argument has any of if_bits (0: whatever it is) and its target has any of the
 * marks if_marked (0: whatever it has; a target inode whose marks are not known
 * yet goes to Python if python_unknown, else on to the child).  A fop the rules let
 * through goes on to Python (python; with python_if: only when a target has one of
 * those marks or is an inode not known yet) or straight to the child, in C; set_fd:
 * marks set on its fd first.  The target: the inode of the fop's first loc or fd
 * (copy_file_range: fd_out), with that fd; other: a second loc's inode (rename,
 * link: newloc; copy_file_range: fd_in's). */
struct glupy_rule {
    int op_errno;
    int python_unknown;
    uint64_t if_bits;
    uint64_t if_marked;
    uint64_t python_if;
    uint64_t set_fd;
};
struct glupy_rules {
    struct glupy_rule slot[GLUPY_NUM_SLOTS];
    unsigned char python[GLUPY_NUM_SLOTS];
    uint64_t inode_marks; /* bits of the inode marks (their targets may be unknown) */
    int nxattrs;          /* marks learned from a lookup's xattrs (rules.c) */
    uint64_t xattr_bit[GLUPY_MAX_MARKS];
    char *xattr[GLUPY_MAX_MARKS];
};

/* 1 if ``mask`` needs inode marks the target has not learned yet */
static inline int glupy_marks_unknown(const struct glupy_rules *r, uint64_t mask, uint64_t marks)
{
    return (mask & r->inode_marks) && !(marks & GLUPY_MARK_KNOWN);
}

static inline uint64_t glupy_target_marks(xlator_t *this, inode_t *inode, fd_t *fd)
{
    return glupy_inode_marks(this, inode) | (fd ? glupy_fd_marks(this, fd) : 0);
}

/* Called first by every entry, without the GIL: 1 if the fop goes on to Python;
 * 0 if the rules decided it: *op_errno to refuse it with, else 0 (wind it on). */
static inline int glupy_rules_to_python(xlator_t *this, int slot, uint64_t arg, inode_t *inode,
                                        fd_t *fd, inode_t *other, int *op_errno)
{
    glupy_private_t *priv = this->private;
    const struct glupy_rules *r = __atomic_load_n(&priv->rules, __ATOMIC_ACQUIRE);
    *op_errno = 0;
    if (!r)
        return 1;
    const struct glupy_rule *rule = &r->slot[slot];
    int to_python = r->python[slot];
    if (rule->op_errno && (!rule->if_bits || (arg & rule->if_bits))) {
        if (!rule->if_marked) {
            *op_errno = rule->op_errno;
            return 0;
        }
        uint64_t marks = glupy_target_marks(this, inode, fd);
        if (marks & rule->if_marked) {
            *op_errno = rule->op_errno;
            return 0;
        }
        if (glupy_marks_unknown(r, rule->if_marked, marks))
            to_python = rule->python_unknown;
    }
    if (__builtin_expect(rule->python_if != 0, 0) && !to_python) {
        uint64_t marks = glupy_target_marks(this, inode, fd);
        to_python = (marks & rule->python_if) || glupy_marks_unknown(r, rule->python_if, marks);
        if (other && !to_python) {
            marks = glupy_inode_marks(this, other);
            to_python = (marks & rule->python_if) || glupy_marks_unknown(r, rule->python_if, marks);
        }
    }
    if (__builtin_expect(rule->set_fd != 0, 0) && fd)
        glupy_fd_bits_change(this, fd, rule->set_fd, 0);
    return to_python;
}

/* lookup wound on in C: ``xdata`` (a new ref, or a new dict) asking for the xattrs
 * marks are learned from; NULL if none are.  Its reply: glupy_marks_learn. */
dict_t *glupy_marks_ask(xlator_t *this, dict_t *xdata);
void glupy_marks_learn(xlator_t *this, int32_t op_ret, inode_t *inode, dict_t *xdata);
/* a created inode (create, mknod, mkdir, symlink): its marks are known, none set */
void glupy_marks_created(xlator_t *this, int32_t op_ret, inode_t *inode);
/* forget/release/releasedir: 1 if Python has something to do (glupy_install_cbks) */
int glupy_forget_to_python(xlator_t *this, inode_t *inode);
int glupy_release_to_python(xlator_t *this, fd_t *fd, int dir);

/* ------------------------------------------------------------ dump.c */
/* the xlator's statedump (dumpops.priv): the section glupy.runtime.procstatus writes */
int32_t glupy_dump_priv(xlator_t *this);
/* What Python calls (build.py BRIDGE_CDEF): one key = value line of a dump in the making;
 * an instance's tasks in flight (a snapshot) */
int glupy_dump_line(void *dump, const char *key, const char *value);
long glupy_instance_tasks(xlator_t *this);
int glupy_py_dump(xlator_t *this, void *dump);

/* ------------------------------------------------------------ bridge.c */
int glupy_install_fops(xlator_t *this, const unsigned char *enabled, int py_notify);
/* getxattr of GLUPY_STATUS_XATTR, answered by every glupy translator for its process
 * (glupy.runtime.procstatus) before the translator's getxattr, if it has one */
static inline int glupy_is_status_key(const char *name)
{
    return name && strcmp(name, GLUPY_STATUS_XATTR) == 0;
}
int32_t glupy_answer_status(call_frame_t *frame, xlator_t *this);
/* the xlator's entry points implemented in Python (glupy.runtime.driver, cffi extern "Python+C") */
int glupy_py_init(xlator_t *this);
void glupy_py_fini(xlator_t *this);
int glupy_py_notify(xlator_t *this, int32_t event, void *data);
int glupy_py_reconfigure(xlator_t *this, dict_t *options);
int32_t glupy_py_status(xlator_t *this, dict_t *out);

#pragma GCC visibility pop

#endif
