"""inode.h / fd.h / loc_t: inodes, fds, locations and per-xlator contexts."""

INCLUDES = """
#include <glusterfs/inode.h>
#include <glusterfs/fd.h>
"""

TYPES = """
#define GF_ANON_FD_FLAGS ...

typedef enum {
    IA_INVAL, IA_IFREG, IA_IFDIR, IA_IFLNK, IA_IFBLK, IA_IFCHR, IA_IFIFO, IA_IFSOCK
} ia_type_t;

struct _inode {
    inode_table_t *table;
    uuid_t gfid;
    uint32_t fd_count;
    uint32_t ref;
    ia_type_t ia_type;
    ...;
};

struct _fd {
    uint64_t pid;
    int32_t flags;
    inode_t *inode;
    gf_boolean_t anonymous;
    ...;
};

struct _loc {
    const char *path;
    const char *name;
    inode_t *inode;
    inode_t *parent;
    uuid_t gfid;
    uuid_t pargfid;
};
"""

FUNCTIONS = """
inode_t *inode_ref(inode_t *inode);
inode_t *inode_unref(inode_t *inode);
inode_t *inode_find(inode_table_t *table, uuid_t gfid);
inode_t *inode_parent(inode_t *inode, uuid_t pargfid, const char *name);
inode_t *inode_grep(inode_table_t *table, inode_t *parent, const char *name);
inode_t *inode_new(inode_table_t *table);
int inode_path(inode_t *inode, const char *name, char **bufp);
fd_t *fd_ref(fd_t *fd);
void fd_unref(fd_t *fd);
fd_t *fd_anonymous(inode_t *inode);
fd_t *fd_anonymous_with_flags(inode_t *inode, int32_t flags);
int loc_copy(loc_t *dst, loc_t *src);
void loc_wipe(loc_t *loc);
char *gf_strdup(const char *src);
void glupy_free(void *ptr);
int glupy_loc_with_path(loc_t *dst, loc_t *src, const char *path, int name_at);

/* glupy's marker in the inode/fd context: says "Python holds context for this
   inode/fd", so GlusterFS calls our forget/release when it goes away. */
int glupy_inode_ctx_mark(inode_t *inode, xlator_t *this);
int glupy_inode_ctx_unmark(inode_t *inode, xlator_t *this);
int glupy_fd_ctx_mark(fd_t *fd, xlator_t *this);
int glupy_fd_ctx_unmark(fd_t *fd, xlator_t *this);
"""

CUSTOMIZATIONS = """
static void glupy_free(void *ptr) { GF_FREE(ptr); }

/* dst: a copy of src under another path (its name at path + name_at, none if name_at
   is negative), its GFIDs src's or, where src lacks them, its inodes' (loc_gfid,
   loc_pargfid).  0, or -1 with nothing left allocated. */
static int glupy_loc_with_path(loc_t *dst, loc_t *src, const char *path, int name_at)
{
    char *copy = gf_strdup(path);
    if (!copy)
        return -1;
    if (loc_copy(dst, src) != 0) {
        GF_FREE(copy);
        return -1;
    }
    GF_FREE((char *)dst->path);
    dst->path = copy;
    dst->name = name_at < 0 ? NULL : copy + name_at;
    loc_gfid(src, dst->gfid);
    loc_pargfid(src, dst->pargfid);
    return 0;
}
static int glupy_inode_ctx_mark(inode_t *inode, xlator_t *this)
{
    return inode_ctx_put(inode, this, 1);
}
static int glupy_inode_ctx_unmark(inode_t *inode, xlator_t *this)
{
    uint64_t v = 0;
    return inode_ctx_reset0(inode, this, &v); /* value2 holds glupy.Mark bits (rules.c) */
}
static int glupy_fd_ctx_mark(fd_t *fd, xlator_t *this)
{
    return glupy_fd_bits_change(this, fd, 1, 0); /* the other bits: glupy.Mark's (rules.c) */
}
static int glupy_fd_ctx_unmark(fd_t *fd, xlator_t *this)
{
    return glupy_fd_bits_change(this, fd, 0, 1);
}
"""
