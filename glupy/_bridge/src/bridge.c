/* The hand-written part of the bridge: starting CPython inside a glusterfs
 * process, the xlator_api symbol GlusterFS loads, and the per-instance fop
 * table.  Everything per fop and per cbk is generated (fops-tmpl.c).
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include "glupy.h"

static pthread_mutex_t glupy_start_lock = PTHREAD_MUTEX_INITIALIZER;

/* Start the interpreter the package was built for, once per process.
 * GlusterFS owns signals, so Python installs no handlers; the GIL is released
 * at the end and taken by every call into Python (cffi's extern "Python"). */
static int glupy_start_python(xlator_t *this)
{
    int ret = 0;
    pthread_mutex_lock(&glupy_start_lock);
    if (!Py_IsInitialized()) {
        PyConfig config;
        PyStatus status;
        Dl_info info;
        char root[PATH_MAX];

        /* xlators are dlopen()ed RTLD_LOCAL: make libpython's symbols global so
         * C extension modules (cffi's backend, _ssl, ...) can resolve them. */
        if (!dlopen(GLUPY_LIBPYTHON, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD))
            dlopen(GLUPY_LIBPYTHON, RTLD_NOW | RTLD_GLOBAL);

        PyConfig_InitPythonConfig(&config);
        config.install_signal_handlers = 0;
        config.parse_argv = 0;
        /* code runs as root: no user site directory (~/.local), no current
           directory in front of sys.path (glupy/runtime/security.py checks the rest) */
        config.user_site_directory = 0;
        config.safe_path = 1;
        /* program_name makes getpath find the venv (pyvenv.cfg) the package
           was installed into, hence its site-packages. */
        status = PyConfig_SetBytesString(&config, &config.program_name,
                                         GLUPY_PYTHON);
        if (!PyStatus_Exception(status))
            status = Py_InitializeFromConfig(&config);
        PyConfig_Clear(&config);
        if (PyStatus_Exception(status)) {
            gf_log(this->name, GF_LOG_ERROR,
                   "glupy: cannot start Python %s: %s", GLUPY_PYTHON,
                   status.err_msg ? status.err_msg : "unknown error");
            ret = -1;
            goto out;
        }
        /* The glupy package that holds this .so comes first on sys.path
           (.../ROOT/glupy/_bridge/glupy.so -> ROOT). */
        if (dladdr((void *)glupy_start_python, &info) && info.dli_fname &&
            realpath(info.dli_fname, root)) {
            for (int up = 0; up < 3; up++) {
                char *slash = strrchr(root, '/');
                if (slash)
                    *slash = '\0';
            }
            PyObject *path = PySys_GetObject("path"); /* borrowed */
            PyObject *entry = PyUnicode_DecodeFSDefault(root);
            if (path && entry)
                PyList_Insert(path, 0, entry);
            Py_XDECREF(entry);
        }
        PyEval_SaveThread();
    }
out:
    pthread_mutex_unlock(&glupy_start_lock);
    return ret;
}

/* getxattr of GLUPY_STATUS_XATTR: the process status (glupy.runtime.procstatus, JSON) as the
 * value, without winding.  Python only builds the value. */
int32_t glupy_answer_status(call_frame_t *frame, xlator_t *this)
{
    dict_t *dict = dict_new();
    int32_t len = -ENOMEM;
    if (dict) {
        glupy_enter_thread();
        len = glupy_py_status(this, dict);
    }
    if (len < 0)
        glupy_unwind_getxattr(frame, -1, -len, NULL, NULL);
    else
        glupy_unwind_getxattr(frame, len, 0, dict, NULL);
    if (dict)
        dict_unref(dict);
    return 0;
}

/* the getxattr of an instance whose class has none: the status key, else the child
 * (default_getxattr), without Python */
static int32_t glupy_getxattr_status_only(call_frame_t *frame, xlator_t *this, loc_t *loc,
                                          const char *name, dict_t *xdata)
{
    if (glupy_is_status_key(name))
        return glupy_answer_status(frame, this);
    return default_getxattr(frame, this, loc, name, xdata);
}

/* Called from Python once the translator class is known: fops the class
 * defines go to Python, every other slot keeps GlusterFS's default
 * pass-through, so undefined fops never touch Python. */
int glupy_install_fops(xlator_t *this, const unsigned char *enabled, int py_notify)
{
    glupy_private_t *priv = this->private;
    struct xlator_fops *fops = calloc(1, sizeof(*fops));
    if (!fops || !priv) {
        free(fops);
        return -1;
    }
    memcpy(fops, default_fops, sizeof(*fops));
    void **dst = (void **)fops;
    for (int slot = 0; slot < GLUPY_NUM_SLOTS; slot++)
        if (enabled[slot] && glupy_entry_points[slot])
            dst[slot] = glupy_entry_points[slot];
    /* every instance answers the status xattr: without a getxattr in Python, in C */
    if (fops->getxattr == default_fops->getxattr)
        fops->getxattr = glupy_getxattr_status_only;
    /* publish: a reload swaps the whole table at once */
    __atomic_store_n(&this->fops, fops, __ATOMIC_RELEASE);
    priv->py_notify = py_notify;
    /* old tables are kept: fops in flight may still be reading them */
    priv->fops = fops;
    return 0;
}

