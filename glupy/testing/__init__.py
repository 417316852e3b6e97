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

FUSE caches: the kernel keeps a name it looked up for ``entry_timeout`` seconds and
file attributes for ``attribute_timeout`` seconds (GlusterFS's default: 1 s each), so
a test that must see every lookup (a cache, a name-hiding translator) passes
``entry_timeout=0`` (and ``attribute_timeout=0`` for every stat)::

    m = glupy_mount([("negcache:NegCache", {})], python_path=["."], entry_timeout=0)

FUSE also reshapes writes: a ``write(2)`` that starts mid-page arrives as two writevs
split at the page boundary, and writes larger than 128 KiB as several (docs/fops.md).

Attack tests: ``m.backend_dir`` is the storage/posix directory (tamper with what
is on disk); ``glupy_brick_mount(..., client_translators=[...])`` puts translators
in the client graph above a real brick, and ``m.raw_client()`` is a libgfapi
client straight to that brick, without them (what another client or a stolen
brick sees)::

    m = glupy_brick_mount([], client_translators=[("glupy.library.crypt", {"key-file": KEY})])
    (m.mountpoint / "f").write_bytes(b"secret")
    assert b"secret" not in m.raw_client().read_file("f")

To see what reaches a point of the graph, put a ``glupy.testing.recording.RecordingTranslator``
subclass there: it records what its fops note and returns the records as JSON to a getxattr.

Every mount is unmounted (and every glusterfsd stopped, by pid) at teardown. When a test
fails, the last 60 lines of each of its glusterfs/glusterfsd logs are added to the report.
Tests using these fixtures are skipped when not root (FUSE needs it); a missing glusterfs
or an unbuilt bridge is an error, not a skip.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from glupy.local import brick, gfapi, process, volfile

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

    def python_calls(self, module: str | None = None) -> dict[str, int]:
        """How many fops of each kind entered Python in this mount's process (the
        bridge's count, from the ``glupy.status`` xattr): of its one glupy translator,
        or of the one loaded from ``module``."""
        from glupy.runtime.procstatus import STATUS_XATTR

        status = json.loads(os.getxattr(self.mountpoint, STATUS_XATTR))
        (t,) = [t for t in status["translators"] if module in (None, t["module"])]
        return dict(t["python_calls"])

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
    raw_clients: list[gfapi.Client] = field(repr=False, default_factory=list)

    def brick_log_tail(self, n: int = LOG_LINES) -> list[str]:
        return process.tail(self.brick_log_path, n)

    def client_log_tail(self, n: int = LOG_LINES) -> list[str]:
        return process.tail(self.client_log_path, n)

    def brick_alive(self) -> bool:
        return self.brick_pid is not None and process.pid_alive(self.brick_pid)

    def raw_client(self, timeout: float = 30.0) -> gfapi.Client:
        """A libgfapi client (in the test process) straight to the brick: protocol/client
        only, none of the ``client_translators`` (the brick's own translators still run).
        For attack tests: read and write what the brick holds as another client would.
        Closed at teardown, after the brick is stopped."""
        if self.brick_state is None:
            raise RuntimeError("the brick is not running")
        n = len(self.raw_clients)
        vol = self.state_dir / f"raw-{n}.vol"
        graph = brick.client_graph(self.port, self.exported, host=self.brick_state.host,
                                   name="raw-client")
        vol.write_text(graph.render())
        client = gfapi.Client.from_volfile(vol, volname="raw-client",
                                           log_file=self.state_dir / f"raw-{n}.gfapi.log",
                                           connect_timeout=timeout)
        self.raw_clients.append(client)
        return client

    def unmount(self) -> None:
        """Unmount the client, then stop glusterfsd (by pid), then close raw clients."""
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
        for client in self.raw_clients:  # after the brick: fini is quicker without it
            try:
                client.fini()
            except Exception as exc:
                errors.append(f"raw client: {exc}")
        self.raw_clients.clear()
        if errors:
            raise RuntimeError("; ".join(errors))


BrickMountFactory = Callable[..., BrickMountInfo]


def fuse_args(entry_timeout: float | None = None, attribute_timeout: float | None = None,
              negative_timeout: float | None = None) -> list[str]:
    """glusterfs arguments for the FUSE kernel caches (None: GlusterFS's default)."""
    out = []
    for flag, value in (("--entry-timeout", entry_timeout),
                        ("--attribute-timeout", attribute_timeout),
                        ("--negative-timeout", negative_timeout)):
        if value is not None:
            if value < 0:
                raise ValueError(f"{flag.lstrip('-')} must be >= 0, got {value}")
            out.append(f"{flag}={value:g}")
    return out


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
    """Factory: mount translators over a temp dir in one glusterfs process (FUSE ->
    translators -> storage/posix) and return a :class:`MountInfo`::

        glupy_mount(translators, python_path=(), *, backend_dir=None, debug=False,
                    timeout=30.0, glupy_type=None, entry_timeout=None,
                    attribute_timeout=None, negative_timeout=None) -> MountInfo

    * ``translators``: ``[("pkg.mod[:Class]", {option: value}), ...]``, top-most first.
    * ``python_path``: directories the translators are imported from.
    * ``backend_dir``: the storage/posix directory (default: a new temp dir).
    * ``debug``: glusterfs logs at DEBUG; ``timeout``: seconds to wait for the mount.
    * ``glupy_type``: the volfile type of the bridge (default: this checkout's build).
    * ``entry_timeout`` / ``attribute_timeout`` / ``negative_timeout``: FUSE kernel
      cache times in seconds (None: GlusterFS's defaults, 1 s / 1 s / 0 s); ``0`` makes
      every lookup / stat reach the graph.

    MountInfo: ``mountpoint``, ``backend_dir``, ``log_path``, ``pid``, ``volfile_path``,
    ``graph``, ``log_tail(n)``, ``unmount()``.  The mount is always unmounted at
    teardown; on failure the log's tail is in the report.
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
        entry_timeout: float | None = None,
        attribute_timeout: float | None = None,
        negative_timeout: float | None = None,
    ) -> MountInfo:
        """Mount ``translators`` (see the glupy_mount fixture)."""
        extra = fuse_args(entry_timeout, attribute_timeout, negative_timeout)
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
            graph, mnt, source_dir=backend, debug=debug, state_dir=state_dir, timeout=timeout,
            extra_args=extra,
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
    """Factory: translators in a ``glusterfsd`` brick, a FUSE client mounted on it::

        glupy_brick_mount(translators, python_path=(), *, backend_dir=None, debug=False,
                          timeout=30.0, glupy_type=None, locks=True, io_stats=True,
                          client_translators=(), entry_timeout=None,
                          attribute_timeout=None, negative_timeout=None) -> BrickMountInfo

    Starts ``glusterfsd`` on a brick graph with ``translators`` (top-most first) between
    protocol/server (+ debug/io-stats) and features/locks -> storage/posix over
    ``backend_dir``, mounts a protocol/client graph (with ``client_translators``,
    top-most first, above protocol/client) and waits until it is connected.
    ``io_stats=False`` puts the first translator directly under protocol/server,
    ``locks=False`` drops features/locks; the FUSE cache knobs are glupy_mount's.

    BrickMountInfo: ``mountpoint``, ``backend_dir``, ``brick_log_path``,
    ``client_log_path``, ``port``, ``brick_pid``, ``brick_alive()``,
    ``raw_client()`` (a libgfapi client straight to the brick, without the client
    translators: the attacker's view), ``unmount()``.  Teardown unmounts, stops
    glusterfsd by pid and closes raw clients.
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
        client_translators: Sequence[tuple[str, dict[str, str]]] = (),
        entry_timeout: float | None = None,
        attribute_timeout: float | None = None,
        negative_timeout: float | None = None,
    ) -> BrickMountInfo:
        """Start the brick and mount it (see the glupy_brick_mount fixture)."""
        extra = fuse_args(entry_timeout, attribute_timeout, negative_timeout)
        so = volfile.bridge_so_path()
        if glupy_type is None and (translators or client_translators) and not so.exists():
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
            debug=debug, timeout=timeout, client_translators=client_translators,
            python_path=python_path, glupy_type=glupy_type, extra_args=extra,
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
    (``protocol/client`` only) and returns a connected :class:`glupy.local.gfapi.Client` loaded
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
