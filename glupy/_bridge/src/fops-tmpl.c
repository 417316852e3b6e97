/* Template of fops.c: the bridge's code per fop and per cbk.
 *
 * glupy/_build/codegen.py expands it from the fop table (glupy/fops.py), the
 * way GlusterFS's generator.py expands defaults-tmpl.c: the text between
 * FOR_EACH and END is repeated per fop (or cbk), its names between at signs
 * replaced; a placeholder alone on its line stands for statements, one per
 * argument, indented like it.  Per fop F:
 *
 *   glupy_c_F          the entry in the instance's struct xlator_fops: the
 *                      argument views, then the task (task.c glupy_start)
 *   glupy_c_F_cbk      the child's reply: its C arguments kept as they are
 *                      (glupy_raw_t), for the task (glupy_reply)
 *   glupy_wind_F       Python's wind arguments -> C (convert.c), then
 *                      STACK_WIND (glupy_do_wind_F), or recorded as the tail;
 *                      or a wind the coroutine returned, handed off to the
 *                      child (glupy_do_hand_off_F: its reply never reaches Python)
 *   glupy_unwind_F     STACK_UNWIND: every unwind of F ends here
 *   glupy_unwind_reply_F  a child's reply unwound: its raw C arguments, the
 *                      fields Python set (bit i of mask: field i, in vals)
 *                      converted like wind arguments
 *
 * There is one unwind, glupy_unwind_F, and three ways to its arguments:
 *   1. a child's reply, unchanged or with some fields set (glupy_unwind_reply_F,
 *      from task.c, now or as the tail of the entry/callback: glupy_tail_run);
 *   2. an error, all reply arguments zero (glupy_unwind_error);
 *   3. a reply Python built or converted itself: a listing (readdir), or one
 *      glupy_unwind_reply_F cannot convert (glupy.runtime.driver._finish_slow, through cffi).
 */

#include "glupy.h"

/* 10.x's STACK_UNWIND_STRICT passes strerror(op_errno) to a debug message on every
 * error unwind, and _gf_msg drops it unless debug messages are logged: the
 * strerror call alone (gettext lookups) was ~1.7k instructions per failed fop,
 * more than a tenth of what a Python translator adds.  In the unwinds below
 * strerror only runs when the message is logged (_gf_msg's own test,
 * skip_logging(): the xlator's log level, else the process's).  11.x passes
 * op_errno to the log instead and never calls strerror here. */
static const char *glupy_unwind_strerror(int op_errno)
{
    xlator_t *x = THIS;
    if (!x || !x->ctx)
        return "";
    gf_loglevel_t level = x->loglevel ? x->loglevel : x->ctx->log.loglevel;
    return GF_LOG_DEBUG > level ? "" : strerror(op_errno);
}
#define strerror(e) glupy_unwind_strerror(e)

/* @FOR_EACH fop@ */
/* ------------------------------------------------------------------ @FOP@ */
static const signed char glupy_raw_kinds_@FOP@[] = {@RAW_KINDS@};

/* the child's reply to a fop wound on in C with a Journal record (the cookie, or
 * NULL), or that must pass glupy_unwind_@FOP@, or (lookup) with the xattrs glupy.Mark
 * learns from (rules.c) */
static int32_t glupy_c_@FOP@_passed(call_frame_t *frame, void *cookie, xlator_t *this,
                                    int32_t op_ret, int32_t op_errno@REPLY_DECLS@)
{
    @PASSED@
    if (cookie)
        glupy_journal_end(cookie, op_ret, op_errno);
    glupy_unwind_@FOP@(frame, op_ret, op_errno@REPLY_NAMES@);
    return 0;
}

static int32_t glupy_c_@FOP@(call_frame_t *frame, xlator_t *this@ARG_DECLS@)
{
    @BEFORE_PYTHON@
    int gs = glupy_gil_ensure();
    glupy_tail_t tail;
    glupy_tail_t *outer = glupy_tail_arm(&tail, gs);
    glupy_private_t *priv = this->private;
    /* (inst, methods), set before the fop table was installed; held across the views'
       making, in which a reload on another thread could replace it */
    PyObject *binding = Py_NewRef(glupy_binding(priv));
    PyObject *argv[1 + @NUM_PY_ARGS@], **a = argv + 1; /* argv[0]: for the method's self */
    __atomic_fetch_add(&priv->python_calls[@SLOT@], 1, __ATOMIC_RELAXED);
    @ARGS_TO_PY@
    glupy_task_t *entry_task = glupy_start(this, binding, @SLOT@, frame, a, @NUM_PY_ARGS@);
    glupy_tail_run(&tail, outer, gs);
    glupy_entry_end(entry_task);
    return 0;
}

