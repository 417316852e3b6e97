"""Shows what the embedded interpreter looks like from inside glusterfs (xattrs)."""

import errno
import importlib
import json
import site
import sys

from glupy import Dict, FopError, Translator
from glupy.replies import GetxattrReply

PROBE = "glupy.probe.interpreter"
IMPORT = "glupy.probe.import."  # + a module name: import it now, in the fop
VERSION = "glupy.probe.version"
CODE_VERSION = 1


class TrustProbe(Translator):
    async def getxattr(self, loc, name, xdata):
        if name == PROBE:
            value = {"path": sys.path, "user_site": site.ENABLE_USER_SITE,
                     "dont_write_bytecode": sys.dont_write_bytecode,
                     "meta_path": [type(f).__name__ for f in sys.meta_path]}
        elif name == VERSION:
            value = CODE_VERSION
        elif name and name.startswith(IMPORT):
            try:
                importlib.import_module(name[len(IMPORT):])
            except ImportError as e:
                self.log.error("probe: import refused: %s", e)
                raise FopError(errno.EACCES) from None
            value = "imported"
        else:
            return await self.child.getxattr(loc, name, xdata)
        data = json.dumps(value).encode()
        return GetxattrReply(Dict.from_mapping({name: data}), None, op_ret=len(data))
