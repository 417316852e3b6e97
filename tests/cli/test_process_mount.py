"""glupy.local.process and the glupy_mount fixture against real glusterfs, with C translators only.

These need root (FUSE) and glusterfs, not the Python bridge: they stack GlusterFS's own
features/read-only where a glupy volume would go.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from glupy.cli import commands as cli
from glupy.cli.commands import main
from glupy.local import daemon, process
from glupy.local.volfile import Graph, Volume

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (FUSE mounts)")


def graph_over(src: Path, **posix_options: str) -> Graph:
    return Graph(
        [
            Volume("t-posix", "storage/posix", {"directory": str(src), **posix_options}),
            Volume("t-ro", "features/read-only", {"read-only": "off"}, ["t-posix"]),
        ]
    )


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    src, mnt, state = tmp_path / "src", tmp_path / "mnt", tmp_path / "state"
    src.mkdir()
    mnt.mkdir()
    return src, mnt, state


def test_mount_unmount(dirs: tuple[Path, Path, Path]) -> None:
    src, mnt, state_dir = dirs
    state = process.mount_graph(graph_over(src), mnt, source_dir=src, state_dir=state_dir)
    try:
        assert process.mount_fstype(mnt) == "fuse.glusterfs"
        assert state.pid is not None and process.pid_alive(state.pid)
        assert os.stat(mnt).st_dev != os.stat(src).st_dev
        (mnt / "f").write_text("hello")
        assert (src / "f").read_text() == "hello"
        listed = process.list_mounts(state_dir)
        assert [s.mountpoint for s in listed] == [str(mnt)]
        assert process.read_state(mnt, state_dir) == listed[0]
        with pytest.raises(process.MountpointBusyError):
            process.mount_graph(graph_over(src), mnt, state_dir=state_dir)
    finally:
        process.unmount(mnt, state_dir=state_dir)
    assert process.mount_fstype(mnt) is None
    assert not process.pid_alive(state.pid)
    assert process.list_mounts(state_dir) == []
    assert Path(state.log_path).exists()  # kept for post-mortems
    with pytest.raises(process.NotMountedError):
        process.unmount(mnt, state_dir=state_dir)


def test_init_failure_reports_log_and_leaves_nothing(dirs: tuple[Path, Path, Path]) -> None:
    src, mnt, state_dir = dirs
    graph = graph_over(src, **{"volume-id": "not-a-uuid"})
    with pytest.raises(process.MountError) as info:
        process.mount_graph(graph, mnt, state_dir=state_dir, timeout=20)
    text = str(info.value)
    assert "wrong volume-id" in text
    assert " E [" in text
    assert process.mount_fstype(mnt) is None
    assert process.list_mounts(state_dir) == []
    assert not any(
        "t-ro" in " ".join(daemon.cmdline(int(p.name)))
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and str(mnt) in daemon.cmdline(int(p.name))
    )


def test_foreground_mount(dirs: tuple[Path, Path, Path]) -> None:
    src, mnt, state_dir = dirs
    state = process.mount_graph(graph_over(src), mnt, foreground=True, state_dir=state_dir)
    try:
        proc = process.foreground_process(mnt)
        assert proc is not None and proc.poll() is None and proc.pid == state.pid
        assert "-N" in state.command
    finally:
        process.unmount(mnt, state_dir=state_dir)
    assert process.mount_fstype(mnt) is None
    assert not process.pid_alive(state.pid)


def test_quoted_options_reach_glusterfs(dirs: tuple[Path, Path, Path]) -> None:
    """GlusterFS's own parser reads back what volfile.quote() writes."""
    src, mnt, state_dir = dirs
    odd = {"q1": 'x y"z', "q2": "a`echo hi`b", "q3": "#x", "q4": "back\\slash", "q5": "type"}
    graph = graph_over(src)
    graph["t-ro"].options.update(odd)
    state = process.mount_graph(graph, mnt, state_dir=state_dir)
    try:
        log = Path(state.log_path).read_text()
    finally:
        process.unmount(mnt, state_dir=state_dir)
    for key, value in odd.items():
        assert f"option {key} {value}\n" in log


