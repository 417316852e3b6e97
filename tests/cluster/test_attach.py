"""glupy attach/detach on a real 3-peer pool: the translator runs in every brick process
and in the client, and detach removes it everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import VOLUME, glupy_cli
from pool import Pool, wait_for

from glupy.cli import commands as cli
from glupy.local import volfile

pytestmark = pytest.mark.cluster
XL = f"{VOLUME}-glupy-pt"


def volfiles(pool: Pool) -> dict[str, str]:
    """Every client/brick volfile on every peer."""
    out = {}
    for peer in pool.peers:
        for p in sorted((peer.wd / "vols" / VOLUME).glob("*.vol")):
            out[f"{peer.index}/{p.name}"] = p.read_text()
    return out


def brick_counters(pool: Pool, brick_client: volfile.Volume, tmp: Path) -> dict[str, int]:
    """getxattr glupy.counters on a graph that is just one protocol/client to one brick:
    the brick-side PassThrough answers it."""
    vf = tmp / f"{brick_client.name}.vol"
    vf.write_text(volfile.Graph([brick_client]).render())
    mnt = tmp / f"m-{brick_client.name}"
    mnt.mkdir()
    log = tmp / f"{brick_client.name}.log"
    subprocess.run([*pool.peers[0].nsenter(), "glusterfs", "-f", str(vf), f"--log-file={log}",
                    f"--pid-file={tmp / (brick_client.name + '.pid')}", str(mnt)], check=True)
    try:
        raw = wait_for("brick counters", lambda: os.getxattr(mnt, "glupy.counters"), 20)
        return json.loads(raw)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def brick_dirs(pool: Pool) -> dict[str, Path]:
    return {f"{peer.host}:{pool.brick_path(peer, n)}": pool.brick_path(peer, n)
            for n in (1, 2) for peer in pool.peers}


def brick_log(pool: Pool, brick: str) -> str:
    host, path = brick.split(":", 1)
    peer = next(p for p in pool.peers if p.host == host)
    return (peer.logdir / "bricks" / (path.strip("/").replace("/", "-") + ".log")).read_text()


def current_run(log: str) -> str:
    return log[log.rfind("Started running"):]


def test_attach_runs_everywhere_then_detach(pool: Pool, mnt: Path, tmp_path: Path) -> None:
    t0 = time.monotonic()
    (mnt / "before").mkdir()
    for i in range(5):
        (mnt / "before" / f"f{i}").write_text(f"before {i}\n")
    pids_before = pool.brick_processes(VOLUME)

    res = glupy_cli(pool, "attach", VOLUME, "glupy.library.passthrough:PassThrough",
                    "--side", "both", "--name", "pt")
    print(res.stdout)
    assert "switch graphs live" in res.stdout and "restarting" in res.stdout
    t_attach = time.monotonic() - t0

    # every client and brick volfile on every peer has it
    vfs = volfiles(pool)
    for name, text in vfs.items():
        kind = "client" if "tcp-fuse.vol" in name and "gfproxy" not in name else (
            "brick" if name.split("/", 1)[1].startswith(f"{VOLUME}.127.") else None)
        if kind:
            assert f"volume {XL}" in text, name
        else:
            assert XL not in text, name  # shd, rebalance, gfproxy untouched

    # bricks were restarted by glusterd and each one logged the translator's init
    pids_after = pool.wait_bricks_online(VOLUME)
    assert set(pids_after) == set(pids_before)
    assert all(pids_after[b] != pids_before[b] for b in pids_before)
    for brick in pids_after:
        run = current_run(brick_log(pool, brick))
        assert f"glupy: {XL} loaded glupy.library.passthrough:PassThrough" in run, brick

    # the client switched graphs live (same glusterfs process, no remount)
    wait_for("client graph switch", lambda: (mnt / ".meta/graphs/active" / XL).is_dir(), 30)
    pool.wait_client_connected(mnt)

    # I/O through the mount
    (mnt / "after").mkdir()
    files = {f"after/g{i}": os.urandom(3000 + i).hex() for i in range(24)}
    for rel, data in files.items():
        (mnt / rel).write_text(data)
    for rel, data in files.items():
        assert (mnt / rel).read_text() == data
    for i in range(5):
        assert (mnt / "before" / f"f{i}").read_text() == f"before {i}\n"

    client = json.loads(os.getxattr(mnt, "glupy.counters"))
    assert client.get("create", 0) >= len(files) and client.get("writev", 0) >= len(files), client

    # brick side: each brick's own PassThrough counted the creates/writes of its files
    vdir = pool.peers[0].wd / "vols" / VOLUME
    trusted = volfile.parse((vdir / f"trusted-{VOLUME}.tcp-fuse.vol").read_text())
    per_brick = {}
    for client_vol in trusted.of_type("protocol/client"):
        brick = f"{client_vol.options['remote-host']}:{client_vol.options['remote-subvolume']}"
        per_brick[brick] = brick_counters(pool, client_vol, tmp_path)
    dirs = brick_dirs(pool)
    assert set(per_brick) == set(dirs)
    for brick, counts in per_brick.items():
        here = [rel for rel in files if (dirs[brick] / rel).is_file()]
        assert counts.get("lookup", 0) > 0, (brick, counts)
        assert counts.get("create", 0) >= len(here), (brick, counts, here)
        assert counts.get("writev", 0) >= len(here), (brick, counts, here)
    assert sum(len([r for r in files if (d / r).is_file()]) for d in dirs.values()) == 2 * len(files)

    st = json.loads(glupy_cli(pool, "status", VOLUME, "--json").stdout)
    (t,) = st[0]["translators"]
    assert t["name"] == "pt" and t["side"] == "both"
    assert {b["state"] for b in t["bricks"].values()} == {"loaded"}, t["bricks"]
    assert t["clients"] == {str(mnt): {"state": "loaded"}}
    print(glupy_cli(pool, "status").stdout)

    # ---- hot reload in every local process running it: 6 bricks + the mount
    res = glupy_cli(pool, "reload", VOLUME, "pt")
    lines = [line for line in res.stdout.splitlines() if "reloaded" in line]
    assert sum("brick" in line for line in lines) == 6, res.stdout
    assert sum(f"mount {mnt}" in line for line in lines) == 1, res.stdout
    assert (mnt / "before" / "f0").read_text() == "before 0\n"  # still serving

    # ---- the truth from every brick, over the data path
    for brick, st in t["bricks"].items():
        assert st["module"] == "glupy.library.passthrough:PassThrough", (brick, st)
        assert st["pid"] == pids_after[brick] and st["errors"] == 0 and st["loaded_at"] > 0, st
        assert "lookup" in st["fops"] and st["options"] == {"track-ctx": "False", "hand-off": "False"}, st
    assert set(t["peers"].values()) == {"ok"} and len(t["peers"]) == 3, t["peers"]

    # ---- options change live: bricks and the client reconfigure, no restart
    pids = pool.brick_processes(VOLUME)
    res = glupy_cli(pool, "set", VOLUME, "pt", "track-ctx=on")
    st = wait_for("bricks reconfigured", lambda: (s := json.loads(glupy_cli(
        pool, "status", VOLUME, "--json", check=False).stdout)) and all(
        b.get("options", {}).get("track-ctx") == "True"
        for b in s[0]["translators"][0]["bricks"].values()) and s, 60)
    assert pool.brick_processes(VOLUME) == pids
    assert json.loads(st[0]["translators"][0]["bricks"][brick]["options"]["track-ctx"].lower())
    for bad, why in (("nosuch=1", "unknown option 'nosuch'"), ("track-ctx=maybe", "track-ctx")):
        res = glupy_cli(pool, "set", VOLUME, "pt", bad, check=False)
        assert res.returncode != 0 and why in res.stderr, res.stderr
    from glupy.deploy.gluster import Gluster

    opts = Gluster(str(pool.peers[0].sock), pool.netns).volume(VOLUME).options
    assert opts["user.xlator.glupy-pt.track-ctx"] == "on" and '"track-ctx":"on"' in opts["user.glupy.xl.pt"]

    # ---- detach
    t1 = time.monotonic()
    res = glupy_cli(pool, "detach", VOLUME, "pt")
    print(res.stdout)
    assert "verified: all 6 bricks run" in res.stdout
    for name, text in volfiles(pool).items():
        if "tcp-fuse" in name:
            assert XL not in text, name
        elif XL in text:  # glusterd cannot drop user.xlator: an inert pass-through stays
            assert "option module glupy.deploy.refuse:Inert" in text, name
    wait_for("client graph switch back", lambda: not (mnt / ".meta/graphs/active" / XL).exists(), 30)
    pool.wait_client_connected(mnt)
    for brick in pool.wait_bricks_online(VOLUME):
        run = current_run(brick_log(pool, brick))
        assert "Started running" in run and f"glupy: {XL} loaded glupy.deploy.refuse:Inert" in run, brick
    with pytest.raises(OSError):
        os.getxattr(mnt, "glupy.counters")
    for rel, data in files.items():
        assert (mnt / rel).read_text() == data
    assert "no glupy translators attached" in glupy_cli(pool, "status", VOLUME).stdout
    print(f"attach {t_attach:.1f}s, detach {time.monotonic() - t1:.1f}s")


def _glupy_options(pool: Pool) -> dict[str, str]:
    from glupy.deploy.gluster import Gluster

    g = Gluster(str(pool.peers[0].sock), pool.netns)
    return {k: v for k, v in g.volume(VOLUME).options.items() if k.startswith("user.glupy.")}


def test_bad_input(pool: Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _glupy_options(pool)
    pids = pool.brick_processes(VOLUME)

    def fails(*args: str, expect: str) -> None:
        res = glupy_cli(pool, *args, check=False)
        assert res.returncode != 0, res.stdout
        assert expect in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) <= 3, res.stderr  # one clear message

    spec = "glupy.library.passthrough:PassThrough"
    fails("attach", "nosuchvol", spec, expect="volume nosuchvol does not exist")
    fails("attach", VOLUME, "no_such_module_xyz", expect="cannot be used: ModuleNotFoundError")
    (tmp_path / "broken_xl.py").write_text("import glupy\nraise RuntimeError('boom at import')\n")
    fails("attach", VOLUME, "broken_xl", "--python-path", str(tmp_path), expect="boom at import")
    fails("attach", VOLUME, spec, "-o", "nosuch=1", expect="unknown option 'nosuch'")
    fails("attach", VOLUME, spec, "-o", "track-ctx=maybe", expect="track-ctx")
    fails("attach", VOLUME, spec, "--name", "bad name", expect="bad translator name")
    fails("attach", VOLUME, spec, "--position", "sideways", expect="bad position")
    fails("detach", VOLUME, "nosuch", expect="no glupy translator 'nosuch'")
    res = glupy_cli(pool, "attach", VOLUME, spec, "--glusterd-sock", str(tmp_path / "none.sock"),
                    check=False)
    assert res.returncode != 0 and "glusterd is not reachable" in res.stderr, res.stderr

    # a volume that is not started
    brick = pool.root / "bricks" / "1" / "stopped"
    pool.peers[0].cli("volume", "create", "tvstopped", f"{pool.peers[0].host}:{brick}", "force")
    try:
        fails("attach", "tvstopped", spec, expect="volume tvstopped is not started")
    finally:
        pool.peers[0].cli("volume", "delete", "tvstopped")

    # attaching the same name twice (client side only: no brick restarts)
    glupy_cli(pool, "attach", VOLUME, spec, "--side", "client", "--name", "twice")
    try:
        fails("attach", VOLUME, spec, "--side", "client", "--name", "twice",
              expect="twice is already attached")
    finally:
        glupy_cli(pool, "detach", VOLUME, "twice")

    # not root (in-process, euid faked)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("GLUPY_GLUSTERD_SOCK", str(pool.peers[0].sock))
    monkeypatch.setenv("GLUPY_NETNS", pool.netns)
    out = CliRunner().invoke(cli.main, ["attach", VOLUME, spec])
    assert out.exit_code != 0 and "must run as root" in out.output, out.output
    monkeypatch.undo()

    after = _glupy_options(pool)
    # only the generation counter and the detached marker of "twice" may differ
    def keep(opts: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in opts.items() if k not in ("user.glupy.generation", "user.glupy.xl.twice")}

    assert keep(after) == keep(before)
    assert after.get("user.glupy.xl.twice", "detached") == "detached"
    assert pool.brick_processes(VOLUME) == pids  # no brick was restarted
