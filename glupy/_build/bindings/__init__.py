"""cffi bindings of the GlusterFS headers, one module per header area.

Each module has INCLUDES (C), TYPES and FUNCTIONS (cdef text, struct layouts
left to the compiler with ``...;``) and CUSTOMIZATIONS (C helpers that are
macros or need C).  ``glupy/_build/build.py`` assembles them.  ``gfapi``
(glupy.local.gfapi's binding of libgfapi) has the same shape but is its own
extension module, not in MODULES.
"""

MODULES = ["core", "inode", "dict", "iatt", "iobuf", "options", "upcall"]
