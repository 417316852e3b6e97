"""A control socket in every glusterfs process that runs glupy translators.

``/run/glupy/ctl/<pid>.sock`` (root only) takes one JSON request per
connection and answers one JSON line:

* ``{"cmd": "status"}`` -> the glupy translators of this process: name, module,
  fops in Python, options, reload count.
* ``{"cmd": "reload", "name": "xl"}`` (name optional: all) -> hot reload; each
  result names the modules re-imported (``modules``) and which of them changed on
  disk (``changed``), and counts the inode/fd contexts migrated or dropped.

A thread owned by glupy serves it; fops never wait for it.  Used by
``glupy reload`` and ``glupy status``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import threading
from pathlib import Path
from typing import Any

CTL_DIR = Path(os.environ.get("GLUPY_CTL_DIR", "/run/glupy/ctl"))

_started = False
_lock = threading.Lock()


def socket_path(pid: int | None = None) -> Path:
    return CTL_DIR / f"{pid or os.getpid()}.sock"


def start(instances: dict[Any, Any]) -> None:
    global _started
    with _lock:
        if _started:
            return
        _started = True
    try:
        CTL_DIR.mkdir(parents=True, exist_ok=True)
        os.chmod(CTL_DIR, stat.S_IRWXU)
        _remove_stale()
        path = socket_path()
        if path.exists():
            path.unlink()
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(str(path))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        srv.listen(4)
    except OSError as e:
        import logging

        logging.getLogger("glupy").warning("glupy: no control socket (%s): reload/status disabled", e)
        return
    threading.Thread(target=_serve, args=(srv, instances), name="glupy-control", daemon=True).start()


def _remove_stale() -> None:
    """Sockets of processes that are gone (a glusterfs process never runs
    Python's exit handlers, so each leaves its socket behind)."""
    for p in CTL_DIR.glob("*.sock"):
        pid = p.stem
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            with contextlib.suppress(OSError):
                p.unlink()


def _serve(srv: socket.socket, instances: dict[Any, Any]) -> None:
    while True:
        conn, _ = srv.accept()
        with conn:
            try:
                answer = handle(json.loads(_read_line(conn) or b"{}"), instances)
            except Exception as e:
                answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
            conn.sendall(json.dumps(answer).encode() + b"\n")


def handle(request: dict[str, Any], instances: dict[Any, Any]) -> dict[str, Any]:
    from glupy.runtime import driver as runtime

    cmd = request.get("cmd")
    if cmd == "status":
        import gc

        from glupy.runtime.procstatus import process_status

        return {"ok": True, **process_status(instances, runtime.lib),
                "gc": gc.get_stats(), "gc_count": gc.get_count()}
    if cmd == "reload":
        name = request.get("name")
        targets = [i for i in instances.values() if name in (None, i.name)]
        if not targets:
            return {"ok": False, "error": f"no glupy translator named {name!r} in pid {os.getpid()}"}
        results = []
        ok = True
        for inst in targets:
            try:
                results.append({"name": inst.name, "ok": True, **runtime.reload_instance(inst)})
            except runtime.InitError as e:
                ok = False
                inst.log.error("glupy: %s: reload failed, the old code keeps running: %s", inst.name, e)
                results.append({"name": inst.name, "ok": False, "error": str(e)})
        return {"ok": ok, "results": results}
    return {"ok": False, "error": f"unknown command {cmd!r}"}


def request(pid: int, payload: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """Client side: send one request to the glusterfs process ``pid``."""
    path = socket_path(pid)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(str(path))
        except OSError as e:
            raise ConnectionError(f"no glupy control socket for pid {pid} ({path}): {e}") from e
        s.sendall(json.dumps(payload).encode() + b"\n")
        answer: dict[str, Any] = json.loads(_read_line(s))
    return answer


def _read_line(sock: socket.socket) -> bytes:
    """One JSON request or answer: bytes up to a newline (or the peer's close)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data
