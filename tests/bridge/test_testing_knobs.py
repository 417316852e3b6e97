"""glupy.testing's knobs: FUSE cache timeouts, client translators over a real
brick with a raw client beside them (attack tests), documented factories."""

from __future__ import annotations

import errno
import json
import os
import pydoc

import pytest

from glupy import testing

PT = ("glupy.library.passthrough:PassThrough", {})


def lookups(m) -> int:
    return json.loads(os.getxattr(m.mountpoint, "glupy.counters"))["lookup"]


def test_entry_timeout_zero_sends_every_lookup(glupy_mount):
    cached = glupy_mount([PT])
    fresh = glupy_mount([PT], entry_timeout=0, attribute_timeout=0)
    for m in (cached, fresh):
        (m.backend_dir / "f").write_text("x")
    deltas = []
    for m in (cached, fresh):
        before = lookups(m)
        for _ in range(5):
            os.stat(m.mountpoint / "f")
        deltas.append(lookups(m) - before)
    # GlusterFS's default 1 s entry timeout: the kernel answers repeats itself
    assert deltas[0] < 5
    assert deltas[1] >= 5
    assert "--entry-timeout=0" in " ".join(fresh.log_tail(500))


def test_fuse_args_refuse_negative_times():
    assert testing.fuse_args(0, 1.5) == ["--entry-timeout=0", "--attribute-timeout=1.5"]
    with pytest.raises(ValueError):
        testing.fuse_args(entry_timeout=-1)


def test_client_translators_and_raw_client(glupy_brick_mount):
    m = glupy_brick_mount([], client_translators=[("glupy.library.readonly:ReadOnly", {})],
                          entry_timeout=0)
    assert "glupy.library.readonly:ReadOnly" in m.client_volfile_path.read_text()
    with pytest.raises(OSError) as e:
        (m.mountpoint / "f").write_text("through the mount")
    assert e.value.errno == errno.EROFS
    raw = m.raw_client()  # the brick without the client's translators
    raw.write_file("f", b"straight to the brick")
    assert (m.mountpoint / "f").read_bytes() == b"straight to the brick"
    assert (m.backend_dir / "f").read_bytes() == b"straight to the brick"


def test_fixture_docs_give_the_whole_signature():
    for fixture, words in ((testing.glupy_mount, ("entry_timeout", "attribute_timeout",
                                                  "backend_dir", "MountInfo")),
                           (testing.glupy_brick_mount, ("client_translators", "raw_client",
                                                        "entry_timeout"))):
        text = pydoc.render_doc(fixture, renderer=pydoc.plaintext)
        for w in words:
            assert w in text, (fixture, w)
        assert "...)" not in text
