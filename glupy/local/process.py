"""Run single-process GlusterFS graphs: ``glusterfs -f VOLFILE MOUNTPOINT`` and back.

Each mount keeps a small state directory (default ``/run/glupy/<slug>/``) holding the
volfile, the glusterfs log, the pid file and ``state.json``, so that another process
(``glupy umount``, ``glupy status``) can find the mount again. ``unmount`` removes
``state.json`` and the pid file but keeps the log and volfile for post-mortems; the next
mount of the same mountpoint overwrites them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from glupy.local import daemon
from glupy.local.daemon import pid_alive, relevant_log_lines, tail
from glupy.local.volfile import Graph
from glupy.runtime.security import private_dir, write_private

__all__ = [
    "DEFAULT_STATE_DIR",
    "GlupyProcessError",
    "GlusterfsNotFoundError",
    "Mount",
    "MountError",
    "MountState",
    "MountpointBusyError",
    "NotMountedError",
    "canonical_mountpoint",
    "default_state_dir",
    "find_glusterfs",
    "foreground_process",
    "list_mounts",
    "mount_fstype",
    "mount_graph",
    "mounted",
    "pid_alive",
    "read_state",
    "relevant_log_lines",
    "state_dir_for",
    "tail",
    "unmount",
]

DEFAULT_STATE_DIR = Path("/run/glupy")
FUSE_TYPE = "fuse.glusterfs"



# --------------------------------------------------------------------------- errors


class GlupyProcessError(RuntimeError):
    """Something went wrong starting or stopping glusterfs; carries log lines."""

    def __init__(
        self, message: str, log_lines: Sequence[str] = (), log_path: Path | None = None
    ) -> None:
        self.message = message
        self.log_lines = list(log_lines)
        self.log_path = log_path
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = self.message
        if self.log_lines:
            text += "\n" + "\n".join(self.log_lines)
        if self.log_path is not None:
            text += f"\n(full log: {self.log_path})"
        return text


class MountError(GlupyProcessError):
    """glusterfs did not come up (exited, translator init failed, timed out)."""


class GlusterfsNotFoundError(MountError):
    """No ``glusterfs`` executable on PATH."""


class MountpointBusyError(MountError):
    """The mountpoint is already a mount point."""


class NotMountedError(GlupyProcessError):
    """``unmount`` found neither a mount nor a state file."""


# --------------------------------------------------------------------------- state


@dataclass
class MountState:
    mountpoint: str
    state_dir: str
    volfile_path: str
    log_path: str
    pid_file: str
    pid: int | None = None
    source_dir: str | None = None
    foreground: bool = False
    debug: bool = False
    started: float = 0.0
    command: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    @property
    def state_file(self) -> Path:
        return Path(self.state_dir) / "state.json"

    def save(self) -> None:
        write_private(self.state_file, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MountState:
        data = json.loads(Path(path).read_text())
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def alive(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)


def default_state_dir() -> Path:
    env = os.environ.get("GLUPY_STATE_DIR")
    return Path(env) if env else DEFAULT_STATE_DIR


def canonical_mountpoint(mountpoint: str | os.PathLike[str]) -> str:
    """Absolute path with the parent's symlinks resolved, without touching the leaf.

    (A dead FUSE mount answers ENOTCONN to stat, so the leaf itself is never resolved.)
    """
    path = os.path.abspath(os.fspath(mountpoint))
    if path == "/":
        return path
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def state_dir_for(mountpoint: str | os.PathLike[str], base: Path | None = None) -> Path:
    mp = canonical_mountpoint(mountpoint)
    digest = hashlib.sha1(mp.encode()).hexdigest()[:8]
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", mp.strip("/").replace("/", "-"))
    readable = readable[-60:].lstrip("-_.") or "root"
    return (base or default_state_dir()) / f"{readable}-{digest}"


def read_state(mountpoint: str | os.PathLike[str], base: Path | None = None) -> MountState | None:
    path = state_dir_for(mountpoint, base) / "state.json"
    try:
        return MountState.load(path)
    except (OSError, ValueError, TypeError):
        return None


def list_mounts(base: Path | None = None) -> list[MountState]:
    """Every mount with a state file under ``base`` (alive or not: check ``.alive()``)."""
    root = base or default_state_dir()
    states = []
    for path in sorted(root.glob("*/state.json")):
        with contextlib.suppress(OSError, ValueError, TypeError):
            states.append(MountState.load(path))
    return states


# --------------------------------------------------------------------------- system


def find_glusterfs() -> str:
    exe = shutil.which("glusterfs")
    if exe is None:
        raise GlusterfsNotFoundError(
            "glusterfs is not installed (no `glusterfs` on PATH); "
            "install glusterfs-client (scripts/setup.sh does)"
        )
    return exe


def _unescape_mountinfo(field_: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_)


def _mounts() -> Iterator[tuple[str, str]]:
    """(mount point, fstype) for every mount, from /proc/self/mountinfo."""
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            parts = left.split()
            rparts = right.split()
            if len(parts) >= 5 and rparts:
                yield _unescape_mountinfo(parts[4]), rparts[0]


def mount_fstype(mountpoint: str | os.PathLike[str]) -> str | None:
    """The filesystem type mounted at ``mountpoint`` (the top-most), or None."""
    mp = canonical_mountpoint(mountpoint)
    found = None
    for point, fstype in _mounts():
        if point == mp:
            found = fstype
    return found


def _is_our_glusterfs(pid: int, state: MountState) -> bool:
    args = daemon.cmdline(pid)
    return (
        bool(args)
        and "glusterfs" in os.path.basename(args[0])
        and (state.volfile_path in args or state.mountpoint in args)
    )


def _run_umount(mountpoint: str, lazy: bool = False) -> bool:
    cmd = ["umount", "-l", mountpoint] if lazy else ["umount", mountpoint]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return res.returncode == 0


# --------------------------------------------------------------------------- mount


class _StatProbe:
    """os.stat in a daemon thread: a FUSE mount whose graph is not up may block."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.result: os.stat_result | OSError | None = None
        self.thread: threading.Thread | None = None

    def poll(self, wait: float) -> os.stat_result | None:
        if self.thread is None:
            self.result = None
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        self.thread.join(wait)
        if self.thread.is_alive():
            return None
        self.thread = None
        return self.result if isinstance(self.result, os.stat_result) else None

    def _run(self) -> None:
        try:
            self.result = os.stat(self.path)
        except OSError as exc:
            self.result = exc


