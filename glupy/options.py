"""Option values checked as GlusterFS checks them, outside GlusterFS.

Inside glusterfs, glupy hands each translator's option table to GlusterFS's own
``xlator_option_validate`` (glupy.runtime.driver).  ``glupy check``, ``glupy volfile``
and ``glupy mount`` run before any glusterfs process exists, so they use this
port of it: the same accepted syntax and, for a bad value, the same message
(libglusterfs/src/options.c and common-utils.c of 10.3; tests/cli compares
both on a real mount).

List options (``Option(list[str])``, ``Option(list[int])`` ...) are glupy's:
GlusterFS sees a string; the value is comma-separated items, each stripped of
surrounding blanks, empty items ignored (``option suffixes .tmp,.bak``).  Each
item is checked like an option of the item type, with ``min``/``max``/``choices``
applying per item.
"""

from __future__ import annotations

import fnmatch
import re
import typing
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glupy.translator import Option, Translator

_BOOLS = {"1", "0", "on", "off", "yes", "no", "true", "false", "enable", "disable"}
_SIZE_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "PB": 1 << 50}
_INT64_MAX = (1 << 63) - 1
# strtoll(str, &tail, 0): blanks, a sign, then hex (0x), octal (0) or decimal digits
_STRTOLL = re.compile(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)(.*)", re.S)
_STRTOLL10 = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)(.*)", re.S)
_STRTOD = re.compile(r"[ \t\n\v\f\r]*([+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                     r"(?:[pP][+-]?[0-9]+)?|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                     r"|inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?))(.*)", re.S | re.I)


def gf_string2longlong(text: str) -> int | None:
    """GlusterFS's gf_string2longlong: strtoll base 0, nothing may follow."""
    m = _STRTOLL.fullmatch(text)
    if m is None or m.group(3):
        return None
    digits = m.group(2)
    value = int(digits, 16) if digits[:2].lower() == "0x" else int(digits, 8) if digits != "0" and \
        digits.startswith("0") else int(digits)
    value = -value if m.group(1) == "-" else value
    if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
        return None  # ERANGE
    return value


def gf_string2double(text: str) -> float | None:
    """GlusterFS's gf_string2double: strtod, nothing may follow."""
    m = _STRTOD.fullmatch(text)
    if m is None or m.group(2):
        return None
    num = m.group(1)
    body = num.lstrip("+-")
    if body[:2].lower() == "0x":
        value = float.fromhex(num)
    elif body.lower().startswith("nan"):
        value = float("nan")
    else:
        value = float(num)
    if value in (float("inf"), float("-inf")) and "inf" not in body.lower():
        return None  # ERANGE
    return value


def gf_string2bytesize(text: str) -> int | None:
    """GlusterFS's gf_string2bytesize_uint64: no '-', a decimal number (a fraction if
    the text has a '.'), then nothing or exactly B/KB/MB/GB/TB/PB (any case)."""
    for ch in text:
        if ch.isspace():
            continue
        if ch == "-":
            return None
        break
    if "." in text:
        m = _STRTOD.fullmatch(text)
        if m is None:
            return None
        number: float = float(m.group(1)) if m.group(1)[:3].lower() not in ("0x", "+0x") else -1.0
        if number != number or number in (float("inf"), float("-inf")) or number < 0:
            return None  # strtod's nan/inf/hex: not a size a volfile means
        tail = m.group(2)
    else:
        m10 = _STRTOLL10.fullmatch(text)
        if m10 is None:
            return None
        number = int(m10.group(2)) * (-1 if m10.group(1) == "-" else 1)
        tail = m10.group(3)
    if tail:
        unit = _SIZE_UNITS.get(tail.upper())
        if unit is None:
            return None
        number = number * unit
    if number > _INT64_MAX:
        return None
    return int(number)


def _range_text(opt: Option[Any]) -> tuple[float, float]:
    """(min, max) as glupy puts them into the volume_option_t (runtime._option_table)."""
    if opt.min is None and opt.max is None:
        return 0.0, 0.0
    return (float(opt.min) if opt.min is not None else -(2.0 ** 53),
            float(opt.max) if opt.max is not None else 2.0 ** 53)


