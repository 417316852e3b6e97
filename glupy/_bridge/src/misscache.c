/* A table of names known not to exist, answered in C (glupy.MissCache).
 *
 * A translator that caches ENOENT (glupy.library.negative_lookup) would
 * otherwise enter Python for every repeated miss only to raise FopError:
 * ~12 us per lookup through FUSE, where GlusterFS's C nl-cache answers in
 * ~1 us.  With a MissCache attached (a translator's ``miss_cache``), the
 * bridge's lookup entry asks this table first and unwinds ENOENT without
 * the GIL; Python decides what goes in (add/discard/drop_parent) and sees
 * only the lookups the table could not answer.
 *
 * Keys are (parent gfid, name).  Entries expire (monotonic clock) and are
 * bounded by an LRU.  A second, small table indexes entries by parent so a
 * directory's entries can be dropped (rmdir) or probed (readdirp) without a
 * scan.  One mutex guards everything: every operation is a few pointer
 * updates.
 */

#include "glupy.h"

#include <glusterfs/upcall-utils.h> /* after xlator.h: it uses dict_t */

#define GLUPY_MC_NAME_MAX 4096
#define GLUPY_MC_STRIPES 1024 /* generation counters, by parent gfid */
#define GLUPY_MC_DIRS 4096    /* directory times (misses learned in C), by gfid */

typedef struct glupy_mc_entry glupy_mc_entry_t;
typedef struct glupy_mc_parent glupy_mc_parent_t;

struct glupy_mc_parent {
    glupy_mc_parent_t *hnext; /* bucket chain */
    glupy_mc_entry_t *names;  /* entries under this parent */
    size_t count;
    unsigned char gfid[16];
};

struct glupy_mc_entry {
    glupy_mc_entry_t *hnext;                /* bucket chain */
    glupy_mc_entry_t *older, *newer;        /* LRU, oldest first */
    glupy_mc_entry_t *sib_prev, *sib_next;  /* the parent's names */
    glupy_mc_parent_t *parent;
    uint64_t hash;
    int64_t expiry;                         /* CLOCK_MONOTONIC ns */
    size_t len;
    char name[];
};

struct glupy_miss_cache {
    pthread_mutex_t lock;
    glupy_mc_entry_t **buckets;
    size_t nbuckets; /* power of two */
    glupy_mc_parent_t **pbuckets;
    size_t npbuckets;
    size_t count, nparents;
    size_t max_entries;
    int64_t timeout;      /* ns */
    glupy_mc_entry_t lru; /* sentinel: lru.newer is the oldest entry */
    uint64_t hits, added, expired, evicted, dropped, invalidations, raced, dir_changed;
    /* bumped by every invalidation under a parent: a lookup caches its miss only if
     * its parent's counter did not move while it was in flight (add_unless_changed) */
    uint64_t gens[GLUPY_MC_STRIPES];
    /* the times of directories seen in lookups learned in C, by gfid (one per slot:
     * a directory pushed out takes its misses with it) */
    struct {
        unsigned char gfid[16];
        int64_t mtime_ns, ctime_ns;
    } dirs[GLUPY_MC_DIRS];
    int refs;
};

static inline uint64_t *glupy_mc_gen(glupy_miss_cache_t *mc, const unsigned char *gfid)
{
    return &mc->gens[glupy_mc_gfid_hash(gfid) & (GLUPY_MC_STRIPES - 1)];
}



/* gfids are random (uuid4): their bytes are a good hash already */

static inline uint64_t glupy_mc_hash(const unsigned char *gfid, const char *name, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211ULL;
    return h ^ (glupy_mc_gfid_hash(gfid) * 0x9E3779B97F4A7C15ULL);
}

glupy_miss_cache_t *glupy_mc_new(uint64_t max_entries, double timeout)
{
    glupy_miss_cache_t *mc = calloc(1, sizeof(*mc));
    if (!mc)
        return NULL;
    mc->nbuckets = mc->npbuckets = 256;
    mc->buckets = calloc(mc->nbuckets, sizeof(*mc->buckets));
    mc->pbuckets = calloc(mc->npbuckets, sizeof(*mc->pbuckets));
    if (!mc->buckets || !mc->pbuckets) {
        free(mc->buckets);
        free(mc->pbuckets);
        free(mc);
        return NULL;
    }
    pthread_mutex_init(&mc->lock, NULL);
    mc->lru.newer = mc->lru.older = &mc->lru;
    mc->max_entries = max_entries;
    mc->timeout = timeout > 0 ? (int64_t)(timeout * 1e9) : 0;
    mc->refs = 1;
    return mc;
}

