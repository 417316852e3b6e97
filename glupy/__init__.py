"""glupy: GlusterFS translators written in Python.

    import errno
    from glupy import Translator, FopError, Option

    class HideTmp(Translator):
        suffix = Option(str, default=".tmp", doc="names hidden from lookup")

        async def lookup(self, loc, xdata):
            if loc.name and loc.name.endswith(self.suffix):
                raise FopError(errno.ENOENT)
            return await self.child.lookup(loc, xdata)
"""

from glupy import constants
from glupy.attrcache import AttrCache
from glupy.constants import *  # noqa: F403 - FALLOC_FL_*, SETATTR_*, XATTR_*, lock commands
from glupy.journal import Journal, JournalRecord
from glupy.misscache import MissCache
from glupy.replies import *  # noqa: F403 - the reply classes (LookupReply, ...)
from glupy.replies import Reply
from glupy.translator import (
    Child,
    FopCall,
    FopError,
    Gather,
    InitError,
    Lock,
    Mark,
    Option,
    Refuse,
    Size,
    Translator,
    WhenMarked,
    Wind,
    gather,
    policy,
)
from glupy.types import (
                         Caller,
                         Dict,
                         Dirent,
                         Dirents,
                         Event,
                         Fd,
                         Flock,
                         Iatt,
                         IaType,
                         Inode,
                         Lease,
                         Loc,
                         StatVfs,
                         Vector,
                         gfid_str,
)
from glupy.upcall import (
                          CacheInvalidation,
                          EntrylkContention,
                          InodelkContention,
                          LeaseRecall,
                          Upcall,
                          UpcallKind,
                          UpFlag,
)

__version__ = "0.1.0"
__all__ = [
    "AttrCache", "CacheInvalidation", "Caller", "Child", "Dict", "Dirent", "Dirents", "EntrylkContention",
    "Event", "Fd", "Flock", "FopCall", "FopError", "Gather", "IaType", "Iatt", "InitError", "Inode",
    "InodelkContention", "Journal", "JournalRecord", "Lease", "LeaseRecall", "Loc", "Lock",
    "Mark", "MissCache", "Option", "Refuse", "Reply",
    "Size", "StatVfs", "Translator", "UpFlag", "Upcall", "UpcallKind", "Vector", "WhenMarked", "Wind",
    "constants",
    "gather", "gfid_str", "policy",
    *constants.__all__,
]
