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
"""

CUSTOMIZATIONS = ""
