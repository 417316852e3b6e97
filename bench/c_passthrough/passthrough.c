/*
 * bench/c_passthrough/passthrough.c: a minimal C pass-through translator.
 *
 * Modelled on GlusterFS upstream's xlators/playground/template (v10.3), reduced to
 * what every translator costs: one more xlator_t on the stack.  The loader only needs
 * the `xlator_api` symbol; fill_defaults() fills every NULL fop with the default
 * pass-through.  The hot fops of the benchmark (lookup, stat, create, readv, writev,
 * unlink) are written out explicitly: STACK_WIND to FIRST_CHILD, STACK_UNWIND_STRICT
 * from the callback, no private state.
 *
 * Built by bench/run.py with:
 *   cc -O2 -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -DGF_LINUX_HOST_OS
 *      -DHAVE_ATOMIC_BUILTINS=1 -DSIZEOF_LONG=8 -shared -fPIC passthrough.c -lglusterfs
 */
#include <glusterfs/glusterfs.h>
#include <glusterfs/xlator.h>
#include <glusterfs/defaults.h>
#include <glusterfs/logging.h>

/* sizeof(xlator_t) of Debian's x86_64 libglusterfs: 4128 in 10.x, 4096 in 11.x */
_Static_assert(sizeof(xlator_t) == (GD_OP_VERSION_MAX >= 110000 ? 4096 : 4128),
               "xlator_t layout mismatch: check -DHAVE_ATOMIC_BUILTINS=1 etc.");

/* ------------------------------------------------------------------ lookup */
static int32_t
cpt_lookup_cbk(call_frame_t *frame, void *cookie, xlator_t *this, int32_t op_ret,
               int32_t op_errno, inode_t *inode, struct iatt *buf, dict_t *xdata,
               struct iatt *postparent)
{
    STACK_UNWIND_STRICT(lookup, frame, op_ret, op_errno, inode, buf, xdata,
                        postparent);
    return 0;
}

static int32_t
cpt_lookup(call_frame_t *frame, xlator_t *this, loc_t *loc, dict_t *xdata)
{
    STACK_WIND(frame, cpt_lookup_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->lookup, loc, xdata);
    return 0;
}

/* ------------------------------------------------------------------ stat */
static int32_t
cpt_stat_cbk(call_frame_t *frame, void *cookie, xlator_t *this, int32_t op_ret,
             int32_t op_errno, struct iatt *buf, dict_t *xdata)
{
    STACK_UNWIND_STRICT(stat, frame, op_ret, op_errno, buf, xdata);
    return 0;
}

static int32_t
cpt_stat(call_frame_t *frame, xlator_t *this, loc_t *loc, dict_t *xdata)
{
    STACK_WIND(frame, cpt_stat_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->stat, loc, xdata);
    return 0;
}

/* ------------------------------------------------------------------ create */
static int32_t
cpt_create_cbk(call_frame_t *frame, void *cookie, xlator_t *this, int32_t op_ret,
               int32_t op_errno, fd_t *fd, inode_t *inode, struct iatt *buf,
               struct iatt *preparent, struct iatt *postparent, dict_t *xdata)
{
    STACK_UNWIND_STRICT(create, frame, op_ret, op_errno, fd, inode, buf, preparent,
                        postparent, xdata);
    return 0;
}

static int32_t
cpt_create(call_frame_t *frame, xlator_t *this, loc_t *loc, int32_t flags,
           mode_t mode, mode_t umask, fd_t *fd, dict_t *xdata)
{
    STACK_WIND(frame, cpt_create_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->create, loc, flags, mode, umask, fd, xdata);
    return 0;
}

/* ------------------------------------------------------------------ unlink */
static int32_t
cpt_unlink_cbk(call_frame_t *frame, void *cookie, xlator_t *this, int32_t op_ret,
               int32_t op_errno, struct iatt *preparent, struct iatt *postparent,
               dict_t *xdata)
{
    STACK_UNWIND_STRICT(unlink, frame, op_ret, op_errno, preparent, postparent,
                        xdata);
    return 0;
}

static int32_t
cpt_unlink(call_frame_t *frame, xlator_t *this, loc_t *loc, int xflags,
           dict_t *xdata)
{
    STACK_WIND(frame, cpt_unlink_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->unlink, loc, xflags, xdata);
    return 0;
}

/* ------------------------------------------------------------------ readv */
static int32_t
cpt_readv_cbk(call_frame_t *frame, void *cookie, xlator_t *this, int32_t op_ret,
              int32_t op_errno, struct iovec *vector, int32_t count,
              struct iatt *stbuf, struct iobref *iobref, dict_t *xdata)
{
    STACK_UNWIND_STRICT(readv, frame, op_ret, op_errno, vector, count, stbuf,
                        iobref, xdata);
    return 0;
}

static int32_t
cpt_readv(call_frame_t *frame, xlator_t *this, fd_t *fd, size_t size,
          off_t offset, uint32_t flags, dict_t *xdata)
{
    STACK_WIND(frame, cpt_readv_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->readv, fd, size, offset, flags, xdata);
    return 0;
}

/* ------------------------------------------------------------------ writev */
static int32_t
cpt_writev_cbk(call_frame_t *frame, void *cookie, xlator_t *this, int32_t op_ret,
               int32_t op_errno, struct iatt *prebuf, struct iatt *postbuf,
               dict_t *xdata)
{
    STACK_UNWIND_STRICT(writev, frame, op_ret, op_errno, prebuf, postbuf, xdata);
    return 0;
}

static int32_t
cpt_writev(call_frame_t *frame, xlator_t *this, fd_t *fd, struct iovec *vector,
           int32_t count, off_t offset, uint32_t flags, struct iobref *iobref,
           dict_t *xdata)
{
    STACK_WIND(frame, cpt_writev_cbk, FIRST_CHILD(this),
               FIRST_CHILD(this)->fops->writev, fd, vector, count, offset, flags,
               iobref, xdata);
    return 0;
}

/* ------------------------------------------------------------------ xlator */
static int32_t
cpt_init(xlator_t *this)
{
    if (!this->children || this->children->next) {
        gf_log(this->name, GF_LOG_ERROR,
               "not configured with exactly one child. exiting");
        return -1;
    }
    if (!this->parents)
        gf_log(this->name, GF_LOG_WARNING, "dangling volume. check volfile");
    return 0;
}

static void
cpt_fini(xlator_t *this)
{
    return;
}

struct xlator_fops cpt_fops = {
    .lookup = cpt_lookup,
    .stat = cpt_stat,
    .create = cpt_create,
    .unlink = cpt_unlink,
    .readv = cpt_readv,
    .writev = cpt_writev,
};

struct xlator_cbks cpt_cbks = {};

struct volume_options cpt_options[] = {
    {.key = {NULL}},
};

xlator_api_t xlator_api = {
    .init = cpt_init,
    .fini = cpt_fini,
    .op_version = {GD_OP_VERSION_5_0},
    .fops = &cpt_fops,
    .cbks = &cpt_cbks,
    .options = cpt_options,
    .identifier = "bench-c-passthrough",
    .category = GF_EXPERIMENTAL,
};
