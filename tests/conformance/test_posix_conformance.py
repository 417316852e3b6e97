"""POSIX behaviour through Python translators equals plain GlusterFS.

The suite in posix_suite.py (about a hundred small checks written from the POSIX rules)
runs against three single-process FUSE mounts, each over its own fresh directory:

* plain: FUSE -> storage/posix (no translator, no Python);
* passthrough: FUSE -> glupy PassThrough (every fop through Python) -> storage/posix;
* audit: FUSE -> glupy audit (every fop recorded) -> storage/posix.

Every check's observation must be identical on the three; a difference names the check
and the field.  Some observations are also compared with the value POSIX requires, so
the suite cannot pass by both mounts being wrong in the same way.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import posix_suite
import pytest

from glupy.local import process
from glupy.local.volfile import Graph, Volume
from glupy.testing import MountFactory, require_mount_privileges

PASS = ("glupy.library.passthrough:PassThrough", {})

# (check, key path, POSIX-required value): asserted on the plain mount AND every translator mount
EXPECTED: list[tuple[str, tuple[str, ...], Any]] = [
    ("open_creat_excl_existing", ("excl",), "EEXIST"),
    ("open_creat_excl_existing", ("content",), "data"),
    ("open_creat_new_mode", ("mode",), "0o640"),
    ("open_creat_umask", ("file", "mode"), "0o750"),
    ("open_trunc", ("stat", "size"), 0),
    ("open_trunc", ("mtime_changed",), True),
    ("open_append", ("content",), "abcdefg"),
    ("open_directory_flag", ("on_file",), "ENOTDIR"),
    ("open_nofollow", ("symlink",), "ELOOP"),
    ("open_dir_for_write", ("wronly",), "EISDIR"),
    ("open_missing", ("rdonly",), "ENOENT"),
    ("rename_dir_over_empty_dir", ("rc",), "ok"),
    ("rename_dir_over_empty_dir", ("dst",), ["inside"]),
    ("rename_file_over_dir", ("rc",), "EISDIR"),
    ("rename_dir_over_file", ("rc",), "ENOTDIR"),
    ("rename_into_own_subdir", ("child",), "EINVAL"),
    ("rename_to_itself", ("listing",), ["f", "sub"]),
    ("rename_hardlinks_of_same_file", ("listing",), ["a", "b"]),
    ("rename_file_over_file", ("b_content",), "aaa"),
    ("rename_across_dirs_nlink", ("after", "p1", "nlink"), 2),
    ("rename_across_dirs_nlink", ("after", "p2", "nlink"), 3),
    ("hardlink_counts", ("three", "nlink"), 3),
    ("hardlink_counts", ("same_ino",), True),
    ("hardlink_counts", ("last", "nlink"), 1),
    ("link_errors", ("existing",), "EEXIST"),
    ("dir_nlink", ("empty", "nlink"), 2),
    ("dir_nlink", ("three_subdirs", "nlink"), 5),
    ("unlink_open_file", ("stat_after_unlink",), "ENOENT"),
    ("unlink_open_file", ("reread",), "still here and growing"),
    ("unlink_open_file", ("truncated",), "still"),
    ("unlink_errors", ("missing",), "ENOENT"),
    ("rmdir_errors", ("nonempty",), "ENOTEMPTY"),
    ("rmdir_errors", ("file",), "ENOTDIR"),
    ("mkdir_errors", ("existing_dir",), "EEXIST"),
    ("truncate_errors", ("dir",), "EISDIR"),
    ("mkfifo", ("stat", "type"), "fifo"),
    ("chown", ("both", "uid"), 1234),
    ("chown", ("gid_only", "uid"), 1234),
    ("chown", ("gid_only", "gid"), 42),
    ("chmod_times", ("ctime_changed",), True),
    ("chmod_times", ("mtime_changed",), False),
    ("utime_ns", ("file",), [1_234_567_890_987_654_321, 1_111_111_111_222_333_444]),
    ("times_on_write", ("stat", "mtime_changed"), True),
    ("times_on_truncate", ("shrink", "mtime_changed"), True),
    ("times_not_on_read", ("mtime_changed",), False),
    ("dir_times_on_create", ("creat", "mtime_changed"), True),
    ("symlink_basic", ("readlink",), "t"),
    ("symlink_basic", ("lstat", "type"), "lnk"),
    ("symlink_dangling", ("stat",), "ENOENT"),
    ("symlink_loops", ("stat",), "ELOOP"),
    ("lchown", ("link", "uid"), 1001),
    ("lchown", ("target", "uid"), 0),
    ("name_lengths", ("create_255",), "ok"),
    ("name_lengths", ("create_256",), "ENAMETOOLONG"),
    ("xattr_basic", ("create_existing",), "EEXIST"),
    ("xattr_basic", ("get_removed",), "ENODATA"),
    ("readdir_many", ("count",), 1500),
    ("readdir_many", ("match",), True),
    ("sparse_file", ("hole_zero",), True),
    ("sparse_file", ("size",), (1 << 20) + 3),
    ("user_identity", (), [65534, 65534, 65534, []]),
    ("user_root_private_file", ("read",), "EACCES"),
    ("user_write_0444_own_file", ("write",), "EACCES"),
    ("user_create_in_0555_dir", ("create",), "EACCES"),
    ("user_chmod_chown_not_owner", ("chmod",), "EPERM"),
    ("user_chmod_chown_not_owner", ("setgid_clear",), "0o755"),
    ("user_sticky_dir", ("unlink_others",), "EPERM"),
    ("user_sticky_dir", ("unlink_own",), "ok"),
    ("user_creates_in_0777_dir", ("file", "uid"), 65534),
]


def _get(obs: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        obs = obs[key]
    return obs


def _run(root: Path, label: str, out_dir: Path) -> dict[str, Any]:
    t0 = time.monotonic()
    obs = posix_suite.run_suite(root)
    elapsed = time.monotonic() - t0
    (out_dir / f"{label}.json").write_text(json.dumps(obs, indent=1, sort_keys=True))
    print(f"posix suite on {label}: {len(obs)} checks in {elapsed:.1f} s")
    return obs


def _compare(reference: dict[str, Any], other: dict[str, Any], ref_label: str, label: str) -> list[str]:
    problems = []
    for name in reference:
        if name not in other:
            problems.append(f"check {name!r}: missing on {label}")
            continue
        for line in posix_suite.diff(reference[name], other[name]):
            problems.append(f"check {name!r}: {line}  ({ref_label} != {label})")
    return problems


def _expected_problems(obs: dict[str, Any], label: str) -> list[str]:
    problems = []
    for name, path, want in EXPECTED:
        try:
            got = _get(obs[name], path)
        except (KeyError, TypeError, IndexError):
            got = f"<no {'.'.join(path)}: {obs.get(name)!r}>"
        if got != want:
            field = ".".join(path) or "(value)"
            problems.append(f"{label}: check {name!r} {field}: POSIX wants {want!r}, got {got!r}")
    return problems


@pytest.fixture
def plain_mount(tmp_path: Path):
    """FUSE -> storage/posix: the reference graph without Python."""
    require_mount_privileges()
    backend, mnt, state = tmp_path / "plain-backend", tmp_path / "plain-mnt", tmp_path / "plain-state"
    backend.mkdir()
    mnt.mkdir()
    g = Graph()
    g.add(Volume("plain-posix", "storage/posix", {"directory": str(backend)}))
    process.mount_graph(g, mnt, source_dir=backend, state_dir=state)
    try:
        yield mnt
    finally:
        process.unmount(mnt, state_dir=state)


def test_suite_is_broad() -> None:
    names = [c.name for c in posix_suite.CHECKS]
    assert len(names) >= 90, len(names)
    assert sum(c.as_user for c in posix_suite.CHECKS) >= 10
    known = set(names)
    assert not [n for n, _, _ in EXPECTED if n not in known]


def test_passthrough_and_audit_match_plain(plain_mount: Path, glupy_mount: MountFactory,
                                           tmp_path: Path) -> None:
    out_dir = tmp_path / "observations"
    out_dir.mkdir()
    results = {"plain": _run(plain_mount, "plain", out_dir)}
    pt = glupy_mount([PASS])
    results["passthrough"] = _run(pt.mountpoint, "passthrough", out_dir)
    audit_log = tmp_path / "audit.jsonl"
    au = glupy_mount([("glupy.library.audit:Audit", {"log-file": str(audit_log)})])
    results["audit"] = _run(au.mountpoint, "audit", out_dir)

    problems: list[str] = []
    for label, obs in results.items():
        crashed = [f"{label}: check {n!r} raised {o['exception']}" for n, o in obs.items()
                   if isinstance(o, dict) and "exception" in o]
        problems += crashed
        problems += _expected_problems(obs, label)
    for label in ("passthrough", "audit"):
        problems += _compare(results["plain"], results[label], "plain", label)
    for m in (pt, au):
        assert os.path.ismount(m.mountpoint), f"{m.mountpoint} went away: {m.log_tail(20)}"
    assert not problems, (f"{len(problems)} conformance difference(s) (observations in {out_dir}):\n"
                          + "\n".join(problems))
    assert audit_log.exists() and audit_log.stat().st_size > 0


def test_crypt_matches_plain(plain_mount: Path, glupy_mount: MountFactory, tmp_path: Path) -> None:
    """The same suite through crypt (format 3: sizes mapped, contents sealed per block,
    names and symlink targets encrypted)."""
    out_dir = tmp_path / "observations"
    out_dir.mkdir()
    key = tmp_path / "crypt.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    results = {"plain": _run(plain_mount, "plain", out_dir)}
    cr = glupy_mount([("glupy.library.crypt:Crypt", {"key-file": str(key), "encrypt-names": "on"})])
    results["crypt"] = _run(cr.mountpoint, "crypt", out_dir)
    visible = {n for _, dirs, files in os.walk(cr.mountpoint) for n in dirs + files}
    stored = {n for d, dirs, files in os.walk(cr.backend_dir) for n in dirs + files
              if ".glusterfs" not in (*Path(d).relative_to(cr.backend_dir).parts, n)}
    assert visible and not visible & stored, "names reached the brick in clear"
    problems: list[str] = []
    for label, obs in results.items():
        problems += [f"{label}: check {n!r} raised {o['exception']}" for n, o in obs.items()
                     if isinstance(o, dict) and "exception" in o]
        problems += _expected_problems(obs, label)
    problems += _compare(results["plain"], results["crypt"], "plain", "crypt")
    assert os.path.ismount(cr.mountpoint), f"{cr.mountpoint} went away: {cr.log_tail(20)}"
    assert not problems, (f"{len(problems)} conformance difference(s) (observations in {out_dir}):\n"
                          + "\n".join(problems))
