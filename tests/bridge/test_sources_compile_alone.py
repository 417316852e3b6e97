"""Each C file of the bridge compiles on its own: it includes what it uses
(glupy.h and the generated fops.h), nothing depends on the order files are
concatenated in, and the cffi module's own source compiles too."""

import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from glupy._build import build, codegen

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")


def _cc_args(generated: Path) -> list[str]:
    defines, flags = build.compile_flags()
    defines = [*defines, ("GLUPY_GLUSTERFS_RELEASE", '"0.0"')]
    return ["cc", "-fsyntax-only", "-Werror", *flags,
            *(f"-D{k}" if v is None else f"-D{k}={v}" for k, v in defines),
            f"-I{sysconfig.get_paths()['include']}", f"-I{build.SOURCE_DIR}", f"-I{generated}"]


def _compile(args: list[str], source: Path) -> None:
    done = subprocess.run([*args, str(source)], capture_output=True, text=True)
    assert done.returncode == 0, f"{source.name} does not compile alone:\n{done.stderr}"


@pytest.mark.parametrize("name", [*build.SOURCES, *build.CORE_SOURCES, "fops.c"])
def test_each_source_compiles_alone(tmp_path, name):
    codegen.write(tmp_path)
    source = tmp_path / name if name == "fops.c" else build.SOURCE_DIR / name
    _compile(_cc_args(tmp_path), source)


def test_every_c_file_in_the_source_folder_is_built():
    templates = {p.name for p in build.SOURCE_DIR.glob("*-tmpl.c")}
    assert ({p.name for p in build.SOURCE_DIR.glob("*.c")} - templates
            == set(build.SOURCES) | set(build.CORE_SOURCES))
    setup_py = (build.PACKAGE.parent / "setup.py").read_text()
    for name in build.CORE_SOURCES:  # glupy._core is defined there
        assert f'"glupy/_bridge/src/{name}"' in setup_py


def test_the_cffi_module_source_compiles(tmp_path):
    ffi = build.make_ffi(module_name="_glupy_syntax_check", generated=tmp_path)
    module = tmp_path / "module.c"
    ffi.emit_c_code(str(module))
    _compile(_cc_args(tmp_path), module)
