"""Read the fop and cbk signatures out of the installed GlusterFS headers.

Used by the table-consistency test and to (re)write the table in
``glupy/fops.py`` when GlusterFS grows a fop: ``python -m glupy._build.headers``.
"""

from __future__ import annotations

import re
from pathlib import Path

INCLUDE_DIR = Path("/usr/include/glusterfs")

_TYPEDEF = re.compile(
    r"typedef\s+(?P<ret>[\w ]+?)\s*\(\s*\*\s*(?P<name>\w+)\s*\)\s*\((?P<params>[^;]*?)\)\s*;",
    re.S,
)
_STRUCT = r"struct\s+{name}\s*\{{(?P<body>.*?)\}};"

Param = tuple[str, str]  # (C type, name)


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _split_param(decl: str) -> Param:
    decl = " ".join(decl.split())
    m = re.match(r"(?P<type>.*?[\s*])(?P<name>\w+)$", decl)
    if not m:
        raise ValueError(f"cannot parse parameter {decl!r}")
    ctype = m.group("type").strip()
    ctype = re.sub(r"\s*\*", " *", ctype).replace("* *", "**")
    return ctype, m.group("name")


def typedefs(text: str) -> dict[str, list[Param]]:
    """Every function-pointer typedef: name -> [(ctype, param name)]."""
    out: dict[str, list[Param]] = {}
    for m in _TYPEDEF.finditer(text):
        params = [p for p in m.group("params").split(",") if p.strip() not in ("", "...")]
        out[m.group("name")] = [_split_param(p) for p in params]
    return out


def struct_members(text: str, name: str) -> list[Param]:
    m = re.search(_STRUCT.format(name=name), text, re.S)
    if not m:
        raise ValueError(f"struct {name} not found")
    members = []
    for line in m.group("body").split(";"):
        if line.strip():
            members.append(_split_param(line))
    return members


def read_xlator_h(include_dir: Path = INCLUDE_DIR) -> str:
    return _strip_comments((include_dir / "xlator.h").read_text())


def header_fops(include_dir: Path = INCLUDE_DIR):
    """[(slot index, fop name, args, cbk args)] in ``struct xlator_fops`` order.

    args/cbk args exclude the leading frame/this (and cookie/this/op_ret/op_errno).
    Placeholder slots (forget/release/releasedir) are skipped but keep their index.
    """
    text = read_xlator_h(include_dir)
    tds = typedefs(text)
    fops = []
    for index, (ctype, member) in enumerate(struct_members(text, "xlator_fops")):
        if member.endswith("_cbk") or member.endswith("_cbk_placeholder"):
            break
        if ctype.startswith("void"):
            continue
        args = tds[f"fop_{member}_t"][2:]
        cbk_args = tds[f"fop_{member}_cbk_t"][5:]
        fops.append((index, member, args, cbk_args))
    return fops


def header_cbks(include_dir: Path = INCLUDE_DIR):
    """[(cbk name, return type, args)] in ``struct xlator_cbks`` order (without ``this``)."""
    text = read_xlator_h(include_dir)
    tds = typedefs(text)
    rets = {m.group("name"): m.group("ret").strip() for m in _TYPEDEF.finditer(text)}
    return [
        (member, rets[td], tds[td][1:])
        for td, member in struct_members(text, "xlator_cbks")
    ]


def _fmt(params: list[Param]) -> str:
    return ", ".join(f"{t}{'' if t.endswith('*') else ' '}{n}" for t, n in params)


def main() -> None:
    for index, name, args, cbk in header_fops():
        print(f"{index:2d} {name}({_fmt(args)}) -> ({_fmt(cbk)})")
    for name, ret, args in header_cbks():
        print(f"cbk {name}({_fmt(args)}) -> {ret}")


if __name__ == "__main__":
    main()
