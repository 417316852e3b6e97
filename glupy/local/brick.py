"""Brick-side graphs without glusterd: ``glusterfsd`` serving Python translators over TCP.

A brick graph (what glusterd would generate for one brick, cut down)::

    protocol/server  (tcp, 127.0.0.1:PORT, auth.addr.<top>.allow *)
      debug/io-stats (<prefix>-brick; optional, glusterd puts one here too)
        glupy translators (first = top-most)
          features/locks  (POSIX/flock locks; needs the client_t that only protocol/server sets)
            storage/posix  (over the backend directory)

runs in one ``glusterfsd -f VOL`` process, and a client graph (just ``protocol/client``
pointed at 127.0.0.1:PORT) is mounted with :func:`glupy.local.process.mount_graph`.

Facts checked on GlusterFS 10.3:

* protocol/server needs ``option transport-type tcp`` (else "option transport-type not
  set" and init fails); ``transport.address-family inet`` is not needed with a numeric
  bind-address but is set anyway, on both sides.
* protocol/server copies its ``auth.addr.*.allow``/``reject`` and ``auth.login.*``
  options into the option dict of every child before the child's init runs. The glupy
  bridge rejects option keys its Translator does not declare, so a glupy translator
  directly under protocol/server fails init ("unknown option 'auth.addr.<name>.allow'").
  ``io_stats=True`` (the default) puts a debug/io-stats volume between them, as glusterd
  does, which absorbs those options.
* glusterfsd listens as soon as protocol/server's init ran, *before* the translators
  below it are initialised: a listening port alone does not mean the graph is up. The
  brick is ready once the port listens and the log shows the "Final graph" dump
  (printed after the graph was activated).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from glupy.local import daemon, process, volfile
from glupy.local.volfile import Graph, VolfileError, Volume
from glupy.runtime.security import private_dir, write_private

__all__ = [
    "Brick",
    "BrickError",
    "BrickMount",
    "BrickState",
    "brick_graph",
    "brick_mounted",
    "client_graph",
    "exported_volume",
    "find_glusterfsd",
    "free_port",
    "mount_brick_client",
    "port_listening",
    "serve",
    "start_brick",
    "stop_brick",
    "wait_client_connected",
]

HOST = "127.0.0.1"
PORT_RANGE = (20000, 32000)
_READY_MARK = "Final graph:"
_BIND_FAILURE = "Address already in use"


class BrickError(process.MountError):
    """glusterfsd did not come up, or the client could not connect to it."""


# --------------------------------------------------------------------------- graphs


def brick_graph(
    backend_dir: str | os.PathLike[str],
    translators: Sequence[tuple[str, dict[str, str]]],
    *,
    port: int,
    host: str = HOST,
    name_prefix: str = "brick",
    python_path: Iterable[str | os.PathLike[str]] = (),
    glupy_type: str | None = None,
    locks: bool = True,
    io_stats: bool = True,
) -> Graph:
    """The server graph for ``glusterfsd -f``; its top is protocol/server.

    ``translators`` are ``(module_spec, options)`` pairs, top-most first (may be empty:
    a plain brick). The volume clients attach to (``remote-subvolume``) is
    :func:`exported_volume` of the result.
    """
    backend = os.path.abspath(os.fspath(backend_dir))

    graph = Graph()
    below = graph.add(
        Volume(name=f"{name_prefix}-posix", type="storage/posix", options={"directory": backend})
    )
    if locks:
        below = graph.add(
            Volume(name=f"{name_prefix}-locks", type="features/locks", subvolumes=[below.name])
        )
    below = volfile.stack_translators(graph, below, translators, name_prefix, python_path,
                                      glupy_type)
    if io_stats:
        below = graph.add(
            Volume(name=f"{name_prefix}-brick", type="debug/io-stats", subvolumes=[below.name])
        )
    graph.add(
        Volume(
            name=f"{name_prefix}-server",
            type="protocol/server",
            options={
                "transport-type": "tcp",
                "transport.address-family": "inet",
                "transport.socket.bind-address": host,
                "transport.socket.listen-port": str(port),
                f"auth.addr.{below.name}.allow": "*",
            },
            subvolumes=[below.name],
        )
    )
    graph.validate()
    return graph


def exported_volume(graph: Graph) -> str:
    """The volume under protocol/server: what a client names as ``remote-subvolume``."""
    servers = graph.of_type("protocol/server")
    if len(servers) != 1 or len(servers[0].subvolumes) != 1:
        raise VolfileError("not a brick graph: expected one protocol/server with one child")
    return servers[0].subvolumes[0]


def server_port(graph: Graph) -> int:
    return int(graph.of_type("protocol/server")[0].options["transport.socket.listen-port"])


def client_graph(
    port: int, remote_subvolume: str, *, host: str = HOST, name: str = "brick-client"
) -> Graph:
    """A one-volume client graph: protocol/client to ``host:port``/``remote_subvolume``."""
    graph = Graph()
    graph.add(
        Volume(
            name=name,
            type="protocol/client",
            options={
                "remote-host": host,
                "remote-port": str(port),
                "remote-subvolume": remote_subvolume,
                "transport-type": "tcp",
                "transport.address-family": "inet",
            },
        )
    )
    return graph


# --------------------------------------------------------------------------- system


def find_glusterfsd() -> str:
    exe = shutil.which("glusterfsd") or shutil.which("glusterfsd", path="/usr/sbin:/sbin")
    if exe is None:
        raise process.GlusterfsNotFoundError(
            "glusterfsd is not installed (no `glusterfsd` on PATH); install glusterfs-server"
        )
    return exe


def free_port(host: str = HOST, low: int = PORT_RANGE[0], high: int = PORT_RANGE[1]) -> int:
    """A TCP port free on ``host`` right now, picked at random in ``[low, high)``.

    The default range stays below both the kernel's ephemeral ports (32768-60999) and
    glusterd's brick ports (49152 and up), so a brick started here does not collide
    with outgoing connections or with glusterd-managed bricks on the same host.
    """
    for _ in range(50):
        port = random.randrange(low, high)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            if not port_listening(port, host):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_listening(port: int, host: str = HOST) -> bool:
    """True if some socket LISTENs on ``host:port`` (from /proc/net/tcp, no connect)."""
    want_ip = socket.inet_aton(host)[::-1].hex().upper()  # /proc/net/tcp is little-endian
    want = {f"{want_ip}:{port:04X}", f"00000000:{port:04X}"}
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                if len(parts) > 3 and parts[3] == "0A" and parts[1] in want:
                    return True
    except OSError:
        pass
    return False


# --------------------------------------------------------------------------- state


@dataclass
class BrickState:
    state_dir: str
    volfile_path: str
    log_path: str
    pid_file: str
    port: int
    host: str = HOST
    exported: str = ""
    backend_dir: str | None = None
    pid: int | None = None
    foreground: bool = False
    started: float = 0.0
    ready_after: float = 0.0
    command: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def alive(self) -> bool:
        return self.pid is not None and daemon.pid_alive(self.pid)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _is_our_glusterfsd(pid: int, state: BrickState) -> bool:
    args = daemon.cmdline(pid)
    return bool(args) and "glusterfs" in os.path.basename(args[0]) and state.volfile_path in args


def _brick_failure(state: BrickState, why: str) -> BrickError:
    lines = daemon.failure_lines(state.log_path, Path(state.state_dir, "glusterfsd.out"),
                                 state.volumes)
    return BrickError(
        f"glusterfsd (port {state.port}) failed: {why}", lines, Path(state.log_path)
    )


def _log_has(path: str, needle: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return any(needle in line for line in f)
    except OSError:
        return False


def start_brick(
    graph: Graph,
    state_dir: str | os.PathLike[str],
    *,
    backend_dir: str | os.PathLike[str] | None = None,
    foreground: bool = False,
    debug: bool = False,
    timeout: float = 30.0,
    extra_args: Sequence[str] = (),
) -> BrickState:
    """Run ``glusterfsd -f VOL -l LOG --pid-file PID`` on ``graph``; wait until it serves.

    ``state_dir`` receives ``brick.vol``, ``glusterfsd.log``, ``glusterfsd.pid`` and
    ``glusterfsd.out``. Daemon mode by default; ``foreground=True`` runs ``-N`` as a child
    in its own session. On failure raises BrickError with the relevant log lines and
    leaves no process behind.
    """
    exe = find_glusterfsd()
    sdir = private_dir(state_dir)  # root-only: the volfile holds every option
    state = BrickState(
        state_dir=str(sdir),
        volfile_path=str(sdir / "brick.vol"),
        log_path=str(sdir / "glusterfsd.log"),
        pid_file=str(sdir / "glusterfsd.pid"),
        port=server_port(graph),
        host=graph.of_type("protocol/server")[0].options.get(
            "transport.socket.bind-address", HOST
        ),
        exported=exported_volume(graph),
        backend_dir=os.path.abspath(os.fspath(backend_dir)) if backend_dir is not None else None,
        foreground=foreground,
        volumes=[v.name for v in graph if "module" in v.options],
    )
    if port_listening(state.port, state.host):
        raise BrickError(f"port {state.port} is already in use")
    write_private(state.volfile_path, graph.render())
    state.started = time.time()
    t0 = time.monotonic()
    started = daemon.start(exe, state.volfile_path, state.log_path, state.pid_file,
                           sdir / "glusterfsd.out", debug=debug, foreground=foreground,
                           args=extra_args)
    state.command = started.command
    if foreground:
        state.pid = started.proc.pid

    def serving(pid: int | None) -> bool:
        if pid is None or not port_listening(state.port, state.host) or \
                not _log_has(state.log_path, _READY_MARK):
            return False
        # the graph was activated; a failing init below the server exits right
        # after the dump, so look once more
        time.sleep(0.05)
        return daemon.pid_alive(pid)

    try:
        state.pid = daemon.wait_ready(
            started, pid=state.pid, pid_file=state.pid_file, foreground=foreground,
            ready=serving, fail=lambda why: _brick_failure(state, why), timeout=timeout,
            not_ready=f"not serving on port {state.port} after {timeout:g} s")
    except BaseException:
        pid = state.pid or daemon.read_pid(state.pid_file)
        daemon.kill_failed(started, pid if pid is not None and _is_our_glusterfsd(pid, state)
                           else None)
        raise
    state.ready_after = time.monotonic() - t0
    return state


def stop_brick(state: BrickState, timeout: float = 10.0) -> None:
    """SIGTERM the brick's glusterfsd (by pid), SIGKILL after ``timeout`` s."""
    pid = state.pid or daemon.read_pid(state.pid_file)
    if pid is not None and daemon.pid_alive(pid) and _is_our_glusterfsd(pid, state):
        daemon.stop_pid(pid, timeout)
    if pid is not None:
        daemon.forget_foreground(pid)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(state.pid_file)


