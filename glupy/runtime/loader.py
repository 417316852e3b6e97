"""Find a translator class from ``package.module[:Class]`` (volfile ``option module``),
and re-import it with the modules it uses (hot reload).

The modules a reload covers (its *reload set*), for a translator in module ``M``:

* ``Translator.reload_modules`` if the class sets it: module names, each also
  covering its submodules (``("mypkg", "shared.util")``);
* else, when ``M`` is in a package ``P`` (``P.x.y``): every loaded module of ``P``;
* else (``M`` is a top-level module): every loaded top-level module or package
  that lives in ``M``'s own directory (helpers next to it), unless that directory
  is site-packages or the standard library.

glupy's own modules are never part of a set (``glupy.library.*`` translators
reload just their module).  A reload re-imports, into new module objects, the
translator's module, every module of the set whose source changed on disk
since it was imported, and every module of the set that imports one of those
(directly or through others; found from the ``import`` statements), so that
``from helper import f`` picks up the new ``f``.  It is all or nothing: if any
of them fails to import, every module goes back to the old one.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib
import importlib.util
import os
import site
import sys
import sysconfig
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType

from glupy.runtime import security
from glupy.translator import Translator


class LoadError(Exception):
    """The translator cannot be loaded; the message says why in one line."""


def add_python_path(dirs: Iterable[str]) -> None:
    for d in reversed([d for d in dirs if d]):
        if d not in sys.path:
            sys.path.insert(0, d)


_GLUPY_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__))) + os.sep  # glupy/
_STDLIB_DIR = os.path.realpath(sysconfig.get_paths()["stdlib"]) + os.sep

# module name -> sha256 of its source when it was last imported by the loader
_digests: dict[str, bytes] = {}
# translator module name -> time of its last load or committed reload
_loaded_at: dict[str, float] = {}


def _source_file(module: ModuleType) -> str | None:
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return None  # builtins, extension modules, namespace packages
    return str(path)


def _digest(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).digest()
    except OSError:
        return None


def _library_dirs() -> set[str]:
    dirs = {*site.getsitepackages(), site.getusersitepackages()}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with_key = sysconfig.get_paths().get(key)
        if with_key:
            dirs.add(with_key)
    return {os.path.realpath(d) for d in dirs}


def _is_glupy(name: str) -> bool:
    return name == "glupy" or name.startswith("glupy.")


def reload_set(modname: str, declared: Iterable[str] | None = None) -> dict[str, ModuleType]:
    """The loaded modules a reload of translator module ``modname`` covers (see the
    module docstring), the translator's module included."""
    out: dict[str, ModuleType] = {}
    loaded = dict(sys.modules)
    main = loaded.get(modname)
    if main is not None:
        out[modname] = main
    if declared:
        prefixes = tuple(declared)
        for name, mod in loaded.items():
            if any(name == p or name.startswith(p + ".") for p in prefixes) and not _is_glupy(name):
                out[name] = mod
        return out
    if _is_glupy(modname):
        return out
    if "." in modname:
        top = modname.split(".", 1)[0]
        for name, mod in loaded.items():
            if name == top or name.startswith(top + "."):
                out[name] = mod
        return out
    path = _source_file(main) if main is not None else None
    if path is None:
        return out
    here = os.path.realpath(os.path.dirname(path))
    if here in _library_dirs():
        return out
    for name, mod in loaded.items():
        top = name.split(".", 1)[0]
        top_mod = loaded.get(top)
        file = _source_file(top_mod) if top_mod is not None else None
        if file is None or _is_glupy(name):
            continue
        # helper.py next to the translator, or helper/__init__.py below its directory
        parent = os.path.dirname(file)
        if file.endswith("__init__.py"):
            parent = os.path.dirname(parent)
        if os.path.realpath(parent) == here:
            out[name] = mod
    return out


def _imports(name: str, module: ModuleType, candidates: set[str]) -> set[str]:
    """The modules among ``candidates`` that ``module``'s source imports."""
    path = _source_file(module)
    if path is None:
        return set()
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return set()
    is_pkg = path.endswith("__init__.py")
    package = name if is_pkg else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str) -> None:
        # "a.b.c" imports a, a.b and a.b.c
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in candidates:
                found.add(prefix)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".") if package else []
                if node.level > 1:
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts)
                target = f"{base}.{node.module}" if node.module and base else (node.module or base)
            else:
                target = node.module or ""
            if target:
                add(target)
                for alias in node.names:  # from pkg import submodule
                    add(f"{target}.{alias.name}")
    found.discard(name)
    return found


