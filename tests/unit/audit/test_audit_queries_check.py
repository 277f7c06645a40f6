"""Queries, check, report, API and receipts file on a synthetic index (no chain)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from audit.api import audit_router
from audit.check import run_check
from audit.db import IndexDb
from audit.errors import InputInvalid, NotIndexed
from audit.indexer import Indexer
from audit.queries import asset_history, grant_history, participant_history
from audit.receipts import ReceiptEntry, dump_receipts, load_receipts
from audit.report import render_html, report_data
from notary.proofs import seal
from notary.receipts import Receipt
from tests.unit.audit.conftest import (
    CLEAN, CONSUMER, G1, G2, MODEL, OWNER2, PROVIDER, RAW, RAW2, SyntheticChain, anchor, small_space,
)


@pytest.fixture
def indexed(indexer: Indexer, chain: SyntheticChain, db: IndexDb) -> IndexDb:
    small_space(chain)
    indexer.run_once()
    return db


def _receipt(rid: str, ts: int, grant: str = G1, asset: str = CLEAN, consumer: str = CONSUMER) -> Receipt:
    return Receipt(rid, grant, asset, consumer, "research", "allow", 10, ts, "0x" + "cd" * 32)


def _anchored(chain: SyntheticChain, indexer: Indexer, receipts: list[Receipt]) -> list[ReceiptEntry]:
    batch = seal(receipts, chain_id=31337, contract="0x" + "55" * 20)
    anchor(chain, batch.root, len(receipts))
    indexer.run_once()
    return [ReceiptEntry(r, batch.proofs[r.receipt_id]) for r in receipts]


def test_asset_history_lineage_versions_grants(indexed: IndexDb) -> None:
    with indexed.session() as s:
        h = asset_history(s, CLEAN)
        raw = asset_history(s, RAW)
        model = asset_history(s, MODEL)
    assert h.parents == (RAW,) and h.children == (MODEL,)
    assert h.asset.owners == (PROVIDER, OWNER2) and h.asset.shares_bps == (7000, 3000)
    assert [g.grant_id for g in h.grants] == [G1, G2] and h.grants[1].revoked is not None
    assert h.grants[0].settled_count == 2 and h.grants[0].nonce == 2**200 and h.grants[0].anchored_accesses is None
    assert [(p.owner, p.amount, p.depth) for p in h.settlements[0].payments] == [(OWNER2, 2, 0), (PROVIDER, 7, 0),
                                                                                  (PROVIDER, 1, 1)]
    assert h.policies[0].jurisdictions == ("DE",) and h.policies[0].price_model == "prepaid"
    assert h.grants[0].policy_epoch == 1 and h.grants[0].acceptance is not None
    assert [e.child for e in raw.descendants] == [CLEAN, MODEL]
    assert [e.parent for e in model.ancestors] == [CLEAN, RAW]
    assert [v.asset_id for v in raw.versions] == [RAW, RAW2]
    assert h.timeline[0].kind == "registered" and h.to_json()["grants"][0]["grant_id"] == G1


def test_participant_and_grant_history(indexed: IndexDb, chain: SyntheticChain) -> None:
    with indexed.session() as s:
        p = participant_history(s, CONSUMER.upper().replace("0X", "0x"))
        g = grant_history(s, G2)
        with pytest.raises(NotIndexed):
            asset_history(s, "0x" + "00" * 32)
        with pytest.raises(InputInvalid):
            participant_history(s, "0x12")
    assert p.roles == ("consumer",) and p.status == "active" and len(p.grants_as_consumer) == 2
    assert g.state_at_head == "revoked" and g.grant.consumer == CONSUMER


def test_check_clean_and_every_finding(indexed: IndexDb, chain: SyntheticChain, indexer: Indexer) -> None:
    issued = chain.timestamp(chain.head()) + 1
    good = _anchored(chain, indexer, [_receipt("a", issued), _receipt("b", issued + 1)])
    with indexed.session() as s:
        report = run_check(s, good)
        assert report.ok, [f.line() for f in report.findings]
        assert asset_history(s, CLEAN, good).grants[0].anchored_accesses == 2
        revoked_at = grant_history(s, G2).grant.revoked.at.timestamp  # type: ignore[union-attr]
        bad = [
            good[0],
            ReceiptEntry(replace(good[1].receipt, byte_count=11), good[1].proof),  # altered after anchoring
            ReceiptEntry(_receipt("late", revoked_at, grant=G2), None),
            ReceiptEntry(_receipt("early", 5), None),
            ReceiptEntry(_receipt("c", issued + 2), None),
            ReceiptEntry(_receipt("d", issued + 3), None),
            ReceiptEntry(_receipt("other", issued, consumer=OWNER2), None),
            ReceiptEntry(_receipt("ghost", issued, grant="0x" + "77" * 32), None),
        ]
        codes = {f.code for f in run_check(s, bad, file_check=lambda a: a != RAW).findings if f.severity == "error"}
    assert codes == {"receipt_proof_invalid", "root_mismatch", "grant_revoked", "grant_not_issued_yet",
                     "grant_overused", "grant_mismatch", "access_without_grant", "file_tampered"}


def test_receipts_file_roundtrip_and_bad_lines(tmp_path: Path, indexed: IndexDb) -> None:
    entries = [ReceiptEntry(_receipt("a", 1), None)]
    path = tmp_path / "r.jsonl"
    dump_receipts(entries, path)
    assert load_receipts(path) == entries
    path.write_text('{"receipt": {"receipt_id": "x"}}\n')
    with pytest.raises(InputInvalid, match="r.jsonl:1"):
        load_receipts(path)
    path.write_text("{truncated\n")
    with pytest.raises(InputInvalid, match="not valid JSON"):
        load_receipts(path)


def test_report_is_self_contained(indexed: IndexDb) -> None:
    with indexed.session() as s:
        page = render_html(s, CLEAN, chain_id=31337)
        data = report_data(s, CLEAN)
    assert page.startswith("<!doctype html>") and "<svg" in page and "<link" not in page and "<script" not in page
    assert G1[:10] in page and "revoked" in page
    assert data["history"]["asset"]["asset_id"] == CLEAN


def test_api_router(indexed: IndexDb) -> None:
    app = FastAPI()
    app.include_router(audit_router(indexed.session))
    client = TestClient(app)
    assert client.get(f"/audit/assets/{CLEAN}").json()["parents"] == [RAW]
    assert client.get(f"/audit/grants/{G2}").json()["state_at_head"] == "revoked"
    assert client.get(f"/audit/participants/{CONSUMER}").json()["roles"] == ["consumer"]
    assert client.get(f"/audit/grants/{'0x' + '01' * 32}").status_code == 404
    assert client.get("/audit/grants/nope").status_code == 422