class Brick:
    """``with Brick(graph, state_dir) as state:`` — glusterfsd up, always stopped after."""

    def __init__(self, graph: Graph, state_dir: str | os.PathLike[str], **kwargs: object) -> None:
        self.graph = graph
        self.state_dir = state_dir
        self.kwargs = kwargs
        self.state: BrickState | None = None

    def __enter__(self) -> BrickState:
        self.state = start_brick(self.graph, self.state_dir, **self.kwargs)  # type: ignore[arg-type]
        return self.state

    def __exit__(self, *exc: object) -> None:
        if self.state is not None:
            stop_brick(self.state)
            self.state = None


def serve(
    backend_dir: str | os.PathLike[str],
    translators: Sequence[tuple[str, dict[str, str]]],
    state_dir: str | os.PathLike[str],
    *,
    attempts: int = 3,
    debug: bool = False,
    timeout: float = 30.0,
    **graph_kwargs: object,
) -> tuple[Graph, BrickState]:
    """Build a brick graph on a free port and start it; retry with another port when the
    one picked was taken in between (``Address already in use`` in the log)."""
    for attempt in range(attempts):
        graph = brick_graph(backend_dir, translators, port=free_port(), **graph_kwargs)  # type: ignore[arg-type]
        try:
            state = start_brick(graph, state_dir, backend_dir=backend_dir, debug=debug,
                                timeout=timeout)
        except BrickError as exc:
            if attempt + 1 < attempts and exc.log_path and _log_has(str(exc.log_path), _BIND_FAILURE):
                continue
            raise
        return graph, state
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- client


