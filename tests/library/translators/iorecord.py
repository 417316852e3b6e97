"""Sits below crypt and records each readv/writev that reaches storage/posix: whether
its fd is O_DIRECT, its offset and its size.  ``getfattr -n glupy.io`` returns
``[[fop, direct, offset, size], ...]`` as JSON, oldest first; ``glupy.io.reset``
empties the record."""

from __future__ import annotations

import os
from typing import Any

from glupy.testing.recording import RecordingTranslator


class IoRecord(RecordingTranslator):
    record_key = "glupy.io"

    def _note(self, fop: str, fd: Any, offset: int, size: int) -> None:
        self.record([fop, bool(fd.flags & os.O_DIRECT), offset, size])

    async def readv(self, fd, size, offset, flags, xdata):
        self._note("readv", fd, offset, size)
        return await self.child.readv(fd, size, offset, flags, xdata)

    async def writev(self, fd, vector, offset, flags, xdata):
        self._note("writev", fd, offset, len(vector))
        return await self.child.writev(fd, vector, offset, flags, xdata)
