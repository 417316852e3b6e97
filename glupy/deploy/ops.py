"""attach / detach / set / status: the logic behind the CLI commands.

Where each side's translator comes from:

* brick side: glusterd's own custom translators (``user.xlator.glupy-NAME=POSITION`` and
  ``user.xlator.glupy-NAME.KEY=VALUE``, glusterd-volgen.c ``check_and_add_user_xl``):
  glusterd writes ``type user/glupy-NAME`` into every brick volfile on every peer, and
  ``<xlatordir>/user/glupy-NAME.so`` links to the bridge.  A peer without that link (or
  without glupy) cannot start the brick: nothing runs without the translator.
* client side: the volfile filter (:mod:`glupy.deploy.filter`), which fails closed.

What GlusterFS does with a changed volfile (10.3, checked on a 3-peer pool):

* FUSE clients (and gfapi clients) are told by glusterd to fetch the new volfile; a
  changed topology makes them build the new graph and switch to it LIVE; same topology
  with other options: the translators' ``reconfigure`` runs.
* Brick processes reconfigure live when only options change, but cannot switch to a new
  topology: a brick picks up an attached (or detached) translator only when it restarts.
  ``restart_bricks`` does that through glusterd (``reset-brick start`` + ``volume start
  force``), as many bricks at a time as the volume type allows.
* glusterd cannot remove a ``user.xlator.*`` option (``volume reset`` refuses ``user.*``
  keys): detach turns the brick-side translator into :class:`glupy.deploy.refuse.Inert`.
* shd, rebalance and gfproxy volfiles are never changed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from glupy.deploy import filter as gfilter
from glupy.deploy.config import (
    DETACHED,
    GEN_KEY,
    INERT_MODULE,
    SENTINEL_OPTIONS,
    USER_XL_PREFIX,
    AttachSpec,
    ConfigError,
    specs_from_options,
)
from glupy.deploy.gluster import Gluster, GlusterError, VolumeInfo
from glupy.local import daemon, volfile
from glupy.runtime import security
from glupy.runtime.security import REDACTED

Say = Callable[[str], None]


class DeployError(RuntimeError):
    """One clear message for the user; nothing was changed unless it says so."""


# --------------------------------------------------------------------------- checks

# Runs in the interpreter the bridge embeds: glupy.runtime.loader finds the class the
# same way the bridge will, then the options are parsed as at init.
_CHECK = r"""
import json, sys
spec, options, path = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
try:
    from glupy.runtime import security
    from glupy.runtime.loader import LoadError, load_class
    security.set_mode(options.get(security.UNTRUSTED_OPTION, security.REFUSE))
    cls = load_class(spec, python_path=path)
    known = cls.options()
    for key, value in options.items():
        if key in ("log-level", security.UNTRUSTED_OPTION):
            continue
        if key not in known:
            raise KeyError(f"unknown option {key!r} for {cls.__name__} "
                           f"(known: {', '.join(sorted(known)) or 'none'})")
        try:
            known[key].parse(value)
        except Exception as e:
            raise ValueError(str(e) if known[key].secret else f"option {key}={value!r}: {e}") from None
    out = {"ok": True, "class": f"{cls.__module__}:{cls.__name__}", "fops": sorted(cls.defined_fops()),
           "secret": sorted(k for k, o in known.items() if o.secret),
           "defaults": {k: o.default_text for k, o in known.items()}}
except BaseException as e:
    # an import failure is named by its cause (ModuleNotFoundError, SyntaxError ...)
    cause = e.__cause__ if isinstance(e, LoadError) and e.__cause__ is not None else e
    out = {"ok": False, "error": f"{type(cause).__name__}: {e}"}
print(json.dumps(out))
"""


def check_translator(spec: AttachSpec, python: str | None = None) -> dict[str, object]:
    """Import the translator in a separate interpreter (the one the bridge embeds)."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        res = subprocess.run(
            [python or sys.executable, "-c", _CHECK, spec.module, json.dumps(spec.options),
             json.dumps(spec.python_path)],
            capture_output=True, text=True, timeout=60, env=env,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DeployError(f"cannot run {python or sys.executable}: {exc}") from None
    try:
        out = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise DeployError(f"checking {spec.module} failed: {res.stderr.strip()[-2000:]}") from None
    if not out.get("ok"):
        raise DeployError(f"translator {spec.module} cannot be used: {out.get('error')}")
    return dict(out)


def _require_root(what: str) -> None:
    daemon.require_root(what, DeployError, "glusterd only takes volume changes from root")


