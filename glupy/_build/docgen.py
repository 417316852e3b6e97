"""Generate the typed Python API and the fop reference from the fop table.

Regions between ``# BEGIN GENERATED <name>`` / ``# END GENERATED <name>`` in
glupy/replies.py and glupy/translator.py, and the whole of docs/fops.md, are
written from glupy/fops.py:

    python -m glupy._build.docgen          # rewrite
    python -m glupy._build.docgen --check  # exit 1 if anything is stale (a test runs this)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from glupy.fops import CBKS, FOPS, Arg, Fop

ROOT = Path(__file__).resolve().parents[2]
REPLIES = ROOT / "glupy" / "replies.py"
TRANSLATOR = ROOT / "glupy" / "translator.py"
FOPS_MD = ROOT / "docs" / "fops.md"

# Python type of each kind, as an argument the author receives / passes to a wind,
# and as a reply field.
ARG_TYPE = {
    "loc": "Loc", "fd": "Fd", "inode": "Inode", "dict": "Dict | None", "iatt": "Iatt",
    "str": "str | None", "vector": "Vector", "flock": "Flock", "statvfs": "StatVfs",
    "dirents": "Dirents", "lease": "Lease", "opaque": "Any", "int": "int",
}
WIND_TYPE = dict(ARG_TYPE, dict="Dict | Mapping[str, Any] | None", vector="Vector | bytes",
                 iatt="Iatt | None", str="str | None", lease="Lease | None", flock="Flock | None")
FIELD_TYPE = dict(ARG_TYPE, inode="Inode | None", iatt="Iatt | None", fd="Fd | None",
                  str="str | None", vector="Vector | bytes | None", flock="Flock | None",
                  statvfs="StatVfs | None", dirents="Dirents | list[Dirent] | None",
                  lease="Lease | None")


def _params(args: tuple[Arg, ...], types: dict[str, str], xdata_default: bool) -> str:
    out = []
    for a in args:
        t = types[a.kind]
        default = " = None" if xdata_default and a.name == "xdata" else ""
        out.append(f"{a.name}: {t}{default}")
    return ", ".join(out)


def replies_region() -> str:
    out = []
    for f in FOPS:
        fields = [a for a in f.py_reply]
        names = tuple(a.name for a in fields)
        out.append(f"class {f.reply_class}(Reply):")
        out.append(f'    """Reply of ``{f.name}``: {", ".join(names) or "no fields"}."""\n')
        out.append("    __slots__ = ()")
        out.append(f"    fields = {names!r}")
        out.append(f"    fop = FOPS_BY_NAME[{f.name!r}]")
        for i, a in enumerate(fields):
            out.append(f"    {a.name}: _Field[{FIELD_TYPE[a.kind]}] = "
                       f"_Field({i}, {a.name!r}, {a.kind!r}, {_cidx(f, a)!r})")
        if any(a.name == "buf" and a.kind == "iatt" for a in fields):
            out.append("\n    @property")
            out.append("    def iatt(self) -> Iatt | None:")
            out.append('        """Alias of ``buf``."""')
            out.append("        return self.buf")
        out.append("\n")
    out.append("REPLY_CLASSES: dict[str, type[Reply]] = {")
    for f in FOPS:
        out.append(f"    {f.name!r}: {f.reply_class},")
    out.append("}")
    names = ["REPLY_CLASSES", *sorted(["Reply", *(f.reply_class for f in FOPS)])]  # ruff RUF022 order
    out.append("__all__ = [")
    out += [f'    "{n}",' for n in names]
    out.append("]\n")
    return "\n".join(out).replace("\n\n\n\nREPLY", "\n\nREPLY")


def _cidx(f: Fop, a: Arg) -> tuple[int, ...]:
    """Indices of the C callback arguments behind Python reply field ``a``."""
    names = [r.name for r in f.reply]
    if a.kind == "vector":
        return (names.index(a.name), names.index("count"), names.index("iobref"))
    return (names.index(a.name),)


def child_region() -> str:
    out = []
    for f in FOPS:
        names = [a.name for a in f.py_args]
        tup = f"({', '.join(names)}{',' if len(names) == 1 else ''})"
        out.append(f"    def {f.name}(self, {_params(f.py_args, WIND_TYPE, True)}) -> Wind[{f.reply_class}]:")
        out.append(f'        """Wind ``{f.name}`` to this child; await the {f.reply_class}."""')
        # _make_wind: no __init__ frame (C inside GlusterFS); this runs for every wind
        out.append(f"        return _make_wind(self, FOPS_BY_NAME[{f.name!r}], {tup})\n")
    return "\n".join(out).rstrip() + "\n"


def fop_methods_region() -> str:
    out = ["class FopMethods:",
           '    """The signatures of every fop a Translator may define (for type checkers and',
           '    editors only: a Translator handles just the fops its class defines)."""\n']
    for f in FOPS:
        out.append(f"    async def {f.name}(self, {_params(f.py_args, ARG_TYPE, False)}) -> {f.reply_class}:")
        out.append("        ...\n")
    # the region sits inside ``if TYPE_CHECKING:``
    return "\n".join(("    " + line) if line else "" for line in "\n".join(out).rstrip().split("\n")) + "\n"


