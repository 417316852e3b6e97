"""Recording translators: put one in a test's graph to see what reaches it.

A :class:`RecordingTranslator` keeps what its fops (or upcalls) note with
``self.record(item)``, any JSON value, and answers a getxattr of its ``record_key``
with the records as JSON, oldest first; ``record_key + ".reset"`` empties them and
answers ``[]``.  Reading does not empty them: getxattr(2) asks again with a larger
buffer on ERANGE.  Every other getxattr passes on to the child::

    class SeenOffsets(RecordingTranslator):
        record_key = "test.offsets"

        async def readv(self, fd, size, offset, flags, xdata):
            self.record(["readv", offset, size])
            return await self.child.readv(fd, size, offset, flags, xdata)

    # in the test: json.loads(os.getxattr(mountpoint, "test.offsets"))

The records are the instance's, kept from ``init()`` (a subclass that overrides it
calls ``super().init()``), and guarded by a lock: callbacks come on any thread.
"""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar

from glupy import Dict, Translator, replies


class RecordingTranslator(Translator):
    #: the xattr name that reads the records (``record_key + ".reset"``: empties them)
    record_key: ClassVar[str]

    def init(self) -> None:
        self._records: list[Any] = []
        self._records_lock = threading.Lock()

    def record(self, item: Any) -> None:
        """Keep ``item`` (a JSON value) as the newest record."""
        with self._records_lock:
            self._records.append(item)

    def records_reply(self, name: str | None) -> replies.GetxattrReply | None:
        """The reply to a getxattr of ``name`` when it reads the records, else None."""
        if name != self.record_key and name != self.record_key + ".reset":
            return None
        with self._records_lock:
            if name != self.record_key:
                self._records.clear()
            value = json.dumps(self._records).encode()
        return replies.GetxattrReply(Dict.from_mapping({name: value}), None, op_ret=len(value))

    async def getxattr(self, loc: Any, name: str | None, xdata: Any) -> Any:
        reply = self.records_reply(name)
        if reply is not None:
            return reply
        return await self.child.getxattr(loc, name, xdata)
