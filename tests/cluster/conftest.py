"""A real trusted pool: 3 glusterd peers in a fresh network namespace, one 3 x 2 volume.

The pool is shared by the tests of this directory (it takes ~10 s to start) and torn
down at the end: the client mount, every process whose command line mentions the pool's
directory (by pid), the network namespace, the bricks' /var/run/gluster sockets, and
the glupy volfile filter if this session installed it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from pool import Pool

from glupy.deploy import filter as gfilter
from glupy.local import volfile

VOLUME = "tv"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster: starts a real 3-peer glusterd pool (root, network namespaces, FUSE)")


def _require() -> None:
    if os.geteuid() != 0:
        pytest.skip("the glusterd pool needs root")
    missing = [t for t in ("glusterd", "gluster", "glusterfs", "ip", "nsenter") if not shutil.which(t)]
    if missing:
        pytest.fail(f"missing tools for the cluster tests: {', '.join(missing)}", pytrace=False)
    if not os.path.exists("/dev/fuse"):
        pytest.fail("/dev/fuse is missing", pytrace=False)


@pytest.fixture(scope="session")
def filter_installed(glusterd_lock: None) -> Iterator[Path]:
    """glupy's volfile filter in GlusterFS's filter dir (removed afterwards if we put it there)."""
    _require()
    path = gfilter.filter_path()
    preexisting = path.exists()
    dir_preexisting = path.parent.exists()
    gfilter.install(path)
    yield path
    if not preexisting:
        gfilter.uninstall(path)
        if not dir_preexisting:
            with contextlib.suppress(OSError):
                path.parent.rmdir()


@pytest.fixture(scope="session")
def user_links(glusterd_lock: None) -> Iterator[Path]:
    """<xlatordir>/user: the user/glupy-NAME.so links attach makes are removed afterwards."""
    user = volfile.xlatordir() / "user"
    preexisting = user.exists()
    before = set(user.glob("glupy-*.so")) if preexisting else set()
    yield user
    for link in set(user.glob("glupy-*.so")) - before:
        link.unlink()
    if not preexisting:
        with contextlib.suppress(OSError):
            user.rmdir()


@pytest.fixture(scope="session")
def pool(filter_installed: Path, user_links: Path) -> Iterator[Pool]:
    _require()
    root = Path(tempfile.mkdtemp(prefix="glupy-pool-", dir="/var/tmp"))
    p = Pool(root)
    t0 = time.monotonic()
    try:
        p.start()
        p.create_volume(VOLUME)
        p.mount(VOLUME)
        p.started_in = time.monotonic() - t0  # type: ignore[attr-defined]
        yield p
    finally:
        p.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def mnt(pool: Pool) -> Path:
    return pool.mounts[0]


def glupy_cli(
    pool: Pool, *args: str, check: bool = True, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run the glupy CLI (a separate process) against the test pool."""
    env = dict(os.environ, **pool.env)
    res = subprocess.run([sys.executable, "-m", "glupy.cli", *args], capture_output=True, text=True,
                         env=env, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"glupy {' '.join(args)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    return res


def drop_crypt_root_records(pool: Pool) -> None:
    """Remove crypt's name key and root name IV from every brick root: the next test
    on the shared volume attaches crypt with a key of its own."""
    for peer in pool.peers:
        for n in (1, 2):
            root = pool.brick_path(peer, n)
            for name in ("trusted.glupy.crypt.namekey", "trusted.glupy.crypt.diriv"):
                with contextlib.suppress(OSError):
                    os.removexattr(root, name)