static glupy_mc_parent_t *glupy_mc_parent(glupy_miss_cache_t *mc, const unsigned char *gfid,
                                          int create)
{
    glupy_mc_parent_t **b = &mc->pbuckets[glupy_mc_gfid_hash(gfid) & (mc->npbuckets - 1)];
    for (glupy_mc_parent_t *p = *b; p; p = p->hnext)
        if (!memcmp(p->gfid, gfid, 16))
            return p;
    if (!create)
        return NULL;
    if (mc->nparents >= mc->npbuckets * 2) { /* grow: rehash the parents */
        size_t n = mc->npbuckets * 4;
        glupy_mc_parent_t **nb = calloc(n, sizeof(*nb));
        if (nb) {
            for (size_t i = 0; i < mc->npbuckets; i++)
                for (glupy_mc_parent_t *p = mc->pbuckets[i], *next; p; p = next) {
                    next = p->hnext;
                    glupy_mc_parent_t **d = &nb[glupy_mc_gfid_hash(p->gfid) & (n - 1)];
                    p->hnext = *d;
                    *d = p;
                }
            free(mc->pbuckets);
            mc->pbuckets = nb;
            mc->npbuckets = n;
            b = &mc->pbuckets[glupy_mc_gfid_hash(gfid) & (n - 1)];
        }
    }
    glupy_mc_parent_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    memcpy(p->gfid, gfid, 16);
    p->hnext = *b;
    *b = p;
    mc->nparents++;
    return p;
}

static glupy_mc_entry_t **glupy_mc_find(glupy_miss_cache_t *mc, const unsigned char *gfid,
                                        const char *name, size_t len, uint64_t hash)
{
    glupy_mc_entry_t **e = &mc->buckets[hash & (mc->nbuckets - 1)];
    for (; *e; e = &(*e)->hnext)
        if ((*e)->hash == hash && (*e)->len == len && !memcmp((*e)->parent->gfid, gfid, 16)
            && !memcmp((*e)->name, name, len))
            return e;
    return e;
}

static void glupy_mc_unlink_lru(glupy_mc_entry_t *e)
{
    e->older->newer = e->newer;
    e->newer->older = e->older;
}

static void glupy_mc_push_lru(glupy_miss_cache_t *mc, glupy_mc_entry_t *e)
{
    e->newer = &mc->lru;
    e->older = mc->lru.older;
    mc->lru.older->newer = e;
    mc->lru.older = e;
}

static void glupy_mc_free_parent(glupy_miss_cache_t *mc, glupy_mc_parent_t *p)
{
    glupy_mc_parent_t **b = &mc->pbuckets[glupy_mc_gfid_hash(p->gfid) & (mc->npbuckets - 1)];
    while (*b != p)
        b = &(*b)->hnext;
    *b = p->hnext;
    free(p);
    mc->nparents--;
}

/* removes the entry *where points to (its bucket link) */
static void glupy_mc_remove(glupy_miss_cache_t *mc, glupy_mc_entry_t **where)
{
    glupy_mc_entry_t *e = *where;
    *where = e->hnext;
    glupy_mc_unlink_lru(e);
    glupy_mc_parent_t *p = e->parent;
    if (e->sib_prev)
        e->sib_prev->sib_next = e->sib_next;
    else
        p->names = e->sib_next;
    if (e->sib_next)
        e->sib_next->sib_prev = e->sib_prev;
    if (--p->count == 0)
        glupy_mc_free_parent(mc, p);
    free(e);
    mc->count--;
}

static void glupy_mc_remove_entry(glupy_miss_cache_t *mc, glupy_mc_entry_t *e)
{
    glupy_mc_entry_t **where = &mc->buckets[e->hash & (mc->nbuckets - 1)];
    while (*where != e)
        where = &(*where)->hnext;
    glupy_mc_remove(mc, where);
}

