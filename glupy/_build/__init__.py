"""Build step of the bridge (see build.py)."""

from pathlib import Path


def bridge_path() -> Path:
    """Where the built bridge (the ``features/glupy`` xlator) lives."""
    return Path(__file__).resolve().parent.parent / "_bridge" / "glupy.so"