def _volume(g: Gluster, name: str, *, started: bool = True) -> VolumeInfo:
    try:
        g.ping()
        vol = g.volume(name)
    except GlusterError as exc:
        raise DeployError(str(exc)) from None
    if started and not vol.started:
        raise DeployError(f"volume {name} is not started ({vol.status}): gluster volume start {name}")
    return vol


def _specs(vol: VolumeInfo) -> list[AttachSpec]:
    try:
        return specs_from_options(vol.options)
    except ConfigError as exc:
        raise DeployError(f"volume {vol.name}: {exc}") from None


# --------------------------------------------------------------------------- regeneration


def _regenerate(g: Gluster, vol: VolumeInfo) -> None:
    """glusterd writes volfiles before it stores the new options: a second option change
    makes it write them again, now from the stored configuration (on every peer)."""
    # (user.* options cannot be reset in 10.3: the generation counter stays)
    current = vol.options.get(GEN_KEY, "0")
    gen = int(current) if current.isdigit() else 0
    g.set(vol.name, GEN_KEY, str(gen + 1))


def client_fail_closed(vol: VolumeInfo) -> bool:
    """Whether the volume has the client-side sentinel (config.SENTINEL_OPTIONS)."""
    return all(vol.options.get(k) == v for k, v in SENTINEL_OPTIONS.items())


def _sentinel_off(g: Gluster, volume: str) -> None:
    """The sentinel's options back to their defaults (debug.error-gen is already off)."""
    for key in SENTINEL_OPTIONS:
        g.reset(volume, key)


def local_volfiles(g: Gluster, volume: str) -> list[Path]:
    wd = g.getwd()
    if wd is None:
        return []
    vdir = wd / "vols" / volume
    return sorted(p for p in vdir.glob("*.vol") if gfilter.volfile_kind(p, volume))


def _volfiles_with(g: Gluster, volume: str, xlator: str) -> dict[str, bool]:
    out = {}
    for p in local_volfiles(g, volume):
        try:
            out[p.name] = xlator in volfile.parse(p.read_text())
        except (OSError, volfile.VolfileError):
            out[p.name] = False
    return out


def _filter_errors(g: Gluster, volume: str, n: int = 6) -> str:
    wd = g.getwd()
    if wd is None:
        return ""
    log = wd / "vols" / volume / gfilter.LOG_NAME
    try:
        lines = [ln for ln in log.read_text().splitlines() if "ERROR" in ln]
    except OSError:
        return ""
    return "\n".join(lines[-n:])


# --------------------------------------------------------------------------- bricks


def restart_waves(vol: VolumeInfo) -> list[list[str]]:
    """The bricks to restart together, in order, so that the volume stays available:
    replicate: one brick of each replica set; disperse: up to ``redundancy`` bricks of
    each disperse set; distribute: one brick at a time (its files are offline meanwhile)."""
    sets = vol.replica_sets()
    if vol.kind == "distribute":
        return [[b.name] for b in vol.bricks]
    per_set = max(vol.redundancy, 1) if vol.kind == "disperse" else 1
    width = max(len(s) for s in sets)
    waves = []
    for start in range(0, width, per_set):
        waves.append([b.name for s in sets for b in s[start:start + per_set]])
    return waves


def restart_bricks(g: Gluster, vol: VolumeInfo, say: Say, heal_timeout: float = 600) -> None:
    """Restart every brick of ``vol`` through glusterd, wave by wave (restart_waves),
    waiting for self-heal between waves on replicated and dispersed volumes."""
    waves = restart_waves(vol)
    if vol.kind == "distribute" and len(vol.bricks) > 1:
        say(f"{vol.name} is a pure distribute volume: while each brick restarts (a few seconds) "
            "the files on it are unavailable; bricks restart one at a time")
    for n, bricks in enumerate(waves, 1):
        say(f"restarting brick(s) {', '.join(bricks)} ({n}/{len(waves)})")
        for b in bricks:
            g.run("volume", "reset-brick", vol.name, b, "start")
        # a brick whose graph cannot load (a peer without glupy) fails the start
        g.run("volume", "start", vol.name, "force", check=False)
        try:
            g.wait_bricks_online(vol.name, bricks)
        except GlusterError:
            down = _offline(g, vol.name, bricks)
            hosts = sorted({b.rsplit(":", 1)[0] for b in down})
            raise DeployError(
                f"brick(s) {', '.join(down)} did not start: the peer(s) {', '.join(hosts)} cannot "
                "load the brick graph (glupy missing there? run `glupy install` on "
                f"{', '.join(hosts)}, then `glupy restart-bricks {vol.name}`); "
                "stopped the rolling restart") from None
        if vol.kind != "distribute" and n < len(waves):
            _wait_healed(g, vol.name, heal_timeout, say)


