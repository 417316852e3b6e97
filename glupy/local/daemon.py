"""The life of one GlusterFS process glupy starts itself, shared by mounts
(:mod:`glupy.local.process`, ``glusterfs``) and bricks (:mod:`glupy.local.brick`, ``glusterfsd``):
start it on a volfile with its log and pid file in a state directory, wait until it
is ready, stop it, and keep the ``Popen`` of those running in the foreground.  Also
the host facts both need: a process's command line, whether one is alive, root.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

__all__ = [
    "Started",
    "cmdline",
    "failure_lines",
    "find_pid",
    "foreground",
    "kill_failed",
    "pid_alive",
    "read_pid",
    "relevant_log_lines",
    "require_root",
    "start",
    "stop_pid",
    "tail",
    "wait_exit",
    "wait_ready",
]

LOG_TAIL = 60
# The foreground processes this process started (see Started), by pid.
_FOREGROUND: dict[int, Started] = {}

_RECORD_START = re.compile(r"^\[\d{4}-\d\d-\d\d ")
# Warnings that explain an error further down (a translator .so that fails to dlopen).
_LOAD_WARNINGS = ("xlator_dynload", "DL open failed", "dlopen")
_RECORD_LEVEL = re.compile(r"^\[[^\]]*\] ([A-Z]) \[")


# --------------------------------------------------------------------------- host


def require_root(what: str, error: Callable[[str], Exception] = PermissionError,
                 why: str = "try: sudo glupy ...") -> None:
    """Raise ``error`` unless this process is root."""
    if os.geteuid() != 0:
        raise error(f"{what} must run as root ({why})")


def cmdline(pid: int) -> list[str]:
    """The arguments of process ``pid`` (empty if it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="surrogateescape") for a in raw.split(b"\0") if a]


def find_pid(argument: str) -> int | None:
    """A glusterfs/glusterfsd process with ``argument`` among its arguments."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            args = cmdline(int(entry.name))
            if args and "glusterfs" in os.path.basename(args[0]) and argument in args:
                return int(entry.name)
    return None


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie child is reaped and counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state in ("Z", "X"):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def read_pid(pid_file: str | os.PathLike[str]) -> int | None:
    try:
        text = Path(pid_file).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def wait_exit(pid: int, timeout: float) -> bool:
    """Whether ``pid`` exited within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


def stop_pid(pid: int, timeout: float, *, terminate: bool = True) -> None:
    """Stop ``pid``: SIGTERM (or, ``terminate=False``, first wait for it to exit by
    itself, as after an unmount), wait ``timeout`` s, then SIGTERM/SIGKILL."""
    if terminate:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if wait_exit(pid, timeout):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL)[1 if terminate else 0:]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait_exit(pid, 5.0):
            return


# --------------------------------------------------------------------------- logs


def tail(log_path: str | os.PathLike[str], n: int = LOG_TAIL) -> list[str]:
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n") for line in f.readlines()[-n:]]
    except OSError:
        return []


def _records(lines: Iterable[str]) -> Iterator[list[str]]:
    record: list[str] = []
    for line in lines:
        if _RECORD_START.match(line) and record:
            yield record
            record = []
        record.append(line.rstrip("\n"))
    if record:
        yield record


def relevant_log_lines(
    log_path: str | os.PathLike[str], volumes: Iterable[str] = (), limit: int = 40
) -> list[str]:
    """Log records at error level or above, and every record of the given volumes.

    Also dlopen warnings: why GlusterFS calls a translator type "not valid".

    A record is a ``[date] L [...] N-xlator: msg`` line plus its continuation lines (a
    Python traceback logged by the bridge spans several lines).
    """
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return []
    tags = tuple(f"-{v}:" for v in volumes)
    picked: list[str] = []
    for record in _records(lines):
        head = record[0]
        level = _RECORD_LEVEL.match(head)
        lvl = level.group(1) if level else ""
        if (
            lvl in ("E", "C", "A")
            or (lvl == "W" and any(w in head for w in _LOAD_WARNINGS))
            or (tags and any(t in head for t in tags))
        ):
            picked.extend(record)
    return picked[-limit:]


