"""GlusterFS volfiles as data: build, render and parse translator graphs.

A volfile is a list of ``volume`` blocks; a volume may only name subvolumes defined
*before* it, so the last volume is the top of the graph (the one FUSE or gfapi sits on).

Quoting follows GlusterFS 10's parser (``libglusterfs/src/graph.l``/``graph.y``):

* a bare word is any run of characters other than space, tab, CR, LF, ``"`` and ``\\``;
  a word that *starts* with ``#`` is a comment, and the exact words ``volume``, ``type``,
  ``option``, ``end-volume`` and ``subvolumes`` are keywords;
* anything else is written as a double-quoted string in which ``\\x`` stands for ``x``;
* before parsing, GlusterFS runs every unescaped back-quoted text as a shell command and
  pastes its output, anywhere in the file (even in comments and strings): a back-quote in
  a value is therefore always escaped (``\\```);
* a value cannot contain a newline, and an empty value (``""``) is rejected by the parser
  ("Invalid argument") and the option dropped: both are refused here with ValueError.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "GLUPY_TYPE",
    "Graph",
    "VolfileError",
    "Volume",
    "bridge_so_path",
    "bridge_type",
    "parse",
    "quote",
    "single_process_graph",
    "split_module_spec",
    "xlatordir",
]

GLUPY_TYPE = "features/glupy"

_KEYWORDS = frozenset({"volume", "type", "option", "end-volume", "subvolumes"})
_BARE_RE = re.compile(r'[^ \t\r\n"\\`]+')
_WORD_RE = re.compile(r'[^ \t\r\n"\\]+')
_MODULE_RE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*(:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*)?$")


class VolfileError(ValueError):
    """A graph that GlusterFS would not accept (or that this module cannot write)."""


# --------------------------------------------------------------------------- quoting


def quote(word: str) -> str:
    """Return ``word`` as one volfile token (bare if possible, else double-quoted)."""
    if not isinstance(word, str):
        raise VolfileError(f"volfile words must be str, not {type(word).__name__}")
    if word == "":
        raise VolfileError("GlusterFS volfiles cannot hold an empty value")
    if "\n" in word or "\0" in word:
        raise VolfileError(f"GlusterFS volfiles cannot hold a newline or NUL: {word!r}")
    if _BARE_RE.fullmatch(word) and not word.startswith("#") and word.lower() not in _KEYWORDS:
        return word
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
    return f'"{escaped}"'


# --------------------------------------------------------------------------- model


@dataclass
class Volume:
    """One ``volume`` block: a translator instance."""

    name: str
    type: str
    options: dict[str, str] = field(default_factory=dict)
    subvolumes: list[str] = field(default_factory=list)

    def render(self, indent: str = "    ") -> str:
        lines = [f"volume {quote(self.name)}", f"{indent}type {quote(self.type)}"]
        for key, value in self.options.items():
            if not isinstance(value, str):
                raise VolfileError(
                    f"volume {self.name!r}: option {key!r} must be a str, "
                    f"not {type(value).__name__}"
                )
            lines.append(f"{indent}option {quote(key)} {quote(value)}")
        if self.subvolumes:
            lines.append(f"{indent}subvolumes " + " ".join(quote(s) for s in self.subvolumes))
        lines.append("end-volume")
        return "\n".join(lines) + "\n"


@dataclass
class Graph:
    """An ordered list of volumes; every subvolume is defined before its parent."""

    volumes: list[Volume] = field(default_factory=list)

    def __iter__(self) -> Iterator[Volume]:
        return iter(self.volumes)

    def __len__(self) -> int:
        return len(self.volumes)

    def __contains__(self, name: object) -> bool:
        return any(v.name == name for v in self.volumes)

    def __getitem__(self, name: str) -> Volume:
        for volume in self.volumes:
            if volume.name == name:
                return volume
        raise KeyError(name)

    @property
    def top(self) -> Volume:
        """The top-most volume (the last one), which the mount sits on."""
        if not self.volumes:
            raise VolfileError("empty graph")
        return self.volumes[-1]

    def add(self, volume: Volume) -> Volume:
        """Append ``volume`` (it becomes the new top) and return it."""
        if volume.name in self:
            raise VolfileError(f"volume {volume.name!r} defined twice")
        self.volumes.append(volume)
        return volume

    def names(self) -> list[str]:
        return [v.name for v in self.volumes]

    def of_type(self, type_: str) -> list[Volume]:
        return [v for v in self.volumes if v.type == type_]

    def validate(self) -> None:
        """Raise VolfileError for what GlusterFS's parser rejects."""
        if not self.volumes:
            raise VolfileError("empty graph")
        seen: set[str] = set()
        for volume in self.volumes:
            if not volume.name:
                raise VolfileError("volume with an empty name")
            if volume.name in seen:
                raise VolfileError(f"volume {volume.name!r} defined twice")
            if not volume.type:
                raise VolfileError(f"volume {volume.name!r} has no type")
            for sub in volume.subvolumes:
                if sub == volume.name:
                    raise VolfileError(f"volume {volume.name!r} has itself as subvolume")
                if sub not in seen:
                    raise VolfileError(
                        f"volume {volume.name!r}: subvolume {sub!r} is not defined before it"
                    )
            seen.add(volume.name)

    def render(self) -> str:
        """The graph in GlusterFS volfile syntax."""
        self.validate()
        return "\n".join(v.render() for v in self.volumes)

    @classmethod
    def parse(cls, text: str) -> Graph:
        return parse(text)


