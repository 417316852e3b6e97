"""`glupy` CLI: help, volfile output and argument errors (no bridge needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from glupy.cli.commands import _option_owners, main, mount
from glupy.local import volfile

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mounts)")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    # success: what was printed (a volfile); failure: the error too
    return result.exit_code, result.stdout if result.exit_code == 0 else result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["mount", "--help"],
        ["umount", "--help"],
        ["volfile", "--help"],
        ["install", "--help"],
        ["-h"],
    ],
)
def test_help(args: list[str]) -> None:
    code, out = run(*args)
    assert code == 0, out
    assert "Usage:" in out


def test_help_documents_option_order() -> None:
    code, out = run("mount", "--help")
    assert code == 0
    assert "most recent -t" in out


def test_console_script_help() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "glupy.cli", "--help"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert "mount" in res.stdout and "volfile" in res.stdout


def test_volfile_two_translators(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [
        "volfile",
        "--installed",
        "-t",
        "pkg.first:First",
        "-o",
        "a=1",
        "-o",
        "b=two words",
        "-t",
        "pkg.second",
        "-o",
        "c=3",
        "--python-path",
        "/opt/x",
        str(tmp_path),
    ])
    code, out = result.exit_code, result.stdout
    assert code == 0, result.output
    # modules that do not exist here: the graph is printed, its options unchecked
    assert "warning: options not checked: cannot import translator module 'pkg.first'" in result.stderr
    graph = volfile.parse(out)
    posix, second, first = graph.volumes
    assert posix.type == "storage/posix" and posix.options["directory"] == str(tmp_path)
    assert second.type == first.type == "features/glupy"
    assert second.options == {"module": "pkg.second", "python-path": "/opt/x", "c": "3"}
    assert first.options == {
        "module": "pkg.first:First",
        "python-path": "/opt/x",
        "a": "1",
        "b": "two words",
    }
    assert first.subvolumes == [second.name] and second.subvolumes == [posix.name]
    assert 'option b "two words"' in out


def test_volfile_uninstalled_type_is_relative_path(tmp_path: Path) -> None:
    code, out = run("volfile", "--uninstalled", "-t", "m", str(tmp_path))
    assert code == 0, out
    type_ = volfile.parse(out).top.type
    resolved = os.path.normpath(os.path.join(volfile.xlatordir(), type_ + ".so"))
    assert resolved == str(volfile.bridge_so_path().absolute())


def test_volfile_default_translator(tmp_path: Path) -> None:
    code, out = run("volfile", "--installed", str(tmp_path))
    assert code == 0, out
    assert volfile.parse(out).top.options["module"] == "glupy.library.audit"


@pytest.mark.parametrize(
    "args",
    [
        ["-o", "a=1", "-t", "m"],  # -o before any -t
        ["-o", "a=1"],  # -o with the default translator only
        ["-t", "m", "-o", "novalue"],
        ["-t", "m", "-o", "a="],
        ["-t", "m", "-o", "a=1", "-o", "a=2"],
        ["-t", "m", "-o", "module=x"],
        ["-t", "not a module"],
    ],
)
def test_volfile_bad_options(args: list[str], tmp_path: Path) -> None:
    code, out = run("volfile", *args, str(tmp_path))
    assert code == 2, out
    assert "Error" in out


def test_options_before_t_message(tmp_path: Path) -> None:
    code, out = run("volfile", "-o", "a=1", "-t", "m", str(tmp_path))
    assert code == 2
    assert "comes before any -t" in out


@pytest.mark.parametrize(
    ("args", "owners"),
    [
        (["-t", "a", "-o", "x=1", "-t", "b", "-o", "y=2", "-o", "z=3"], [1, 2, 2]),
        (["-ta", "-ox=1", "--option=y=2", "--translator", "b", "--option", "z=3"], [1, 1, 2]),
        (["-o", "x=1", "-t", "a"], [0]),
        (["--python-path", "-t", "-o", "x=1"], [0]),  # "-t" is --python-path's value
        (["--debug", "-t", "a", "src", "mnt", "-o", "x=1"], [1]),
        (["-t", "a", "--", "-o", "x=1"], []),
    ],
)
def test_option_owners(args: list[str], owners: list[int]) -> None:
    assert _option_owners(mount, args) == owners


def test_mount_missing_source(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    code, out = run("mount", str(tmp_path / "nope"), str(mnt))
    assert code != 0
    assert "nope" in out and "no such directory" in out


def test_mount_missing_mountpoint(tmp_path: Path) -> None:
    code, out = run("mount", str(tmp_path), str(tmp_path / "nomnt"))
    assert code != 0
    assert "no such directory" in out


def test_mount_empty_args() -> None:
    code, out = run("mount", "", "")
    assert code != 0
    assert "must not be empty" in out


def test_mount_missing_args() -> None:
    code, out = run("mount")
    assert code == 2
    assert "Missing argument" in out


def test_mount_options_before_t(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    code, out = run("mount", "-o", "a=1", "-t", "m", str(tmp_path), str(mnt))
    assert code == 2
    assert "comes before any -t" in out


def test_mount_not_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    code, out = run("mount", str(tmp_path), str(mnt))
    assert code == 1
    assert "must run as root" in out


def test_mount_no_glusterfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    code, out = run("mount", str(tmp_path), str(mnt))
    assert code == 1
    assert "glusterfs is not installed" in out


def test_install_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    code, out = run("install")
    assert code == 1 and "must run as root" in out


def test_umount_not_mounted(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    code, out = run("umount", "--state-dir", str(tmp_path / "state"), str(tmp_path))
    assert code == 1
    assert "not mounted" in out


@pytest.fixture
def tmpfs_mount(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "busy"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "none", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@root_only
def test_mount_already_mounted(tmp_path: Path, tmpfs_mount: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    code, out = run("mount", "--state-dir", str(tmp_path / "state"), str(src), str(tmpfs_mount))
    assert code == 1
    assert "already mounted (tmpfs)" in out


@root_only
def test_umount_refuses_foreign_mount(tmp_path: Path, tmpfs_mount: Path) -> None:
    code, out = run("umount", "--state-dir", str(tmp_path / "state"), str(tmpfs_mount))
    assert code == 1
    assert "not a glusterfs one" in out
