"""``glupy new NAME``: a translator package that passes its own test at once."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

TRANSLATOR = '''"""{title}: a GlusterFS translator written in Python with glupy.

Hides names ending in ``suffix`` from lookup, so they cannot be opened or
stat'ed through the mount (they still exist on the bricks).  Replace the body
of ``lookup`` (or add other fops: see ``glupy check {package}.translator``
and the fop reference) with what your translator does.
"""

import errno

from glupy import FopError, Option, Translator


class {cls}(Translator):
    """Hide names ending in ``suffix``."""

    suffix = Option(str, default=".hidden", doc="names ending with this are hidden")

    async def lookup(self, loc, xdata):
        if loc.name and loc.name.endswith(self.suffix):
            raise FopError(errno.ENOENT)
        return await self.child.lookup(loc, xdata)
'''

TEST = '''"""Runs {cls} in a real single-process GlusterFS graph (needs root and FUSE)."""

from pathlib import Path

import pytest

from glupy.cli.check import check

ROOT = str(Path(__file__).resolve().parents[1])
SPEC = "{package}.translator:{cls}"
# A test setup: this checkout may belong to you, and as root glusterfs loads code only
# from paths nobody but root can change (glupy's docs/security.md); here it loads it
# with a warning instead.  Deployed code is installed by root and needs no such option.
TEST_SETUP = {{"untrusted-code": "warn"}}


def test_translator_loads_cleanly():
    report = check(SPEC, [ROOT], allow_untrusted_code=True)
    assert report.ok, report.render()
    assert report.fops == ["lookup"]


def test_hides_names_through_a_real_mount(glupy_mount):
    m = glupy_mount([(SPEC, {{**TEST_SETUP, "suffix": ".secret"}})], python_path=[ROOT])
    (m.backend_dir / "plan.secret").write_text("hidden")
    (m.backend_dir / "notes.txt").write_text("visible")
    assert (m.mountpoint / "notes.txt").read_text() == "visible"
    with pytest.raises(FileNotFoundError):
        (m.mountpoint / "plan.secret").stat()
'''

PYPROJECT = '''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1.0"
description = "A GlusterFS translator written in Python (glupy)"
requires-python = ">=3.11"
dependencies = ["glupy"]

[tool.setuptools]
packages = ["{package}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

README = '''# {name}

A GlusterFS translator written in Python with [glupy](https://pypi.org/project/glupy/).

```sh
glupy check {package}.translator --python-path .      # fops, options, problems
sudo python -m pytest                                  # mounts it for real
sudo glupy mount -t {package}.translator:{cls} -o suffix=.secret \\
    --python-path . /srv/data /mnt/data                # try it on a directory
```

As root, glusterfs loads code only from paths nobody but root can change (see
glupy's docs/security.md): in a checkout you own, the mount above
needs `--allow-untrusted-code` (the test sets option `untrusted-code warn`: test
setups only); install the package as root for real use.

In a volfile (or via `glupy attach VOLUME {package}.translator:{cls}`):

```
volume {package}
    type features/glupy
    option module {package}.translator:{cls}
    option suffix .secret
    subvolumes CHILD
end-volume
```
'''

CONFTEST = '''pytest_plugins = ["glupy.testing"]
'''


def new(name: str, dest: Path) -> Path:
    package = re.sub(r"\W", "_", name.lower()).strip("_")
    if not package or not package.isidentifier() or keyword.iskeyword(package):
        raise ValueError(f"{name!r} does not make a Python package name")
    cls = "".join(p.capitalize() for p in package.split("_"))
    root = dest / name
    if root.exists():
        raise FileExistsError(f"{root} already exists")
    values = {"name": name, "package": package, "cls": cls, "title": name}
    files = {
        f"{package}/__init__.py": f'"""{name}: a glupy translator."""\n',
        f"{package}/translator.py": TRANSLATOR.format(**values),
        "tests/test_translator.py": TEST.format(**values),
        "tests/conftest.py": CONFTEST,
        "pyproject.toml": PYPROJECT.format(**values),
        "README.md": README.format(**values),
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
