"""Running Python as root inside glusterfs: trusted code paths, private files, secrets.

Trusted code paths (the rule of OpenSSH's StrictModes and sudo): a process running as
root imports code only from paths that nobody but root can change.  A path is trusted
when it and every directory above it is owned by root and writable by neither group
nor other; a sticky directory (``/tmp``) above it is fine, since nobody else can
rename or replace the root-owned entry below it.  The loader checks the translator's
module, its packages, its ``__pycache__`` and every python-path entry before any of
that code runs (:func:`translator_problems`), and inside glusterfs an import guard
(:func:`install_guard`) checks every module imported later the same way.  The volfile
option ``untrusted-code warn`` lowers refusal to a warning, for test setups.

Private files: what glupy writes (state directories, volfiles) is root-only
(:func:`private_dir`, :func:`write_private`).

Secret options (``Option(..., secret=True)``): :data:`REDACTED` stands in for their
values wherever glupy shows options; ``@/path`` reads the value from a root-only file
(:func:`read_secret_file`), so that the value is neither in the volfile (which
GlusterFS prints into its log when a graph starts) nor on a command line.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import stat
import sys
import threading
import zipimport
from collections.abc import Iterable, Iterator, Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

UNTRUSTED_OPTION = "untrusted-code"
REFUSE, WARN = "refuse", "warn"
MODES = (REFUSE, WARN)
REDACTED = "<secret>"
SECRET_FILE_PREFIX = "@"

_log = logging.getLogger("glupy")
_mode = REFUSE
_warned: set[str] = set()
_state_lock = threading.Lock()
_reporter = threading.local()  # .active: the loader reports what the guard refuses


class UntrustedCodeError(ImportError):
    """Code that someone other than root could have changed; the message names the path
    and the fix.  An ImportError, so an import the guard refuses fails like one."""


def enforced() -> bool:
    """The checks apply to processes running as root (what they load runs as root)."""
    return os.geteuid() == 0


def set_mode(mode: str) -> None:
    """``refuse`` (the default) or ``warn`` (test setups: load, log a warning)."""
    if mode not in MODES:
        raise ValueError(f"option {UNTRUSTED_OPTION!r} must be one of {', '.join(MODES)}, not {mode!r}")
    global _mode
    _mode = mode


def mode() -> str:
    return _mode


# --------------------------------------------------------------------------- paths


def _stat_problem(path: str, st: os.stat_result, leaf: bool) -> str | None:
    if st.st_uid != 0:
        return f"{path} is owned by uid {st.st_uid}, not root"
    if st.st_mode & 0o022:
        # a sticky directory above the path: nobody else can replace the root-owned
        # entry below it (the path itself must not be writable, sticky or not:
        # others could add modules to it)
        if not leaf and stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX:
            return None
        who = {0o020: "group", 0o002: "other", 0o022: "group and other"}[st.st_mode & 0o022]
        return f"{path} is writable by {who} (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def _chain_problem(path: str, leaf_is_path: bool, depth: int) -> str | None:
    if depth > 40:
        return f"{path}: too many levels of symbolic links"
    prefixes = []
    p = path
    while True:
        prefixes.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    for i, comp in enumerate(reversed(prefixes)):  # from / down to the path
        leaf = leaf_is_path and i == len(prefixes) - 1
        try:
            st = os.lstat(comp)
        except OSError as e:
            return f"{comp} cannot be checked ({e.strerror})"
        if stat.S_ISLNK(st.st_mode):
            # the link itself cannot be changed (only replaced, which its directory,
            # checked above, rules out); what it points to is checked in full
            why = _chain_problem(os.path.realpath(comp), leaf, depth + 1)
        else:
            why = _stat_problem(comp, st, leaf)
        if why:
            return why
    return None


def path_problem(path: str | os.PathLike[str]) -> str | None:
    """Why someone other than root could change what ``path`` names, or None.

    A path that does not exist is judged by its nearest existing ancestor, which must
    then not be writable (sticky or not): whoever can write it can create the path."""
    p = os.path.abspath(os.fspath(path))
    while True:
        try:
            os.lstat(p)
            break
        except FileNotFoundError:
            parent = os.path.dirname(p)
            if parent == p:
                break
            p = parent
        except OSError as e:
            return f"{p} cannot be checked ({e.strerror})"
    return _chain_problem(p, True, 0)


def refusal(what: str, path: str, problem: str) -> str:
    """One log line: the refused path, why, and the fix."""
    return (f"refusing to load {what} {path} as root: {problem}, so a non-root user could "
            f"change code that runs as root; fix: keep the code in root-owned directories "
            f"that only root can write (chown root:root PATH; chmod go-w PATH), or, for a "
            f"test setup only, set option {UNTRUSTED_OPTION} {WARN}")


def spec_paths(spec: ModuleSpec) -> list[tuple[str, str]]:
    """(what, path) for everything an import of ``spec`` reads code from: the module
    file, package directories, and the cached bytecode with its ``__pycache__``."""
    out: list[tuple[str, str]] = []
    name = spec.name
    if spec.has_location and spec.origin:
        out.append((f"module {name} from", spec.origin))
    elif isinstance(spec.loader, zipimport.zipimporter):
        out.append((f"module {name} from the archive", spec.loader.archive))
    for loc in spec.submodule_search_locations or ():
        out.append((f"package {name} directory", loc))
    cached = spec.cached if spec.has_location else None
    if cached:
        pycache = os.path.dirname(cached)
        if os.path.lexists(pycache):
            out.append((f"bytecode cache of {name}", pycache))
        if os.path.lexists(cached):
            out.append((f"bytecode of {name}", cached))
    return out


def spec_problems(spec: ModuleSpec) -> list[str]:
    problems = []
    for what, path in spec_paths(spec):
        why = path_problem(path)
        if why:
            problems.append(refusal(what, path, why))
    return problems


def _find_spec(name: str, path: Sequence[str] | None) -> ModuleSpec | None:
    """What the import system would find for ``name``, without importing anything."""
    for finder in sys.meta_path:
        if isinstance(finder, _Guard):
            continue
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        spec = find(name, path)
        if spec is not None:
            return spec  # type: ignore[no-any-return]
    return None


def _resolve(module: str) -> list[ModuleSpec]:
    """The specs of ``module`` and of each package above it, found (not executed)."""
    specs: list[ModuleSpec] = []
    parts = module.split(".")
    search: Sequence[str] | None = None
    for i in range(len(parts)):
        name = ".".join(parts[: i + 1])
        loaded = sys.modules.get(name)
        spec = getattr(loaded, "__spec__", None) if loaded is not None else None
        if spec is None:
            try:
                spec = _find_spec(name, search)
            except (ImportError, ValueError):
                spec = None
        if spec is None:
            break  # the import itself reports the missing module
        specs.append(spec)
        search = spec.submodule_search_locations
        if search is None:
            break
    return specs


def translator_problems(module: str, python_path: Iterable[str] = ()) -> list[str]:
    """Everything root would refuse about loading ``module`` (``pkg.mod``, no ``:Class``)
    with ``python_path`` in front of sys.path: the entries, then the module, its packages
    and their bytecode, found without running any of it.  One message per problem."""
    problems = []
    entries = [d for d in python_path if d]
    for d in entries:
        why = path_problem(d)
        if why:
            problems.append(refusal("python-path entry", d, why))
    saved = list(sys.path)
    try:
        sys.path[:0] = [d for d in entries if d not in sys.path]
        specs = _resolve(module.partition(":")[0])
    finally:
        sys.path[:] = saved
    for spec in specs:
        problems.extend(spec_problems(spec))
    return problems


def sys_path_problems() -> list[str]:
    """Problems of the interpreter's own sys.path entries (glupy, stdlib, site-packages)."""
    problems = []
    for entry in sys.path:
        if not entry or not os.path.isabs(entry):
            problems.append(f"sys.path holds {entry!r}, the current directory")
            continue
        why = path_problem(entry)
        if why:
            problems.append(refusal("sys.path entry", entry, why))
    return problems