def _glupy_volume_names(graph: Graph) -> list[str]:
    return [v.name for v in graph if "module" in v.options]


def mount_graph(
    graph: Graph,
    mountpoint: str | os.PathLike[str],
    *,
    source_dir: str | os.PathLike[str] | None = None,
    foreground: bool = False,
    debug: bool = False,
    state_dir: Path | None = None,
    timeout: float = 30.0,
    extra_args: Sequence[str] = (),
    log_file: str | os.PathLike[str] | None = None,
) -> MountState:
    """Start ``glusterfs`` on ``graph`` at ``mountpoint`` and wait until it answers.

    The log goes to ``log_file`` (appended, e.g. under /var/log/glusterfs for a mount
    that must keep its history) or to a fresh ``glusterfs.log`` in the state directory.

    Daemon mode (default) returns once the mount works. ``foreground=True`` runs
    ``glusterfs -N`` as a child in its own session; the caller waits for it (its pid is
    in the returned state). On failure raises MountError with the relevant log lines,
    and leaves no process and no mount behind.
    """
    exe = find_glusterfs()
    mp = canonical_mountpoint(mountpoint)
    if not os.path.isdir(mp):
        raise MountError(f"mountpoint {mp} is not a directory")
    fstype = mount_fstype(mp)
    if fstype is not None:
        raise MountpointBusyError(f"{mp} is already mounted ({fstype})")

    # root-only: the volfile holds every option of every translator
    sdir = private_dir(state_dir_for(mp, state_dir))
    state = MountState(
        mountpoint=mp,
        state_dir=str(sdir),
        volfile_path=str(sdir / "graph.vol"),
        log_path=os.path.abspath(log_file) if log_file is not None else str(sdir / "glusterfs.log"),
        pid_file=str(sdir / "glusterfs.pid"),
        source_dir=os.path.abspath(os.fspath(source_dir)) if source_dir is not None else None,
        foreground=foreground,
        debug=debug,
        volumes=_glupy_volume_names(graph),
    )
    write_private(state.volfile_path, graph.render())
    if log_file is not None:
        Path(state.log_path).parent.mkdir(parents=True, exist_ok=True)
    state.started = time.time()
    started = daemon.start(exe, state.volfile_path, state.log_path, state.pid_file,
                           sdir / "glusterfs.out", debug=debug, foreground=foreground,
                           args=[*extra_args, mp], keep_log=log_file is not None)
    state.command = started.command
    if foreground:
        state.pid = started.proc.pid
    state.save()

    parent_dev = os.stat(os.path.dirname(mp) or "/").st_dev
    probe = _StatProbe(mp)

    def ready(pid: int | None) -> bool:
        if mount_fstype(mp) != FUSE_TYPE:
            return False
        st = probe.poll(0.2)
        return st is not None and st.st_dev != parent_dev

    try:
        state.pid = daemon.wait_ready(
            started, pid=state.pid, pid_file=state.pid_file, foreground=foreground, ready=ready,
            fail=lambda why: _failure(state, why), timeout=timeout,
            not_ready=f"not ready after {timeout:g} s")
    except BaseException:  # MountError, or KeyboardInterrupt while waiting
        _cleanup_failed(started, state)
        raise
    if state.pid is None:
        state.pid = daemon.read_pid(state.pid_file) or daemon.find_pid(state.volfile_path)
    state.save()
    return state