def _offline(g: Gluster, volume: str, bricks: list[str]) -> list[str]:
    status = g.brick_status(volume)
    return [b for b in bricks if status.get(b, {}).get("status") != "1"]


def _wait_healed(g: Gluster, volume: str, timeout: float, say: Say, every: float = 10) -> None:
    deadline = time.monotonic() + timeout
    last_said = 0.0
    while True:
        pending = g.heal_pending(volume)
        if pending == 0:
            return
        now = time.monotonic()
        if now > deadline:
            raise DeployError(
                f"self-heal of {volume} did not finish within {timeout:.0f}s "
                f"({'unknown' if pending is None else pending} entries pending): stopped the rolling "
                f"restart; run `gluster volume heal {volume} info`, then restart the remaining "
                "bricks (or attach/detach again with a longer --heal-timeout)")
        if now - last_said >= every:
            left = deadline - now
            say(f"  waiting for self-heal: {'?' if pending is None else pending} entries pending "
                f"({left:.0f}s left)")
            last_said = now
        time.sleep(0.5)


# --------------------------------------------------------------------------- the truth from every brick


def trusted_client_volfile(g: Gluster, volume: str) -> str:
    wd = g.getwd()
    path = (wd or Path("/var/lib/glusterd")) / "vols" / volume / f"trusted-{volume}.tcp-fuse.vol"
    try:
        return path.read_text()
    except OSError as exc:
        raise DeployError(f"cannot read {path} (run glupy on a peer of the pool): {exc.strerror}") from None


def probe_bricks(g: Gluster, vol: VolumeInfo, bricks: list[str] | None = None,
                 timeout: float = 15) -> dict[str, dict[str, object]]:
    """brick -> what its process answers to glupy.status (see glupy.deploy.probe)."""
    bricks = bricks if bricks is not None else [b.name for b in vol.bricks]
    request = {"volfile": trusted_client_volfile(g, vol.name), "bricks": bricks, "timeout": timeout}
    try:
        return dict(_run_probe(g, request, 30 + timeout * len(bricks)))  # type: ignore[call-overload]
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return {b: {"error": f"probe failed: {exc}"} for b in bricks}


def _run_probe(g: Gluster, request: dict[str, object], timeout: float) -> object:
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    res = subprocess.run([*g._prefix(), sys.executable, "-m", "glupy.deploy.probe"],
                         input=json.dumps(request), capture_output=True, text=True, env=env,
                         timeout=timeout)
    return json.loads(res.stdout)


def scan_volume(g: Gluster, vol: VolumeInfo) -> dict[str, object]:
    """The first encrypted and the first plain non-empty file of ``vol`` (glupy.deploy.safety)."""
    from glupy.deploy.safety import SCAN_LIMIT

    graph = gfilter.strip(volfile.parse(trusted_client_volfile(g, vol.name)), vol.name)
    graph = volfile.Graph([v for v in graph if gfilter.FAILED_NAME not in v.name])
    try:
        return dict(_run_probe(g, {"scan": graph.render(), "limit": SCAN_LIMIT}, 600))  # type: ignore[call-overload]
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return {"error": f"scan failed: {exc}"}


def brick_state(answer: dict[str, object], xlator: str, module: str) -> dict[str, object]:
    """One brick's state for one translator, from its probe answer."""
    if "error" in answer:
        return {"state": "unreachable", "error": answer["error"]}
    proc = answer.get("glupy")
    if not isinstance(proc, dict):
        return {"state": "not loaded (no glupy translator in this brick process)"}
    for t in proc.get("translators", []):
        if t.get("name") == xlator:
            state = "loaded" if t.get("module") == module else f"runs {t.get('module')}"
            return {"state": state, "pid": proc.get("pid"), "host": proc.get("host"),
                    "python": proc.get("python"), "glupy": proc.get("glupy"), **t}
    return {"state": "not loaded", "pid": proc.get("pid"), "host": proc.get("host")}