static void glupy_mc_trim(glupy_miss_cache_t *mc)
{
    while (mc->count > mc->max_entries) {
        glupy_mc_remove_entry(mc, mc->lru.newer);
        mc->evicted++;
    }
}

static void glupy_mc_grow(glupy_miss_cache_t *mc)
{
    size_t n = mc->nbuckets * 4;
    glupy_mc_entry_t **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < mc->nbuckets; i++)
        for (glupy_mc_entry_t *e = mc->buckets[i], *next; e; e = next) {
            next = e->hnext;
            e->hnext = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
        }
    free(mc->buckets);
    mc->buckets = nb;
    mc->nbuckets = n;
}

/* ------------------------------------------------------------ the API (cdef) */

/* 1 if (gfid, name) is cached and fresh (a hit, counted), else 0 */
int glupy_mc_hit(glupy_miss_cache_t *mc, const unsigned char *gfid, const char *name,
                        size_t len)
{
    uint64_t hash = glupy_mc_hash(gfid, name, len);
    int hit = 0;
    pthread_mutex_lock(&mc->lock);
    if (mc->count) {
        glupy_mc_entry_t **where = glupy_mc_find(mc, gfid, name, len, hash);
        if (*where) {
            if (glupy_mc_now() < (*where)->expiry) {
                glupy_mc_entry_t *e = *where;
                glupy_mc_unlink_lru(e);
                glupy_mc_push_lru(mc, e);
                mc->hits++;
                hit = 1;
            } else {
                glupy_mc_remove(mc, where);
                mc->expired++;
            }
        }
    }
    pthread_mutex_unlock(&mc->lock);
    return hit;
}

static int glupy_mc_add_locked(glupy_miss_cache_t *mc, const unsigned char *gfid,
                               const char *name, size_t len)
{
    if (len > GLUPY_MC_NAME_MAX)
        return 0;
    uint64_t hash = glupy_mc_hash(gfid, name, len);
    int stored = 0;
    if (mc->max_entries && mc->timeout > 0) {
        int64_t expiry = glupy_mc_now() + mc->timeout;
        glupy_mc_entry_t **where = glupy_mc_find(mc, gfid, name, len, hash);
        glupy_mc_entry_t *e = *where;
        if (e) {
            e->expiry = expiry;
            glupy_mc_unlink_lru(e);
            glupy_mc_push_lru(mc, e);
            stored = 1;
        } else {
            glupy_mc_parent_t *p = glupy_mc_parent(mc, gfid, 1);
            e = p ? malloc(sizeof(*e) + len) : NULL;
            if (e) {
                e->hash = hash;
                e->expiry = expiry;
                e->len = len;
                memcpy(e->name, name, len);
                e->parent = p;
                e->sib_prev = NULL;
                e->sib_next = p->names;
                if (p->names)
                    p->names->sib_prev = e;
                p->names = e;
                p->count++;
                e->hnext = *where;
                *where = e;
                glupy_mc_push_lru(mc, e);
                mc->count++;
                mc->added++;
                stored = 1;
                if (mc->count > mc->nbuckets * 2)
                    glupy_mc_grow(mc);
                glupy_mc_trim(mc);
            } else if (p && !p->count) { /* out of memory: drop the new, empty parent */
                glupy_mc_free_parent(mc, p);
            }
        }
    }
    return stored;
}

/* remember (gfid, name) as missing for the timeout; 1 if stored */
int glupy_mc_add(glupy_miss_cache_t *mc, const unsigned char *gfid, const char *name,
                 size_t len)
{
    pthread_mutex_lock(&mc->lock);
    int stored = glupy_mc_add_locked(mc, gfid, name, len);
    pthread_mutex_unlock(&mc->lock);
    return stored;
}

/* the invalidation counter of gfid's names, read before winding a lookup */
uint64_t glupy_mc_generation(glupy_miss_cache_t *mc, const unsigned char *gfid)
{
    pthread_mutex_lock(&mc->lock);
    uint64_t gen = *glupy_mc_gen(mc, gfid);
    pthread_mutex_unlock(&mc->lock);
    return gen;
}

