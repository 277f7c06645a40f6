"""The notary's database side without a chain: receipts from access records, sealing, proofs, lease."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.anchoring import (
    ZERO32,
    ZERO_ADDRESS,
    Notary,
    ReceiptNotFound,
    ReceiptNotSealed,
    access_id_of,
)
from gateway.db import Database
from notary.proofs import verify_offline

GRANT = "0x" + "ab" * 32
ASSET = "0x" + "cd" * 32
CONSUMER = "0x" + "12" * 20
CONTRACT = "0x" + "34" * 20


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database.connect(f"sqlite:///{tmp_path / 'gw.db'}")


@pytest.fixture
def notary(db: Database) -> Notary:
    return Notary(db.engine, None, chain_id=31337, contract=CONTRACT, purpose_of=lambda g: "research", batch_size=3)


def allow(db: Database, n: int = 1) -> None:
    for _ in range(n):
        db.record_access(decision="allow", code="ok", consumer=CONSUMER, asset_id=ASSET, grant_id=GRANT, purpose="",
                         bytes=10, content_hash=ASSET)


def test_receipts_from_allow_and_bare_deny(db: Database, notary: Notary) -> None:
    allow(db)
    db.record_access(decision="deny", code="signature_missing", purpose="")
    a, d = notary.receipts()
    assert a.state == "pending" and a.receipt.purpose == "research" and a.receipt.grant_id == GRANT
    assert d.receipt.decision == "deny" and d.receipt.purpose == "unspecified"
    assert (d.receipt.consumer, d.receipt.grant_id, d.receipt.content_hash) == (ZERO_ADDRESS, ZERO32, ZERO32)
    assert notary.pending()[0] == 2


def test_seal_in_batches_and_accepted_proofs(db: Database, notary: Notary) -> None:
    allow(db, 7)
    sealed = notary.seal_all()
    assert [b.leaf_count for b in sealed] == [3, 3, 1]
    assert notary.pending() == (0, None)
    doc = notary.proof("rcpt-5")
    assert doc.state == "accepted" and doc.root == sealed[1].root and doc.anchor_tx is None
    verify_offline(doc)
    fresh = Notary(db.engine, None, chain_id=31337, contract=CONTRACT)  # rebuilt from the frozen receipts
    assert fresh.proof("rcpt-5") == doc
    lines = list(fresh.export())
    assert len(lines) == 7 and all(entry["proof"]["state"] == "accepted" for entry in lines)


def test_unknown_and_pending(db: Database, notary: Notary) -> None:
    allow(db)
    with pytest.raises(ReceiptNotSealed):
        notary.proof("rcpt-1")
    with pytest.raises(ReceiptNotFound):
        notary.proof("rcpt-2")
    for bad in ("rcpt-0", "rcpt-x", "1", "rcpt-01"):
        with pytest.raises(ReceiptNotFound):
            access_id_of(bad)


def test_lease_is_exclusive_until_released(notary: Notary) -> None:
    assert notary.lease("a", 30) and notary.lease("a", 30)
    assert not notary.lease("b", 30)
    notary.release("a")
    assert notary.lease("b", 30)
