"""attach / detach / status: the logic behind the CLI commands.

What GlusterFS does with a changed volfile (10.3, checked on a 3-peer pool):

* FUSE clients (and gfapi clients) are told by glusterd to fetch the new volfile; a
  changed topology makes them build the new graph and switch to it LIVE (open files
  migrate to the new graph): nothing to do, no remount.
* Brick processes also fetch it, but a brick cannot switch graphs: the new graph's
  protocol/server fails to bind the brick's port ("Address already in use", "init
  failed") and the brick keeps running the OLD graph.  A brick picks up an attached (or
  detached) translator only when it restarts.  ``restart_bricks`` does that through
  glusterd, so it works for bricks on every peer: ``gluster volume reset-brick VOL
  BRICK start`` stops one brick of each replica set, ``gluster volume start VOL force``
  starts them again with the new volfile, then (replicated volumes) it waits for
  self-heal to reach 0 before the next brick of each set: the volume stays available.
* shd, rebalance and gfproxy volfiles are never changed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from glupy import daemon, security, volfile
from glupy.deploy import filter as gfilter
from glupy.deploy.config import DETACHED, GEN_KEY, AttachSpec, ConfigError, specs_from_options
from glupy.deploy.gluster import Gluster, GlusterError, VolumeInfo
from glupy.security import REDACTED

Say = Callable[[str], None]


class DeployError(RuntimeError):
    """One clear message for the user; nothing was changed unless it says so."""


# --------------------------------------------------------------------------- checks

# Runs in the interpreter the bridge embeds: glupy.loader finds the class the
# same way the bridge will, then the options are parsed as at init.
_CHECK = r"""
import json, sys
spec, options, path = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
try:
    from glupy import security
    from glupy.loader import LoadError, load_class
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
           "secret": sorted(k for k, o in known.items() if o.secret)}
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


def restart_bricks(g: Gluster, vol: VolumeInfo, say: Say, heal_timeout: float = 120) -> None:
    """Restart every brick of ``vol`` through glusterd, one brick per replica set at a time."""
    sets = vol.replica_sets()
    width = max(len(s) for s in sets)
    replicated = vol.replica > 1
    for wave in range(width):
        bricks = [s[wave].name for s in sets if wave < len(s)]
        say(f"restarting brick(s) {', '.join(bricks)}")
        for b in bricks:
            g.run("volume", "reset-brick", vol.name, b, "start")
        g.run("volume", "start", vol.name, "force")
        g.wait_bricks_online(vol.name, bricks)
        if replicated and wave + 1 < width:
            pending = g.wait_healed(vol.name, heal_timeout)
            if pending != 0:
                raise DeployError(
                    f"self-heal of {vol.name} did not finish ({pending} entries pending): "
                    "stopped the rolling restart; run `gluster volume heal "
                    f"{vol.name} info`, then restart the remaining bricks")


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


def attach(g: Gluster, volume: str, spec: AttachSpec, *, restart: bool = True,
           python: str | None = None, say: Say = print) -> AttachResult:
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
    say(f"{spec.module}: {info['class']} imports (fops in Python: {', '.join(info['fops']) or 'none'})")
    secret = info.get("secret", [])
    spec.secret = [str(k) for k in secret] if isinstance(secret, list) else []
    literal = [k for k in spec.secret if k in spec.options
               and not security.is_secret_file_ref(spec.options[k])]
    if literal:
        say(f"warning: secret option(s) {', '.join(literal)} given as a value: glusterd keeps it "
            f"in its store on every peer (gluster volume info shows it) and GlusterFS prints "
            f"it into every log that shows the graph; use -o KEY=@/path/to/file (a root-only "
            f"file present on every peer) instead")
    try:
        path, changed = gfilter.install()
    except OSError as exc:
        raise DeployError(f"cannot install the volfile filter: {exc}") from None
    if changed:
        say(f"installed the volfile filter {path} (every peer of the pool needs it: "
            "`python -m glupy.deploy.filter install` there)")
    spec.seq = max((s.seq for s in specs), default=0) + 1
    xl = spec.xlator_name(volume)
    g.set(volume, spec.key, spec.to_value())
    try:
        _regenerate(g, vol)
        have = _volfiles_with(g, volume, xl)
        wanted = {n: (gfilter.volfile_kind(Path(n), volume) in spec.sides) for n in have}
        missing = [n for n in have if wanted[n] and not have[n]]
        if missing or not have:
            why = _filter_errors(g, volume)
            raise DeployError(
                f"the volfile filter did not insert {xl} into {', '.join(missing) or 'the volfiles'}"
                + (f":\n{why}" if why else ""))
    except (DeployError, GlusterError) as exc:
        say(f"rolling back: removing {spec.key}")
        try:
            g.set(volume, spec.key, DETACHED)
            _regenerate(g, g.volume(volume))
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
    if "brick" in spec.sides:
        if restart:
            say("bricks: a brick process cannot switch graphs live; restarting each brick "
                "(one per replica set at a time)")
            restart_bricks(g, vol, say)
            result.restarted = True
            say("bricks: all restarted with the new volfile")
        else:
            say(f"bricks: NOT restarted: they keep the old graph until restarted "
                f"(gluster volume stop/start {volume}, or glupy detach/attach with restart)")
    return result


