"""crypt: client-side encryption at rest; the bricks only ever hold ciphertext.

Put it above the subvolume whose data must be encrypted (in a client graph: above
DHT/AFR, so every brick receives ciphertext)::

    volume crypt
        type features/glupy
        option module glupy.library.crypt
        option key-file /etc/glusterfs/crypt.key   # 32 raw bytes or 64 hex digits
        subvolumes posix
    end-volume

The volfile names the key *file*, never the key.  ``init`` fails with a clear log line
when the file is missing, unreadable or not a 256-bit key.

Design
------
* Keys: two sub-keys are derived from the volume key with HKDF-SHA256: the AES-256 data
  key and a 16-byte *key check value* (KCV).  Every encrypted file carries two xattrs,
  set atomically by ``create`` (posix sets xattrs passed in create's xdata):
  ``trusted.glupy.crypt.nonce`` (16 random bytes) and ``trusted.glupy.crypt.kcv``.
  A file whose KCV differs from this volume key's is refused: open/read/write/truncate
  fail with **EKEYREJECTED** ("Key was rejected by service") and the log says
  ``crypt: <gfid>: encrypted with a different key``; damaged crypt xattrs give EIO.  A
  wrong key never yields garbage; metadata (stat, readdir) stays visible.
* Cipher: **AES-256-CTR**, the counter block of file offset ``x`` being
  ``(nonce + x // 16) mod 2**128``: the keystream is addressed by file offset, so any
  byte range is encrypted or decrypted on its own (unaligned reads and writes, no
  read-modify-write of whole blocks).  CTR is length preserving: the backend file has
  exactly the plaintext size, so no iatt (stat, lookup, readdirp, write/truncate
  post-op buffers ...) needs fixing.
* Holes: a hole (or a region extended by truncate) reads as zeros from the brick, and
  zeros are not the ciphertext of zeros.  Rule: an aligned 16-byte chunk that lies
  entirely below EOF and whose ciphertext is all zero bytes *is* plaintext zeros (real
  ciphertext is all-zero with probability 2**-128).  So sparse files stay sparse.  The
  one chunk this rule cannot cover is a partial chunk: a chunk cut by EOF always holds
  real ciphertext, and the translator keeps it that way: when a write or truncate moves
  EOF past a partial chunk it first completes it with encrypted zeros, a write that
  starts or ends inside a hole chunk (or inside the gap after EOF) writes encrypted
  zeros for the rest of that chunk, and a truncate that cuts a hole chunk rewrites the
  kept part as encrypted zeros.  Reads are widened to whole chunks to apply the rule.
  Size-changing work runs under a per-inode lock after an fstat of the real size.
* O_APPEND: posix opens the brick file with the caller's flags, so a pwrite on an
  O_APPEND fd lands at the *brick's* EOF whatever offset was asked (the kernel's offset
  comes from its possibly stale cached size).  writev on an O_APPEND fd therefore reads
  the real size under the inode lock, encrypts for that offset and writes it through an
  anonymous (non-append) fd at that explicit offset.  Internal reads and fix-up writes
  also use an anonymous fd (the caller's fd may be write-only or O_DIRECT).
* Nonce rotation: truncating a non-empty file to 0 (``truncate``, ``ftruncate``, or
  ``open(O_TRUNC)``) gives it a fresh nonce, so the common "rewrite the whole file"
  pattern does not reuse keystream.
* Files without a nonce (written before the translator was added, or made by mknod):
  an empty one is adopted (gets a nonce and KCV) when opened; a non-empty one is
  refused with EACCES by default (``option unencrypted-files passthrough`` serves it
  unencrypted instead, and writes to it stay plaintext).  Directories, symlinks and
  other non-regular files are not touched.
* The xattrs ``trusted.glupy.crypt.*`` are hidden from getxattr/listxattr (ENODATA) and
  cannot be set or removed through the mount (EPERM).
* Not supported (EOPNOTSUPP): fallocate, discard (punch hole), zerofill,
  copy_file_range (the kernel then falls back to read+write, which works) and put.
  glibc's posix_fallocate() then emulates by writing zeros, which works too.
* No per-block authentication: tags would need a side store (an xattr per block or a
  tag file) updated with every write and a read-modify-write for unaligned writes;
  left out (see below).
* Cost: the crypt xattrs are read once per inode (kept in ``inode.ctx``, with the file
  size after this client's last write or truncate).  A chunk-aligned write that needs no
  fix-up for that size is a single wind; the child's pre-op size in its reply checks
  the remembered size (see Concurrency).  Other writes (unaligned, O_APPEND, past a
  partial last chunk, the first one after open(O_TRUNC)) wind an fstat of the real size
  first, unaligned writes over holes one or two 16-byte reads; reads are widened by at
  most 30 bytes.  Readers take no lock: a generation counter makes a read that raced a
  nonce rotation retry.  Data is encrypted and decrypted straight from GlusterFS's
  buffers into a fresh iobuf (``Vector.alloc`` + ``update_into``) that is wound or
  unwound as it is (the only copy is the cipher's output; a widened read is cut back
  with ``Vector.narrow``); AES-CTR contexts are pooled and
  re-pointed with ``reset_nonce`` (a sequential stream simply continues); the scan for
  all-zero chunks uses libc's SIMD ``wcsnlen``.
* Files are expected to be opened (FUSE always does): a writer that uses an anonymous
  fd on a file without crypt xattrs (no open/create through this translator) is
  refused under the default ``unencrypted-files refuse``.

What it protects, and what not
------------------------------
Protects file *contents* against someone who gets a copy of the bricks (stolen disk,
backup, a brick host admin looking at one snapshot): confidentiality only.

Does not protect:

* integrity: CTR is malleable and there is no MAC.  Flipping a ciphertext bit flips the
  same plaintext bit; zeroing an aligned 16-byte chunk makes it read as zeros;
  truncation, rollback to an older copy and swapping files are not detected;
* an observer who sees the brick *over time*: overwriting data in place reuses the
  keystream of that offset, so two versions of the same range reveal the XOR of their
  plaintexts (only truncation to 0 rotates the nonce);
* metadata: names, directory structure, sizes (exact), sparseness at 16-byte
  granularity, timestamps, ownership, modes, other xattrs, symlink targets;
* anything on the client: plaintext lives in the client's page cache and memory, the
  key in the client process.

Concurrency: operations of one client process on one file are serialised by a
per-inode lock; nothing coordinates two clients extending the same file at the same
time (as with any client-side translator that needs the file size).  When another
client changed the size since this one last wrote, an aligned write past a partial
last chunk it left completes that chunk right *after* the write (the child's pre-op
size shows the change): until then a reader on this client may see up to 15 bytes
after the other client's end of file as garbage instead of zeros.  The lock is a
blocking threading lock held across winds (written before glupy.Lock existed, which
parks fops instead of threads and would lift this constraint; not switched yet).  That is safe as long
as a thread that blocks on it is never the one that must deliver the holder's reply:
true when fops enter from FUSE threads (crypt right under FUSE, posix, io-threads or
protocol/client below; tested with io-threads and concurrent writers/appenders).  A
translator above that winds writes from reply callbacks (write-behind) could break
that; a timeout (EDEADLK + a log line) is the safety net.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import os
import secrets
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from glupy import Dict, Fd, FopError, Iatt, IaType, Inode, Loc, Option, Translator, Vector, gather, gfid_str
from glupy.replies import (
    CopyFileRangeReply,
    CreateReply,
    DiscardReply,
    FallocateReply,
    FgetxattrReply,
    FremovexattrReply,
    FsetxattrReply,
    FstatReply,
    FtruncateReply,
    GetxattrReply,
    OpenReply,
    PutReply,
    ReadvReply,
    RemovexattrReply,
    SetxattrReply,
    StatReply,
    TruncateReply,
    WritevReply,
    ZerofillReply,
)

XATTR_PREFIX = "trusted.glupy.crypt."
NONCE_XATTR = XATTR_PREFIX + "nonce"
KCV_XATTR = XATTR_PREFIX + "kcv"
NONCE_LEN = 16
KCV_LEN = 16
KEY_LEN = 32
CHUNK = 16  # AES block: the unit of the hole rule
ZERO_CHUNK = bytes(CHUNK)
ZERO_PAGE = bytes(4096)
ZERO_BIG = bytes(65536)
_SMALL_SCAN = 8192  # bytes: below this, _zero_runs scans with bytes.find
LOCK_TIMEOUT = 60.0  # seconds; see the module docstring
_MASK128 = (1 << 128) - 1
_POOL_MAX = 16  # idle cipher contexts kept (about one per thread running fops)
_ZERO_BIG_VIEW = memoryview(ZERO_BIG)

_XattrReply = TypeVar("_XattrReply", GetxattrReply, FgetxattrReply)
Buffer = bytes | bytearray | memoryview

class KeyFileError(ValueError):
    """The key file is missing, unreadable or does not hold a 256-bit key."""


def read_key_file(path: str | os.PathLike[str]) -> bytes:
    """The 32-byte key in ``path``: exactly 32 raw bytes, or 64 hex digits (whitespace
    around them ignored)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise KeyFileError(f"cannot read key file {os.fspath(path)!r}: {e.strerror or e}") from None
    if len(data) == KEY_LEN:
        return data
    text = data.strip()
    if len(text) == 2 * KEY_LEN:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    raise KeyFileError(f"key file {os.fspath(path)!r} must hold exactly {KEY_LEN} raw bytes or "
                       f"{2 * KEY_LEN} hex digits (it has {len(data)} bytes)")