def _remember(modules: Iterable[str]) -> None:
    for name in modules:
        mod = sys.modules.get(name)
        path = _source_file(mod) if mod is not None else None
        digest = _digest(path) if path else None
        if digest is not None:
            _digests[name] = digest


def _changed(members: dict[str, ModuleType], since: float) -> list[str]:
    out = []
    for name, mod in members.items():
        path = _source_file(mod)
        if path is None:
            continue
        known = _digests.get(name)
        if known is not None:
            now = _digest(path)
            if now is None or now != known:
                out.append(name)  # edited or deleted
        elif not _bytecode_current(path) and _mtime(path) >= since:
            # imported after the last (re)load, in a fop or by another module: no
            # digest, so an edit since that (re)load counts as a change
            out.append(name)
    return sorted(out)


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return float("inf")  # deleted: the re-import says what is wrong


def _bytecode_current(path: str) -> bool:
    """Whether ``path``'s cached bytecode was compiled from its present source
    (same mtime and size, as the import system checks)."""
    try:
        with open(importlib.util.cache_from_source(path), "rb") as f:
            header = f.read(16)
        st = os.stat(path)
    except (OSError, NotImplementedError, ValueError):
        return False
    if len(header) < 16 or int.from_bytes(header[4:8], "little") != 0:
        return False  # hash-based pyc: treat as changed
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    return mtime == int(st.st_mtime) & 0xFFFFFFFF and size == st.st_size & 0xFFFFFFFF


@dataclass
class Reload:
    """A reload that imported its modules and can still be undone: ``commit()`` once
    the new translator runs, ``rollback()`` if it will not (nothing half-reloaded)."""

    cls: type[Translator]
    modules: list[str]  # re-imported, in import order
    changed: list[str]  # of those, the ones whose source changed on disk
    _old: dict[str, ModuleType | None] = field(default_factory=dict, repr=False)
    _modname: str = ""
    _started: float = 0.0

    def commit(self) -> None:
        _remember(self.modules)
        _remember(reload_set(self._modname, getattr(self.cls, "reload_modules", None)))
        _loaded_at[self._modname] = self._started
        self._old.clear()

    def rollback(self) -> None:
        _restore(self._old)
        self._old.clear()

    def describe(self) -> str:
        return ", ".join(f"{m} (changed)" if m in self.changed else m for m in self.modules)


def _restore(old: dict[str, ModuleType | None]) -> None:
    for name, mod in old.items():
        if mod is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = mod
        parent, _, child = name.rpartition(".")
        parent_mod = sys.modules.get(parent) if parent else None
        if parent_mod is not None:
            # the import system set parent.child to the new module
            if mod is None:
                if child in vars(parent_mod):
                    delattr(parent_mod, child)
            else:
                setattr(parent_mod, child, mod)


def _blame(e: BaseException, files: dict[str, str], fallback: str) -> str:
    """'module (file, line N)' for the innermost place of ``e`` in the reload set."""
    if isinstance(e, SyntaxError) and e.filename:
        name = files.get(os.path.realpath(e.filename), fallback)
        return f"{name} ({e.filename}, line {e.lineno})"
    where = None
    for frame in traceback.extract_tb(e.__traceback__):
        owner = files.get(os.path.realpath(frame.filename))
        if owner is not None:
            where = f"{owner} ({frame.filename}, line {frame.lineno})"
    if where is None:
        # a module outside the set (a new file, a dependency): the innermost frame
        # that is neither importlib's nor glupy's
        for frame in reversed(traceback.extract_tb(e.__traceback__)):
            real = os.path.realpath(frame.filename)
            if not frame.filename.startswith("<") and not real.startswith(_GLUPY_DIR) \
                    and not real.startswith(_STDLIB_DIR):
                return f"{fallback} ({frame.filename}, line {frame.lineno})".strip()
    return where or fallback


def _files_of(names: Iterable[str], modules: dict[str, ModuleType]) -> dict[str, str]:
    out = {}
    for name in names:
        mod = modules.get(name)
        path = _source_file(mod) if mod is not None else None
        if path:
            out[os.path.realpath(path)] = name
    return out


