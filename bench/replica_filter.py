"""glusterd volfile filter used by bench/replica.py: inserts the C pass-through xlator.

``glupy attach`` can only insert ``features/glupy``; the C pass-through baseline goes
into the SAME place (client side right above the top cluster translator, brick side
right above storage/posix: ``glupy.deploy.filter.insert_point``) through this filter,
which replica.py installs for the duration of one run as
``<xlatordir>/../filter/glupy-bench-cpt-<pid>``::

    #!/bin/sh
    case "$1" in ROOT/*) ;; *) exit 0 ;; esac        # only this run's glusterd
    exec PYTHON -S -E bench/replica_filter.py REPO "$1" XLATOR_TYPE VOLUME=SIDE...

It touches only volfiles under the run's own temp dir, of the volumes named on its
command line; it is idempotent (glusterd runs every filter on every volfile it writes)
and never fails glusterd (errors go to ``bench-cpt-filter.log`` next to the volfile).
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
import types
from pathlib import Path

XL_SUFFIX = "-bench-cpt"


def _import_glupy(repo: str) -> None:
    # glupy/__init__ (the translator API, cffi) is not needed here and may not import
    # under -S: enter the package as a bare namespace, as glupy's own filter does
    pkg = types.ModuleType("glupy")
    pkg.__path__ = [os.path.join(repo, "glupy")]
    sys.modules.setdefault("glupy", pkg)


def run(path: Path, xl_type: str, sides: dict[str, str]) -> int:
    from glupy.deploy import filter as gfilter
    from glupy.local import volfile

    vol_dir = path.parent
    if vol_dir.parent.name != "vols" or not (vol_dir / "info").is_file():
        return 0
    volume = vol_dir.name
    side = sides.get(volume)
    kind = gfilter.volfile_kind(path, volume)
    if side is None or kind != side:
        return 0
    try:
        text = path.read_text()
        graph = volfile.parse(text)
        name = volume + XL_SUFFIX
        if name in graph:
            return 0
        if kind == "brick" and not (graph.of_type("protocol/server")
                                    and graph.of_type("storage/posix")):
            return 0
        target = gfilter.insert_point(graph, kind, "default")
        gfilter.insert(graph, target, volfile.Volume(name, xl_type, {}))
        graph.validate()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=vol_dir)
        with os.fdopen(fd, "w") as f:
            f.write(f"# bench/replica_filter.py: {name} above {target.name}\n" + graph.render())
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except Exception:
        with open(vol_dir / "bench-cpt-filter.log", "a") as f:
            f.write(f"{path.name}: {traceback.format_exc()}\n")
    return 0


def script_text(root: Path, python: str, repo: Path, xl_type: str,
                sides: dict[str, str]) -> str:
    args = " ".join(f"{v}={s}" for v, s in sides.items())
    return (f"#!/bin/sh\n# glupy bench/replica.py (pid {os.getpid()}): C pass-through into "
            f"the volfiles of {root} only; removed at the end of the run\n"
            f'case "$1" in {root}/*) ;; *) exit 0 ;; esac\n'
            f'exec {python} -S -E {Path(__file__).resolve()} {repo} "$1" {xl_type} {args}\n')


if __name__ == "__main__":
    _import_glupy(sys.argv[1])
    sides = dict(a.split("=", 1) for a in sys.argv[4:])
    sys.exit(run(Path(sys.argv[2]), sys.argv[3], sides))
