"""An argument view read by several threads of the translator at once.  A view the
bridge made of a C pointer makes its cdata on the first read of ``_p`` (view.c,
view_cdata): without the GIL two threads can both find it missing, so the bridge makes
it under the view's own lock, and every reader gets the same object."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

TRANSLATORS = str(Path(__file__).parent / "translators")
ROUNDS = 200  # the race is a window of a few microseconds: many fresh views


@pytest.fixture
def mnt(glupy_mount):
    return glupy_mount([("cdatarace:CdataRace", {})], [TRANSLATORS]).mountpoint


def test_threads_reading_a_views_cdata_at_once_get_one_object(mnt):
    (mnt / "f").write_bytes(b"x")
    answers = [json.loads(os.getxattr(mnt / "f", "user.cdata-readers")) for _ in range(ROUNDS)]
    assert all(a["reads"] == 4 for a in answers), answers
    assert [a for a in answers if a["objects"] != 1] == []