def _meta_private(mountpoint: str, client_volume: str) -> str:
    return os.path.join(mountpoint, ".meta", "graphs", "active", client_volume, "private")


def wait_client_connected(
    mountpoint: str | os.PathLike[str], client_volume: str, timeout: float = 30.0
) -> None:
    """Wait until ``.meta/graphs/active/<client_volume>/private`` says ``connected = 1``."""
    path = _meta_private(os.fspath(mountpoint), client_volume)
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        try:
            with open(path) as f:
                last = f.read()
            if any(line.split() == ["connected", "=", "1"] for line in last.splitlines()):
                return
        except OSError as exc:
            last = str(exc)
        if time.monotonic() > deadline:
            raise BrickError(f"{client_volume} not connected after {timeout:g} s: {last.strip()}")
        time.sleep(0.05)


@dataclass
class BrickMount:
    brick: BrickState
    client: process.MountState
    client_volume: str
    connect_after: float = 0.0


def mount_brick_client(
    brick: BrickState,
    mountpoint: str | os.PathLike[str],
    *,
    client_volume: str = "brick-client",
    state_dir: Path | None = None,
    debug: bool = False,
    timeout: float = 30.0,
    client_translators: Sequence[tuple[str, dict[str, str]]] = (),
    python_path: Sequence[str | os.PathLike[str]] = (),
    glupy_type: str | None = None,
    extra_args: Sequence[str] = (),
) -> BrickMount:
    """Mount a protocol/client graph for ``brick`` at ``mountpoint``; wait until connected.

    ``client_translators`` (top-most first) are stacked above protocol/client in the
    client graph; ``extra_args`` go to glusterfs (e.g. ``--entry-timeout=0``).
    Uses :func:`glupy.local.process.mount_graph` (so ``process.unmount`` undoes it). A failure
    to connect raises BrickError carrying the brick's log lines as well.
    """
    graph = client_graph(brick.port, brick.exported, host=brick.host, name=client_volume)
    if client_translators:
        volfile.stack_translators(graph, graph.volumes[0], client_translators, "client",
                                  python_path, glupy_type)
    t0 = time.monotonic()
    try:
        client = process.mount_graph(
            graph, mountpoint, source_dir=brick.backend_dir, state_dir=state_dir,
            debug=debug, timeout=timeout, extra_args=extra_args,
        )
    except process.MountError as exc:
        err = _brick_failure(brick, f"client mount failed: {exc.message}")
        err.log_lines = [*exc.log_lines, "--- brick log ---", *err.log_lines]
        raise err from exc
    try:
        wait_client_connected(client.mountpoint, client_volume, timeout)
    except BrickError:
        with contextlib.suppress(process.GlupyProcessError):
            process.unmount(client.mountpoint, state_dir=state_dir)
        raise
    return BrickMount(brick=brick, client=client, client_volume=client_volume,
                      connect_after=time.monotonic() - t0)


@contextlib.contextmanager
def brick_mounted(
    backend_dir: str | os.PathLike[str],
    translators: Sequence[tuple[str, dict[str, str]]],
    mountpoint: str | os.PathLike[str],
    state_dir: str | os.PathLike[str],
    **graph_kwargs: object,
) -> Iterator[BrickMount]:
    """Brick + client mount for a ``with`` block (state under ``state_dir``/brick, /client)."""
    _, state = serve(backend_dir, translators, Path(state_dir) / "brick", **graph_kwargs)  # type: ignore[arg-type]
    try:
        bm = mount_brick_client(state, mountpoint, state_dir=Path(state_dir) / "client")
        try:
            yield bm
        finally:
            with contextlib.suppress(process.GlupyProcessError):
                process.unmount(bm.client.mountpoint, state_dir=Path(state_dir) / "client")
    finally:
        stop_brick(state)