static int32_t glupy_init(xlator_t *this)
{
    glupy_private_t *priv;

    if (!this->children) {
        gf_log(this->name, GF_LOG_ERROR,
               "glupy: a glupy translator needs at least one subvolume");
        return -1;
    }
    priv = calloc(1, sizeof(*priv));
    if (!priv)
        return -1;
    memset(priv->done_in_entry, 1, sizeof(priv->done_in_entry)); /* until a task outlives it */
    this->private = priv;
    if (glupy_start_python(this) != 0)
        return -1;
    /* The first extern "Python" call also imports glupy.runtime.driver (cffi's
       embedding init code); it returns 1 only when the translator is ready. */
    glupy_enter_thread();
    if (glupy_py_init(this) != 1) {
        gf_log(this->name, GF_LOG_ERROR,
               "glupy: translator %s failed to initialise (cause logged above)",
               this->name);
        return -1;
    }
    return 0;
}

static void glupy_fini(xlator_t *this)
{
    if (Py_IsInitialized() && this->private) {
        glupy_enter_thread();
        glupy_py_fini(this);
    }
    /* the fop/cbk tables stay allocated: late callers may still read them */
}

static int32_t glupy_notify(xlator_t *this, int32_t event, void *data, ...)
{
    glupy_private_t *priv = this->private;
    if (event == GF_EVENT_UPCALL) { /* in C: no Python needed for Miss/AttrCache */
        glupy_miss_cache_upcall(this, data);
        glupy_attr_cache_upcall(this, data);
    }
    if (priv && priv->py_notify) {
        glupy_enter_thread();
        return glupy_py_notify(this, event, data);
    }
    return default_notify(this, event, data);
}

static int32_t glupy_reconfigure(xlator_t *this, dict_t *options)
{
    glupy_enter_thread();
    return glupy_py_reconfigure(this, options);
}

static struct xlator_fops glupy_static_fops;
static struct xlator_cbks glupy_static_cbks;
static struct xlator_dumpops glupy_dumpops = {.priv = glupy_dump_priv};

static volume_option_t glupy_options[] = {
    {.key = {"module"},
     .type = GF_OPTION_TYPE_STR,
     .description = "Python translator: package.module or package.module:Class"},
    {.key = {"python-path"},
     .type = GF_OPTION_TYPE_STR,
     .description = "extra directories (':'-separated) put first on sys.path"},
    {.key = {NULL}},
};

xlator_api_t xlator_api = {
    .init = glupy_init,
    .fini = glupy_fini,
    .notify = glupy_notify,
    .reconfigure = glupy_reconfigure,
    .op_version = {1},
    .fops = &glupy_static_fops,
    .cbks = &glupy_static_cbks,
    .dumpops = &glupy_dumpops,
    .options = glupy_options,
    .identifier = "glupy",
    .category = GF_EXPERIMENTAL,
};

/* The GlusterFS release named by the directory the loader found this library
 * in (LIBDIR/glusterfs/RELEASE/xlator/TYPE.so), copied into out; 0 if the path
 * does not name one.  The loader's own directory comes first in the path, even
 * when the volfile type is a relative path to a build elsewhere. */
static int glupy_loader_release(const char *path, char *out, size_t size)
{
    for (const char *p = strstr(path, "/glusterfs/"); p;
         p = strstr(p + 1, "/glusterfs/")) {
        const char *release = p + strlen("/glusterfs/");
        const char *end = strchr(release, '/');
        if (end && end > release && (size_t)(end - release) < size &&
            strncmp(end, "/xlator/", strlen("/xlator/")) == 0) {
            memcpy(out, release, end - release);
            out[end - release] = '\0';
            return 1;
        }
    }
    return 0;
}

/* Runs when GlusterFS dlopen()s this library, before it reads xlator_api.
 * xlator_api_t and the structs the bridge reads differ between releases, so a
 * bridge built for another release would be misread: empty xlator_api instead
 * (GlusterFS then refuses the xlator: no fops) and say why. */
__attribute__((constructor)) static void glupy_check_release(void)
{
    Dl_info info;
    char running[64];
    if (!dladdr((void *)&xlator_api, &info) || !info.dli_fname ||
        !glupy_loader_release(info.dli_fname, running, sizeof(running)) ||
        strcmp(running, GLUPY_GLUSTERFS_RELEASE) == 0)
        return;
    gf_log("glupy", GF_LOG_ERROR,
           "glupy: %s was built for GlusterFS %s but this is GlusterFS %s: "
           "rebuild glupy for %s (python -m glupy._build, or install the "
           "glupy package built for it); refusing to load",
           info.dli_fname, GLUPY_GLUSTERFS_RELEASE, running, running);
    memset(&xlator_api, 0, sizeof(xlator_api));
}
