"""Refusing attach/detach operations that would damage data (crypt).

* Attaching ``glupy.library.crypt`` to a volume that already holds non-empty files
  without crypt's marker xattr: crypt would refuse every one of them (EACCES), and
  writing through it would mix formats.
* Detaching crypt from a volume holding encrypted files: clients would switch live to
  a graph that reads ciphertext and writes plaintext into encrypted files.

Both are refused unless ``--force``.  Whether a file is encrypted is decided by
:func:`is_encrypted` alone, from what is stored on the bricks: crypt's formats 2 and 3 start
every non-empty file with the header magic ``GLCR``; format 1 files carry the
``trusted.glupy.crypt.nonce`` xattr.  It is the one place to change if crypt's on-disk
format changes (tests/unit/test_deploy_safety.py compares it with crypt's constants).  The volume is read
through a gfapi client of the volume without any glupy translator
(:mod:`glupy.deploy.probe`, ``scan``), so bricks on every host are seen.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

# glupy.library.crypt's MAGIC (format 2 and 3 headers at offset 0) and its format 1 xattr
CRYPT_MAGIC = b"GLCR"
CRYPT_V1_XATTR = "trusted.glupy.crypt.nonce"
CRYPT_MODULE = "glupy.library.crypt"
SCAN_LIMIT = 100_000  # entries looked at, at most


def is_encrypted(head: bytes, xattr_names: Collection[str]) -> bool:
    """Whether a non-empty file whose stored content starts with ``head`` (at least 4
    bytes when the file has them) and whose xattrs are ``xattr_names`` was written by
    crypt (either format)."""
    return head.startswith(CRYPT_MAGIC) or CRYPT_V1_XATTR in xattr_names


def is_crypt(module: str) -> bool:
    return module.split(":", 1)[0] == CRYPT_MODULE


def check_attach(g: Any, vol: Any, spec: Any, info: Any, *, force: bool,
                 say: Callable[[str], None]) -> None:
    from glupy.deploy.ops import scan_volume

    if not is_crypt(spec.module):
        return
    found = scan_volume(g, vol)
    if found.get("error"):
        msg = f"cannot check {vol.name} for unencrypted files: {found['error']}"
    elif found.get("plain"):
        msg = (f"{vol.name} holds files that are not encrypted (e.g. {found['plain']}): crypt "
               "would refuse to read every one of them (EACCES). Copy the data into a new "
               "volume through crypt instead")
    else:
        return
    _refuse_unless_forced(msg, "attaches", force, say)


def check_detach(g: Any, vol: Any, spec: Any, *, force: bool, say: Callable[[str], None]) -> None:
    from glupy.deploy.ops import scan_volume

    if not is_crypt(spec.module) or not vol.started:
        return
    found = scan_volume(g, vol)
    if found.get("error"):
        msg = f"cannot check {vol.name} for encrypted files: {found['error']}"
    elif found.get("encrypted"):
        msg = (f"{vol.name} holds encrypted files (e.g. {found['encrypted']}): without crypt, "
               "clients would read ciphertext and could write plaintext into them. Copy the "
               "data out through crypt first")
    else:
        return
    _refuse_unless_forced(msg, "detaches", force, say)


def _refuse_unless_forced(msg: str, verb: str, force: bool, say: Callable[[str], None]) -> None:
    from glupy.deploy.ops import DeployError

    if force:
        say(f"WARNING (--force): {msg}")
        return
    raise DeployError(f"{msg} (--force {verb} anyway)")
