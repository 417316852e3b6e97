"""Records the upcalls it is handed; ``getfattr -n glupy.upcalls`` returns them as JSON."""

from __future__ import annotations

from typing import Any

from glupy import CacheInvalidation, UpFlag, gfid_str
from glupy.testing.recording import RecordingTranslator

XATTR = "glupy.upcalls"


def _summary(event: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": event.kind.name, "gfid": gfid_str(event.gfid),
                           "client_uid": event.client_uid}
    if isinstance(event, CacheInvalidation):
        out["flags"] = [f.name for f in UpFlag if f in event.flags]
        for what in ("stat", "parent", "old_parent"):
            iatt = getattr(event, what)
            out[what] = None if iatt is None else {
                "gfid": gfid_str(iatt.gfid), "type": iatt.type.name, "mode": iatt.mode,
                "size": iatt.size, "nlink": iatt.nlink}
    return out


class Recorder(RecordingTranslator):
    record_key = XATTR

    def upcall(self, event: Any) -> None:
        self.record(_summary(event))  # the event is a copy: read it after the C struct is gone


class Raising(Recorder):
    """upcall() raises: the event must still travel up the graph (to Recorder above)."""

    def upcall(self, event: Any) -> None:
        super().upcall(event)
        raise RuntimeError("upcall hook failure (expected by the test)")
