"""iobuf.h: data buffers of readv/writev (iovec arrays owned by an iobref)."""

INCLUDES = """
#include <sys/uio.h>
#include <glusterfs/iobuf.h>
"""

TYPES = """
struct iovec { void *iov_base; size_t iov_len; };
struct iobuf { void *ptr; ...; };
struct iobref;
"""

FUNCTIONS = """
struct iobref *iobref_new(void);
struct iobref *iobref_ref(struct iobref *iobref);
void iobref_unref(struct iobref *iobref);
int iobref_add(struct iobref *iobref, struct iobuf *iobuf);
struct iobuf *iobuf_get2(struct iobuf_pool *iobuf_pool, size_t page_size);
void iobuf_unref(struct iobuf *iobuf);
struct iobref *glupy_iobref_alloc(struct iobuf_pool *pool, size_t size, struct iovec *iov);
"""

CUSTOMIZATIONS = """
/* A new iobref holding one fresh iobuf of at least ``size`` bytes; ``iov`` points at
 * it (iov_len = size).  NULL when out of memory.  GlusterFS 10 serves iobuf_get2 up to
 * 128 KiB with GF_MALLOC: a 128 KiB malloc/free per fop in a glusterfs thread arena is
 * trimmed back to the kernel (madvise) on every free and page-faulted in again, so
 * buffers from 64 KiB up come from the smallest arena above 128 KiB (256 KiB pages,
 * pre-mapped and reused).  One call: Vector.alloc runs once per readv/writev. */
struct iobref *glupy_iobref_alloc(struct iobuf_pool *pool, size_t size,
                                  struct iovec *iov)
{
    struct iobref *iobref = iobref_new();
    if (!iobref)
        return NULL;
    iov->iov_base = NULL;
    iov->iov_len = size;
    if (!size)
        return iobref;
    size_t want = size;
    if (size >= 64 * 1024 && size <= 128 * 1024)
        want = 128 * 1024 + 1;
    struct iobuf *iobuf = iobuf_get2(pool, want);
    if (!iobuf) {
        iobref_unref(iobref);
        return NULL;
    }
    int ret = iobref_add(iobref, iobuf);
    iobuf_unref(iobuf); /* the iobref holds it now (or nobody: freed) */
    if (ret) {
        iobref_unref(iobref);
        return NULL;
    }
    iov->iov_base = iobuf->ptr;
    return iobref;
}
"""
