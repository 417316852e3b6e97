"""glupy.library._blocks against cryptography's AESGCM, an independent implementation:
what one seals the other opens, byte for byte; a flipped bit, a wrong block number, a
wrong prefix or a cut block does not open, and the first bad block is the one named;
all-zero blocks are holes."""

from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from glupy.library._blocks import BlockCipher

BLOCK, NONCE, TAG = 4096, 16, 16
STORED = BLOCK + NONCE + TAG
PREFIX = b"GLCR\0\x03" + bytes(range(16))


def _aad(prefix: bytes, number: int) -> bytes:
    return prefix + number.to_bytes(8, "big")


def _reference_seal(key: bytes, first: int, blocks: list[bytes], nonces: bytes) -> bytes:
    aead, out = AESGCM(key), b""
    for i, pt in enumerate(blocks):
        nonce = nonces[i * NONCE:(i + 1) * NONCE]
        out += nonce + aead.encrypt(nonce, pt, _aad(PREFIX, first + i))
    return out


def _seal(cipher: BlockCipher, first: int, blocks: list[bytes], nonces: bytes,
          pos: int = 0) -> bytes:
    out = bytearray(pos + sum(map(len, blocks)) + 32 * len(blocks))
    end = cipher.seal_into(out, pos, nonces, PREFIX, first, [memoryview(b) for b in blocks])
    assert end == len(out)
    return bytes(out[pos:])


@settings(max_examples=60, deadline=None)
@given(first=st.integers(0, 2**40), sizes=st.lists(st.integers(1, BLOCK), min_size=1, max_size=5))
def test_same_bytes_as_cryptography_both_ways(first: int, sizes: list[int]) -> None:
    sizes = [BLOCK] * (len(sizes) - 1) + sizes[-1:]  # only the last block may be short
    key, blocks = os.urandom(32), [os.urandom(n) for n in sizes]
    nonces = os.urandom(NONCE * len(blocks))
    cipher = BlockCipher(key)
    sealed = _seal(cipher, first, blocks, nonces, pos=7)
    assert sealed == _reference_seal(key, first, blocks, nonces)
    out = bytearray(BLOCK * len(blocks))
    assert cipher.open_into(sealed, out, PREFIX, first) == (sum(sizes), -1, 0)
    assert bytes(out[:sum(sizes)]) == b"".join(blocks)


def test_what_does_not_open_is_named_and_never_returned() -> None:
    key = os.urandom(32)
    cipher = BlockCipher(key)
    blocks = [os.urandom(BLOCK) for _ in range(4)]
    sealed = bytearray(_seal(cipher, 10, blocks, os.urandom(NONCE * 4)))
    out = bytearray(BLOCK * 4)

    flipped = bytearray(sealed)
    flipped[2 * STORED + 100] ^= 1
    n, bad, kind = cipher.open_into(bytes(flipped), out, PREFIX, 10)
    assert (n, bad, kind) == (2 * BLOCK, 2, 2)
    assert bytes(out[2 * BLOCK:3 * BLOCK]) == bytes(BLOCK), "no unauthenticated plaintext"
    assert cipher.open_into(bytes(sealed), out, PREFIX, 11)[1:] == (0, 2)  # moved by one
    assert cipher.open_into(bytes(sealed), out, PREFIX[:-1] + b"x", 10)[1:] == (0, 2)
    assert BlockCipher(os.urandom(32)).open_into(bytes(sealed), out, PREFIX, 10)[1:] == (0, 2)
    assert cipher.open_into(bytes(sealed[:3 * STORED + 20]), out, PREFIX, 10)[1:] == (3, 1)
    with pytest.raises(InvalidTag):  # and cryptography agrees on the flipped block
        AESGCM(key).decrypt(bytes(flipped[2 * STORED:2 * STORED + 16]),
                            bytes(flipped[2 * STORED + 16:3 * STORED]), _aad(PREFIX, 12))


def test_zero_blocks_are_holes() -> None:
    cipher = BlockCipher(os.urandom(32))
    sealed = _seal(cipher, 0, [b"x" * BLOCK], os.urandom(NONCE))
    stored = bytes(STORED) + sealed + bytes(100)
    out = bytearray(b"\xff" * (3 * BLOCK))
    assert cipher.open_into(stored, out, PREFIX, 5)[1] == 1, "block 6 was sealed as block 0"
    stored = bytes(STORED) + _seal(cipher, 6, [b"x" * BLOCK], os.urandom(NONCE)) + bytes(100)
    assert cipher.open_into(stored, out, PREFIX, 5) == (2 * BLOCK + 68, -1, 0)
    assert bytes(out[:BLOCK]) == bytes(BLOCK) and bytes(out[BLOCK:2 * BLOCK]) == b"x" * BLOCK
    assert bytes(out[2 * BLOCK:2 * BLOCK + 68]) == bytes(68)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        BlockCipher(b"short")
    cipher = BlockCipher(os.urandom(32))
    with pytest.raises(ValueError):
        cipher.seal_into(bytearray(10), 0, os.urandom(NONCE), PREFIX, 0, [b"x"])  # no room
    with pytest.raises(ValueError):
        cipher.seal_into(bytearray(STORED), 0, os.urandom(8), PREFIX, 0, [b"x"])  # nonce
    with pytest.raises(ValueError):
        cipher.seal_into(bytearray(2 * STORED), 0, os.urandom(NONCE), PREFIX, 0, [bytes(BLOCK + 1)])
    with pytest.raises(ValueError):
        cipher.open_into(bytes(STORED), bytearray(10), PREFIX, 0)
    with pytest.raises(TypeError):
        cipher.__init__(os.urandom(32))  # keyed once


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 5 * BLOCK))
def test_one_buffer_is_cut_into_blocks_like_the_list(size: int) -> None:
    key = os.urandom(32)
    cipher, data, first = BlockCipher(key), os.urandom(size), 9
    blocks = [data[i:i + BLOCK] for i in range(0, size, BLOCK)]
    nonces = os.urandom(NONCE * len(blocks))
    out = bytearray(size + 32 * len(blocks))
    assert cipher.seal_into(out, 0, nonces, PREFIX, first, memoryview(data)) == len(out)
    assert bytes(out) == _reference_seal(key, first, blocks, nonces)


def test_nonces_none_are_fresh_and_random_per_block() -> None:
    key = os.urandom(32)
    cipher = BlockCipher(key)
    data = bytes(4 * BLOCK)  # equal blocks: only the nonces tell them apart
    seen: set[bytes] = set()
    for _ in range(50):
        out = bytearray(4 * STORED)
        assert cipher.seal_into(out, 0, None, PREFIX, 0, data) == len(out)
        for i in range(4):
            nonce = bytes(out[i * STORED:i * STORED + NONCE])
            assert nonce not in seen and nonce != bytes(NONCE)
            seen.add(nonce)
            assert AESGCM(key).decrypt(nonce, bytes(out[i * STORED + NONCE:(i + 1) * STORED]),
                                       _aad(PREFIX, i)) == bytes(BLOCK)
