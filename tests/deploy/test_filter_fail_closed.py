"""The volfile filter fails closed: a client volfile it cannot complete does not load in
a real glusterfs, and the log names the translator, the reason and the fix."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from glupy.deploy import filter as gfilter
from glupy.deploy.config import AttachSpec
from glupy.local import volfile

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("glusterfs"),
                                reason="needs root and glusterfs (FUSE)")


def _volume_dir(tmp: Path, spec: AttachSpec) -> tuple[Path, Path]:
    """vols/tv/{info, tv.tcp-fuse.vol}: a one-process client graph (posix under a
    distribute, as glusterd's cluster translator) and the spec in info."""
    vdir = tmp / "vols" / "tv"
    vdir.mkdir(parents=True)
    (tmp / "data").mkdir()
    graph = volfile.Graph([
        volfile.Volume("tv-posix", "storage/posix", {"directory": str(tmp / "data")}),
        volfile.Volume("tv-dht", "cluster/distribute", {}, ["tv-posix"]),
    ])
    vf = vdir / "tv.tcp-fuse.vol"
    vf.write_text(graph.render())
    (vdir / "info").write_text(f"type=0\n{spec.key}={spec.to_value()}\n")
    return vdir, vf


def _mount_fails(vf: Path, tmp: Path) -> str:
    mnt = tmp / "mnt"
    mnt.mkdir()
    log = tmp / "client.log"
    res = subprocess.run(["glusterfs", "-N", "-f", str(vf), f"--log-file={log}", str(mnt)],
                         capture_output=True, text=True, timeout=60)
    mounted = any(line.split()[4] == str(mnt)
                  for line in Path("/proc/self/mountinfo").read_text().splitlines())
    served = None
    if mounted:
        # glusterfs mounts FUSE before it builds the graph; when the graph fails it exits
        # and, depending on a race in its cleanup, may leave the dead mount behind
        try:
            served = os.listdir(mnt)
        except OSError as e:
            assert e.errno == errno.ENOTCONN, e
        subprocess.run(["umount", "-l", str(mnt)], check=False)
    assert res.returncode != 0 and served is None, "the graph loaded without its translator"
    return log.read_text()


def test_a_translator_that_cannot_be_inserted_makes_the_volfile_unloadable(tmp_path: Path) -> None:
    spec = AttachSpec(name="nl", module="glupy.library.negative_lookup", side="client",
                      position="above:features/nosuch").validate()
    vdir, vf = _volume_dir(tmp_path, spec)
    assert gfilter.run_filter(vf, volfile.xlatordir()) == 0
    text = vf.read_text()
    assert "FAILED" in text and "tv-glupy-filter-failed" in text
    log = _mount_fails(vf, tmp_path)
    # glupy's Refuse translator: the volume, the translator, the reason and the fix
    line = next(ln for ln in log.splitlines() if "cannot insert" in ln)
    assert "tv-glupy-filter-failed" in line and "nl" in line, line
    assert "no features/nosuch volume in this graph" in line, line
    assert "Fix: glupy detach tv NAME" in line, line
    assert "cannot insert nl" in (vdir / gfilter.LOG_NAME).read_text()


def test_a_broken_spec_fails_closed(tmp_path: Path) -> None:
    spec = AttachSpec(name="ro", module="glupy.library.readonly", side="client").validate()
    vdir, vf = _volume_dir(tmp_path, spec)
    (vdir / "info").write_text(f"{spec.key}={json.dumps({'module': 'x y'})}\n")
    gfilter.run_filter(vf, volfile.xlatordir())
    log = _mount_fails(vf, tmp_path)
    assert "cannot insert ro" in log and "Fix: repair or remove the spec" in log


def test_the_filter_script_fails_closed_when_python_cannot_run(tmp_path: Path) -> None:
    spec = AttachSpec(name="worm", module="glupy.library.worm", side="client").validate()
    vdir, vf = _volume_dir(tmp_path, spec)
    script = tmp_path / "filter" / gfilter.FILTER_NAME
    script.parent.mkdir()
    # a moved/removed installation: the interpreter the script names is gone
    import sys

    script.write_text(gfilter.script_text().replace(sys.executable, str(tmp_path / "gone" / "python")))
    script.chmod(0o755)
    res = subprocess.run([str(script), str(vf)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0  # never fails glusterd itself
    assert gfilter.FAILED_NAME in vf.read_text()
    log = _mount_fails(vf, tmp_path)
    assert "glupy-filter-failed" in log
    assert "could not run" in (vdir / gfilter.LOG_NAME).read_text()


def test_a_good_spec_is_inserted(tmp_path: Path) -> None:
    spec = AttachSpec(name="ro", module="glupy.library.readonly", side="client").validate()
    _, vf = _volume_dir(tmp_path, spec)
    gfilter.run_filter(vf, volfile.xlatordir())
    graph = volfile.parse(vf.read_text())
    assert graph.top.name == "tv-glupy-ro" and graph.top.subvolumes == ["tv-dht"]
    assert gfilter.FAILED_NAME not in vf.read_text()


def test_a_brick_side_spec_glusterd_did_not_insert_makes_the_brick_refuse(tmp_path: Path) -> None:
    """A brick-side spec from a glupy that predates user.xlator: the brick graph has no
    VOL-glupy-NAME, so the filter makes the brick refuse to start instead of running
    without it."""
    from glupy.local import brick

    spec = AttachSpec(name="worm", module="glupy.library.worm", side="brick").validate()
    vdir = tmp_path / "vols" / "tv"
    vdir.mkdir(parents=True)
    (tmp_path / "data").mkdir()
    graph = brick.brick_graph(tmp_path / "data", [], port=brick.free_port(), name_prefix="tv")
    vf = vdir / "tv.127.0.0.1.data.vol"
    vf.write_text(graph.render())
    (vdir / "info").write_text(f"type=0\n{spec.key}={spec.to_value()}\n")
    assert gfilter.run_filter(vf, volfile.xlatordir()) == 0
    refused = volfile.parse(vf.read_text())
    assert refused["tv-locks"].subvolumes == ["tv-glupy-filter-failed"]
    with pytest.raises(brick.BrickError) as failed:
        brick.start_brick(refused, tmp_path / "state", timeout=30)
    assert "brick-side translator(s) worm" in str(failed.value) + Path(
        tmp_path / "state" / "glusterfsd.log").read_text()

    # with glusterd's insertion present (user/glupy-worm above posix) it is left alone
    ok = brick.brick_graph(tmp_path / "data", [], port=brick.free_port(), name_prefix="tv")
    gfilter.insert(ok, ok["tv-posix"], volfile.Volume("tv-glupy-worm", "user/glupy-worm",
                                                      {"module": spec.module}))
    vf.write_text(ok.render())
    gfilter.run_filter(vf, volfile.xlatordir())
    assert gfilter.FAILED_NAME not in vf.read_text()
