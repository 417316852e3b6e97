/* glupy.Journal: fops recorded in C, drained by a Python thread.
 *
 * An audit translator used to enter Python for every fop only to build a record
 * (a tuple) and wind on.  With a Journal attached (a translator's ``journal``),
 * the entry of each watched fop that has no Python method makes the record in C
 * (glupy_journal_begin: time, fop, path, gfid, caller), winds on with it as the
 * cookie, and the reply completes it (glupy_journal_end: op_ret, errno, latency)
 * and queues it.  Python takes records off the queue in batches (glupy_journal_take)
 * on its own thread: the fops never wait for the GIL.  A full queue drops the
 * record and counts it; nothing blocks. */

#include "glupy.h"

struct glupy_journal {
    pthread_mutex_t lock;
    glupy_journal_record_t *head, *tail; /* the queue, oldest first */
    uint64_t count, capacity, dropped, recorded;
    unsigned char watched[GLUPY_NUM_SLOTS];
    size_t prefix_len;
    char prefix[]; /* only paths starting with this ("": all) */
};

glupy_journal_t *glupy_journal_new(uint64_t capacity, const char *prefix)
{
    size_t len = prefix ? strlen(prefix) : 0;
    glupy_journal_t *j = calloc(1, sizeof(*j) + len + 1);
    if (!j)
        return NULL;
    pthread_mutex_init(&j->lock, NULL);
    j->capacity = capacity;
    j->prefix_len = len;
    if (len)
        memcpy(j->prefix, prefix, len);
    return j;
}

int glupy_journal_watch(glupy_journal_t *j, int slot)
{
    if (!j || slot < 0 || slot >= GLUPY_NUM_SLOTS)
        return -1;
    j->watched[slot] = 1;
    return 0;
}

/* how many records glupy_journal_take may return at once; counters */
void glupy_journal_stats(glupy_journal_t *j, uint64_t *out)
{
    pthread_mutex_lock(&j->lock);
    out[0] = j->count;
    out[1] = j->recorded;
    out[2] = j->dropped;
    pthread_mutex_unlock(&j->lock);
}

/* up to n queued records into out, oldest first; the caller frees each one */
size_t glupy_journal_take(glupy_journal_t *j, glupy_journal_record_t **out, size_t n)
{
    size_t i = 0;
    pthread_mutex_lock(&j->lock);
    while (i < n && j->head) {
        glupy_journal_record_t *r = j->head;
        j->head = r->next;
        out[i++] = r;
    }
    if (!j->head)
        j->tail = NULL;
    j->count -= i;
    pthread_mutex_unlock(&j->lock);
    return i;
}

void glupy_journal_record_free(glupy_journal_record_t *r)
{
    free(r);
}

void glupy_set_journal(xlator_t *this, glupy_journal_t *j)
{
    glupy_private_t *priv = this->private;
    /* a replaced journal is never freed: an entry or a reply may still hold it */
    __atomic_store_n(&priv->journal, j, __ATOMIC_RELEASE);
}

static int64_t glupy_journal_now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void *glupy_journal_begin(xlator_t *this, call_frame_t *frame, int slot, loc_t *loc, fd_t *fd)
{
    glupy_private_t *priv = this->private;
    glupy_journal_t *j = __atomic_load_n(&priv->journal, __ATOMIC_ACQUIRE);
    if (!j || !j->watched[slot])
        return NULL;
    static const unsigned char null_gfid[16];
    const char *path = NULL;
    char *made = NULL;
    const unsigned char *gfid = null_gfid;
    inode_t *inode = NULL;
    if (loc) {
        path = loc->path;
        inode = loc->inode;
        gfid = inode && memcmp(inode->gfid, null_gfid, 16) ? inode->gfid : loc->gfid;
    } else if (fd && fd->inode) {
        inode = fd->inode;
        gfid = inode->gfid;
        if (inode_path(inode, NULL, &made) >= 0)
            path = made;
    }
    if (j->prefix_len && (!path || strncmp(path, j->prefix, j->prefix_len))) {
        GF_FREE(made);
        return NULL;
    }
    size_t len = path ? strlen(path) : 0;
    glupy_journal_record_t *r = malloc(sizeof(*r) + len + 1);
    if (r) {
        r->next = NULL;
        r->journal = j;
        r->time_ns = glupy_journal_now(CLOCK_REALTIME);
        r->latency_ns = glupy_journal_now(CLOCK_MONOTONIC); /* the start, until end */
        r->slot = slot;
        r->uid = frame->root->uid;
        r->gid = frame->root->gid;
        r->pid = frame->root->pid;
        r->op_ret = r->op_errno = 0;
        memcpy(r->gfid, gfid, 16);
        r->has_path = path != NULL;
        memcpy(r->path, path ? path : "", len + 1);
    }
    GF_FREE(made);
    return r;
}

void glupy_journal_end(void *cookie, int32_t op_ret, int32_t op_errno)
{
    glupy_journal_record_t *r = cookie;
    glupy_journal_t *j = r->journal;
    r->latency_ns = glupy_journal_now(CLOCK_MONOTONIC) - r->latency_ns;
    r->op_ret = op_ret;
    r->op_errno = op_ret < 0 ? op_errno : 0;
    pthread_mutex_lock(&j->lock);
    if (j->count >= j->capacity) {
        j->dropped++;
        pthread_mutex_unlock(&j->lock);
        free(r);
        return;
    }
    if (j->tail)
        j->tail->next = r;
    else
        j->head = r;
    j->tail = r;
    j->count++;
    j->recorded++;
    pthread_mutex_unlock(&j->lock);
}
