"""The glusterd volfile filter that inserts attached Python translators.

glusterd runs every executable in ``<xlatordir>/../filter/`` as ``FILTER VOLFILE`` right
after it writes a volfile (glusterd-volgen.c, ``volgen_apply_filters``), on every peer,
for every volfile of every volume, including temporary shd volfiles in /tmp.  This
filter:

* only looks at volfiles inside a ``vols/<VOL>/`` directory that has an ``info`` file
  with ``user.glupy.xl.*`` options (anything else: exit 0, file untouched);
* rewrites the FUSE client volfiles (``VOL.tcp-fuse.vol``, ``trusted-VOL.tcp-fuse.vol``)
  and the brick volfiles (``VOL.<host>.<brick>.vol``, the graphs with protocol/server
  over storage/posix); shd, rebalance, gfproxy and snapd volfiles are left alone;
* is idempotent: volumes it inserted earlier (``VOL-glupy-NAME``) are removed first.

It never fails glusterd: errors go to ``glupy-filter.log`` next to the volfile and
the volfile is left as glusterd wrote it.

``python -m glupy.deploy.filter install|uninstall|status`` manages the executable
(every peer of a pool needs it, together with ``glupy install``).
"""

from __future__ import annotations

import os
import platform
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

from glupy.deploy.config import (
    DETACHED,
    KEY_PREFIX,
    REFUSE_MODULE,
    SENTINEL_OPTIONS,
    SENTINEL_TYPE,
    AttachSpec,
    ConfigError,
    read_info,
    specs_from_options,
)
from glupy.local import volfile
from glupy.local.volfile import Graph, Volume

FILTER_NAME = "glupy-filter"
MARK = "# glupy-filter:"
LOG_NAME = "glupy-filter.log"


def filter_dir() -> Path:
    return volfile.xlatordir().parent / "filter"


def filter_path() -> Path:
    return filter_dir() / FILTER_NAME


# --------------------------------------------------------------------------- graphs


def volfile_kind(path: Path, volume: str) -> str | None:
    """'client', 'brick' or None (not ours to touch) from the file name."""
    name = path.name
    if name in (f"{volume}.tcp-fuse.vol", f"trusted-{volume}.tcp-fuse.vol",
                f"{volume}.rdma-fuse.vol", f"trusted-{volume}.rdma-fuse.vol"):
        return "client"
    if name.startswith(f"{volume}.") and name.endswith(".vol") and "gfproxy" not in name:
        return "brick"
    return None


def is_glupy_type(type_: str) -> bool:
    return type_ == volfile.GLUPY_TYPE or type_.rsplit("/", 1)[-1] == "glupy"


def strip(graph: Graph, volume: str) -> Graph:
    """Remove volumes a previous run inserted (``VOL-glupy-*`` of the bridge's type)."""
    prefix = f"{volume}-glupy-"
    ours = {v.name: v for v in graph if v.name.startswith(prefix) and is_glupy_type(v.type)}
    if not ours:
        return graph

    def resolve(name: str) -> str:
        while name in ours:
            name = ours[name].subvolumes[0]
        return name

    kept = []
    for v in graph:
        if v.name in ours:
            continue
        v.subvolumes = [resolve(s) for s in v.subvolumes]
        kept.append(v)
    return Graph(kept)


def is_sentinel(v: Volume, volume: str) -> bool:
    """glusterd's debug/error-gen as ``glupy attach`` configures it (config.SENTINEL_OPTIONS)."""
    return (v.name == f"{volume}-error-gen" and v.type == SENTINEL_TYPE
            and v.options.get("failure", "").rstrip("%") == SENTINEL_OPTIONS["debug.error-failure"]
            and len(v.subvolumes) == 1)


def remove_sentinel(graph: Graph, volume: str) -> Graph:
    """``graph`` without the fail-closed sentinel (its parents point at its child)."""
    sentinels = [v for v in graph if is_sentinel(v, volume)]
    if not sentinels:
        return graph
    (sentinel,) = sentinels
    below = sentinel.subvolumes[0]
    kept = []
    for v in graph:
        if v is sentinel:
            continue
        v.subvolumes = [below if s == sentinel.name else s for s in v.subvolumes]
        kept.append(v)
    return Graph(kept)


