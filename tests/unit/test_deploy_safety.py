"""glupy.deploy.safety decides "encrypted" exactly as crypt marks files."""

from glupy.deploy import safety
from glupy.library import crypt


def test_the_markers_are_crypts_own() -> None:
    # formats 2 and 3 (header magic at offset 0) once crypt has it; format 1's xattr either way
    magic = getattr(crypt, "MAGIC", None)
    if magic is not None:
        assert magic == safety.CRYPT_MAGIC
    v1 = getattr(crypt, "V1_XATTR", None) or crypt.NONCE_XATTR  # type: ignore[attr-defined]
    assert v1 == safety.CRYPT_V1_XATTR


def test_is_encrypted() -> None:
    assert safety.is_encrypted(b"GLCR\x00\x02", [])
    assert safety.is_encrypted(b"abcd", [safety.CRYPT_V1_XATTR, "user.x"])
    assert not safety.is_encrypted(b"GLC", ["user.x", "trusted.gfid"])
    assert not safety.is_encrypted(b"plain text", [])


def test_crypt_is_recognised_by_module() -> None:
    assert safety.is_crypt("glupy.library.crypt")
    assert safety.is_crypt("glupy.library.crypt:Crypt")
    assert not safety.is_crypt("glupy.library.cryptic")
