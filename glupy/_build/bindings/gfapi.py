"""api/glfs.h (libgfapi), sys/stat.h, dirent.h: glupy.local.gfapi's C side.

Not part of the bridge (not in MODULES): build.py compiles it into its own small
extension module, glupy/_bridge/_gfapi*.so, against the installed headers, so the
``struct stat`` and ``struct dirent`` layouts and every prototype (including the
GFAPI_6.0 symbol versions of pread, pwrite, ftruncate and fsync, which glfs.h
selects) are the compiler's, on any architecture.
"""

INCLUDES = """
#include <sys/types.h>
#include <sys/stat.h>
#include <dirent.h>
#include <glusterfs/api/glfs.h>
"""

TYPES = """
typedef int... mode_t;
typedef int... dev_t;
typedef int... ino_t;
typedef int... nlink_t;
typedef int... uid_t;
typedef int... gid_t;
typedef int... off_t;
typedef int... blksize_t;
typedef int... blkcnt_t;
typedef int... time_t;

struct timespec { time_t tv_sec; long tv_nsec; ...; };
struct stat {
    dev_t st_dev;
    ino_t st_ino;
    nlink_t st_nlink;
    mode_t st_mode;
    uid_t st_uid;
    gid_t st_gid;
    dev_t st_rdev;
    off_t st_size;
    blksize_t st_blksize;
    blkcnt_t st_blocks;
    struct timespec st_atim;
    struct timespec st_mtim;
    struct timespec st_ctim;
    ...;
};
struct dirent {
    ino_t d_ino;
    unsigned char d_type;
    char d_name[...];
    ...;
};

typedef struct glfs glfs_t;
typedef struct glfs_fd glfs_fd_t;
struct glfs_stat;
"""

FUNCTIONS = """
glfs_t *glfs_new(const char *volname);
int glfs_set_volfile(glfs_t *fs, const char *volfile);
int glfs_set_logging(glfs_t *fs, const char *logfile, int loglevel);
int glfs_init(glfs_t *fs);
int glfs_fini(glfs_t *fs);

int glfs_stat(glfs_t *fs, const char *path, struct stat *buf);
int glfs_lstat(glfs_t *fs, const char *path, struct stat *buf);
int glfs_access(glfs_t *fs, const char *path, int mode);
int glfs_truncate(glfs_t *fs, const char *path, off_t length);
int glfs_mkdir(glfs_t *fs, const char *path, mode_t mode);
int glfs_rmdir(glfs_t *fs, const char *path);
int glfs_unlink(glfs_t *fs, const char *path);
int glfs_rename(glfs_t *fs, const char *oldpath, const char *newpath);
int glfs_symlink(glfs_t *fs, const char *oldpath, const char *newpath);
int glfs_readlink(glfs_t *fs, const char *path, char *buf, size_t bufsiz);
int glfs_chmod(glfs_t *fs, const char *path, mode_t mode);
ssize_t glfs_getxattr(glfs_t *fs, const char *path, const char *name, void *value, size_t size);
ssize_t glfs_listxattr(glfs_t *fs, const char *path, void *value, size_t size);
int glfs_setxattr(glfs_t *fs, const char *path, const char *name, const void *value,
                  size_t size, int flags);
int glfs_removexattr(glfs_t *fs, const char *path, const char *name);

glfs_fd_t *glfs_open(glfs_t *fs, const char *path, int flags);
glfs_fd_t *glfs_creat(glfs_t *fs, const char *path, int flags, mode_t mode);
int glfs_close(glfs_fd_t *fd);
ssize_t glfs_read(glfs_fd_t *fd, void *buf, size_t count, int flags);
ssize_t glfs_write(glfs_fd_t *fd, const void *buf, size_t count, int flags);
ssize_t glfs_pread(glfs_fd_t *fd, void *buf, size_t count, off_t offset, int flags,
                   struct glfs_stat *poststat);
ssize_t glfs_pwrite(glfs_fd_t *fd, const void *buf, size_t count, off_t offset, int flags,
                    struct glfs_stat *prestat, struct glfs_stat *poststat);
off_t glfs_lseek(glfs_fd_t *fd, off_t offset, int whence);
int glfs_fstat(glfs_fd_t *fd, struct stat *buf);
int glfs_fsync(glfs_fd_t *fd, struct glfs_stat *prestat, struct glfs_stat *poststat);
int glfs_ftruncate(glfs_fd_t *fd, off_t length, struct glfs_stat *prestat,
                   struct glfs_stat *poststat);
int glfs_fallocate(glfs_fd_t *fd, int keep_size, off_t offset, size_t len);
int glfs_zerofill(glfs_fd_t *fd, off_t offset, off_t len);

glfs_fd_t *glfs_opendir(glfs_t *fs, const char *path);
int glfs_readdir_r(glfs_fd_t *fd, struct dirent *dirent, struct dirent **result);
int glfs_closedir(glfs_fd_t *fd);
"""

CUSTOMIZATIONS = ""