def _parents(graph: Graph, name: str) -> list[Volume]:
    return [v for v in graph if name in v.subvolumes]


def insert_point(graph: Graph, side: str, position: str) -> Volume:
    """The volume the translator goes right above."""
    top = graph.top
    if position == "top":
        node = top
        if node.type == "protocol/server":
            node = graph[node.subvolumes[0]]
        if node.type == "debug/io-stats":
            node = graph[node.subvolumes[0]]
        return node
    if position.startswith("above:"):
        want = position[len("above:"):]
        for v in reversed(graph.volumes):
            if v.type == want:
                return v
        raise volfile.VolfileError(f"no {want} volume in this graph")
    if side == "brick":
        posix = graph.of_type("storage/posix")
        if not posix:
            raise volfile.VolfileError("brick graph without storage/posix")
        return posix[0]
    for v in reversed(graph.volumes):  # the top-most cluster translator
        if v.type.startswith("cluster/"):
            return v
    clients = graph.of_type("protocol/client")
    if len(clients) == 1:
        return clients[0]
    raise volfile.VolfileError("client graph without a cluster translator")


def insert(graph: Graph, target: Volume, new: Volume) -> None:
    for parent in _parents(graph, target.name):
        parent.subvolumes = [new.name if s == target.name else s for s in parent.subvolumes]
    new.subvolumes = [target.name]
    graph.volumes.insert(graph.volumes.index(target) + 1, new)


def apply(graph: Graph, volume: str, kind: str, specs: list[AttachSpec],
          glupy_type: str | None = None) -> Graph:
    """``graph`` (as glusterd wrote it, or as filtered before) with ``specs`` inserted, and,
    in a client graph that has client-side specs, the fail-closed sentinel removed."""
    graph = strip(graph, volume)
    if kind == "client" and any("client" in s.sides for s in specs):
        graph = remove_sentinel(graph, volume)
    type_ = glupy_type or volfile.bridge_type()
    # earlier attaches end up above later ones at the same spot: insert the last first
    for spec in sorted(specs, key=lambda s: (s.seq, s.name), reverse=True):
        if kind not in spec.sides:
            continue
        options = {"module": spec.module}
        if spec.python_path:
            options["python-path"] = ":".join(spec.python_path)
        options.update(spec.options)
        new = Volume(name=spec.xlator_name(volume), type=type_, options=options)
        insert(graph, insert_point(graph, kind, spec.position), new)
    graph.validate()
    return graph


# --------------------------------------------------------------------------- the filter