def verify_bricks(g: Gluster, vol: VolumeInfo, spec: AttachSpec, module: str, say: Say) -> None:
    """Every brick runs ``module`` as the translator of ``spec``, or DeployError naming
    the bricks and their peers."""
    xl = spec.xlator_name(vol.name)
    answers = probe_bricks(g, vol)
    bad = {}
    for b in vol.bricks:
        st = brick_state(answers.get(b.name, {"error": "no answer"}), xl, module)
        if st["state"] != "loaded":
            bad[b.name] = st
    if bad:
        hosts = sorted({b.rsplit(":", 1)[0] for b in bad})
        lines = "; ".join(f"{b}: {st['state']}{' (' + str(st['error']) + ')' if 'error' in st else ''}"
                          for b, st in bad.items())
        raise DeployError(f"{xl} is not running {module} on every brick: {lines}. "
                          f"Check glupy on peer(s) {', '.join(hosts)} (glupy install there)")
    say(f"verified: all {len(vol.bricks)} bricks run {xl} ({module})")


def client_volfile_states(g: Gluster, vol: VolumeInfo, xlator: str) -> dict[str, str]:
    """peer -> 'ok', 'missing', 'refused: ...' or 'unreachable: ...' for the client volfile
    each peer hands out (so: whether that peer's filter inserted ``xlator``)."""
    try:
        hosts = sorted(set(g.peers()) | {b.host for b in vol.bricks} - {"localhost"})
    except GlusterError:
        hosts = sorted({b.host for b in vol.bricks})
    out = {}
    for host in hosts:
        try:
            text = g.getspec(host, vol.name)
        except GlusterError as exc:
            out[host] = f"unreachable: {exc}"
            continue
        m = re.search(r"^# glupy-filter: FAILED: (.*)$", text, re.M)
        if m or gfilter.FAILED_NAME in text:
            out[host] = f"refused (fail closed): {m.group(1) if m else 'the filter could not run'}"
        elif re.search(rf"^volume {re.escape(xlator)}$", text, re.M):
            out[host] = "ok"
        elif re.search(rf"^volume {re.escape(vol.name)}-error-gen$", text, re.M):
            out[host] = ("missing, fails closed: every fop of its clients fails (debug/error-gen; "
                         "no glupy volfile filter on this peer?)")
        else:
            out[host] = "missing (no glupy volfile filter on this peer?)"
    return out


def verify_clients(g: Gluster, vol: VolumeInfo, spec: AttachSpec, say: Say) -> None:
    xl = spec.xlator_name(vol.name)
    states = client_volfile_states(g, vol, xl)
    bad = {h: s for h, s in states.items() if s != "ok"}
    if bad:
        raise DeployError(f"the client volfile of {vol.name} lacks {xl} on peer(s) "
                          + "; ".join(f"{h}: {s}" for h, s in bad.items())
                          + ": install glupy and its filter there (glupy install)")
    say(f"verified: the client volfile of every peer ({', '.join(states)}) has {xl}")


def ensure_user_link(spec: AttachSpec) -> Path:
    """``<xlatordir>/user/glupy-NAME.so`` -> the bridge (this host)."""
    link = volfile.xlatordir() / "user" / f"{spec.user_xlator}.so"
    target = volfile.bridge_so_path().resolve()
    if link.is_symlink() and Path(os.path.realpath(link)) == target:
        return link
    if link.exists() and not link.is_symlink():
        raise DeployError(f"{link} exists and is not a link to the glupy bridge")
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target)
    return link


# --------------------------------------------------------------------------- commands


# client-side caches that stay coherent only through upcalls (glupy.library docs)
UPCALL_CACHES = ("glupy.library.negative_lookup", "glupy.library.stat_cache")
STALE_WARN_S = 5.0  # a longer timeout with no upcalls gets a warning


def _volume_option(g: Gluster, volume: str, key: str) -> str | None:
    res = g.run("volume", "get", volume, key, check=False)
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == key:
            return parts[1]
    return None


def cache_warnings(g: Gluster, volume: str, spec: AttachSpec) -> list[str]:
    """What to set so that a client-side cache of the library sees other clients'
    changes (upcalls from the bricks); empty when nothing needs saying."""
    if spec.module.split(":")[0] not in UPCALL_CACHES or "client" not in spec.sides:
        return []
    try:
        timeout = float(spec.options.get("timeout", "60"))
    except ValueError:
        return []
    if timeout <= 0:
        return []
    enabled = _volume_option(g, volume, "features.cache-invalidation")
    if enabled not in ("on", "true", "yes", "enable", "1"):
        if timeout <= STALE_WARN_S:
            return []
        return [f"warning: features.cache-invalidation is {enabled or 'unknown'} on {volume}: the bricks "
                f"send no upcalls, so a change made by another client can stay invisible here for up "
                f"to timeout={timeout:g}s.  Set `gluster volume set {volume} features.cache-invalidation "
                f"on` and `... features.cache-invalidation-timeout {max(int(timeout), 60)}`, or use "
                f"timeout <= {STALE_WARN_S:g}"]
    window = _volume_option(g, volume, "features.cache-invalidation-timeout")
    try:
        if window is not None and float(window) < timeout:
            return [f"warning: features.cache-invalidation-timeout is {window}s on {volume}, shorter "
                    f"than timeout={timeout:g}s: the bricks stop telling this client about an inode "
                    f"it has not used for {window}s, while the cache still trusts it.  Set `gluster "
                    f"volume set {volume} features.cache-invalidation-timeout {int(timeout)}`"]
    except ValueError:
        pass
    return []


