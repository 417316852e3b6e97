"""Reload sets and all-or-nothing re-imports (glupy.runtime.loader), without GlusterFS."""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from glupy.runtime import loader

TRANSLATOR = """
from glupy import Translator
from {pkg}.helper import tag


class Probe(Translator):
    def which(self):
        return tag()
"""


def _write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text))


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package ``pkg_<random>`` with translator.py (from .helper import tag) and helper.py."""
    pkg = f"pkg_{uuid.uuid4().hex[:8]}"
    root = tmp_path / pkg
    root.mkdir()
    (root / "__init__.py").write_text("")
    _write(root / "translator.py", TRANSLATOR.format(pkg=pkg))
    _write(root / "helper.py", "def tag():\n    return 'v1'\n")
    _write(root / "unrelated.py", "X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield pkg, root
    for name in [n for n in sys.modules if n == pkg or n.startswith(pkg + ".")]:
        del sys.modules[name]


def test_reload_set_is_the_package(package):
    pkg, _ = package
    loader.load_class(f"{pkg}.translator:Probe")
    __import__(f"{pkg}.unrelated")
    assert set(loader.reload_set(f"{pkg}.translator")) == {
        pkg, f"{pkg}.translator", f"{pkg}.helper", f"{pkg}.unrelated"}


def test_a_changed_helper_is_reimported_with_its_importers(package):
    pkg, root = package
    cls = loader.load_class(f"{pkg}.translator:Probe")
    __import__(f"{pkg}.unrelated")
    unrelated = sys.modules[f"{pkg}.unrelated"]
    assert cls().which() == "v1"
    (root / "helper.py").write_text("def tag():\n    return 'v2'\n")
    r = loader.begin_reload(f"{pkg}.translator:Probe")
    r.commit()
    assert r.cls().which() == "v2"
    assert r.changed == [f"{pkg}.helper"]
    assert set(r.modules) == {f"{pkg}.translator", f"{pkg}.helper"}
    assert "(changed)" in r.describe() and f"{pkg}.helper" in r.describe()
    assert sys.modules[f"{pkg}.unrelated"] is unrelated  # unchanged, imports nothing changed
    # nothing changed since: only the translator's module is re-imported
    again = loader.begin_reload(f"{pkg}.translator:Probe")
    again.commit()
    assert again.changed == [] and again.modules == [f"{pkg}.translator"]


def test_same_size_same_second_edit_is_seen(package):
    """The bytecode cache keys on mtime seconds and size: the digest must not."""
    pkg, root = package
    loader.load_class(f"{pkg}.translator:Probe")
    helper = root / "helper.py"
    st = helper.stat()
    helper.write_text("def tag():\n    return 'v9'\n")  # same size
    import os
    os.utime(helper, ns=(st.st_atime_ns, st.st_mtime_ns))
    r = loader.begin_reload(f"{pkg}.translator:Probe")
    r.commit()
    assert r.cls().which() == "v9"


def test_a_helper_that_fails_to_import_changes_nothing(package):
    pkg, root = package
    loader.load_class(f"{pkg}.translator:Probe")
    before = {n: m for n, m in sys.modules.items() if n.startswith(pkg)}
    attr_before = sys.modules[pkg].helper
    (root / "helper.py").write_text("def tag():\n    return 'v2'\n\nundefined_name\n")
    (root / "translator.py").write_text(TRANSLATOR.format(pkg=pkg) + "\n# edited too\n")
    with pytest.raises(loader.LoadError) as info:
        loader.begin_reload(f"{pkg}.translator:Probe")
    msg = str(info.value)
    assert f"{pkg}.helper" in msg and "line 4" in msg and "NameError" in msg
    after = {n: m for n, m in sys.modules.items() if n.startswith(pkg)}
    assert after.keys() == before.keys()
    assert all(after[n] is before[n] for n in before)  # the very same module objects
    assert sys.modules[pkg].helper is attr_before
    assert sys.modules[f"{pkg}.translator"].Probe().which() == "v1"


def test_syntax_error_names_module_and_line(package):
    pkg, root = package
    loader.load_class(f"{pkg}.translator:Probe")
    (root / "helper.py").write_text("def tag():\n    return (\n")
    with pytest.raises(loader.LoadError) as info:
        loader.begin_reload(f"{pkg}.translator:Probe")
    assert f"{pkg}.helper" in str(info.value) and "SyntaxError" in str(info.value)
    assert "line" in str(info.value)


def test_rollback_restores_the_old_modules(package):
    pkg, root = package
    cls = loader.load_class(f"{pkg}.translator:Probe")
    (root / "helper.py").write_text("def tag():\n    return 'v3'\n")
    r = loader.begin_reload(f"{pkg}.translator:Probe")
    assert r.cls().which() == "v3"
    r.rollback()
    assert sys.modules[f"{pkg}.translator"].Probe is cls
    assert sys.modules[pkg].helper.tag() == "v1"
    # the change is still pending: the next reload sees it
    r2 = loader.begin_reload(f"{pkg}.translator:Probe")
    r2.commit()
    assert r2.changed == [f"{pkg}.helper"]


def test_top_level_module_reloads_its_neighbours(tmp_path, monkeypatch):
    tag = uuid.uuid4().hex[:8]
    mod, helper = f"xl_{tag}", f"helper_{tag}"
    _write(tmp_path / f"{helper}.py", "def tag():\n    return 'a'\n")
    _write(tmp_path / f"{mod}.py", f"""
        from glupy import Translator
        import {helper}

        class T(Translator):
            def which(self):
                return {helper}.tag()
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        loader.load_class(mod)
        assert set(loader.reload_set(mod)) == {mod, helper}
        (tmp_path / f"{helper}.py").write_text("def tag():\n    return 'b'\n")
        r = loader.begin_reload(mod)
        r.commit()
        assert r.cls().which() == "b" and r.changed == [helper]
    finally:
        sys.modules.pop(mod, None)
        sys.modules.pop(helper, None)


def test_declared_reload_modules(tmp_path, monkeypatch):
    tag = uuid.uuid4().hex[:8]
    shared = tmp_path / "lib"
    shared.mkdir()
    _write(shared / f"shared_{tag}.py", "V = 1\n")
    _write(tmp_path / f"xl_{tag}.py", f"""
        from glupy import Translator
        from shared_{tag} import V

        class T(Translator):
            reload_modules = ("shared_{tag}",)
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(shared))
    try:
        cls = loader.load_class(f"xl_{tag}")
        assert set(loader.reload_set(f"xl_{tag}", cls.reload_modules)) == {f"xl_{tag}", f"shared_{tag}"}
        # without the declaration the module in another directory is not covered
        assert set(loader.reload_set(f"xl_{tag}")) == {f"xl_{tag}"}
    finally:
        sys.modules.pop(f"xl_{tag}", None)
        sys.modules.pop(f"shared_{tag}", None)


def test_glupy_library_translators_reload_only_their_module():
    loader.load_class("glupy.library.readonly")
    assert list(loader.reload_set("glupy.library.readonly")) == ["glupy.library.readonly"]


def test_help_lists_every_hook():
    import pydoc

    from glupy import Translator
    from glupy.fops import PY_CBKS

    text = pydoc.render_doc(Translator, renderer=pydoc.plaintext)
    for hook in ("init", "fini", "reconfigure", "notify", "handled_fops", "on_reload",
                 "migrate_ctx", "upcall", "reload_modules", "miss_cache", "attr_cache", *PY_CBKS):
        assert hook in text, hook
