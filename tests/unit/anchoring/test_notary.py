"""The notary's database side without a chain: receipts from access records, sealing, proofs, lease."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from anchoring.errors import ReceiptNotFound, ReceiptNotSealed
from anchoring.journal import journal_path, read_journal
from anchoring.ledger import ZERO32, ZERO_ADDRESS, access_id_of, receipt_id_of, split_receipt_id
from anchoring.notary import Notary, holder_id
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
    return Notary(db.engine, None, chain_id=31337, contract=CONTRACT, batch_size=3)


def rid(db: Database, n: int) -> str:
    return receipt_id_of(n, db.ledger_id)


def allow(db: Database, n: int = 1) -> None:
    for _ in range(n):
        db.record_access(decision="allow", code="ok", consumer=CONSUMER, asset_id=ASSET, grant_id=GRANT, purpose="research",
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
    doc = notary.proof(rid(db, 5))
    assert doc.state == "accepted" and doc.root == sealed[1].root and doc.anchor_tx is None
    verify_offline(doc)
    fresh = Notary(db.engine, None, chain_id=31337, contract=CONTRACT)  # rebuilt from the frozen receipts
    assert fresh.proof(rid(db, 5)) == doc
    lines = list(fresh.export())
    assert len(lines) == 7 and all(entry["proof"]["state"] == "accepted" for entry in lines)


def test_unknown_and_pending(db: Database, notary: Notary) -> None:
    allow(db)
    with pytest.raises(ReceiptNotSealed):
        notary.proof(rid(db, 1))
    with pytest.raises(ReceiptNotFound):
        notary.proof(rid(db, 2))
    with pytest.raises(ReceiptNotFound):  # another database's receipt 1 is not this one's
        notary.proof(receipt_id_of(1, "0badc0de" if db.ledger_id != "0badc0de" else "0badc0df"))
    ledger = db.ledger_id
    upper = f"rcpt-{ledger.upper()}-1" if ledger.upper() != ledger else "rcpt-ABCDEF01-1"  # all-digit ids: ~2% of ledgers
    for bad in ("rcpt-1", f"rcpt-{ledger}-0", f"rcpt-{ledger}-x", "1", f"rcpt-{ledger}-01", upper,
                f"rcpt-{ledger}-9999999999999999999", f"rcpt-{ledger}-1\n"):
        with pytest.raises(ReceiptNotFound):
            access_id_of(bad)
    assert split_receipt_id(rid(db, 42)) == (ledger, 42) and access_id_of(rid(db, 42), db.ledger) == 42


def test_ledger_ids_differ_between_databases(tmp_path: Path) -> None:
    a = Database.connect(f"sqlite:///{tmp_path / 'a.db'}")
    b = Database.connect(f"sqlite:///{tmp_path / 'b.db'}")
    assert a.ledger_id != b.ledger_id and len(a.ledger_id) == 8
    assert Database.connect(f"sqlite:///{tmp_path / 'a.db'}").ledger_id == a.ledger_id  # kept by the database


def test_database_files_are_private(tmp_path: Path) -> None:
    db = Database.connect(f"sqlite:///{tmp_path / 'gw' / 'gateway.db'}")
    allow(db)
    files = sorted(p.name for p in (tmp_path / "gw").iterdir())
    assert files == ["gateway.db", "gateway.db-shm", "gateway.db-wal"]
    assert {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "gw").iterdir()} == dict.fromkeys(files, 0o600)
    loose = tmp_path / "old.db"
    loose.touch(mode=0o644)
    loose.chmod(0o644)
    Database.connect(f"sqlite:///{loose}")
    assert loose.stat().st_mode & 0o777 == 0o600  # an existing file is tightened


def test_sealed_batches_are_journaled_outside_the_database(db: Database, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    notary = Notary(db.engine, None, chain_id=31337, contract=CONTRACT,
                    batch_size=3, journal_dir=journal)
    allow(db, 4)
    sealed = notary.seal_all()
    assert sorted(p.name for p in journal.iterdir()) == sorted(f"{b.root}.jsonl" for b in sealed)
    assert journal.stat().st_mode & 0o777 == 0o700
    path = journal_path(journal, sealed[0].root)
    assert path.stat().st_mode & 0o777 == 0o600
    head, receipts = read_journal(path)
    assert head["root"] == sealed[0].root and head["leaf_count"] == 3 and head["ledger"] == db.ledger_id
    assert [r.receipt_id for r in receipts] == [rid(db, n) for n in (1, 2, 3)]


def test_streaming_delivery_is_sealed_once_final_or_after_the_grace(db: Database) -> None:
    notary = Notary(db.engine, None, chain_id=31337, contract=CONTRACT,
                    delivery_grace_s=3600)
    access = {"decision": "allow", "code": "ok", "consumer": CONSUMER, "asset_id": ASSET, "grant_id": GRANT,
              "purpose": "research", "bytes": 0, "requested": 1000, "streaming": True, "checkpoint_at": time.time(),
              "content_hash": ASSET}
    access_id = db.consume(GRANT, 5, access)
    assert access_id and notary.pending()[0] == 0 and notary.seal_all() == []  # still streaming
    db.checkpoint_delivery(access_id, 400)
    assert notary.seal_all() == []
    db.finish_delivery(access_id, 700)
    (batch,) = notary.seal_all()
    assert notary.status(rid(db, access_id)).receipt.byte_count == 700
    other = db.consume(GRANT, 5, {**access, "checkpoint_at": time.time() - 7200})  # its gateway died long ago
    assert other is not None
    (late,) = notary.seal_all()
    assert late.leaf_count == 1 and notary.status(rid(db, other)).receipt.byte_count == 0
    db.finish_delivery(access_id, 1000)  # an already final record is not rewritten
    assert db.accesses(id=access_id)[0].bytes == 700


def test_a_dead_holders_lease_is_taken_over_at_once(notary: Notary) -> None:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: its pid names no process now
    host, _pid, rand = holder_id().split("/")
    dead = f"{host}/{proc.pid}/{rand}"
    assert notary.lease(dead, 30)
    alive = holder_id()
    assert notary.lease(alive, 30)  # at once, not 30 s later
    assert not notary.lease(dead, 30) and not notary.lease(holder_id(), 30)  # a live holder keeps it
    notary.release(alive)
    assert notary.lease(f"otherhost/{proc.pid}/{rand}", 30)
    assert not notary.lease(alive, 30)  # another host's process: its pid says nothing here


def test_lease_is_exclusive_until_released(notary: Notary) -> None:
    assert notary.lease("a", 30) and notary.lease("a", 30)
    assert not notary.lease("b", 30)
    notary.release("a")
    assert notary.lease("b", 30)


def test_restart_backoff_grows_while_dying_young_and_resets_after_a_healthy_run() -> None:
    from anchoring.process import Backoff

    backoff = Backoff(delays=(1.0, 2.0, 5.0), healthy_s=60)
    assert [backoff.after_exit(0.5) for _ in range(4)] == [1.0, 2.0, 5.0, 5.0]
    assert backoff.after_exit(3600) == 1.0  # it ran an hour: a fresh start
    assert backoff.after_exit(1) == 2.0
