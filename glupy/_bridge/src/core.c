/* glupy._core: the hot types, defined once (see core.h), one concern a file:
 * FopError (foperror.c); Wind, Gather and Child.<fop>() (wind.c); Reply and Field
 * (reply.c); Vector (vector.c); the views and Child (view.c); a view's struct fields
 * (cfield.c); nondata (nondata.c).
 * This file makes the module and the API table of the capsule that the bridge's
 * task engine imports.  glupy.translator re-exports the types. */

#include "core-module.h"

/* each part of the module init fills its entries (core-module.h) */
static glupy_core_api_t glupy_core_api = {.abi = GLUPY_CORE_ABI,
                                           .free_threaded = GLUPY_FREE_THREADED};

static PyObject *hand_over(PyObject *unused, PyObject *obj)
{
    Py_XSETREF(glupy_core_api.handed_over, Py_NewRef(obj));
    Py_RETURN_NONE;
}

static PyMethodDef core_functions[] = {
    {"_hand_over", hand_over, METH_O,
     "_hand_over(obj): for the bridge to take (glupy_driver_setup)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef glupy_core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "glupy._core",
    .m_doc = "The types every fop handled in Python goes through (glupy/_bridge/src/core.h).",
    .m_size = -1,
    .m_methods = core_functions,
};

PyMODINIT_FUNC PyInit__core(void)
{
    PyObject *m = PyModule_Create(&glupy_core_module);
    if (!m)
        return NULL;
    glupy_core_api_t *api = &glupy_core_api;
    PyObject *capsule = NULL;
    if (glupy_fop_error_module_init(m, api) < 0 || glupy_wind_module_init(m, api) < 0 ||
        glupy_reply_module_init(m, api) < 0 || glupy_vector_module_init(m, api) < 0 ||
        glupy_view_module_init(m, api) < 0 || glupy_cfield_module_init(m, api) < 0 ||
        glupy_nondata_module_init(m, api) < 0 ||
        PyModule_AddIntConstant(m, "ABI", GLUPY_CORE_ABI) < 0 ||
        PyModule_AddIntConstant(m, "FREE_THREADED", GLUPY_FREE_THREADED) < 0 ||
        !(capsule = PyCapsule_New(api, GLUPY_CORE_CAPSULE, NULL)) ||
        PyModule_AddObject(m, "_C_API", capsule) < 0) {
        Py_XDECREF(capsule);
        Py_DECREF(m);
        return NULL;
    }
#ifdef Py_GIL_DISABLED
    /* without this, importing the module turns the GIL back on */
    PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
#endif
    return m;
}
