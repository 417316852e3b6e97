"""Small author-facing defects: Inode.path() of a deleted-but-open file is None,
glupy's own log lines say where they come from."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from glupy.local import process, volfile
from glupy.testing import require_mount_privileges

TRANSLATORS = str(Path(__file__).parent / "translators")


def test_path_of_a_deleted_open_file_is_none(glupy_mount):
    m = glupy_mount([("pathprobe:PathProbe", {})], python_path=[TRANSLATORS])
    (m.mountpoint / "d").mkdir()
    f = m.mountpoint / "d" / "f"
    f.write_text("x")
    assert json.loads(os.getxattr(f, "glupy.path")) == "/d/f"
    fd = os.open(f, os.O_RDONLY)
    try:
        assert json.loads(os.getxattr(fd, "glupy.path")) == "/d/f"
        os.unlink(f)
        assert json.loads(os.getxattr(fd, "glupy.path")) is None
    finally:
        os.close(fd)


def test_glupy_log_lines_have_a_location(tmp_path):
    require_mount_privileges()
    backend, mnt = tmp_path / "b", tmp_path / "m"
    backend.mkdir()
    mnt.mkdir()
    graph = volfile.single_process_graph(backend, [("pathprobe:PathProbe", {"refuse": "on"})],
                                         python_path=[TRANSLATORS])
    with pytest.raises(process.MountError):
        process.mount_graph(graph, mnt, source_dir=backend, state_dir=tmp_path / "s", timeout=20)
    log = "".join(p.read_text() for p in (tmp_path / "s").rglob("*.log"))
    line = next(x for x in log.splitlines() if "refused as asked" in x)
    assert re.search(r" E \[driver\.py:\d+:py_init\] ", line), line
    assert " E [:0:] " not in log
