"""Access receipts and the Merkle leaf encodings the notary batches.

A `Receipt` is written by the gateway for every access decision. Its leaf
(`RECEIPT_LEAF_ENCODING`, `Receipt.leaf_values`) is what gets anchored; the
free-text fields (receipt id, purpose) enter the leaf as keccak256 of their
UTF-8 bytes so every leaf is fixed-size. Asset registrations in bulk use
`ASSET_LEAF_ENCODING` (content hash, size).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from eth_utils import is_checksum_address, to_checksum_address

from notary._keccak import keccak256
from notary.abi import is_address, is_bytes32
from notary.errors import ReceiptInvalid

RECEIPT_LEAF_ENCODING: tuple[str, ...] = (
    "bytes32",  # keccak256(receipt_id)
    "bytes32",  # grant_id
    "bytes32",  # asset_id
    "address",  # consumer
    "bytes32",  # keccak256(purpose)
    "uint8",  # decision: 1 allow, 0 deny
    "uint64",  # byte_count
    "uint64",  # timestamp (unix seconds)
    "bytes32",  # content_hash (SHA-256 of the bytes served)
)
"""ABI types of a receipt leaf, in `Receipt.leaf_values` order."""

ASSET_LEAF_ENCODING: tuple[str, ...] = ("bytes32", "uint64")
"""ABI types of an asset leaf: (SHA-256 content hash, size in bytes)."""

DECISIONS = ("allow", "deny")
_UINT64_MAX = 2**64 - 1


def text_hash(text: str) -> str:
    """Return keccak256 of the UTF-8 bytes of `text`, as 0x hex."""
    return "0x" + keccak256(text.encode("utf-8")).hex()


def asset_leaf_values(content_hash: str, size: int) -> list[Any]:
    """Return the leaf value of one asset for `ASSET_LEAF_ENCODING`."""
    return [_bytes32(content_hash, "content_hash", ReceiptInvalid), _uint64(size, "size")]


@dataclass(frozen=True)
class Receipt:
    """One access decision by a gateway; validated and normalized on creation."""

    receipt_id: str
    grant_id: str
    asset_id: str
    consumer: str
    purpose: str
    decision: str
    byte_count: int
    timestamp: int
    content_hash: str

    def __post_init__(self) -> None:
        """Validate every field; lowercase hex, checksum the consumer."""
        for name in ("receipt_id", "purpose"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ReceiptInvalid(f"{name} must be a non-empty string, got {value!r:.80}")
        for name in ("grant_id", "asset_id", "content_hash"):
            object.__setattr__(self, name, _bytes32(getattr(self, name), name, ReceiptInvalid))
        object.__setattr__(self, "consumer", _address(self.consumer))
        if self.decision not in DECISIONS:
            raise ReceiptInvalid(f"decision must be 'allow' or 'deny', got {self.decision!r:.80}")
        _uint64(self.byte_count, "byte_count")
        _uint64(self.timestamp, "timestamp")

    def leaf_values(self) -> list[Any]:
        """Return the leaf value for `RECEIPT_LEAF_ENCODING`."""
        return [
            text_hash(self.receipt_id),
            self.grant_id,
            self.asset_id,
            self.consumer,
            text_hash(self.purpose),
            1 if self.decision == "allow" else 0,
            self.byte_count,
            self.timestamp,
            self.content_hash,
        ]

    def to_dict(self) -> dict[str, Any]:
        """Return the receipt as a JSON-ready dict."""
        return asdict(self)

    def to_json(self) -> str:
        """Return the receipt as a compact JSON object with sorted keys."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Any) -> Receipt:
        """Build a receipt from a dict with exactly the receipt fields; raise ReceiptInvalid."""
        if not isinstance(data, dict):
            raise ReceiptInvalid(f"receipt must be a JSON object, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        if missing := sorted(names - data.keys()):
            raise ReceiptInvalid(f"receipt is missing field(s): {', '.join(missing)}")
        if extra := sorted(data.keys() - names):
            raise ReceiptInvalid(f"receipt has unknown field(s): {', '.join(extra)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str | bytes) -> Receipt:
        """Parse a receipt from JSON text; raise ReceiptInvalid with the reason."""
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise ReceiptInvalid(f"receipt is not valid JSON: {exc}") from exc
        return cls.from_dict(data)


def _bytes32(value: Any, name: str, error: type[Exception]) -> str:
    if not is_bytes32(value):
        raise error(f"{name} must be 0x followed by 64 hex digits, got {value!r:.80}")
    return value.lower()


def _address(value: Any) -> str:
    if not is_address(value):
        raise ReceiptInvalid(f"consumer must be a 0x-prefixed 20-byte address, got {value!r:.80}")
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        raise ReceiptInvalid(f"consumer {value} has a bad EIP-55 checksum")
    return to_checksum_address(value)


def _uint64(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _UINT64_MAX:
        raise ReceiptInvalid(f"{name} must be an integer in [0, 2**64-1], got {value!r:.80}")
    return value
