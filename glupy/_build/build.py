"""Build the bridge: glupy/_bridge/glupy.so, the xlator GlusterFS loads as
``features/glupy``.  One cffi embedding module: its own source is the binding
modules (bindings/), and the bridge's C files (glupy/_bridge/src/, see glupy.h)
are compiled beside it as separate translation units, with fops.c and fops.h
generated from their templates (codegen.py).

The hot types (Wind, FopError, ...) are a plain extension module, glupy._core
(core.c and its parts, see core.h), that the bridge imports: setup.py defines and builds it as an
ordinary setuptools extension; ``python -m glupy._build`` rebuilds it in place too.

    python -m glupy._build            # builds with this interpreter
    GLUPY_FREE_THREADED=1 python -m glupy._build   # the shared state guarded without
                                                   # the GIL (glupy/_bridge/src/core.h)
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import cffi

from glupy._build import codegen, release
from glupy._build.bindings import MODULES
from glupy.fops import NUM_FOP_SLOTS

HERE = Path(__file__).parent
PACKAGE = HERE.parent
OUTPUT = PACKAGE / "_bridge" / "glupy.so"
SOURCE_DIR = codegen.SOURCE_DIR
# the bridge's translation units besides the generated fops.c (glupy.h says what each holds)
SOURCES = ("bridge.c", "task.c", "convert.c", "detach.c", "types.c", "setup.c", "misscache.c",
           "attrcache.c", "rules.c", "journal.c", "dump.c")
# glupy._core's (setup.py builds it)
CORE_SOURCES = ("core.c", "foperror.c", "wind.c", "reply.c", "vector.c", "view.c", "cfield.c",
                "nondata.c")
MODULE_NAME = "_glupy_bridge"
# glupy.local.gfapi's binding (bindings/gfapi.py): its own extension module beside the bridge
GFAPI_MODULE = "glupy._bridge._gfapi"

# Flags that make the headers describe the same struct layout libglusterfs
# was built with (without HAVE_ATOMIC_BUILTINS sizeof(xlator_t) is wrong:
# tests/bridge/test_struct_layout.py).
DEFINES = [
    ("_FILE_OFFSET_BITS", "64"),
    ("_GNU_SOURCE", None),
    ("GF_LINUX_HOST_OS", None),
    ("HAVE_ATOMIC_BUILTINS", "1"),
    ("SIZEOF_LONG", "8"),
]

BRIDGE_CDEF = f"""
extern "Python+C" {{
    int glupy_py_init(xlator_t *this);
    void glupy_py_fini(xlator_t *this);
    int glupy_py_notify(xlator_t *this, int32_t event, void *data);
    int glupy_py_reconfigure(xlator_t *this, dict_t *options);
    int32_t glupy_py_status(xlator_t *this, dict_t *out);
    int glupy_py_dump(xlator_t *this, void *dump);
}}
int glupy_dump_line(void *dump, const char *key, const char *value);
long glupy_instance_tasks(xlator_t *this);
int glupy_install_fops(xlator_t *this, const unsigned char *enabled, int py_notify);
#define GLUPY_NUM_SLOTS {NUM_FOP_SLOTS}
"""

# The cffi module's own C, after the bindings: cffi's conversions between C
# pointers and cdata exist only here (its _cffi_* helpers), so it hands them over.
MODULE_GLUE = """
#include "glupy.h"
void glupy_cffi_bind(void)
{
    G.cdata_from_ptr = _cffi_from_c_pointer;
    G.cdata_to_ptr = _cffi_to_c_pointer;
}
"""

INIT_CODE = """
from _glupy_bridge import ffi, lib
try:
    from glupy.runtime import driver as _runtime
    _runtime.attach(ffi, lib)
except BaseException:
    import traceback
    for _line in traceback.format_exc().splitlines():
        lib.glupy_log(b"glupy", b"glupy/_build/build.py", b"init", 0, 4, _line.encode())
    raise
