"""glupy.library._blocks (_blocks.c): crypt's stored blocks, a request per call."""

from collections.abc import Sequence

from typing_extensions import Buffer

class BlockCipher:
    def __init__(self, key: Buffer) -> None: ...
    def seal_into(self, out: Buffer, pos: int, nonces: Buffer | None, aad_prefix: Buffer,
                  first: int, plain: Buffer | Sequence[Buffer]) -> int: ...
    def open_into(self, stored: Buffer, out: Buffer, aad_prefix: Buffer,
                  first: int) -> tuple[int, int, int]: ...