def harden_sys_path() -> None:
    """No current directory on sys.path.  An embedded interpreter adds none and makes
    inherited PYTHONPATH entries absolute (those are checked like every entry); this
    drops whatever is left that is empty or relative."""
    sys.path[:] = [p for p in sys.path if p and os.path.isabs(p)]


def judge(problems: list[str]) -> None:
    """Raise the first problem (refuse), or log each once (warn).  Only as root."""
    if not problems or not enforced():
        return
    if _mode == REFUSE:
        raise UntrustedCodeError(problems[0])
    for p in problems:
        with _state_lock:
            if p in _warned:
                continue
            _warned.add(p)
        _log.warning("glupy: %s (loading it anyway: option %s %s)", p, UNTRUSTED_OPTION, WARN)


# --------------------------------------------------------------------------- import guard


class _Guard(importlib.abc.MetaPathFinder):
    """First on sys.meta_path: asks the other finders, checks what they found before
    it runs (every import in the process, also those a translator makes in a fop)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: Any = None) -> ModuleSpec | None:
        if not enforced():
            return None
        spec = _find_spec(fullname, path)
        if spec is None:
            return None
        problems = spec_problems(spec)
        if problems and _mode == REFUSE and not getattr(_reporter, "active", False):
            with _state_lock:
                first = problems[0] not in _warned
                _warned.add(problems[0])
            if first:  # also when the importer catches ImportError and moves on
                _log.error("glupy: %s", problems[0])
        judge(problems)
        return spec


def install_guard() -> None:
    if not any(isinstance(f, _Guard) for f in sys.meta_path):
        sys.meta_path.insert(0, _Guard())


def remove_guard() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Guard)]


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """The guard for the duration of a block (unless it is installed for good); the
    caller reports a refusal itself (the guard logs it only outside such blocks)."""
    installed = any(isinstance(f, _Guard) for f in sys.meta_path)
    outer = getattr(_reporter, "active", False)
    if not installed:
        install_guard()
    _reporter.active = True
    try:
        yield
    finally:
        _reporter.active = outer
        if not installed:
            remove_guard()


# --------------------------------------------------------------------------- private files


def private_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a directory only its owner can enter (0700), created if needed."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(p, 0o700)
    return p


def write_private(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` as a file only its owner can read (0600), replacing
    it atomically (an existing file with a wider mode is never rewritten in place)."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def open_private(path: str | os.PathLike[str], mode: int = 0o600,
                 group: int | None = None) -> int:
    """Open ``path`` for appending, created with ``mode`` (and ``group``); an existing
    file gets that mode and group too.  Returns the file descriptor."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        if group is not None:
            os.fchown(fd, -1, group)
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


# --------------------------------------------------------------------------- secrets


def is_secret_file_ref(text: str) -> bool:
    return text.startswith(SECRET_FILE_PREFIX + "/")


def read_secret_file(key: str, text: str) -> str:
    """The value of secret option ``key`` given as ``@/path``: the file's contents
    without the trailing newline.  As root the file must be trusted (root-owned, not
    writable by others) and readable by nobody but root.  ValueError never shows the
    contents."""
    path = text[len(SECRET_FILE_PREFIX):]
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise ValueError(f"option {key!r}: cannot read {path}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if enforced():
            why = path_problem(path)
            if why:
                raise ValueError(f"option {key!r}: {path}: {why}")
            if st.st_mode & 0o077:
                raise ValueError(f"option {key!r}: {path} is readable by others "
                                 f"(mode {stat.S_IMODE(st.st_mode):04o}): chmod 600 {path}")
        data = f.read(1 << 20)
    try:
        return data.decode().rstrip("\r\n")
    except UnicodeDecodeError:
        raise ValueError(f"option {key!r}: {path} is not UTF-8 text") from None
