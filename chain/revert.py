"""Decode revert data by selector into :class:`chain.errors.ContractRevert` subclasses."""

from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector

from chain.errors import ContractRevert, TransactionFailed, revert_class

_BUILTIN = {
    bytes.fromhex("08c379a0"): ("Error", ["string"], ["message"]),
    bytes.fromhex("4e487b71"): ("Panic", ["uint256"], ["code"]),
}


def _canonical_type(entry: dict[str, Any]) -> str:
    kind = str(entry["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_canonical_type(c) for c in entry["components"]) + ")" + kind[5:]
    return kind


class RevertDecoder:
    """Maps 4-byte selectors of every custom error in a set of ABIs to their names and types."""

    def __init__(self, abi_entries: list[dict[str, Any]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = dict(_BUILTIN)
        for entry in abi_entries:
            if entry.get("type") != "error":
                continue
            types = [_canonical_type(i) for i in entry["inputs"]]
            names = [i["name"] or f"arg{n}" for n, i in enumerate(entry["inputs"])]
            selector = function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})")
            self._errors[selector] = (entry["name"], types, names)

    def decode(self, data: bytes | str | None) -> ContractRevert | TransactionFailed:
        """The exception for raw revert data (hex or bytes)."""
        raw = _to_bytes(data)
        if len(raw) < 4 or raw[:4] not in self._errors:
            return TransactionFailed(f"reverted without a known error (data 0x{raw.hex()})")
        name, types, names = self._errors[raw[:4]]
        values = abi_decode(types, raw[4:])
        args = dict(zip(names, (_plain(v) for v in values)))
        return revert_class(name)(name, args)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def _to_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    text = data[2:] if data.startswith("0x") else data
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""