def foreground_process(mountpoint: str | os.PathLike[str]) -> subprocess.Popen[bytes] | None:
    """The Popen of a ``foreground=True`` mount started by this process, if any."""
    return daemon.foreground(canonical_mountpoint(mountpoint))


def _failure(state: MountState, why: str) -> MountError:
    lines = daemon.failure_lines(state.log_path, Path(state.state_dir, "glusterfs.out"),
                                 state.volumes)
    return MountError(
        f"glusterfs failed to mount {state.mountpoint}: {why}", lines, Path(state.log_path)
    )


def _cleanup_failed(started: daemon.Started, state: MountState) -> None:
    pid = state.pid or daemon.read_pid(state.pid_file)
    daemon.kill_failed(started, pid if pid is not None and _is_our_glusterfs(pid, state) else None)
    if mount_fstype(state.mountpoint) is not None:
        _run_umount(state.mountpoint, lazy=True)
    with contextlib.suppress(FileNotFoundError):
        state.state_file.unlink()


def unmount(
    mountpoint: str | os.PathLike[str],
    *,
    state_dir: Path | None = None,
    timeout: float = 10.0,
) -> None:
    """Unmount a glusterfs mount and make sure its process is gone.

    ``umount``, falling back to ``umount -l``; then wait up to ``timeout`` for the
    glusterfs process to exit, then SIGTERM, then SIGKILL.
    """
    mp = canonical_mountpoint(mountpoint)
    state = read_state(mp, state_dir)
    fstype = mount_fstype(mp)
    if state is None and fstype is None:
        raise NotMountedError(f"{mp} is not mounted (and glupy has no state for it)")
    if fstype is not None and fstype != FUSE_TYPE and state is None:
        raise NotMountedError(f"{mp} is a {fstype} mount, not a glusterfs one")

    pid: int | None = None
    if state is not None:
        pid = state.pid or daemon.read_pid(state.pid_file)
        if pid is not None and not _is_our_glusterfs(pid, state):
            pid = None
    if pid is None and fstype == FUSE_TYPE:
        pid = daemon.find_pid(mp)

    if fstype == FUSE_TYPE and not _run_umount(mp):
        _run_umount(mp, lazy=True)

    if pid is not None:
        daemon.stop_pid(pid, timeout, terminate=False)  # the unmount makes it exit
        daemon.forget_foreground(pid)
    if mount_fstype(mp) == FUSE_TYPE:  # the process died but left the mount behind
        _run_umount(mp, lazy=True)
    if state is not None:
        for path in (state.state_file, Path(state.pid_file)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


class Mount:
    """A graph mounted at a mountpoint; a context manager that always unmounts.

    >>> with Mount(graph, "/mnt/x") as m:   # doctest: +SKIP
    ...     print(m.state.log_path)
    """

    def __init__(
        self,
        graph: Graph,
        mountpoint: str | os.PathLike[str],
        *,
        source_dir: str | os.PathLike[str] | None = None,
        debug: bool = False,
        state_dir: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.graph = graph
        self.mountpoint = canonical_mountpoint(mountpoint)
        self.source_dir = source_dir
        self.debug = debug
        self.state_dir = state_dir
        self.timeout = timeout
        self.state: MountState | None = None

    def start(self) -> MountState:
        self.state = mount_graph(
            self.graph,
            self.mountpoint,
            source_dir=self.source_dir,
            debug=self.debug,
            state_dir=self.state_dir,
            timeout=self.timeout,
        )
        return self.state

    def stop(self) -> None:
        if self.state is not None:
            with contextlib.suppress(NotMountedError):
                unmount(self.mountpoint, state_dir=self.state_dir)
            self.state = None

    def __enter__(self) -> Mount:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def mounted(
    graph: Graph, mountpoint: str | os.PathLike[str], **kwargs: object
) -> Iterator[MountState]:
    """``with mounted(graph, mp) as state: ...`` — mount, yield the state, unmount."""
    m = Mount(graph, mountpoint, **kwargs)  # type: ignore[arg-type]
    with m:
        assert m.state is not None
        yield m.state