/* glupy_mc_add, unless a name under gfid was invalidated since ``gen`` was read
 * (then -1: the lookup raced with a create, its ENOENT may be stale) */
static int glupy_mc_add_unless_changed_locked(glupy_miss_cache_t *mc, const unsigned char *gfid,
                                              const char *name, size_t len, uint64_t gen)
{
    if (*glupy_mc_gen(mc, gfid) == gen)
        return glupy_mc_add_locked(mc, gfid, name, len);
    mc->raced++;
    return -1;
}

int glupy_mc_add_unless_changed(glupy_miss_cache_t *mc, const unsigned char *gfid,
                                const char *name, size_t len, uint64_t gen)
{
    pthread_mutex_lock(&mc->lock);
    int stored = glupy_mc_add_unless_changed_locked(mc, gfid, name, len, gen);
    pthread_mutex_unlock(&mc->lock);
    return stored;
}

/* forget (gfid, name); 1 if it was cached */
int glupy_mc_discard(glupy_miss_cache_t *mc, const unsigned char *gfid, const char *name,
                            size_t len)
{
    uint64_t hash = glupy_mc_hash(gfid, name, len);
    int found = 0;
    pthread_mutex_lock(&mc->lock);
    ++*glupy_mc_gen(mc, gfid);
    mc->invalidations++;
    if (mc->count) {
        glupy_mc_entry_t **where = glupy_mc_find(mc, gfid, name, len, hash);
        if (*where) {
            glupy_mc_remove(mc, where);
            mc->dropped++;
            found = 1;
        }
    }
    pthread_mutex_unlock(&mc->lock);
    return found;
}

/* how many names under directory gfid are cached; with ``drop``, forgets them */
static size_t glupy_mc_parent_names_locked(glupy_miss_cache_t *mc, const unsigned char *gfid,
                                           int drop)
{
    size_t n = 0;
    if (drop) {
        ++*glupy_mc_gen(mc, gfid);
        mc->invalidations++;
    }
    glupy_mc_parent_t *p = mc->count ? glupy_mc_parent(mc, gfid, 0) : NULL;
    if (p) {
        n = p->count;
        if (drop) {
            for (size_t i = 0; i < n; i++) /* the last removal frees p */
                glupy_mc_remove_entry(mc, p->names);
            mc->dropped += n;
        }
    }
    return n;
}

size_t glupy_mc_parent_names(glupy_miss_cache_t *mc, const unsigned char *gfid, int drop)
{
    pthread_mutex_lock(&mc->lock);
    size_t n = glupy_mc_parent_names_locked(mc, gfid, drop);
    pthread_mutex_unlock(&mc->lock);
    return n;
}

static void glupy_mc_clear_locked(glupy_miss_cache_t *mc)
{
    while (mc->count)
        glupy_mc_remove_entry(mc, mc->lru.newer);
}

void glupy_mc_configure(glupy_miss_cache_t *mc, uint64_t max_entries, double timeout)
{
    pthread_mutex_lock(&mc->lock);
    mc->max_entries = max_entries;
    mc->timeout = timeout > 0 ? (int64_t)(timeout * 1e9) : 0;
    if (!mc->timeout)
        glupy_mc_clear_locked(mc); /* nothing may stay */
    glupy_mc_trim(mc);
    pthread_mutex_unlock(&mc->lock);
}

void glupy_mc_clear(glupy_miss_cache_t *mc)
{
    pthread_mutex_lock(&mc->lock);
    glupy_mc_clear_locked(mc);
    pthread_mutex_unlock(&mc->lock);
}

/* entries, parents, hits, added, expired, evicted, dropped, invalidations, raced */
void glupy_mc_stats(glupy_miss_cache_t *mc, uint64_t *out)
{
    pthread_mutex_lock(&mc->lock);
    out[0] = mc->count;
    out[1] = mc->nparents;
    out[2] = mc->hits;
    out[3] = mc->added;
    out[4] = mc->expired;
    out[5] = mc->evicted;
    out[6] = mc->dropped;
    out[7] = mc->invalidations;
    out[8] = mc->raced;
    out[9] = mc->dir_changed;
    pthread_mutex_unlock(&mc->lock);
}

