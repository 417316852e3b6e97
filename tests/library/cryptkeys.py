"""A crypt master key file for the crypt tests (imported by name, as pytest puts this
directory on sys.path)."""

from __future__ import annotations

import os
from pathlib import Path


def new_key(path: Path) -> Path:
    """A random 32-byte master key at ``path``, mode 0600; never all printable ASCII
    (crypt would take such a file for a passphrase)."""
    key = os.urandom(32)
    while all(0x20 <= b < 0x7F for b in key):
        key = os.urandom(32)
    path.write_bytes(key)
    path.chmod(0o600)
    return path