def begin_reload(spec: str, declared: Iterable[str] | None = None,
                 python_path: Iterable[str] = ()) -> Reload:
    """Re-import the translator of ``spec`` and the modules of its reload set that
    changed (and those importing them); raise LoadError with everything as it was
    if any import or the class lookup fails.  The trust checks of load_class apply."""
    modname = spec.partition(":")[0]
    if not modname:
        raise LoadError(f"empty module name in {spec!r}")
    _trusted(modname, python_path)
    started = time.time()
    members = reload_set(modname, declared)
    changed = _changed(members, _loaded_at.get(modname, 0.0))
    deps = {name: _imports(name, mod, set(members)) for name, mod in members.items()}
    todo = {modname, *changed}
    grew = True
    while grew:  # every module importing one being re-imported is re-imported too
        grew = False
        for name, uses in deps.items():
            if name not in todo and uses & todo:
                todo.add(name)
                grew = True
    files = _files_of(members, members)
    old: dict[str, ModuleType | None] = {name: sys.modules.get(name) for name in todo}
    for name in todo:
        sys.modules.pop(name, None)
        mod = members.get(name)
        path = _source_file(mod) if mod is not None else None
        if path and name in changed:
            # the bytecode cache trusts mtime (seconds) and size: a quick edit that
            # keeps both would import the old code
            cached = importlib.util.cache_from_source(path)
            with contextlib.suppress(OSError):
                os.unlink(cached)
    order: list[str] = []
    current = modname
    try:
        importlib.invalidate_caches()
        with security.guarded():
            importlib.import_module(modname)
            # members that the translator's module does not import (directly or not)
            for name in sorted(todo, key=lambda n: n.count(".")):
                current = name
                if name not in sys.modules:
                    importlib.import_module(name)
        current = modname
        cls = _find_class(spec, sys.modules[modname])
    except LoadError:
        _restore(old)
        raise
    except security.UntrustedCodeError as e:
        _restore(old)
        raise LoadError(str(e)) from None
    except Exception as e:
        _restore(old)
        new_files = _files_of(todo, dict(sys.modules)) | files
        where = _blame(e, new_files, current)
        raise LoadError(f"cannot import {where}: {type(e).__name__}: {e}") from e
    for name in sys.modules:
        if name in todo:
            order.append(name)
    return Reload(cls, order, [c for c in changed if c in todo], old, modname, started)


def _trusted(modname: str, python_path: Iterable[str]) -> None:
    """As root: refuse python-path entries, modules, packages and bytecode that
    someone else could change (glupy.runtime.security), then put python_path first."""
    python_path = [d for d in python_path if d]
    importlib.invalidate_caches()
    try:
        security.judge(security.translator_problems(modname, python_path))
    except security.UntrustedCodeError as e:
        raise LoadError(str(e)) from None
    add_python_path(python_path)


def load_class(spec: str, *, reload: bool = False,
               python_path: Iterable[str] = ()) -> type[Translator]:
    """Import the translator class of ``spec`` with ``python_path`` first on sys.path.

    As root, the python-path entries, the module, its packages and their bytecode
    must be trusted (glupy.runtime.security) before any of it runs, and every module the
    import pulls in is checked as it is found: LoadError names the path and the fix.
    ``reload=True``: begin_reload() and commit() in one go.
    """
    if reload:
        r = begin_reload(spec, python_path=python_path)
        r.commit()
        return r.cls
    modname, _, _ = spec.partition(":")
    if not modname:
        raise LoadError(f"empty module name in {spec!r}")
    _trusted(modname, python_path)
    started = time.time()
    try:
        with security.guarded():
            module = importlib.import_module(modname)
    except Exception as e:
        if isinstance(e, security.UntrustedCodeError):
            raise LoadError(str(e)) from None
        where = ""
        if isinstance(e, SyntaxError) and e.filename:
            where = f" ({e.filename}, line {e.lineno})"
        else:
            blamed = _blame(e, {}, "")
            if "(" in blamed:
                where = " " + blamed.strip()
        raise LoadError(f"cannot import translator module {modname!r}: "
                        f"{type(e).__name__}: {e}{where}") from e
    cls = _find_class(spec, module)
    _remember(reload_set(modname, getattr(cls, "reload_modules", None)))
    _loaded_at.setdefault(modname, started)
    return cls


def _find_class(spec: str, module: ModuleType) -> type[Translator]:
    modname, _, clsname = spec.partition(":")
    if clsname:
        cls = getattr(module, clsname, None)
        if cls is None:
            raise LoadError(f"module {modname!r} has no class {clsname!r}")
    else:
        found = [v for v in vars(module).values()
                 if isinstance(v, type) and issubclass(v, Translator) and v is not Translator
                 and v.__module__ == module.__name__]
        if len(found) != 1:
            names = ", ".join(c.__name__ for c in found) or "none"
            raise LoadError(f"module {modname!r} must define exactly one Translator subclass "
                            f"(found: {names}); name one with 'option module {modname}:Class'")
        cls = found[0]
    if not (isinstance(cls, type) and issubclass(cls, Translator)):
        raise LoadError(f"{spec!r} is not a glupy.Translator subclass")
    problems = cls.problems()
    if problems:
        raise LoadError(f"{spec}: " + "; ".join(problems))
    return cls