void glupy_mc_unref(glupy_miss_cache_t *mc)
{
    pthread_mutex_lock(&mc->lock);
    int last = --mc->refs == 0;
    pthread_mutex_unlock(&mc->lock);
    if (!last)
        return;
    glupy_mc_clear(mc);
    pthread_mutex_destroy(&mc->lock);
    free(mc->buckets);
    free(mc->pbuckets);
    free(mc);
}

/* Attach (or with NULL, detach) the table the lookup entry consults.  A
 * detached or replaced table is not freed here: a lookup in flight may still
 * be reading it (the same rule as the fop tables); the Python object's
 * reference keeps it until it is collected after fini. */
int glupy_set_miss_cache(xlator_t *this, glupy_miss_cache_t *mc)
{
    glupy_private_t *priv = this->private;
    if (mc) {
        pthread_mutex_lock(&mc->lock);
        mc->refs++; /* the xlator's reference: never dropped (see above) */
        pthread_mutex_unlock(&mc->lock);
    }
    __atomic_store_n(&priv->miss_cache, mc, __ATOMIC_RELEASE);
    return 0;
}

/* GF_EVENT_UPCALL (called by the bridge's notify, before Python, without the GIL):
 * a cache invalidation names an inode and, for entry changes, its parent(s) and
 * old parent (features/upcall sends no names).  Each of these gfids may be a
 * directory whose entries changed on another client: forget every name cached
 * under it.  Gfids with nothing cached cost one hash probe; other upcall kinds
 * (lease recall, lock contention) say nothing about names. */
void glupy_miss_cache_upcall(xlator_t *this, void *data)
{
    static const unsigned char null_gfid[16];
    glupy_private_t *priv = this->private;
    struct gf_upcall *up = data;
    glupy_miss_cache_t *mc = priv ? __atomic_load_n(&priv->miss_cache, __ATOMIC_ACQUIRE) : NULL;
    if (!mc || !up || up->event_type != GF_UPCALL_CACHE_INVALIDATION || !up->data)
        return;
    struct gf_upcall_cache_invalidation *ci = up->data;
    const unsigned char *dirs[3] = {up->gfid, ci->p_stat.ia_gfid, ci->oldp_stat.ia_gfid};
    for (int i = 0; i < 3; i++)
        if (memcmp(dirs[i], null_gfid, 16))
            glupy_mc_parent_names(mc, dirs[i], 1);
}

/* Before a fop that makes loc's name exist (codegen NAME_CREATING), in its entry:
 * the name is no longer missing, and lookups in flight under its parent must not
 * cache their ENOENT. */
void glupy_miss_cache_forget_name(xlator_t *this, loc_t *loc)
{
    glupy_private_t *priv = this->private;
    glupy_miss_cache_t *mc = __atomic_load_n(&priv->miss_cache, __ATOMIC_ACQUIRE);
    const unsigned char *parent = mc ? glupy_miss_cache_parent(loc) : NULL;
    if (parent)
        glupy_mc_discard(mc, parent, loc->name, strlen(loc->name));
}

/* After it, in its unwind: a lookup that reached the brick before the fop and came
 * back after forget_name may have cached the name as missing.  The reply names the
 * parent (its iatt), not the name: every miss under the parent goes. */
void glupy_miss_cache_created(xlator_t *this, int32_t op_ret, struct iatt *parent)
{
    static const unsigned char null_gfid[16];
    glupy_private_t *priv = this ? this->private : NULL;
    glupy_miss_cache_t *mc = priv ? __atomic_load_n(&priv->miss_cache, __ATOMIC_ACQUIRE) : NULL;
    if (mc && op_ret >= 0 && parent && memcmp(parent->ia_gfid, null_gfid, 16))
        glupy_mc_parent_names(mc, parent->ia_gfid, 1);
}

/* ------------------------------------------------ misses learned in C */
/* A translator with a MissCache that defines no lookup (glupy.library.negative_lookup):
 * its lookups are wound on in C, and their replies fill the table here.  What the
 * reply needs is kept in frame->local (the bridge's frame: nothing else uses it). */

