"""The one parser of ids, addresses and signatures (``0x`` + hex of a fixed length).

Every package checks bytes32 ids (assets, grants, requests, roots, gateways), addresses and
signatures through these functions or their ``*_PATTERN`` strings (for pydantic / OpenAPI), so a
malformed value gets one error, :class:`domain.errors.InvalidId`, with one message shape. Hex digits
may be upper or mixed case; results are lower-case. Nothing else is accepted, which also rules out
path tricks where an id becomes part of a file name.
"""

from __future__ import annotations

import re
from typing import Final

from domain.errors import InvalidId

__all__ = [
    "ADDRESS_PATTERN",
    "BYTES32_PATTERN",
    "SIGNATURE_PATTERN",
    "InvalidId",
    "is_address",
    "is_bytes32",
    "is_signature",
    "parse_address",
    "parse_bytes32",
    "parse_signature",
]

BYTES32_PATTERN: Final = "^0x[0-9a-fA-F]{64}$"
ADDRESS_PATTERN: Final = "^0x[0-9a-fA-F]{40}$"
SIGNATURE_PATTERN: Final = "^0x[0-9a-fA-F]{130}$"

_BYTES32 = re.compile(r"0x[0-9a-fA-F]{64}", re.ASCII)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}", re.ASCII)
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}", re.ASCII)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_bytes32(value: object) -> bool:
    """True for ``0x`` + 64 hex digits."""
    return isinstance(value, str) and _BYTES32.fullmatch(value) is not None


def is_address(value: object) -> bool:
    """True for ``0x`` + 40 hex digits (any case; no checksum check)."""
    return isinstance(value, str) and _ADDRESS.fullmatch(value) is not None


def is_signature(value: object) -> bool:
    """True for ``0x`` + 130 hex digits (r, s, v)."""
    return isinstance(value, str) and _SIGNATURE.fullmatch(value) is not None


def parse_bytes32(value: object, what: str = "id") -> str:
    """``value`` as ``0x`` + 64 lower-case hex digits, or :class:`InvalidId` naming ``what``."""
    if not is_bytes32(value):
        raise InvalidId(f"invalid {what} {_shown(value)}: expected '0x' + 64 hex digits", value)
    return value.lower()  # type: ignore[union-attr]


def parse_address(value: object, what: str = "address") -> str:
    """``value`` as ``0x`` + 40 lower-case hex digits, or :class:`InvalidId` naming ``what``."""
    if not is_address(value):
        raise InvalidId(f"invalid {what} {_shown(value)}: expected '0x' + 40 hex digits", value)
    return value.lower()  # type: ignore[union-attr]


def parse_signature(value: object, what: str = "signature") -> str:
    """``value`` as ``0x`` + 130 lower-case hex digits, or :class:`InvalidId` naming ``what``."""
    if not is_signature(value):
        raise InvalidId(f"invalid {what} {_shown(value)}: expected '0x' + 130 hex digits", value)
    return value.lower()  # type: ignore[union-attr]
