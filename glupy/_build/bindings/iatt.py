"""iatt.h / gf-dirent.h / glusterfs.h: stat buffers, dirents, locks, leases."""

INCLUDES = """
#include <sys/statvfs.h>
#include <glusterfs/iatt.h>
#include <glusterfs/gf-dirent.h>
"""

TYPES = """
typedef struct {
    uint8_t suid : 1;
    uint8_t sgid : 1;
    uint8_t sticky : 1;
    struct {
        uint8_t read : 1;
        uint8_t write : 1;
        uint8_t exec : 1;
    } owner, group, other;
} ia_prot_t;

struct iatt {
    uint64_t ia_flags;
    uint64_t ia_ino;
    uint64_t ia_dev;
    uint64_t ia_rdev;
    uint64_t ia_size;
    uint32_t ia_nlink;
    uint32_t ia_uid;
    uint32_t ia_gid;
    uint32_t ia_blksize;
    uint64_t ia_blocks;
    int64_t ia_atime;
    int64_t ia_mtime;
    int64_t ia_ctime;
    int64_t ia_btime;
    uint32_t ia_atime_nsec;
    uint32_t ia_mtime_nsec;
    uint32_t ia_ctime_nsec;
    uint32_t ia_btime_nsec;
    uint64_t ia_attributes;
    uint64_t ia_attributes_mask;
    uuid_t ia_gfid;
    ia_type_t ia_type;
    ia_prot_t ia_prot;
};

struct statvfs {
    unsigned long f_bsize;
    unsigned long f_frsize;
    unsigned long f_blocks;
    unsigned long f_bfree;
    unsigned long f_bavail;
    unsigned long f_files;
    unsigned long f_ffree;
    unsigned long f_favail;
    unsigned long f_fsid;
    unsigned long f_flag;
    unsigned long f_namemax;
    ...;
};

struct list_head { struct list_head *next; struct list_head *prev; };

struct _gf_dirent {
    struct list_head list;
    uint64_t d_ino;
    uint64_t d_off;
    uint32_t d_len;
    uint32_t d_type;
    struct iatt d_stat;
    dict_t *dict;
    inode_t *inode;
    char d_name[];
    ...;
};

struct gf_flock {
    short l_type;
    short l_whence;
    off_t l_start;
    off_t l_len;
    pid_t l_pid;
    gf_lkowner_t l_owner;
};

typedef enum { GF_GET_LEASE = 1, GF_SET_LEASE, GF_UNLK_LEASE, ... } gf_lease_cmds_t;
typedef enum { NONE, GF_RD_LEASE = 1, GF_RW_LEASE, ... } gf_lease_types_t;
struct gf_lease {
    gf_lease_cmds_t cmd;
    gf_lease_types_t lease_type;
    char lease_id[...];
    unsigned int lease_flags;
};

typedef enum { ENTRYLK_LOCK, ENTRYLK_UNLOCK, ENTRYLK_LOCK_NB, ... } entrylk_cmd;
typedef enum { ENTRYLK_RDLCK, ENTRYLK_WRLCK, ... } entrylk_type;
typedef enum { GF_XATTROP_ADD_ARRAY, ... } gf_xattrop_flags_t;
typedef enum { GF_SEEK_DATA, GF_SEEK_HOLE, ... } gf_seek_what_t;
"""

FUNCTIONS = """
gf_dirent_t *gf_dirent_for_name(const char *name);
void gf_dirent_free(gf_dirent_t *entries);
void glupy_dirents_init(gf_dirent_t *head);
void glupy_dirents_append(gf_dirent_t *head, gf_dirent_t *entry);
"""

CUSTOMIZATIONS = """
static void glupy_dirents_init(gf_dirent_t *head) { INIT_LIST_HEAD(&head->list); }
static void glupy_dirents_append(gf_dirent_t *head, gf_dirent_t *entry)
{
    list_add_tail(&entry->list, &head->list);
}
"""