"""


def libpython() -> str:
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    name = sysconfig.get_config_var("LDLIBRARY") or ""
    # the runtime soname (libpython3.X.so.1.0), not the linker's libpython3.X.so, which
    # only the -dev package ships (Debian: libpython3.X-dev)
    soname = sysconfig.get_config_var("INSTSONAME") or ""
    if soname and (Path(libdir) / soname).exists():
        name = soname
    path = Path(libdir) / name
    if not name.endswith(".so") and not ".so." in name or not path.exists():
        raise SystemExit(f"glupy: {sys.executable} has no shared libpython ({path}); "
                         "the bridge embeds CPython and needs one (Debian: python3-dev)")
    return str(path)


def compile_flags() -> tuple[list[tuple[str, str | None]], list[str]]:
    """The macros and compiler flags every C file of the bridge is built with."""
    defines = DEFINES + [("GLUPY_PYTHON", '"%s"' % sys.executable),
                         ("GLUPY_LIBPYTHON", '"%s"' % libpython())]
    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        # the bridge uses the full C API (PyConfig): no limited API (on a free-threaded
        # CPython, which has none, cffi's generated source defines this itself)
        defines.append(("_CFFI_NO_LIMITED_API", None))
    if os.environ.get("GLUPY_FREE_THREADED") == "1":  # as setup.py builds glupy._core
        defines.append(("GLUPY_FREE_THREADED", "1"))
    flags = ["-Wall", "-Wno-unused-function", "-Werror=incompatible-pointer-types",
             "-Werror=implicit-function-declaration"]
    return defines, flags


def make_ffi(embedding: bool = True, module_name: str = MODULE_NAME,
             gluster_release: str = "", generated: Path | None = None) -> cffi.FFI:
    """The cffi module of the bridge; fops.c/fops.h are written to ``generated``
    (a new temporary directory if not given), which must exist until it is compiled."""
    modules = [importlib.import_module(f"glupy._build.bindings.{m}") for m in MODULES]
    gen = generated or Path(tempfile.mkdtemp(prefix="glupy-gen-"))
    sources = [str(SOURCE_DIR / name) for name in SOURCES] + [str(p) for p in codegen.write(gen)]
    ffi = cffi.FFI()
    ffi.cdef("\n".join(m.TYPES for m in modules))
    ffi.cdef("\n".join(m.FUNCTIONS for m in modules))
    ffi.cdef(codegen.cdef())
    ffi.cdef(BRIDGE_CDEF)
    src = "\n".join([m.INCLUDES for m in modules] + [MODULE_GLUE]
                    + [m.CUSTOMIZATIONS for m in modules])
    if embedding:
        ffi.embedding_init_code(INIT_CODE)
    defines, flags = compile_flags()
    defines.append(("GLUPY_GLUSTERFS_RELEASE",
                    '"%s"' % (gluster_release or release.headers_release())))
    ffi.set_source(
        module_name,
        src,
        sources=sources,
        include_dirs=[str(SOURCE_DIR), str(gen)],
        define_macros=defines,
        libraries=["glusterfs"],
        # -flto: the C files are separate translation units; link-time optimisation
        # inlines across them as when they were one (callgrind: per-fop instructions
        # back to the single-file bridge's, within run-to-run noise)
        extra_compile_args=flags + ["-flto=auto"],
        # nodelete: gfapi dlcloses xlators and CPython cannot be re-initialised;
        # no-undefined: a symbol missing from libglusterfs fails the build, not the dlopen
        extra_link_args=["-flto=auto", "-Wl,-z,nodelete"] + (["-Wl,--no-undefined"] if embedding else []),
    )
    return ffi


def build_core(verbose: bool = False) -> Path:
    """Compile glupy._core in place (beside glupy/__init__.py) for this interpreter,
    as setup.py (its one definition) builds it; a no-op for an installed glupy."""
    root = PACKAGE.parent
    if not (root / "setup.py").exists():
        return PACKAGE
    done = subprocess.run([sys.executable, "setup.py", "-q" if not verbose else "-v",
                           "build_ext", "--inplace", "--force"], cwd=root, capture_output=not verbose,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"glupy: cannot build glupy._core:\n{done.stdout}{done.stderr}")
    return PACKAGE / ("_core" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))


def make_gfapi_ffi() -> cffi.FFI:
    """The libgfapi binding glupy.gfapi uses: declarations checked by the compiler
    against api/glfs.h, sys/stat.h and dirent.h (layouts are the compiler's)."""
    gfapi = importlib.import_module("glupy._build.bindings.gfapi")
    ffi = cffi.FFI()
    ffi.cdef(gfapi.TYPES)
    ffi.cdef(gfapi.FUNCTIONS)
    ffi.set_source(GFAPI_MODULE, gfapi.INCLUDES + gfapi.CUSTOMIZATIONS,
                   define_macros=[("_FILE_OFFSET_BITS", "64"), ("_GNU_SOURCE", None)],
                   libraries=["gfapi"], extra_compile_args=["-Wall"])
    return ffi


def gfapi_output(bridge: Path = OUTPUT) -> Path:
    """Where the gfapi module goes, beside the bridge at ``bridge``."""
    return bridge.parent / ("_gfapi" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))


def target_release() -> str:
    """The installed headers' release; it must be the installed glusterfs's too."""
    headers = release.headers_release()
    running = release.running_release()
    if running and running != headers:
        raise release.UnsupportedGlusterFS(
            f"the GlusterFS headers are {headers} but glusterfs on PATH is {running}: "
            "install the matching libglusterfs-dev")
    return headers


def build(output: Path = OUTPUT, verbose: bool = False, gluster_release: str = "") -> Path:
    """Compile the bridge for the installed GlusterFS (or, for tests of the
    release check, one that claims ``gluster_release``), and beside it, for the
    installed GlusterFS only, glupy.local.gfapi's binding."""
    target = gluster_release or target_release()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="glupy-build-") as tmp:
        ffi = make_ffi(gluster_release=target, generated=Path(tmp))
        built = ffi.compile(tmpdir=tmp, target="glupy.*", verbose=verbose)
        tmp_out = output.with_suffix(".so.tmp")
        Path(built).replace(tmp_out)
        os.replace(tmp_out, output)  # atomic: a running glusterfs keeps its mapping
        if not gluster_release:
            built = make_gfapi_ffi().compile(tmpdir=tmp, verbose=verbose)
            tmp_out = gfapi_output(output).with_suffix(".tmp")
            Path(built).replace(tmp_out)
            os.replace(tmp_out, gfapi_output(output))
    release.write_info(output, release.build_info(target))
    return output
