"""The client side fails closed on a peer without glupy's filter: `glupy attach` turns on
glusterd's debug/error-gen in every client graph (config.SENTINEL_OPTIONS), failing every
fop; the filter removes it where it inserts the client-side translators.  Here
with real glusterfs on client graphs shaped as glusterd writes them (the pool test in
tests/cluster/test_sentinel_pool.py checks that glusterd writes them so)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from glupy.deploy import filter as gfilter
from glupy.deploy.config import SENTINEL_OPTIONS, AttachSpec
from glupy.local import process, volfile

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("glusterfs"),
                                reason="needs root and glusterfs (FUSE)")


def _client_volfile(tmp: Path, spec: AttachSpec) -> tuple[Path, Path]:
    """vols/tv/{info, tv.tcp-fuse.vol}: posix under a distribute, then the sentinel and
    io-stats on top, as glusterd's client_graph_builder orders them."""
    vdir = tmp / "vols" / "tv"
    vdir.mkdir(parents=True)
    data = tmp / "data"
    data.mkdir()
    (data / "kept").write_text("x")
    graph = volfile.Graph([
        volfile.Volume("tv-posix", "storage/posix", {"directory": str(data)}),
        volfile.Volume("tv-dht", "cluster/distribute", {}, ["tv-posix"]),
        volfile.Volume("tv-error-gen", "debug/error-gen",
                       {"failure": SENTINEL_OPTIONS["debug.error-failure"]}, ["tv-dht"]),
        volfile.Volume("tv", "debug/io-stats", {}, ["tv-error-gen"]),
    ])
    vf = vdir / "tv.tcp-fuse.vol"
    vf.write_text(graph.render())
    (vdir / "info").write_text(f"type=0\n{spec.key}={spec.to_value()}\n"
                               + "".join(f"{k}={v}\n" for k, v in SENTINEL_OPTIONS.items()))
    return vf, data


def test_without_the_filter_the_client_graph_serves_nothing(tmp_path: Path) -> None:
    spec = AttachSpec(name="ro", module="glupy.library.readonly", side="client").validate()
    vf, data = _client_volfile(tmp_path, spec)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    # what a peer without the filter hands out: the graph as glusterd wrote it
    with pytest.raises(process.MountError):
        process.mount_graph(volfile.parse(vf.read_text()), mnt, state_dir=tmp_path / "state",
                            timeout=15)
    (log,) = (tmp_path / "state").glob("**/glusterfs.log")
    # every lookup of the root failed in the sentinel (with an errno it picks at random)
    failed = [ln for ln in log.read_text().splitlines() if "LOOKUP() / => -1" in ln]
    assert failed and not [ln for ln in log.read_text().splitlines() if "LOOKUP() / => 0" in ln]
    assert "0-tv-error-gen: unwind(-1," in log.read_text()
    assert process.mount_fstype(mnt) is None
    assert (data / "kept").read_text() == "x"


def test_the_filter_removes_the_sentinel_where_it_inserts_the_translator(tmp_path: Path) -> None:
    spec = AttachSpec(name="ro", module="glupy.library.readonly", side="client").validate()
    vf, _ = _client_volfile(tmp_path, spec)
    assert gfilter.run_filter(vf, volfile.xlatordir()) == 0
    graph = volfile.parse(vf.read_text())
    assert "tv-error-gen" not in graph and graph["tv"].subvolumes == ["tv-glupy-ro"]
    assert graph["tv-glupy-ro"].subvolumes == ["tv-dht"]
    assert gfilter.run_filter(vf, volfile.xlatordir()) == 0  # idempotent
    assert volfile.parse(vf.read_text()).render() == graph.render()

    mnt = tmp_path / "mnt"
    mnt.mkdir()
    process.mount_graph(graph, mnt, state_dir=tmp_path / "state", timeout=30)
    try:
        assert (mnt / "kept").read_text() == "x"
        with pytest.raises(OSError) as refused:
            (mnt / "new").write_text("y")
        assert refused.value.errno == errno.EROFS  # the translator runs
    finally:
        process.unmount(mnt, state_dir=tmp_path / "state")


def test_an_error_gen_that_is_not_the_sentinel_is_left_alone(tmp_path: Path) -> None:
    spec = AttachSpec(name="ro", module="glupy.library.readonly", side="client").validate()
    vf, _ = _client_volfile(tmp_path, spec)
    graph = volfile.parse(vf.read_text())
    graph["tv-error-gen"].options["failure"] = "10"  # an administrator's own fault injection
    vf.write_text(graph.render())
    gfilter.run_filter(vf, volfile.xlatordir())
    assert "tv-error-gen" in volfile.parse(vf.read_text())
