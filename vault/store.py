"""The provider's encrypted file store: every asset at rest under AES-256-GCM.

Layout under the store root::

    <root>/<64 lower-case hex of the asset id>/header.json
    <root>/<64 lower-case hex of the asset id>/data.bin
    <root>/.tmp/      puts in progress (renamed into place when complete)
    <root>/.trash/    objects being replaced or deleted

Each asset gets a random 256-bit data key, wrapped with AES key wrap
(RFC 3394) under the gateway master key. From the data key HKDF derives an
encryption key and a header MAC key. The plaintext is cut into fixed-size
chunks (the last one may be shorter; an empty file is one empty chunk). Chunk
``i`` is sealed with AES-GCM under nonce ``prefix(8 random bytes) || i
(uint32 BE)`` and associated data ``"tds-store/v1" || asset id (32 bytes) ||
i (uint64 BE) || is_last (1 byte)``, so a chunk cannot be moved to another
asset or position, and dropping trailing chunks is caught because the new
last chunk was not sealed as last. ``data.bin`` is the concatenated sealed
chunks (chunk_size + 16 bytes each, except the last).

``header.json`` holds the format version, chunk size, plaintext size, chunk
count, SHA-256 of the plaintext, wrapped key and nonce prefix, and an
HMAC-SHA256 over all of them (keyed from the data key), so the metadata
returned by :meth:`EncryptedStore.stat` is authenticated too.

Integrity guarantees when reading:

* full reads hash while streaming and compare with the stored (and, if
  given, the expected) SHA-256 after the last chunk; every chunk is also
  authenticated by GCM before it is yielded;
* byte-range reads decrypt only the chunks they need and rely on GCM
  authentication (which binds each chunk to asset id, index and the
  authenticated header), not on the whole-file SHA-256; an
  ``expected_sha256`` is checked against the authenticated header hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import secrets
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap

from domain.ids import parse_bytes32
from vault.errors import (
    AssetAlreadyStored,
    AssetNotFound,
    InvalidRange,
    StoredFileTampered,
    UnsupportedStoreFormat,
    WrongMasterKey,
)
from vault.keys import MASTER_KEY_ENV, MasterKey

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MASTER_KEY_ENV",
    "EncryptedStore",
    "MasterKey",
    "ObjectReader",
    "StoredObject",
    "normalize_asset_id",
]

DEFAULT_CHUNK_SIZE: Final = 1024 * 1024
FORMAT_NAME: Final = "tds-encrypted-store"
FORMAT_VERSION: Final = 1
MIN_CHUNK_SIZE: Final = 16
MAX_CHUNK_SIZE: Final = 64 * 1024 * 1024
MAX_CHUNKS: Final = 2**32  # the nonce counter is 4 bytes

_TAG: Final = 16
_KEY_BYTES: Final = 32
_AAD_DOMAIN: Final = b"tds-store/v1"
_MAX_HEADER_BYTES: Final = 64 * 1024

Progress = Callable[[int], None]


def normalize_asset_id(asset_id: object) -> str:
    """Return ``asset_id`` as ``0x`` + 64 lower-case hex, or raise ``domain.errors.InvalidId``.

    Hex digits may be upper or mixed case; the ``0x`` prefix is required.
    Nothing else is accepted, which also rules out path traversal.
    """
    return parse_bytes32(asset_id, "asset id")


@dataclass(frozen=True, slots=True)
class StoredObject:
    """Authenticated metadata of one stored object."""

    size: int
    sha256: bytes
    chunk_size: int
    asset_id: str

    @property
    def sha256_hex(self) -> str:
        """The plaintext's SHA-256 as lower-case hex (what ``sha256sum`` prints)."""
        return self.sha256.hex()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "asset_id": self.asset_id,
            "size": self.size,
            "sha256": self.sha256.hex(),
            "chunk_size": self.chunk_size,
        }


@dataclass(frozen=True, slots=True)
class _Header:
    """A parsed, authenticated header plus the keys it unlocks."""

    asset_id: str
    chunk_size: int
    size: int
    chunk_count: int
    sha256: bytes
    nonce_prefix: bytes
    enc_key: bytes

    def stored(self) -> StoredObject:
        return StoredObject(self.size, self.sha256, self.chunk_size, self.asset_id)

    def sealed_len(self, index: int) -> int:
        """Ciphertext length (with tag) of chunk ``index``."""
        if index < self.chunk_count - 1:
            return self.chunk_size + _TAG
        return self.size - (self.chunk_count - 1) * self.chunk_size + _TAG

    @property
    def data_len(self) -> int:
        return self.size + self.chunk_count * _TAG