# --------------------------------------------------------------------------- parsing


@dataclass
class _Token:
    kind: str  # "word", "string" (a quoted word) or a keyword
    value: str
    line: int


def _check_backticks(text: str) -> None:
    # Mirrors graph.y's preprocess(): a back-quote not preceded by an odd run of
    # backslashes starts a shell command substitution.
    escaped = False
    line = 1
    for char in text:
        if char == "`" and not escaped:
            raise VolfileError(
                f"line {line}: back-quoted shell commands are not supported (escape as \\`)"
            )
        escaped = (not escaped) if char == "\\" else False
        if char == "\n":
            line += 1


def _tokens(text: str) -> Iterator[_Token]:
    i, n, line = 0, len(text), 1
    while i < n:
        char = text[i]
        if char in " \t\r\n":
            if char == "\n":
                line += 1
            i += 1
        elif char == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif char == '"':
            start_line = line
            i += 1
            chars: list[str] = []
            while True:
                if i >= n or text[i] == "\n":
                    raise VolfileError(f"line {start_line}: unterminated string")
                if text[i] == '"':
                    i += 1
                    break
                if text[i] == "\\":
                    if i + 1 >= n or text[i + 1] == "\n":
                        raise VolfileError(f"line {start_line}: backslash at end of line")
                    chars.append(text[i + 1])
                    i += 2
                else:
                    chars.append(text[i])
                    i += 1
            yield _Token("string", "".join(chars), start_line)
        elif char == "\\":
            raise VolfileError(f"line {line}: stray backslash outside a quoted string")
        else:
            match = _WORD_RE.match(text, i)
            assert match is not None
            word = match.group(0)
            i = match.end()
            yield _Token(word if word in _KEYWORDS else "word", word, line)


def parse(text: str) -> Graph:
    """Parse volfile text into a Graph (strictly: duplicate options are errors)."""
    _check_backticks(text)
    tokens = list(_tokens(text))
    pos = 0

    def peek() -> _Token | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(*kinds: str) -> _Token:
        nonlocal pos
        token = peek()
        if token is None:
            raise VolfileError(f"unexpected end of volfile, expected {' or '.join(kinds)}")
        if token.kind not in kinds:
            raise VolfileError(
                f"line {token.line}: expected {' or '.join(kinds)}, got {token.value!r}"
            )
        pos += 1
        return token

    graph = Graph()
    while peek() is not None:
        take("volume")
        name = take("word", "string").value
        take("type")
        volume = Volume(name=name, type=take("word", "string").value)
        have_subvolumes = False
        while True:
            token = take("option", "subvolumes", "end-volume")
            if token.kind == "end-volume":
                break
            if token.kind == "option":
                key = take("word", "string").value
                value = take("word", "string").value
                if key in volume.options:
                    raise VolfileError(
                        f"line {token.line}: duplicate option {key!r} in volume {name!r}"
                    )
                volume.options[key] = value
            else:
                if have_subvolumes:
                    raise VolfileError(f"line {token.line}: duplicate subvolumes in {name!r}")
                have_subvolumes = True
                while (nxt := peek()) is not None and nxt.kind in ("word", "string"):
                    volume.subvolumes.append(take("word", "string").value)
                if not volume.subvolumes:
                    raise VolfileError(f"line {token.line}: subvolumes without names")
        graph.add(volume)
    graph.validate()
    return graph


# --------------------------------------------------------------------------- bridge


