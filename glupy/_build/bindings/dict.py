"""dict.h: dict_t, the key/value bag of xdata and xattrs."""

INCLUDES = """
#include <glusterfs/dict.h>
"""

TYPES = """
typedef enum {
    GF_DATA_TYPE_UNKNOWN, GF_DATA_TYPE_STR_OLD, GF_DATA_TYPE_INT,
    GF_DATA_TYPE_UINT, GF_DATA_TYPE_DOUBLE, GF_DATA_TYPE_STR, GF_DATA_TYPE_PTR,
    GF_DATA_TYPE_GFUUID, GF_DATA_TYPE_IATT, GF_DATA_TYPE_MDATA, ...
} gf_dict_data_type_t;

typedef struct _data {
    char *data;
    gf_dict_data_type_t data_type;
    uint32_t len;
    ...;
} data_t;

typedef struct _data_pair {
    struct _data_pair *next;
    data_t *value;
    ...;
} data_pair_t;

struct _dict {
    int32_t count;
    data_pair_t *members_list;
    ...;
};
"""

FUNCTIONS = """
dict_t *dict_new(void);
dict_t *dict_ref(dict_t *dict);
void dict_unref(dict_t *dict);
data_t *dict_get(dict_t *this, char *key);
void dict_del(dict_t *this, char *key);
int64_t data_to_int64(data_t *data);
uint64_t data_to_uint64(data_t *data);
int dict_set_int64(dict_t *this, char *key, int64_t val);
int dict_set_double(dict_t *this, char *key, double val);
int dict_set_dynstr_with_alloc(dict_t *this, char *key, const char *str);
int glupy_dict_set_bytes(dict_t *dict, char *key, const void *buf, size_t len);
const char *glupy_pair_key(data_pair_t *pair);
"""

CUSTOMIZATIONS = """
/* data_pair_t.key is char * in 10.x and a trailing char[] in 11.x */
static const char *glupy_pair_key(data_pair_t *pair) { return pair->key; }

static int glupy_dict_set_bytes(dict_t *dict, char *key, const void *buf,
                                size_t len)
{
    /* dict_set_bin takes ownership of a GF_MALLOC'd copy */
    void *copy = GF_MALLOC(len ? len : 1, gf_common_mt_char);
    if (!copy)
        return -1;
    memcpy(copy, buf, len);
    int ret = dict_set_bin(dict, key, copy, len);
    if (ret)
        GF_FREE(copy);
    return ret;
}
"""