@dataclass
class AttachResult:
    spec: AttachSpec
    volfiles: dict[str, bool] = field(default_factory=dict)
    restarted: bool = False


def _stale_brick_options(vol: VolumeInfo, spec: AttachSpec) -> dict[str, str]:
    """``user.xlator.glupy-NAME.*`` options an earlier attach of NAME left (glusterd cannot
    reset them) that this attach does not set again."""
    prefix = f"{USER_XL_PREFIX}{spec.user_xlator}."
    new = spec.brick_options()
    return {k: v for k, v in vol.options.items() if k.startswith(prefix) and k not in new}


def _reset_stale(vol: VolumeInfo, spec: AttachSpec, known: dict[str, str | None]) -> dict[str, str]:
    """Values putting stale options back to the new translator's defaults, or DeployError."""
    out = {}
    for key in _stale_brick_options(vol, spec):
        opt = key.rsplit(".", 1)[-1]
        default = known.get(opt)
        if default is None:
            raise DeployError(
                f"{vol.name} still has {key} from an earlier attach of {spec.name} (glusterd cannot "
                f"remove user.xlator options) and {spec.module} has no default for {opt!r}: give "
                f"-o {opt}=VALUE, or attach under another --name")
        out[key] = default
    return out


def attach(g: Gluster, volume: str, spec: AttachSpec, *, restart: bool = True,
           python: str | None = None, say: Say = print, force: bool = False,
           heal_timeout: float = 600) -> AttachResult:
    _require_root("glupy attach")
    try:
        spec.validate()
    except ConfigError as exc:
        raise DeployError(str(exc)) from None
    vol = _volume(g, volume)
    specs = _specs(vol)
    if any(s.name == spec.name for s in specs):
        raise DeployError(f"{spec.name} is already attached to {volume} "
                          f"(glupy detach {volume} {spec.name} first)")
    if not volfile.bridge_so_path().exists():
        raise DeployError(f"the glupy bridge is not built ({volfile.bridge_so_path()}): "
                          "run `glupy install`")
    info = check_translator(spec, python)
    fops = info.get("fops")
    names = ", ".join(str(f) for f in fops) if isinstance(fops, list) else ""
    say(f"{spec.module}: {info['class']} imports (fops in Python: {names or 'none'})")
    secret = info.get("secret", [])
    spec.secret = [str(k) for k in secret] if isinstance(secret, list) else []
    literal = [k for k in spec.secret if k in spec.options
               and not security.is_secret_file_ref(spec.options[k])]
    if literal:
        say(f"warning: secret option(s) {', '.join(literal)} given as a value: glusterd keeps it "
            f"in its store on every peer (gluster volume info shows it) and GlusterFS prints "
            f"it into every log that shows the graph; use -o KEY=@/path/to/file (a root-only "
            f"file present on every peer) instead")
    from glupy.deploy import safety

    safety.check_attach(g, vol, spec, info, force=force, say=say)
    brick = "brick" in spec.sides
    defaults = info.get("defaults")
    stale = _reset_stale(vol, spec, defaults if isinstance(defaults, dict) else {}) if brick else {}
    if "client" in spec.sides:
        try:
            path, changed = gfilter.install()
        except OSError as exc:
            raise DeployError(f"cannot install the volfile filter: {exc}") from None
        if changed:
            say(f"installed the volfile filter {path} (every peer of the pool needs it: "
                "`glupy install` there)")
    if brick:
        link = ensure_user_link(spec)
        say(f"bricks: {link} -> the bridge (every peer needs it: `glupy install` there "
            "creates the links of every attached translator)")
    spec.seq = max((s.seq for s in specs), default=0) + 1
    xl = spec.xlator_name(volume)
    # the client side first (the filter inserts it, every peer's volfile is checked), and
    # only then, in one transaction, the full spec and glusterd's own brick-side
    # insertion (position key last): a peer without the filter is found while the
    # volume is still as it was, and no volfile ever has a brick-side spec without
    # glusterd's insertion (the filter refuses such brick graphs)
    client_only = dataclasses.replace(spec, side="client")
    have: dict[str, bool] = {}
    # the first client-side translator also turns the sentinel on: from then on a peer
    # without the filter hands out client graphs that fail every fop
    other_clients = any("client" in s.sides for s in specs)
    try:
        if "client" in spec.sides:
            g.set_many(volume, {spec.key: client_only.to_value(), **SENTINEL_OPTIONS})
            _regenerate(g, vol)
            verify_clients(g, g.volume(volume), spec, say)
        if brick:
            g.set_many(volume, {spec.key: spec.to_value(), **stale, **spec.brick_options()})
            _regenerate(g, g.volume(volume))
        have = _volfiles_with(g, volume, xl)
        missing = [n for n in have if not have[n]
                   and gfilter.volfile_kind(Path(n), volume) in spec.sides]
        if missing or not have:
            why = _filter_errors(g, volume)
            raise DeployError(
                f"{xl} is missing from {', '.join(missing) or 'the volfiles'} on this peer"
                + (f":\n{why}" if why else ""))
    except (DeployError, GlusterError) as exc:
        say(f"rolling back: removing {spec.key}")
        try:
            undo = {spec.key: DETACHED}
            if brick and f"{USER_XL_PREFIX}{spec.user_xlator}" in g.volume(volume).options:
                undo[f"{USER_XL_PREFIX}{spec.user_xlator}.module"] = INERT_MODULE
            sentinel = "client" in spec.sides and not other_clients
            if sentinel:  # in the same transaction: no graph has the sentinel without the spec
                undo["debug.error-gen"] = "off"
            g.set_many(volume, undo)
            _regenerate(g, g.volume(volume))
            if sentinel:
                _sentinel_off(g, volume)
        except GlusterError as exc2:
            say(f"rollback failed: {exc2}")
        raise DeployError(str(exc)) from None
    result = AttachResult(spec, have)
    for warning in cache_warnings(g, volume, spec):
        say(warning)
    say(f"attached {xl} to {volume} ({spec.side} side, position {spec.position}); "
        f"volfiles regenerated on every peer")
    if "client" in spec.sides:
        say("clients: glusterd pushed the new volfile; mounted clients switch graphs live "
            "(no remount)")
    if brick:
        if restart:
            say("bricks: a brick process cannot switch graphs live; restarting the bricks "
                f"({vol.kind} volume: {_wave_rule(vol)})")
            restart_bricks(g, vol, say, heal_timeout)
            result.restarted = True
            verify_bricks(g, vol, spec, spec.module, say)
        else:
            say(f"bricks: NOT restarted: they keep the old graph until restarted "
                f"(gluster volume stop/start {volume}); `glupy status {volume}` shows which run it")
    return result


