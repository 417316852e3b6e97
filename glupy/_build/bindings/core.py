"""xlator.h / stack.h / logging.h: the translator object, frames, logging."""

INCLUDES = """
#include <glusterfs/xlator.h>
#include <glusterfs/defaults.h>
#include <glusterfs/stack.h>
#include <glusterfs/logging.h>
#include <glusterfs/globals.h>

/* The release line the headers describe, from their op-version (10.x: 100000,
 * 11.x: 110000).  Version differences in the bindings test this one macro. */
#define GLUPY_GLUSTERFS_MAJOR (GD_OP_VERSION_MAX / 10000)
#if GLUPY_GLUSTERFS_MAJOR < 10 || GLUPY_GLUSTERFS_MAJOR > 11
#error "glupy supports GlusterFS 10.x and 11.x; these headers are another release"
#endif
"""

TYPES = """
typedef int... mode_t;
typedef int... dev_t;
typedef int... off_t;
typedef int... off64_t;
typedef int... uid_t;
typedef int... gid_t;
typedef int... pid_t;
typedef unsigned char uuid_t[16];
typedef _Bool gf_boolean_t;

typedef struct _xlator xlator_t;
typedef struct xlator_list {
    xlator_t *xlator;
    struct xlator_list *next;
} xlator_list_t;
typedef struct _dict dict_t;
typedef struct _inode inode_t;
typedef struct _inode_table inode_table_t;
typedef struct _fd fd_t;
typedef struct _loc loc_t;
typedef struct _client client_t;
typedef struct _glusterfs_ctx glusterfs_ctx_t;
typedef struct _call_stack call_stack_t;
typedef struct _call_frame call_frame_t;
typedef struct _gf_dirent gf_dirent_t;
typedef struct lock_migration_info lock_migration_info_t;
struct iobuf_pool;

struct gf_lkowner_t { int len; char data[...]; };
typedef struct gf_lkowner_t gf_lkowner_t;

struct _glusterfs_ctx {
    void *iobuf_pool;
    ...;
};

struct _xlator {
    char *name;
    char *type;
    xlator_list_t *parents;
    xlator_list_t *children;
    dict_t *options;
    glusterfs_ctx_t *ctx;
    inode_table_t *itable;
    void *private;
    ...;
};

struct _call_stack {
    client_t *client;
    uint64_t unique;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    uint16_t ngrps;
    uint32_t *groups;
    gf_lkowner_t lk_owner;
    int32_t op;
    uint32_t flags;
    ...;
};

struct _call_frame {
    call_stack_t *root;
    call_frame_t *parent;
    void *cookie;
    xlator_t *this;
    ...;
};

typedef enum {
    GF_LOG_NONE, GF_LOG_EMERG, GF_LOG_ALERT, GF_LOG_CRITICAL, GF_LOG_ERROR,
    GF_LOG_WARNING, GF_LOG_NOTICE, GF_LOG_INFO, GF_LOG_DEBUG, GF_LOG_TRACE,
    ...
} gf_loglevel_t;

#define GF_EVENT_MAXVAL ...
#define GF_FOP_MAXVALUE ...
"""

FUNCTIONS = """
int32_t default_notify(xlator_t *this, int32_t event, void *data, ...);
int gf_log_get_loglevel(void);
void glupy_log(const char *domain, const char *file, const char *function,
               int32_t line, int level, const char *msg);
call_frame_t *copy_frame(call_frame_t *frame);
"""

CUSTOMIZATIONS = """
static void glupy_log(const char *domain, const char *file,
                      const char *function, int32_t line, int level,
                      const char *msg)
{
    _gf_log(domain, file, function, line, (gf_loglevel_t)level, "%s", msg);
}
"""
