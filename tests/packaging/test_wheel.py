"""The sdist and wheel: `python -m build` makes them (PEP 517, the bridge compiled by the
build for the installed GlusterFS and this Python), and the wheel installed into a fresh
venv is a working glupy: the command, the bridge mounting a library translator through
FUSE, the pytest plugin, no test tools unless asked for.  Without GlusterFS headers the
build stops with one line naming the package to install.

Slow (two bridge builds, a venv with the runtime dependencies): about two minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from glupy._build import build, release

REPO = Path(__file__).resolve().parents[2]


def run(*argv: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
        check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"{argv} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


def copy_sources(dest: Path) -> Path:
    """The checkout's files (tracked and new, not ignored) copied to ``dest``."""
    files = run("git", "ls-files", "-co", "--exclude-standard", cwd=REPO).stdout.split("\n")
    for rel in filter(None, files):
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    return dest


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An sdist and a wheel made by `python -m build` from a copy of the sources (with a
    stray development bridge in it, which must not end up in either)."""
    src = copy_sources(tmp_path_factory.mktemp("src") / "glupy")
    stray = src / "glupy" / "_bridge" / "glupy.so"
    stray.write_bytes(b"not a bridge")
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, src)
    sdist, = out.glob("glupy-*.tar.gz")
    wheel, = out.glob("glupy-*.whl")
    return {"sdist": sdist, "wheel": wheel}


def test_sdist_has_the_bridge_sources_and_no_built_bridge(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    sources = {f"glupy/_bridge/src/{name}" for name in (*build.SOURCES, *build.CORE_SOURCES,
                                                        "glupy.h", "core.h", "core-module.h",
                                                        "fops-tmpl.c", "fops-tmpl.h")}
    assert {"setup.py", "pyproject.toml", "glupy/_build/bindings/__init__.py",
            "glupy/library/_blocks.c"} | sources <= names
    assert not [n for n in names if n.endswith(".so") or n.endswith("build-info.json")]


def test_wheel_holds_a_bridge_built_for_this_glusterfs(dists: dict[str, Path]) -> None:
    wheel = dists["wheel"]
    assert wheel.name.endswith("-linux_x86_64.whl") or "-linux_" in wheel.name, wheel.name
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        so = zf.read("glupy/_bridge/glupy.so")
        info = json.loads(zf.read("glupy/_bridge/build-info.json"))
        entry_points = zf.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        metadata = zf.read(next(n for n in names if n.endswith("/METADATA"))).decode()
    assert so.startswith(b"\x7fELF")
    assert info["glusterfs"] == release.headers_release()
    # python -m build compiles in a throwaway venv: the bridge records its base interpreter
    assert Path(info["python_executable"]).exists(), info
    assert info["python"] == sys.version.split()[0]
    assert "glupy/_bridge/src/bridge.c" in names and "glupy/_bridge/src/glupy.h" in names
    # the hot types' extension module, built by the same build, and its typing
    assert [n for n in names if n.startswith("glupy/_core.") and n.endswith(".so")], names
    assert "glupy/_core.pyi" in names
    assert [n for n in names if n.startswith("glupy/library/_blocks.") and n.endswith(".so")]
    assert "glupy = glupy.cli.commands:main" in entry_points
    assert "glupy.testing = glupy.testing" in entry_points
    requires = [ln for ln in metadata.splitlines() if ln.startswith("Requires-Dist:")]
    runtime = [ln for ln in requires if "extra ==" not in ln]
    assert not [ln for ln in runtime if any(t in ln for t in ("pytest", "hypothesis", "ruff", "mypy"))]
    assert [ln for ln in requires if "pytest" in ln and 'extra == "test"' in ln]


@pytest.fixture(scope="module")
def venv(dists: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (runtime dependencies only)."""
    root = tmp_path_factory.mktemp("venv") / "v"
    run(sys.executable, "-m", "venv", root)
    run(root / "bin" / "pip", "install", "-q", dists["wheel"])
    return root


