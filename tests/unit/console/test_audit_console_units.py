"""The operator's and auditor's console without a chain: event sentences, finding words, freshness, trusted titles,
the pages over a synthetic index (every page in both languages, fail-closed banners, 404s)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

import audit.check
from audit.db import EventRow, IndexDb
from audit.indexer import Indexer
from console.audit_data import ChainWatch, Freshness, Titles
from console.audit_pages import AuditConsole, create_app
from console.audit_serve import NotLoopback, check_loopback
from console.audit_words import EVENTS, FINDINGS, Ref, args_of, event_sentence, finding_words
from tests.unit.audit import test_audit_money as money
from tests.unit.audit.conftest import CLEAN, PROVIDER, Source, SyntheticChain, h32, small_space

OTHERS = {  # events the synthetic spaces do not emit, with the arguments the contracts give them
    "NotaryRegistered": {"notary": "0x" + "55" * 20, "provider": PROVIDER},
    "NotaryRevoked": {"notary": "0x" + "55" * 20, "provider": PROVIDER},
    "Withdrawn": {"account": PROVIDER, "amount": 7, "earnings": True},
    "SettlementDeferred": {"grantId": h32("g"), "periodEnd": 5},
    "Dispute": {"_arbitrator": "0x" + "66" * 20, "_disputeID": 3, "_metaEvidenceID": 0, "_evidenceGroupID": 3},
    "Ruling": {"_arbitrator": "0x" + "66" * 20, "_disputeID": 3, "_ruling": 2},
    "ArbitratorSet": {"arbitrator": "0x" + "66" * 20},
    "SettlementBound": {"settlement": "0x" + "77" * 20},
    "AlgorithmApproved": {"assetId": CLEAN, "algorithmId": h32("algo"), "provider": PROVIDER},
    "AlgorithmRejected": {"assetId": CLEAN, "algorithmId": h32("algo"), "provider": PROVIDER},
    "PrivacyBudgetSet": {"assetId": CLEAN, "epsilonMicros": 400000, "provider": PROVIDER},
    "AssetDeactivated": {"assetId": CLEAN, "by": PROVIDER},
    "EscrowReleased": {"grantId": h32("g"), "consumer": "0x" + "22" * 20, "amount": 15, "by": PROVIDER},
    "ParticipantSuspended": {"account": PROVIDER, "by": "0x" + "33" * 20},
    "ParticipantReinstated": {"account": PROVIDER, "by": "0x" + "33" * 20},
}


@pytest.fixture(scope="module")
def index() -> IndexDb:
    db, _space, _chain = money._indexed()
    c = SyntheticChain()
    small_space(c)
    for name, args in OTHERS.items():
        c.emit("X", name, **args)
    other = IndexDb.open("sqlite://")
    Indexer(other, Source(c), batch_blocks=4).run_once()
    with other.session() as s:
        rows = list(s.exec(select(EventRow)))
    with db.transaction() as s:  # the money space plus every other event, in one index
        for i, r in enumerate(rows):
            s.add(EventRow(block_number=10_000 + i, tx_hash="0x" + hashlib.sha256(r.tx_hash.encode()).hexdigest(), log_index=r.log_index, timestamp=r.timestamp,
                           block_hash=r.block_hash, contract=r.contract, name=r.name, args=r.args))
    return db


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_event_has_a_sentence_with_every_placeholder_filled(index: IndexDb, lang: str) -> None:
    seen = set()
    with index.session() as s:
        for row in s.exec(select(EventRow)):
            parts = event_sentence(row.name, row.contract, args_of(row.args), lang)
            text = "".join(p if isinstance(p, str) else p.value for p in parts)
            assert "{" not in text and "}" not in text, (row.name, text)
            if row.name in EVENTS:
                seen.add(row.name)
            if lang == "zh" and row.name in EVENTS:
                assert re.search(r"[\u4e00-\u9fff]", text), (row.name, text)
    assert seen == set(EVENTS), set(EVENTS) - seen


def test_a_sentence_names_values_as_refs_in_any_order() -> None:
    parts = event_sentence("AssetRegistered", "AssetRegistry", {"assetId": CLEAN.upper().replace("0X", "0x"),
                                                                 "provider": PROVIDER, "size": 12345}, "zh",
                           title_of={CLEAN: "<b>清洗</b>"}.get)
    refs = [p for p in parts if isinstance(p, Ref)]
    assert refs[0] == Ref("participant", PROVIDER) and refs[1] == Ref("asset", CLEAN, "<b>清洗</b>")
    assert "12,345" in "".join(p for p in parts if isinstance(p, str))
    unknown = event_sentence("Transfer", "SettlementToken", {"from": PROVIDER}, "en")
    assert unknown[0] == "SettlementToken" and Ref("text", "Transfer") in unknown


def test_every_finding_code_of_tds_audit_check_has_a_meaning_and_a_fix() -> None:
    table = set(re.findall(r"^\| (\w+) \| (?:error|warning|info) \|", audit.check.__doc__ or "", re.M))
    assert len(table) > 30
    assert table == set(FINDINGS), (table ^ set(FINDINGS))
    for code in table:
        what, fix = finding_words(code, "zh")
        assert what != FINDINGS[code][0] and fix != FINDINGS[code][1]  # translated
    assert finding_words("no_such_code", "en") == ("—", "—")


def test_freshness_says_behind_and_unreachable() -> None:
    assert Freshness(100, 1, 105, None, 10).ok
    behind = Freshness(100, 1, 111, None, 10)
    assert behind.behind and not behind.ok and behind.lag == 11 and behind.headers()["X-TDS-Index-Fresh"] == "behind"
    cut = Freshness(100, 1, None, "refused", 10)
    assert cut.unreachable and not cut.ok and cut.headers() == {"X-TDS-Index-Block": "100",
                                                                 "X-TDS-Index-Fresh": "no-chain"}
    assert Freshness(None, 0, 3, None, 10).lag == 4
    head, error = ChainWatch("http://127.0.0.1:9", timeout_s=0.5).head()
    assert head is None and error


def test_titles_only_from_a_document_that_hashes_to_the_registered_hash(tmp_path: Path) -> None:
    doc = {"title": "Good", "description": "d"}
    data = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    good = "0x" + hashlib.sha256(data).hexdigest()
    (tmp_path / f"{CLEAN}.json").write_bytes(data)
    titles = Titles(tmp_path, IndexDb.open("sqlite://").session)
    assert titles.document(CLEAN, good) == doc
    assert titles.document(CLEAN, "0x" + "00" * 32) is None  # someone else's document under that name
    assert titles.document("../" + CLEAN, good) is None and titles.document("0x12", good) is None
    missing = h32("written later")
    assert titles.document(missing, good) is None
    (tmp_path / f"{missing}.json").write_bytes(data)
    titles._cache[missing] = (good, None, 0.0)  # the short wait for a missing document is over
    assert titles.document(missing, good) == doc


def test_loopback_only() -> None:
    assert check_loopback("127.0.0.1") and check_loopback("::1") and check_loopback("localhost")
    for host in ("0.0.0.0", "10.0.0.1", "::", "example.org"):
        with pytest.raises(NotLoopback):
            check_loopback(host)


@pytest.fixture(scope="module")
def client(index: IndexDb) -> TestClient:
    console = AuditConsole(index, ChainWatch("http://127.0.0.1:9", timeout_s=0.2), Titles(None, index.session),
                           chain_id=31337)
    return TestClient(create_app(console))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_renders_over_a_synthetic_index_and_says_the_chain_is_unreadable(client: TestClient,
                                                                                    lang: str) -> None:
    for path in ["/console/", "/console/?every=1", "/console/?page=2", "/console/participants",
                 f"/console/participants/{money.P}", "/console/findings", "/console/catalog",
                 f"/console/assets/{money.CLEAN}", f"/console/assets/{money.CLEAN}/report", "/console/operator"]:
        r = client.get(path, params={"lang": lang})
        assert r.status_code == 200, (path, r.text[:400])
        assert r.headers["X-TDS-Index-Fresh"] == "no-chain"
        if not path.endswith("/report"):
            assert 'data-state="no-chain"' in r.text
    findings = client.get("/console/findings", params={"lang": lang}).text
    assert 'data-code="signatures_unchecked"' in findings  # no UsageGrants address: said, not hidden


def test_bad_ids_are_404_pages(client: TestClient) -> None:
    for path in ["/console/assets/0x12", f"/console/assets/{h32('nothing')}", "/console/participants/0x12",
                 f"/console/participants/0x{'12' * 20}", "/console/nope", f"/console/assets/{h32('x')}/report"]:
        r = client.get(path)
        assert r.status_code == 404 and "text/html" in r.headers["content-type"] and 'id="problem"' in r.text, path
    assert client.get("/audit/assets/0x12").status_code == 422  # the JSON API keeps its own answers
    assert client.get("/", follow_redirects=False).headers["location"] == "/console/"
