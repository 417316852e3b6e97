"""The library translators type-check under mypy --strict with the generated API."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_library_is_mypy_strict_clean():
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "glupy/library/"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr


def test_py_typed_marker_ships():
    assert (ROOT / "glupy" / "py.typed").exists()
