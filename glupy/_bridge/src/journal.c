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

/* ------------------------------------------------------------ JSON lines */
/* glupy.Journal.take_json: the queued records as JSON lines, formatted here (a
 * record formatted in Python cost ~40k instructions on the writer thread, more
 * than the fop it records).  Fields and text as JournalRecord's, the path as
 * Python's json module writes the path decoded from UTF-8 with surrogateescape
 * (ASCII only: \uXXXX escapes, lowercase hex; an undecodable byte b is U+DC00+b). */

static char *glupy_json_u(char *o, unsigned cp)
{
    static const char hex[] = "0123456789abcdef";
    *o++ = '\\';
    *o++ = 'u';
    *o++ = hex[(cp >> 12) & 15];
    *o++ = hex[(cp >> 8) & 15];
    *o++ = hex[(cp >> 4) & 15];
    *o++ = hex[cp & 15];
    return o;
}

static char *glupy_json_char(char *o, unsigned cp)
{
    switch (cp) {
    case '"': *o++ = '\\'; *o++ = '"'; return o;
    case '\\': *o++ = '\\'; *o++ = '\\'; return o;
    case '\b': *o++ = '\\'; *o++ = 'b'; return o;
    case '\f': *o++ = '\\'; *o++ = 'f'; return o;
    case '\n': *o++ = '\\'; *o++ = 'n'; return o;
    case '\r': *o++ = '\\'; *o++ = 'r'; return o;
    case '\t': *o++ = '\\'; *o++ = 't'; return o;
    }
    if (cp >= ' ' && cp <= '~') {
        *o++ = (char)cp;
        return o;
    }
    if (cp >= 0x10000) {
        cp -= 0x10000;
        o = glupy_json_u(o, 0xD800 | (cp >> 10));
        return glupy_json_u(o, 0xDC00 | (cp & 0x3FF));
    }
    return glupy_json_u(o, cp);
}

/* the length of the UTF-8 sequence at s that Python's strict decoder accepts (its
 * code point in *cp), or 0: s[0] and the continuation bytes before the first bad
 * one (their count in *bad) are undecodable */
static int glupy_utf8_seq(const unsigned char *s, unsigned *cp, int *bad)
{
    unsigned char b = s[0];
    int n;
    unsigned lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (b >= 0xC2 && b <= 0xDF)
        n = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        *bad = 1;
        return 0;
    }
    unsigned v = b & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        unsigned char c = s[i];
        if (i == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) {
            *bad = i;
            return 0;
        }
        v = (v << 6) | (c & 0x3F);
    }
    *cp = v;
    return n;
}

static char *glupy_json_path(char *o, const char *path)
{
    const unsigned char *s = (const unsigned char *)path;
    *o++ = '"';
    while (*s) {
        if (*s < 0x80) {
            o = glupy_json_char(o, *s++);
            continue;
        }
        unsigned cp;
        int bad = 0;
        int n = glupy_utf8_seq(s, &cp, &bad);
        if (n) {
            o = glupy_json_char(o, cp);
            s += n;
        } else {
            for (int i = 0; i < bad; i++)
                o = glupy_json_u(o, 0xDC00 | s[i]);
            s += bad;
        }
    }
    *o++ = '"';
    return o;
}

/* what a record's line may take at most: each path byte at most 6 characters */
static size_t glupy_json_room(const glupy_journal_record_t *r)
{
    return 320 + (r->has_path ? 6 * strlen(r->path) : 0);
}

/* sprintf's %f alone cost ~14k instructions per line: numbers are written by hand */
static char *glupy_json_put(char *o, const char *text)
{
    size_t n = strlen(text);
    memcpy(o, text, n);
    return o + n;
}

static char *glupy_json_uint(char *o, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *o++ = tmp[--n];
    return o;
}

static char *glupy_json_int(char *o, int64_t v)
{
    if (v < 0) {
        *o++ = '-';
        return glupy_json_uint(o, (uint64_t)0 - (uint64_t)v);
    }
    return glupy_json_uint(o, (uint64_t)v);
}

/* v / 10^digits with ``digits`` decimals (v already rounded to them) */
static char *glupy_json_fixed(char *o, int64_t v, int digits)
{
    uint64_t scale = 1;
    for (int i = 0; i < digits; i++)
        scale *= 10;
    if (v < 0) {
        *o++ = '-';
        v = -v;
    }
    o = glupy_json_uint(o, (uint64_t)v / scale);
    *o++ = '.';
    uint64_t frac = (uint64_t)v % scale;
    for (uint64_t d = scale / 10; d; d /= 10) {
        *o++ = (char)('0' + frac / d);
        frac %= d;
    }
    return o;
}

static char *glupy_json_line(char *o, const glupy_journal_record_t *r)
{
    static const unsigned char null_gfid[16];
    static const char hex[] = "0123456789abcdef";
    o = glupy_json_put(o, "{\"time\": ");
    o = glupy_json_fixed(o, (r->time_ns + 500) / 1000, 6); /* seconds, to the microsecond */
    o = glupy_json_put(o, ", \"fop\": \"");
    o = glupy_json_put(o, glupy_fop_names[r->slot]);
    o = glupy_json_put(o, "\", \"path\": ");
    o = r->has_path ? glupy_json_path(o, r->path) : glupy_json_put(o, "null");
    o = glupy_json_put(o, ", \"gfid\": ");
    if (memcmp(r->gfid, null_gfid, 16)) {
        *o++ = '"';
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10)
                *o++ = '-';
            *o++ = hex[r->gfid[i] >> 4];
            *o++ = hex[r->gfid[i] & 15];
        }
        *o++ = '"';
    } else {
        o = glupy_json_put(o, "null");
    }
    o = glupy_json_put(o, ", \"uid\": ");
    o = glupy_json_uint(o, r->uid);
    o = glupy_json_put(o, ", \"gid\": ");
    o = glupy_json_uint(o, r->gid);
    o = glupy_json_put(o, ", \"pid\": ");
    o = glupy_json_int(o, r->pid);
    o = glupy_json_put(o, ", \"op_ret\": ");
    o = glupy_json_int(o, r->op_ret);
    o = glupy_json_put(o, ", \"errno\": ");
    o = glupy_json_int(o, r->op_errno);
    o = glupy_json_put(o, ", \"latency_us\": ");
    o = glupy_json_fixed(o, (r->latency_ns + 50) / 100, 1); /* tenths of a microsecond */
    return glupy_json_put(o, "}\n");
}

size_t glupy_journal_take_json(glupy_journal_t *j, char *buf, size_t size, uint64_t *records)
{
    char *o = buf;
    uint64_t n = 0;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        glupy_journal_record_t *r = j->head;
        if (r && (size_t)(o - buf) + glupy_json_room(r) > size && o != buf)
            r = NULL; /* the next call's */
        int fits = 1;
        if (r) {
            j->head = r->next;
            if (!j->head)
                j->tail = NULL;
            j->count--;
            fits = glupy_json_room(r) <= size;
            if (!fits)
                j->dropped++; /* longer than the whole buffer */
        }
        pthread_mutex_unlock(&j->lock);
        if (!r)
            break;
        if (fits) {
            o = glupy_json_line(o, r);
            n++;
        }
        free(r);
    }
    *records = n;
    return (size_t)(o - buf);
}
