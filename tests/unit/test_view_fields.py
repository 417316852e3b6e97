"""A view's struct fields are glupy._core.CField descriptors: read and written in C at
the offsets cffi's layout gives (glupy.types._lay_out_fields), with cffi's checks
(range, type) and the values the Python properties gave.  Here over structs made with
the built bridge's ffi (types.c_tables), as glupy check and unit tests get it; views
the bridge makes of a fop's arguments read the same fields through tests/bridge."""

from __future__ import annotations

import pytest

from glupy import _core, types


@pytest.fixture(scope="module")
def ffi():
    return types.c_tables()[0]


def test_every_field_is_laid_out_from_the_struct(ffi) -> None:
    for cls in (types.Iatt, types.Inode, types.Fd, types.Loc, types.Flock, types.StatVfs,
                types.Lease):
        fields = dict(ffi.typeof(cls._struct).fields)
        cfields = [a for a in vars(cls).values() if isinstance(a, _core.CField)]
        assert cfields, cls
        for f in cfields:
            assert f.name in fields, (cls, f.name)


def test_integers_round_trip_with_cffi_s_checks(ffi) -> None:
    p = ffi.new("struct iatt *")
    it = types.Iatt(p)
    it.size = 2**64 - 1
    it.nlink = 7
    it.uid = 2**32 - 1
    assert (p.ia_size, p.ia_nlink, p.ia_uid) == (2**64 - 1, 7, 2**32 - 1)
    p.ia_blocks = 123
    assert it.blocks == 123 and it.size == 2**64 - 1
    for field, bad in (("nlink", 2**32), ("size", -1), ("size", 2**64)):
        with pytest.raises(OverflowError):
            setattr(it, field, bad)
    with pytest.raises(TypeError):
        it.size = 1.5  # type: ignore[assignment]
    assert it.nlink == 7 and it.size == 2**64 - 1  # unchanged by the failed sets
    lock = types.Flock(ffi.new("struct gf_flock *"))
    lock.start = -5  # a signed field
    assert lock.start == -5 and lock._p.l_start == -5


def test_type_reads_as_iatype_and_gfid_is_set_whole(ffi) -> None:
    it = types.Iatt(ffi.new("struct iatt *"))
    it.type = types.IaType.DIR
    assert it.type is types.IaType.DIR and it.is_dir()
    it._p.ia_type = 42  # not an IaType: the number
    assert it.type == 42
    it.gfid = b"\x01" * 16
    assert it.gfid == b"\x01" * 16 == bytes(ffi.buffer(it._p.ia_gfid))
    with pytest.raises(ValueError):
        it.gfid = b"\x02" * 15
    assert it.gfid == b"\x01" * 16


def test_strings_are_read_only_and_none_for_null(ffi) -> None:
    p = ffi.new("loc_t *")
    loc = types.Loc(p)
    assert loc.path is None and loc.name is None
    raw = ffi.new("char[]", b"/d/caf\xc3\xa9-\xff")
    p.path = raw
    p.name = raw + 3
    assert loc.path == "/d/caf\u00e9-\udcff"  # surrogateescape, as the bridge's strings
    assert loc.name == "caf\u00e9-\udcff"
    with pytest.raises(AttributeError):
        loc.path = "/x"  # type: ignore[misc]


def test_a_new_cdata_is_read_not_the_old_address(ffi) -> None:
    a, b = ffi.new("struct iatt *"), ffi.new("struct iatt *")
    a.ia_size, b.ia_size = 1, 2
    it = types.Iatt(a)
    assert it.size == 1 and it._addr == int(ffi.cast("uintptr_t", a))
    it._p = b
    assert it.size == 2 and it._addr == int(ffi.cast("uintptr_t", b))


def test_a_view_without_a_struct_says_so(ffi) -> None:
    empty = types.Iatt.__new__(types.Iatt)
    with pytest.raises(AttributeError):
        empty.size  # noqa: B018
    nothing = types.Loc(None)  # _p None
    with pytest.raises(ValueError):
        nothing.path  # noqa: B018
    with pytest.raises(TypeError):
        types.Iatt.size.__get__(object())  # type: ignore[call-overload]


def test_an_unplaced_field_is_an_error_not_a_read_at_zero() -> None:
    field: _core.CField[int] = _core.CField("not_laid_out")

    class Probe(_core.View):
        __slots__ = ()
        value = field

    with pytest.raises(RuntimeError):
        Probe(None).value  # noqa: B018
    with pytest.raises(ValueError):
        field._lay_out(0, "int", 3)
    with pytest.raises(ValueError):
        field._lay_out(0, "float", 8)
