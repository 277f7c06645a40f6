"""Receipt validation, JSON round trip and leaf values."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from eth_hash.auto import keccak

from notary.errors import ReceiptInvalid
from notary.merkle import StandardMerkleTree
from notary.receipts import (
    ASSET_LEAF_ENCODING,
    RECEIPT_LEAF_ENCODING,
    Receipt,
    asset_leaf_values,
)

CONSUMER = "0x52908400098527886E0F7030069857D2E4169EE7"


def receipt_fields(**overrides: Any) -> dict[str, Any]:
    fields = {
        "receipt_id": "rcpt-1",
        "grant_id": "0x" + "11" * 32,
        "asset_id": "0x" + "22" * 32,
        "consumer": CONSUMER,
        "purpose": "research",
        "decision": "allow",
        "byte_count": 1024,
        "timestamp": 1_700_000_000,
        "content_hash": "0x" + "AB" * 32,
    }
    fields.update(overrides)
    return fields


def test_json_round_trip_normalizes() -> None:
    receipt = Receipt.from_json(json.dumps(receipt_fields(consumer=CONSUMER.lower())))
    assert receipt.consumer == CONSUMER
    assert receipt.content_hash == "0x" + "ab" * 32
    assert Receipt.from_json(receipt.to_json()) == receipt


def test_leaf_values_fit_the_encoding() -> None:
    receipt = Receipt(**receipt_fields(decision="deny"))
    values = receipt.leaf_values()
    assert values[0] == "0x" + keccak(b"rcpt-1").hex()
    assert values[4] == "0x" + keccak(b"research").hex()
    assert values[5] == 0
    tree = StandardMerkleTree.of([values], RECEIPT_LEAF_ENCODING)
    assert StandardMerkleTree.verify(tree.root, RECEIPT_LEAF_ENCODING, values, [])


def test_asset_leaf_values() -> None:
    values = asset_leaf_values("0x" + "CD" * 32, 42)
    assert values == ["0x" + "cd" * 32, 42]
    StandardMerkleTree.of([values], ASSET_LEAF_ENCODING)


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"receipt_id": ""}, "receipt_id"),
        ({"purpose": 3}, "purpose"),
        ({"grant_id": "0x1234"}, "grant_id"),
        ({"asset_id": None}, "asset_id"),
        ({"consumer": "0x" + "aB" * 20}, "checksum"),
        ({"consumer": "alice"}, "consumer"),
        ({"decision": "maybe"}, "decision"),
        ({"byte_count": -1}, "byte_count"),
        ({"timestamp": 2**64}, "timestamp"),
        ({"timestamp": True}, "timestamp"),
    ],
)
def test_bad_fields_are_rejected(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ReceiptInvalid, match=match):
        Receipt.from_json(json.dumps(receipt_fields(**overrides)))


def test_missing_extra_and_truncated_json_are_rejected() -> None:
    fields = receipt_fields()
    del fields["purpose"]
    with pytest.raises(ReceiptInvalid, match="missing field.*purpose"):
        Receipt.from_dict(fields)
    with pytest.raises(ReceiptInvalid, match="unknown field.*color"):
        Receipt.from_dict(receipt_fields(color="red"))
    with pytest.raises(ReceiptInvalid, match="not valid JSON"):
        Receipt.from_json(json.dumps(receipt_fields())[:-5])


def test_receipt_is_frozen() -> None:
    receipt = Receipt(**receipt_fields())
    with pytest.raises(AttributeError):
        receipt.decision = "deny"  # type: ignore[misc]
    assert replace(receipt, byte_count=1).byte_count == 1
