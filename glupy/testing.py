"""pytest plugin: mount Python translators over a temp dir for a test.

Loaded automatically once glupy is installed (``pytest11`` entry point), or with
``pytest_plugins = ["glupy.testing"]`` in a conftest.py::

    def test_hides_secrets(glupy_mount):
        m = glupy_mount([("mypkg.hide:Hide", {"pattern": "secret*"})], python_path=[HERE])
        (m.backend_dir / "secret.txt").write_text("x")
        assert not (m.mountpoint / "secret.txt").exists()

``glupy_brick_mount`` does the same with the translators on the BRICK side: glusterfsd
serves ``protocol/server -> io-stats -> translators -> features/locks -> storage/posix``
on a free 127.0.0.1 port and a ``protocol/client`` graph is mounted::

    def test_on_brick(glupy_brick_mount):
        m = glupy_brick_mount([("mypkg.hide:Hide", {})], python_path=[HERE])
        assert "loaded" in m.brick_log_path.read_text()

Every mount is unmounted (and every glusterfsd stopped, by pid) at teardown. When a test
fails, the last 60 lines of each of its glusterfs/glusterfsd logs are added to the report.
Tests using these fixtures are skipped when not root (FUSE needs it); a missing glusterfs
or an unbuilt bridge is an error, not a skip.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from glupy import brick, gfapi, process, volfile

LOG_LINES = 60
_MOUNTS_KEY = pytest.StashKey[list["MountInfo"]]()
_BRICKS_KEY = pytest.StashKey[list["BrickMountInfo"]]()


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


@dataclass
class BrickMountInfo:
    """A client mount of a glusterfsd brick whose graph holds the translators."""

    mountpoint: Path
    backend_dir: Path
    brick_log_path: Path
    client_log_path: Path
    brick_pid: int | None
    client_pid: int | None
    port: int
    exported: str  # the brick volume the client attaches to (remote-subvolume)
    client_volume: str
    brick_volfile_path: Path
    client_volfile_path: Path
    brick_graph: volfile.Graph
    brick_state: brick.BrickState | None = field(repr=False, default=None)
    state_dir: Path = field(repr=False, default=Path())
    timings: dict[str, float] = field(default_factory=dict)

    def brick_log_tail(self, n: int = LOG_LINES) -> list[str]:
        return process.tail(self.brick_log_path, n)

    def client_log_tail(self, n: int = LOG_LINES) -> list[str]:
        return process.tail(self.client_log_path, n)

    def brick_alive(self) -> bool:
        return self.brick_pid is not None and process.pid_alive(self.brick_pid)

    def unmount(self) -> None:
        """Unmount the client, then stop glusterfsd (by pid)."""
        errors = []
        client_dir = self.state_dir / "client"
        try:
            if process.read_state(self.mountpoint, client_dir) is not None or process.mount_fstype(
                self.mountpoint
            ):
                process.unmount(self.mountpoint, state_dir=client_dir)
        except Exception as exc:
            errors.append(f"client: {exc}")
        if self.brick_state is not None:
            try:
                brick.stop_brick(self.brick_state)
            except Exception as exc:
                errors.append(f"glusterfsd: {exc}")
            if self.brick_alive():
                errors.append(f"glusterfsd pid {self.brick_pid} still alive")
        if errors:
            raise RuntimeError("; ".join(errors))


BrickMountFactory = Callable[..., BrickMountInfo]


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


def _serve_brick(info: Any, backend: Path, translators: Sequence[tuple[str, dict[str, str]]],
                 brick_dir: Path, **kw: Any) -> Any:
    """Start glusterfsd with ``translators`` and record it in ``info`` (the brick
    part shared by glupy_brick_mount and glupy_gfapi)."""
    graph, bstate = brick.serve(backend, translators, brick_dir, **kw)
    info.brick_graph = graph
    info.brick_state = bstate
    info.brick_pid = bstate.pid
    info.port = bstate.port
    info.exported = bstate.exported
    info.timings["brick_ready_s"] = bstate.ready_after
    return bstate


@pytest.fixture
def glupy_brick_mount(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrickMountFactory]:
    """Factory: ``glupy_brick_mount(translators, python_path=(), backend_dir=None, ...)``.

    Starts ``glusterfsd`` on a brick graph with ``translators`` (top-most first) between
    protocol/server (+ debug/io-stats) and features/locks -> storage/posix over
    ``backend_dir``, mounts a protocol/client graph and waits until it is connected.
    Returns a BrickMountInfo; teardown unmounts and stops glusterfsd by pid.
    ``io_stats=False`` puts the first translator directly under protocol/server.
    """
    require_mount_privileges()
    infos = request.node.stash.setdefault(_BRICKS_KEY, [])
    mine: list[BrickMountInfo] = []

    def factory(
        translators: Sequence[tuple[str, dict[str, str]]],
        python_path: Sequence[str | os.PathLike[str]] = (),
        *,
        backend_dir: Path | None = None,
        debug: bool = False,
        timeout: float = 30.0,
        glupy_type: str | None = None,
        locks: bool = True,
        io_stats: bool = True,
    ) -> BrickMountInfo:
        so = volfile.bridge_so_path()
        if glupy_type is None and translators and not so.exists():
            pytest.fail(
                f"the glupy bridge is not built ({so}): run `python -m glupy._build`",
                pytrace=False,
            )
        try:
            brick.find_glusterfsd()
        except process.GlusterfsNotFoundError as exc:
            pytest.fail(exc.message, pytrace=False)
        base = tmp_path_factory.mktemp("glupy-brick")
        backend = backend_dir or base / "backend"
        backend.mkdir(parents=True, exist_ok=True)
        mnt = base / "mnt"
        mnt.mkdir()
        state_dir = base / "state"
        client_sdir = process.state_dir_for(mnt, state_dir / "client")
        info = BrickMountInfo(
            mountpoint=mnt,
            backend_dir=backend,
            brick_log_path=state_dir / "brick" / "glusterfsd.log",
            client_log_path=client_sdir / "glusterfs.log",
            brick_pid=None,
            client_pid=None,
            port=0,
            exported="",
            client_volume="brick-client",
            brick_volfile_path=state_dir / "brick" / "brick.vol",
            client_volfile_path=client_sdir / "graph.vol",
            brick_graph=volfile.Graph(),
            state_dir=state_dir,
        )
        infos.append(info)  # registered first: a failed start still shows its logs
        bstate = _serve_brick(info, backend, translators, state_dir / "brick", debug=debug,
                              timeout=timeout, python_path=python_path, glupy_type=glupy_type,
                              locks=locks, io_stats=io_stats)
        mine.append(info)  # from here on teardown must stop glusterfsd
        bm = brick.mount_brick_client(
            bstate, mnt, client_volume=info.client_volume, state_dir=state_dir / "client",
            debug=debug, timeout=timeout,
        )
        info.client_pid = bm.client.pid
        info.timings["client_connected_s"] = bm.connect_after
        return info

    yield factory
    errors = []
    for info in reversed(mine):
        try:
            info.unmount()
        except Exception as exc:  # teardown must try every mount
            errors.append(f"{info.mountpoint}: {exc}")
    if errors:
        pytest.fail("brick teardown failed: " + "; ".join(errors), pytrace=False)


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
    for binfo in item.stash.get(_BRICKS_KEY, []):
        for what, path in (("glusterfsd (brick)", binfo.brick_log_path),
                           ("glusterfs (client)", binfo.client_log_path)):
            lines = process.tail(path, LOG_LINES)
            title = f"{what} log {path} (last {len(lines)} lines)"
            report.sections.append((title, "\n".join(lines) or "(empty)"))
    return report


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "glupy_mount: test mounts a glupy graph (needs root, glusterfs, /dev/fuse)"
    )


# --------------------------------------------------------------------------- gfapi


_GFAPI_KEY = pytest.StashKey[list["BrickInfo"]]()


@dataclass
class BrickInfo:
    """A glusterfsd brick holding the translators, reached through a gfapi Client in the
    test process (``glupy_gfapi``). No FUSE: fops FUSE never sends (access, ...) arrive."""

    backend_dir: Path
    brick_log_path: Path
    client_log_path: Path  # the gfapi log of the in-process client
    brick_volfile_path: Path
    client_volfile_path: Path
    brick_pid: int | None
    port: int
    exported: str  # the brick volume the client attaches to (remote-subvolume)
    client_volume: str
    brick_graph: volfile.Graph
    brick_state: brick.BrickState | None = field(repr=False, default=None)
    state_dir: Path = field(repr=False, default=Path())
    timings: dict[str, float] = field(default_factory=dict)
    client: gfapi.Client | None = field(repr=False, default=None)

    def brick_log_tail(self, n: int = LOG_LINES) -> list[str]:
        return process.tail(self.brick_log_path, n)

    def client_log_tail(self, n: int = LOG_LINES) -> list[str]:
        return process.tail(self.client_log_path, n)

    def brick_alive(self) -> bool:
        return self.brick_pid is not None and process.pid_alive(self.brick_pid)


GfapiFactory = Callable[..., tuple[gfapi.Client, BrickInfo]]


@pytest.fixture
def glupy_gfapi(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GfapiFactory]:
    """Factory: ``glupy_gfapi(translators, python_path=(), backend_dir=None, ...)``
    -> ``(client, BrickInfo)``.

    Starts ``glusterfsd`` on a brick graph with ``translators`` (top-most first; may be
    empty for a plain brick) exactly like ``glupy_brick_mount``, writes a client volfile
    (``protocol/client`` only) and returns a connected :class:`glupy.gfapi.Client` loaded
    in the test process. Teardown: ``client.fini()`` (~10 s per client in 10.3: gfapi waits
    for protocol/client's reconnect timer), then glusterfsd is stopped by pid.
    """
    if os.geteuid() != 0:
        pytest.skip("glupy_gfapi needs root (glusterfsd sets trusted.* xattrs on the brick)")
    try:
        brick.find_glusterfsd()
        gfapi.libgfapi()
    except (process.GlusterfsNotFoundError, gfapi.GfapiError) as exc:
        pytest.fail(str(getattr(exc, "message", exc)), pytrace=False)
    infos = request.node.stash.setdefault(_GFAPI_KEY, [])
    mine: list[BrickInfo] = []

    def factory(
        translators: Sequence[tuple[str, dict[str, str]]],
        python_path: Sequence[str | os.PathLike[str]] = (),
        *,
        backend_dir: Path | None = None,
        debug: bool = False,
        timeout: float = 30.0,
        glupy_type: str | None = None,
        locks: bool = True,
        io_stats: bool = True,
        log_level: str = "INFO",
    ) -> tuple[gfapi.Client, BrickInfo]:
        so = volfile.bridge_so_path()
        if glupy_type is None and translators and not so.exists():
            pytest.fail(
                f"the glupy bridge is not built ({so}): run `python -m glupy._build`",
                pytrace=False,
            )
        base = tmp_path_factory.mktemp("glupy-gfapi")
        backend = backend_dir or base / "backend"
        backend.mkdir(parents=True, exist_ok=True)
        state_dir = base / "state"
        (state_dir / "client").mkdir(parents=True)
        info = BrickInfo(
            backend_dir=backend,
            brick_log_path=state_dir / "brick" / "glusterfsd.log",
            client_log_path=state_dir / "client" / "gfapi.log",
            brick_volfile_path=state_dir / "brick" / "brick.vol",
            client_volfile_path=state_dir / "client" / "client.vol",
            brick_pid=None,
            port=0,
            exported="",
            client_volume="brick-client",
            brick_graph=volfile.Graph(),
            state_dir=state_dir,
        )
        infos.append(info)  # registered first: a failed start still shows its logs
        bstate = _serve_brick(info, backend, translators, state_dir / "brick", debug=debug,
                              timeout=timeout, python_path=python_path, glupy_type=glupy_type,
                              locks=locks, io_stats=io_stats)
        mine.append(info)  # from here on teardown must stop glusterfsd
        cgraph = brick.client_graph(bstate.port, bstate.exported, host=bstate.host,
                                    name=info.client_volume)
        info.client_volfile_path.write_text(cgraph.render())
        t0 = time.monotonic()
        client = gfapi.Client.from_volfile(
            info.client_volfile_path, volname=info.client_volume,
            log_file=info.client_log_path, log_level="DEBUG" if debug else log_level,
            connect_timeout=timeout,
        )
        info.timings["client_connected_s"] = time.monotonic() - t0
        info.client = client
        return client, info

    yield factory
    errors = []
    for info in reversed(mine):
        # stop the brick first: glfs_fini with a live brick waits ~10 s on
        # protocol/client's reconnect timer (gluster/glusterfs#2606), ~4 s without
        if info.brick_state is not None:
            try:
                brick.stop_brick(info.brick_state)
            except Exception as exc:
                errors.append(f"glusterfsd: {exc}")
            if info.brick_alive():
                errors.append(f"glusterfsd pid {info.brick_pid} still alive")
        if info.client is not None:
            try:
                t0 = time.monotonic()
                info.client.fini()
                info.timings["fini_s"] = time.monotonic() - t0
            except Exception as exc:  # teardown must try every brick
                errors.append(f"gfapi fini ({info.client_volfile_path}): {exc}")
    if errors:
        pytest.fail("gfapi brick teardown failed: " + "; ".join(errors), pytrace=False)


@pytest.hookimpl(wrapper=True, specname="pytest_runtest_makereport")
def _gfapi_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, add the brick and gfapi logs of glupy_gfapi bricks to the report."""
    report = yield
    if not report.failed:
        return report
    for info in item.stash.get(_GFAPI_KEY, []):
        for what, path in (("glusterfsd (brick)", info.brick_log_path),
                           ("gfapi (client)", info.client_log_path)):
            lines = process.tail(path, LOG_LINES)
            title = f"{what} log {path} (last {len(lines)} lines)"
            report.sections.append((title, "\n".join(lines) or "(empty)"))
    return report
