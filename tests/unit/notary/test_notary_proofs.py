"""Proof documents: sealing, offline verification, strict parsing."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from notary.errors import NotaryError, ProofInvalid, ProofMalformed
from notary.proofs import Batch, ProofDocument, seal, seal_assets, verify_offline
from notary.receipts import RECEIPT_LEAF_ENCODING, Receipt

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
TX = "0x" + "ef" * 32


def make_receipts(count: int) -> list[Receipt]:
    return [
        Receipt(
            receipt_id=f"rcpt-{i}",
            grant_id="0x" + f"{i:064x}",
            asset_id="0x" + "22" * 32,
            consumer="0x" + f"{i + 1:040x}",
            purpose="research",
            decision="allow" if i % 3 else "deny",
            byte_count=i * 1000,
            timestamp=1_700_000_000 + i,
            content_hash="0x" + "ab" * 32,
        )
        for i in range(count)
    ]


@pytest.fixture
def batch() -> Batch:
    return seal(make_receipts(7), chain_id=31337, contract=REGISTRY)


def anchored_dict(batch: Batch) -> dict[str, Any]:
    doc = batch.proofs["rcpt-3"].anchored(
        chain_id=31337, contract=REGISTRY, anchor_tx=TX, anchor_block=12
    )
    return doc.to_dict()


def test_every_sealed_proof_verifies(batch: Batch) -> None:
    tree, root, proofs = batch
    assert root == tree.root and len(proofs) == 7
    for doc in proofs.values():
        assert doc.state == "accepted" and doc.root == root
        verify_offline(doc)


def test_sealed_proof_verifies_in_javascript(oz, batch: Batch) -> None:
    doc = batch.proofs["rcpt-5"]
    reply = oz(
        op="verify", root=doc.root, encoding=list(doc.leaf_encoding),
        value=list(doc.values), proof=list(doc.proof),
    )
    assert reply["ok"]


def test_json_round_trip_accepted_and_anchored(batch: Batch) -> None:
    doc = batch.proofs["rcpt-1"]
    assert ProofDocument.from_json(doc.to_json()) == doc
    anchored = ProofDocument.from_dict(anchored_dict(batch))
    assert anchored.state == "anchored" and anchored.anchor_block == 12
    assert ProofDocument.from_json(anchored.to_json()) == anchored
    verify_offline(anchored)


def test_asset_batch(oz) -> None:
    items = [("0x" + f"{i:064x}", i * 10) for i in range(1, 4)]
    batch = seal_assets(items)
    doc = batch.proofs[items[1][0]]
    assert doc.kind == "asset"
    verify_offline(ProofDocument.from_json(doc.to_json()))


def test_duplicate_receipt_ids_are_refused() -> None:
    receipts = make_receipts(2)
    with pytest.raises(NotaryError, match="duplicate"):
        seal([receipts[0], receipts[1], receipts[0]])


def test_values_not_matching_leaf_are_invalid(batch: Batch) -> None:
    doc = batch.proofs["rcpt-2"]
    values = list(doc.values)
    values[6] = str(int(values[6]) + 1)  # byte_count inflated
    with pytest.raises(ProofInvalid, match="not the hash of the values"):
        verify_offline(replace(doc, values=tuple(values)))


def test_forged_proof_and_wrong_root_are_invalid(batch: Batch) -> None:
    doc = batch.proofs["rcpt-2"]
    forged = replace(doc, proof=doc.proof[:-1] + ("0x" + "00" * 32,))
    with pytest.raises(ProofInvalid, match="not to root"):
        verify_offline(forged)
    with pytest.raises(ProofInvalid, match="not to root"):
        verify_offline(replace(doc, root="0x" + "11" * 32))
    other = batch.proofs["rcpt-4"]
    with pytest.raises(ProofInvalid):
        verify_offline(replace(doc, leaf=other.leaf, values=other.values))


def _mutate(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    data = dict(data)
    if value is KeyError:
        del data[key]
    else:
        data[key] = value
    return data


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("root", KeyError, "missing field.*root"),
        ("extra", 1, "unknown field.*extra"),
        ("format", "tds-proof-v2", "format must be"),
        ("kind", "grant", "kind must be"),
        ("state", "pending", "state must be"),
        ("root", "0x1234", "root must be 0x followed by 64"),
        ("leaf", "0x" + "gg" * 32, "leaf must be 0x"),
        ("proof", ["0x" + "00" * 31], r"proof\[0\]"),
        ("proof", "0x00", "proof must be list"),
        ("leaf_encoding", ["bytes32"], "leaf_encoding for kind"),
        ("values", ["0x00"], "values:"),
        ("chain_id", "31337", "chain_id must be int or null"),
        ("chain_id", True, "chain_id must be int"),
        ("chain_id", 0, "positive"),
        ("contract", "0x1234", "contract must be a 20-byte"),
        ("contract", "0x" + "aB" * 20, "checksum"),
        ("anchor_tx", None, "anchored proof needs"),
        ("anchor_tx", "0x12", "anchor_tx must be 0x"),
        ("anchor_block", -1, "non-negative"),
    ],
)
def test_malformed_documents_are_rejected(batch: Batch, key: str, value: Any, match: str) -> None:
    with pytest.raises(ProofMalformed, match=match):
        ProofDocument.from_json(json.dumps(_mutate(anchored_dict(batch), key, value)))


def test_accepted_document_with_anchor_fields_is_rejected(batch: Batch) -> None:
    data = _mutate(anchored_dict(batch), "state", "accepted")
    with pytest.raises(ProofMalformed, match="accepted proof must have null"):
        ProofDocument.from_dict(data)


@pytest.mark.parametrize("text", ["", "{", '{"format": "tds-proof-v1"', "[1, 2]", "null"])
def test_truncated_or_non_object_json_is_rejected(text: str) -> None:
    with pytest.raises(ProofMalformed, match="not valid JSON|must be a JSON object"):
        ProofDocument.from_json(text)


def test_truncated_real_document_is_rejected(batch: Batch) -> None:
    text = batch.proofs["rcpt-0"].to_json()
    with pytest.raises(ProofMalformed, match="not valid JSON"):
        ProofDocument.from_json(text[: len(text) // 2])


def test_encoding_constant_matches_kind(batch: Batch) -> None:
    assert batch.proofs["rcpt-0"].leaf_encoding == RECEIPT_LEAF_ENCODING


PROVIDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
NOTARY_KEY = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_anchored_documents_name_anchorer_and_provider_with_dids(batch: Batch) -> None:
    doc = batch.proofs["rcpt-3"].anchored(chain_id=31337, contract=REGISTRY, anchor_tx=TX, anchor_block=12,
                                          anchorer=NOTARY_KEY.lower(), provider=PROVIDER)
    data = doc.to_dict()
    assert data["anchorer"] == NOTARY_KEY and data["anchorer_did"] == f"did:pkh:eip155:31337:{NOTARY_KEY}"
    assert data["provider"] == PROVIDER and data["provider_did"] == f"did:pkh:eip155:31337:{PROVIDER}"
    assert ProofDocument.from_dict(data) == doc


def test_documents_without_the_party_fields_still_parse(batch: Batch) -> None:
    old = {k: v for k, v in anchored_dict(batch).items()
           if k not in ("anchorer", "anchorer_did", "provider", "provider_did")}
    doc = ProofDocument.from_dict(old)
    assert doc.anchorer is None and doc.provider is None and doc.provider_did is None


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("anchorer", "0x12", "anchorer must be a 20-byte 0x address"),
    ("anchorer_did", f"did:pkh:eip155:1:{PROVIDER}", "anchorer_did"),
    ("provider", PROVIDER.replace("7", "8").replace("C", "c", 1), "checksum"),
])
def test_a_bad_party_field_is_malformed(batch: Batch, field: str, value: str, reason: str) -> None:
    data = {**anchored_dict(batch), "anchorer": PROVIDER, "provider": PROVIDER, field: value}
    with pytest.raises(ProofMalformed, match=reason):
        ProofDocument.from_dict(data)
