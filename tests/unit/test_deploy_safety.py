"""glupy.deploy.safety decides "encrypted" exactly as crypt marks files."""

from glupy.deploy import safety
from glupy.library import crypt


def test_the_marker_is_crypts_own_xattr() -> None:
    assert safety.CRYPT_MARK_XATTR == crypt.NONCE_XATTR
    assert safety.is_encrypted([crypt.NONCE_XATTR, crypt.KCV_XATTR, "user.x"])
    assert not safety.is_encrypted(["user.x", "trusted.gfid"])


def test_crypt_is_recognised_by_module() -> None:
    assert safety.is_crypt("glupy.library.crypt")
    assert safety.is_crypt("glupy.library.crypt:Crypt")
    assert not safety.is_crypt("glupy.library.cryptic")
