"""Deploying Python translators onto glusterd-managed volumes (``glupy attach``).

How it works
------------
* The configuration of each attached translator is a volume option
  ``user.glupy.xl.<NAME>`` holding a compact JSON spec (module, side, position,
  options, python path).  glusterd accepts any ``user.*`` option, replicates it to
  every peer of the trusted pool, stores it in ``<workdir>/vols/<VOL>/info`` and keeps
  it across restarts and volfile regenerations.
* A volfile filter (``<xlatordir>/../filter/glupy-filter``, see
  :mod:`glupy.deploy.filter`) runs on every peer each time glusterd writes a volfile.
  It reads the ``info`` file next to the volfile and inserts a ``features/glupy``
  volume per attached translator: client side right above the top cluster
  translator (dht), brick side right above ``storage/posix``.  Volfiles of volumes
  without ``user.glupy.xl.*`` options are left untouched.
* glusterd regenerates volfiles *before* it stores the new ``info`` (glusterd-op-sm.c,
  ``glusterd_op_set_volume``), so one ``volume set`` is followed by a second one
  (``user.glupy.generation``) whose regeneration sees the new configuration.

Only :mod:`glupy.local.volfile` and the standard library are used here, so the filter
starts fast (it runs ~16 times per peer on each ``volume set``).
"""

from glupy.deploy.config import (
    GEN_KEY,
    KEY_PREFIX,
    POSITIONS,
    SIDES,
    AttachSpec,
    ConfigError,
    read_info_specs,
)

__all__ = [
    "GEN_KEY",
    "KEY_PREFIX",
    "POSITIONS",
    "SIDES",
    "AttachSpec",
    "ConfigError",
    "read_info_specs",
]
