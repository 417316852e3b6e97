/* glupy.Refuse, glupy.Mark, glupy.WhenMarked: decisions the bridge makes in C
 * before Python.
 *
 * Python (glupy.runtime.driver) builds a table per instance from the class's
 * Refuse, Mark and WhenMarked declarations and its option values, and publishes it
 * whole; every entry reads it first (glupy_rules_to_python in glupy.h).  A
 * published table is never changed or freed: an entry may still read the previous
 * one after a reconfigure.  The marks themselves live in the inode and fd contexts
 * (below). */

#include "glupy.h"

glupy_rules_t *glupy_rules_new(void)
{
    glupy_rules_t *r = calloc(1, sizeof(*r));
    if (r)
        memset(r->python, 1, sizeof(r->python));
    return r;
}

int glupy_rules_set(glupy_rules_t *rules, int slot, int op_errno, uint64_t if_bits, int python)
{
    if (!rules || slot < 0 || slot >= GLUPY_NUM_SLOTS || op_errno < 0)
        return -1;
    rules->slot[slot].op_errno = op_errno;
    rules->slot[slot].if_bits = if_bits;
    rules->python[slot] = python ? 1 : 0;
    return 0;
}

void glupy_set_rules(xlator_t *this, glupy_rules_t *rules)
{
    glupy_private_t *priv = this->private;
    __atomic_store_n(&priv->rules, rules, __ATOMIC_RELEASE);
}

uint64_t glupy_python_calls(xlator_t *this, int slot)
{
    glupy_private_t *priv = this->private;
    if (!priv || slot < 0 || slot >= GLUPY_NUM_SLOTS)
        return 0;
    return __atomic_load_n(&priv->python_calls[slot], __ATOMIC_RELAXED);
}

int glupy_rules_set_marks(glupy_rules_t *rules, int slot, uint64_t if_marked, int python_unknown,
                          uint64_t python_if, uint64_t set_fd)
{
    if (!rules || slot < 0 || slot >= GLUPY_NUM_SLOTS || ((if_marked | python_if | set_fd) & 1))
        return -1;
    rules->slot[slot].if_marked = if_marked;
    rules->slot[slot].python_unknown = python_unknown ? 1 : 0;
    rules->slot[slot].python_if = python_if;
    rules->slot[slot].set_fd = set_fd;
    return 0;
}

int glupy_rules_mark(glupy_rules_t *rules, uint64_t bit, int on_inode, const char *xattr)
{
    if (!rules || bit <= 1 || (bit & (bit - 1)))
        return -1;
    if (on_inode)
        rules->inode_marks |= bit;
    if (!xattr)
        return 0;
    if (!on_inode || rules->nxattrs >= GLUPY_MAX_MARKS)
        return -1;
    char *name = strdup(xattr); /* lives as long as the table: never freed */
    if (!name)
        return -1;
    rules->xattr_bit[rules->nxattrs] = bit;
    rules->xattr[rules->nxattrs++] = name;
    return 0;
}

/* ------------------------------------------------------------------ marks */
/* glupy.Mark's bits in the instance's inode and fd contexts (glupy.h).  The inode's
 * live in value2, beside Python's marker in value1 (bindings/inode.py); an fd has one
 * value, shared with Python's marker (bit 0), so both change it under fd->lock. */

#ifndef GLUPY_GLUSTERFS_MAJOR
#define GLUPY_GLUSTERFS_MAJOR (GD_OP_VERSION_MAX / 10000)
#endif

uint64_t glupy_inode_marks(xlator_t *this, inode_t *inode)
{
    uint64_t v = 0;
    if (inode)
        inode_ctx_get1(inode, this, &v);
    return v;
}

static uint64_t glupy_fd_value_locked(fd_t *fd, xlator_t *this)
{
#if GLUPY_GLUSTERFS_MAJOR >= 11
    return __fd_ctx_get(fd, this);
#else
    uint64_t v = 0;
    __fd_ctx_get(fd, this, &v);
    return v;
#endif
}

uint64_t glupy_fd_marks(xlator_t *this, fd_t *fd)
{
    uint64_t v;
    LOCK(&fd->lock);
    v = glupy_fd_value_locked(fd, this);
    UNLOCK(&fd->lock);
    return v & ~GLUPY_MARK_KNOWN;
}

