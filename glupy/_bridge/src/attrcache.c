/* A table of iatts per gfid, answered in C (glupy.AttrCache).
 *
 * The metadata cache's twin of misscache.c: glupy.library.stat_cache puts
 * the iatts its lookups/stats return here, and the bridge's lookup (of a
 * linked inode, no xdata), stat and fstat entries answer fresh entries
 * without the GIL, as cheaply as the C md-cache.  Python decides what goes in
 * (put) and out (drop); an upcall drops the inode and its parents here in C
 * (glupy_attr_cache_upcall) and tells FUSE to forget what the kernel holds.
 *
 * Races: every drop bumps ``epoch``; put(iatt, epoch) stores only if nothing
 * was dropped since the caller read the epoch before winding, so a reply that
 * left the brick before an invalidation cannot be cached after it.
 */

#include "glupy.h"

#include <glusterfs/upcall-utils.h> /* after xlator.h: it uses dict_t */

typedef struct glupy_ac_entry glupy_ac_entry_t;

struct glupy_ac_entry {
    glupy_ac_entry_t *hnext;         /* bucket chain */
    glupy_ac_entry_t *older, *newer; /* LRU, oldest first */
    int64_t expiry;                  /* CLOCK_MONOTONIC ns */
    int by_lookup;                   /* a lookup brought it: named lookups may use it */
    struct iatt iatt;                /* its ia_gfid is the key */
};

struct glupy_attr_cache {
    pthread_mutex_t lock;
    glupy_ac_entry_t **buckets;
    size_t nbuckets; /* power of two */
    size_t count, max_entries;
    int64_t timeout; /* ns */
    glupy_ac_entry_t lru;
    uint64_t epoch;
    uint64_t hits, stored, expired, evicted, dropped, raced;
    int refs;
};


glupy_attr_cache_t *glupy_ac_new(uint64_t max_entries, double timeout)
{
    glupy_attr_cache_t *ac = calloc(1, sizeof(*ac));
    if (!ac)
        return NULL;
    ac->nbuckets = 256;
    ac->buckets = calloc(ac->nbuckets, sizeof(*ac->buckets));
    if (!ac->buckets) {
        free(ac);
        return NULL;
    }
    pthread_mutex_init(&ac->lock, NULL);
    ac->lru.newer = ac->lru.older = &ac->lru;
    ac->max_entries = max_entries;
    ac->timeout = timeout > 0 ? (int64_t)(timeout * 1e9) : 0;
    ac->refs = 1;
    return ac;
}

static glupy_ac_entry_t **glupy_ac_find(glupy_attr_cache_t *ac, const unsigned char *gfid)
{
    glupy_ac_entry_t **e = &ac->buckets[glupy_mc_gfid_hash(gfid) & (ac->nbuckets - 1)];
    for (; *e; e = &(*e)->hnext)
        if (!memcmp((*e)->iatt.ia_gfid, gfid, 16))
            return e;
    return e;
}

static void glupy_ac_remove(glupy_attr_cache_t *ac, glupy_ac_entry_t **where)
{
    glupy_ac_entry_t *e = *where;
    *where = e->hnext;
    e->older->newer = e->newer;
    e->newer->older = e->older;
    free(e);
    ac->count--;
}

static void glupy_ac_remove_oldest(glupy_attr_cache_t *ac)
{
    glupy_ac_entry_t *e = ac->lru.newer;
    glupy_ac_remove(ac, glupy_ac_find(ac, e->iatt.ia_gfid));
}

static void glupy_ac_touch(glupy_attr_cache_t *ac, glupy_ac_entry_t *e)
{
    e->older->newer = e->newer;
    e->newer->older = e->older;
    e->newer = &ac->lru;
    e->older = ac->lru.older;
    ac->lru.older->newer = e;
    ac->lru.older = e;
}

static void glupy_ac_grow(glupy_attr_cache_t *ac)
{
    size_t n = ac->nbuckets * 4;
    glupy_ac_entry_t **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < ac->nbuckets; i++)
        for (glupy_ac_entry_t *e = ac->buckets[i], *next; e; e = next) {
            next = e->hnext;
            glupy_ac_entry_t **d = &nb[glupy_mc_gfid_hash(e->iatt.ia_gfid) & (n - 1)];
            e->hnext = *d;
            *d = e;
        }
    free(ac->buckets);
    ac->buckets = nb;
    ac->nbuckets = n;
}

/* ------------------------------------------------------------ the API (cdef) */

uint64_t glupy_ac_epoch(glupy_attr_cache_t *ac)
{
    return __atomic_load_n(&ac->epoch, __ATOMIC_ACQUIRE);
}

