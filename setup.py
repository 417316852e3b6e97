"""Build hook: compile the GlusterFS bridge (glupy/_bridge/glupy.so) during `pip install`
and `python -m build`, after the extension module glupy._core it imports.

The bridge is compiled against the installed GlusterFS headers (pkg-config glusterfs-api)
and the Python that runs this build, and records that Python (GLUPY_PYTHON) as the one
GlusterFS processes embed.  A regular build writes the bridge into the wheel's build
directory only; an editable install (pip install -e) writes it into the source tree,
where the package is imported from.

Environment:
  GLUPY_PYTHON   the interpreter the bridge starts (default: this build's, or the base
                 interpreter of a throwaway build environment such as `python -m build`'s)
  GLUPY_FREE_THREADED=1
                 guard the C's shared state without the GIL, as a free-threaded CPython
                 needs (on by itself there; glupy/_bridge/src/core.h): glupy._core here,
                 the bridge in glupy._build

Missing or unsupported GlusterFS headers fail the build with one line that names the
package to install.
"""

import os
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))

FREE_THREADED = [("GLUPY_FREE_THREADED", "1")] if os.environ.get("GLUPY_FREE_THREADED") == "1" else []

# glupy._core: the hot types (glupy/_bridge/src/core.h); plain CPython, no GlusterFS
CORE = Extension("glupy._core",
                 sources=["glupy/_bridge/src/core.c", "glupy/_bridge/src/foperror.c",
                          "glupy/_bridge/src/wind.c", "glupy/_bridge/src/reply.c",
                          "glupy/_bridge/src/vector.c", "glupy/_bridge/src/view.c",
                          "glupy/_bridge/src/cfield.c",
                          "glupy/_bridge/src/nondata.c"],
                 depends=["glupy/_bridge/src/core.h", "glupy/_bridge/src/core-module.h"],
                 include_dirs=["glupy/_bridge/src"],
                 define_macros=FREE_THREADED,
                 extra_compile_args=["-Wall", "-fvisibility=hidden",
                                     "-Werror=incompatible-pointer-types",
                                     "-Werror=implicit-function-declaration"])

# glupy.library._blocks: crypt's stored blocks, a request per call (OpenSSL's AES-GCM)
BLOCKS = Extension("glupy.library._blocks", sources=["glupy/library/_blocks.c"],
                   libraries=["crypto"],
                   extra_compile_args=["-Wall", "-fvisibility=hidden",
                                       "-Werror=incompatible-pointer-types",
                                       "-Werror=implicit-function-declaration"])

# Runs in a child interpreter with the source tree first on sys.path.  sys.executable is
# what build.py records as the interpreter to embed (GLUPY_PYTHON, build-info.json).
_BUILD = """
import sys
from pathlib import Path
sys.executable = sys.argv[2]
from glupy._build.build import build
from glupy._build.release import UnsupportedGlusterFS
try:
    print(build(Path(sys.argv[1])))
except UnsupportedGlusterFS as exc:
    sys.exit(f"glupy: cannot build the bridge: {exc}")
"""


def embedded_python() -> str:
    """The interpreter the bridge will start inside GlusterFS processes."""
    if os.environ.get("GLUPY_PYTHON"):
        return os.environ["GLUPY_PYTHON"]
    # `python -m build` compiles in a temporary venv (build-env-XXXX) that is deleted
    # afterwards: record the interpreter it was made from (same ABI) instead.
    if sys.prefix != sys.base_prefix and Path(sys.prefix).name.startswith("build-env-"):
        return getattr(sys, "_base_executable", None) or sys.executable
    return sys.executable


class BuildPyWithBridge(build_py):
    def run(self) -> None:
        # the bridge's build imports glupy, and so glupy._core
        self.run_command("build_ext")
        if self.editable_mode:
            self.build_bridge(Path(HERE, "glupy", "_bridge", "glupy.so"), HERE)
            self.__dict__.pop("data_files", None)  # re-scan package data: the .so is new
            super().run()
        else:
            # after the copy of the sources: a bridge left in the source tree by a
            # development build must not end up in the wheel
            super().run()
            lib = os.path.abspath(self.build_lib)  # the sources and glupy._core
            self.build_bridge(Path(lib, "glupy", "_bridge", "glupy.so"), lib)

    def build_bridge(self, output: Path, path: str) -> None:
        env = dict(os.environ, PYTHONPATH=path + os.pathsep + os.environ.get("PYTHONPATH", ""))
        res = subprocess.run([sys.executable, "-c", _BUILD, str(output), embedded_python()],
                             cwd=path, env=env)  # python -c puts the cwd first on sys.path
        if res.returncode != 0:
            sys.exit(res.returncode)  # the child printed the one-line reason


class BinaryDistribution(Distribution):
    def has_ext_modules(self) -> bool:  # the wheel holds a platform-specific .so
        return True


setup(cmdclass={"build_py": BuildPyWithBridge}, distclass=BinaryDistribution,
      ext_modules=[CORE, BLOCKS])
