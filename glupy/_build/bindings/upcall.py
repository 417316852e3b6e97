"""upcall-utils.h: what GF_EVENT_UPCALL carries (cache invalidation, lease recall,
inodelk/entrylk contention), as the brick's features/upcall sends it to clients.

Checked against upstream: ``struct gf_upcall`` and the four payload structs are the
same at v10.3 and v11.1 (11.1 only adds ``#include <glusterfs/dict.h>`` to the header),
so there is no version conditional here.  ``struct gf_flock`` (inside inodelk
contention) changed layout in 11.1; it is declared in iatt.py with ``...;`` and the
compiler lays it out, so this module needs no change for it either.
"""

INCLUDES = """
#include <glusterfs/upcall-utils.h>
"""

TYPES = """
typedef enum {
    GF_UPCALL_EVENT_NULL,
    GF_UPCALL_CACHE_INVALIDATION,
    GF_UPCALL_RECALL_LEASE,
    GF_UPCALL_INODELK_CONTENTION,
    GF_UPCALL_ENTRYLK_CONTENTION,
    ...
} gf_upcall_event_t;

struct gf_upcall {
    char *client_uid;
    uuid_t gfid;
    uint32_t event_type;
    void *data;
};

struct gf_upcall_cache_invalidation {
    uint32_t flags;
    uint32_t expire_time_attr;
    struct iatt stat;
    struct iatt p_stat;
    struct iatt oldp_stat;
    dict_t *dict;
};

struct gf_upcall_recall_lease {
    uint32_t lease_type;
    uuid_t tid;
    dict_t *dict;
};

struct gf_upcall_inodelk_contention {
    struct gf_flock flock;
    pid_t pid;
    const char *domain;
    dict_t *xdata;
};

struct gf_upcall_entrylk_contention {
    uint32_t type;
    pid_t pid;
    const char *name;
    const char *domain;
    dict_t *xdata;
};

#define UP_NLINK ...
#define UP_MODE ...
#define UP_OWN ...
#define UP_SIZE ...
#define UP_TIMES ...
#define UP_ATIME ...
#define UP_PERM ...
#define UP_RENAME ...
#define UP_FORGET ...
#define UP_PARENT_TIMES ...
#define UP_XATTR ...
#define UP_XATTR_RM ...
#define UP_EXPLICIT_LOOKUP ...
#define UP_INVAL_ATTR ...
"""

FUNCTIONS = """
"""

CUSTOMIZATIONS = """
"""