def _wave_rule(vol: VolumeInfo) -> str:
    if vol.kind == "replicate":
        return "one brick of each replica set at a time"
    if vol.kind == "disperse":
        return f"at most {max(vol.redundancy, 1)} brick(s) of each disperse set at a time"
    return "one brick at a time"


def detach(g: Gluster, volume: str, name: str, *, restart: bool = True, say: Say = print,
           force: bool = False, heal_timeout: float = 600) -> AttachSpec:
    _require_root("glupy detach")
    vol = _volume(g, volume, started=False)
    specs = _specs(vol)
    spec = next((s for s in specs if s.name == name), None)
    if spec is None:
        names = ", ".join(s.name for s in specs) or "none"
        raise DeployError(f"no glupy translator {name!r} attached to {volume} (attached: {names})")
    from glupy.deploy import safety

    safety.check_detach(g, vol, spec, force=force, say=say)
    brick = "brick" in spec.sides
    change = {spec.key: DETACHED}
    if brick:
        change[f"{USER_XL_PREFIX}{spec.user_xlator}.module"] = INERT_MODULE
    # the last client-side translator: the sentinel goes in the same transaction (else the
    # filter, with nothing to insert, would leave it in every client graph)
    sentinel = "client" in spec.sides and not any(
        "client" in s.sides for s in specs if s.name != name)
    if sentinel:
        change["debug.error-gen"] = "off"
    g.set_many(volume, change)
    _regenerate(g, vol)
    if sentinel:
        _sentinel_off(g, volume)
    xl = spec.xlator_name(volume)
    still = [n for n, has in _volfiles_with(g, volume, xl).items()
             if has and gfilter.volfile_kind(Path(n), volume) == "client"]
    if still:
        raise DeployError(f"{xl} is still in {', '.join(still)} (is the filter installed?)")
    say(f"detached {xl} from {volume}; volfiles regenerated on every peer")
    if "client" in spec.sides:
        say("clients: switch to the new graph live (no remount)")
    if brick:
        say(f"bricks: glusterd cannot remove user.xlator options: {xl} stays in the brick graphs "
            f"as {INERT_MODULE} (no fop in Python); keep user/{spec.user_xlator}.so on every peer")
        if vol.started and restart:
            say(f"bricks: restarting the bricks ({vol.kind} volume: {_wave_rule(vol)})")
            restart_bricks(g, vol, say, heal_timeout)
            verify_bricks(g, vol, spec, INERT_MODULE, say)
        elif vol.started:
            say("bricks: NOT restarted: they keep running the translator until restarted")
    return spec


