"""Find a translator class from ``package.module[:Class]`` (volfile ``option module``)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable

from glupy import security
from glupy.translator import Translator


class LoadError(Exception):
    """The translator cannot be loaded; the message says why in one line."""


def add_python_path(dirs: Iterable[str]) -> None:
    for d in reversed([d for d in dirs if d]):
        if d not in sys.path:
            sys.path.insert(0, d)


def load_class(spec: str, *, reload: bool = False,
               python_path: Iterable[str] = ()) -> type[Translator]:
    """Import the translator class of ``spec`` with ``python_path`` first on sys.path.

    As root, the python-path entries, the module, its packages and their bytecode
    must be trusted (glupy.security) before any of it runs, and every module the
    import pulls in is checked as it is found: LoadError names the path and the fix.
    """
    modname, _, clsname = spec.partition(":")
    if not modname:
        raise LoadError(f"empty module name in {spec!r}")
    python_path = [d for d in python_path if d]
    importlib.invalidate_caches()
    try:
        security.judge(security.translator_problems(modname, python_path))
    except security.UntrustedCodeError as e:
        raise LoadError(str(e)) from None
    add_python_path(python_path)
    old = sys.modules.pop(modname, None) if reload else None
    try:
        # a reload imports into a NEW module object: code still running (fops in
        # flight) keeps the old module's globals, new fops see the new ones
        with security.guarded():
            module = importlib.import_module(modname)
    except Exception as e:
        if old is not None:
            sys.modules[modname] = old
        if isinstance(e, security.UntrustedCodeError):
            raise LoadError(str(e)) from None
        where = ""
        if isinstance(e, SyntaxError) and e.filename:
            where = f" ({e.filename}, line {e.lineno})"
        raise LoadError(f"cannot import translator module {modname!r}: "
                        f"{type(e).__name__}: {e}{where}") from e
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