static int32_t glupy_c_@FOP@_cbk(call_frame_t *frame, void *cookie, xlator_t *this,
                                 int32_t op_ret, int32_t op_errno@REPLY_DECLS@)
{
    int gs = glupy_gil_ensure();
    glupy_tail_t tail;
    glupy_tail_t *outer = glupy_tail_arm(&tail, gs);
    PyObject *raw = glupy_raw_new(@NUM_REPLY@, glupy_raw_kinds_@FOP@);
    if (raw) {
        @REPLY_TO_RAW@
    }
    glupy_reply(cookie, @SLOT@, op_ret, op_errno, raw);
    glupy_tail_run(&tail, outer, gs);
    return 0;
}

/* the converted arguments of a wind, and the STACK_WIND with them (GIL released) */
struct glupy_wargs_@FOP@ {
    @WARGS_FIELDS@
};
_Static_assert(sizeof(struct glupy_wargs_@FOP@) <= GLUPY_WARGS_MAX,
               "wind arguments of @FOP@ do not fit glupy_tail_t");

static void glupy_do_wind_@FOP@(call_frame_t *frame, xlator_t *child, glupy_wind_rec_t *rec,
                                const void *p)
{
    const struct glupy_wargs_@FOP@ *a = p;
    STACK_WIND_COOKIE(frame, glupy_c_@FOP@_cbk, (void *)rec, child,
                      child->fops->@FOP@@WARGS_NAMES@);
}

/* a wind the coroutine returned instead of awaiting (task.c glupy_hand_off): the
 * child's reply is the fop's and goes up without Python, straight to the parent
 * (STACK_WIND_TAIL, as C's default fops) unless glupy_unwind_@FOP@ must see it */
static void glupy_do_hand_off_@FOP@(call_frame_t *frame, xlator_t *child,
                                    glupy_wind_rec_t *rec, const void *p)
{
    const struct glupy_wargs_@FOP@ *a = p;
    if (@UNWIND_SEES_REPLY@)
        STACK_WIND_COOKIE(frame, glupy_c_@FOP@_passed, NULL, child,
                          child->fops->@FOP@@WARGS_NAMES@);
    else
        STACK_WIND_TAIL(frame, child, child->fops->@FOP@@WARGS_NAMES@);
}

static int glupy_wind_@FOP@(call_frame_t *frame, xlator_t *child, glupy_wind_rec_t *rec,
                            PyObject *py_args, int hand_off)
{
    @ARG_LOCALS@
    if (PyTuple_GET_SIZE(py_args) != @NUM_PY_ARGS@) {
        PyErr_SetString(PyExc_TypeError, "@FOP@ takes @NUM_PY_ARGS@ arguments");
        return -1;
    }
    @ARGS_FROM_PY@
    struct glupy_wargs_@FOP@ w = {@WARGS_INIT@};
    if (hand_off)
        return glupy_hand_off(frame, child, rec, glupy_do_hand_off_@FOP@, &w, sizeof(w), py_args);
    if (glupy_tail_wind(frame, child, rec, glupy_do_wind_@FOP@, &w, sizeof(w), py_args))
        return 0; /* issued as the last step of this entry/callback */
    Py_BEGIN_ALLOW_THREADS
    glupy_do_wind_@FOP@(frame, child, rec, &w);
    Py_END_ALLOW_THREADS
    return 0;
}

void glupy_unwind_@FOP@(call_frame_t *frame, int32_t op_ret, int32_t op_errno@REPLY_DECLS@)
{
    @AFTER_REPLY@
    STACK_UNWIND_STRICT(@FOP@, frame, op_ret, op_errno@REPLY_NAMES@);
}

/* -1 (nothing unwound): the caller hands the reply to Python.  ``raw`` NULL: a reply
 * Python built, every field in vals (mask all ones); a listing it built is not
 * converted here (its op_ret is its length: _finish_slow).  ``tail``: the last
 * step of an entry/callback: raw dropped, GIL released for good. */
