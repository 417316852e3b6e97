"""docs/tutorial.md, run as written: its ``sh`` blocks in order in one bash (from the
checkout, as a reader after README's set-up), its ``# file:`` / ``# append-to:`` Python
blocks written where they appear, each ``text`` block checked against the output of
the ``sh`` block before it (every line, in order, as part of an output line; ``...``
stands for anything).

Marks (an HTML comment right before a block): ``<!-- test: fails -->`` the block must
exit non-zero; ``<!-- test: glusterd -->`` the block needs glusterd: the whole run then
holds /tmp/glupy-glusterd.lock (the GlusterFS filter directory is global), and
GLUPY_TUTORIAL_NO_GLUSTERD=1 leaves those blocks out (the test says so).

Afterwards the tutorial's step-5 tests are run against each version of negcache.py:
step 1 must fail the cache test, step 2 must fail the visibility test (the bug step 3
fixes), steps 3 and 4 must pass both.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(r"(?:<!-- test: (?P<mark>[\w-]+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)^```",
                   re.S | re.M)


@dataclass
class Step:
    lang: str
    body: str
    mark: str | None = None
    expect: list[str] = field(default_factory=list)


def steps() -> list[Step]:
    out: list[Step] = []
    for m in BLOCK.finditer(TUTORIAL.read_text()):
        lang, body = m.group("lang"), m.group("body")
        if lang == "text":
            assert out and out[-1].lang == "sh", f"a text block must follow an sh block: {body!r}"
            out[-1].expect = [line for line in body.splitlines() if line.strip()]
        else:
            out.append(Step(lang, body, m.group("mark")))
    return out


def versions(name: str) -> list[str]:
    """Each complete version of file ``name`` the tutorial writes, in order."""
    out = []
    for s in steps():
        first, _, rest = s.body.partition("\n")
        if s.lang == "python" and first.strip() == f"# file: {name}":
            out.append(rest)
    return out


def script(all_steps: list[Step], outdir: Path, with_glusterd: bool) -> str:
    lines = ["set -euo pipefail"]
    for i, s in enumerate(all_steps):
        if s.lang == "python":
            first, _, rest = s.body.partition("\n")
            m = re.fullmatch(r"# (file|append-to): (\S+)", first.strip())
            assert m, f"python block {i} does not start with '# file: NAME' or '# append-to: NAME'"
            op = ">" if m.group(1) == "file" else ">>"
            lines.append(f"cat {op} {shlex.quote(m.group(2))} <<'GLUPY_TUTORIAL_EOF'\n{rest}"
                         "GLUPY_TUTORIAL_EOF")
            continue
        if s.lang != "sh":
            continue
        if s.mark == "glusterd" and not with_glusterd:
            lines.append(f"echo skipped > {outdir}/{i}.skipped")
            continue
        out = f"{outdir}/{i}.out"
        if s.mark == "fails":
            lines.append(f"set +e\n{{\n{s.body}}} > {out} 2>&1\necho $? > {outdir}/{i}.rc\nset -e")
        else:
            lines.append(f"{{\n{s.body}}} > {out} 2>&1\necho 0 > {outdir}/{i}.rc")
    return "\n".join(lines) + "\n"


def check_output(i: int, s: Step, outdir: Path) -> None:
    rc_file = outdir / f"{i}.rc"
    out = (outdir / f"{i}.out").read_text() if (outdir / f"{i}.out").exists() else ""
    assert rc_file.exists(), f"block {i} failed:\n{s.body}\n--- output ---\n{out}"
    rc = int(rc_file.read_text())
    if s.mark == "fails":
        assert rc != 0, f"block {i} should fail but exited 0:\n{s.body}\n--- output ---\n{out}"
    lines = out.splitlines()
    at = 0
    for want in s.expect:
        # "..." in the text stands for what differs between runs (paths, pids, times)
        pattern = re.compile(".*".join(re.escape(part) for part in want.strip().split("...")))
        while at < len(lines) and not pattern.search(lines[at]):
            at += 1
        assert at < len(lines), (f"block {i}: expected line {want!r} not found (in order) in:\n"
                                 f"{out}\n--- block ---\n{s.body}")
        at += 1


def _glusterd_running() -> bool:
    r = subprocess.run(["gluster", "--mode=script", "pool", "list"], capture_output=True, timeout=60)
    return r.returncode == 0


def _host_glusterds() -> set[int]:
    """Pids of glusterd processes started plainly (`glusterd`, as the tutorial does);
    test pools run theirs with --xlator-option."""
    out = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"glusterd" and b"--xlator-option" not in argv:
            out.add(int(proc.name))
    return out


def _cleanup(work: Path, glusterds_before: set[int] | None) -> None:
    """Unmount, remove the tutorial's volume, stop a glusterd the tutorial started."""
    for mnt in (work / "mnt", work / "vol"):
        if mnt.exists() and os.path.ismount(mnt):
            subprocess.run([sys.executable, "-m", "glupy.cli", "umount", str(mnt)],
                           capture_output=True, timeout=60)
            if os.path.ismount(mnt):
                subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=60)
    if glusterds_before is None:
        return
    if _glusterd_running():
        vols = subprocess.run(["gluster", "--mode=script", "volume", "list"], capture_output=True,
                              text=True, timeout=60).stdout.split()
        if "negvol" in vols:
            subprocess.run([sys.executable, "-m", "glupy.cli", "detach", "negvol", "neg"],
                           capture_output=True, timeout=300)
            subprocess.run(["gluster", "--mode=script", "volume", "stop", "negvol", "force"],
                           capture_output=True, timeout=120)
            subprocess.run(["gluster", "--mode=script", "volume", "delete", "negvol"],
                           capture_output=True, timeout=120)
    for pid in _host_glusterds() - glusterds_before:
        os.kill(pid, signal.SIGTERM)