/* cache *iatt under its gfid if nothing was dropped since ``epoch``; 1 if stored.
 * ``by_lookup``: it came from a lookup (of a name).  Only such entries answer
 * lookups: after a rename/unlink upcall a stat by gfid still finds the inode,
 * but the name the kernel revalidates must be looked up again. */
int glupy_ac_put(glupy_attr_cache_t *ac, const struct iatt *iatt, uint64_t epoch, int by_lookup)
{
    static const unsigned char null_gfid[16];
    int stored = 0;
    if (!iatt || !memcmp(iatt->ia_gfid, null_gfid, 16))
        return 0;
    pthread_mutex_lock(&ac->lock);
    if (ac->epoch != epoch) {
        ac->raced++;
    } else if (ac->max_entries && ac->timeout > 0) {
        glupy_ac_entry_t **where = glupy_ac_find(ac, iatt->ia_gfid);
        glupy_ac_entry_t *e = *where;
        if (!e && (e = calloc(1, sizeof(*e)))) {
            e->hnext = *where;
            *where = e;
            e->newer = e->older = e; /* glupy_ac_touch links it */
            ac->count++;
            if (ac->count > ac->nbuckets * 2)
                glupy_ac_grow(ac);
        }
        if (e) {
            e->by_lookup |= by_lookup;
            e->iatt = *iatt;
            e->expiry = glupy_mc_now() + ac->timeout;
            glupy_ac_touch(ac, e);
            ac->stored++;
            stored = 1;
            while (ac->count > ac->max_entries) {
                glupy_ac_remove_oldest(ac);
                ac->evicted++;
            }
        }
    }
    pthread_mutex_unlock(&ac->lock);
    return stored;
}

/* copies the fresh cached iatt of gfid into *out: 1 (a hit, counted), else 0;
 * ``for_lookup``: only an entry a lookup brought */
int glupy_ac_get(glupy_attr_cache_t *ac, const unsigned char *gfid, struct iatt *out,
                 int for_lookup)
{
    int hit = 0;
    pthread_mutex_lock(&ac->lock);
    if (ac->count) {
        glupy_ac_entry_t **where = glupy_ac_find(ac, gfid);
        if (*where && (!for_lookup || (*where)->by_lookup)) {
            if (glupy_mc_now() < (*where)->expiry) {
                *out = (*where)->iatt;
                glupy_ac_touch(ac, *where);
                ac->hits++;
                hit = 1;
            } else {
                glupy_ac_remove(ac, where);
                ac->expired++;
            }
        }
    }
    pthread_mutex_unlock(&ac->lock);
    return hit;
}

/* forget gfid (it changed or may have); 1 if it was cached.  Always bumps the
 * epoch: a reply in flight must not bring the old value back. */
int glupy_ac_drop(glupy_attr_cache_t *ac, const unsigned char *gfid)
{
    int found = 0;
    pthread_mutex_lock(&ac->lock);
    __atomic_add_fetch(&ac->epoch, 1, __ATOMIC_RELEASE);
    if (ac->count) {
        glupy_ac_entry_t **where = glupy_ac_find(ac, gfid);
        if (*where) {
            glupy_ac_remove(ac, where);
            ac->dropped++;
            found = 1;
        }
    }
    pthread_mutex_unlock(&ac->lock);
    return found;
}

static void glupy_ac_clear_locked(glupy_attr_cache_t *ac)
{
    __atomic_add_fetch(&ac->epoch, 1, __ATOMIC_RELEASE);
    while (ac->count)
        glupy_ac_remove_oldest(ac);
}

void glupy_ac_clear(glupy_attr_cache_t *ac)
{
    pthread_mutex_lock(&ac->lock);
    glupy_ac_clear_locked(ac);
    pthread_mutex_unlock(&ac->lock);
}

void glupy_ac_configure(glupy_attr_cache_t *ac, uint64_t max_entries, double timeout)
{
    pthread_mutex_lock(&ac->lock);
    ac->max_entries = max_entries;
    ac->timeout = timeout > 0 ? (int64_t)(timeout * 1e9) : 0;
    if (!ac->timeout)
        glupy_ac_clear_locked(ac);
    while (ac->count > ac->max_entries) {
        glupy_ac_remove_oldest(ac);
        ac->evicted++;
    }
    pthread_mutex_unlock(&ac->lock);
}

/* entries, hits, stored, expired, evicted, dropped, raced */
void glupy_ac_stats(glupy_attr_cache_t *ac, uint64_t *out)
{
    pthread_mutex_lock(&ac->lock);
    out[0] = ac->count;
    out[1] = ac->hits;
    out[2] = ac->stored;
    out[3] = ac->expired;
    out[4] = ac->evicted;
    out[5] = ac->dropped;
    out[6] = ac->raced;
    pthread_mutex_unlock(&ac->lock);
}

