"""What ``glupy install`` / ``glupy uninstall`` do on one peer for glusterd volumes.

Each peer needs, in GlusterFS's (versioned) directories: the volfile filter
(client side) and ``<xlatordir>/user/glupy-NAME.so`` -> the bridge for every
brick-side translator any volume names (``user.xlator.glupy-NAME``, which glusterd
cannot remove again).  The volumes are read from this peer's glusterd working
directory, so this works on a peer that was just upgraded or added.
"""

from __future__ import annotations

import os
from pathlib import Path

from glupy.deploy import filter as gfilter
from glupy.deploy.config import DETACHED, INERT_MODULE, KEY_PREFIX, USER_XL_PREFIX, read_info
from glupy.local import volfile

DEFAULT_WORKDIR = Path("/var/lib/glusterd")


def volume_infos(workdir: Path = DEFAULT_WORKDIR) -> dict[str, dict[str, str]]:
    out = {}
    for info in sorted((workdir / "vols").glob("*/info")):
        try:
            out[info.parent.name] = read_info(info)
        except OSError:
            continue
    return out


def user_xlators(infos: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """user translator name (glupy-NAME) -> volumes whose brick graphs load it."""
    out: dict[str, list[str]] = {}
    for vol, options in infos.items():
        for key in options:
            name = key[len(USER_XL_PREFIX):]
            if key.startswith(USER_XL_PREFIX + "glupy-") and "." not in name:
                out.setdefault(name, []).append(vol)
    return out


def link_user_xlators(infos: dict[str, dict[str, str]]) -> list[Path]:
    """Create or refresh every needed user/glupy-NAME.so link; returns them."""
    target = volfile.bridge_so_path().resolve()
    made = []
    for name in sorted(user_xlators(infos)):
        link = volfile.xlatordir() / "user" / f"{name}.so"
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and Path(os.path.realpath(link)) == target:
            continue
        if link.exists() and not link.is_symlink():
            raise FileExistsError(f"{link} exists and is not a link to the glupy bridge")
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target)
        made.append(link)
    return made


def uninstall_blockers(infos: dict[str, dict[str, str]]) -> list[str]:
    """Why removing glupy now would stop volumes (empty: safe)."""
    out = []
    for vol, options in infos.items():
        for key, value in options.items():
            if key.startswith(KEY_PREFIX) and value != DETACHED:
                out.append(f"{vol}: {key[len(KEY_PREFIX):]} is attached (glupy detach {vol} "
                           f"{key[len(KEY_PREFIX):]})")
    for name, vols in user_xlators(infos).items():
        live = [v for v in vols if infos[v].get(f"{USER_XL_PREFIX}{name}.module") != INERT_MODULE]
        if not live:
            out.append(f"{', '.join(vols)}: brick graphs load user/{name} (detached, inert); glusterd "
                       f"cannot remove user.xlator options: the bricks of {', '.join(vols)} need "
                       f"user/{name}.so until `gluster volume reset VOL all` (resets EVERY option)")
    return out


def uninstall(infos: dict[str, dict[str, str]]) -> list[str]:
    """Remove the filter and every user/glupy-*.so link; returns what was removed."""
    removed = []
    if gfilter.uninstall():
        removed.append(str(gfilter.filter_path()))
    for link in sorted((volfile.xlatordir() / "user").glob("glupy-*.so")):
        if link.is_symlink():
            link.unlink()
            removed.append(str(link))
    return removed
