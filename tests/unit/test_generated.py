"""Generated code and docs are up to date with the fop table (never hand-edited)."""

import subprocess
import sys

from glupy import Child, Translator
from glupy._build import docgen
from glupy.fops import FOPS


def test_generated_regions_and_fop_reference_are_current():
    r = subprocess.run([sys.executable, "-m", "glupy._build.docgen", "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr + "\nrun: python -m glupy._build.docgen"


def test_every_fop_has_a_child_method_reply_class_and_reference_entry():
    md = docgen.FOPS_MD.read_text()
    for f in FOPS:
        assert callable(getattr(Child, f.name))
        assert f"## {f.name}\n" in md
    # the typing-only base does not leak into runtime Translator
    assert not any(hasattr(Translator, f.name) for f in FOPS)


def test_every_fop_argument_says_what_it_carries():
    md = docgen.FOPS_MD.read_text()
    for f in FOPS:
        for a in f.args:
            meaning = docgen.arg_meaning(f.name, a.name)
            assert meaning, f"{f.name}({a.name}) has no meaning in docgen.ARG_MEANING"
            assert f"| `{a.name}` |" in md and meaning in md
    # the facts authors tripped over are spelled out
    for fact in ("mode bitmask", "O_APPEND", "SETATTR_MODE", "XATTR_CREATE", "F_SETLKW",
                 "can be stale", "current size"):
        assert fact in md, fact