def test_wheel_install_gives_the_command_and_no_test_tools(venv: Path) -> None:
    out = run(venv / "bin" / "glupy", "--version").stdout
    assert f"built for GlusterFS {release.headers_release()}" in out, out
    assert "MISMATCH" not in out
    assert run(venv / "bin" / "python", "-c", "import pytest", check=False).returncode != 0
    check = run(venv / "bin" / "glupy", "check", "glupy.library.audit", check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    # the package imported is the venv's, not the checkout's
    where = run(venv / "bin" / "python", "-c", "import glupy; print(glupy.__file__)", cwd=venv).stdout
    assert where.startswith(str(venv)), where


def test_pytest_plugin_loads_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    run(venv / "bin" / "pip", "install", "-q", "pytest")
    (tmp_path / "test_x.py").write_text("def test_x(glupy_mount):\n    pass\n")
    res = run(venv / "bin" / "python", "-m", "pytest", "--fixtures", "-p", "no:cacheprovider",
              cwd=tmp_path)
    assert "glupy_mount" in res.stdout and "glupy_brick_mount" in res.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (FUSE mounts)")
def test_wheel_bridge_mounts_a_library_translator(venv: Path, tmp_path: Path) -> None:
    data, mnt, state = tmp_path / "data", tmp_path / "mnt", tmp_path / "state"
    data.mkdir()
    mnt.mkdir()
    audit = tmp_path / "audit.jsonl"
    glupy = venv / "bin" / "glupy"
    res = run(glupy, "mount", "--state-dir", state, "-t", "glupy.library.audit",
              "-o", f"log-file={audit}", data, mnt, cwd=tmp_path, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    try:
        (mnt / "hello.txt").write_text("hello from a wheel\n")
        assert (data / "hello.txt").read_text() == "hello from a wheel\n"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (audit.exists() and "hello.txt" in audit.read_text()):
            time.sleep(0.2)
        assert "hello.txt" in audit.read_text()
        # the bridge runs the venv's glupy (the wheel's), not the checkout's
        log = res.stdout.split("log: ", 1)[1].split()[0]
        assert "refusing to load" not in Path(log).read_text()
    finally:
        run(glupy, "umount", "--state-dir", state, mnt, check=False)
    assert not os.path.ismount(mnt)


def test_build_without_glusterfs_headers_fails_with_one_line(tmp_path: Path) -> None:
    """pkg-config is how the build finds GlusterFS; with no glusterfs-api.pc to find, the
    build says which package to install, in one line and without a traceback."""
    env = dict(os.environ, PKG_CONFIG_LIBDIR=str(tmp_path / "no-pkgconfig"), PKG_CONFIG_PATH="")
    src = copy_sources(tmp_path / "glupy")
    res = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", tmp_path, src, env=env,
              check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    lines = [ln.strip() for ln in out.splitlines() if "libglusterfs-dev" in ln]
    assert len(lines) == 1, out
    assert lines[0].startswith("glupy: cannot build the bridge: GlusterFS development files not found")
    assert "Traceback" not in out
    assert not list(tmp_path.glob("*.whl"))


def test_pip_install_builds_the_bridge_for_the_target_venv(tmp_path: Path) -> None:
    """`pip install .` into a venv: the bridge embeds that venv's interpreter (so GlusterFS
    processes see the venv's packages) and is built for the installed GlusterFS."""
    src = copy_sources(tmp_path / "glupy")
    root = tmp_path / "v"
    run(sys.executable, "-m", "venv", root)
    run(root / "bin" / "pip", "install", "-q", src)
    site = run(root / "bin" / "python", "-c", "import glupy, os; print(os.path.dirname(glupy.__file__))",
               cwd=tmp_path).stdout.strip()
    assert site.startswith(str(root)), site
    info = json.loads((Path(site) / "_bridge" / "build-info.json").read_text())
    embedded = Path(info["python_executable"])  # the venv's python (pip names it python3.X)
    assert embedded.parent == root / "bin" and embedded.name.startswith("python"), embedded
    assert info["glusterfs"] == release.headers_release()
    assert (Path(site) / "_bridge" / "glupy.so").read_bytes().startswith(b"\x7fELF")
    assert not (src / "glupy" / "_bridge" / "glupy.so").exists()  # nothing built in the source tree


INSTALL_IN_PRIVATE_XLATORDIR = r"""
set -euo pipefail
venv=$1 work=$2
xd=$(glusterfs --print-xlatordir)
# a private copy of the translators' features/ directory, seen only in this mount namespace
cp -a "$xd/features/." "$work/features/"
rm -f "$work/features/glupy.so"
mount --bind "$work/features" "$xd/features"
"$venv/bin/glupy" install
echo "link: $(readlink "$xd/features/glupy.so")"
"$venv/bin/glupy" volfile -t glupy.library.audit "$work/data" | grep "type features/glupy"
"$venv/bin/glupy" mount --state-dir "$work/state" -t glupy.library.audit \
    -o log-file="$work/audit.jsonl" "$work/data" "$work/mnt"
echo "through features/glupy" > "$work/mnt/installed.txt"
sleep 1
"$venv/bin/glupy" umount --state-dir "$work/state" "$work/mnt"
"$venv/bin/glupy" install --uninstall
test ! -e "$xd/features/glupy.so"
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mount namespace, FUSE)")
def test_glupy_install_links_the_wheels_bridge_as_features_glupy(venv: Path, tmp_path: Path) -> None:
    """`glupy install` from the wheel links the installed bridge into the xlator directory
    GlusterFS reports, and GlusterFS then loads it as features/glupy.  The xlator
    directory is replaced by a private copy in a mount namespace: the machine's own
    features/glupy.so is not touched."""
    for d in ("features", "data", "mnt"):
        (tmp_path / d).mkdir()
    res = run("unshare", "--mount", "--propagation", "private", "bash", "-c",
              INSTALL_IN_PRIVATE_XLATORDIR, "bash", venv, tmp_path, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    site_bridge = next(venv.glob("lib/python3*/site-packages/glupy/_bridge/glupy.so"))
    assert f"link: {site_bridge}" in res.stdout, res.stdout
    assert "type features/glupy" in res.stdout
    assert (tmp_path / "data" / "installed.txt").read_text() == "through features/glupy\n"
    assert "installed.txt" in (tmp_path / "audit.jsonl").read_text()
