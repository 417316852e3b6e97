"""Talking to glusterd through the ``gluster`` CLI (``--mode=script --xml``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

GLFSHEAL = "/usr/lib/x86_64-linux-gnu/glusterfs/glfsheal"
SOCK_ENV = "GLUPY_GLUSTERD_SOCK"
NETNS_ENV = "GLUPY_NETNS"  # tests: run gluster/glfsheal inside this network namespace


class GlusterError(RuntimeError):
    """A gluster command failed; ``str()`` is the message for the user."""


@dataclass
class Brick:
    host: str
    path: str
    uuid: str = ""

    @property
    def name(self) -> str:
        return f"{self.host}:{self.path}"


@dataclass
class VolumeInfo:
    name: str
    status: str
    type: str
    replica: int
    bricks: list[Brick] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    disperse: int = 0  # bricks per disperse set (0: not dispersed)
    redundancy: int = 0  # bricks of a disperse set that may be down at once

    @property
    def started(self) -> bool:
        return self.status == "Started"

    def replica_sets(self) -> list[list[Brick]]:
        """The bricks in their replica (or disperse) sets; one set per brick on a pure
        distribute volume."""
        n = self.disperse if self.disperse > 0 else max(self.replica, 1)
        return [self.bricks[i:i + n] for i in range(0, len(self.bricks), n)]

    @property
    def kind(self) -> str:
        """'replicate', 'disperse' or 'distribute' (what a brick restart costs)."""
        if self.disperse > 0:
            return "disperse"
        return "replicate" if self.replica > 1 else "distribute"


class Gluster:
    def __init__(self, sock: str | None = None, netns: str | None = None, timeout: float = 120):
        self.sock = sock or os.environ.get(SOCK_ENV) or None
        self.netns = netns or os.environ.get(NETNS_ENV) or None
        self.timeout = timeout

    def _prefix(self) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{self.netns}"] if self.netns else []

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        exe = shutil.which("gluster")
        if exe is None:
            raise GlusterError("the gluster CLI is not installed (apt-get install glusterfs-server)")
        cmd = [*self._prefix(), exe, "--mode=script"]
        if self.sock:
            cmd.append(f"--glusterd-sock={self.sock}")
        try:
            res = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise GlusterError(f"gluster {' '.join(args)}: no answer in {self.timeout:.0f}s") from None
        if check and res.returncode != 0:
            raise GlusterError(self._message(res, args))
        return res

    def _message(self, res: subprocess.CompletedProcess[str], args: tuple[str, ...]) -> str:
        text = (res.stderr.strip() or res.stdout.strip() or f"exit status {res.returncode}")
        if "Connection failed" in text or "daemon is operational" in text:
            where = self.sock or "/var/run/glusterd.socket"
            return f"glusterd is not reachable (socket {where}): is glusterd running?"
        return f"gluster {' '.join(args)}: {text}"

    def xml(self, *args: str) -> ET.Element:
        res = self.run(*args, "--xml", check=False)
        try:
            root = ET.fromstring(res.stdout)
        except ET.ParseError:
            raise GlusterError(self._message(res, args)) from None
        if root.findtext("opRet") not in (None, "0"):
            err = root.findtext("opErrstr") or f"opRet {root.findtext('opRet')}"
            raise GlusterError(err)
        return root

    def ping(self) -> None:
        self.run("pool", "list")

    def getwd(self) -> Path | None:
        res = self.run("system::", "getwd", check=False)
        out = res.stdout.strip()
        return Path(out) if res.returncode == 0 and out.startswith("/") else None

    def volumes(self, name: str | None = None) -> list[VolumeInfo]:
        args = ["volume", "info"] + ([name] if name else [])
        try:
            root = self.xml(*args)
        except GlusterError as exc:
            if name and ("does not exist" in str(exc) or "not found" in str(exc).lower()):
                raise GlusterError(f"volume {name} does not exist") from None
            raise
        out = []
        for vol in root.iter("volume"):
            if vol.find("name") is None:
                continue
            info = VolumeInfo(
                name=vol.findtext("name") or "",
                status=vol.findtext("statusStr") or "",
                type=vol.findtext("typeStr") or "",
                replica=int(vol.findtext("replicaCount") or "1"),
                disperse=int(vol.findtext("disperseCount") or "0"),
                redundancy=int(vol.findtext("redundancyCount") or "0"),
            )
            for b in vol.iter("brick"):
                host, _, path = (b.findtext("name") or "").rpartition(":")
                info.bricks.append(Brick(host, path, b.findtext("hostUuid") or ""))
            for opt in vol.iter("option"):
                info.options[opt.findtext("name") or ""] = opt.findtext("value") or ""
            out.append(info)
        if name and not out:
            raise GlusterError(f"volume {name} does not exist")
        return out

    def volume(self, name: str) -> VolumeInfo:
        return self.volumes(name)[0]

    def brick_status(self, volume: str) -> dict[str, dict[str, str]]:
        """brick name -> {status, pid, port} (bricks only)."""
        try:
            root = self.xml("volume", "status", volume)
        except GlusterError:
            return {}
        out = {}
        for node in root.iter("node"):
            path = node.findtext("path") or ""
            if path.startswith("/"):
                out[f"{node.findtext('hostname')}:{path}"] = {
                    "status": node.findtext("status") or "0",
                    "pid": node.findtext("pid") or "-1",
                    "port": node.findtext("port") or "",
                }
        return out

    def set(self, volume: str, key: str, value: str) -> None:
        self.run("volume", "set", volume, key, value)

    def set_many(self, volume: str, options: dict[str, str]) -> None:
        """Several options in ONE glusterd transaction (one volfile regeneration)."""
        if options:
            self.run("volume", "set", volume, *[w for kv in options.items() for w in kv])

    def peers(self) -> list[str]:
        """Host names of every peer of the pool, this one included."""
        root = self.xml("pool", "list")
        hosts = []
        for peer in root.iter("peer"):
            host = peer.findtext("hostname") or ""
            if host == "localhost":
                # `pool list` names this peer localhost: its brick host name is what counts
                host = self._local_hostname() or host
            hosts.append(host)
        return hosts

    def _local_hostname(self) -> str | None:
        res = self.run("system::", "uuid", "get", check=False)
        uuid = res.stdout.strip().rsplit(" ", 1)[-1] if res.returncode == 0 else ""
        for vol in self.volumes():
            for b in vol.bricks:
                if b.uuid == uuid:
                    return b.host
        return None

    def getspec(self, host: str, volfile_id: str) -> str:
        """The volfile a client fetching ``volfile_id`` from ``host`` gets (that peer's
        glusterd and filter wrote it): what that peer's clients run."""
        exe = shutil.which("gluster")
        if exe is None:
            raise GlusterError("the gluster CLI is not installed (apt-get install glusterfs-server)")
        cmd = [*self._prefix(), exe, "--mode=script", f"--remote-host={host}", "system::",
               "getspec", volfile_id]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise GlusterError(f"peer {host}: no volfile in {self.timeout:.0f}s") from None
        if res.returncode != 0 or "volume " not in res.stdout:
            raise GlusterError(f"peer {host}: cannot fetch volfile {volfile_id}: "
                               f"{(res.stderr or res.stdout).strip() or res.returncode}")
        return res.stdout

    def reset(self, volume: str, key: str) -> None:
        self.run("volume", "reset", volume, key)

    def heal_pending(self, volume: str) -> int | None:
        """Entries pending heal (None: not a replicated volume / unknown)."""
        cmd = [*self._prefix(), GLFSHEAL, volume, "--xml"]
        if self.sock:
            cmd += ["glusterd-sock", self.sock]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            root = ET.fromstring(res.stdout)
        except (OSError, subprocess.SubprocessError, ET.ParseError):
            return None
        total = 0
        for brick in root.iter("brick"):
            if (brick.findtext("status") or "") != "Connected":
                return None
            total += int(brick.findtext("numberOfEntries") or "0")
        return total

    def wait_bricks_online(self, volume: str, bricks: list[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            status = self.brick_status(volume)
            down = [b for b in bricks if status.get(b, {}).get("status") != "1"]
            if not down:
                return
            if time.monotonic() > deadline:
                raise GlusterError(f"bricks did not come back within {timeout:.0f}s: {', '.join(down)}")
            time.sleep(0.3)

    def wait_healed(self, volume: str, timeout: float = 120) -> int | None:
        deadline = time.monotonic() + timeout
        while True:
            pending = self.heal_pending(volume)
            if pending == 0:
                return 0
            if time.monotonic() > deadline:
                return pending
            time.sleep(0.5)
