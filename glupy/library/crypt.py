"""crypt: client-side authenticated encryption of file contents and names (format 3).

Put it above the subvolume whose data must be encrypted (in a client graph: above
DHT/AFR, so every brick receives ciphertext)::

    volume crypt
        type features/glupy
        option module glupy.library.crypt
        option key-file /etc/glusterfs/crypt.key      # exactly 32 random bytes, mode 0600
        subvolumes posix
    end-volume

or ``option passphrase-file /etc/glusterfs/crypt.pass`` (see "Keys").  The volfile names
a file, never the key.  ``init`` fails with one log line naming the file when it is
missing, unreadable, malformed or readable by group/other.

On-disk format 3 (every regular file; empty files have no header)
-----------------------------------------------------------------
::

    header (512 bytes, offset 0)
      magic     4   b"GLCR"
      version   2   big-endian 3
      key id    8   HKDF-SHA256(master, info "glupy-crypt v2 key id")
      file id  16   random, new whenever the file goes from empty to non-empty
      wrapped  48   AES-SIV(kek, file key, AD = [magic|version|key id|file id, GFID])
      padding 434   zeros (checked: anything else is an altered header)
    block i (offset 512 + i * 4128), 4096 plaintext bytes (the last one may be shorter)
      nonce    16   random, fresh on every write of the block
      data      n   AES-256-GCM(file key, nonce, plaintext, AAD = magic|version|file id|i)
      tag      16

* The file key is 32 random bytes per file, stored wrapped (AES-SIV, deterministic, so
  every replica of a header is byte-identical) under a key-encryption key derived from
  the master key (``kek = HKDF(master, info "glupy-crypt v2 key wrap")``, 64 bytes).
  The wrap authenticates the header fields and the file's GFID: a header or a whole
  file copied onto another inode does not open.  Rotating the master key rewraps the
  headers only (``python -m glupy.library.crypt rotate``, below).
* Plaintext size ``p`` is stored as ``0`` (``p == 0``) or ``512 + (p // 4096) * 4128 +
  (p % 4096 + 32 if p % 4096 else 0)``.  Every iatt the translator returns for a regular
  file (lookup, stat, fstat, readdirp, readv, create, mknod, link, rename, setattr,
  fsync, and every pre/post buffer of writes, truncates, fallocate, discard, zerofill)
  is mapped back to the plaintext size.  ``ia_blocks`` is left as the brick's.
* A stored block whose bytes are all zero is a hole and reads as zeros (as in
  gocryptfs): truncate-extend, fallocate and discard leave holes; every write encrypts.
* Writes read-modify-write the edge blocks; a write past EOF first pads a partial last
  block to 4096 bytes (a short block is only valid at the end).  Truncate to 0 drops the
  header (the next write makes a new file id and key).
* The header is padded to 512 bytes so that 16 whole blocks from a 16th block on are a
  512-aligned range of the brick file (FUSE's 128 KiB requests are 32 such blocks).  For
  a caller whose fd is O_DIRECT, crypt reads and writes such ranges through an O_DIRECT
  anonymous fd, so the brick's page cache is bypassed as it is for the plaintext without
  crypt; every other range goes through the page cache.  A brick that refuses O_DIRECT
  (EINVAL) is logged once and then used without it.

Detection
---------
Every block is opened with its GCM tag and AAD, so a flipped bit, a block moved within
a file or from another file, a block cut short, a header that is altered, deleted or
moved, or the content of another inode copied over this one gives **EIO** for that
read, and the log names the file (GFID and path when known) and the block.  There is no
fallback: nothing is ever written in clear, and a non-empty file whose first bytes are
not ``GLCR`` (a plaintext file from before crypt, or a header overwritten) gives EIO,
logged once per file, unless ``option read-legacy-plaintext on``: then such files are
served read-only (their bytes, their real size) and everything that would change their
contents (an open for writing, write, truncate, fallocate, discard, zerofill) fails with
**EROFS**, logged once per file.  Encrypt one by copying it through the mount and
renaming the copy over it.  Under the option, each file's first 4 bytes are read once
per inode on its first lookup/stat/listing to tell the kinds apart.  Files of format 1
(AES-CTR with ``trusted.glupy.crypt.nonce`` xattrs) and of format 2 (the same blocks
after a 78-byte header, version 2) are refused with EIO and a log line saying so, with
the option or without: copy them out with the glupy release that wrote them and back in
through this one.

Wrong key: a header whose key id is not this mount's gives **EKEYREJECTED**, logged
once per file; no data is decrypted.

Names (``option encrypt-names``, default on)
--------------------------------------------
Entry names and symlink targets are encrypted with AES-SIV under a random 64-byte
volume name key, stored wrapped (like a file key; ``rotate`` rewraps it) in the root
directory's ``trusted.glupy.crypt.namekey`` (key id | wrap), made on first use.  Each
directory has a random 16-byte IV in ``trusted.glupy.crypt.diriv`` (given to posix at
mkdir; the root's made on first use), the associated data of its names::

    stored name = base64url(AES-SIV(name key, name padded to 16; AD = label, dir IV))

unpadded; one over NAME_MAX becomes ``glupy.ln.<base64url(SHA-256(stored name))>`` and
the parent keeps the full one in ``trusted.glupy.crypt.ln.<hash>``.  A symlink's target
is ``base64url(AES-SIV(name key, target; AD = label, its GFID))`` (not padded, so lstat
reports the plaintext length).  Listings leave out (one log line per listing) entries
whose names do not decrypt, e.g. one moved to another directory on the brick.  Another
master key's name key gives EKEYREJECTED for every name fop.  ``encrypt-names off``
keeps names in clear (volumes written that way); it cannot change on a mounted volume.

Keys
----
* ``key-file``: exactly 32 raw bytes (``head -c 32 /dev/urandom``, or ``python -m
  glupy.library.crypt new-key FILE``).  A file of any other length, or 32 printable
  ASCII characters (a passphrase, not a key), is refused.
* ``passphrase-file``: a text file written by ``python -m glupy.library.crypt
  new-passphrase-file FILE`` (passphrase from stdin)::

      glupy-crypt-passphrase v1 scrypt n=65536 r=8 p=1 salt=<64 hex digits>
      <the passphrase: the rest of the file, one trailing newline removed>

  The master key is ``scrypt(passphrase, salt, n, r, p, 32 bytes)``; ``n`` must be a
  power of two >= 16384.
* Either file readable or writable by group/other fails init unless
  ``allow-shared-key-file on``.  No key material or plaintext is ever logged.
* Rotation: ``python -m glupy.library.crypt rotate --old-key-file A --new-key-file B
  BRICK_DIR...`` (or the ``--*-passphrase-file`` forms) rewrites each header under
  the old key id with the new wrap; headers already under the new key are skipped, so
  an interrupted run is simply run again.  Run it on every brick while the volume is
  stopped (or with no client writing); the result is deterministic, so replicas stay
  identical.  Data blocks are not touched, and neither are the file keys: the old
  master key with a copy of the old headers (a backup) still opens those files; copy
  a file to give it a new file key.

Concurrency
-----------
One client: a ``glupy.Lock`` per inode serialises writes, truncates, open(O_TRUNC),
fallocate and discard; every such section re-reads the size (fstat) and the header, so
nothing about a file's size or header is trusted across fops (another client may have
truncated or rewritten it).  Reads take no lock.  A read of block 0 checks the header;
a read further on uses the file key this client last opened from the header (blocks
authenticate only under their file's own key, GFID and index, so a key gone stale fails
like an altered block).  If a block fails authentication the read is retried once
under the locks, the header read again (a read torn by a concurrent writer, or a file
made anew by another client), before EIO.

Several writing clients: ``option cluster-lock`` (default on) makes the same sections
hold a whole-file GlusterFS inodelk (domain ``glupy.crypt``) on a ``<gfid:…>`` loc of
the inode, so two clients never read-modify-write the same block at once.  Never a
finodelk: AFR drops the fd of a finodelk unlock, which then never reaches the bricks.
A lock and its unlock are wound with the same lock owner (a random per-mount prefix and
a counter): features/locks tells holders apart by owner, and AFR rewrites the call
stack's owner in its own transactions.  On a replica volume written by several clients at
once, set ``cluster.post-op-delay-secs 0``: AFR otherwise holds its own lock for a
1-second delayed post-op after each write, and the other client's write waits for it
(about one contended write a second).  When the child has no lock translator (a
single-process graph straight over storage/posix: ENOSYS) the local lock alone is used
and that is logged once.

Translators above crypt see plaintext only: lookup and readdirp drop the
``glusterfs.content`` request (performance/quick-read would otherwise cache the brick's
bytes of small files and serve them as the file).

Not supported: ``copy_file_range`` (EOPNOTSUPP: the kernel falls back to read + write,
which re-encrypts) and ``put``.  fallocate supports modes 0 and KEEP_SIZE; discard
(punch hole) and zerofill are supported; SEEK_DATA/SEEK_HOLE are mapped to blocks.
"""

from __future__ import annotations

import base64
import errno
import fcntl
import hashlib
import hmac
import os
import re
import stat
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from glupy import (
    Dict,
    Dirent,
    Fd,
    Flock,
    FopError,
    Iatt,
    IaType,
    Inode,
    Loc,
    Lock,
    Option,
    Translator,
    Vector,
    Wind,
    gather,
    gfid_str,
)
from glupy.library._blocks import BlockCipher
from glupy.replies import (
    AccessReply,
    CopyFileRangeReply,
    CreateReply,
    DiscardReply,
    FallocateReply,
    FsetattrReply,
    FstatReply,
    FsyncReply,
    FtruncateReply,
    GetxattrReply,
    LinkReply,
    LookupReply,
    MkdirReply,
    MknodReply,
    OpendirReply,
    OpenReply,
    PutReply,
    ReaddirpReply,
    ReaddirReply,
    ReadlinkReply,
    ReadvReply,
    RemovexattrReply,
    RenameReply,
    RmdirReply,
    SeekReply,
    SetattrReply,
    SetxattrReply,
    StatfsReply,
    StatReply,
    SymlinkReply,
    TruncateReply,
    UnlinkReply,
    WritevReply,
    ZerofillReply,
)

