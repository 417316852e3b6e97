"""A throw-away trusted pool of several glusterd peers on loopback, for tests.

All peers live in one fresh network namespace (127.1.1.1, 127.1.1.2, ... need no set-up
there and the host's port 24007 stays free); each peer has its own working, run and log
directories under ``root`` and its own brick port range.  The FUSE client runs in the
namespace's network only (``nsenter --net``), so its mount is visible on the host.

Only processes whose command line mentions ``root`` are ever killed, by pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

GLFSHEAL = "/usr/lib/x86_64-linux-gnu/glusterfs/glfsheal"
BASE_PORT = 49152
PORTS_PER_PEER = 500


class PoolError(RuntimeError):
    pass


def _run(cmd: list[str], timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise PoolError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stdout}{res.stderr}")
    return res


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pids_mentioning(needle: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid() and needle in cmdline(int(entry)):
            out.append(int(entry))
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def kill_pids(pids: Iterable[int], sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
    pids = [p for p in pids if alive(p)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def wait_for(what: str, pred, timeout: float = 30.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = pred()
        except Exception as exc:  # keep polling; report the last error
            last = exc
            if time.monotonic() > deadline:
                raise PoolError(f"timed out waiting for {what}: {exc!r}") from exc
        else:
            if last:
                return last
            if time.monotonic() > deadline:
                raise PoolError(f"timed out waiting for {what} (last: {last!r})")
        time.sleep(interval)


@dataclass
class Peer:
    index: int
    root: Path
    netns: str

    @property
    def host(self) -> str:
        return f"127.1.1.{self.index}"

    @property
    def dir(self) -> Path:
        return self.root / str(self.index)

    @property
    def wd(self) -> Path:
        return self.dir / "wd"

    @property
    def rundir(self) -> Path:
        return self.dir / "run"

    @property
    def logdir(self) -> Path:
        return self.dir / "log"

    @property
    def sock(self) -> Path:
        return self.rundir / "gd.sock"

    @property
    def pidfile(self) -> Path:
        return self.dir / "glusterd.pid"

    def nsenter(self) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{self.netns}"]

    def start(self) -> None:
        for d in (self.wd, self.rundir, self.logdir):
            d.mkdir(parents=True, exist_ok=True)
        base = BASE_PORT + (self.index - 1) * PORTS_PER_PEER
        opts = {
            "management.working-directory": self.wd,
            "management.transport.socket.bind-address": self.host,
            "management.run-directory": self.rundir,
            "management.glusterd-sockfile": self.sock,
            "management.logging-directory": self.logdir,
            "management.base-port": base,
            "management.max-port": base + PORTS_PER_PEER - 1,
        }
        cmd = [*self.nsenter(), "glusterd"]
        for key, value in opts.items():
            cmd += ["--xlator-option", f"{key}={value}"]
        cmd += [f"--log-file={self.logdir / 'glusterd.log'}", f"--pid-file={self.pidfile}"]
        with contextlib.suppress(FileNotFoundError):
            self.pidfile.unlink()
        _run(cmd, timeout=30)

    def start_replacing(self, replaced: dict[Path, Path]) -> None:
        """Start glusterd (and so its bricks) in a private mount namespace where each
        directory ``target`` of ``replaced`` shows the contents of ``replaced[target]``:
        a peer whose installation differs (e.g. without glupy's user/ links or filter)."""
        for d in (self.wd, self.rundir, self.logdir, *replaced.values()):
            d.mkdir(parents=True, exist_ok=True)
        base = BASE_PORT + (self.index - 1) * PORTS_PER_PEER
        opts = {
            "management.working-directory": self.wd,
            "management.transport.socket.bind-address": self.host,
            "management.run-directory": self.rundir,
            "management.glusterd-sockfile": self.sock,
            "management.logging-directory": self.logdir,
            "management.base-port": base,
            "management.max-port": base + PORTS_PER_PEER - 1,
        }
        args = " ".join(f"--xlator-option {k}={v}" for k, v in opts.items())
        binds = "".join(f"mkdir -p {d} && mount --bind {src} {d} && " for d, src in replaced.items())
        script = (f"{binds}exec nsenter --net=/run/netns/{self.netns} glusterd {args} "
                  f"--log-file={self.logdir / 'glusterd.log'} --pid-file={self.pidfile}")
        with contextlib.suppress(FileNotFoundError):
            self.pidfile.unlink()
        _run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], timeout=30)

    def wait_up(self, timeout: float = 30.0) -> None:
        wait_for(f"glusterd {self.index}", lambda: self.cli("pool", "list", check=False).returncode == 0,
                 timeout)

    def glusterd_pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if alive(pid) and str(self.root) in cmdline(pid) else None

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return _run([*self.nsenter(), "gluster", "--mode=script", f"--glusterd-sock={self.sock}", *args],
                    timeout=timeout, check=check)

    def processes(self) -> list[int]:
        """glusterd, bricks and shd of this peer (by the peer's directory in their command line)."""
        needle = f"{self.dir}/"
        return [p for p in pids_mentioning(str(self.root)) if needle in cmdline(p)
                or (f"{self.host}" in cmdline(p) and "glusterfsd" in cmdline(p))]