def restart(g: Gluster, volume: str, *, say: Say = print, heal_timeout: float = 600) -> None:
    """Start the bricks that are down, restart every brick (rolling, as attach does) and
    verify that each runs every attached brick-side translator: finishes a rollout that
    stopped (e.g. after `glupy install` on a peer that lacked glupy)."""
    _require_root("glupy restart-bricks")
    vol = _volume(g, volume)
    specs = [s for s in _specs(vol) if "brick" in s.sides]
    down = _offline(g, volume, [b.name for b in vol.bricks])
    if down:
        say(f"starting brick(s) {', '.join(down)}")
        g.run("volume", "start", volume, "force", check=False)
        try:
            g.wait_bricks_online(volume, down)
        except GlusterError as exc:
            raise DeployError(f"{exc}: fix those peers first (glupy install there)") from None
        _wait_healed(g, volume, heal_timeout, say)
    say(f"restarting the bricks ({vol.kind} volume: {_wave_rule(vol)})")
    restart_bricks(g, vol, say, heal_timeout)
    for spec in specs:
        verify_bricks(g, vol, spec, spec.module, say)


def set_options(g: Gluster, volume: str, name: str, changes: dict[str, str], *,
                python: str | None = None, say: Say = print) -> AttachSpec:
    """Change options of an attached translator live: glusterd pushes the new volfiles and
    clients and bricks reconfigure (the translator's ``reconfigure`` runs) without a
    restart.  The new option set is checked first (import + parse); nothing changes
    when it is refused."""
    _require_root("glupy set")
    vol = _volume(g, volume, started=False)
    spec = next((s for s in _specs(vol) if s.name == name), None)
    if spec is None:
        raise DeployError(f"no glupy translator {name!r} attached to {volume}")
    new = dataclasses.replace(spec, options={**spec.options, **changes})
    try:
        new.validate()
    except ConfigError as exc:
        raise DeployError(str(exc)) from None
    check_translator(new, python)
    update = {new.key: new.to_value()}
    if "brick" in new.sides:
        prefix = f"{USER_XL_PREFIX}{new.user_xlator}."
        update.update({prefix + k: v for k, v in changes.items()})
    g.set_many(volume, update)
    _regenerate(g, g.volume(volume))
    shown = shown_options(new)
    say(f"{new.xlator_name(volume)}: set {', '.join(f'{k}={shown[k]}' for k in changes)}; "
        "glusterd pushed the new volfiles: clients and bricks reconfigure live")
    return new


# --------------------------------------------------------------------------- status




def _local_mounts(volume: str, bricks: list[str] | None = None) -> list[str]:
    """FUSE mounts of ``volume`` on this host; with ``bricks`` ('host:path'), only those
    whose graph talks to one of them (another pool's volume can have the same name)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype, source = right.split()[:2]
            if fstype == "fuse.glusterfs" and re.search(rf":/?{re.escape(volume)}$", source):
                mnt = left.split()[4].replace("\\040", " ")
                if bricks is None or _mount_brick(mnt, volume) in bricks:
                    out.append(mnt)
    return out


def _mount_brick(mountpoint: str, volume: str) -> str | None:
    """'host:path' of the mount's first protocol/client (from its .meta options)."""
    opts = Path(mountpoint) / ".meta" / "graphs" / "active" / f"{volume}-client-0" / "options"
    try:
        host = (opts / "remote-host").read_text().strip()
        path = (opts / "remote-subvolume").read_text().strip()
    except OSError:
        return None
    return f"{host}:{path}"


