"""options.h: option tables, so GlusterFS validates the options a Python
translator declares exactly like a C translator's."""

INCLUDES = """
#include <glusterfs/options.h>
"""

TYPES = """
typedef enum {
    GF_OPTION_TYPE_ANY, GF_OPTION_TYPE_STR, GF_OPTION_TYPE_INT,
    GF_OPTION_TYPE_SIZET, GF_OPTION_TYPE_PERCENT,
    GF_OPTION_TYPE_PERCENT_OR_SIZET, GF_OPTION_TYPE_BOOL,
    GF_OPTION_TYPE_XLATOR, GF_OPTION_TYPE_PATH, GF_OPTION_TYPE_TIME,
    GF_OPTION_TYPE_DOUBLE, ...
} volume_option_type_t;

typedef struct volume_options {
    char *key[...];
    volume_option_type_t type;
    double min;
    double max;
    char *value[...];
    char *default_value;
    char *description;
    ...;
} volume_option_t;
"""

FUNCTIONS = """
int xlator_option_validate(xlator_t *xl, char *key, char *value,
                           volume_option_t *opt, char **op_errstr);
int glupy_register_options(xlator_t *this, volume_option_t *table);
int gf_string2bytesize_uint64(const char *str, uint64_t *n);
int gf_string2boolean(const char *str, gf_boolean_t *b);
"""

CUSTOMIZATIONS = """
/* Make the Python translator's option table part of this->volume_options, so
   GlusterFS validates reconfigured values (and statedump/help see them).
   GlusterFS frees the list node with GF_FREE, so allocate it with GF_CALLOC. */
static int glupy_register_options(xlator_t *this, volume_option_t *table)
{
    volume_opt_list_t *node = GF_CALLOC(1, sizeof(*node),
                                        gf_common_mt_volume_opt_list_t);
    if (!node)
        return -1;
    INIT_LIST_HEAD(&node->list);
    node->given_opt = table;
    list_add_tail(&node->list, &this->volume_options);
    return 0;
}
"""