MAGIC = b"GLCR"
VERSION = 3
KEY_LEN = 32
FILE_ID_LEN = 16
KEY_ID_LEN = 8
WRAPPED_LEN = 16 + KEY_LEN  # AES-SIV: synthetic IV + ciphertext
HEADER_FIELDS_LEN = len(MAGIC) + 2 + KEY_ID_LEN + FILE_ID_LEN + WRAPPED_LEN  # 78
DIRECT_ALIGN = 512  # O_DIRECT's offset and length unit on the bricks' block devices
HEADER_LEN = DIRECT_ALIGN  # the fields, then zeros: blocks start 512-aligned
BLOCK = 4096
NONCE_LEN = 16
TAG_LEN = 16
OVERHEAD = NONCE_LEN + TAG_LEN
STORED_BLOCK = BLOCK + OVERHEAD  # 4128
LOCK_DOMAIN = "glupy.crypt"
CONTENT_KEY = "glusterfs.content"  # lookup xdata: posix returns small files' bytes (quick-read)
Buffer = bytes | bytearray | memoryview
_Reply = TypeVar("_Reply")
V1_XATTR = "trusted.glupy.crypt.nonce"  # format 1's per-file nonce
PASSPHRASE_MAGIC = "glupy-crypt-passphrase v1"
SCRYPT_MIN_N = 1 << 14
_ZERO_BLOCK = bytes(STORED_BLOCK)
_VERSION_BYTES = VERSION.to_bytes(2, "big")
_HEADER_PADDING = bytes(HEADER_LEN - HEADER_FIELDS_LEN)
_FALLOC_FL_KEEP_SIZE = 0x01
_SEEK_DATA, _SEEK_HOLE = 0, 1  # gf_seek_what_t: GF_SEEK_DATA, GF_SEEK_HOLE
DIRIV_XATTR = "trusted.glupy.crypt.diriv"  # a directory's 16-byte name IV
NAMEKEY_XATTR = "trusted.glupy.crypt.namekey"  # on the root: the wrapped volume name key
NAMEKEY_LEN = 64  # AES-256-SIV
DIRIV_LEN = 16
LONGNAME_XATTR = "trusted.glupy.crypt.ln."  # + hash part: the parent's record of a long name
LONGNAME_PREFIX = "glupy.ln."  # has a '.', so it is never an encrypted (base64url) name
NAME_MAX = 255
SYMLINK_MAX = 4095  # a brick's symlink target: PATH_MAX - 1
ROOT_GFID = bytes(15) + b"\x01"
_NAME_AD = b"glupy-crypt v2 name"
_NAMEKEY_AD = b"glupy-crypt v2 name key"
_LINK_AD = b"glupy-crypt v2 symlink"
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_XATTR_CREATE = 1
NAME_MEMO_MAX = 1 << 16  # (dir IV, name) -> stored name, cleared when full


# ---------------------------------------------------------------------- sizes
def plain_size(stored: int) -> int:
    """The plaintext size of a brick file of ``stored`` bytes.  A size no file of this
    format can have (a header or last block cut short) maps to one byte into the broken
    part, so that reading it reaches the translator and fails with EIO."""
    if stored == 0 or stored == HEADER_LEN:
        return 0
    if stored < HEADER_LEN:
        return 1
    full, rem = divmod(stored - HEADER_LEN, STORED_BLOCK)
    if 0 < rem <= OVERHEAD:
        return full * BLOCK + 1
    return full * BLOCK + max(0, rem - OVERHEAD)


def stored_size(plain: int) -> int:
    """The brick size of a file of ``plain`` plaintext bytes."""
    if plain <= 0:
        return 0
    full, rem = divmod(plain, BLOCK)
    return HEADER_LEN + full * STORED_BLOCK + (rem + OVERHEAD if rem else 0)


def block_offset(index: int) -> int:
    return HEADER_LEN + index * STORED_BLOCK


def _view(vector: Any) -> memoryview:
    """The bytes of a reply's vector without a copy (valid during the fop)."""
    if vector is None:
        return memoryview(b"")
    if isinstance(vector, Vector):
        return vector.contiguous()
    return memoryview(vector)


def _map(iatt: Iatt | None) -> None:
    if iatt is not None and iatt.type == IaType.REG:
        iatt.size = plain_size(iatt.size)


# ---------------------------------------------------------------------- keys
class KeyFileError(ValueError):
    """The key or passphrase file cannot be used (missing, unreadable, malformed, shared)."""