@pytest.mark.skipif(os.geteuid() != 0, reason="the tutorial runs as root (FUSE, glusterd)")
def test_tutorial_runs_as_written(tmp_path, request):
    if not (ROOT / ".venv" / "bin" / "activate").exists():
        pytest.fail("no .venv in the checkout: run scripts/setup.sh (README)", pytrace=False)
    with_glusterd = os.environ.get("GLUPY_TUTORIAL_NO_GLUSTERD") != "1" and bool(shutil.which("glusterd"))
    all_steps = steps()
    assert any(s.mark == "glusterd" for s in all_steps)
    work = tmp_path / "negcache"
    outdir = tmp_path / "out"
    outdir.mkdir()
    (tmp_path / "tutorial.sh").write_text(script(all_steps, outdir, with_glusterd))
    env = dict(os.environ, NEGCACHE=str(work))
    env.pop("VIRTUAL_ENV", None)
    with contextlib.ExitStack() as stack:
        glusterds_before = None
        if with_glusterd:
            # held for the run and the clean-up: the filter directory and the host's
            # glusterd are shared with every other glusterd test
            request.getfixturevalue("glusterd_lock")
            glusterds_before = _host_glusterds()
        stack.callback(_cleanup, work, glusterds_before)
        r = subprocess.run(["bash", str(tmp_path / "tutorial.sh")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=900)
        for i, s in enumerate(all_steps):
            if s.lang != "sh" or (outdir / f"{i}.skipped").exists():
                continue
            check_output(i, s, outdir)
        assert r.returncode == 0, r.stdout + r.stderr
    if not with_glusterd:
        pytest.skip("step 6 (glusterd volume) left out: GLUPY_TUTORIAL_NO_GLUSTERD=1 or no glusterd")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")
def test_step5_tests_catch_the_bugs_of_earlier_steps(tmp_path):
    code = versions("negcache.py")
    tests = versions("test_negcache.py")
    assert len(code) == 4 and len(tests) == 1
    (tmp_path / "test_negcache.py").write_text(tests[0])
    expected_failures = [{"test_misses_are_cached"},                # step 1: no cache at all
                         {"test_created_name_is_visible_at_once"},  # step 2: stale miss
                         set(), set()]                              # steps 3 and 4
    for step, (source, want) in enumerate(zip(code, expected_failures, strict=True), start=1):
        (tmp_path / "negcache.py").write_text(source)
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf",
                            "test_negcache.py"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
        failed = set(re.findall(r"^FAILED test_negcache\.py::(\w+)", r.stdout, re.M))
        assert failed == want, f"step {step}:\n{r.stdout[-3000:]}\n{r.stderr[-2000:]}"
    # what step 5 says about the default entry timeout: it hides step 2's bug
    assert ", entry_timeout=0)" in tests[0]
    (tmp_path / "test_negcache.py").write_text(tests[0].replace(", entry_timeout=0)", ")"))
    (tmp_path / "negcache.py").write_text(code[1])
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf",
                        "test_negcache.py::test_created_name_is_visible_at_once"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:]