# --------------------------------------------------------------------------- one process


class Started:
    """A GlusterFS process just started: its command and ``Popen`` (the daemon's
    parent, or in the foreground the process itself)."""

    def __init__(self, command: list[str], proc: subprocess.Popen[bytes], out_path: Path) -> None:
        self.command = command
        self.proc = proc
        self.out_path = out_path


def start(exe: str, volfile: str, log_path: str, pid_file: str, out_path: Path, *,
          debug: bool = False, foreground: bool = False, args: Sequence[str] = (),
          keep_log: bool = False) -> Started:
    """``EXE -f VOLFILE -l LOG --pid-file PID [-L DEBUG] [-N] ARGS``, its stdout and
    stderr in ``out_path``, in its own session; the files of a previous run removed
    (but the log with ``keep_log``: a log that must keep its history is appended to)."""
    for stale in (pid_file, out_path) if keep_log else (log_path, pid_file, out_path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stale)
    command = [exe, "-f", volfile, "-l", log_path, "--pid-file", pid_file]
    if debug:
        command += ["-L", "DEBUG"]
    if foreground:
        command.append("-N")
    command += list(args)
    # root-only, like the state directory's other files (glupy.runtime.security)
    with open(os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
    return Started(command, proc, out_path)


def wait_ready(started: Started, *, pid: int | None, pid_file: str, foreground: bool,
               ready: Callable[[int | None], bool], fail: Callable[[str], Exception],
               timeout: float, not_ready: str) -> int | None:
    """Wait until ``ready(pid)``; returns the process's pid (once known).  Raises
    ``fail(why)`` when it exits first or after ``timeout`` s (why: ``not_ready``).  In
    daemon mode the parent exits 0 and the daemon's pid comes from ``pid_file``."""
    name = os.path.basename(started.command[0])
    deadline = time.monotonic() + timeout
    parent_exited = False
    while True:
        rc = started.proc.poll()
        if rc is not None and (foreground or rc != 0):
            raise fail(f"{name} exited with status {rc}")
        if rc == 0:
            parent_exited = True  # daemon mode: the daemon lives on
        if parent_exited and pid is None:
            pid = read_pid(pid_file)
        if pid is not None and not pid_alive(pid):
            raise fail(f"{name} (pid {pid}) exited")
        if ready(pid):
            if foreground:
                _FOREGROUND[started.proc.pid] = started
            return pid
        if time.monotonic() > deadline:
            raise fail(not_ready)
        time.sleep(0.05)


def failure_lines(log_path: str, out_path: Path, volumes: Iterable[str]) -> list[str]:
    """What explains a failed start: the process's own output, then the relevant log
    records (or the log's tail)."""
    lines = relevant_log_lines(log_path, volumes)
    with contextlib.suppress(OSError):
        extra = [line for line in out_path.read_text(errors="replace").splitlines() if line.strip()]
        lines = extra[-20:] + lines
    return lines or tail(log_path, 20)


def kill_failed(started: Started, pid: int | None) -> None:
    """SIGKILL what a failed start left: the parent, and the daemon ``pid`` (only when
    the caller checked it is ours)."""
    pids = {started.proc.pid} | ({pid} if pid is not None else set())
    for p in pids:
        if pid_alive(p):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        started.proc.wait(5)
    for p in pids:
        wait_exit(p, 5.0)


def foreground(argument: str) -> subprocess.Popen[bytes] | None:
    """The ``Popen`` of a foreground process this process started with ``argument``
    (a mountpoint, a volfile) and has not stopped."""
    return next((s.proc for s in _FOREGROUND.values() if argument in s.command), None)


def forget_foreground(pid: int) -> None:
    """Reap a stopped foreground process and drop it from the registry."""
    started = _FOREGROUND.pop(pid, None)
    if started is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            started.proc.wait(5)