def test_cli_umount_finds_state(dirs: tuple[Path, Path, Path]) -> None:
    src, mnt, state_dir = dirs
    process.mount_graph(graph_over(src), mnt, state_dir=state_dir)
    result = CliRunner().invoke(main, ["umount", "--state-dir", str(state_dir), str(mnt)])
    assert result.exit_code == 0, result.output
    assert process.mount_fstype(mnt) is None


def test_unmount_without_state(dirs: tuple[Path, Path, Path]) -> None:
    """A glusterfs mount glupy lost track of is still unmounted and its process stopped."""
    src, mnt, state_dir = dirs
    state = process.mount_graph(graph_over(src), mnt, state_dir=state_dir)
    state.state_file.unlink()
    process.unmount(mnt, state_dir=state_dir)
    assert process.mount_fstype(mnt) is None
    assert not process.pid_alive(state.pid)


def test_unmount_after_crash(dirs: tuple[Path, Path, Path]) -> None:
    """A killed glusterfs leaves a dead FUSE mount: unmount clears it."""
    src, mnt, state_dir = dirs
    state = process.mount_graph(graph_over(src), mnt, state_dir=state_dir)
    assert state.pid is not None
    os.kill(state.pid, 9)
    process.unmount(mnt, state_dir=state_dir)
    assert process.mount_fstype(mnt) is None


PLUGIN_TEST = """
from pathlib import Path

def test_passes(glupy_mount):
    m = glupy_mount([("some.mod", {"x": "1"})], glupy_type="features/read-only")
    (m.mountpoint / "f").write_text("hi")
    assert (m.backend_dir / "f").read_text() == "hi"
    Path("mnt.txt").write_text(str(m.mountpoint))

def test_fails(glupy_mount):
    m = glupy_mount([("some.mod", {})], glupy_type="features/read-only")
    assert False, "deliberate"
"""


def test_glupy_mount_fixture(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]))
    pytester.makepyfile(PLUGIN_TEST)
    result = pytester.runpytest_subprocess("-p", "glupy.testing", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*glusterfs log*glusterfs.log (last * lines)*", "*Final graph*"])
    mnt = Path(pytester.path, "mnt.txt").read_text()
    assert process.mount_fstype(mnt) is None  # unmounted at teardown
    out = subprocess.run(["grep", "fuse.glusterfs", "/proc/mounts"], capture_output=True, text=True)
    assert str(pytester.path) not in out.stdout


def test_cli_mount_foreground_and_daemon(
    dirs: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`glupy mount` end to end, with features/read-only standing in for the bridge."""
    import threading
    import time

    from glupy.local import volfile

    src, mnt, state_dir = dirs
    monkeypatch.setattr(volfile, "bridge_type", lambda installed=None: "features/read-only")
    monkeypatch.setattr(volfile, "bridge_so_path", lambda: Path(__file__))
    # "m" is no Python module: read-only stands in for it, so its options are read-only's
    monkeypatch.setattr(cli, "_check_stack_options", lambda *args, **kw: None)
    base = ["mount", "--state-dir", str(state_dir), "-t", "m", "-o", "read-only=off"]

    result = CliRunner().invoke(main, [*base, str(src), str(mnt)])
    assert result.exit_code == 0, result.output
    assert "log: " in result.output and process.mount_fstype(mnt) == "fuse.glusterfs"
    result = CliRunner().invoke(main, [*base, str(src), str(mnt)])
    assert result.exit_code == 1 and "already mounted" in result.output
    assert (
        CliRunner().invoke(main, ["umount", "--state-dir", str(state_dir), str(mnt)]).exit_code == 0
    )

    def unmount_soon() -> None:  # another shell's `umount` ends a --foreground mount
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.mount_fstype(mnt) and os.stat(mnt).st_dev != os.stat(src).st_dev:
                break
            time.sleep(0.05)
        time.sleep(1)  # let `glupy mount` see it ready and start waiting
        subprocess.run(["umount", str(mnt)], check=False)

    thread = threading.Thread(target=unmount_soon)
    thread.start()
    result = CliRunner().invoke(main, [*base, "--foreground", str(src), str(mnt)])
    thread.join()
    assert result.exit_code == 0, result.output
    assert process.mount_fstype(mnt) is None
    assert process.list_mounts(state_dir) == []