def _hkdf(key: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(key)


def _align_down(x: int) -> int:
    return x - x % CHUNK


def _align_up(x: int) -> int:
    return -(-x // CHUNK) * CHUNK


def _iatt(reply: StatReply | FstatReply) -> Iatt:
    if reply.buf is None:
        raise FopError(errno.EIO, "crypt: stat reply without a stat buffer")
    return reply.buf


def _contiguous(vector: Vector | bytes | None) -> Buffer:
    """The bytes of a readv/writev vector without copying them when they are in one
    buffer (GlusterFS's iovec, valid during the fop)."""
    if isinstance(vector, Vector):
        return vector.contiguous()
    return b"" if vector is None else vector


def _zero_word_finder() -> Callable[[Buffer, int, int], int] | None:
    """A function ``(buf, pos, end) -> k``: the offset of the first all-zero 4-byte word
    of ``buf[pos:end]`` (offsets multiples of 4 from the start of ``buf``), or ``end``.

    libc's ``wcsnlen`` (a 4-byte zero wchar_t is exactly such a word) scans with SIMD:
    ~3 us for 128 KiB where ``bytes.find`` of 16 zero bytes takes ~35 us.  Random
    ciphertext has an all-zero word once in 2**32, so the caller's check of the chunk
    around a hit almost never runs.  None if libc or cffi cannot provide it."""
    try:
        import _cffi_backend  # the FFI type of compiled cffi modules: C methods
        import cffi

        abi = cffi.FFI()
        abi.cdef("size_t wcsnlen(const wchar_t *s, size_t maxlen);")
        wcsnlen = abi.dlopen(None).wcsnlen
        if abi.sizeof("wchar_t") != 4:
            return None
        # from_buffer/cast of cffi.FFI are Python wrappers around these (same ctypes)
        ffi = _cffi_backend.FFI()
        from_buffer, cast = ffi.from_buffer, ffi.cast
        wchars, uintptr = ffi.typeof("wchar_t[]"), ffi.typeof("uintptr_t")
    except Exception:  # no cffi, no libc symbol: use bytes.find
        return None

    def find(buf: Buffer, pos: int, end: int) -> int:
        words = from_buffer(wchars, buf)
        if int(cast(uintptr, words)) & 3:  # wchar_t scans assume alignment
            return _find_zero_word_slow(buf, pos, end)
        if pos:
            return pos + 4 * int(wcsnlen(words + (pos >> 2), (end - pos) >> 2))
        return 4 * int(wcsnlen(words, end >> 2))

    probe = bytearray(b"\xff" * 64)
    probe[36:40] = bytes(4)
    try:
        if find(probe, 0, 64) != 36 or find(probe, 40, 64) != 64 or find(probe, 4, 36) != 36:
            return None
    except Exception:
        return None
    return find


def _find_zero_word_slow(buf: Buffer, pos: int, end: int) -> int:
    """``_zero_word_finder``'s contract with ``bytes.find`` (fallback, ~10x slower):
    finds the first all-zero 16-byte chunk instead, which is all the caller needs."""
    if not isinstance(buf, bytes):
        buf = bytes(buf)
    k = buf.find(ZERO_CHUNK, pos, end)
    while k != -1:
        c = _align_up(k)
        if c + CHUNK > end:
            break
        if buf.startswith(ZERO_CHUNK, c):
            return c
        k = buf.find(ZERO_CHUNK, k + 1, end)
    return end


_find_zero_word = _zero_word_finder()


def _update_into_spare() -> int:
    """Bytes ``CipherContext.update_into`` wants after the data: none for CTR in recent
    cryptography, a block less one in older versions."""
    ctx = Cipher(algorithms.AES(bytes(KEY_LEN)), modes.CTR(ZERO_CHUNK)).encryptor()
    try:
        ctx.update_into(ZERO_CHUNK, bytearray(CHUNK))
    except ValueError:
        return CHUNK - 1
    return 0


_SPARE = _update_into_spare()


def _zero_runs(ct: Buffer) -> list[tuple[int, int]]:
    """[start, end) ranges of whole all-zero chunks in ``ct`` (which starts on a chunk
    boundary); a trailing partial chunk never counts."""
    n = _align_down(len(ct))
    runs: list[tuple[int, int]] = []
    buf: Buffer = ct
    find = _find_zero_word
    if find is None or n <= _SMALL_SCAN:  # three cffi calls cost more than bytes.find here
        buf = bytes(ct)
        find = _find_zero_word_slow
    pos = 0
    while pos < n:
        c = _align_down(find(buf, pos, n))
        if c >= n:
            break
        if not isinstance(buf, bytes):
            buf = bytes(buf)  # a zero word: rare in ciphertext; bytes for startswith
        if not buf.startswith(ZERO_CHUNK, c):
            pos = c + CHUNK
            continue
        e = c + CHUNK
        for step in (ZERO_BIG, ZERO_PAGE, ZERO_CHUNK):
            while e + len(step) <= n and buf.startswith(step, e):
                e += len(step)
        runs.append((c, e))
        pos = e
    return runs


class _Keystream:
    """An AES-CTR context and the file position its keystream is at (see Crypt._xor)."""

    __slots__ = ("ctx", "nonce", "pos")

    def __init__(self, ctx: CipherContext) -> None:
        self.ctx = ctx
        self.nonce: bytes | None = None
        self.pos = -1


@dataclass(eq=False)
class FileState:
    """What the translator knows about one regular file (kept in ``inode.ctx``)."""

    nonce: bytes | None  # None: the file is not encrypted
    rejected: str | None = None  # why this key cannot be used on the file
    rejected_errno: int = errno.EKEYREJECTED
    generation: int = 0  # bumped when the nonce changes (readers retry)
    size: int | None = None  # the file size after this client's last write/truncate (None:
    # unknown, ask the child); read and set under ``lock``
    lock: threading.Lock = field(default_factory=threading.Lock)


class Crypt(Translator):
    """AES-256-CTR encryption of regular file contents (see the module docstring)."""

    key_file: Option[Path] = Option(Path, doc="file holding the volume key: 32 raw bytes or 64 hex digits")
    unencrypted_files: Option[str] = Option(str, default="refuse", choices=["refuse", "passthrough"],
                               doc="non-empty files without crypt xattrs: refuse them (EACCES) "
                                   "or serve them unencrypted")

    # ------------------------------------------------------------------ setup
    def init(self) -> None:
        if self.key_file is None:
            raise KeyFileError("option 'key-file' is required (a file holding 32 raw bytes "
                               "or 64 hex digits; the key itself never goes in the volfile)")
        self._set_key(read_key_file(self.key_file))
        with contextlib.suppress(OSError):
            if os.stat(self.key_file).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                self.log.warning("crypt: key file %s is accessible by group/others", self.key_file)
        self.log.info("crypt: AES-256-CTR, key check value %s…", self._kcv.hex()[:8])

    def _set_key(self, key: bytes) -> None:
        self._aes = algorithms.AES(_hkdf(key, b"glupy-crypt v1 aes-256-ctr", KEY_LEN))
        self._streams: list[_Keystream] = []
        self._kcv = _hkdf(key, b"glupy-crypt v1 key check value", KCV_LEN)

    def reconfigure(self, changed: dict[str, Any]) -> None:
        if "key_file" in changed:
            new = read_key_file(self.key_file)
            if not hmac.compare_digest(_hkdf(new, b"glupy-crypt v1 key check value", KCV_LEN),
                                       self._kcv):
                raise KeyFileError("crypt: the key of a mounted volume cannot change (remount)")

    # ------------------------------------------------------------------ crypto
    def _xor(self, nonce: bytes, offset: int, data: Buffer, into: memoryview) -> int:
        """AES-CTR keystream at file ``offset`` XOR ``data`` (encrypts and decrypts),
        written to the start of ``into`` (which needs ``_SPARE`` bytes beyond
        ``len(data)``); returns ``len(data)``.

        Cipher contexts are pooled: a context is re-pointed with ``reset_nonce`` (~2 us;
        a new Cipher(...).encryptor() costs ~12 us), and not at all when it already
        stands at ``offset`` of this nonce (sequential I/O continues the stream).
        ``pop``/``append`` on the list are atomic under the GIL: a context is used by
        one thread at a time."""
        if not data:
            return 0
        pool = self._streams
        try:
            ks = pool.pop()
        except IndexError:
            ks = _Keystream(Cipher(self._aes, modes.CTR(ZERO_CHUNK)).encryptor())
        ctx = ks.ctx
        if ks.pos != offset or ks.nonce != nonce:
            counter = (int.from_bytes(nonce, "big") + offset // CHUNK) & _MASK128
            iv = counter.to_bytes(16, "big")
            try:
                ctx.reset_nonce(iv)
            except AttributeError:  # cryptography < 43
                ctx = ks.ctx = Cipher(self._aes, modes.CTR(iv)).encryptor()
            skip = offset % CHUNK
            if skip:
                ctx.update(ZERO_CHUNK[:skip])
        n: int = ctx.update_into(data, into)  # an exception drops ks (position unknown)
        ks.nonce, ks.pos = nonce, offset + n
        if len(pool) < _POOL_MAX:
            pool.append(ks)
        return n

    def _encrypt(self, nonce: bytes, offset: int, *parts: Buffer) -> Vector:
        """The ciphertext of ``parts`` (consecutive plaintext from file ``offset`` on)
        in a new iobuf: the cipher writes straight into the buffer that is wound."""
        v = Vector.alloc(sum(len(p) for p in parts), _SPARE)
        w = v.writable()
        pos = 0
        for p in parts:
            pos += self._xor(nonce, offset + pos, p, w[pos:])
        return v

    def _decrypt(self, nonce: bytes, base: int, ct: Buffer) -> Vector:
        """Plaintext of brick bytes ``ct`` read at chunk-aligned ``base``, in a new
        iobuf (all-zero chunks, holes, zeroed in place).  The cipher runs first: it
        streams ``ct`` in from memory (a fresh read, not in the CPU cache) while it
        computes, and the scan for zero chunks then finds it cached."""
        n = len(ct)
        v = Vector.alloc(n, _SPARE)
        w = v.writable()
        self._xor(nonce, base, ct, w)
        n &= ~(CHUNK - 1)
        # ciphertext almost never holds a zero word: one scan call, no _zero_runs
        maybe = n <= _SMALL_SCAN or _find_zero_word is None or _find_zero_word(ct, 0, n) < n
        for s, e in _zero_runs(ct) if maybe else ():
            while s < e:
                k = min(e - s, len(ZERO_BIG))
                w[s:s + k] = _ZERO_BIG_VIEW[:k]
                s += k
        return v

    def _zeros(self, nonce: bytes, start: int, end: int) -> Vector:
        return self._encrypt(nonce, start, bytes(end - start))

    # ------------------------------------------------------------------ file state
    def _state_from_xattrs(self, xattrs: Dict | None, inode: Inode) -> FileState:
        values = xattrs.copy() if xattrs is not None else {}
        nonce, kcv = values.get(NONCE_XATTR), values.get(KCV_XATTR)
        if isinstance(nonce, str):
            nonce = nonce.encode("utf-8", "surrogateescape")
        if isinstance(kcv, str):
            kcv = kcv.encode("utf-8", "surrogateescape")
        st = FileState(nonce=nonce)
        if nonce is None and kcv is None:
            return st
        who = gfid_str(inode.gfid)
        if nonce is None or len(nonce) != NONCE_LEN or kcv is None:
            st.rejected = f"crypt: {who}: damaged crypt xattrs (nonce/kcv missing or malformed)"
            st.rejected_errno = errno.EIO
        elif not hmac.compare_digest(bytes(kcv), self._kcv):
            st.rejected = (f"crypt: {who}: encrypted with a different key (key check value "
                           f"mismatch): refusing access with EKEYREJECTED")
        if st.rejected:
            self.log.error("%s", st.rejected)
        return st

    async def _state(self, inode: Inode, fd: Fd | None = None, loc: Loc | None = None,
                     fresh: bool = False) -> FileState:
        st: FileState | None = None if fresh else inode.ctx
        if st is not None:
            return st
        try:
            if fd is not None:
                xattrs = (await self.child.fgetxattr(fd, None, None)).dict
            else:
                assert loc is not None
                xattrs = (await self.child.getxattr(loc, None, None)).dict
        except FopError as e:
            if e.errno not in (errno.ENODATA, errno.EOPNOTSUPP):
                raise
            xattrs = None
        st = self._state_from_xattrs(xattrs, inode)
        old: FileState | None = None if fresh else inode.ctx
        if old is not None:  # another fop loaded it meanwhile
            return old
        inode.ctx = st
        return st

    def _check(self, st: FileState) -> bool:
        """True if the file is encrypted (use the cipher), False for a plaintext file;
        raises if it may not be used."""
        if st.rejected:
            raise FopError(st.rejected_errno, st.rejected)
        if st.nonce is not None:
            return True
        if self.unencrypted_files == "passthrough":
            return False
        raise FopError(errno.EACCES, "crypt: unencrypted file refused")

    def _acquire(self, st: FileState) -> None:
        if not st.lock.acquire(timeout=LOCK_TIMEOUT):
            self.log.error("crypt: inode lock not acquired in %.0f s: failing with EDEADLK "
                           "(a fop waiting for this thread?)", LOCK_TIMEOUT)
            raise FopError(errno.EDEADLK)

    @contextlib.contextmanager
    def _locked(self, st: FileState) -> Iterator[None]:
        self._acquire(st)
        try:
            yield
        finally:
            st.lock.release()

    def _new_xattrs(self, nonce: bytes) -> Dict:
        return Dict.from_mapping({NONCE_XATTR: nonce, KCV_XATTR: self._kcv})

    async def _adopt(self, st: FileState, fd: Fd) -> None:
        """Give an empty file without crypt xattrs a nonce (under st.lock)."""
        if st.nonce is not None:
            return
        nonce = secrets.token_bytes(NONCE_LEN)
        await self.child.fsetxattr(fd, self._new_xattrs(nonce), 0, None)
        st.nonce = nonce
        st.generation += 1

    async def _rotate(self, st: FileState, fd: Fd) -> None:
        """A fresh nonce for a file that just became empty (under st.lock)."""
        nonce = secrets.token_bytes(NONCE_LEN)
        try:
            await self.child.fsetxattr(fd, Dict.from_mapping({NONCE_XATTR: nonce}), 0, None)
        except FopError as e:
            self.log.warning("crypt: could not rotate the nonce of an emptied file: %s", e)
            return
        st.nonce = nonce
        st.generation += 1

    async def _hole_chunks(self, anon: Fd, offsets: list[int]) -> set[int]:
        """Which of the chunks at ``offsets`` (all entirely below EOF) are holes."""
        replies = await gather(*(self.child.readv(anon, CHUNK, o, 0, None) for o in offsets))
        return {o for o, r in zip(offsets, replies, strict=True)
                if r.vector is not None and bytes(r.vector) == ZERO_CHUNK}

    # ------------------------------------------------------------------ open/create
    async def open(self, loc: Loc, flags: int, fd: Fd, xdata: Dict | None) -> OpenReply:
        inode = loc.inode
        if inode is None or inode.type != IaType.REG:
            return await self.child.open(loc, flags, fd, xdata)
        st = await self._state(inode, loc=loc)
        if st.rejected:
            raise FopError(st.rejected_errno, st.rejected)
        if st.nonce is None and not flags & os.O_TRUNC and self.unencrypted_files == "refuse":
            size = _iatt(await self.child.stat(loc, None)).size
            if size:
                self.log.error("crypt: %s has no crypt xattrs (written before encryption was "
                               "enabled?): refusing it with EACCES (option unencrypted-files)",
                               loc.path)
                raise FopError(errno.EACCES)
        reply = await self.child.open(loc, flags, fd, xdata)
        if st.nonce is None:
            with self._locked(st):
                size = 0 if flags & os.O_TRUNC else _iatt(await self.child.fstat(fd, None)).size
                if size == 0:
                    await self._adopt(st, fd)
        elif flags & os.O_TRUNC:
            with self._locked(st):
                st.size = None
                await self._rotate(st, fd)
        return reply

    async def create(self, loc: Loc, flags: int, mode: int, umask: int, fd: Fd,
                     xdata: Dict | None) -> CreateReply:
        nonce = secrets.token_bytes(NONCE_LEN)
        x = xdata if xdata is not None else Dict()
        x[NONCE_XATTR] = nonce  # posix sets create's xdata keys as xattrs on a new file
        x[KCV_XATTR] = self._kcv
        try:
            reply = await self.child.create(loc, flags, mode, umask, fd, x)
        finally:
            if xdata is not None:
                del xdata[NONCE_XATTR], xdata[KCV_XATTR]
        inode = reply.inode or fd.inode
        if inode is None:
            return reply
        # the file may have existed already (create without O_EXCL): read what it has
        st = await self._state(inode, fd=fd, fresh=True)
        if st.rejected:
            raise FopError(st.rejected_errno, st.rejected)
        if st.nonce is None:
            with self._locked(st):
                if _iatt(await self.child.fstat(fd, None)).size == 0:
                    await self._adopt(st, fd)
        elif reply.buf is not None:
            with self._locked(st):
                if st.size is None:  # the first write need not ask for the size
                    st.size = reply.buf.size
        return reply

    # ------------------------------------------------------------------ data
    async def readv(self, fd: Fd, size: int, offset: int, flags: int,
                    xdata: Dict | None) -> ReadvReply:
        # The hot path of sequential reads: kept flat (few calls) on purpose.
        inode = fd.inode
        st: FileState | None = None if inode is None else inode.ctx
        if st is None:  # only regular files get a FileState
            if inode is None or inode.type != IaType.REG:
                return await self.child.readv(fd, size, offset, flags, xdata)
            st = await self._state(inode, fd=fd)
        # _check raises unless a plaintext file may pass
        if (st.nonce is None or st.rejected) and not self._check(st):
            return await self.child.readv(fd, size, offset, flags, xdata)
        skip = offset % CHUNK
        start = offset - skip
        end = offset + size
        end += -end % CHUNK
        for _attempt in range(4):
            generation, nonce = st.generation, st.nonce
            assert nonce is not None
            r = await self.child.readv(fd, end - start, start, flags, xdata)
            if st.generation != generation:
                continue  # the file was emptied and re-keyed while we read
            ct = _contiguous(r.vector)
            n = len(ct)
            if n <= skip:
                r.vector = b""
                r.op_ret = 0
                return r
            pt = self._decrypt(nonce, start, ct)
            if skip or n - skip > size:
                n = min(n, skip + size)
                pt = pt.narrow(skip, n)  # no copy: the reply's iovec is moved
            r.vector = pt
            r.op_ret = n - skip
            return r
        raise FopError(errno.EAGAIN, "crypt: file re-keyed during every read attempt")

    async def writev(self, fd: Fd, vector: Vector, offset: int, flags: int,
                     xdata: Dict | None) -> WritevReply:
        inode = fd.inode
        if inode is None:
            return await self.child.writev(fd, vector, offset, flags, xdata)
        st: FileState | None = inode.ctx
        if st is None:  # only regular files get a FileState
            if inode.type != IaType.REG:
                return await self.child.writev(fd, vector, offset, flags, xdata)
            st = await self._state(inode, fd=fd)
        n = len(vector)
        if not self._check(st) or n == 0:
            return await self.child.writev(fd, vector, offset, flags, xdata)
        data = _contiguous(vector)
        append = bool(fd.flags & os.O_APPEND)
        self._acquire(st)
        try:
            size = st.size
            st.size = None  # unknown until this write has a reply
            if (size is None or append or (offset | n) % CHUNK
                    or (offset > size and size % CHUNK)):
                return await self._write(st, fd, data, offset, append, flags, xdata)
            # chunk-aligned, no fix-up needed for the size this client knows: one wind
            nonce = st.nonce
            assert nonce is not None
            r = await self.child.writev(fd, self._encrypt(nonce, offset, data), offset, flags,
                                        xdata)
            pre = r.prebuf  # (one iatt view per write: postbuf is not needed)
            if pre is None:
                return r  # the size stays unknown
            real = pre.size
            if real != size:
                await self._size_changed(inode, nonce, real, size, offset)
            if r.op_ret >= 0:
                st.size = max(real, offset + r.op_ret)
            return r
        finally:
            st.lock.release()

    async def _size_changed(self, inode: Inode, nonce: bytes, real: int, size: int,
                            offset: int) -> None:
        """An aligned write at ``offset`` found the file ``real`` bytes long, not the
        ``size`` this client knew: another client changed it.  The one fix-up an aligned
        write can need is completing a partial EOF chunk below ``offset`` with encrypted
        zeros; do it now (under st.lock)."""
        if real >= offset or not real % CHUNK:
            return
        who = gfid_str(inode.gfid)
        self.log.info("crypt: %s: size changed by another client (%d, expected %d): "
                      "completing its last chunk after the write", who, real, size)
        try:
            await self.child.writev(Fd.open_anonymous(inode),
                                    self._zeros(nonce, real, _align_up(real)), real, 0, None)
        except FopError as e:  # the data is written: report that, log this
            self.log.error("crypt: %s: could not complete the chunk at %d: %s", who, real, e)

    async def _write(self, st: FileState, fd: Fd, data: Buffer, offset: int, append: bool,
                     flags: int, xdata: Dict | None) -> WritevReply:
        """Any write, after an fstat of the real size (under st.lock)."""
        nonce = st.nonce
        assert nonce is not None
        inode = fd.inode
        assert inode is not None
        pre = _iatt(await self.child.fstat(fd, None))
        size = pre.size
        o = size if append else offset
        e = o + len(data)
        start, end = o, e
        fills: list[tuple[int, int]] = []  # separate encrypted-zero writes, before the data
        probes: list[int] = []
        if o > size:  # writing past EOF: the gap's edge chunks get encrypted zeros
            head = _align_down(o)
            if head <= size:
                start = size
            else:
                start = head
                if size % CHUNK:
                    fills.append((size, _align_up(size)))
        elif o % CHUNK and _align_down(o) + CHUNK <= size:
            probes.append(_align_down(o))
        if e < size and e % CHUNK and _align_up(e) <= size and _align_down(e) not in probes:
            probes.append(_align_down(e))
        anon = Fd.open_anonymous(inode) if (fills or probes or append
                                            or fd.flags & os.O_DIRECT) else None
        if probes:
            assert anon is not None
            holes = await self._hole_chunks(anon, probes)
            if _align_down(o) in holes:
                start = _align_down(o)
            if _align_down(e) in holes:
                end = _align_up(e)
        for fs, fe in fills:
            assert anon is not None
            await self.child.writev(anon, self._zeros(nonce, fs, fe), fs, 0, None)
        ct = self._encrypt(nonce, start, bytes(o - start), data, bytes(end - e))
        via_anon = append or (bool(fd.flags & os.O_DIRECT) and (start, end) != (o, e))
        r = await self.child.writev(anon if via_anon and anon is not None else fd, ct, start,
                                    flags, xdata)
        st.size = r.postbuf.size if r.postbuf is not None else None
        written = max(0, min(len(data), r.op_ret - (o - start)))
        return WritevReply(prebuf=pre, postbuf=r.postbuf, xdata=r.xdata, op_ret=written)

    async def _before_resize(self, st: FileState, anon: Fd, size: int, size_to: int) -> None:
        """Encrypted-zero fix-ups before the file goes from ``size`` to ``size_to`` bytes
        (under st.lock): see "Holes" in the module docstring."""
        nonce = st.nonce
        assert nonce is not None
        fills: list[list[int]] = []
        if size_to > size:
            if size % CHUNK:  # complete the old EOF chunk
                fills.append([size, min(_align_up(size), size_to)])
            if size_to % CHUNK:  # the new EOF chunk is partial: it must hold real ciphertext
                ts = max(_align_down(size_to), size)
                if fills and ts <= fills[-1][1]:
                    fills[-1][1] = size_to
                else:
                    fills.append([ts, size_to])
        elif size_to < size and size_to % CHUNK and _align_down(size_to) + CHUNK <= size:
            cut = _align_down(size_to)  # the kept part of a cut hole chunk becomes real
            if await self._hole_chunks(anon, [cut]):
                fills.append([cut, size_to])
        for fs, fe in fills:
            await self.child.writev(anon, self._zeros(nonce, fs, fe), fs, 0, None)

    async def truncate(self, loc: Loc, offset: int, xdata: Dict | None) -> TruncateReply:
        inode = loc.inode
        if inode is None or inode.type != IaType.REG:
            return await self.child.truncate(loc, offset, xdata)
        st = await self._state(inode, loc=loc)
        if not self._check(st):
            return await self.child.truncate(loc, offset, xdata)
        with self._locked(st):
            st.size = None
            pre = _iatt(await self.child.stat(loc, None))
            anon = Fd.open_anonymous(inode)
            await self._before_resize(st, anon, pre.size, offset)
            r = await self.child.truncate(loc, offset, xdata)
            st.size = r.postbuf.size if r.postbuf is not None else None
            if offset == 0 and pre.size > 0:
                await self._rotate(st, anon)
        return TruncateReply(prebuf=pre, postbuf=r.postbuf, xdata=r.xdata, op_ret=r.op_ret)

    async def ftruncate(self, fd: Fd, offset: int, xdata: Dict | None) -> FtruncateReply:
        inode = fd.inode
        if inode is None or inode.type != IaType.REG:
            return await self.child.ftruncate(fd, offset, xdata)
        st = await self._state(inode, fd=fd)
        if not self._check(st):
            return await self.child.ftruncate(fd, offset, xdata)
        with self._locked(st):
            st.size = None
            pre = _iatt(await self.child.fstat(fd, None))
            anon = Fd.open_anonymous(inode)
            await self._before_resize(st, anon, pre.size, offset)
            r = await self.child.ftruncate(fd, offset, xdata)
            st.size = r.postbuf.size if r.postbuf is not None else None
            if offset == 0 and pre.size > 0:
                await self._rotate(st, anon)
        return FtruncateReply(prebuf=pre, postbuf=r.postbuf, xdata=r.xdata, op_ret=r.op_ret)

    # ------------------------------------------------------------------ unsupported
    async def fallocate(self, fd: Fd, keep_size: int, offset: int, len: int,
                        xdata: Dict | None) -> FallocateReply:
        raise FopError(errno.EOPNOTSUPP, "crypt: fallocate is not supported")

    async def discard(self, fd: Fd, offset: int, len: int, xdata: Dict | None) -> DiscardReply:
        raise FopError(errno.EOPNOTSUPP, "crypt: discard is not supported")

    async def zerofill(self, fd: Fd, offset: int, len: int, xdata: Dict | None) -> ZerofillReply:
        raise FopError(errno.EOPNOTSUPP, "crypt: zerofill is not supported")

    async def copy_file_range(self, fd_in: Fd, off_in: int, fd_out: Fd, off_out: int, len: int,
                              flags: int, xdata: Dict | None) -> CopyFileRangeReply:
        raise FopError(errno.EOPNOTSUPP, "crypt: copy_file_range is not supported")

    async def put(self, loc: Loc, mode: int, umask: int, flags: int, vector: Vector, offset: int,
                  xattr: Dict | None, xdata: Dict | None) -> PutReply:
        raise FopError(errno.EOPNOTSUPP, "crypt: put is not supported")

    # ------------------------------------------------------------------ xattrs
    @staticmethod
    def _hide(reply: _XattrReply) -> _XattrReply:
        d = reply.dict
        if d is not None:
            for k in [k for k in d if k.startswith(XATTR_PREFIX)]:
                del d[k]
        return reply

    async def getxattr(self, loc: Loc, name: str | None, xdata: Dict | None) -> GetxattrReply:
        if name and name.startswith(XATTR_PREFIX):
            raise FopError(errno.ENODATA)
        return self._hide(await self.child.getxattr(loc, name, xdata))

    async def fgetxattr(self, fd: Fd, name: str | None, xdata: Dict | None) -> FgetxattrReply:
        if name and name.startswith(XATTR_PREFIX):
            raise FopError(errno.ENODATA)
        return self._hide(await self.child.fgetxattr(fd, name, xdata))

    async def setxattr(self, loc: Loc, dict: Dict | None, flags: int,
                       xdata: Dict | None) -> SetxattrReply:
        if dict is not None and any(k.startswith(XATTR_PREFIX) for k in dict):
            raise FopError(errno.EPERM)
        return await self.child.setxattr(loc, dict, flags, xdata)

    async def fsetxattr(self, fd: Fd, dict: Dict | None, flags: int,
                        xdata: Dict | None) -> FsetxattrReply:
        if dict is not None and any(k.startswith(XATTR_PREFIX) for k in dict):
            raise FopError(errno.EPERM)
        return await self.child.fsetxattr(fd, dict, flags, xdata)

    async def removexattr(self, loc: Loc, name: str | None, xdata: Dict | None) -> RemovexattrReply:
        if name and name.startswith(XATTR_PREFIX):
            raise FopError(errno.EPERM)
        return await self.child.removexattr(loc, name, xdata)

    async def fremovexattr(self, fd: Fd, name: str | None, xdata: Dict | None) -> FremovexattrReply:
        if name and name.startswith(XATTR_PREFIX):
            raise FopError(errno.EPERM)
        return await self.child.fremovexattr(fd, name, xdata)


__all__ = ["KCV_XATTR", "NONCE_XATTR", "Crypt", "FileState", "KeyFileError", "read_key_file"]
