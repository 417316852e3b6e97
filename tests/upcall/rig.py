"""Two FUSE clients of one glusterfsd brick with features/upcall, no glusterd.

Brick: protocol/server -> debug/io-stats -> features/upcall (cache-invalidation on/off)
-> features/locks -> storage/posix.  Each client: FUSE -> [translators] ->
protocol/client.  What client B changes reaches client A's graph as GF_EVENT_UPCALL,
exactly as on a glusterd volume with ``features.cache-invalidation on``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from glupy.local import brick, process, volfile
from glupy.local.volfile import Graph, Volume

HERE = Path(__file__).parent
TRANSLATORS = HERE / "translators"


def brick_graph(backend: Path, port: int, cache_invalidation: bool) -> Graph:
    g = Graph()
    below = g.add(Volume("b-posix", "storage/posix", {"directory": str(backend)}))
    below = g.add(Volume("b-locks", "features/locks", subvolumes=[below.name]))
    below = g.add(Volume("b-upcall", "features/upcall",
                         {"cache-invalidation": "on" if cache_invalidation else "off",
                          "cache-invalidation-timeout": "600"}, [below.name]))
    below = g.add(Volume("b-brick", "debug/io-stats", subvolumes=[below.name]))
    g.add(Volume("b-server", "protocol/server", {
        "transport-type": "tcp", "transport.address-family": "inet",
        "transport.socket.bind-address": brick.HOST, "transport.socket.listen-port": str(port),
        f"auth.addr.{below.name}.allow": "*"}, [below.name]))
    g.validate()
    return g


def client_graph(name: str, port: int, translators: Sequence[tuple[str, dict[str, str]]]) -> Graph:
    """protocol/client with ``translators`` on top (first = top-most); a spec with a
    ``/`` is a C translator type (``performance/nl-cache``), anything else a glupy module."""
    g = brick.client_graph(port, "b-brick", name=f"{name}-client")
    below = g[f"{name}-client"]
    for i, (spec, opts) in enumerate(reversed(list(translators))):
        if "/" in spec:
            below = g.add(Volume(f"{name}-c{i}", spec, dict(opts), [below.name]))
        else:
            below = volfile.stack_translators(g, below, [(spec, opts)], f"{name}{i}", [TRANSLATORS])
    g.validate()
    return g


@dataclass
class Rig:
    a: Path
    b: Path
    backend: Path
    a_log: str
    brick_log: str


@contextlib.contextmanager
def two_clients(tmp: Path, a_translators: Sequence[tuple[str, dict[str, str]]],
                b_translators: Sequence[tuple[str, dict[str, str]]] = (),
                cache_invalidation: bool = True) -> Iterator[Rig]:
    backend = tmp / "backend"
    backend.mkdir()
    state = brick.start_brick(brick_graph(backend, brick.free_port(), cache_invalidation),
                              tmp / "brick", backend_dir=backend)
    mounted: list[tuple[str, Path]] = []
    try:
        mnts = {}
        logs = {}
        for name, xls in (("a", a_translators), ("b", b_translators)):
            mnt = tmp / f"mnt-{name}"
            mnt.mkdir()
            sdir = tmp / f"client-{name}"
            ms = process.mount_graph(client_graph(name, state.port, xls), mnt, source_dir=backend,
                                     state_dir=sdir)
            mounted.append((ms.mountpoint, sdir))
            brick.wait_client_connected(ms.mountpoint, f"{name}-client")
            mnts[name] = Path(ms.mountpoint)
            logs[name] = ms.log_path
        yield Rig(mnts["a"], mnts["b"], backend, logs["a"], str(state.log_path))
    finally:
        for mp, sdir in reversed(mounted):
            with contextlib.suppress(process.GlupyProcessError):
                process.unmount(mp, state_dir=sdir)
        brick.stop_brick(state)


def read_log(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


__all__ = ["Rig", "read_log", "two_clients"]
