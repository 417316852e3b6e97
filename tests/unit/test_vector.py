"""glupy.Vector outside GlusterFS: alloc/writable/narrow on Python memory."""

import pytest

from glupy import Vector


def test_alloc_is_writable_with_spare_bytes():
    v = Vector.alloc(10, spare=5)
    assert len(v) == 10
    w = v.writable()
    assert len(w) == 15 and not w.readonly
    w[:] = b"0123456789abcde"
    assert bytes(v) == b"0123456789"
    assert [bytes(x) for x in v.views()] == [b"0123456789"]


def test_alloc_zero_and_bad_sizes():
    v = Vector.alloc(0)
    assert len(v) == 0 and bytes(v) == b"" and len(v.writable()) == 0
    with pytest.raises(ValueError):
        Vector.alloc(-1)
    with pytest.raises(ValueError):
        Vector.alloc(1, spare=-1)


def test_narrow_is_a_view_not_a_copy():
    v = Vector.alloc(10, spare=2)
    v.writable()[:10] = b"0123456789"
    n = v.narrow(2, 7)
    assert bytes(n) == b"23456" and len(n) == 5
    assert len(n.writable()) == 10  # from its start to the end of the spare bytes
    n.writable()[0:1] = b"X"
    assert bytes(v) == b"01X3456789"
    assert bytes(n.narrow(1, 3)) == b"34"


def test_narrow_clamps_like_a_slice():
    v = Vector.from_bytes(b"abcdef")
    assert bytes(v.narrow(4)) == b"ef"
    assert bytes(v.narrow(2, 100)) == b"cdef"
    assert bytes(v.narrow(10)) == b""
    assert bytes(v.narrow(4, 2)) == b""
    with pytest.raises(ValueError):
        v.narrow(-1)


def test_only_alloc_vectors_are_writable():
    with pytest.raises(TypeError):
        Vector.from_bytes(b"abc").writable()
    with pytest.raises(TypeError):
        Vector.from_bytes(b"abc").narrow(1).writable()


def test_python_memory_vectors():
    v = Vector(bytearray(b"abc"))  # any C-contiguous buffer, viewed without a copy
    assert bytes(v) == v.tobytes() == b"abc" and len(v) == 3
    assert v.contiguous().readonly and bytes(v.contiguous()) == b"abc"
    assert len(Vector()) == 0 and repr(Vector.from_bytes(b"xy")) == "Vector(2 bytes in 1 buffer(s))"
    assert bytes(Vector(memoryview(b"abcd").cast("B", (2, 2)))) == b"abcd"  # flattened
    with pytest.raises(TypeError):
        Vector("text")
    v._detach()  # Python memory: nothing to do
    n = Vector.alloc(3, 1).narrow(1)
    assert len(n) == 2 and len(n.writable()) == 3
