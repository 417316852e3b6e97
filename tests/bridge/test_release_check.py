"""A bridge built for one GlusterFS release refuses to load into another.

xlator_api_t lost two fields between 10.x and 11.x, so GlusterFS would misread a
bridge built for the other release.  The bridge compares the release it was
built for with the one its loader's xlator directory names, before GlusterFS
reads xlator_api: on a mismatch the mount fails with one clear log line and
nothing stays mounted.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glupy._build import build, release
from glupy.local import process, volfile
from glupy.local.volfile import Graph, Volume


def _other_release() -> str:
    return "11.1" if release.headers_release().startswith("10.") else "10.3"


@pytest.fixture(scope="module")
def foreign_bridge(tmp_path_factory) -> Path:
    """The bridge compiled from this tree, but claiming the other release."""
    out = tmp_path_factory.mktemp("foreign") / "glupy.so"
    return build.build(output=out, gluster_release=_other_release())


def test_a_bridge_for_another_release_is_refused(foreign_bridge: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (FUSE mounts)")
    backend, mnt = tmp_path / "backend", tmp_path / "mnt"
    backend.mkdir()
    mnt.mkdir()
    so_type = os.path.relpath(foreign_bridge.with_suffix(""), volfile.xlatordir())
    graph = Graph([
        Volume("posix", "storage/posix", {"directory": str(backend)}),
        Volume("py", so_type, {"module": "glupy.library.passthrough"}, ["posix"]),
    ])
    state_dir = tmp_path / "state"
    with pytest.raises(process.MountError) as failed:
        process.mount_graph(graph, mnt, source_dir=backend, state_dir=state_dir, timeout=30)
    assert process.mount_fstype(str(mnt)) is None, "left mounted"
    assert "was built for GlusterFS" in str(failed.value), "the error does not say why"
    log = (process.state_dir_for(mnt, state_dir) / "glusterfs.log").read_text(errors="replace")
    running = release.headers_release()
    lines = [line for line in log.splitlines()
             if f"was built for GlusterFS {_other_release()} but this is GlusterFS {running}" in line]
    assert len(lines) == 1, log[-3000:]
    assert "refusing to load" in lines[0] and foreign_bridge.parent.name in lines[0]


def test_the_release_is_recorded_next_to_the_bridge() -> None:
    info = release.read_info(volfile.bridge_so_path())
    assert info is not None, "build-info.json missing: rebuild with python -m glupy._build"
    assert info["glusterfs"] == release.headers_release()
    assert Path(info["xlatordir"]) == volfile.xlatordir()


def test_an_unsupported_release_is_one_clear_error() -> None:
    for bad in ("9.6", "12.0", "nonsense"):
        with pytest.raises(release.UnsupportedGlusterFS,
                           match=r"glupy supports GlusterFS 10\.x and 11\.x"):
            release.check_supported(bad, "the installed GlusterFS headers")
