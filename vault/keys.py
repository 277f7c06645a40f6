"""The gateway master key: wraps each asset's data key; never logged, never pickled.

Loaded from a keyfile (32 raw bytes or 64 hex, mode 0600) or from ``TDS_GATEWAY_MASTER_KEY`` (hex).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

from vault.errors import MasterKeyError

MASTER_KEY_ENV: Final = "TDS_GATEWAY_MASTER_KEY"
_KEY_BYTES: Final = 32
_HEX_KEY = re.compile(r"(?:0x)?([0-9a-fA-F]{64})", re.ASCII)


class MasterKey:
    """The gateway's 256-bit key-wrapping key. Its repr shows only a key id."""

    __slots__ = ("_key", "_key_id")

    def __init__(self, key: bytes) -> None:
        """Wrap 32 raw key bytes (use the named constructors to load one)."""
        if not isinstance(key, bytes | bytearray) or len(key) != _KEY_BYTES:
            raise MasterKeyError("master key must be exactly 32 bytes")
        self._key = bytes(key)
        mac = hmac.new(self._key, b"tds-gateway master key id", hashlib.sha256)
        self._key_id = mac.hexdigest()[:16]

    @property
    def key_id(self) -> str:
        """A public fingerprint of the key (not usable to recover it)."""
        return self._key_id

    def derive_key(self, label: bytes) -> bytes:
        """A 32-byte key for another purpose (HKDF-SHA256, ``label`` separates purposes)."""
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tds-gateway/derived/" + label)
        return hkdf.derive(self._key)

    def __repr__(self) -> str:
        return f"MasterKey(id={self._key_id})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MasterKey):
            return NotImplemented
        return hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(self._key_id)

    def __reduce__(self) -> Any:
        raise TypeError("MasterKey cannot be pickled")

    @classmethod
    def generate(cls, path: str | os.PathLike[str]) -> MasterKey:
        """Create a new random key at ``path`` (hex, mode 0600); never overwrites."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_bytes(_KEY_BYTES)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise MasterKeyError(f"master key file {path} already exists; not overwriting") from exc
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, key.hex().encode("ascii") + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        return cls(key)

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], *, require_private: bool = True
    ) -> MasterKey:
        """Load a key file holding 32 raw bytes or 64 hex digits.

        With ``require_private`` (the default) a file readable or writable by
        group or others is refused, as ssh does for private keys.
        """
        path = Path(path)
        try:
            with open(path, "rb") as fh:
                mode = os.fstat(fh.fileno()).st_mode
                raw = fh.read(1024)
        except OSError as exc:
            raise MasterKeyError(f"cannot read master key file {path}: {exc.strerror}") from exc
        if require_private and mode & 0o077:
            raise MasterKeyError(
                f"master key file {path} is accessible by group/others "
                f"(mode {mode & 0o777:o}); chmod 600 it"
            )
        if len(raw) == _KEY_BYTES:
            return cls(raw)
        key = _parse_hex_key(raw)
        if key is None:
            raise MasterKeyError(
                f"master key file {path} must hold 32 raw bytes or 64 hex digits"
            )
        return cls(key)

    @classmethod
    def from_env(
        cls, name: str = MASTER_KEY_ENV, environ: Mapping[str, str] | None = None
    ) -> MasterKey:
        """Load a hex key (64 digits, optional ``0x``) from an environment variable."""
        env = os.environ if environ is None else environ
        value = env.get(name)
        if not value:
            raise MasterKeyError(f"environment variable {name} is not set")
        key = _parse_hex_key(value.encode("utf-8", "replace"))
        if key is None:
            raise MasterKeyError(f"environment variable {name} must hold 64 hex digits")
        return cls(key)

    def _wrap(self, data_key: bytes) -> bytes:
        return aes_key_wrap(self._key, data_key)

    def _unwrap(self, wrapped: bytes) -> bytes:
        return aes_key_unwrap(self._key, wrapped)


def _parse_hex_key(raw: bytes) -> bytes | None:
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    match = _HEX_KEY.fullmatch(text)
    return bytes.fromhex(match.group(1)) if match else None