static int glupy_unwind_reply_@FOP@(call_frame_t *frame, int32_t op_ret, int32_t op_errno,
                                    PyObject *raw, PyObject *vals, unsigned long mask,
                                    glupy_wind_rec_t *rec, int tail)
{
    @REPLY_LOCALS@
    if (raw) {
        if (!glupy_raw_check(raw, @NUM_REPLY@))
            return -1;
        @REPLY_FROM_RAW@
    } else if (@LISTS_ENTRIES@ || mask != ~0UL) {
        return -1;
    }
    if (mask) {
        if (PyList_GET_SIZE(vals) != @NUM_FIELDS@)
            return -1;
        @FIELDS_FROM_VALS@
    }
    if (tail) {
        Py_XDECREF(raw);
        PyEval_SaveThread();
        glupy_unwind_@FOP@(frame, op_ret, op_errno@REPLY_NAMES@);
        return 0;
    }
    Py_BEGIN_ALLOW_THREADS
    glupy_unwind_@FOP@(frame, op_ret, op_errno@REPLY_NAMES@);
    Py_END_ALLOW_THREADS
    return 0;
}

/* @END@ */
#undef strerror

void glupy_unwind_error(int slot, call_frame_t *frame, int32_t op_errno)
{
    switch (slot) {
    /* @FOR_EACH fop@ */
    case @SLOT@:
        glupy_unwind_@FOP@(frame, -1, op_errno@REPLY_ZEROS@);
        break;
    /* @END@ */
    }
}

const glupy_winder_t glupy_winders[GLUPY_NUM_SLOTS] = {
    /* @FOR_EACH fop@ */
    [@SLOT@] = glupy_wind_@FOP@,
    /* @END@ */
};

const glupy_reply_unwinder_t glupy_reply_unwinders[GLUPY_NUM_SLOTS] = {
    /* @FOR_EACH fop@ */
    [@SLOT@] = glupy_unwind_reply_@FOP@,
    /* @END@ */
};

const char *const glupy_fop_names[GLUPY_NUM_SLOTS] = {
    /* @FOR_EACH fop@ */
    [@SLOT@] = "@FOP@",
    /* @END@ */
};

/* in struct xlator_fops slot order; NULL: a placeholder slot */
void *const glupy_entry_points[GLUPY_NUM_SLOTS] = {
    /* @FOR_EACH fop@ */
    [@SLOT@] = (void *)glupy_c_@FOP@,
    /* @END@ */
};

/* The fop table must agree with the headers this is compiled against. */
_Static_assert(@MAX_REPLY@ <= GLUPY_RAW_MAX, "a reply has more arguments than glupy_raw_t holds");
_Static_assert(GF_FOP_MAXVALUE == GLUPY_NUM_SLOTS + 1,
               "number of fops differs from the installed headers");
/* @FOR_EACH fop@ */
_Static_assert(offsetof(struct xlator_fops, @FOP@) == @SLOT@ * sizeof(void *),
               "slot of @FOP@ differs from the installed headers");
/* @END@ */

/* ------------------------------------------------------------------ cbks */
/* @FOR_EACH cbk@ */
static @CBK_RET@ glupy_c_@CBK@(xlator_t *this@CBK_DECLS@)
{
    @CBK_SKIP@
    glupy_enter_thread();
    @CBK_RETURN@glupy_py_cbk_@CBK@(this@CBK_NAMES@);
}

/* @END@ */
/* Per instance: forget/release/releasedir are always installed (GlusterFS only
 * calls them for inodes/fds that carry the instance's context) and reach Python
 * when it holds a context there or the class defines them (not for glupy.Mark bits
 * alone); the others only when the class defines them. */
int glupy_install_cbks(xlator_t *this, const struct glupy_cbks_wanted *wanted)
{
    glupy_private_t *priv = this->private;
    struct xlator_cbks *cbks = calloc(1, sizeof(*cbks));
    if (!cbks)
        return -1;
    priv->cbks_wanted = *wanted;
    cbks->forget = glupy_c_forget;
    cbks->release = glupy_c_release;
    cbks->releasedir = glupy_c_releasedir;
    /* @FOR_EACH cbk@ */
    if (wanted->@CBK@)
        cbks->@CBK@ = glupy_c_@CBK@;
    /* @END@ */
    this->cbks = cbks;
    return 0;
}