def shown_options(spec: AttachSpec) -> dict[str, str]:
    """The options of ``spec`` as glupy status shows them: secret values (as the
    translator declared them when attached) redacted, @/path references kept."""
    return {k: v if k not in spec.secret or security.is_secret_file_ref(v) else REDACTED
            for k, v in spec.options.items()}


def status(g: Gluster, volume: str | None = None, *, probe: bool = True) -> list[dict[str, object]]:
    """Per volume: the attached translators, what every brick process runs (asked over
    the data path, on every host), the client volfile each peer hands out, and the FUSE
    mounts of this host."""
    try:
        g.ping()
        vols = g.volumes(volume)
    except GlusterError as exc:
        raise DeployError(str(exc)) from None
    out: list[dict[str, object]] = []
    for vol in vols:
        specs = _specs(vol)
        if volume is None and not specs:
            continue
        answers = probe_bricks(g, vol) if probe and vol.started and any(
            "brick" in s.sides for s in specs) else {}
        mounts = _local_mounts(vol.name, [b.name for b in vol.bricks])
        entry: dict[str, object] = {"volume": vol.name, "status": vol.status, "type": vol.kind,
                                    "filter": str(gfilter.filter_path()) if gfilter.is_ours(
                                        gfilter.filter_path()) else None,
                                    "filter_errors": _filter_errors(g, vol.name).splitlines(),
                                    "client_fail_closed": client_fail_closed(vol),
                                    "translators": []}
        for spec in specs:
            xl = spec.xlator_name(vol.name)
            t: dict[str, object] = {"name": spec.name, "xlator": xl, "module": spec.module,
                                    "side": spec.side, "position": spec.position,
                                    "options": shown_options(spec),
                                    "volfiles": _volfiles_with(g, vol.name, xl),
                                    "bricks": {}, "clients": {}, "peers": {}}
            if "brick" in spec.sides:
                for b in vol.bricks:
                    t["bricks"][b.name] = (brick_state(answers.get(b.name, {"error": "no answer"}),  # type: ignore[index]
                                                       xl, spec.module)
                                           if vol.started else {"state": "volume stopped"})
            if "client" in spec.sides:
                t["peers"] = client_volfile_states(g, vol, xl) if probe else {}
                for m in mounts:
                    active = Path(m) / ".meta" / "graphs" / "active"
                    try:
                        state = "loaded" if (active / xl).is_dir() else "not loaded"
                    except OSError as exc:
                        state = f"unknown ({exc.strerror})"
                    t["clients"][m] = {"state": state}  # type: ignore[index]
            entry["translators"].append(t)  # type: ignore[attr-defined]
        out.append(entry)
    return out


def reload(g: Gluster, volume: str, name: str | None = None) -> list[dict[str, object]]:
    """Hot-reload glupy translators of VOLUME in every process on this host that runs
    them (bricks and FUSE mounts), over each process's glupy control socket."""
    from glupy.runtime import control

    vol = _volume(g, volume)
    specs = [s for s in _specs(vol) if name in (None, s.name)]
    if not specs:
        raise DeployError(f"no glupy translator {name!r} attached to {volume}" if name
                          else f"no glupy translator attached to {volume}")
    pids: dict[int, str] = {}
    for b, st in g.brick_status(vol.name).items():
        pid = int(st.get("pid", "-1") or -1)
        if pid > 0 and any(a.startswith(f"{vol.name}.") for a in daemon.cmdline(pid)):
            pids[pid] = f"brick {b}"
    for m in _local_mounts(vol.name, [b.name for b in vol.bricks]):
        pid = daemon.find_pid(m)  # the glusterfs client serving it
        if pid:
            pids[pid] = f"mount {m}"
    results: list[dict[str, object]] = []
    for pid, what in sorted(pids.items()):
        for spec in specs:
            xl = spec.xlator_name(vol.name)
            try:
                answer = control.request(pid, {"cmd": "reload", "name": xl})
            except (ConnectionError, OSError) as exc:
                results.append({"process": what, "pid": pid, "xlator": xl, "ok": False, "error": str(exc)})
                continue
            if not answer.get("ok") and "no glupy translator named" in str(answer.get("error", "")):
                continue  # this process does not run that side of the translator
            for r in answer.get("results", []):
                results.append({"process": what, "pid": pid, "xlator": xl, **r})
    if not results:
        raise DeployError(f"no process on this host runs the glupy translators of {volume}")
    return results
