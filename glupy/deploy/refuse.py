"""Translators the deploy machinery puts into volfiles in place of a real one.

:class:`Refuse` is what the volfile filter inserts when it cannot insert a configured
translator (fail closed): its init fails with the reason, so the graph does not load
and the log says which translator, why, and what to do.

:class:`Inert` is what a detached brick-side translator becomes: glusterd cannot remove
a ``user.xlator.*`` option (10.3, 11.1: ``volume reset`` refuses ``user.*`` keys), so
the brick graph keeps the volume; it handles no fop (everything passes through in C)
and accepts whatever options the detached translator had.
"""

from __future__ import annotations

from glupy import InitError, Option, Translator
from glupy.deploy.config import INERT_MODULE, REFUSE_MODULE

__all__ = ["INERT_MODULE", "REFUSE_MODULE", "Inert", "Refuse"]


class Refuse(Translator):
    """Fails init with ``reason``: a graph with this volume never runs."""

    reason = Option(str, default="the glupy volfile filter failed", doc="why, and the fix")

    def init(self) -> None:
        raise InitError(self.reason)


class Inert(Translator):
    """A detached translator: no fops in Python, any options accepted."""

    accepts_unknown_options = True