typedef struct {
    glupy_miss_cache_t *mc;
    uint64_t gen;
    unsigned char parent[16];
    size_t len;
    char name[];
} glupy_mc_pending_t;

static inline int64_t glupy_mc_ns(int64_t sec, uint32_t nsec)
{
    return sec * 1000000000 + nsec;
}

/* A directory seen in a lookup reply (its own iatt, or the postparent of a name in
 * it): when its times moved since it was last seen, a name may have appeared there
 * that no invalidation announced (a rename or link into it by another client, whose
 * source inode this client never used): its misses go.  A directory whose slot goes
 * to another one has no baseline any more: its misses go too. */
static void glupy_mc_dir_seen_locked(glupy_miss_cache_t *mc, const struct iatt *dir)
{
    static const unsigned char null_gfid[16];
    int64_t mtime = glupy_mc_ns(dir->ia_mtime, dir->ia_mtime_nsec);
    int64_t ctime = glupy_mc_ns(dir->ia_ctime, dir->ia_ctime_nsec);
    __typeof__(&mc->dirs[0]) slot =
        &mc->dirs[glupy_mc_gfid_hash(dir->ia_gfid) & (GLUPY_MC_DIRS - 1)];
    if (!memcmp(slot->gfid, dir->ia_gfid, 16)) {
        if (slot->mtime_ns == mtime && slot->ctime_ns == ctime)
            return;
        mc->dir_changed++;
        glupy_mc_parent_names_locked(mc, dir->ia_gfid, 1);
    } else if (memcmp(slot->gfid, null_gfid, 16)) {
        glupy_mc_parent_names_locked(mc, slot->gfid, 1);
    }
    memcpy(slot->gfid, dir->ia_gfid, 16);
    slot->mtime_ns = mtime;
    slot->ctime_ns = ctime;
}

static int glupy_mc_is_dir(const struct iatt *ia)
{
    static const unsigned char null_gfid[16];
    return ia && ia->ia_type == IA_IFDIR && memcmp(ia->ia_gfid, null_gfid, 16);
}

int glupy_miss_cache_lookup_begin(xlator_t *this, call_frame_t *frame, loc_t *loc)
{
    glupy_private_t *priv = this->private;
    glupy_miss_cache_t *mc = __atomic_load_n(&priv->miss_cache, __ATOMIC_ACQUIRE);
    if (!mc)
        return 0;
    const unsigned char *parent = glupy_miss_cache_parent(loc);
    size_t len = parent ? strlen(loc->name) : 0;
    if (!parent || len > GLUPY_MC_NAME_MAX)
        return 1; /* nameless: only the directory times of the reply */
    glupy_mc_pending_t *pending = malloc(sizeof(*pending) + len);
    if (!pending)
        return 1;
    pending->mc = mc;
    memcpy(pending->parent, parent, 16);
    pending->gen = glupy_mc_generation(mc, parent);
    pending->len = len;
    memcpy(pending->name, loc->name, len);
    frame->local = pending;
    return 1;
}

void glupy_miss_cache_lookup_end(xlator_t *this, call_frame_t *frame, int32_t op_ret,
                                 int32_t op_errno, struct iatt *buf, struct iatt *postparent)
{
    glupy_private_t *priv = this->private;
    glupy_mc_pending_t *pending = frame->local;
    frame->local = NULL; /* STACK_DESTROY would mem_put it */
    glupy_miss_cache_t *mc = __atomic_load_n(&priv->miss_cache, __ATOMIC_ACQUIRE);
    if (mc) {
        pthread_mutex_lock(&mc->lock);
        if (op_ret >= 0 && glupy_mc_is_dir(buf))
            glupy_mc_dir_seen_locked(mc, buf);
        int named = pending && pending->mc == mc; /* not a table replaced meanwhile */
        if (named && glupy_mc_is_dir(postparent)
            && !memcmp(postparent->ia_gfid, pending->parent, 16))
            glupy_mc_dir_seen_locked(mc, postparent);
        if (named && op_ret < 0 && op_errno == ENOENT)
            glupy_mc_add_unless_changed_locked(mc, pending->parent, pending->name, pending->len,
                                               pending->gen);
        pthread_mutex_unlock(&mc->lock);
    }
    free(pending);
}
