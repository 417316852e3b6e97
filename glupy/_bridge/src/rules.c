/* glupy.Refuse: decisions the bridge makes in C before Python.
 *
 * Python (glupy.runtime.driver) builds a table per instance from the class's
 * Refuse declarations and its option values, and publishes it whole; every entry
 * reads it first (glupy_rules_to_python in glupy.h).  A published table is never
 * changed or freed: an entry may still read the previous one after a reconfigure. */

#include "glupy.h"

glupy_rules_t *glupy_rules_new(void)
{
    glupy_rules_t *r = calloc(1, sizeof(*r));
    if (r)
        memset(r->python, 1, sizeof(r->python));
    return r;
}

int glupy_rules_set(glupy_rules_t *rules, int slot, int op_errno, uint64_t if_bits, int python)
{
    if (!rules || slot < 0 || slot >= GLUPY_NUM_SLOTS || op_errno < 0)
        return -1;
    rules->slot[slot].op_errno = op_errno;
    rules->slot[slot].if_bits = if_bits;
    rules->python[slot] = python ? 1 : 0;
    return 0;
}

void glupy_set_rules(xlator_t *this, glupy_rules_t *rules)
{
    glupy_private_t *priv = this->private;
    __atomic_store_n(&priv->rules, rules, __ATOMIC_RELEASE);
}

uint64_t glupy_python_calls(xlator_t *this, int slot)
{
    glupy_private_t *priv = this->private;
    if (!priv || slot < 0 || slot >= GLUPY_NUM_SLOTS)
        return 0;
    return __atomic_load_n(&priv->python_calls[slot], __ATOMIC_RELAXED);
}