def _log(vol_dir: Path, text: str) -> None:
    try:
        # root-only, like glusterd's own logs (it names volumes, paths and errors)
        fd = os.open(vol_dir / LOG_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with open(fd, "a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{os.getpid()}] {text.rstrip()}\n")
    except OSError:
        print(text, file=sys.stderr)


def glupy_type_for(xlatordir: Path) -> str:
    """``features/glupy`` if this package's bridge is installed there, else a relative type."""
    so = volfile.bridge_so_path()
    installed = xlatordir / (volfile.GLUPY_TYPE + ".so")
    try:
        if installed.exists() and os.path.samefile(installed, so):
            return volfile.GLUPY_TYPE
    except OSError:
        pass
    return os.path.relpath(so.with_suffix(""), xlatordir)


FAILED_NAME = "glupy-filter-failed"
# the type of the volume a shell-level failure appends: no such translator exists, so
# glusterfs refuses the graph and names it
FAILED_TYPE = "glupy-filter-failed/see-glupy-filter-log"


def _fix_hint(volume: str, exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return f"repair or remove the spec: glupy detach {volume} NAME"
    if isinstance(exc, BridgeMissing):
        return "install glupy on this peer (glupy install)"
    if isinstance(exc, volfile.VolfileError) and "no " in str(exc) and "volume in this graph" in str(exc):
        return f"glupy detach {volume} NAME, then attach it again with another --position"
    return f"see {LOG_NAME} next to the volfile; fix the cause or glupy detach {volume} NAME"


class BridgeMissing(RuntimeError):
    """The glupy bridge this filter would point the volfile at is not there."""


def refuse(graph: Graph, volume: str, reason: str, glupy_type: str) -> Graph:
    """``graph`` with a volume on top whose init fails with ``reason`` (fail closed)."""
    top = graph.top
    graph.volumes.append(Volume(name=f"{volume}-{FAILED_NAME}", type=glupy_type,
                                options={"module": REFUSE_MODULE, "reason": reason},
                                subvolumes=[top.name]))
    return graph


def _safe_text(text: str) -> str:
    return " ".join(text.replace('"', "'").replace("\\", "/").replace("`", "'").split())[:900]


def _write(path: Path, out: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".glupy-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(out)
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def run_filter(path: str | os.PathLike[str], xlatordir: str | os.PathLike[str] | None = None) -> int:
    """Insert the client-side translators of the volume into the client volfile ``path``.

    Fails closed: when a configured translator cannot be inserted, the volfile gets a
    volume that refuses to initialise (its log line names the translator, the reason
    and the fix), so no client runs the volume without it.  Returns 1 only when even
    that could not be written (the shell wrapper then appends its own refusal)."""
    path = Path(path)
    vol_dir = path.parent
    info = vol_dir / "info"
    if vol_dir.parent.name != "vols" or not info.is_file():
        return 0  # e.g. /tmp/gglustershd-XXXXXX: not a per-volume volfile
    volume = vol_dir.name
    kind = volfile_kind(path, volume)
    if kind == "brick":
        return _check_brick(path, volume, info, xlatordir)
    if kind != "client":
        return 0
    text = path.read_text()
    options = read_info(info)
    configured = sorted(k[len(KEY_PREFIX):] for k, v in options.items()
                        if k.startswith(KEY_PREFIX) and v != DETACHED)
    if not configured and f"{volume}-glupy-" not in text:
        return 0
    xdir = Path(xlatordir) if xlatordir else volfile.xlatordir()
    type_ = glupy_type_for(xdir)
    try:
        specs = [s for s in specs_from_options(options) if "client" in s.sides]
        if specs and not _bridge_so().exists():
            raise BridgeMissing(f"the glupy bridge {_bridge_so()} is missing")
        graph = volfile.parse(text)
        new = apply(graph, volume, kind, specs, type_)
        out = f"{MARK} {len(specs)} glupy translator(s) from {info}\n" + new.render()
        names = [s.xlator_name(volume) for s in specs]
        message = f"{path.name}: client volfile, inserted {', '.join(names) or 'nothing'}"
    except Exception as exc:
        reason = _safe_text(
            f"glupy volfile filter on {platform.node()}: cannot insert "
            f"{', '.join(configured) or 'the attached translators'} (volume {volume}) into "
            f"{path.name}: {type(exc).__name__}: {exc}. Fix: {_fix_hint(volume, exc)}; then "
            f"any gluster volume set {volume} ... rewrites the volfile. Until then this graph "
            "refuses to load (fail closed).")
        _log(vol_dir, f"{path.name}: ERROR {reason}\n" + traceback.format_exc())
        try:
            graph = strip(volfile.parse(text), volume)
            out = f"{MARK} FAILED: {reason}\n" + refuse(graph, volume, reason, type_).render()
        except Exception:
            _log(vol_dir, f"{path.name}: ERROR cannot even write the refusal:\n" + traceback.format_exc())
            return 1
        message = f"{path.name}: client volfile made unloadable (fail closed)"
    if out != text:
        _write(path, out)
        _log(vol_dir, message)
    return 0


def _check_brick(path: Path, volume: str, info: Path,
                 xlatordir: str | os.PathLike[str] | None) -> int:
    """Brick graphs get their translators from glusterd (user.xlator.glupy-NAME).  A
    brick-side spec without that insertion (attached by a glupy from before it used
    user.xlator) would silently run without its translator: refuse the graph instead."""
    try:
        specs = [s for s in specs_from_options(read_info(info)) if "brick" in s.sides]
    except ConfigError:
        specs = []  # reported by the client volfiles' filter run
    if not specs:
        return 0
    text = path.read_text()
    try:
        graph = volfile.parse(text)
    except volfile.VolfileError:
        return 0
    if not (graph.of_type("protocol/server") and graph.of_type("storage/posix")):
        return 0
    missing = [s for s in specs if s.xlator_name(volume) not in graph]
    if not missing:
        return 0
    names = ", ".join(s.name for s in missing)
    reason = _safe_text(
        f"glupy: the brick-side translator(s) {names} of volume {volume} are configured but glusterd "
        f"did not insert them (no user.xlator.glupy-NAME option: attached by an older glupy). Fix: "
        f"glupy detach {volume} NAME, then glupy attach it again. Until then this brick refuses to "
        "start (fail closed).")
    posix = graph.of_type("storage/posix")[0]
    xdir = Path(xlatordir) if xlatordir else volfile.xlatordir()
    insert(graph, posix, Volume(name=f"{volume}-{FAILED_NAME}", type=glupy_type_for(xdir),
                                options={"module": REFUSE_MODULE, "reason": reason}))
    _write(path, f"{MARK} FAILED: {reason}\n" + graph.render())
    _log(path.parent, f"{path.name}: ERROR {reason}")
    return 0


def _bridge_so() -> Path:
    return volfile.bridge_so_path()


# --------------------------------------------------------------------------- install


def script_text() -> str:
    root = Path(__file__).resolve().parents[2]
    python = sys.executable
    return f"""#!/bin/sh
{MARK} inserts Python translators attached with `glupy attach` (user.glupy.xl.* options)
# into the client volfiles glusterd writes. Installed by glupy; remove with
#   glupy uninstall
vol="$1"
info="${{vol%/*}}/info"
[ -f "$info" ] || exit 0
grep -qs '^user\\.glupy\\.xl\\.[^=]*={{' "$info" || grep -qs -- '-glupy-' "$vol" || exit 0
# -S -E: no site, no environment (glusterd's); glupy/__init__ (the translator API) is
# not needed here, so the package is entered as a bare namespace.
{python} -S -E -c 'import sys, types
pkg = types.ModuleType("glupy"); pkg.__path__ = [sys.argv[1] + "/glupy"]; sys.modules["glupy"] = pkg
from glupy.deploy.filter import run_filter
sys.exit(run_filter(sys.argv[2], sys.argv[3]))' {root} "$vol" "${{0%/*}}/../xlator" && exit 0
# Python could not run the filter (glupy moved or removed?): fail closed, the volfile
# gets a top volume that cannot load, so no client runs this volume without its translators.
case "${{vol##*/}}" in *fuse.vol) ;; *) exit 0 ;; esac
top=$(sed -n 's/^volume \\([^ ]*\\).*/\\1/p' "$vol" | tail -n 1)
printf '\\nvolume %s\\n    type %s\\n    option reason "%s"\\n    subvolumes %s\\nend-volume\\n' \\
    {FAILED_NAME} {FAILED_TYPE} \\
    "the glupy volfile filter $0 could not run {python}: install glupy again on this peer (glupy install)" \\
    "$top" >> "$vol"
echo "$(date '+%Y-%m-%d %H:%M:%S') [$$] ${{vol##*/}}: ERROR the filter could not run {python};" \\
    "volfile made unloadable (fail closed)" >> "${{vol%/*}}/{LOG_NAME}"
exit 0
"""


def is_ours(path: Path) -> bool:
    try:
        return MARK in path.read_text(errors="replace")[:200]
    except OSError:
        return False


def install(path: Path | None = None) -> tuple[Path, bool]:
    """Install (or refresh) the filter; returns (path, changed)."""
    path = path or filter_path()
    text = script_text()
    if path.exists() and not is_ours(path):
        raise FileExistsError(f"{path} exists and is not glupy's filter")
    if path.exists() and path.read_text() == text and os.access(path, os.X_OK):
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".glupy-filter.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)
    return path, True


def uninstall(path: Path | None = None) -> bool:
    path = path or filter_path()
    if not path.exists():
        return False
    if not is_ours(path):
        raise FileExistsError(f"{path} is not glupy's filter")
    path.unlink()
    return True


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["install"]:
        p, changed = install()
        print(f"{'installed' if changed else 'already installed'}: {p}")
        return 0
    if argv == ["uninstall"]:
        print(f"removed {filter_path()}" if uninstall() else f"not installed ({filter_path()})")
        return 0
    if argv == ["status"]:
        p = filter_path()
        print(f"{p}: {'installed' if is_ours(p) else 'absent' if not p.exists() else 'not glupy'}")
        return 0
    if len(argv) == 1 and not re.match(r"^-", argv[0]):
        return run_filter(argv[0])
    print("usage: python -m glupy.deploy.filter install|uninstall|status|VOLFILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
