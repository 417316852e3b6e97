"""A peer without glupy (no user/ links, no volfile filter): attach names it and fails,
nothing runs the volume without the translator, status shows it; once the peer has
glupy again its bricks start with the translator."""

from __future__ import annotations

import json
import os

import pytest
from conftest import VOLUME, glupy_cli
from pool import Pool

from glupy.deploy import filter as gfilter
from glupy.local import volfile

pytestmark = pytest.mark.cluster
XL = f"{VOLUME}-glupy-ro"


def test_peer_without_glupy(pool: Pool) -> None:
    victim = pool.peers[2]
    pool.kill_peer(victim)
    # peer 3 without glupy's filter, and with only the user/ links that already exist
    # (translators detached earlier stay in brick graphs as inert ones: they need theirs)
    user = volfile.xlatordir() / "user"
    kept = pool.root / "peer3-user"
    kept.mkdir(exist_ok=True)
    for link in user.glob("glupy-*.so") if user.is_dir() else ():
        (kept / link.name).symlink_to(os.readlink(link))
    victim.start_replacing({user: kept, gfilter.filter_dir(): pool.root / "peer3-filter"})
    victim.wait_up()
    try:
        pool.wait_bricks_online(VOLUME)
    except Exception:
        for log in sorted(victim.logdir.glob("**/*.log")):
            lines = log.read_text().splitlines()
            print(f"--- {log}\n" + "\n".join(
                [ln for ln in lines if "] E [" in ln or "brick" in ln.lower()][-25:] + lines[-5:]))
        raise
    try:
        res = glupy_cli(pool, "attach", VOLUME, "glupy.library.readonly", "--name", "ro", check=False)
        print(res.stdout, res.stderr)
        assert res.returncode != 0
        # the client side: peer 3 hands out a client volfile without the translator
        assert f"lacks {XL} on peer(s) {victim.host}" in res.stderr, res.stderr
        assert "rolling back" in res.stdout

        # brick side only: peer 3 cannot load the brick graph, attach says so
        res = glupy_cli(pool, "attach", VOLUME, "glupy.library.readonly", "--name", "ro",
                        "--side", "brick", check=False)
        print(res.stdout, res.stderr)
        assert res.returncode != 0
        assert "did not start" in res.stderr and victim.host in res.stderr, res.stderr
        assert "glupy install" in res.stderr and f"glupy restart-bricks {VOLUME}" in res.stderr
        # nothing on peer 3 runs the volume without the translator
        online = pool.brick_processes(VOLUME)
        assert not [b for b in online if b.startswith(victim.host + ":")
                    and b in res.stderr], online

        st = glupy_cli(pool, "status", VOLUME, "--json", check=False)
        assert st.returncode == 1
        (t,) = json.loads(st.stdout)[0]["translators"]
        states = {b: s["state"] for b, s in t["bricks"].items()}
        assert any(s != "loaded" for b, s in states.items() if b.startswith(victim.host)), states
    finally:
        # peer 3 gets glupy back: its bricks start with the translator
        pool.kill_peer(victim)
        victim.start()
        victim.wait_up()
    # the rollout stopped after its first round: restart-bricks completes it
    res = glupy_cli(pool, "restart-bricks", VOLUME)
    assert "verified: all 6 bricks run" in res.stdout, res.stdout
    st = json.loads(glupy_cli(pool, "status", VOLUME, "--json").stdout)
    assert {b["state"] for b in st[0]["translators"][0]["bricks"].values()} == {"loaded"}
    glupy_cli(pool, "detach", VOLUME, "ro")
