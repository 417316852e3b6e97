"""pytest plugin: mount Python translators over a temp dir for a test.

Loaded automatically once glupy is installed (``pytest11`` entry point), or with
``pytest_plugins = ["glupy.testing"]`` in a conftest.py::

    def test_hides_secrets(glupy_mount):
        m = glupy_mount([("mypkg.hide:Hide", {"pattern": "secret*"})], python_path=[HERE])
        (m.backend_dir / "secret.txt").write_text("x")
        assert not (m.mountpoint / "secret.txt").exists()

Every mount is unmounted at teardown. When a test fails, the last 60 lines of each of
its glusterfs logs are added to the report. Tests using ``glupy_mount`` are skipped when
not root (FUSE needs it); a missing glusterfs or an unbuilt bridge is an error, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from glupy import process, volfile

LOG_LINES = 60
_MOUNTS_KEY = pytest.StashKey[list["MountInfo"]]()


@dataclass
class MountInfo:
    mountpoint: Path
    backend_dir: Path
    log_path: Path
    pid: int | None
    volfile_path: Path
    graph: volfile.Graph
    state_dir: Path = field(repr=False, default=Path())

    def log_tail(self, n: int = LOG_LINES) -> list[str]:
        return process.tail(self.log_path, n)

    def unmount(self) -> None:
        if process.read_state(self.mountpoint, self.state_dir) is not None or process.mount_fstype(
            self.mountpoint
        ):
            process.unmount(self.mountpoint, state_dir=self.state_dir)


MountFactory = Callable[..., MountInfo]


def require_mount_privileges() -> None:
    """Skip when not root; fail clearly when glusterfs or the bridge is missing."""
    if os.geteuid() != 0:
        pytest.skip("glupy_mount needs root (FUSE mounts)")
    try:
        process.find_glusterfs()
    except process.GlusterfsNotFoundError as exc:
        pytest.fail(exc.message, pytrace=False)
    if not os.path.exists("/dev/fuse"):
        pytest.fail("/dev/fuse is missing: FUSE mounts cannot work here", pytrace=False)


@pytest.fixture
def glupy_mount(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MountFactory]:
    """Factory: ``glupy_mount(translators, python_path=(), backend_dir=None, ...)``.

    ``translators`` is a list of ``("pkg.mod[:Class]", {option: value})``, top-most first.
    Returns a MountInfo; the mount is always unmounted at teardown.
    """
    require_mount_privileges()
    mounts = request.node.stash.setdefault(_MOUNTS_KEY, [])
    mine: list[MountInfo] = []

    def factory(
        translators: Sequence[tuple[str, dict[str, str]]],
        python_path: Sequence[str | os.PathLike[str]] = (),
        *,
        backend_dir: Path | None = None,
        debug: bool = False,
        timeout: float = 30.0,
        glupy_type: str | None = None,
    ) -> MountInfo:
        so = volfile.bridge_so_path()
        if glupy_type is None and not so.exists():
            pytest.fail(
                f"the glupy bridge is not built ({so}): run `python -m glupy._build`",
                pytrace=False,
            )
        base = tmp_path_factory.mktemp("glupy")
        backend = backend_dir or base / "backend"
        backend.mkdir(parents=True, exist_ok=True)
        mnt = base / "mnt"
        mnt.mkdir()
        state_dir = base / "state"
        graph = volfile.single_process_graph(
            backend, translators, python_path=python_path, glupy_type=glupy_type
        )
        sdir = process.state_dir_for(mnt, state_dir)
        info = MountInfo(
            mountpoint=mnt,
            backend_dir=backend,
            log_path=sdir / "glusterfs.log",
            pid=None,
            volfile_path=sdir / "graph.vol",
            graph=graph,
            state_dir=state_dir,
        )
        mounts.append(info)  # registered first: a failed mount still shows its log
        state = process.mount_graph(
            graph, mnt, source_dir=backend, debug=debug, state_dir=state_dir, timeout=timeout
        )
        info.pid = state.pid
        mine.append(info)
        return info

    yield factory
    errors = []
    for info in reversed(mine):
        try:
            info.unmount()
        except Exception as exc:  # teardown must try every mount
            errors.append(f"{info.mountpoint}: {exc}")
    if errors:
        pytest.fail("unmount failed: " + "; ".join(errors), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if not report.failed:
        return report
    for info in item.stash.get(_MOUNTS_KEY, []):
        lines = info.log_tail(LOG_LINES)
        title = f"glusterfs log {info.log_path} (last {len(lines)} lines)"
        report.sections.append((title, "\n".join(lines) or "(empty)"))
    return report


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "glupy_mount: test mounts a glupy graph (needs root, glusterfs, /dev/fuse)"
    )
