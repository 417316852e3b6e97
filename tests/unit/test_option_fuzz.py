"""Every Option type at its limits (hypothesis): parsing any text either gives a value of
the declared type within its range, or one ValueError naming the option; never another
exception (it would reach glusterfs as a traceback instead of a clear init error)."""

from __future__ import annotations

import enum
import math
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from glupy import Option, Size


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


def _numbers() -> st.SearchStrategy[str]:
    """Text near the edges of what int/float/size parsers take."""
    edges = ["0", "-0", "1", "-1", str(2**31), str(2**63 - 1), str(2**63), str(-(2**63) - 1),
             str(2**64), "1e308", "1e309", "-1e309", "inf", "-inf", "nan", "NaN", "0x10", "0o7",
             "0b1", "1_000", "  5 ", "", " ", "\x00", "5\n", "٣", "1e-400", "9" * 400]
    units = ["", "B", "KB", "MB", "GB", "TB", "PB", "k", "kb", "XB", " MB"]
    return st.one_of(
        st.sampled_from(edges),
        st.builds(lambda n, u: n + u, st.sampled_from(edges), st.sampled_from(units)),
        st.integers(min_value=-(2**80), max_value=2**80).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(max_size=40),
    )


OPTIONS: list[Option] = [
    Option(int, key="i"),
    Option(int, key="i-bounded", min=0, max=100),
    Option(float, key="f"),
    Option(float, key="f-bounded", min=0.5, max=60),
    Option(bool, key="b"),
    Option(Size, key="size"),
    Option(Size, key="size-bounded", min=4096, max=1 << 30),
    Option(str, key="s"),
    Option(str, key="choice", choices=["fast", "safe"]),
    Option(Colour, key="colour"),
    Option(Path, key="path"),
    Option(int, key="secret-int", min=0, max=9999, secret=True),
]


def _check(opt: Option, text: str) -> None:
    try:
        value = opt.parse(text)
    except ValueError as e:
        assert repr(opt.key) in str(e), f"the error names the option: {e}"
        if opt.secret:
            # shown values are quoted (repr); a bare substring of three characters or
            # fewer may just be part of the message's own words
            assert repr(text) not in str(e), "a secret value is never shown"
            assert len(text.strip()) <= 3 or text not in str(e), "a secret value is never shown"
        return
    t = opt.type
    if opt.choices is not None and not isinstance(t, enum.EnumMeta):
        assert value in opt.choices
    if t is bool:
        assert type(value) is bool
    elif t is int or t is Size:
        assert isinstance(value, int) and not isinstance(value, bool)
    elif t is float:
        assert isinstance(value, float)
    elif isinstance(t, enum.EnumMeta):
        assert isinstance(value, t)
    elif t is str:
        assert value == text
    else:
        assert isinstance(value, t)
    if isinstance(value, int | float) and not isinstance(value, bool):
        assert not (isinstance(value, float) and math.isnan(value)) or (
            opt.min is None and opt.max is None), f"{opt.key}: NaN passes a range check"
        if opt.min is not None:
            assert value >= opt.min, (opt.key, text, value)
        if opt.max is not None:
            assert value <= opt.max, (opt.key, text, value)
    if t is Size:
        assert value >= 0, f"{opt.key}: negative size {value} from {text!r}"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(OPTIONS), _numbers())
@example(OPTIONS[5], "1e309MB")
@example(OPTIONS[3], "nan")
@example(OPTIONS[5], "-5MB")
def test_any_text_parses_to_a_valid_value_or_one_value_error(opt, text):
    _check(opt, text)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(OPTIONS))
def test_defaults_at_the_edges_of_a_range(opt):
    for text in ("0", "100", "101", "-1", "4095", "4096", str(1 << 30), str((1 << 30) + 1)):
        _check(opt, text)
