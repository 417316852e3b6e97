"""crypt's write path builds the plaintext blocks of a write two ways: whole blocks
sliced straight from the caller's buffer when no edge block is read back, or
Crypt._merge.  Both must give the same blocks whenever the slicing is taken."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from glupy.library.crypt import BLOCK, Crypt


@given(first=st.integers(0, 6), nbytes=st.integers(1, 5 * BLOCK), old=st.integers(0, 12 * BLOCK))
def test_sliced_blocks_equal_merged_blocks(first: int, nbytes: int, old: int) -> None:
    offset = first * BLOCK
    end = offset + nbytes
    b1 = (end - 1) // BLOCK
    if end % BLOCK and end < min(old, (b1 + 1) * BLOCK):
        return  # the last block is read back (an edge): not the sliced case
    data = memoryview(bytes(range(256)) * (nbytes // 256 + 1))[:nbytes]
    sliced = [bytes(data[i:i + BLOCK]) for i in range(0, nbytes, BLOCK)]
    assert [bytes(b) for b in Crypt._merge(data, offset, old, {})] == sliced
