"""Which GlusterFS the bridge is built against.

A bridge is built for exactly one GlusterFS release: ``xlator_api_t`` and the
structs the bridge reads differ between 10.x and 11.x (see the binding modules),
so the release is read from the installed development package at build time,
compiled into the bridge and written next to it (``glupy/_bridge/build-info.json``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

SUPPORTED_MAJORS = (10, 11)
SUPPORTED_TEXT = "GlusterFS 10.x and 11.x"
INFO_NAME = "build-info.json"

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)")


class UnsupportedGlusterFS(RuntimeError):
    """The installed GlusterFS is missing or not a release glupy supports."""


def _run(argv: list[str]) -> str | None:
    if not shutil.which(argv[0]):
        return None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def headers_release() -> str:
    """The GlusterFS release of the installed headers, e.g. ``"11.1"``.

    libglusterfs-dev (Debian) and glusterfs-api-devel (Fedora/EL) ship
    ``glusterfs-api.pc`` whose Version is ``7.<release>`` (7 is gfapi's API version).
    """
    pc = _run(["pkg-config", "--modversion", "glusterfs-api"])
    if pc is None:
        raise UnsupportedGlusterFS(
            "GlusterFS development files not found (pkg-config glusterfs-api): install "
            "libglusterfs-dev (Debian/Ubuntu) or glusterfs-api-devel (Fedora/EL), and pkg-config")
    release = pc.split(".", 1)[1] if pc.startswith("7.") else pc
    check_supported(release, "the installed GlusterFS headers")
    return release


def check_supported(release: str, what: str) -> int:
    m = _VERSION_RE.match(release)
    if not m or int(m.group(1)) not in SUPPORTED_MAJORS:
        raise UnsupportedGlusterFS(
            f"{what} are GlusterFS {release}: glupy supports {SUPPORTED_TEXT}")
    return int(m.group(1))


def running_release() -> str | None:
    """The release of the ``glusterfs`` on PATH (None when it is not installed)."""
    out = _run(["glusterfs", "--version"])
    m = re.match(r"glusterfs (\S+)", out or "")
    return m.group(1) if m else None


def installed_xlatordir(release: str) -> Path:
    """GlusterFS's translator directory, as the installed glusterfs reports it."""
    out = _run(["glusterfs", "--print-xlatordir"])
    if out:
        return Path(out)
    libdir = _run(["pkg-config", "--variable=libdir", "glusterfs-api"])
    if libdir:
        return Path(libdir) / "glusterfs" / release / "xlator"
    raise UnsupportedGlusterFS("GlusterFS is not installed: no glusterfs on PATH")


def build_info(release: str) -> dict[str, str]:
    return {
        "glusterfs": release,
        "xlatordir": str(installed_xlatordir(release)),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
    }


def write_info(bridge: Path, info: dict[str, str]) -> Path:
    path = bridge.parent / INFO_NAME
    path.write_text(json.dumps(info, indent=2) + "\n")
    return path


def read_info(bridge: Path) -> dict[str, str] | None:
    try:
        return json.loads((bridge.parent / INFO_NAME).read_text())
    except (OSError, ValueError):
        return None
