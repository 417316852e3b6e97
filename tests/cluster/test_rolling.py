"""Rolling brick restarts follow the volume type: a pure distribute volume restarts one
brick at a time after saying so, a disperse volume at most `redundancy` bricks at a time."""

from __future__ import annotations

import re

import pytest
from conftest import glupy_cli
from pool import Pool

pytestmark = pytest.mark.cluster


def _waves(out: str) -> list[list[str]]:
    return [m.group(1).split(", ") for m in re.finditer(r"^restarting brick\(s\) (.*) \(\d+/\d+\)$",
                                                           out, re.M)]


@pytest.mark.parametrize("kind", ["distribute", "disperse"])
def test_restart_waves_by_volume_type(pool: Pool, kind: str) -> None:
    name = f"t{kind[:4]}"
    bricks = [f"{p.host}:{pool.root / 'bricks' / str(p.index) / name}" for p in pool.peers]
    layout = ["disperse", "3", "redundancy", "1"] if kind == "disperse" else []
    pool.peers[0].cli("volume", "create", name, *layout, *bricks, "force")
    pool.peers[0].cli("volume", "start", name)
    try:
        pool.wait_bricks_online(name, count=3)
        res = glupy_cli(pool, "attach", name, "glupy.library.passthrough:PassThrough",
                        "--side", "brick", "--name", "pt", "--heal-timeout", "120")
        print(res.stdout)
        waves = _waves(res.stdout)
        assert sorted(b for w in waves for b in w) == sorted(bricks)
        assert all(len(w) == 1 for w in waves), waves  # 1 = redundancy; distribute: always 1
        assert "verified: all 3 bricks run" in res.stdout
        outage = res.stdout.find("files on it are unavailable")
        if kind == "distribute":
            assert 0 <= outage < res.stdout.find("restarting brick(s)"), res.stdout
        else:
            assert outage == -1 and "at most 1 brick(s) of each disperse set" in res.stdout
    finally:
        pool.peers[0].cli("volume", "stop", name, check=False)
        pool.peers[0].cli("volume", "delete", name, check=False)