@dataclass
class Pool:
    root: Path
    npeers: int = 3
    netns: str = ""
    peers: list[Peer] = field(default_factory=list)
    mounts: list[Path] = field(default_factory=list)
    sockets: set[str] = field(default_factory=set)
    _preexisting: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.netns = self.netns or f"glupy-{os.getpid()}-{self.root.name[-8:]}"
        self.peers = [Peer(i, self.root, self.netns) for i in range(1, self.npeers + 1)]

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        for p in ("/run/gluster/snaps", "/var/log/glusterfs/glfsheal-tv.log"):
            self._preexisting[p] = os.path.exists(p)
        _run(["ip", "netns", "add", self.netns])
        _run(["nsenter", f"--net=/run/netns/{self.netns}", "ip", "link", "set", "lo", "up"])
        for peer in self.peers:
            peer.start()
        for peer in self.peers:
            peer.wait_up()
        first = self.peers[0]
        for peer in self.peers[1:]:
            first.cli("peer", "probe", peer.host)
        wait_for("all peers connected", self._all_connected, 60)

    def _all_connected(self) -> bool:
        for peer in self.peers:
            out = peer.cli("pool", "list", check=False).stdout
            if out.count("Connected") != self.npeers:
                return False
        return True

    @property
    def env(self) -> dict[str, str]:
        """Environment that makes the glupy CLI talk to this pool."""
        return {"GLUPY_GLUSTERD_SOCK": str(self.peers[0].sock), "GLUPY_NETNS": self.netns}

    def brick_path(self, peer: Peer, n: int) -> Path:
        return self.root / "bricks" / str(peer.index) / f"b{n}"

    def create_volume(self, name: str = "tv", replica: int = 2, per_peer: int = 2) -> list[str]:
        bricks = []
        for n in range(1, per_peer + 1):
            for peer in self.peers:
                path = self.brick_path(peer, n)
                path.parent.mkdir(parents=True, exist_ok=True)
                bricks.append(f"{peer.host}:{path}")
        self.peers[0].cli("volume", "create", name, "replica", str(replica), *bricks, "force")
        self.peers[0].cli("volume", "start", name)
        self.wait_bricks_online(name)
        return bricks

    def volume_status(self, name: str) -> list[dict[str, str]]:
        res = self.peers[0].cli("volume", "status", name, "--xml", check=False)
        if res.returncode != 0:
            return []
        out = []
        for node in ET.fromstring(res.stdout).iter("node"):
            out.append({child.tag: (child.text or "") for child in node if len(child) == 0})
        return out

    def brick_processes(self, name: str) -> dict[str, int]:
        """brick 'host:path' -> pid of its glusterfsd (only bricks that are online)."""
        out = {}
        for node in self.volume_status(name):
            if node.get("path", "").startswith("/") and node.get("status") == "1":
                out[f"{node['hostname']}:{node['path']}"] = int(node["pid"])
        return out

    def wait_bricks_online(self, name: str, count: int | None = None, timeout: float = 60) -> dict[str, int]:
        count = count or self.npeers * 2
        procs = wait_for(f"{count} bricks of {name} online",
                         lambda: (b := self.brick_processes(name)) and len(b) >= count and b, timeout)
        self._remember_sockets()
        return procs

    def _remember_sockets(self) -> None:
        for pid in pids_mentioning(str(self.root)):
            m = re.search(r"-S (\S+\.socket)", cmdline(pid))
            if m:
                self.sockets.add(m.group(1))

    def mount(self, volume: str = "tv", host: str | None = None, timeout: float = 30) -> Path:
        mnt = self.root / f"mnt-{volume}-{len(self.mounts)}"
        mnt.mkdir(parents=True, exist_ok=True)
        log = self.root / f"{mnt.name}.log"
        _run(["nsenter", f"--net=/run/netns/{self.netns}", "glusterfs",
              f"--volfile-server={host or self.peers[0].host}", f"--volfile-id={volume}",
              f"--log-file={log}", f"--pid-file={self.root / (mnt.name + '.pid')}", str(mnt)])
        self.mounts.append(mnt)
        self.wait_client_connected(mnt, timeout)
        return mnt

    def unmount(self, mnt: Path) -> None:
        """Unmount one of the pool's mounts (its glusterfs exits): later tests see the
        pool's mounts as they were."""
        if _is_mounted(mnt) and _run(["umount", str(mnt)], check=False).returncode != 0:
            _run(["umount", "-l", str(mnt)], check=False)
        self.mounts.remove(mnt)

    def wait_client_connected(self, mnt: Path, timeout: float = 30) -> None:
        def ready() -> bool:
            active = mnt / ".meta" / "graphs" / "active"
            clients = [d for d in active.iterdir() if re.search(r"-client-\d+$", d.name)]
            return bool(clients) and all(
                "connected = 1" in (d / "private").read_text() for d in clients)
        wait_for(f"client {mnt} connected", ready, timeout)

    def stop(self) -> None:
        errors = []
        for mnt in reversed(self.mounts):
            if _is_mounted(mnt):
                res = _run(["umount", str(mnt)], check=False)
                if res.returncode != 0:
                    _run(["umount", "-l", str(mnt)], check=False)
        self._remember_sockets()
        # glusterds first (so they do not restart bricks), then everything else of ours
        kill_pids([p.glusterd_pid() for p in self.peers if p.glusterd_pid()], signal.SIGTERM)
        kill_pids(pids_mentioning(str(self.root)), signal.SIGTERM)
        kill_pids(pids_mentioning(str(self.root)), signal.SIGKILL)
        left = pids_mentioning(str(self.root))
        if left:
            errors.append(f"processes left: {left}")
        _run(["ip", "netns", "delete", self.netns], check=False)
        for sock in self.sockets:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(sock)
        if not self._preexisting.get("/var/log/glusterfs/glfsheal-tv.log", True):
            with contextlib.suppress(FileNotFoundError):
                os.unlink("/var/log/glusterfs/glfsheal-tv.log")
        if not self._preexisting.get("/run/gluster/snaps", True):
            with contextlib.suppress(OSError):
                os.rmdir("/run/gluster/snaps")
        if errors:
            raise PoolError("; ".join(errors))

    # ------------------------------------------------------------------ faults and heal
    def kill_peer(self, peer: Peer) -> list[int]:
        """kill -9 the peer's glusterd, bricks and shd."""
        pids = [pid for pid in pids_mentioning(str(self.root)) if _belongs_to(pid, peer)]
        self._remember_sockets()
        kill_pids(pids, signal.SIGKILL, timeout=5)
        # gone from /proc, not just dead: glusterd takes a brick whose pidfile names a
        # zombie for "already running" and never starts it again
        deadline = time.monotonic() + 10
        while any(os.path.exists(f"/proc/{pid}") for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        return pids

    def heal_pending(self, volume: str = "tv", peer: Peer | None = None) -> int:
        peer = peer or self.peers[0]
        res = _run([*peer.nsenter(), GLFSHEAL, volume, "--xml", "glusterd-sock", str(peer.sock)],
                   check=False, timeout=60)
        if res.returncode != 0 and not res.stdout.strip().startswith("<"):
            raise PoolError(f"glfsheal failed: {res.stdout}{res.stderr}")
        total = 0
        root = ET.fromstring(res.stdout)
        for brick in root.iter("brick"):
            status = brick.findtext("status") or ""
            if status != "Connected":
                raise PoolError(f"brick {brick.findtext('name')} {status}")
            total += int(brick.findtext("numberOfEntries") or "0")
        return total


def _belongs_to(pid: int, peer: Peer) -> bool:
    cl = cmdline(pid)
    return f"{peer.dir}/" in cl or f"--volfile-id tv.{peer.host}." in cl or (
        f"-s {peer.host} " in cl)


def _is_mounted(path: Path) -> bool:
    target = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def dump(obj: object) -> str:
    return json.dumps(obj, indent=1, default=str)


__all__ = ["GLFSHEAL", "Peer", "Pool", "PoolError", "kill_pids", "pids_mentioning", "wait_for"]
