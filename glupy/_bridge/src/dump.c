/* The statedump section of a glupy translator (xlator_dumpops.priv).
 *
 * `kill -USR1` makes GlusterFS write a statedump from its signal-handling
 * thread.  The section's lines come from Python (glupy.runtime.procstatus.statedump:
 * the same description `glupy status` reads), so they need the GIL.  A
 * translator stuck while holding the GIL would then stop the whole dump, and a
 * dump is what an administrator takes to find such a hang: so the lines are
 * gathered on a helper thread, and the dump thread waits for them at most
 * GLUPY_DUMP_WAIT seconds, then writes them or says why there are none.  The
 * helper only fills memory (never the dump file, which GlusterFS closes after
 * the dump); whichever of the two threads finishes last frees it.
 */
#include <glusterfs/statedump.h>

#include "glupy.h"

#define GLUPY_DUMP_WAIT 5

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;
    int done;
    int ret;
    xlator_t *this;
    char *text; /* key '\0' value '\0' ... */
    size_t len, cap;
} glupy_dump_t;

static void glupy_dump_unref(glupy_dump_t *d)
{
    pthread_mutex_lock(&d->lock);
    int last = --d->refs == 0;
    pthread_mutex_unlock(&d->lock);
    if (!last)
        return;
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    free(d->text);
    free(d);
}

/* Called by Python (with the GIL, on the helper thread): one line of the section. */
int glupy_dump_line(void *dump, const char *key, const char *value)
{
    glupy_dump_t *d = dump;
    size_t klen = strlen(key) + 1, vlen = strlen(value) + 1;
    if (d->len + klen + vlen > d->cap) {
        size_t cap = (d->cap ? d->cap * 2 : 1024) + klen + vlen;
        char *text = realloc(d->text, cap);
        if (!text)
            return -1;
        d->text = text;
        d->cap = cap;
    }
    memcpy(d->text + d->len, key, klen);
    memcpy(d->text + d->len + klen, value, vlen);
    d->len += klen + vlen;
    return 0;
}

static void *glupy_dump_gather(void *arg)
{
    glupy_dump_t *d = arg;
    /* cffi's extern "Python" takes the GIL (and a thread state for this
       short-lived thread, dropped again on return) */
    int ret = glupy_py_dump(d->this, d);
    pthread_mutex_lock(&d->lock);
    d->ret = ret;
    d->done = 1;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
    glupy_dump_unref(d);
    return NULL;
}

int32_t glupy_dump_priv(xlator_t *this)
{
    char key[GF_DUMP_MAX_BUF_LEN];
    glupy_dump_t *d;
    pthread_t helper;
    struct timespec until;
    int done;

    gf_proc_dump_build_key(key, "xlator.features.glupy", "%s.priv", this->name);
    gf_proc_dump_add_section("%s", key);
    if (!Py_IsInitialized() || !this->private) {
        gf_proc_dump_write("state", "%s", "Python not started (see the log)");
        return 0;
    }
    d = calloc(1, sizeof(*d));
    if (!d)
        return -1;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    d->refs = 2;
    d->this = this;
    if (pthread_create(&helper, NULL, glupy_dump_gather, d) != 0) {
        gf_proc_dump_write("state", "%s", "no thread to gather the section");
        d->refs = 1;
        glupy_dump_unref(d);
        return -1;
    }
    pthread_detach(helper);

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += GLUPY_DUMP_WAIT;
    pthread_mutex_lock(&d->lock);
    while (!d->done &&
           pthread_cond_timedwait(&d->cond, &d->lock, &until) != ETIMEDOUT)
        ;
    done = d->done;
    pthread_mutex_unlock(&d->lock);

    if (!done) {
        gf_proc_dump_write("state",
                           "Python busy: the GIL was not free within %d s (a "
                           "translator that does not yield? see py-spy dump)",
                           GLUPY_DUMP_WAIT);
    } else {
        /* the helper has finished: d->text is no longer written */
        for (size_t at = 0; at < d->len;) {
            const char *k = d->text + at;
            const char *v = k + strlen(k) + 1;
            gf_proc_dump_write((char *)k, "%s", v);
            at = (size_t)(v - d->text) + strlen(v) + 1;
        }
        if (d->ret != 0)
            gf_proc_dump_write("state", "%s", "incomplete: an error, logged");
    }
    glupy_dump_unref(d);
    return 0;
}

/* The instance's tasks in flight (glupy_start and glupy_task_unref, task.c), for
 * glupy.runtime.procstatus: a snapshot. */
long glupy_instance_tasks(xlator_t *this)
{
    glupy_private_t *priv = this->private;
    return priv ? __atomic_load_n(&priv->tasks_live, __ATOMIC_RELAXED) : 0;
}
