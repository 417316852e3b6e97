"""Build hook: compile the GlusterFS bridge (glupy/_bridge/glupy.so) during `pip install`.

If the bridge build fails, the install fails with the compiler's error.
"""

import os
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildPyWithBridge(build_py):
    def run(self) -> None:
        env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
        subprocess.run([sys.executable, "-m", "glupy._build"], cwd=HERE, env=env, check=True)
        self.__dict__.pop("data_files", None)  # re-scan package data: the .so is new
        super().run()


class BinaryDistribution(Distribution):
    def has_ext_modules(self) -> bool:  # the wheel holds a platform-specific .so
        return True


setup(cmdclass={"build_py": BuildPyWithBridge}, distclass=BinaryDistribution)
