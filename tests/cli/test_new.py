"""glupy new: the scaffold passes its own tests, using glupy.testing from outside this repo."""

import os
import subprocess
import sys

import pytest

from glupy.cli.scaffold import new


def test_scaffold_passes_its_own_tests(tmp_path):
    root = new("hide-secrets", tmp_path)
    assert (root / "hide_secrets" / "translator.py").exists()
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                       cwd=root, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    expected = "2 passed" if os.geteuid() == 0 else "1 passed, 1 skipped"
    assert expected in r.stdout


def test_refuses_bad_names_and_existing_dirs(tmp_path):
    with pytest.raises(ValueError):
        new("class", tmp_path)
    new("x", tmp_path)
    with pytest.raises(FileExistsError):
        new("x", tmp_path)