def gluster_error(opt: Option[Any], key: str, text: str) -> str | None:
    """The message GlusterFS's xlator_option_validate gives for ``option KEY TEXT``
    with glupy's table entry for ``opt``, or None if it accepts the value."""
    gf = opt.gf_type
    lo, hi = _range_text(opt)
    if opt.choices is not None:
        if any(fnmatch.fnmatchcase(text, c) for c in opt.choices[:63]):
            return None
        listed = ", ".join(opt.choices[:63]) + "."
        return f"option {key} {text}: '{text}' is not valid (possible options are {listed})"
    if gf == "INT":
        n = gf_string2longlong(text)
        if n is None:
            return f'invalid number format "{text}" in option "{key}"'
        if (lo, hi) != (0.0, 0.0) and (n < lo or n > hi):
            return f"'{n}' in 'option {key} {text}' is out of range [{lo:.0f} - {hi:.0f}]"
        return None
    if gf == "DOUBLE":
        d = gf_string2double(text)
        if d is None:
            return f'invalid number format "{text}" in option "{key}"'
        if (lo, hi) != (0.0, 0.0) and (d < lo or d > hi):
            return f"'{d:f}' in 'option {key} {text}' is out of range [{lo:f} - {hi:f}]"
        return None
    if gf == "SIZET":
        size = gf_string2bytesize(text)
        if size is None:
            return f'invalid number format "{text}" in option "{key}"'
        if (lo, hi) != (0.0, 0.0) and (size < lo or size > hi):
            if key.startswith("cache-size") and size > hi:
                return None  # GlusterFS only warns for cache-size* above max
            return f"'{size}' in 'option {key} {text}' is out of range [{lo:.0f} - {hi:.0f}]"
        return None
    if gf == "BOOL":
        if text.lower() in _BOOLS:
            return None
        return f"option {key} {text}: '{text}' is not a valid boolean value"
    if gf == "PATH":
        if "../" in text:
            return f"invalid path given '{text}'"
        if not text.startswith("/"):
            return f"option {key} {text}: '{text}' is not an absolute path name"
        return None
    return None


def list_item_type(t: Any) -> Any:
    """The item type of a list option type (``list[str]`` -> str), else None."""
    if t is list:
        return str
    if typing.get_origin(t) is list:
        args = typing.get_args(t)
        return args[0] if args else str
    return None


def split_list(text: str) -> list[str]:
    """The items of a list option's text: comma-separated, blanks stripped, empties dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def join_list(values: Iterable[Any]) -> str:
    return ",".join(str(v) for v in values)


# ------------------------------------------------------------ stacks (the CLI)

# options of the bridge itself, next to the translator's (glupy.runtime.driver.BRIDGE_OPTIONS)
BRIDGE_KEYS = frozenset({"module", "python-path", "log-level"})


def check_values(cls: type[Translator], given: dict[str, str], spec: str) -> list[str]:
    """Every problem with ``given`` (volfile option -> text) and the defaults of
    ``cls``'s options: unknown keys, then values GlusterFS or the option's type
    would refuse, each message as the mount would log it."""
    from glupy.runtime import security

    bridge_keys = {*BRIDGE_KEYS, security.UNTRUSTED_OPTION}
    options = cls.options()
    problems = []
    for key in given:
        if key not in options and key not in bridge_keys and not key.startswith("auth."):
            known = ", ".join(sorted(options)) or "none"
            problems.append(f"unknown option {key!r} for {spec} (its options: {known})")
    for key, opt in options.items():
        if key in given:
            if opt.secret and security.is_secret_file_ref(given[key]):
                continue  # @/path: read (and checked) by the translator's process
            text, where = given[key], ""
        elif opt.default_text is not None:
            text, where = opt.default_text, "the default of "
        else:
            continue
        try:
            opt.parse(text)
        except ValueError as e:
            problems.append(f"{spec}: {where}{e}")
    return problems


def check_stack(stack: Sequence[tuple[str, dict[str, str]]],
                python_path: Sequence[str]) -> tuple[list[str], list[str]]:
    """(problems, modules that could not be imported here) for a -t/-o stack."""
    from glupy.runtime.loader import LoadError, load_class

    problems: list[str] = []
    unloadable: list[str] = []
    for spec, given in stack:
        try:
            cls = load_class(spec, python_path=[str(p) for p in python_path])
        except LoadError as e:
            unloadable.append(str(e))
            continue
        problems += check_values(cls, given, spec)
    return problems, unloadable