def detach(g: Gluster, volume: str, name: str, *, restart: bool = True, say: Say = print) -> AttachSpec:
    _require_root("glupy detach")
    vol = _volume(g, volume, started=False)
    specs = _specs(vol)
    spec = next((s for s in specs if s.name == name), None)
    if spec is None:
        names = ", ".join(s.name for s in specs) or "none"
        raise DeployError(f"no glupy translator {name!r} attached to {volume} (attached: {names})")
    g.set(volume, spec.key, DETACHED)
    _regenerate(g, vol)
    xl = spec.xlator_name(volume)
    still = [n for n, has in _volfiles_with(g, volume, xl).items() if has]
    if still:
        raise DeployError(f"{xl} is still in {', '.join(still)} (is the filter installed?)")
    say(f"detached {xl} from {volume}; volfiles regenerated on every peer")
    if "client" in spec.sides:
        say("clients: switch to the new graph live (no remount)")
    if "brick" in spec.sides and vol.started:
        if restart:
            say("bricks: restarting each brick (one per replica set at a time)")
            restart_bricks(g, vol, say)
            say("bricks: all restarted without the translator")
        else:
            say("bricks: NOT restarted: they keep running the translator until restarted")
    return spec


# --------------------------------------------------------------------------- status


def _cmd_arg(cmdline: list[str], flag: str) -> str | None:
    for i, arg in enumerate(cmdline):
        if arg == flag and i + 1 < len(cmdline):
            return cmdline[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def brick_log_state(log: Path, xlator: str) -> tuple[str, list[str]]:
    """('loaded' | 'not loaded' | 'failed', error lines) for the process's current run."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "unknown (no log)", []
    start = max((i for i, ln in enumerate(lines) if "Started running" in ln), default=0)
    run = lines[start:]
    loaded = any(f"glupy: {xlator} loaded" in ln for ln in run)
    errors = [ln for ln in run if re.search(rf"\] E \[.*\b{re.escape(xlator)}\b", ln)
              or f"glupy: {xlator}:" in ln]
    if loaded:
        return "loaded", errors
    return ("failed" if errors else "not loaded"), errors


def _local_mounts(volume: str) -> list[str]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype, source = right.split()[:2]
            if fstype == "fuse.glusterfs" and re.search(rf":/?{re.escape(volume)}$", source):
                out.append(left.split()[4].replace("\\040", " "))
    return out


def shown_options(spec: AttachSpec) -> dict[str, str]:
    """The options of ``spec`` as glupy status shows them: secret values (as the
    translator declared them when attached) redacted, @/path references kept."""
    return {k: v if k not in spec.secret or security.is_secret_file_ref(v) else REDACTED
            for k, v in spec.options.items()}


def status(g: Gluster, volume: str | None = None) -> list[dict[str, object]]:
    """Per volume: attached translators and whether the local processes run them."""
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
        bstat = g.brick_status(vol.name) if vol.started else {}
        mounts = _local_mounts(vol.name)
        entry: dict[str, object] = {"volume": vol.name, "status": vol.status,
                                    "filter": str(gfilter.filter_path()) if gfilter.is_ours(
                                        gfilter.filter_path()) else None,
                                    "translators": []}
        for spec in specs:
            xl = spec.xlator_name(vol.name)
            t: dict[str, object] = {"name": spec.name, "xlator": xl, "module": spec.module,
                                    "side": spec.side, "position": spec.position,
                                    "options": shown_options(spec),
                                    "volfiles": _volfiles_with(g, vol.name, xl),
                                    "bricks": {}, "clients": {}}
            if "brick" in spec.sides:
                for b in vol.bricks:
                    st = bstat.get(b.name, {})
                    pid = int(st.get("pid", "-1") or -1)
                    cl = daemon.cmdline(pid) if pid > 0 else []
                    if st.get("status") != "1":
                        t["bricks"][b.name] = {"state": "brick offline"}  # type: ignore[index]
                    elif not any(a.startswith(f"{vol.name}.") for a in cl):
                        t["bricks"][b.name] = {"state": "unknown (brick on another host)"}  # type: ignore[index]
                    else:
                        log = _cmd_arg(cl, "-l") or _cmd_arg(cl, "--log-file") or ""
                        state, errors = brick_log_state(Path(log), xl)
                        t["bricks"][b.name] = {"state": state, "pid": pid, "log": log,  # type: ignore[index]
                                               "errors": errors[-5:]}
            if "client" in spec.sides:
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
    from glupy import control

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
    for m in _local_mounts(vol.name):
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