/* set and clear bits of the fd's value (bit 0: Python's marker, bindings/inode.py) */
int glupy_fd_bits_change(xlator_t *this, fd_t *fd, uint64_t set, uint64_t clear)
{
    int ret = 0;
    LOCK(&fd->lock);
    uint64_t old = glupy_fd_value_locked(fd, this);
    uint64_t v = (old | set) & ~clear;
    if (v != old)
        ret = __fd_ctx_set(fd, this, v);
    UNLOCK(&fd->lock);
    return ret;
}

static void glupy_inode_marks_change(xlator_t *this, inode_t *inode, uint64_t set, uint64_t clear)
{
    LOCK(&inode->lock);
    uint64_t old = 0;
    __inode_ctx_get1(inode, this, &old);
    uint64_t v = (old | set) & ~clear;
    if (v != old)
        __inode_ctx_set1(inode, this, &v);
    UNLOCK(&inode->lock);
}

uint64_t glupy_marks_get(xlator_t *this, inode_t *inode, fd_t *fd)
{
    return glupy_target_marks(this, inode, fd);
}

void glupy_marks_change(xlator_t *this, inode_t *inode, fd_t *fd, uint64_t set, uint64_t clear)
{
    if (inode)
        glupy_inode_marks_change(this, inode, set, clear);
    if (fd)
        glupy_fd_bits_change(this, fd, set & ~GLUPY_MARK_KNOWN, clear & ~GLUPY_MARK_KNOWN);
}

static const glupy_rules_t *glupy_rules_now(xlator_t *this)
{
    glupy_private_t *priv = this->private;
    return __atomic_load_n(&priv->rules, __ATOMIC_ACQUIRE);
}

dict_t *glupy_marks_ask(xlator_t *this, dict_t *xdata)
{
    const glupy_rules_t *r = glupy_rules_now(this);
    if (!r || !r->nxattrs)
        return NULL;
    dict_t *asked = xdata ? dict_ref(xdata) : dict_new();
    if (!asked)
        return NULL;
    for (int i = 0; i < r->nxattrs; i++) /* posix returns these xattrs in the reply's xdata */
        if (dict_set_int8(asked, r->xattr[i], 0) != 0) {
            dict_unref(asked);
            return NULL; /* the reply's marks stay unknown: Python asks (glupy.Mark) */
        }
    return asked;
}

void glupy_marks_learn(xlator_t *this, int32_t op_ret, inode_t *inode, dict_t *xdata)
{
    const glupy_rules_t *r = glupy_rules_now(this);
    if (op_ret < 0 || !inode || !r || !r->nxattrs || !xdata)
        return; /* no xdata: the xattrs were not asked for */
    uint64_t bits = GLUPY_MARK_KNOWN;
    for (int i = 0; i < r->nxattrs; i++)
        if (dict_get(xdata, r->xattr[i]))
            bits |= r->xattr_bit[i];
    glupy_inode_marks_change(this, inode, bits, 0); /* marks are only added here */
}

void glupy_marks_created(xlator_t *this, int32_t op_ret, inode_t *inode)
{
    const glupy_rules_t *r = glupy_rules_now(this);
    if (op_ret >= 0 && inode && r && r->inode_marks)
        glupy_inode_marks_change(this, inode, GLUPY_MARK_KNOWN, 0);
}

int glupy_forget_to_python(xlator_t *this, inode_t *inode)
{
    glupy_private_t *priv = this->private;
    uint64_t python = 0;
    if (!priv || priv->cbks_wanted.forget)
        return 1;
    inode_ctx_get0(inode, this, &python);
    return python != 0;
}

int glupy_release_to_python(xlator_t *this, fd_t *fd, int dir)
{
    glupy_private_t *priv = this->private;
    if (!priv || (dir ? priv->cbks_wanted.releasedir : priv->cbks_wanted.release))
        return 1;
    LOCK(&fd->lock);
    uint64_t v = glupy_fd_value_locked(fd, this);
    UNLOCK(&fd->lock);
    return (v & 1) != 0;
}
