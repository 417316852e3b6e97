"""Ask brick processes what glupy translators they run, over the data path.

For each brick, a graph of one ``protocol/client`` (taken from the volume's trusted
client volfile, so it carries the brick's address and credentials) is loaded with
libgfapi in THIS process and ``getxattr("/", glupy.status)`` is sent down it.  The
brick's glupy translators answer it themselves (:mod:`glupy.runtime.procstatus`), so the answer
is what that brick process, on whichever host, really runs.  ENODATA: the brick runs
no glupy translator.

Run as ``python -m glupy.deploy.probe`` with a JSON request on stdin (the deploy code
does so, inside the pool's network namespace when there is one) so that a gfapi
problem cannot take the CLI with it.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from glupy.local import volfile
from glupy.runtime.procstatus import STATUS_XATTR


def brick_clients(client_volfile: str) -> dict[str, volfile.Volume]:
    """'host:path' -> the protocol/client volume of that brick."""
    graph = volfile.parse(client_volfile)
    out = {}
    for v in graph.of_type("protocol/client"):
        host, path = v.options.get("remote-host", ""), v.options.get("remote-subvolume", "")
        if host and path:
            out[f"{host}:{path}"] = v
    return out


def ask(client: volfile.Volume, workdir: Path, timeout: float = 15.0) -> dict[str, Any]:
    """The brick's answer: {"glupy": process status} or {"glupy": None} or {"error": ...}."""
    from glupy.local.gfapi import Client, GfapiError

    vf = workdir / f"{client.name}.vol"
    vf.write_text(volfile.Graph([client]).render())
    try:
        # never glfs_fini'd: it takes ~11 s per graph (10.3); main() ends the process instead
        c = Client.from_volfile(vf, volname=client.name, log_file=workdir / f"{client.name}.log",
                                log_level="WARNING", connect_timeout=timeout)
    except GfapiError as exc:
        return {"error": str(exc).splitlines()[0]}
    try:
        raw = c.getxattr("/", STATUS_XATTR)
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.EOPNOTSUPP):
            return {"glupy": None}
        return {"error": f"getxattr {STATUS_XATTR}: {exc.strerror}"}
    try:
        return {"glupy": json.loads(raw)}
    except ValueError:
        return {"error": f"{STATUS_XATTR}: not JSON: {raw[:80]!r}"}


def scan(volume_graph: str, workdir: Path, limit: int) -> dict[str, Any]:
    """Walk the volume (a client graph without glupy translators) for the first
    non-empty regular file that is encrypted and the first that is not."""
    from glupy.deploy.safety import CRYPT_MAGIC, is_encrypted
    from glupy.local.gfapi import Client

    vf = workdir / "scan.vol"
    vf.write_text(volume_graph)
    out: dict[str, Any] = {"encrypted": None, "plain": None, "entries": 0}
    c = Client.from_volfile(vf, log_file=workdir / "scan.log", log_level="WARNING")  # not fini'd: see ask()
    todo = ["/"]
    while todo and out["entries"] < limit:
        d = todo.pop()
        for name, _dtype, _ino in c.scandir(d):
            if name in (".", "..") or (d == "/" and name == ".trashcan"):
                continue
            path = d.rstrip("/") + "/" + name
            out["entries"] += 1
            st = c.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                todo.append(path)
            elif stat.S_ISREG(st.st_mode) and st.st_size > 0:
                with c.open(path) as f:
                    head = f.read(len(CRYPT_MAGIC))
                key = "encrypted" if is_encrypted(head, c.listxattr(path)) else "plain"
                out[key] = out[key] or path
            if out["encrypted"] and out["plain"]:
                return out
    return out


def main() -> int:
    request = json.load(sys.stdin)
    if "scan" in request:
        with tempfile.TemporaryDirectory(prefix="glupy-scan-") as tmp:
            try:
                result = scan(request["scan"], Path(tmp), int(request.get("limit", 100000)))
            except Exception as exc:
                result = {"error": f"{type(exc).__name__}: {exc}"}
        json.dump(result, sys.stdout)
        return 0
    clients = brick_clients(request["volfile"])
    timeout = float(request.get("timeout", 15))
    out: dict[str, Any] = {}

    def one(brick: str, tmp: Path) -> None:
        if brick not in clients:
            out[brick] = {"error": "not in the client volfile"}
            return
        try:
            out[brick] = ask(clients[brick], tmp, timeout)
        except Exception as exc:
            out[brick] = {"error": f"{type(exc).__name__}: {exc}"}

    # one glfs_t per brick, all at once: each spends most of its time waiting
    with tempfile.TemporaryDirectory(prefix="glupy-probe-") as tmp, \
            ThreadPoolExecutor(max_workers=min(16, max(1, len(request["bricks"])))) as pool:
        list(pool.map(lambda b: one(b, Path(tmp)), request["bricks"]))
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # the gfapi graphs are left to the kernel (glfs_fini would wait ~11 s per graph)
    os._exit(code)