void glupy_ac_unref(glupy_attr_cache_t *ac)
{
    pthread_mutex_lock(&ac->lock);
    int last = --ac->refs == 0;
    pthread_mutex_unlock(&ac->lock);
    if (!last)
        return;
    glupy_ac_clear(ac);
    pthread_mutex_destroy(&ac->lock);
    free(ac->buckets);
    free(ac);
}

/* Attach (or with NULL, detach) the table the entries consult; like
 * glupy_set_miss_cache, a replaced table is never freed here. */
int glupy_set_attr_cache(xlator_t *this, glupy_attr_cache_t *ac)
{
    glupy_private_t *priv = this->private;
    if (ac) {
        pthread_mutex_lock(&ac->lock);
        ac->refs++;
        pthread_mutex_unlock(&ac->lock);
    }
    __atomic_store_n(&priv->attr_cache, ac, __ATOMIC_RELEASE);
    return 0;
}

static inline glupy_attr_cache_t *glupy_attr_cache_of(xlator_t *this)
{
    glupy_private_t *priv = this->private;
    return __atomic_load_n(&priv->attr_cache, __ATOMIC_ACQUIRE);
}

/* The entries' fast paths: 1 if the fop was answered (unwound) from the table. */
int glupy_attr_cache_lookup(xlator_t *this, call_frame_t *frame, loc_t *loc, dict_t *xdata)
{
    static const unsigned char null_gfid[16];
    glupy_attr_cache_t *ac = glupy_attr_cache_of(this);
    struct iatt buf, postparent;
    /* a revalidation (linked inode) that asks for nothing but the iatt */
    if (!ac || xdata || !loc || !loc->inode || !memcmp(loc->inode->gfid, null_gfid, 16) ||
        !glupy_ac_get(ac, loc->inode->gfid, &buf, 1))
        return 0;
    memset(&postparent, 0, sizeof(postparent)); /* as md-cache: no parent iatt */
    glupy_unwind_lookup(frame, 0, 0, loc->inode, &buf, NULL, &postparent);
    return 1;
}

int glupy_attr_cache_stat(xlator_t *this, call_frame_t *frame, inode_t *inode, dict_t *xdata)
{
    glupy_attr_cache_t *ac = glupy_attr_cache_of(this);
    struct iatt buf;
    if (!ac || xdata || !inode || !glupy_ac_get(ac, inode->gfid, &buf, 0))
        return 0;
    glupy_unwind_stat(frame, 0, 0, &buf, NULL);
    return 1;
}

int glupy_attr_cache_fstat(xlator_t *this, call_frame_t *frame, fd_t *fd, dict_t *xdata)
{
    glupy_attr_cache_t *ac = glupy_attr_cache_of(this);
    struct iatt buf;
    if (!ac || xdata || !fd || !fd->inode || !glupy_ac_get(ac, fd->inode->gfid, &buf, 0))
        return 0;
    glupy_unwind_fstat(frame, 0, 0, &buf, NULL);
    return 1;
}

/* GF_EVENT_UPCALL: the inode and the parent(s) a cache invalidation names
 * changed on another client.  Drop them, and make FUSE drop what the kernel
 * holds for the inode (as md-cache does): inode_invalidate() reaches the
 * root xlator's invalidate (FUSE queues it to its notification thread). */
void glupy_attr_cache_upcall(xlator_t *this, void *data)
{
    static const unsigned char null_gfid[16];
    struct gf_upcall *up = data;
    glupy_attr_cache_t *ac = this->private ? glupy_attr_cache_of(this) : NULL;
    if (!ac || !up || up->event_type != GF_UPCALL_CACHE_INVALIDATION || !up->data)
        return;
    struct gf_upcall_cache_invalidation *ci = up->data;
    const unsigned char *gfids[3] = {up->gfid, ci->p_stat.ia_gfid, ci->oldp_stat.ia_gfid};
    for (int i = 0; i < 3; i++)
        if (memcmp(gfids[i], null_gfid, 16))
            glupy_ac_drop(ac, gfids[i]);
    /* never the root: FUSE's invalidate logs (inode_t *)nodeid, and the root's nodeid is 1 */
    if (__is_root_gfid(up->gfid))
        return;
    xlator_t *top = this->graph ? this->graph->top : NULL;
    inode_table_t *itable = top ? top->itable : NULL;
    inode_t *inode = itable ? inode_find(itable, up->gfid) : NULL;
    if (inode) {
        inode_invalidate(inode);
        inode_unref(inode);
    }
}
