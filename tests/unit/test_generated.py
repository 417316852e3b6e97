"""Generated code and docs are up to date with the fop table (never hand-edited)."""

import subprocess
import sys

import pytest

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


def test_the_core_stub_names_everything_the_built_core_has(monkeypatch):
    from glupy import _core
    from glupy._build import corestub

    stub = docgen.CORE_PYI.read_text()
    assert stub == corestub.render()  # generated, not hand-edited (docgen --check above too)
    for name in vars(_core):
        if name.startswith("__") or name == "_C_API":
            continue
        assert f"class {name}" in stub or f"def {name}(" in stub or f"{name}:" in stub, name
        obj = getattr(_core, name)
        if isinstance(obj, type):
            for member in vars(obj):
                if not member.startswith("_"):
                    assert f"def {member}(" in stub or f"    {member}:" in stub, (name, member)
    # a name the C has and the table does not is an error, not a silent gap
    monkeypatch.setitem(corestub.TYPES, "Vector", ("", {
        k: v for k, v in corestub.TYPES["Vector"][1].items() if k != "narrow"}))
    with pytest.raises(SystemExit, match="narrow"):
        corestub.render()
