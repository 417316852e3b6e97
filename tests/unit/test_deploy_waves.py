"""Which bricks restart together, by volume type (pure Python)."""

from glupy.deploy.gluster import Brick, VolumeInfo
from glupy.deploy.ops import restart_waves


def vol(n: int, replica: int = 1, disperse: int = 0, redundancy: int = 0) -> VolumeInfo:
    return VolumeInfo("v", "Started", "x", replica, [Brick(f"h{i % 3}", f"/b{i}") for i in range(n)],
                      disperse=disperse, redundancy=redundancy)


def test_replicate_one_brick_per_set() -> None:
    waves = restart_waves(vol(6, replica=2))
    assert waves == [["h0:/b0", "h2:/b2", "h1:/b4"], ["h1:/b1", "h0:/b3", "h2:/b5"]]
    assert restart_waves(vol(3, replica=3)) == [["h0:/b0"], ["h1:/b1"], ["h2:/b2"]]


def test_disperse_at_most_redundancy_per_set() -> None:
    waves = restart_waves(vol(12, disperse=6, redundancy=2))
    assert len(waves) == 3
    for wave in waves:
        for start in (0, 6):
            in_set = [b for b in wave if int(b.split("/b")[1]) in range(start, start + 6)]
            assert len(in_set) == 2
    assert sorted(b for w in waves for b in w) == sorted(f"h{i % 3}:/b{i}" for i in range(12))


def test_distribute_one_at_a_time() -> None:
    v = vol(3)
    assert v.kind == "distribute"
    assert restart_waves(v) == [["h0:/b0"], ["h1:/b1"], ["h2:/b2"]]