@functools.cache
def xlatordir() -> Path:
    """GlusterFS's translator directory (``glusterfs --print-xlatordir``), else the
    one the bridge was built for; it names the release (``.../glusterfs/11.1/xlator``)."""
    exe = shutil.which("glusterfs")
    if exe:
        try:
            out = subprocess.run(
                [exe, "--print-xlatordir"], capture_output=True, text=True, timeout=10
            )
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    from glupy._build import release

    info = release.read_info(bridge_so_path())
    if info and info.get("xlatordir"):
        return Path(info["xlatordir"])
    raise VolfileError("GlusterFS is not installed (no glusterfs on PATH) and the glupy bridge "
                       "is not built: cannot tell where GlusterFS's translators live")


def bridge_so_path() -> Path:
    """Path of the compiled bridge (``glupy._build.bridge_path()``)."""
    from glupy._build import bridge_path
    return bridge_path()


def installed_so_path() -> Path:
    return xlatordir() / (GLUPY_TYPE + ".so")


def bridge_type(installed: bool | None = None) -> str:
    """The volfile ``type`` that loads the bridge.

    ``features/glupy`` when the bridge is installed into the xlator directory (and is the
    same file as this package's build), else a path relative to the xlator directory.
    """
    if installed is None:
        target = installed_so_path()
        try:
            installed = target.exists() and os.path.samefile(target, bridge_so_path())
        except OSError:
            installed = False
    if installed:
        return GLUPY_TYPE
    so = bridge_so_path().absolute()
    stem = so.with_suffix("") if so.suffix == ".so" else so
    return os.path.relpath(stem, xlatordir())


# --------------------------------------------------------------------------- graphs


def split_module_spec(spec: str) -> tuple[str, str | None]:
    """``"pkg.mod:Class"`` -> ``("pkg.mod", "Class")``; ``"pkg.mod"`` -> ``("pkg.mod", None)``."""
    if not _MODULE_RE.match(spec):
        raise VolfileError(f"not a module spec (pkg.mod or pkg.mod:Class): {spec!r}")
    module, _, cls = spec.partition(":")
    return module, (cls or None)


def _volume_name(spec: str, prefix: str, taken: set[str]) -> str:
    module, cls = split_module_spec(spec)
    base = (cls or module.rsplit(".", 1)[-1]).lower().replace("_", "-")
    name = f"{prefix}-{base}"
    n = 2
    while name in taken:
        name = f"{prefix}-{base}-{n}"
        n += 1
    return name


RESERVED_OPTIONS = frozenset({"module", "python-path"})


def stack_translators(
    graph: Graph,
    below: Volume,
    translators: Sequence[tuple[str, dict[str, str]]],
    name_prefix: str,
    python_path: Iterable[str | os.PathLike[str]] = (),
    glupy_type: str | None = None,
) -> Volume:
    """Add one glupy volume per ``(module_spec, options)`` above ``below``, the first
    pair top-most; returns the top one (``below`` if there are none)."""
    type_ = glupy_type if glupy_type is not None else bridge_type()
    extra_path = ":".join(os.path.abspath(os.fspath(p)) for p in python_path)
    taken = set(graph.names())
    for spec, opts in reversed(list(translators)):
        clash = RESERVED_OPTIONS.intersection(opts)
        if clash:
            raise VolfileError(
                f"{spec}: option(s) {', '.join(sorted(clash))} are set by glupy itself"
            )
        options = {"module": spec}
        if extra_path:
            options["python-path"] = extra_path
        options.update({str(k): str(v) for k, v in opts.items()})
        name = _volume_name(spec, name_prefix, taken)
        taken.add(name)
        below = graph.add(Volume(name=name, type=type_, options=options, subvolumes=[below.name]))
    return below


def single_process_graph(
    source_dir: str | os.PathLike[str],
    translators: Sequence[tuple[str, dict[str, str]]],
    name_prefix: str = "glupy",
    python_path: Iterable[str | os.PathLike[str]] = (),
    glupy_type: str | None = None,
) -> Graph:
    """A graph for ``glusterfs -f``: storage/posix over ``source_dir``, glupy on top.

    ``translators`` are ``(module_spec, options)`` pairs, top-most first (the first one
    sits right under FUSE); the returned graph lists the posix volume first and the top
    translator last.
    """
    if not translators:
        raise VolfileError("no translators given")
    source = os.path.abspath(os.fspath(source_dir))
    graph = Graph()
    below = graph.add(
        Volume(name=f"{name_prefix}-posix", type="storage/posix", options={"directory": source})
    )
    stack_translators(graph, below, translators, name_prefix, python_path, glupy_type)
    graph.validate()
    return graph
