/* glupy._core's own: its module init, one part per source file.  core.c's
 * PyInit__core calls each part, which adds its types and functions to ``module``
 * and fills its entries of the API table (``api``, the capsule the bridge imports);
 * a part that reads the table at run time (what the bridge sets at its setup, or
 * another part's type) keeps ``api``.  0, or -1 with an exception set.  The bridge
 * includes core.h only. */
#ifndef GLUPY_CORE_MODULE_H
#define GLUPY_CORE_MODULE_H

#include "core.h"

int glupy_fop_error_module_init(PyObject *module, glupy_core_api_t *api); /* foperror.c */
int glupy_wind_module_init(PyObject *module, glupy_core_api_t *api);      /* wind.c */
int glupy_reply_module_init(PyObject *module, glupy_core_api_t *api);     /* reply.c */
int glupy_vector_module_init(PyObject *module, glupy_core_api_t *api);    /* vector.c */
int glupy_view_module_init(PyObject *module, glupy_core_api_t *api);      /* view.c */
int glupy_nondata_module_init(PyObject *module, glupy_core_api_t *api);   /* nondata.c */
int glupy_cfield_module_init(PyObject *module, glupy_core_api_t *api);    /* cfield.c */

/* the address of the struct ``view`` points at, or NULL with an exception set (view.c) */
void *glupy_view_address(PyObject *view);

/* ``type`` made ready and added to ``module`` as ``name`` */
static inline int glupy_core_add_type(PyObject *module, PyTypeObject *type, const char *name)
{
    if (PyType_Ready(type) < 0)
        return -1;
    return PyModule_AddObjectRef(module, name, (PyObject *)type);
}

#endif