def _hkdf(key: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(key)


def _read_secret_file(path: str | os.PathLike[str], allow_shared: bool) -> bytes:
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read()
    except OSError as e:
        raise KeyFileError(f"crypt: cannot read key file {name!r}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"crypt: key file {name!r} is not a regular file")
    if st.st_mode & 0o077 and not allow_shared:
        raise KeyFileError(f"crypt: key file {name!r} is accessible by group/other (mode "
                           f"{stat.S_IMODE(st.st_mode):04o}): chmod 600 it, or set "
                           f"allow-shared-key-file on")
    return data


def read_key_file(path: str | os.PathLike[str], allow_shared: bool = False) -> bytes:
    """The master key in ``path``: exactly 32 raw bytes, not all printable ASCII."""
    data = _read_secret_file(path, allow_shared)
    name = os.fspath(path)
    if len(data) != KEY_LEN:
        raise KeyFileError(f"crypt: key file {name!r} must hold exactly {KEY_LEN} raw bytes "
                           f"(it has {len(data)}); for a passphrase use passphrase-file")
    if all(0x20 <= b < 0x7F for b in data):
        raise KeyFileError(f"crypt: key file {name!r} holds 32 printable characters: that is "
                           f"a passphrase, not a random key; use passphrase-file")
    return data


_PASSPHRASE_LINE = re.compile(
    r"glupy-crypt-passphrase v1 scrypt n=(\d+) r=(\d+) p=(\d+) salt=([0-9a-f]{64})")


def read_passphrase_file(path: str | os.PathLike[str], allow_shared: bool = False) -> bytes:
    """The master key derived (scrypt) from the passphrase file at ``path`` (see the
    module docstring for its format)."""
    name = os.fspath(path)
    data = _read_secret_file(path, allow_shared)
    first, sep, rest = data.partition(b"\n")
    m = _PASSPHRASE_LINE.fullmatch(first.decode("ascii", "replace").strip())
    if not sep or m is None:
        raise KeyFileError(f"crypt: passphrase file {name!r}: the first line must be "
                           f"'{PASSPHRASE_MAGIC} scrypt n=N r=R p=P salt=<64 hex>'")
    n, r, p = int(m[1]), int(m[2]), int(m[3])
    if n < SCRYPT_MIN_N or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16:
        raise KeyFileError(f"crypt: passphrase file {name!r}: scrypt n must be a power of two "
                           f">= {SCRYPT_MIN_N}, 1 <= r <= 64, 1 <= p <= 16")
    passphrase = rest[:-1] if rest.endswith(b"\n") else rest
    if not passphrase:
        raise KeyFileError(f"crypt: passphrase file {name!r} holds no passphrase")
    return Scrypt(salt=bytes.fromhex(m[4]), length=KEY_LEN, n=n, r=r, p=p).derive(passphrase)


def passphrase_file_text(passphrase: bytes, n: int = 1 << 16, r: int = 8, p: int = 1) -> bytes:
    """The contents of a new passphrase file (fresh random salt)."""
    if not passphrase or b"\n" in passphrase:
        raise ValueError("the passphrase must be one non-empty line")
    salt = os.urandom(32).hex()
    return f"{PASSPHRASE_MAGIC} scrypt n={n} r={r} p={p} salt={salt}\n".encode() + passphrase + b"\n"


@dataclass(frozen=True)
class MasterKey:
    """What the translator keeps of the master key: its id and the wrapping cipher."""

    key_id: bytes
    wrap: AESSIV

    @classmethod
    def from_bytes(cls, master: bytes) -> MasterKey:
        return cls(_hkdf(master, b"glupy-crypt v2 key id", KEY_ID_LEN),
                   AESSIV(_hkdf(master, b"glupy-crypt v2 key wrap", 64)))


def load_master_key(key_file: str | os.PathLike[str] | None,
                    passphrase_file: str | os.PathLike[str] | None,
                    allow_shared: bool = False) -> MasterKey:
    if (key_file is None) == (passphrase_file is None):
        raise KeyFileError("crypt: set exactly one of key-file (32 raw bytes) and "
                           "passphrase-file (the key itself never goes in the volfile)")
    if key_file is not None:
        return MasterKey.from_bytes(read_key_file(key_file, allow_shared))
    assert passphrase_file is not None
    return MasterKey.from_bytes(read_passphrase_file(passphrase_file, allow_shared))


# ---------------------------------------------------------------------- names
def make_name_key(master: MasterKey) -> tuple[AESSIV, bytes]:
    """A new random volume name key: its cipher and its root xattr (key id | wrapped)."""
    raw = os.urandom(NAMEKEY_LEN)
    wrapped = master.wrap.encrypt(raw, [_NAMEKEY_AD, master.key_id])
    return AESSIV(raw), master.key_id + wrapped


def open_name_key(master: MasterKey, stored: bytes) -> AESSIV:
    """The name cipher from the root xattr (HeaderError: EKEYREJECTED for another
    master key, EIO for a damaged record)."""
    key_id, wrapped = stored[:KEY_ID_LEN], stored[KEY_ID_LEN:]
    if len(stored) != KEY_ID_LEN + 16 + NAMEKEY_LEN:
        raise HeaderError(errno.EIO, f"name key record of {len(stored)} bytes")
    if key_id != master.key_id:
        raise HeaderError(errno.EKEYREJECTED, f"names encrypted under another master key "
                                              f"(key id {key_id.hex()})")
    try:
        return AESSIV(master.wrap.decrypt(wrapped, [_NAMEKEY_AD, key_id]))
    except InvalidTag:
        raise HeaderError(errno.EIO, "name key record does not authenticate") from None


def rewrap_name_key(old: MasterKey, new: MasterKey, stored: bytes) -> bytes | None:
    """The root xattr rewrapped under ``new`` (None if it already is)."""
    if stored[:KEY_ID_LEN] == new.key_id:
        return None
    if stored[:KEY_ID_LEN] != old.key_id:
        raise HeaderError(errno.EKEYREJECTED, "name key under neither the old nor the new key")
    raw = old.wrap.decrypt(stored[KEY_ID_LEN:], [_NAMEKEY_AD, old.key_id])
    return new.key_id + new.wrap.encrypt(raw, [_NAMEKEY_AD, new.key_id])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """The bytes of canonical unpadded base64url ``text`` (ValueError otherwise: one
    stored name must never have two spellings)."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def encrypt_name(names: AESSIV, diriv: bytes, name: bytes) -> str:
    """The encrypted spelling of entry ``name`` in the directory whose IV is ``diriv``:
    base64url(AES-SIV(pad16(name), AD = [label, diriv])), deterministic so lookup works;
    it may be longer than NAME_MAX (see :func:`brick_name`)."""
    pad = 16 - len(name) % 16
    return _b64(names.encrypt(name + bytes([pad]) * pad, [_NAME_AD, diriv]))


def decrypt_name(names: AESSIV, diriv: bytes, encrypted: str) -> bytes:
    """The plaintext of an encrypted name (ValueError if it does not open under this
    key and directory IV)."""
    try:
        padded = names.decrypt(_unb64(encrypted), [_NAME_AD, diriv])
    except InvalidTag:
        raise ValueError("name does not authenticate") from None
    pad = padded[-1] if padded else 0
    if not 1 <= pad <= 16 or padded[-pad:] != bytes([pad]) * pad or pad == len(padded):
        raise ValueError("bad name padding")
    return padded[:-pad]


def brick_name(encrypted: str) -> str:
    """The entry name on the brick: the encrypted name, or for one longer than NAME_MAX
    ``glupy.ln.<base64url(SHA-256(encrypted))>`` (the parent directory keeps the long
    name in the xattr :func:`longname_xattr`)."""
    if len(encrypted) <= NAME_MAX:
        return encrypted
    return LONGNAME_PREFIX + _b64(hashlib.sha256(encrypted.encode("ascii")).digest())


def longname_xattr(stored: str) -> str | None:
    """The directory xattr that holds the long name of brick entry ``stored``, or None."""
    if stored.startswith(LONGNAME_PREFIX):
        return LONGNAME_XATTR + stored[len(LONGNAME_PREFIX):]
    return None


def encrypt_link(names: AESSIV, gfid: bytes, target: bytes) -> str:
    """A symlink's stored target: base64url(AES-SIV(target, AD = [label, GFID])), not
    padded, so that the plaintext length (lstat's size) follows from the stored one."""
    return _b64(names.encrypt(target, [_LINK_AD, gfid]))


def decrypt_link(names: AESSIV, gfid: bytes, stored: str) -> bytes:
    try:
        return names.decrypt(_unb64(stored), [_LINK_AD, gfid])
    except InvalidTag:
        raise ValueError("symlink target does not authenticate") from None


def link_size(stored: int) -> int:
    """The plaintext length of a symlink target stored in ``stored`` characters."""
    return max(0, stored * 3 // 4 - 16)


# ---------------------------------------------------------------------- header
class HeaderError(Exception):
    """A header that cannot be used; ``errno`` says how the fop fails."""

    def __init__(self, err: int, why: str) -> None:
        super().__init__(why)
        self.errno = err


def _header_ad(key_id: bytes, file_id: bytes) -> bytes:
    return MAGIC + _VERSION_BYTES + key_id + file_id


def make_header(master: MasterKey, gfid: bytes, file_key: bytes, file_id: bytes) -> bytes:
    ad = _header_ad(master.key_id, file_id)
    return (ad + master.wrap.encrypt(file_key, [ad, gfid])).ljust(HEADER_LEN, b"\0")


def open_header(master: MasterKey, gfid: bytes, header: bytes) -> tuple[bytes, bytes]:
    """(file id, file key) of ``header``; raises HeaderError."""
    if len(header) < HEADER_LEN:
        raise HeaderError(errno.EIO, f"header cut short ({len(header)} of {HEADER_LEN} bytes)")
    if header[:4] != MAGIC:
        raise HeaderError(errno.EIO, "no glupy-crypt header (a plaintext file, or its header "
                                     "was overwritten)")
    version = int.from_bytes(header[4:6], "big")
    if version == 2:
        raise HeaderError(errno.EIO, "written by crypt format 2 (78-byte header), which is no "
                                     "longer read: copy it out with the glupy release that "
                                     "wrote it, then back in")
    if version != VERSION:
        raise HeaderError(errno.EIO, f"unknown format version {version}")
    key_id = header[6:6 + KEY_ID_LEN]
    if not hmac.compare_digest(key_id, master.key_id):
        raise HeaderError(errno.EKEYREJECTED,
                          f"encrypted with another master key (key id {key_id.hex()}, this "
                          f"mount has {master.key_id.hex()})")
    file_id = header[6 + KEY_ID_LEN:30]
    try:
        file_key = master.wrap.decrypt(header[30:HEADER_FIELDS_LEN], [header[:30], gfid])
    except InvalidTag:
        raise HeaderError(errno.EIO, "header authentication failed (altered, or copied from "
                                     "another file)") from None
    if header[HEADER_FIELDS_LEN:HEADER_LEN] != _HEADER_PADDING:
        raise HeaderError(errno.EIO, "header padding altered (bytes 78-511 are zeros)")
    return file_id, file_key


def rewrap_header(old: MasterKey, new: MasterKey, gfid: bytes, header: bytes) -> bytes | None:
    """``header`` rewrapped under ``new`` (None: it is already under ``new``)."""
    if header[6:6 + KEY_ID_LEN] == new.key_id:
        return None
    file_id, file_key = open_header(old, gfid, header)
    return make_header(new, gfid, file_key, file_id)


def _block_aad_prefix(file_id: bytes) -> bytes:
    """A block's AAD is this, then its number (u64, big endian)."""
    return MAGIC + _VERSION_BYTES + file_id


class BlockError(Exception):
    def __init__(self, index: int, why: str) -> None:
        super().__init__(why)
        self.index = index


@dataclass
class FileKey:
    """An opened header: the file's block cipher and the bytes it came from."""

    header: bytes
    file_id: bytes
    cipher: BlockCipher

    @classmethod
    def open(cls, header: bytes, file_id: bytes, file_key: bytes) -> FileKey:
        return cls(header, file_id, BlockCipher(file_key))

    def seal(self, first: int, plain: Buffer | list[Buffer], prefix: bytes = b"") -> Vector:
        """Stored bytes of consecutive blocks ``first, first+1, ...`` (``plain``: one
        buffer cut into 4096-byte blocks, or a list of blocks of at most 4096 bytes),
        with fresh random nonces, sealed straight into a new iobuf after ``prefix`` (a
        new file's header)."""
        pos = len(prefix)
        if isinstance(plain, list):
            size, count = sum(map(len, plain)), len(plain)
        else:
            size = memoryview(plain).nbytes
            count = -(-size // BLOCK)
        out = Vector.alloc(pos + size + OVERHEAD * count)
        w = out.writable()
        if pos:
            w[:pos] = prefix
        self.cipher.seal_into(w, pos, None, _block_aad_prefix(self.file_id), first, plain)
        return out

    def unseal_into(self, first: int, stored: memoryview, out: memoryview) -> int:
        """Decrypt whole stored blocks from block ``first`` (the last may be short)
        into ``out``; returns the plaintext length.  Raises BlockError."""
        n, bad, kind = self.cipher.open_into(stored, out, _block_aad_prefix(self.file_id), first)
        if bad < 0:
            return int(n)
        if kind == 1:
            raise BlockError(first + bad, f"block cut short ({len(stored) - bad * STORED_BLOCK} "
                                          "bytes stored)")
        raise BlockError(first + bad, "authentication failed (altered, moved or from another "
                                      "file)")

    def unseal(self, first: int, stored: Buffer) -> list[bytes]:
        """Plaintext blocks of ``stored`` as a list (for read-modify-write)."""
        view = memoryview(stored)
        out = bytearray(BLOCK * -(-len(view) // STORED_BLOCK))
        n = self.unseal_into(first, view, memoryview(out))
        return [bytes(out[i:min(i + BLOCK, n)]) for i in range(0, n, BLOCK)]


# ---------------------------------------------------------------------- translator
@dataclass(eq=False)
class FileState:
    """Per inode (``inode.ctx``): the lock and the last header seen (a hint only)."""

    lock: Lock = field(default_factory=Lock)
    key: FileKey | None = None
    rejected_logged: bool = False
    plaintext: bool | None = None  # no crypt header (legacy); None: not looked at yet
    plaintext_logged: bool = False


@dataclass(eq=False)
class OpenFile:
    """The inode's anonymous fds crypt reads and writes through (never the caller's
    fd: it may be write-only or O_APPEND).  Kept in the caller's ``fd.ctx`` while it is
    open, so that storage/posix opens each once, not on every fop (an anonymous fd
    nobody holds is closed at the end of the fop that took it)."""

    anon: Fd
    direct: Fd | None = None  # O_DIRECT, for a caller whose fd is O_DIRECT


@dataclass(eq=False)
class DirState:
    """Per directory inode (``inode.ctx``): its name IV, and the brick path last worked
    out for it (:meth:`Crypt._brick_dir`): (plaintext path, brick path, the
    translator's tree generation then)."""

    iv: bytes
    brick_path: tuple[str, str, int] | None = None


def _xattr_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return bytes(value)


class Crypt(Translator):
    """Authenticated encryption of regular file contents (see the module docstring)."""

    key_file: Option[Path] = Option(Path, doc="file holding the 32-byte master key (mode 0600)")
    passphrase_file: Option[Path] = Option(Path, doc="passphrase file (scrypt; see the docs) "
                                                     "instead of key-file")
    allow_shared_key_file: Option[bool] = Option(bool, default=False,
                                                 doc="accept a key file readable by group/other")
    cluster_lock: Option[bool] = Option(bool, default=True,
                                        doc="hold a GlusterFS inodelk (domain glupy.crypt) "
                                            "around read-modify-write, for several writing "
                                            "clients")
    encrypt_names: Option[bool] = Option(bool, default=True,
                                         doc="encrypt entry names and symlink targets (off: "
                                             "names in clear, for volumes written that way)")
    read_legacy_plaintext: Option[bool] = Option(
        bool, default=False, doc="serve files without a crypt header (written before crypt) "
                                 "read-only: reads return their bytes, anything that would "
                                 "change their contents fails with EROFS")

    # ------------------------------------------------------------------ setup
    def init(self) -> None:
        self._master = load_master_key(self.key_file, self.passphrase_file,
                                       bool(self.allow_shared_key_file))
        self._inodelk = bool(self.cluster_lock)
        self._lock_owner_prefix = os.urandom(8)  # + a counter: one owner per inodelk held
        self._lock_count = 0
        self._names = bool(self.encrypt_names)
        self._name_cipher: AESSIV | None = None
        self._name_key_logged = False
        self._name_memo: dict[tuple[bytes, bytes], tuple[str, str | None]] = {}
        self._tree_generation = 0  # + 1 around each rename that may move a directory
        self._legacy = bool(self.read_legacy_plaintext)
        self._direct = True  # until a brick refuses O_DIRECT
        self.log.info("crypt: format %d, AES-256-GCM blocks of %d bytes, key id %s",
                      VERSION, BLOCK, self._master.key_id.hex())

    def reconfigure(self, changed: dict[str, Any]) -> None:
        if {"key_file", "passphrase_file", "allow_shared_key_file"} & set(changed):
            new = load_master_key(self.key_file, self.passphrase_file,
                                  bool(self.allow_shared_key_file))
            if new.key_id != self._master.key_id:
                raise KeyFileError("crypt: the master key of a mounted volume cannot change "
                                   "(rotate headers offline, then remount)")
        if "cluster_lock" in changed:
            self._inodelk = bool(self.cluster_lock)
        if "read_legacy_plaintext" in changed:
            self._legacy = bool(self.read_legacy_plaintext)
        if "encrypt_names" in changed and bool(self.encrypt_names) != self._names:
            raise ValueError("crypt: encrypt-names cannot change on a mounted volume")

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _who(inode: Inode) -> str:
        path = None
        try:
            path = inode.path()
        except Exception:  # a path is a courtesy in a log line
            path = None
        g = gfid_str(inode.gfid)
        return f"{g} ({path})" if path else g

    @staticmethod
    def _state(inode: Inode) -> FileState:
        st: FileState | None = inode.ctx
        if st is None:
            st = FileState()
            inode.ctx = st
        return st

    @staticmethod
    def _open_file(target: Fd | Loc, inode: Inode) -> OpenFile:
        """The anonymous fds for a fop on ``target`` (kept in a caller's fd, see
        :class:`OpenFile`; an anonymous caller fd is used as it is)."""
        if not isinstance(target, Fd):
            return OpenFile(Fd.open_anonymous(inode))
        if target.anonymous:
            return OpenFile(target)  # its ctx must not hold it: it would never be released
        of: OpenFile | None = target.ctx
        if of is None:
            of = OpenFile(Fd.open_anonymous(inode))
            if target.flags & os.O_DIRECT:
                of.direct = Fd.open_anonymous(inode, os.O_DIRECT)
            target.ctx = of
        return of

    def _fail(self, inode: Inode, st: FileState, err: HeaderError) -> FopError:
        if err.errno == errno.EKEYREJECTED:
            if not st.rejected_logged:
                st.rejected_logged = True
                self.log.error("crypt: %s: %s: EKEYREJECTED", self._who(inode), err)
        else:
            self.log.error("crypt: %s: %s: EIO", self._who(inode), err)
        return FopError(err.errno)

    async def _open_key(self, inode: Inode, st: FileState, header: bytes,
                        anon: Fd) -> FileKey | None:
        """The FileKey of the non-empty file whose first bytes are ``header``; None for
        a file without a crypt header under ``read-legacy-plaintext`` (served as is,
        read-only).  Raises FopError (logged) for anything else that does not open."""
        if st.key is not None and st.key.header == header[:HEADER_LEN]:
            st.plaintext = False
            return st.key
        try:
            file_id, file_key = open_header(self._master, inode.gfid, header[:HEADER_LEN])
        except HeaderError as e:
            why = e
        else:
            st.key = FileKey.open(bytes(header[:HEADER_LEN]), file_id, file_key)
            st.plaintext = False
            return st.key
        if header[:4] != MAGIC:
            if await self._is_format1(anon):
                why = HeaderError(errno.EIO, "written by crypt format 1 (AES-CTR), which is no "
                                             "longer read: copy it out with the glupy release "
                                             "that wrote it, then back in")
            else:
                st.plaintext = True
                if self._legacy:
                    return None
                if not st.plaintext_logged:
                    st.plaintext_logged = True
                    self.log.error("crypt: %s: no glupy-crypt header: an unencrypted file (or "
                                   "its header was overwritten); not served (option "
                                   "read-legacy-plaintext serves such files read-only): EIO",
                                   self._who(inode))
                raise FopError(errno.EIO)
        raise self._fail(inode, st, why)

    def _read_only(self, inode: Inode, st: FileState) -> FopError:
        """The error for changing the contents of a legacy plaintext file (logged once)."""
        if not st.plaintext_logged:
            st.plaintext_logged = True
            self.log.error("crypt: %s: an unencrypted (legacy plaintext) file is read-only "
                           "under read-legacy-plaintext; copy it to a new file to encrypt it: "
                           "EROFS", self._who(inode))
        return FopError(errno.EROFS)

    async def _refuse_if_plaintext(self, inode: Inode) -> None:
        """EROFS for opening a legacy plaintext file for writing: refused at open, as on
        a read-only filesystem.  A write refused later could already sit in the
        client's caches (write-behind answers a write before it reaches crypt, and the
        kernel keeps the written page), and be read back although the brick never
        changed."""
        st = self._state(inode)
        if st.plaintext is None and inode.gfid != bytes(16):
            try:
                st.plaintext = await self._is_plaintext(Fd.open_anonymous(inode))
            except FopError:
                return  # the open itself will say what is wrong
        if st.plaintext:
            raise self._read_only(inode, st)

    async def _classify(self, inode: Inode | None, iatt: Iatt | None) -> None:
        """Under ``read-legacy-plaintext``: find out (once per inode, by its first bytes)
        whether the regular file of ``iatt`` has a crypt header, so that its size is
        mapped only if it has.  An inode whose GFID is not known yet (a first lookup)
        cannot be read and stays undecided."""
        if not self._legacy or inode is None or iatt is None or iatt.type != IaType.REG \
                or iatt.size == 0:
            return
        ctx = inode.ctx
        if isinstance(ctx, FileState) and ctx.plaintext is not None:
            return
        if inode.gfid == bytes(16):
            return
        try:
            plaintext = await self._is_plaintext(Fd.open_anonymous(inode))
        except FopError:
            return
        self._state(inode).plaintext = plaintext

    @staticmethod
    def _undecided(inode: Inode | None, iatt: Iatt | None) -> bool:
        """A non-empty regular file not known to have, or not to have, a header."""
        if iatt is None or iatt.type != IaType.REG or not iatt.size:
            return False
        ctx = inode.ctx if inode is not None else None
        return not isinstance(ctx, FileState) or ctx.plaintext is None

    def _map_file(self, iatt: Iatt | None, inode: Inode | None) -> None:
        """``iatt`` of ``inode`` with its size in plaintext.  Under
        ``read-legacy-plaintext`` a file without a header keeps its size, and so does one
        not looked at yet (:meth:`_classify` needs the inode's GFID): too large for an
        encrypted file (a read still ends at its real end) rather than too small for a
        plaintext one.  FUSE links an inode before the lookup whose reply it uses, and
        readdirp sends such entries without attributes, so the kernel always gets
        exact sizes."""
        if iatt is None or iatt.type != IaType.REG:
            return
        if self._legacy and iatt.size:
            ctx = inode.ctx if inode is not None else None
            if not (isinstance(ctx, FileState) and ctx.plaintext is False):
                return  # plaintext, or not looked at yet
        iatt.size = plain_size(iatt.size)

    async def _is_plaintext(self, anon: Fd) -> bool:
        """The file of ``anon`` is non-empty and has no crypt header (neither the
        magic nor format 1's xattr): a legacy plaintext file."""
        head = bytes((await self.child.readv(anon, len(MAGIC), 0, 0, None)).vector or b"")
        return len(head) > 0 and head != MAGIC and not await self._is_format1(anon)

    async def _is_format1(self, anon: Fd) -> bool:
        try:
            await self.child.fgetxattr(anon, V1_XATTR, None)
        except FopError:
            return False
        return True

    async def _wind_lock(self, inode: Inode, kind: int, cmd: int, owner: bytes) -> None:
        """A whole-file inodelk on ``inode``'s loc (never finodelk: AFR drops the fd of
        a finodelk unlock, so the unlock never reaches the bricks), wound with lock
        owner ``owner``: features/locks tells holders apart by it, and AFR rewrites the
        call stack's owner in its own transactions between our lock and unlock."""
        lk = Flock()
        lk.type, lk.whence, lk.start, lk.len = kind, os.SEEK_SET, 0, 0
        caller = self.caller
        before = caller.lk_owner
        caller.lk_owner = owner
        try:
            await self.child.inodelk(LOCK_DOMAIN, Loc.for_inode(inode), cmd, lk, None)
        finally:
            caller.lk_owner = before

    async def _lock(self, st: FileState, target: Fd | Loc, write: bool) -> bytes | None:
        """Take the local lock and (if on) the inodelk on ``target``'s inode; returns
        the inodelk's owner (None: no inodelk held)."""
        await st.lock.acquire()
        inode = target.inode
        if not self._inodelk or inode is None:
            return None
        self._lock_count += 1
        owner = self._lock_owner_prefix + self._lock_count.to_bytes(8, "big")
        try:
            await self._wind_lock(inode, fcntl.F_WRLCK if write else fcntl.F_RDLCK,
                                  fcntl.F_SETLKW, owner)
        except FopError as e:
            if e.errno in (errno.ENOSYS, errno.EOPNOTSUPP):
                self._inodelk = False
                self.log.warning("crypt: no lock translator below (inodelk: %s): only this "
                                 "client's own lock serialises read-modify-write", e)
                return None
            st.lock.release()
            self.log.error("crypt: inodelk failed (%s): failing the fop", e)
            raise
        return owner

    async def _unlock(self, st: FileState, target: Fd | Loc, owner: bytes | None) -> None:
        try:
            if owner is not None and target.inode is not None:
                try:
                    await self._wind_lock(target.inode, fcntl.F_UNLCK, fcntl.F_SETLK, owner)
                except FopError as e:
                    self.log.error("crypt: inodelk unlock of %s failed: %s",
                                   self._who(target.inode), e)
        finally:
            st.lock.release()

    async def _snapshot(self, inode: Inode, st: FileState, anon: Fd,
                        create: bool) -> tuple[Iatt, FileKey | None]:
        """Under the locks: the real stored size and the opened header (None for an
        empty file unless ``create``, which then makes a new header: the caller writes
        ``key.header`` at offset 0, see :meth:`_write_at`).  One readv gives both: its
        reply carries the file's iatt (storage/posix fstats after reading)."""
        head_r = await self.child.readv(anon, HEADER_LEN, 0, 0, None)
        pre = head_r.stbuf
        if pre is None:  # a child that does not return it
            pre = (await self.child.fstat(anon, None)).buf
            if pre is None:
                raise FopError(errno.EIO)
        pre = pre.copy()
        if pre.size == 0:
            if not create:
                return pre, None
            if inode.gfid == bytes(16):
                self.log.error("crypt: a file without a GFID cannot get a header")
                raise FopError(errno.EIO)
            file_id, file_key = os.urandom(FILE_ID_LEN), os.urandom(KEY_LEN)
            header = make_header(self._master, inode.gfid, file_key, file_id)
            st.key = FileKey.open(header, file_id, file_key)
            st.plaintext = False
            return pre, st.key
        header = bytes(head_r.vector or b"")
        key = await self._open_key(inode, st, header, anon)
        if key is None:  # never a write in clear: legacy plaintext is read-only
            raise self._read_only(inode, st)
        rem = (pre.size - HEADER_LEN) % STORED_BLOCK
        if pre.size < HEADER_LEN or 0 < rem <= OVERHEAD:
            index = (pre.size - HEADER_LEN) // STORED_BLOCK
            self.log.error("crypt: %s: block %d cut short (file size %d on the brick): EIO",
                           self._who(inode), index, pre.size)
            raise FopError(errno.EIO)
        return pre, key

    async def _read_blocks(self, inode: Inode, key: FileKey, anon: Fd, first: int,
                           last: int) -> list[bytes]:
        """Plaintext of blocks first..last (fewer at EOF); EIO names the block."""
        if last < first:
            return []
        r = await self.child.readv(anon, (last - first + 1) * STORED_BLOCK, block_offset(first),
                                   0, None)
        return self._unseal(inode, key, first, r.vector)

    def _unseal(self, inode: Inode, key: FileKey, first: int, vector: Any) -> list[bytes]:
        try:
            return key.unseal(first, bytes(vector or b""))
        except BlockError as e:
            self.log.error("crypt: %s: block %d: %s: EIO", self._who(inode), e.index, e)
            raise FopError(errno.EIO) from None

    # ------------------------------------------------------------------ write core
    async def _write_at(self, inode: Inode, st: FileState, anon: Fd, data: Buffer, offset: int,
                        append: bool, flags: int,
                        direct: Fd | None = None) -> tuple[Iatt, Iatt | None, int]:
        """Write plaintext ``data`` at ``offset`` under the locks; (pre, post, written)
        with sizes in plaintext.  ``direct``: an O_DIRECT anonymous fd, for a caller
        that writes O_DIRECT (see :meth:`_write_stored`)."""
        pre, key = await self._snapshot(inode, st, anon, create=True)
        assert key is not None
        old = plain_size(pre.size)
        new_header = pre.size == 0  # written with block 0, or on its own first
        if append:
            offset = old
        end = offset + len(data)
        b0, b1 = offset // BLOCK, (end - 1) // BLOCK
        last_old = (old - 1) // BLOCK if old else -1
        want: set[int] = set()
        if offset % BLOCK and b0 * BLOCK < old:
            want.add(b0)
        if end % BLOCK and end < min(old, (b1 + 1) * BLOCK):
            want.add(b1)
        pad = last_old if (old % BLOCK and last_old < b0) else None
        if pad is not None:
            want.add(pad)
        got: dict[int, bytes] = {}
        if want:
            idx = sorted(want)
            replies = await gather(*(self.child.readv(anon, STORED_BLOCK, block_offset(i), 0, None)
                                     for i in idx))
            for i, r in zip(idx, replies, strict=True):
                blocks = self._unseal(inode, key, i, r.vector)
                if blocks:
                    got[i] = blocks[0]
        writes: list[tuple[int, Vector]] = []
        if pad is not None:
            writes.append((block_offset(pad),
                           key.seal(pad, [got.get(pad, b"").ljust(BLOCK, b"\0")])))
        view = memoryview(data)
        # whole blocks (the last one ending at EOF) are sealed straight from the caller's
        plain: Buffer | list[Buffer] = (view if not want and offset % BLOCK == 0
                                        else self._merge(view, offset, old, got))
        if new_header and b0 == 0:  # one write: the header, then block 0 onwards
            writes.append((0, key.seal(b0, plain, prefix=key.header)))
        else:
            if new_header:
                writes.append((0, Vector.from_bytes(key.header)))
            writes.append((block_offset(b0), key.seal(b0, plain)))
        post: Iatt | None = None
        for off, blob in writes:
            r = await self._write_stored(inode, anon, blob, off, flags, direct)
            if r.op_ret != len(blob):
                self.log.error("crypt: %s: short write (%d of %d bytes) at %d",
                               self._who(inode), r.op_ret, len(blob), off)
                raise FopError(errno.EIO)
            post = r.postbuf.copy() if r.postbuf is not None else None
        _map(pre)
        _map(post)
        return pre, post, len(data)

    @staticmethod
    def _merge(view: memoryview, offset: int, old: int, got: dict[int, bytes]) -> list[Buffer]:
        """The plaintext blocks a write of ``view`` at ``offset`` gives a file of ``old``
        bytes: its bytes over ``got`` (the edge blocks read back), zeros in between."""
        end = offset + len(view)
        b0, b1 = offset // BLOCK, (end - 1) // BLOCK
        plain: list[Buffer] = []
        for b in range(b0, b1 + 1):
            bs = b * BLOCK
            length = BLOCK if b < b1 else max(end, min(old, bs + BLOCK)) - bs
            lo, hi = max(offset, bs) - bs, min(end, bs + BLOCK) - bs
            base = got.get(b)
            if base is None and lo == 0 and hi == length:
                plain.append(view[bs - offset:bs - offset + length])
                continue
            buf = bytearray(length)
            if base is not None:
                buf[:len(base)] = base[:length]
            buf[lo:hi] = view[bs + lo - offset:bs + hi - offset]
            plain.append(bytes(buf))
        return plain

    async def _write_stored(self, inode: Inode, anon: Fd, blob: Vector, offset: int, flags: int,
                            direct: Fd | None) -> WritevReply:
        """One write of stored bytes.  For a caller that writes O_DIRECT, a stored range
        that is 512-aligned (16 whole blocks from a 16th block on; FUSE's 128 KiB writes
        are) goes O_DIRECT too, through ``direct`` (and the flag in the writev, from
        which protocol/server opens its anonymous fd), so that it bypasses the brick's
        page cache as the caller's plaintext write would have."""
        target = self._direct_for(direct, offset, len(blob))
        if target is not None:
            try:
                return await self.child.writev(target, blob, offset, flags | os.O_DIRECT, None)
            except FopError as e:
                self._direct_refused(e)
        return await self.child.writev(anon, blob, offset, flags, None)

    async def _read_span(self, of: OpenFile, b0: int, b1: int,
                         header: bool) -> tuple[memoryview, memoryview, ReadvReply]:
        """(header, stored blocks b0..b1, the blocks' reply).  With ``header`` the
        header is read too (with the first blocks when b0 is 0), else it comes back
        empty.  The blocks are read O_DIRECT as :meth:`_write_stored` writes them."""
        offset = 0 if b0 == 0 else block_offset(b0)
        size = block_offset(b1 + 1) - offset
        while True:
            rfd, flags = of.anon, 0
            direct = self._direct_for(of.direct, offset, size)
            if direct is not None:
                rfd, flags = direct, os.O_DIRECT
            try:
                if b0 == 0:
                    r = await self.child.readv(rfd, size, 0, flags, None)
                    raw = _view(r.vector)
                    return raw[:HEADER_LEN], raw[HEADER_LEN:], r
                if not header:
                    r = await self.child.readv(rfd, size, offset, flags, None)
                    return memoryview(b""), _view(r.vector), r
                h, r = await gather(self.child.readv(of.anon, HEADER_LEN, 0, 0, None),
                                    self.child.readv(rfd, size, offset, flags, None))
                return _view(h.vector), _view(r.vector), r
            except FopError as e:
                if rfd is of.anon:
                    raise
                self._direct_refused(e)

    def _direct_for(self, direct: Fd | None, offset: int, size: int) -> Fd | None:
        """``direct`` if [offset, offset+size) of the brick file can go O_DIRECT through it."""
        if direct is None or not self._direct or offset % DIRECT_ALIGN or size % DIRECT_ALIGN:
            return None
        return direct

    def _direct_refused(self, e: FopError) -> None:
        """EINVAL from an O_DIRECT read or write: the brick's filesystem has no O_DIRECT
        at all); from then on everything goes through its page cache."""
        if e.errno != errno.EINVAL:
            raise e
        self._direct = False
        self.log.warning("crypt: the brick refuses O_DIRECT (%s): reads and writes go "
                         "through its page cache", e)

    async def _locked_write(self, inode: Inode, target: Fd, data: Buffer, offset: int,
                            append: bool = False,
                            flags: int = 0) -> tuple[Iatt, Iatt | None, int]:
        st = self._state(inode)
        of = self._open_file(target, inode)
        held = await self._lock(st, target, write=True)
        try:
            return await self._write_at(inode, st, of.anon, data, offset, append, flags,
                                        of.direct)
        finally:
            await self._unlock(st, target, held)

    async def _resize(self, inode: Inode, target: Fd | Loc,
                      size: int) -> tuple[Iatt, Iatt | None]:
        """Truncate to plaintext ``size`` under the locks (``target``: the caller's fd
        or loc, for the inodelk); (pre, post) in plaintext."""
        st = self._state(inode)
        anon = self._open_file(target, inode).anon
        held = await self._lock(st, target, write=True)
        try:
            pre, key = await self._snapshot(inode, st, anon, create=False)
            old = plain_size(pre.size)
            if size > old:  # one encrypted byte at the end: pads, extends, leaves holes
                _, post, _ = await self._write_at(inode, st, anon, b"\0", size - 1, False, 0)
                pre.size = old
                return pre, post
            tail: Vector | None = None
            if size and size % BLOCK and key is not None:
                cut = size // BLOCK
                blocks = await self._read_blocks(inode, key, anon, cut, cut)
                tail = key.seal(cut, [(blocks[0] if blocks else b"")[:size % BLOCK]
                                      .ljust(size % BLOCK, b"\0")])
            cut_at = stored_size(size) if tail is None else block_offset(size // BLOCK)
            r = await self.child.ftruncate(anon, cut_at, None)
            post = r.postbuf.copy() if r.postbuf is not None else None
            if tail is not None:
                w = await self.child.writev(anon, tail, cut_at, 0, None)
                post = w.postbuf.copy() if w.postbuf is not None else None
            pre.size = old
            _map(post)
            return pre, post
        finally:
            await self._unlock(st, target, held)

    # ------------------------------------------------------------------ data fops
    async def readv(self, fd: Fd, size: int, offset: int, flags: int,
                    xdata: Dict | None) -> ReadvReply | Wind[ReadvReply]:
        inode = fd.inode
        if inode is None or inode.type != IaType.REG:
            return self.child.readv(fd, size, offset, flags, xdata)
        st = self._state(inode)
        of = self._open_file(fd, inode)
        anon = of.anon
        if size <= 0:
            return ReadvReply(vector=b"", op_ret=0)
        b0, b1 = offset // BLOCK, (offset + size - 1) // BLOCK
        for attempt in (0, 1):
            held: bytes | None = None
            if attempt:
                held = await self._lock(st, fd, write=False)
            try:
                # Past block 0, a first attempt trusts the key last opened from this
                # file's header: blocks authenticate only under the file's own key, so a
                # stale key (another client made the file anew) fails and the second
                # attempt reads the header again under the locks.
                key = st.key if attempt == 0 and b0 else None
                header, raw, r = await self._read_span(of, b0, b1, header=key is None)
                if key is not None and not raw:
                    continue  # nothing there: is the header still there?
                if key is None:
                    if not header:
                        return ReadvReply(vector=b"", op_ret=0, stbuf=self._mapped(r.stbuf))
                    key = await self._open_key(inode, st, bytes(header), anon)
                if key is None:  # legacy plaintext (read-legacy-plaintext): its bytes as they are
                    if b0:
                        return await self.child.readv(fd, size, offset, flags, xdata)
                    whole = r.vector if isinstance(r.vector, Vector) \
                        else Vector.from_bytes(r.vector or b"")
                    part = whole.narrow(offset, offset + size)
                    return ReadvReply(vector=part, op_ret=len(part), stbuf=r.stbuf, xdata=r.xdata)
                out = Vector.alloc(BLOCK * -(-len(raw) // STORED_BLOCK))
                try:
                    n = key.unseal_into(b0, raw, out.writable())
                except BlockError as e:
                    if attempt == 0:
                        continue  # once more under the locks: a read torn by a writer?
                    self.log.error("crypt: %s: block %d: %s: EIO", self._who(inode), e.index, e)
                    raise FopError(errno.EIO) from None
                skip = offset - b0 * BLOCK
                result = out.narrow(min(skip, n), min(skip + size, n))
                return ReadvReply(vector=result, op_ret=len(result), stbuf=self._mapped(r.stbuf),
                                  xdata=r.xdata)
            finally:
                if attempt:
                    await self._unlock(st, fd, held)
        raise FopError(errno.EIO)  # not reached: the second attempt returns or raises

    @staticmethod
    def _mapped(iatt: Iatt | None) -> Iatt | None:
        if iatt is None:
            return None
        iatt = iatt.copy()
        _map(iatt)
        return iatt

    async def writev(self, fd: Fd, vector: Vector, offset: int, flags: int,
                     xdata: Dict | None) -> WritevReply | Wind[WritevReply]:
        inode = fd.inode
        if inode is None or inode.type != IaType.REG:
            return self.child.writev(fd, vector, offset, flags, xdata)
        data = vector.contiguous() if isinstance(vector, Vector) else memoryview(vector)
        if not data:
            return WritevReply(op_ret=0)
        pre, post, n = await self._locked_write(inode, fd, data, offset,
                                                append=bool(fd.flags & os.O_APPEND), flags=flags)
        return WritevReply(prebuf=pre, postbuf=post, op_ret=n)

    async def open(self, loc: Loc, flags: int, fd: Fd, xdata: Dict | None) -> OpenReply | Wind[OpenReply]:
        inode = loc.inode
        if inode is None or inode.type != IaType.REG:
            return self.child.open(loc, flags, fd, xdata)
        if self._legacy and (flags & os.O_ACCMODE != os.O_RDONLY or flags & os.O_TRUNC):
            await self._refuse_if_plaintext(inode)  # cutting it is changing it too
        if not flags & os.O_TRUNC:
            return self.child.open(loc, flags, fd, xdata)
        # O_TRUNC under the locks, so it cannot cut the header from under a writer
        st = self._state(inode)
        anon = Fd.open_anonymous(inode)
        held = await self._lock(st, loc, write=True)
        try:
            r = await self.child.open(loc, flags & ~os.O_TRUNC, fd, xdata)
            await self.child.ftruncate(anon, 0, None)
            return r
        finally:
            await self._unlock(st, loc, held)

    async def truncate(self, loc: Loc, offset: int,
                       xdata: Dict | None) -> TruncateReply | Wind[TruncateReply]:
        inode = loc.inode
        if inode is None or inode.type != IaType.REG:
            return self.child.truncate(loc, offset, xdata)
        pre, post = await self._resize(inode, loc, offset)
        return TruncateReply(prebuf=pre, postbuf=post, op_ret=0)

    async def ftruncate(self, fd: Fd, offset: int,
                        xdata: Dict | None) -> FtruncateReply | Wind[FtruncateReply]:
        inode = fd.inode
        if inode is None or inode.type != IaType.REG:
            return self.child.ftruncate(fd, offset, xdata)
        pre, post = await self._resize(inode, fd, offset)
        return FtruncateReply(prebuf=pre, postbuf=post, op_ret=0)

    async def fallocate(self, fd: Fd, keep_size: int, offset: int, len: int,
                        xdata: Dict | None) -> FallocateReply | Wind[FallocateReply]:
        inode = fd.inode
        if inode is None or inode.type != IaType.REG:
            return self.child.fallocate(fd, keep_size, offset, len, xdata)
        if keep_size & ~_FALLOC_FL_KEEP_SIZE:
            raise FopError(errno.EOPNOTSUPP, "crypt: only fallocate modes 0 and KEEP_SIZE")
        st = self._state(inode)
        anon = self._open_file(fd, inode).anon
        end = offset + len
        if not keep_size:
            probe = await self.child.fstat(anon, None)
            if probe.buf is not None and plain_size(probe.buf.size) < end:
                await self._resize(inode, fd, end)
        held = await self._lock(st, fd, write=True)
        try:
            pre, _ = await self._snapshot(inode, st, anon, create=False)
            if pre.size:  # reserve the blocks' space (they stay holes: read as zeros)
                first = block_offset(offset // BLOCK)
                last = min(block_offset((end - 1) // BLOCK + 1), pre.size)
                if last > first:
                    await self.child.fallocate(anon, _FALLOC_FL_KEEP_SIZE, first, last - first,
                                               None)
            post = (await self.child.fstat(anon, None)).buf
            _map(pre)
            return FallocateReply(preop_stbuf=pre, postop_stbuf=self._mapped(post), op_ret=0)
        finally:
            await self._unlock(st, fd, held)

    async def _zero_range(self, inode: Inode, target: Fd, offset: int, length: int,
                          punch: bool) -> tuple[Iatt, Iatt | None]:
        """Zero plaintext [offset, offset+length) below EOF: whole blocks punched (holes,
        ``punch``) or written encrypted; edges always rewritten encrypted."""
        st = self._state(inode)
        anon = self._open_file(target, inode).anon
        held = await self._lock(st, target, write=True)
        try:
            pre, key = await self._snapshot(inode, st, anon, create=False)
            old = plain_size(pre.size)
            end = min(offset + length, old)
            _map(pre)
            if key is None or end <= offset:
                return pre, pre
            first_full = -(-offset // BLOCK)
            last_full = end // BLOCK  # exclusive: a partial last block is an edge
            if first_full >= last_full:  # under two blocks, no whole one: write zeros
                edges = [(offset, end)]
            else:
                edges = [(s, e) for s, e in ((offset, first_full * BLOCK),
                                             (last_full * BLOCK, end)) if e > s]
            if first_full < last_full:
                if punch:
                    s, e = block_offset(first_full), block_offset(last_full)
                    await self.child.discard(anon, s, e - s, None)
                else:
                    step = 256
                    for b in range(first_full, last_full, step):
                        n = min(step, last_full - b)
                        await self.child.writev(anon, key.seal(b, [bytes(BLOCK)] * n),
                                                block_offset(b), 0, None)
            for s, e in edges:
                if e > s:
                    await self._write_at(inode, st, anon, bytes(e - s), s, False, 0)
            post = (await self.child.fstat(anon, None)).buf
            return pre, self._mapped(post)
        finally:
            await self._unlock(st, target, held)

    async def discard(self, fd: Fd, offset: int, len: int,
                      xdata: Dict | None) -> DiscardReply | Wind[DiscardReply]:
        inode = fd.inode
        if inode is None or inode.type != IaType.REG:
            return self.child.discard(fd, offset, len, xdata)
        pre, post = await self._zero_range(inode, fd, offset, len, punch=True)
        return DiscardReply(preop_stbuf=pre, postop_stbuf=post, op_ret=0)

    async def zerofill(self, fd: Fd, offset: int, len: int,
                       xdata: Dict | None) -> ZerofillReply | Wind[ZerofillReply]:
        inode = fd.inode
        if inode is None or inode.type != IaType.REG:
            return self.child.zerofill(fd, offset, len, xdata)
        probe = await self.child.fstat(self._open_file(fd, inode).anon, None)
        old = plain_size(probe.buf.size) if probe.buf is not None else 0
        if offset + len > old:  # zerofill extends like a write of zeros
            await self._resize(inode, fd, offset + len)
        pre, post = await self._zero_range(inode, fd, offset, len, punch=False)
        return ZerofillReply(preop_stbuf=pre, postop_stbuf=post, op_ret=0)

    async def seek(self, fd: Fd, offset: int, what: int, xdata: Dict | None) -> SeekReply | Wind[SeekReply]:
        inode = fd.inode
        if inode is None or inode.type != IaType.REG:
            return self.child.seek(fd, offset, what, xdata)
        if what not in (_SEEK_DATA, _SEEK_HOLE):
            raise FopError(errno.EINVAL)
        anon = self._open_file(fd, inode).anon
        st_r = await self.child.fstat(anon, None)
        size = plain_size(st_r.buf.size) if st_r.buf is not None else 0
        if offset >= size:
            raise FopError(errno.ENXIO)
        if what == _SEEK_DATA:
            return SeekReply(offset=await self._seek_data(anon, offset, size), op_ret=0)
        return SeekReply(offset=await self._seek_hole(anon, offset, size), op_ret=0)

    async def _zero_block(self, anon: Fd, index: int) -> bool:
        """Whether stored block ``index`` is all zero bytes (a hole in plaintext)."""
        r = await self.child.readv(anon, STORED_BLOCK, block_offset(index), 0, None)
        blob = bytes(r.vector or b"")
        return blob == _ZERO_BLOCK[:len(blob)]

    @staticmethod
    def _block_at(stored: int) -> int:
        return max(0, stored - HEADER_LEN) // STORED_BLOCK

    async def _seek_data(self, anon: Fd, offset: int, size: int) -> int:
        """The first block at/after ``offset`` holding data (the brick's SEEK_DATA finds
        candidates; a candidate whose stored bytes are all zero is a hole)."""
        index = offset // BLOCK
        for _ in range(64):
            if index * BLOCK >= size:
                raise FopError(errno.ENXIO)
            found = (await self.child.seek(anon, block_offset(index), _SEEK_DATA, None)).offset
            index = max(index, self._block_at(found))
            if index * BLOCK >= size:
                raise FopError(errno.ENXIO)
            if not await self._zero_block(anon, index):
                return max(offset, index * BLOCK)
            index += 1
        return max(offset, min(index * BLOCK, size - 1))  # (a hole reported as data)

    async def _seek_hole(self, anon: Fd, offset: int, size: int) -> int:
        """The first block at/after ``offset`` whose stored bytes are all zero, or
        ``size`` (end of file is always a hole)."""
        index = offset // BLOCK
        for _ in range(64):
            if index * BLOCK >= size:
                return size
            if await self._zero_block(anon, index):
                return max(offset, index * BLOCK)
            try:
                hole = (await self.child.seek(anon, block_offset(index + 1), _SEEK_HOLE,
                                              None)).offset
            except FopError as e:
                if e.errno == errno.ENXIO:
                    return size
                raise
            index = max(index + 1, self._block_at(hole))
        return size

    async def copy_file_range(self, fd_in: Fd, off_in: int, fd_out: Fd, off_out: int, len: int,
                              flags: int, xdata: Dict | None) -> CopyFileRangeReply:
        raise FopError(errno.EOPNOTSUPP, "crypt: copy_file_range would copy blocks sealed for "
                                         "another file (the kernel falls back to read+write)")

    async def put(self, loc: Loc, mode: int, umask: int, flags: int, vector: Vector, offset: int,
                  xattr: Dict | None, xdata: Dict | None) -> PutReply:
        raise FopError(errno.EOPNOTSUPP, "crypt: put is not supported")

    # ------------------------------------------------------------------ names
    async def _dir_iv(self, inode: Inode | None) -> bytes:
        """The name IV of directory ``inode`` (cached in its ctx); the root directory's is
        made on first use, any other directory without one is an error (EIO)."""
        if inode is None:
            self.log.error("crypt: an entry fop without its parent directory: EIO")
            raise FopError(errno.EIO)
        ctx = inode.ctx
        if isinstance(ctx, DirState):
            return ctx.iv
        where = Loc.for_inode(inode)
        try:
            r = await self.child.getxattr(where, DIRIV_XATTR, None)
            iv = _xattr_bytes(r.dict[DIRIV_XATTR]) if r.dict is not None else b""
        except FopError as e:
            if e.errno != errno.ENODATA or inode.gfid != ROOT_GFID:
                self.log.error("crypt: directory %s: no name IV (%s): EIO (made by crypt "
                               "with encrypt-names off, or outside crypt?)", self._who(inode), e)
                raise FopError(errno.EIO) from None
            iv = await self._make_root_iv(where)
        if len(iv) != DIRIV_LEN:
            self.log.error("crypt: directory %s: name IV of %d bytes: EIO", self._who(inode),
                           len(iv))
            raise FopError(errno.EIO)
        inode.ctx = DirState(iv)
        return iv

    async def _cipher(self, inode: Inode | None) -> AESSIV:
        """The volume's name cipher, from the root directory's record (made on first
        use); another master key's record gives EKEYREJECTED, logged once."""
        if self._name_cipher is not None:
            return self._name_cipher
        root = None if inode is None else (inode if inode.gfid == ROOT_GFID
                                           else inode.find(ROOT_GFID))
        if root is None:
            self.log.error("crypt: the root directory is not known yet: EIO")
            raise FopError(errno.EIO)
        where = Loc.for_inode(root)
        try:
            r = await self.child.getxattr(where, NAMEKEY_XATTR, None)
            stored = _xattr_bytes(r.dict[NAMEKEY_XATTR]) if r.dict is not None else b""
        except FopError as e:
            if e.errno != errno.ENODATA:
                self.log.error("crypt: cannot read the volume's name key: %s", e)
                raise FopError(errno.EIO) from None
            stored = await self._make_name_key(where)
        try:
            self._name_cipher = open_name_key(self._master, stored)
        except HeaderError as e:
            if e.errno != errno.EKEYREJECTED or not self._name_key_logged:
                self._name_key_logged = e.errno == errno.EKEYREJECTED
                self.log.error("crypt: volume name key: %s: %s", e, errno.errorcode[e.errno])
            raise FopError(e.errno) from None
        return self._name_cipher

    async def _make_name_key(self, where: Loc) -> bytes:
        _, stored = make_name_key(self._master)
        return await self._set_once(where, NAMEKEY_XATTR, stored, "the volume's name key")

    async def _make_root_iv(self, where: Loc) -> bytes:
        return await self._set_once(where, DIRIV_XATTR, os.urandom(DIRIV_LEN),
                                    "the root directory's name IV")

    async def _set_once(self, where: Loc, key: str, value: bytes, what: str) -> bytes:
        """``key`` of ``where`` set to ``value`` unless a client set it first: the
        value that stands, read back."""
        try:
            await self.child.setxattr(where, Dict.from_mapping({key: value}), _XATTR_CREATE, None)
        except FopError as e:
            if e.errno != errno.EEXIST:  # else another client made it first: use theirs
                self.log.error("crypt: cannot store %s: %s", what, e)
                raise FopError(errno.EIO) from None
        r = await self.child.getxattr(where, key, None)
        return _xattr_bytes(r.dict[key]) if r.dict is not None else b""

    async def _encrypted(self, loc: Loc) -> tuple[Loc, str | None]:
        """``loc`` renamed to its entry's brick name, and the long-name xattr (or None).
        Its path is the parent's absolute brick path + the stored name when that path
        is known for sure (:meth:`_brick_parent`), else ``<gfid:PARENT>/stored``."""
        name = loc.name
        if not name:
            return loc, None
        raw = name.encode("utf-8", "surrogateescape")
        if len(raw) > NAME_MAX:  # the brick would refuse it; a hashed name would not
            raise FopError(errno.ENAMETOOLONG)
        parent = loc.parent
        iv = await self._dir_iv(parent)
        names = self._name_cipher or await self._cipher(parent)
        stored, long_name = self._stored_name(names, iv, raw)
        parent_path = None if long_name is not None else self._brick_parent(loc)
        if parent_path is None:
            return loc.with_name(stored, gfid_path=True), long_name
        return loc.with_path(parent_path.rstrip("/") + "/" + stored), None

    def _stored_name(self, names: AESSIV, iv: bytes, raw: bytes) -> tuple[str, str | None]:
        """The brick name of ``raw`` in the directory of name IV ``iv``, and its long
        encrypted name when the brick name is a hash of it (else None); memoised (AES-SIV
        is deterministic: the same name, the same stored name)."""
        memo = self._name_memo.get((iv, raw))
        if memo is None:
            encrypted = encrypt_name(names, iv, raw)
            stored = brick_name(encrypted)
            memo = stored, (longname_xattr(stored) and encrypted)
            if len(self._name_memo) >= NAME_MEMO_MAX:
                self._name_memo.clear()
            self._name_memo[iv, raw] = memo
        return memo

    def _brick_parent(self, loc: Loc) -> str | None:
        """The absolute brick path of the directory an entry fop's ``loc`` names an
        entry of, or None (see :meth:`_brick_dir`)."""
        path, parent = loc.path, loc.parent
        if not path or path[0] != "/" or parent is None:
            return None
        head, _, name = path.rpartition("/")
        if name != loc.name:
            return None
        return self._brick_dir(parent, head or "/")

    def _brick_dir(self, directory: Inode, path: str) -> str | None:
        """The absolute brick path of ``directory``, whose plaintext absolute path (as
        this fop came with it) is ``path``, or None when it is not known for sure.
        Without it the fop goes down by GFID, which storage/posix resolves through the
        directory's .glusterfs handle symlinks: a readlink and several stats per level.

        Each component of ``path`` is encrypted under the IV of the directory holding
        it, those directories found in the inode table from the root down and the last
        of them checked to be ``directory``; a component with a hashed long name, a
        directory missing from the table or whose IV is not cached gives None.  The
        result is kept in the directory's DirState for the same plaintext path until a
        rename may have moved a directory."""
        names = self._name_cipher
        if names is None:
            return None
        if path == "/":
            return path if directory.gfid == ROOT_GFID else None
        state = directory.ctx
        generation = self._tree_generation
        if isinstance(state, DirState):
            known = state.brick_path
            if known is not None and known[0] == path and known[2] == generation:
                return known[1]
        node = directory.find(ROOT_GFID)
        if node is None:
            return None
        stored_parts: list[str] = []
        for part in path.split("/")[1:]:
            node_state = node.ctx
            if part in ("", ".", "..") or not isinstance(node_state, DirState):
                return None
            stored, long_name = self._stored_name(
                names, node_state.iv, part.encode("utf-8", "surrogateescape"))
            child = node.child(part)
            if long_name is not None or child is None:
                return None
            stored_parts.append(stored)
            node = child
        if node.gfid != directory.gfid:
            return None
        brick = "/" + "/".join(stored_parts)
        if isinstance(state, DirState):
            state.brick_path = path, brick, generation
        return brick

    async def _entry_loc(self, loc: Loc) -> Loc:
        """The brick-name loc of an entry being created: a long name is first recorded
        in the parent (the same value every time, so a retry or EEXIST is harmless)."""
        if not self._names:
            return loc
        new, long_name = await self._encrypted(loc)
        if long_name is not None:
            xattr = longname_xattr(new.name or "")
            assert xattr is not None and loc.parent is not None
            await self.child.setxattr(Loc.for_inode(loc.parent),
                                      Dict.from_mapping({xattr: long_name.encode("ascii")}),
                                      0, None)
        return new

    async def _forget_long_name(self, parent: Inode | None, stored: Loc) -> None:
        xattr = longname_xattr(stored.name or "")
        if xattr is None or parent is None:
            return
        try:
            await self.child.removexattr(Loc.for_inode(parent), xattr, None)
        except FopError as e:  # a stale record only costs a few bytes
            self.log.warning("crypt: could not drop a long-name record of %s: %s",
                             self._who(parent), e)

    def _below(self, loc: Any) -> Any:
        """A directory's loc as the child may see it: its plaintext path means nothing
        on the brick, and storage/posix takes a directory's absolute path literally.
        So its brick path when that is known (:meth:`_brick_dir`), else by GFID."""
        if self._names and isinstance(loc, Loc):
            inode, path = loc.inode, loc.path
            if inode is not None and inode.type == IaType.DIR and path and path != "/" \
                    and path.startswith("/"):
                brick = self._brick_dir(inode, path)
                return loc.by_gfid() if brick is None else loc.with_path(brick)
        return loc

    async def opendir(self, loc: Loc, fd: Fd, xdata: Dict | None) -> Wind[OpendirReply]:
        return self.child.opendir(self._below(loc), fd, xdata)

    async def access(self, loc: Loc, mask: int, xdata: Dict | None) -> Wind[AccessReply]:
        return self.child.access(self._below(loc), mask, xdata)

    async def statfs(self, loc: Loc, xdata: Dict | None) -> Wind[StatfsReply]:
        return self.child.statfs(self._below(loc), xdata)

    async def getxattr(self, loc: Loc, name: str | None, xdata: Dict | None) -> Wind[GetxattrReply]:
        return self.child.getxattr(self._below(loc), name, xdata)

    async def setxattr(self, loc: Loc, dict: Dict | None, flags: int,
                       xdata: Dict | None) -> Wind[SetxattrReply]:
        return self.child.setxattr(self._below(loc), dict, flags, xdata)

    async def removexattr(self, loc: Loc, name: str | None,
                          xdata: Dict | None) -> Wind[RemovexattrReply]:
        return self.child.removexattr(self._below(loc), name, xdata)

    def _map_link(self, iatt: Iatt | None) -> None:
        if self._names and iatt is not None and iatt.type == IaType.LNK:
            iatt.size = link_size(iatt.size)

    async def _plain_entries(self, fd: Fd, entries: Any) -> list[Dirent]:
        """A listing with names decrypted; entries that do not decrypt are left out."""
        directory = fd.inode
        iv = await self._dir_iv(directory)
        names = await self._cipher(directory)
        out: list[Dirent] = []
        skipped: list[str] = []
        for entry in entries:
            if entry.name in (".", ".."):
                out.append(entry)
                continue
            encrypted = entry.name
            xattr = longname_xattr(encrypted)
            try:
                if xattr is not None:
                    r = await self.child.fgetxattr(fd, xattr, None)
                    encrypted = _xattr_bytes(r.dict[xattr] if r.dict is not None else b"")
                    encrypted = encrypted.decode("ascii")
                plain = decrypt_name(names, iv, encrypted)
            except (FopError, ValueError, KeyError, UnicodeDecodeError):
                skipped.append(entry.name)
                if out:  # the next listing continues after the entry left out
                    out[-1].d_off = entry.d_off
                continue
            entry.name = plain.decode("utf-8", "surrogateescape")
            out.append(entry)
        if skipped:
            self.log.warning("crypt: directory %s: %d entries whose names do not decrypt "
                             "under this key and directory left out (first: %r)",
                             self._who(directory) if directory else "?", len(skipped),
                             skipped[0])
        return out

    async def _list(self, readdir: Any, fd: Fd, size: int, offset: int,
                    xdata: Dict | None) -> Any:
        r = await readdir(fd, size, offset, xdata)
        if not self._names:
            return r
        while r.entries:
            raw = list(r.entries)
            out = await self._plain_entries(fd, raw)
            if out:
                r.entries = out
                return r
            # every entry of this batch was left out: an empty reply would end the listing
            r = await readdir(fd, size, raw[-1].d_off, xdata)
        return r

    # ------------------------------------------------------------------ iatts
    async def lookup(self, loc: Loc, xdata: Dict | None) -> LookupReply:
        if xdata is not None and CONTENT_KEY in xdata:
            del xdata[CONTENT_KEY]  # quick-read above would cache and serve ciphertext
        if self._names:  # (a directory's IV is read when a name in it is first needed)
            loc = (await self._encrypted(loc))[0] if loc.name else self._below(loc)
        r = await self.child.lookup(loc, xdata)
        buf, inode = r.buf, r.inode or loc.inode
        if self._legacy:
            await self._classify(inode, buf)
        self._map_file(buf, inode)
        self._map_link(buf)
        if r.xdata is not None and CONTENT_KEY in r.xdata:
            del r.xdata[CONTENT_KEY]
        return r

    async def stat(self, loc: Loc, xdata: Dict | None) -> StatReply:
        r = await self.child.stat(self._below(loc), xdata)
        if self._legacy:
            await self._classify(loc.inode, r.buf)
        self._map_file(r.buf, loc.inode)
        self._map_link(r.buf)
        return r

    async def fstat(self, fd: Fd, xdata: Dict | None) -> FstatReply:
        r = await self.child.fstat(fd, xdata)
        if self._legacy:
            await self._classify(fd.inode, r.buf)
        self._map_file(r.buf, fd.inode)
        return r

    async def readdir(self, fd: Fd, size: int, offset: int, xdata: Dict | None) -> ReaddirReply:
        r: ReaddirReply = await self._list(self.child.readdir, fd, size, offset, xdata)
        return r

    async def readdirp(self, fd: Fd, size: int, offset: int, xdata: Dict | None) -> ReaddirpReply:
        if xdata is not None and CONTENT_KEY in xdata:
            del xdata[CONTENT_KEY]
        r: ReaddirpReply = await self._list(self.child.readdirp, fd, size, offset, xdata)
        if self._legacy and r.entries:
            entries = list(r.entries)
            for entry in entries:
                await self._classify(entry.inode, entry.stat)
                if self._undecided(entry.inode, entry.stat):
                    entry.inode = None  # sent without attributes: the kernel looks it up
            r.entries = entries
        for entry in r.entries or ():
            self._map_file(entry.stat, entry.inode)
            self._map_link(entry.stat)
            if entry.dict is not None and CONTENT_KEY in entry.dict:
                del entry.dict[CONTENT_KEY]
        return r

    async def setattr(self, loc: Loc, stbuf: Iatt, valid: int, xdata: Dict | None) -> SetattrReply:
        r = await self.child.setattr(self._below(loc), stbuf, valid, xdata)
        for buf in (r.preop_stbuf, r.postop_stbuf):
            self._map_file(buf, loc.inode)
            self._map_link(buf)
        return r

    async def fsetattr(self, fd: Fd, stbuf: Iatt, valid: int, xdata: Dict | None) -> FsetattrReply:
        r = await self.child.fsetattr(fd, stbuf, valid, xdata)
        self._map_file(r.preop_stbuf, fd.inode)
        self._map_file(r.postop_stbuf, fd.inode)
        return r

    async def fsync(self, fd: Fd, datasync: int, xdata: Dict | None) -> FsyncReply:
        r = await self.child.fsync(fd, datasync, xdata)
        self._map_file(r.prebuf, fd.inode)
        self._map_file(r.postbuf, fd.inode)
        return r

    # ------------------------------------------------------------------ entries
    async def create(self, loc: Loc, flags: int, mode: int, umask: int, fd: Fd,
                     xdata: Dict | None) -> CreateReply:
        r = await self.child.create(await self._entry_loc(loc), flags, mode, umask, fd, xdata)
        self._map_file(r.buf, r.inode or loc.inode)
        return r

    async def mknod(self, loc: Loc, mode: int, rdev: int, umask: int,
                    xdata: Dict | None) -> MknodReply:
        r = await self.child.mknod(await self._entry_loc(loc), mode, rdev, umask, xdata)
        self._map_file(r.buf, r.inode or loc.inode)
        return r

    async def mkdir(self, loc: Loc, mode: int, umask: int,
                    xdata: Dict | None) -> MkdirReply | Wind[MkdirReply]:
        if not self._names:
            return self.child.mkdir(loc, mode, umask, xdata)
        iv = os.urandom(DIRIV_LEN)
        xdata = Dict() if xdata is None else xdata
        xdata[DIRIV_XATTR] = iv  # posix sets it on the new directory as it makes it
        r = await self.child.mkdir(await self._entry_loc(loc), mode, umask, xdata)
        inode = r.inode or loc.inode
        if inode is not None:
            inode.ctx = DirState(iv)
        return r

    async def symlink(self, linkname: str | None, loc: Loc, umask: int,
                      xdata: Dict | None) -> SymlinkReply | Wind[SymlinkReply]:
        if not self._names or linkname is None:
            return self.child.symlink(linkname, loc, umask, xdata)
        gfid = _xattr_bytes(xdata["gfid-req"]) if xdata is not None and "gfid-req" in xdata \
            else b""
        if len(gfid) != 16:
            self.log.error("crypt: symlink %r without a gfid-req: its target cannot be bound "
                           "to its GFID: EIO", loc.name)
            raise FopError(errno.EIO)
        target = linkname.encode("utf-8", "surrogateescape")
        stored = encrypt_link(await self._cipher(loc.parent), gfid, target)
        if len(stored) > SYMLINK_MAX:
            raise FopError(errno.ENAMETOOLONG)
        r = await self.child.symlink(stored, await self._entry_loc(loc), umask, xdata)
        self._map_link(r.buf)
        return r

    async def readlink(self, loc: Loc, size: int, xdata: Dict | None) -> ReadlinkReply | Wind[ReadlinkReply]:
        if not self._names:
            return self.child.readlink(loc, size, xdata)
        r = await self.child.readlink(loc, SYMLINK_MAX + 1, xdata)
        try:
            target = decrypt_link(await self._cipher(loc.inode), loc.gfid, r.path or "")
        except ValueError as e:
            self.log.error("crypt: symlink %s: %s: EIO", gfid_str(loc.gfid), e)
            raise FopError(errno.EIO) from None
        r.path = target.decode("utf-8", "surrogateescape")
        self._map_link(r.buf)
        return r

    async def unlink(self, loc: Loc, xflags: int, xdata: Dict | None) -> UnlinkReply:
        return await self._remove(self.child.unlink, loc, xflags, xdata)

    async def rmdir(self, loc: Loc, xflags: int, xdata: Dict | None) -> RmdirReply:
        return await self._remove(self.child.rmdir, loc, xflags, xdata)

    async def _remove(self, fop: Callable[[Loc, int, Dict | None], Awaitable[_Reply]], loc: Loc,
                      xflags: int, xdata: Dict | None) -> _Reply:
        """unlink/rmdir of the stored name, then its long-name record."""
        if not self._names:
            return await fop(loc, xflags, xdata)
        stored, long_name = await self._encrypted(loc)
        r = await fop(stored, xflags, xdata)
        if long_name is not None:
            await self._forget_long_name(loc.parent, stored)
        return r

    async def link(self, oldloc: Loc, newloc: Loc, xdata: Dict | None) -> LinkReply:
        if self._names:
            oldloc = (await self._encrypted(oldloc))[0]
            newloc = await self._entry_loc(newloc)
        r = await self.child.link(oldloc, newloc, xdata)
        self._map_file(r.buf, oldloc.inode)
        self._map_link(r.buf)
        return r

    async def rename(self, oldloc: Loc, newloc: Loc, xdata: Dict | None) -> RenameReply:
        if not self._names:
            r = await self.child.rename(oldloc, newloc, xdata)
            self._map_file(r.buf, oldloc.inode)
            return r
        old = (await self._encrypted(oldloc))[0]
        new = await self._entry_loc(newloc)
        moves_directory = oldloc.inode is None or oldloc.inode.type == IaType.DIR
        if moves_directory:  # brick paths worked out before or during it may be stale
            self._tree_generation += 1
        try:
            r = await self.child.rename(old, new, xdata)
        finally:
            if moves_directory:
                self._tree_generation += 1
        if old.name != new.name or oldloc.pargfid != newloc.pargfid:
            await self._forget_long_name(oldloc.parent, old)
        self._map_file(r.buf, oldloc.inode)
        self._map_link(r.buf)
        return r


# ---------------------------------------------------------------------- tooling
def _brick_files(root: Path) -> list[Path]:
    out: list[Path] = []
    for d, dirs, files in os.walk(root):
        if Path(d) == root and ".glusterfs" in dirs:
            dirs.remove(".glusterfs")
        out.extend(Path(d) / f for f in files)
    return out


def rotate_brick(root: Path, old: MasterKey, new: MasterKey) -> tuple[int, int, list[str]]:
    """Rewrap every header under ``old`` in brick directory ``root``; returns (rewrapped,
    already new, problems).  Idempotent: run it again after an interruption."""
    done = skipped = 0
    problems: list[str] = []
    try:
        new_record = rewrap_name_key(old, new, os.getxattr(root, NAMEKEY_XATTR))
        if new_record is None:
            skipped += 1
        else:
            os.setxattr(root, NAMEKEY_XATTR, new_record)
            done += 1
    except OSError as e:
        if e.errno != errno.ENODATA:
            problems.append(f"{root}: name key: {e}")
    except (HeaderError, InvalidTag) as e:
        problems.append(f"{root}: name key: {e or 'does not authenticate'}")
    for p in _brick_files(root):
        try:
            st = p.lstat()
            if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
                continue
            gfid = os.getxattr(p, "trusted.gfid")
            with open(p, "r+b") as f:
                header = f.read(HEADER_LEN)
                if header[:4] != MAGIC:
                    problems.append(f"{p}: no glupy-crypt header")
                    continue
                new_header = rewrap_header(old, new, gfid, header)
                if new_header is None:
                    skipped += 1
                    continue
                os.pwrite(f.fileno(), new_header, 0)
                os.fsync(f.fileno())
                done += 1
        except (OSError, HeaderError) as e:
            problems.append(f"{p}: {e}")
    return done, skipped, problems


def _main(argv: list[str]) -> int:
    import argparse
    import getpass

    ap = argparse.ArgumentParser(prog="python -m glupy.library.crypt")
    sub = ap.add_subparsers(dest="cmd", required=True)
    nk = sub.add_parser("new-key", help="write a new 32-byte key file (mode 0600)")
    nk.add_argument("file", type=Path)
    npf = sub.add_parser("new-passphrase-file", help="write a passphrase file (passphrase "
                                                     "from stdin or a prompt)")
    npf.add_argument("file", type=Path)
    npf.add_argument("--scrypt-n", type=int, default=1 << 16)
    rot = sub.add_parser("rotate", help="rewrap file headers on brick directories")
    for which in ("old", "new"):
        g = rot.add_mutually_exclusive_group(required=True)
        g.add_argument(f"--{which}-key-file", type=Path)
        g.add_argument(f"--{which}-passphrase-file", type=Path)
    rot.add_argument("bricks", type=Path, nargs="+")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "new-key":
            fd = os.open(a.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                key = os.urandom(KEY_LEN)
                while all(0x20 <= b < 0x7F for b in key):  # pragma: no cover - 1e-14
                    key = os.urandom(KEY_LEN)
                f.write(key)
            return 0
        if a.cmd == "new-passphrase-file":
            text = sys.stdin.buffer.readline().rstrip(b"\n") if not sys.stdin.isatty() \
                else getpass.getpass("passphrase: ").encode()
            fd = os.open(a.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(passphrase_file_text(text, n=a.scrypt_n))
            return 0
        old = load_master_key(a.old_key_file, a.old_passphrase_file)
        new = load_master_key(a.new_key_file, a.new_passphrase_file)
        bad = 0
        for b in a.bricks:
            done, skipped, problems = rotate_brick(b, old, new)
            print(f"{b}: {done} rewrapped, {skipped} already under the new key, "
                  f"{len(problems)} problems")
            for line in problems:
                print(f"  {line}", file=sys.stderr)
            bad += len(problems)
        return 1 if bad else 0
    except (KeyFileError, ValueError, OSError) as e:
        print(e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))


__all__ = ["BLOCK", "HEADER_LEN", "MAGIC", "STORED_BLOCK", "Crypt", "FileKey", "HeaderError",
           "KeyFileError", "MasterKey", "block_offset", "load_master_key", "make_header",
           "open_header", "passphrase_file_text", "plain_size", "read_key_file",
           "read_passphrase_file", "rewrap_header", "rotate_brick", "stored_size"]