def fops_md() -> str:
    out = ["# Fop reference",
           "",
           "Generated from `glupy/fops.py` (the fop table) by `python -m glupy._build.docgen`;",
           "do not edit.  Every fop of GlusterFS 10.3 (`struct xlator_fops`), as a translator",
           "defines it (`async def`), as it winds it to a child (`await self.child.<fop>(...)`)",
           "and the reply it returns.  `vector, count, iobref` are one `Vector` in Python",
           "(return or wind `bytes` for new data).  Views are valid during the fop: copy",
           "what you keep.",
           "",
           "| fop | slot | Python arguments | reply fields (besides `op_ret`) |",
           "|---|---|---|---|"]
    for f in FOPS:
        args = ", ".join(f"`{a.name}`" for a in f.py_args)
        reply = ", ".join(f"`{a.name}`" for a in f.py_reply) or "—"
        out.append(f"| [{f.name}](#{f.name}) | {f.slot} | {args} | {reply} |")
    for f in FOPS:
        out += ["", f"## {f.name}", "",
                "```python",
                f"async def {f.name}(self, {_params(f.py_args, ARG_TYPE, False)}) -> {f.reply_class}",
                "```", "",
                f"C: `fop_{f.name}_t(call_frame_t *frame, xlator_t *this, "
                f"{', '.join(a.decl for a in f.args)})`  ",
                f"reply: `fop_{f.name}_cbk_t(..., int32_t op_ret, int32_t op_errno, "
                f"{', '.join(a.decl for a in f.reply)})`", "",
                "| argument | Python type | C type |", "|---|---|---|"]
        for a in f.args:
            out.append(f"| `{a.name}` | {_py(a, f, ARG_TYPE)} | `{a.ctype}` |")
        out += ["", f"`{f.reply_class}` fields:", "",
                "| field | Python type | C type |", "|---|---|---|",
                "| `op_ret` | int | `int32_t` |"]
        for a in f.reply:
            out.append(f"| `{a.name}` | {_py(a, f, FIELD_TYPE)} | `{a.ctype}` |")
    out += ["", "## Callbacks (cbks)", "",
            "Plain `def` methods (they cannot wind).  `forget`, `release` and `releasedir`",
            "are called for inodes/fds that carry this translator's `ctx`; glupy drops the",
            "context afterwards.", "",
            "| cbk | arguments | C return |", "|---|---|---|"]
    for c in CBKS:
        out.append(f"| `{c.name}` | {', '.join(f'`{a.name}`' for a in c.args)} | `{c.ret}` |")
    return "\n".join(out) + "\n"


def _py(a: Arg, f: Fop, types: dict[str, str]) -> str:
    if a.kind == "iobref" or (a.name == "count" and a.kind == "int" and f.has_vector or
                              a.name == "count" and any(r.kind == "vector" for r in f.reply)):
        return "(part of `vector`)"
    return types[a.kind].replace("|", "\\|")


def _replace(text: str, name: str, body: str) -> str:
    pat = re.compile(rf"(# BEGIN GENERATED {name}[^\n]*\n)(.*?)(^[ \t]*# END GENERATED {name})",
                     re.S | re.M)
    if not pat.search(text):
        raise SystemExit(f"region {name} not found")
    return pat.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(3), text, count=1)


def outputs() -> dict[Path, str]:
    replies = _replace(REPLIES.read_text(), "replies", replies_region())
    translator = TRANSLATOR.read_text()
    translator = _replace(translator, "child", child_region())
    translator = _replace(translator, "fop-methods", fop_methods_region())
    return {REPLIES: replies, TRANSLATOR: translator, FOPS_MD: fops_md()}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m glupy._build.docgen")
    parser.add_argument("--check", action="store_true", help="fail if generated files are stale")
    args = parser.parse_args()
    stale = []
    for path, text in outputs().items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    if args.check and stale:
        print("stale generated files:", *map(str, stale))
        return 1
    for p in stale:
        print("wrote", p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
