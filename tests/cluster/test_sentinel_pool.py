"""The client side fails closed: after `glupy attach --side client`, a peer that lost
glupy's volfile filter hands out client graphs in which glusterd's own debug/error-gen
(the sentinel attach turned on) fails every fop, instead of graphs without the
translator.  Peers with the filter remove the sentinel; detach turns it off again."""

from __future__ import annotations

import errno
import json
import os
import subprocess

import pytest
from conftest import VOLUME, glupy_cli
from pool import Pool

from glupy.deploy import filter as gfilter

pytestmark = pytest.mark.cluster
XL = f"{VOLUME}-glupy-ro"
SENTINEL = f"{VOLUME}-error-gen"


def _spec_from(pool: Pool, host: str) -> str:
    """The client volfile peer ``host`` hands out (what a client mounting from it runs)."""
    return subprocess.run([*pool.peers[0].nsenter(), "gluster", "--mode=script",
                           f"--remote-host={host}", "system::", "getspec", VOLUME],
                          capture_output=True, text=True, check=True, timeout=60).stdout


def test_a_peer_without_the_filter_hands_out_client_graphs_that_serve_nothing(pool: Pool) -> None:
    mnt = pool.mounts[0]  # fetched its volfile from peer 1
    glupy_cli(pool, "attach", VOLUME, "glupy.library.readonly", "--side", "client", "--name", "ro")
    victim = pool.peers[2]
    try:
        st = json.loads(glupy_cli(pool, "status", VOLUME, "--json").stdout)[0]
        assert st["client_fail_closed"] is True
        for peer in pool.peers:  # every filter took the sentinel out and put the translator in
            spec = _spec_from(pool, peer.host)
            assert f"volume {XL}\n" in spec and f"volume {SENTINEL}\n" not in spec, spec
        pool.wait_client_connected(mnt)
        with pytest.raises(OSError) as refused:
            (mnt / "via-peer1").write_text("x")
        assert refused.value.errno == errno.EROFS

        # peer 3 loses the filter (a reinstall, an upgrade to another filter directory, ...)
        pool.kill_peer(victim)
        victim.start_replacing({gfilter.filter_dir(): pool.root / "peer3-no-filter"})
        victim.wait_up()
        pool.wait_bricks_online(VOLUME)
        # any option change makes every peer write its volfiles again
        pool.peers[0].cli("volume", "set", VOLUME, "user.glupy.sentinel-test", "1")
        spec = _spec_from(pool, victim.host)
        assert f"volume {XL}\n" not in spec and f"volume {SENTINEL}\n" in spec, spec

        res = glupy_cli(pool, "status", VOLUME, "--json", check=False)
        assert res.returncode == 1
        peers = json.loads(res.stdout)[0]["translators"][0]["peers"]
        assert peers[victim.host].startswith("missing, fails closed"), peers
        assert peers[pool.peers[0].host] == "ok", peers

        # a client that mounts from peer 3 serves nothing: no read, no write
        mounted = len(pool.mounts)
        try:
            m3 = pool.mount(VOLUME, host=victim.host, timeout=10)
        except Exception:  # its bricks' connections are never shown as usable
            assert len(pool.mounts) == mounted + 1
            m3 = pool.mounts[-1]
        try:
            with pytest.raises(OSError):
                os.listdir(m3)
            with pytest.raises(OSError):
                (m3 / "via-peer3").write_text("x")
        finally:
            pool.unmount(m3)
        assert not any((pool.brick_path(p, n) / "via-peer3").exists()
                       for p in pool.peers for n in (1, 2))
        # the client of peer 1 still runs the translator
        with pytest.raises(OSError) as refused:
            (mnt / "via-peer1").write_text("x")
        assert refused.value.errno == errno.EROFS
    finally:
        pool.kill_peer(victim)
        victim.start()
        victim.wait_up()
        pool.wait_bricks_online(VOLUME)
    glupy_cli(pool, "detach", VOLUME, "ro")
    st = json.loads(glupy_cli(pool, "status", VOLUME, "--json").stdout)
    assert not st or st[0]["client_fail_closed"] is False
    spec = _spec_from(pool, pool.peers[0].host)
    assert f"volume {SENTINEL}\n" not in spec and f"volume {XL}\n" not in spec
    pool.wait_client_connected(mnt)
    (mnt / "after-detach").write_text("x")  # writable again
