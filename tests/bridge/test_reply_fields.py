"""Replies of which a translator replaced some fields: the replaced ones are converted
(in C for views, vectors and ints), the others go back as the child sent them
(tests/bridge/translators/reply_fields.py), and a field that cannot be converted fails
the fop with EIO and a log line instead of crashing."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent
TRANSLATORS = str(HERE / "translators")


def test_replaced_fields_reach_the_caller_and_the_rest_is_unchanged(glupy_mount):
    m = glupy_mount([("reply_fields:ReplyFields", {})], python_path=[TRANSLATORS])
    (m.mountpoint / "data").write_bytes(b"x" * 12345)
    os.symlink("data", m.mountpoint / "link")
    # str field replaced: the caller sees the translator's value
    assert os.readlink(m.mountpoint / "link") == "data-seen"
    # lookup (buf, xdata) and stat (buf) set again: sizes, types and ids still right
    st = os.stat(m.mountpoint / "data")
    back = os.stat(m.backend_dir / "data")
    assert (st.st_size, st.st_mode, st.st_ino != 0) == (12345, back.st_mode, True)
    assert os.lstat(m.mountpoint / "link").st_size == len("data")
    with open(m.mountpoint / "data", "rb") as f:
        assert f.read() == b"x" * 12345
    assert sorted(os.listdir(m.mountpoint)) == ["data", "link"]
    assert "Traceback" not in m.log_path.read_text()


def test_a_field_that_cannot_be_converted_fails_the_fop(glupy_mount):
    m = glupy_mount([("reply_fields:ReplyFields", {})], python_path=[TRANSLATORS])
    (m.mountpoint / "bad-one").write_bytes(b"y")
    with pytest.raises(OSError) as e:
        # a fresh name: FUSE looks it up (works), then getattr -> stat (broken reply)
        for _ in range(50):
            os.stat(m.mountpoint / "bad-one")
    assert e.value.errno == errno.EIO
    assert "cannot be converted" in m.log_path.read_text()
    assert os.stat(m.mountpoint).st_ino  # the process is alive
