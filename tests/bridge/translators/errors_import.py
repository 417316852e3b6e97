"""A translator module whose import fails (tests/bridge/test_errors.py)."""

import glupy_test_no_such_module_e41d  # noqa: F401  ModuleNotFoundError

from glupy import Translator


class NeverLoaded(Translator):
    pass
