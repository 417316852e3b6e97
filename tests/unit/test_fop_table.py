"""The fop table (glupy/fops.py) must say exactly what the installed headers say."""

import re
from pathlib import Path

import pytest

from glupy._build import codegen, headers
from glupy.fops import CBKS, FOPS, FOPS_BY_NAME, NUM_FOP_SLOTS, parse_params

pytestmark = pytest.mark.skipif(not (headers.INCLUDE_DIR / "xlator.h").exists(),
                                reason="GlusterFS headers (libglusterfs-dev) not installed")


def test_every_fop_of_the_headers_is_in_the_table_with_the_same_signature():
    from_headers = {name: (slot, args, cbk) for slot, name, args, cbk in headers.header_fops()}
    assert set(from_headers) == set(FOPS_BY_NAME), "fop names differ"
    for fop in FOPS:
        slot, args, cbk = from_headers[fop.name]
        assert fop.slot == slot, fop.name
        assert [(a.ctype, a.name) for a in fop.args] == [(t, n) for t, n in args], fop.name
        assert [(a.ctype, a.name) for a in fop.reply] == [(t, n) for t, n in cbk], fop.name


def test_fop_count_matches_the_headers():
    assert len(FOPS) == 55
    text = (headers.INCLUDE_DIR / "glusterfs-fops.h").read_text()
    maxvalue = re.search(r"GF_FOP_MAXVALUE\s*=\s*0\s*\+\s*(\d+)", text)
    assert maxvalue and int(maxvalue.group(1)) == NUM_FOP_SLOTS + 1


def test_every_cbk_of_the_headers_is_in_the_table():
    from_headers = [(name, ret, [(t, n) for t, n in args]) for name, ret, args in headers.header_cbks()]
    ours = [(c.name, c.ret, [(a.ctype, a.name) for a in c.args]) for c in CBKS]
    assert ours == from_headers


def test_a_changed_header_is_detected(tmp_path: Path):
    """The comparison is real: a header with one argument renamed disagrees."""
    text = (headers.INCLUDE_DIR / "xlator.h").read_text()
    old = "typedef int32_t (*fop_lookup_t)(call_frame_t *frame, xlator_t *this, loc_t *loc,"
    changed = text.replace(old, old.replace("*loc,", "*where,"))
    assert changed != text
    (tmp_path / "xlator.h").write_text(changed)
    fops = {name: args for _, name, args, _ in headers.header_fops(tmp_path)}
    assert fops["lookup"][0] == ("loc_t *", "where")
    assert next((a.ctype, a.name) for a in FOPS_BY_NAME["lookup"].args) != fops["lookup"][0]


def test_parse_params_normalises_pointer_spacing():
    assert [(a.ctype, a.name) for a in parse_params("const char* name, struct iatt  *buf")] == \
        [("const char *", "name"), ("struct iatt *", "buf")]


def test_codegen_emits_every_fop_and_a_layout_check_per_slot():
    src = codegen.source()
    header = codegen.header()
    cdef = codegen.cdef()
    assert "@" not in src and "@" not in header  # every placeholder filled
    for fop in FOPS:
        # entry, callback, wind and unwinds exist, and the driver's tables name them
        assert f"static int32_t glupy_c_{fop.name}(call_frame_t *frame, xlator_t *this" in src
        assert f"static int32_t glupy_c_{fop.name}_cbk(call_frame_t *frame, void *cookie" in src
        assert f"[{fop.slot}] = glupy_wind_{fop.name}," in src
        assert f"[{fop.slot}] = glupy_unwind_reply_{fop.name}," in src
        assert f"glupy_unwind_{fop.name}(call_frame_t *frame" in cdef  # Python's converted replies
        assert f"void glupy_unwind_{fop.name}(call_frame_t *frame" in header
        assert f"STACK_WIND_COOKIE(frame, glupy_c_{fop.name}_cbk" in src
        # one STACK_UNWIND per fop: every route ends in glupy_unwind_<fop>
        assert src.count(f"STACK_UNWIND_STRICT({fop.name}, frame") == 1
        assert f"offsetof(struct xlator_fops, {fop.name}) == {fop.slot} * sizeof(void *)" in src


def test_template_expands_blocks_and_indents_statement_placeholders():
    template = ("int @NAME@;\n/* @FOR_EACH x@ */\nvoid f_@X@(void)\n{\n    @BODY@\n}\n/* @END@ */\n")
    out = codegen.expand(template, {"x": [{"X": "a", "BODY": ["one;", "two;"]},
                                          {"X": "b", "BODY": []}]}, {"NAME": "n"})
    assert out == "int n;\nvoid f_a(void)\n{\n    one;\n    two;\n}\nvoid f_b(void)\n{\n}\n"
    with pytest.raises(KeyError):
        codegen.expand("@MISSING@", {}, {})


def test_python_view_folds_vector_count_and_iobref():
    writev = FOPS_BY_NAME["writev"]
    assert [a.name for a in writev.py_args] == ["fd", "vector", "offset", "flags", "xdata"]
    readv = FOPS_BY_NAME["readv"]
    assert [a.name for a in readv.py_reply] == ["vector", "stbuf", "xdata"]
    put = FOPS_BY_NAME["put"]
    assert "count" not in [a.name for a in put.py_args] and "iobref" not in [a.name for a in put.py_args]