def _chunk_count(size: int, chunk_size: int) -> int:
    return max(1, -(-size // chunk_size))


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + index.to_bytes(4, "big")


def _aad(asset_raw: bytes, index: int, last: bool) -> bytes:
    return _AAD_DOMAIN + asset_raw + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


def _derive(data_key: bytes, purpose: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tds-store/v1/" + purpose)
    return hkdf.derive(data_key)


def _canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(fields), sort_keys=True, separators=(",", ":")).encode("utf-8")


def _read_full(fh: IO[bytes], view: memoryview) -> int:
    """Fill ``view`` from ``fh``; return bytes read (short only at EOF)."""
    done = 0
    while done < len(view):
        n = fh.readinto(view[done:])  # type: ignore[attr-defined]
        if not n:
            break
        done += n
    return done


class ObjectReader(Iterator[bytes]):
    """Iterator over the plaintext of ``[start, end)`` of a stored object.

    Decrypts one chunk at a time (memory O(chunk size)). Use as a context
    manager, or call :meth:`close`, if you stop early.
    """

    def __init__(
        self,
        header: _Header,
        data: IO[bytes],
        start: int,
        end: int,
        expected_sha256: bytes | None,
        hash_full: bool = True,
    ) -> None:
        self.stored: StoredObject = header.stored()
        self._hash_full = hash_full
        self.start = start
        self.end = end
        self._header = header
        self._data = data
        self._expected = expected_sha256
        self._gen = self._chunks()

    @property
    def length(self) -> int:
        """Number of plaintext bytes this reader yields."""
        return self.end - self.start

    def __iter__(self) -> ObjectReader:
        return self

    def __next__(self) -> bytes:
        return next(self._gen)

    def close(self) -> None:
        """Release the underlying file."""
        self._gen.close()
        self._data.close()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _chunks(self) -> Iterator[bytes]:
        try:
            if self.start == self.end and self.stored.size:
                return
            full = self.start == 0 and self.end == self.stored.size and self._hash_full
            yield from (self._full() if full else self._range())
        finally:
            self._data.close()

    def _full(self) -> Iterator[bytes]:
        hasher = hashlib.sha256()
        for plain in self._decrypt(0, self._header.chunk_count):
            hasher.update(plain)
            if plain:
                yield plain
        digest = hasher.digest()
        if not hmac.compare_digest(digest, self._header.sha256):
            raise StoredFileTampered(self.stored.asset_id, "plaintext SHA-256 differs from header")
        if self._expected is not None and not hmac.compare_digest(digest, self._expected):
            raise StoredFileTampered(
                self.stored.asset_id, "plaintext SHA-256 differs from expected"
            )

    def _range(self) -> Iterator[bytes]:
        cs = self._header.chunk_size
        first, last = self.start // cs, (self.end - 1) // cs
        self._data.seek(first * (cs + _TAG))
        for index, plain in enumerate(self._decrypt(first, last + 1), start=first):
            lo = max(self.start - index * cs, 0)
            hi = min(self.end - index * cs, len(plain))
            yield plain if (lo, hi) == (0, len(plain)) else plain[lo:hi]

    def _decrypt(self, first: int, stop: int) -> Iterator[bytes]:
        h = self._header
        aead = AESGCM(h.enc_key)
        asset_raw = bytes.fromhex(h.asset_id[2:])
        buf = memoryview(bytearray(h.chunk_size + _TAG))
        for index in range(first, stop):
            want = h.sealed_len(index)
            if _read_full(self._data, buf[:want]) != want:
                raise StoredFileTampered(h.asset_id, f"data.bin truncated in chunk {index}")
            aad = _aad(asset_raw, index, index == h.chunk_count - 1)
            try:
                yield aead.decrypt(_nonce(h.nonce_prefix, index), buf[:want], aad)
            except InvalidTag:
                raise StoredFileTampered(
                    h.asset_id, f"chunk {index} failed GCM authentication"
                ) from None


class EncryptedStore:
    """Encrypted, chunked, atomically written object store keyed by asset id."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        master_key: MasterKey,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        """Open (creating if needed, mode 0700) the store at ``root``.

        ``chunk_size`` applies to new puts; existing objects keep their own.
        """
        if not isinstance(master_key, MasterKey):
            raise TypeError("master_key must be a MasterKey")
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be in [{MIN_CHUNK_SIZE}, {MAX_CHUNK_SIZE}]")
        self.root = Path(root)
        self.chunk_size = chunk_size
        self._master = master_key
        # parsed headers by their exact bytes: a header that was authenticated once parses to the same
        # result again, so the MAC check, key unwrap and key derivation are skipped on a repeat read
        self._headers: OrderedDict[tuple[str, bytes], _Header] = OrderedDict()
        self._headers_lock = threading.Lock()
        for sub in (self.root, self.root / ".tmp", self.root / ".trash"):
            sub.mkdir(mode=0o700, parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"EncryptedStore(root={str(self.root)!r}, master_key={self._master!r})"

    def derive_key(self, label: bytes) -> bytes:
        """A key derived from the master key for another purpose (see :meth:`MasterKey.derive_key`)."""
        return self._master.derive_key(label)

    # ---- writing -----------------------------------------------------------

    def put(
        self,
        asset_id: str,
        src_path: str | os.PathLike[str],
        progress: Progress | None = None,
        *,
        overwrite: bool = False,
    ) -> StoredObject:
        """Encrypt the file at ``src_path`` into the store, streaming it.

        ``progress``, if given, is called with the plaintext bytes done so far
        after each chunk. Raises AssetAlreadyStored unless ``overwrite``.
        A failed put leaves nothing behind.
        """
        with open(src_path, "rb", buffering=0) as src:
            return self.put_stream(asset_id, src, progress, overwrite=overwrite)

    def put_bytes(self, asset_id: str, data: bytes, *, overwrite: bool = False) -> StoredObject:
        """Store ``data`` (convenience for small objects and tests)."""
        return self.put_stream(asset_id, io.BytesIO(data), overwrite=overwrite)

    def put_stream(
        self,
        asset_id: str,
        src: IO[bytes],
        progress: Progress | None = None,
        *,
        overwrite: bool = False,
    ) -> StoredObject:
        """Encrypt everything readable from the binary file object ``src``."""
        asset_id = normalize_asset_id(asset_id)
        final = self._dir(asset_id)
        if not overwrite and final.exists():
            raise AssetAlreadyStored(asset_id)
        tmp = Path(tempfile.mkdtemp(prefix=asset_id[2:10] + ".", dir=self.root / ".tmp"))
        try:
            stored = self._write_object(asset_id, src, tmp, progress)
            self._install(asset_id, tmp, final, overwrite)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return stored

    def _write_object(
        self, asset_id: str, src: IO[bytes], tmp: Path, progress: Progress | None
    ) -> StoredObject:
        data_key = secrets.token_bytes(_KEY_BYTES)
        prefix = secrets.token_bytes(8)
        with _create(tmp / "data.bin") as out:
            size, digest, count = self._encrypt_stream(
                asset_id, data_key, prefix, src, out, progress
            )
            os.fsync(out.fileno())
        fields = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "asset_id": asset_id,
            "cipher": "AES-256-GCM",
            "key_wrap": "AES-KW",
            "master_key_id": self._master.key_id,
            "chunk_size": self.chunk_size,
            "plaintext_size": size,
            "chunk_count": count,
            "sha256": digest.hex(),
            "wrapped_key": base64.b64encode(self._master._wrap(data_key)).decode(),
            "nonce_prefix": base64.b64encode(prefix).decode(),
        }
        mac = hmac.new(_derive(data_key, b"header-mac"), _canonical(fields), hashlib.sha256)
        fields["header_mac"] = base64.b64encode(mac.digest()).decode()
        with _create(tmp / "header.json") as out:
            out.write(json.dumps(fields, indent=2).encode() + b"\n")
            os.fsync(out.fileno())
        _fsync_dir(tmp)
        return StoredObject(size, digest, self.chunk_size, asset_id)

    def _encrypt_stream(
        self,
        asset_id: str,
        data_key: bytes,
        prefix: bytes,
        src: IO[bytes],
        out: IO[bytes],
        progress: Progress | None,
    ) -> tuple[int, bytes, int]:
        """Seal ``src`` chunk by chunk into ``out``; return (size, sha256, chunks)."""
        cs = self.chunk_size
        aead = AESGCM(_derive(data_key, b"enc"))
        asset_raw = bytes.fromhex(asset_id[2:])
        cur, nxt = memoryview(bytearray(cs)), memoryview(bytearray(cs))
        sealed = memoryview(bytearray(cs + _TAG))
        hasher, size, index = hashlib.sha256(), 0, 0
        n = _read_full(src, cur)
        while True:
            # Read ahead one chunk: the last chunk must be sealed as last.
            m = _read_full(src, nxt) if n == cs else 0
            last = m == 0
            if index >= MAX_CHUNKS:
                raise ValueError("object too large for this chunk size")
            plain = cur[:n]
            hasher.update(plain)
            aad = _aad(asset_raw, index, last)
            k = aead.encrypt_into(_nonce(prefix, index), plain, aad, sealed[: n + _TAG])
            out.write(sealed[:k])
            size, index = size + n, index + 1
            if progress is not None:
                progress(size)
            if last:
                return size, hasher.digest(), index
            cur, nxt, n = nxt, cur, m

    def _install(self, asset_id: str, tmp: Path, final: Path, overwrite: bool) -> None:
        """Atomically move a complete object directory into place."""
        old: Path | None = None
        if overwrite and final.exists():
            old = Path(tempfile.mkdtemp(prefix=asset_id[2:10] + ".", dir=self.root / ".trash"))
            os.replace(final, old / "obj")
        try:
            os.rename(tmp, final)  # fails if final exists and is non-empty: no clobbering
        except OSError as exc:
            if old is not None:
                os.replace(old / "obj", final)
            if final.exists():
                raise AssetAlreadyStored(asset_id) from exc
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(self.root)

    def delete(self, asset_id: str, *, missing_ok: bool = False) -> None:
        """Remove an object (atomically: readers see it whole or not at all)."""
        asset_id = normalize_asset_id(asset_id)
        trash = Path(tempfile.mkdtemp(prefix=asset_id[2:10] + ".", dir=self.root / ".trash"))
        try:
            os.rename(self._dir(asset_id), trash / "obj")
        except FileNotFoundError:
            if not missing_ok:
                raise AssetNotFound(asset_id) from None
        finally:
            shutil.rmtree(trash, ignore_errors=True)
        _fsync_dir(self.root)

    # ---- reading -----------------------------------------------------------

    def has(self, asset_id: str) -> bool:
        """True if an object is stored under ``asset_id`` (not verified)."""
        return (self._dir(normalize_asset_id(asset_id)) / "header.json").is_file()

    def stat(self, asset_id: str) -> StoredObject:
        """Authenticated size, SHA-256 and chunk size of a stored object."""
        asset_id = normalize_asset_id(asset_id)
        header, data = self._open(asset_id)
        data.close()
        return header.stored()

    def open_range(
        self,
        asset_id: str,
        start: int = 0,
        end: int | None = None,
        expected_sha256: bytes | None = None,
        hash_full: bool = True,
    ) -> ObjectReader:
        """Iterate over the plaintext bytes ``[start, end)`` (end exclusive).

        Checks happen before this returns: unknown asset, wrong master key,
        tampered header, bad range, and ``expected_sha256`` against the
        authenticated header hash. A full read (start 0, end None or size)
        then also hashes while streaming and raises StoredFileTampered after
        the last chunk on mismatch, unless ``hash_full`` is False (the caller
        hashes the plaintext itself, e.g. on another core). Any chunk failing
        GCM raises StoredFileTampered before it is yielded.
        """
        asset_id = normalize_asset_id(asset_id)
        if expected_sha256 is not None and len(expected_sha256) != 32:
            raise ValueError("expected_sha256 must be 32 bytes")
        header, data = self._open(asset_id)
        try:
            end = header.size if end is None else end
            if not 0 <= start <= end <= header.size:
                raise InvalidRange(
                    f"range [{start}, {end}) is outside asset {asset_id} of {header.size} bytes"
                )
            expected_ok = expected_sha256 is None or hmac.compare_digest(
                expected_sha256, header.sha256
            )
            if not expected_ok:
                raise StoredFileTampered(asset_id, "stored SHA-256 differs from expected")
        except BaseException:
            data.close()
            raise
        return ObjectReader(header, data, start, end, expected_sha256, hash_full)

    def verify(self, asset_id: str, expected_sha256: bytes | None = None) -> bool:
        """Decrypt and hash the whole object; True if intact (and matches).

        Tampering yields False; missing asset or wrong master key still raise.
        """
        try:
            with self.open_range(asset_id, expected_sha256=expected_sha256) as reader:
                for _ in reader:
                    pass
        except StoredFileTampered:
            return False
        return True

    # ---- internals ---------------------------------------------------------

    def _dir(self, asset_id: str) -> Path:
        return self.root / asset_id[2:]

    def _open(self, asset_id: str) -> tuple[_Header, IO[bytes]]:
        """Open header and data of one object consistently (same directory)."""
        try:
            dfd = os.open(self._dir(asset_id), os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            raise AssetNotFound(asset_id) from None
        try:
            raw = _read_at(dfd, "header.json", asset_id)
            header = self._parse_header(asset_id, raw)
            data = _open_at(dfd, "data.bin", asset_id)
        finally:
            os.close(dfd)
        actual = os.fstat(data.fileno()).st_size
        if actual != header.data_len:
            data.close()
            raise StoredFileTampered(
                asset_id, f"data.bin is {actual} bytes, header implies {header.data_len}"
            )
        return header, data

    def _parse_header(self, asset_id: str, raw: bytes) -> _Header:
        key = (asset_id, raw)
        with self._headers_lock:
            cached = self._headers.get(key)
            if cached is not None:
                self._headers.move_to_end(key)
                return cached
        header = self._authenticate_header(asset_id, raw)
        with self._headers_lock:
            self._headers[key] = header
            while len(self._headers) > _HEADER_CACHE_SIZE:
                self._headers.popitem(last=False)
        return header

    def _authenticate_header(self, asset_id: str, raw: bytes) -> _Header:
        fields = _load_header_json(asset_id, raw)
        if fields.get("format") != FORMAT_NAME or fields.get("version") != FORMAT_VERSION:
            raise UnsupportedStoreFormat(
                f"asset {asset_id}: unsupported store format "
                f"{fields.get('format')!r} version {fields.get('version')!r}"
            )
        if fields.get("master_key_id") != self._master.key_id:
            raise WrongMasterKey(asset_id, str(fields.get("master_key_id")), self._master.key_id)
        try:
            mac = _b64(fields.pop("header_mac"))
        except (KeyError, ValueError, TypeError):
            raise StoredFileTampered(asset_id, "header MAC missing or malformed") from None
        try:
            data_key = self._master._unwrap(_b64(fields.get("wrapped_key")))
        except (ValueError, TypeError, InvalidUnwrap):
            raise StoredFileTampered(asset_id, "wrapped data key does not unwrap") from None
        expect = hmac.new(_derive(data_key, b"header-mac"), _canonical(fields), hashlib.sha256)
        if not hmac.compare_digest(mac, expect.digest()):
            raise StoredFileTampered(asset_id, "header MAC mismatch (header edited)")
        return _header_from_fields(asset_id, fields, _derive(data_key, b"enc"))


_HEADER_CACHE_SIZE = 4096


def _load_header_json(asset_id: str, raw: bytes) -> dict[str, Any]:
    try:
        fields = json.loads(raw)
    except ValueError:
        raise StoredFileTampered(asset_id, "header.json is not valid JSON") from None
    if not isinstance(fields, dict):
        raise StoredFileTampered(asset_id, "header.json is not an object")
    return fields


def _header_from_fields(asset_id: str, f: Mapping[str, Any], enc_key: bytes) -> _Header:
    """Build a header from MAC-verified fields, still checking their consistency."""
    try:
        header = _Header(
            asset_id=f["asset_id"],
            chunk_size=int(f["chunk_size"]),
            size=int(f["plaintext_size"]),
            chunk_count=int(f["chunk_count"]),
            sha256=bytes.fromhex(f["sha256"]),
            nonce_prefix=_b64(f["nonce_prefix"]),
            enc_key=enc_key,
        )
    except (KeyError, ValueError, TypeError):
        raise StoredFileTampered(asset_id, "header fields malformed") from None
    consistent = (
        header.asset_id == asset_id
        and MIN_CHUNK_SIZE <= header.chunk_size <= MAX_CHUNK_SIZE
        and header.size >= 0
        and header.chunk_count == _chunk_count(header.size, header.chunk_size)
        and len(header.sha256) == 32
        and len(header.nonce_prefix) == 8
    )
    if not consistent:
        raise StoredFileTampered(asset_id, "header fields inconsistent")
    return header


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError("expected base64 text")
    return base64.b64decode(value, validate=True)


def _read_at(dfd: int, name: str, asset_id: str) -> bytes:
    with _open_at(dfd, name, asset_id) as fh:
        raw = fh.read(_MAX_HEADER_BYTES + 1)
    if len(raw) > _MAX_HEADER_BYTES:
        raise StoredFileTampered(asset_id, f"{name} is too large")
    return raw


def _open_at(dfd: int, name: str, asset_id: str) -> IO[bytes]:
    try:
        fd = os.open(name, os.O_RDONLY, dir_fd=dfd)
    except FileNotFoundError:
        raise StoredFileTampered(asset_id, f"{name} is missing") from None
    return open(fd, "rb", buffering=0)


def _create(path: Path) -> IO[bytes]:
    return open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
