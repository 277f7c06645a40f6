"""The money half on a synthetic chain: indexing the Settlement and Disputes events, the statement, the disputes,
every settlement/signature finding of `tds audit check` (present when the data is wrong, absent when right),
and the report's agreements and money."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlmodel import select

from audit.check import CheckReport, PayoutSplit, expected_payouts, run_check
from audit.db import (
    AcceptanceRow, BalanceRow, DisputeRow, EscrowLockRow, EscrowReleaseRow, EvidenceRow, IndexDb, PricingRow,
    RefundRow, RevenueRow, RoyaltyRow, RulingRow, SettlementRow,
)
from audit.errors import NotIndexed
from audit.indexer import Indexer
from audit.queries import asset_history, dispute, disputes, grant_history, statement
from audit.receipts import ReceiptEntry
from audit.report import TokenInfo, render_html, report_data
from chain.eip712 import grant_id, sign_acceptance, sign_grant_request
from domain.types import GrantRequest
from notary.proofs import seal
from notary.receipts import Receipt
from tests.unit.audit.conftest import (
    OWNER2, Source, SyntheticChain, anchor, grant, h32, onboard, policy, register, royalty, same_tx, settle,
)

CHAIN_ID = 31337
USAGE_GRANTS = "0x" + "55" * 20
PROVIDER_KEY = Account.from_key("0x" + "a1" * 32)
CONSUMER_KEY = Account.from_key("0x" + "b2" * 32)
OTHER_KEY = Account.from_key("0x" + "c3" * 32)
P, C = PROVIDER_KEY.address, CONSUMER_KEY.address
RAW, CLEAN = h32("money raw"), h32("money clean")
NA = 2**32 - 1


@dataclass
class Knobs:
    """What to get wrong in the money space (defaults: everything right)."""

    units: int | None = None  # settled units (default: the 2 receipts)
    amount: int = 10
    payouts: list[tuple[str, str, int, int]] | None = None  # default: as Settlement._pay with 10 % royalty
    root: str | None = None  # settled root (default: the usage root of the receipts)
    anchor_root: bool = True
    acceptance_by: Any = None  # the key that signs the acceptance (default: the provider)
    consumer_by: Any = None  # the key that signs the request (default: the consumer)
    accept: bool = True
    dispute_before_settle: bool = False
    extra_receipts: int = 0  # allowed receipts of the grant in the period beyond the settled ones


@dataclass
class Space:
    """The money space as built: the grant, its receipts, the settlement period."""

    grant_id: str
    request: GrantRequest
    receipts: list[ReceiptEntry]
    start: int
    end: int
    extra: dict[str, Any] = field(default_factory=dict)


def money_space(c: SyntheticChain, k: Knobs | None = None) -> Space:
    """A prepaid grant on a derived asset (clean, 70/30 owners, parent raw), 2 anchored allowed uses settled for 10
    with a 10 % royalty, then a dispute ruled with a refund of 3 (unless told to get something wrong)."""
    k = k or Knobs()
    royalty(c, 1000)
    onboard(c, P, 1)
    onboard(c, C, 2)
    register(c, RAW, provider=P)
    register(c, CLEAN, parents=(RAW,), owners=(P, OWNER2), shares=(7000, 3000), provider=P)
    policy(c, CLEAN, max_count=3, price=5, model=1)
    c.emit("Settlement", "Deposited", consumer=C, amount=30)
    request = GrantRequest(CLEAN, C, "research", 0, NA, 3, 5, 7, NA, 1)
    gid = grant_id(CHAIN_ID, USAGE_GRANTS, request)
    sig = sign_grant_request(k.consumer_by or CONSUMER_KEY, CHAIN_ID, USAGE_GRANTS, request)
    acceptance = sign_acceptance(k.acceptance_by or PROVIDER_KEY, CHAIN_ID, USAGE_GRANTS, gid)
    issued = grant(c, gid, CLEAN, consumer=C, max_count=3, price=5, nonce=7, signature=sig,
                   acceptance=acceptance if k.accept else None, provider=P)
    same_tx(c, issued, 2, "Settlement", "EscrowLocked", grantId=gid, assetId=CLEAN, consumer=C, priceModel=1, price=5,
            locked=15)
    t = c.timestamp(issued.block_number)
    used = [Receipt(f"r-{i}", gid, CLEAN, C, "research", "allow", 10, t + 1 + i, h32(f"content {i}")) for i in range(2)]
    denied = Receipt("r-denied", gid, CLEAN, C, "research", "deny", 0, t + 3, h32("content denied"))
    batch = seal(used, chain_id=CHAIN_ID, contract="0x" + "66" * 20)
    if k.anchor_root:
        anchor(c, batch.root, len(used), provider=P)
    entries = [ReceiptEntry(r, batch.proofs[r.receipt_id]) for r in used] + [ReceiptEntry(denied, None)]
    entries += [ReceiptEntry(Receipt(f"r-extra-{i}", gid, CLEAN, C, "research", "allow", 10, t + 4 + i,
                                     h32(f"extra {i}")), None) for i in range(k.extra_receipts)]
    if k.dispute_before_settle:
        _dispute(c, gid, ruled=False)
    start, end = t, c.timestamp(c.head()) + 12
    settle(c, gid, CLEAN, k.units if k.units is not None else 2, k.amount, root=k.root or batch.root, start=start,
           end=end, consumer=C,
           payouts=k.payouts if k.payouts is not None else [(CLEAN, OWNER2, 2, 0), (CLEAN, P, 7, 0), (RAW, P, 1, 1)])
    if k.dispute_before_settle:
        _rule(c, gid, 1)
    else:
        _dispute(c, gid, ruled=True)
    return Space(gid, request, entries, start, end)


def _dispute(c: SyntheticChain, gid: str, ruled: bool, dispute_id: int = 1) -> None:
    opened = c.emit("Disputes", "DisputeOpened", disputeId=dispute_id, grantId=gid, openedBy=C, subject=1,
                    periodEnd=0, evidenceHash=h32("evidence 1"))
    same_tx(c, opened, 1, "Settlement", "AccountFrozen", grantId=gid, frozen=True)
    same_tx(c, opened, 2, "Disputes", "Evidence", _arbitrator="0x" + "00" * 20, _evidenceGroupID=dispute_id,
            _party=C, _evidence="https://evidence.example/1")
    same_tx(c, opened, 3, "Disputes", "EvidenceSubmitted", disputeId=dispute_id, party=C,
            evidenceHash=h32("evidence 1"))
    more = c.emit("Disputes", "Evidence", _arbitrator="0x" + "00" * 20, _evidenceGroupID=dispute_id, _party=P,
                  _evidence="https://evidence.example/2")
    same_tx(c, more, 1, "Disputes", "EvidenceSubmitted", disputeId=dispute_id, party=P, evidenceHash=h32("evidence 2"))
    if ruled:
        _rule(c, gid, dispute_id)


def _rule(c: SyntheticChain, gid: str, dispute_id: int) -> None:
    ruled = c.emit("Settlement", "Refunded", grantId=gid, consumer=C, fromLock=3, fromProvider=0)
    same_tx(c, ruled, 1, "Settlement", "AccountFrozen", grantId=gid, frozen=False)
    same_tx(c, ruled, 2, "Disputes", "Ruling", _arbitrator="0x" + "33" * 20, _disputeID=dispute_id, _ruling=2)
    same_tx(c, ruled, 3, "Disputes", "DisputeRuled", disputeId=dispute_id, grantId=gid, ruling=2, refund=3,
            by="0x" + "33" * 20)


def _indexed(k: Knobs | None = None) -> tuple[IndexDb, Space, SyntheticChain]:
    c = SyntheticChain()
    space = money_space(c, k)
    db = IndexDb.open("sqlite://")
    Indexer(db, Source(c), batch_blocks=5).run_once()
    return db, space, c


def _check(k: Knobs | None = None, receipts: bool = True, usage_grants: str | None = USAGE_GRANTS) -> CheckReport:
    db, space, _ = _indexed(k)
    with db.session() as s:
        return run_check(s, space.receipts if receipts else [], chain_id=CHAIN_ID, usage_grants=usage_grants)


def _codes(report: CheckReport, severity: str = "error") -> set[str]:
    return {f.code for f in report.findings if f.severity == severity}


# ---- indexing ----------------------------------------------------------------


def test_every_money_event_lands_in_its_table() -> None:
    db, space, _ = _indexed()
    with db.session() as s:
        (pricing,) = s.exec(select(PricingRow)).all()
        assert (pricing.asset_id, pricing.epoch, pricing.price_model, pricing.free_uses) == (CLEAN, 1, 1, 0)
        (accepted,) = s.exec(select(AcceptanceRow)).all()
        assert accepted.grant_id == space.grant_id and accepted.provider == P and accepted.policy_epoch == 1
        assert s.exec(select(EscrowLockRow)).one().locked == "15"
        (settled,) = s.exec(select(SettlementRow)).all()
        assert (settled.period_start, settled.period_end, settled.units, settled.free_units, settled.amount) == (
            space.start, space.end, 2, 0, "10")
        assert sorted((r.asset_id, r.owner, r.amount, r.depth) for r in s.exec(select(RevenueRow))) == sorted(
            [(CLEAN, OWNER2, "2", 0), (CLEAN, P, "7", 0), (RAW, P, "1", 1)])
        assert [r.royalty_bps for r in s.exec(select(RoyaltyRow))] == [1000]
        assert s.exec(select(BalanceRow)).one().kind == "deposit"
        assert s.exec(select(RefundRow)).one().from_lock == "3"
        assert s.exec(select(DisputeRow)).one().subject == 1
        assert len(s.exec(select(EvidenceRow)).all()) == 4  # two URIs, two hashes
        assert s.exec(select(RulingRow)).one().refund == "3"
        assert asset_history(s, CLEAN).grants[0].policy_epoch == 1


def test_releases_add_up_and_a_reorg_rolls_the_money_back() -> None:
    c = SyntheticChain()
    space = money_space(c)
    c.emit("Settlement", "EscrowReleased", grantId=space.grant_id, consumer=C, amount=2, by=P)  # revoked: part
    db = IndexDb.open("sqlite://")
    indexer = Indexer(db, Source(c), batch_blocks=3)
    indexer.run_once()
    c.emit("Settlement", "EscrowReleased", grantId=space.grant_id, consumer=C, amount=0, by=C)  # the rest, later
    indexer.run_once()
    with db.session() as s:
        assert len(s.exec(select(EscrowReleaseRow)).all()) == 2
        assert grant_history(s, space.grant_id).grant.escrow.released == 2  # type: ignore[union-attr]
    settled_block = next(e.block_number for e in c.events if e.name == "UsageSettled")
    c.reorg(c.head() - settled_block + 1)  # the settlement and everything after it vanish
    indexer.run_once()
    with db.session() as s:
        assert s.exec(select(SettlementRow)).all() == [] and s.exec(select(RevenueRow)).all() == []
        assert s.exec(select(DisputeRow)).all() == [] and s.exec(select(EscrowReleaseRow)).all() == []
        assert s.exec(select(EscrowLockRow)).one().grant_id == space.grant_id


def test_rebuilding_from_scratch_gives_the_same_rows(tmp_path: Path) -> None:
    c = SyntheticChain()
    money_space(c)

    def rows(db: IndexDb) -> list[Any]:
        with db.session() as s:
            out = []
            for model in (PricingRow, AcceptanceRow, EscrowLockRow, SettlementRow, RevenueRow, RefundRow, BalanceRow,
                          RoyaltyRow, DisputeRow, EvidenceRow, RulingRow):
                out += sorted(json.dumps(r.model_dump(exclude={"id"}), sort_keys=True) for r in s.exec(select(model)))
            return out

    first = IndexDb.open(f"sqlite:///{tmp_path / 'a.db'}")
    Indexer(first, Source(c), batch_blocks=2).run_once()
    second = IndexDb.open(f"sqlite:///{tmp_path / 'b.db'}")
    Indexer(second, Source(c), batch_blocks=100).run_once()
    assert rows(first) == rows(second) and rows(first)


# ---- statement and disputes ----------------------------------------------------


def test_statement_of_consumer_owner_and_provider() -> None:
    db, space, _ = _indexed()
    root = space.receipts[0].proof.root  # type: ignore[union-attr]
    with db.session() as s:
        consumer = statement(s, C)
        owner2 = statement(s, OWNER2)
        provider = statement(s, P.lower())
        later = statement(s, C, space.start + 1)
    (line,) = consumer.lines
    assert (line.asset_id, line.period_start, line.period_end, line.paid, line.units) == (
        CLEAN, space.start, space.end, 10, 2)
    assert line.receipts_roots == (root,) and line.earned_shares == 0
    assert consumer.totals["deposit"] == 30 and consumer.totals["lock"] == 15 and consumer.totals["refund"] == 3
    assert [m.kind for m in consumer.escrow] == ["deposit", "lock", "refund"]
    assert [(x.asset_id, x.earned_shares, x.earned_royalties) for x in owner2.lines] == [(CLEAN, 2, 0)]
    by_asset = {x.asset_id: x for x in provider.lines}
    assert by_asset[CLEAN].earned_shares == 7 and by_asset[RAW].earned_royalties == 1
    assert by_asset[RAW].items[0].settled_asset == CLEAN and by_asset[RAW].receipts_roots == (root,)
    assert provider.totals["earned_shares"] == 7 and provider.totals["earned_royalties"] == 1
    assert later.lines == () and later.totals["paid"] == 0  # the period started before --from
    data = consumer.to_json()
    assert data["paid"][0]["amount"] == 10 and data["paid"][0]["receipts_root"] == root
    assert data["participant_did"] == f"did:pkh:eip155:31337:{C}"
    assert statement(db, C) == consumer  # an IndexDb works as well as a session


def test_disputes_list_and_show() -> None:
    db, space, _ = _indexed()
    with db.session() as s:
        (d,) = disputes(s)
        assert dispute(s, 1) == d and disputes(s, status="open") == ()
        assert disputes(s, grant_id=space.grant_id.upper().replace("0X", "0x")) == (d,)
        with pytest.raises(NotIndexed):
            dispute(s, 9)
    assert (d.grant_id, d.subject, d.opened_by, d.status, d.ruling, d.refund) == (
        space.grant_id, "settlement", C, "ruled", "refund", 3)
    assert d.provider == P and d.consumer == C and d.asset_id == CLEAN
    assert [(e.party, e.evidence_uri) for e in d.evidence] == [(C, "https://evidence.example/1"),
                                                              (P, "https://evidence.example/2")]
    assert d.to_json()["opened_by_did"].endswith(C)


# ---- check: each finding appears when the data is wrong, not when it is right ----------


def test_a_right_money_space_checks_clean() -> None:
    report = _check()
    assert report.ok, [f.line() for f in report.findings]
    others = [f.line() for f in report.findings if f.code != "receipt_not_anchored"]  # the denied one: no proof
    assert not others, others


def test_units_not_matching_the_receipts() -> None:
    assert "settled_units_mismatch" in _codes(_check(Knobs(extra_receipts=1)))
    report = _check(Knobs(units=3, amount=15, payouts=[(CLEAN, OWNER2, 4, 0), (CLEAN, P, 10, 0), (RAW, P, 1, 1)]))
    assert _codes(report) == {"settled_units_mismatch"}, [f.line() for f in report.findings]  # the root is right


def test_usage_root_not_anchored_or_not_rebuilt() -> None:
    assert "usage_root_not_anchored" in _codes(_check(Knobs(anchor_root=False)))
    other = h32("another root")
    report = _check(Knobs(root=other))
    assert "usage_root_mismatch" in _codes(report) and "usage_root_not_anchored" in _codes(report)
    assert "settled_units_mismatch" not in _codes(report)  # the 2 units are right, the root is not


def test_without_receipts_the_units_are_unchecked_not_silent() -> None:
    report = _check(receipts=False)
    assert report.ok and "settled_units_unchecked" in _codes(report, "info")
    assert "settled_units_unchecked" not in _codes(_check(), "info")


def test_payouts_that_do_not_add_up() -> None:
    short = _check(Knobs(payouts=[(CLEAN, OWNER2, 2, 0), (CLEAN, P, 7, 0)]))
    assert _codes(short) == {"payout_sum_mismatch"}
    wrong = _check(Knobs(payouts=[(CLEAN, OWNER2, 3, 0), (CLEAN, P, 7, 0)]))  # adds up, but no royalty to raw
    assert _codes(wrong) == {"payout_split_mismatch"}
    (f,) = [f for f in wrong.findings if f.code == "payout_split_mismatch"]
    assert "1 to " in f.message and "depth 1" in f.message


def test_expected_payouts_mirror_settlement_pay() -> None:
    splits = {
        "d": PayoutSplit("d", "P", (), (), ("a", "b", "a")),
        "a": PayoutSplit("a", "PA", ("o1", "o2", "o3"), (3334, 3333, 3333), ("g",)),
        "b": PayoutSplit("b", "PB", (), (), ()),
        "g": PayoutSplit("g", "PG", (), (), ("h",)),
        "h": PayoutSplit("h", "PH", (), (), ("i",)),
        "i": PayoutSplit("i", "PI", (), (), ("j",)),
        "j": PayoutSplit("j", "PJ", (), (), ()),
    }
    paid = expected_payouts(splits.get, "d", 1000, 1000)
    assert paid is not None and sum(p[2] for p in paid) == 1000
    # d keeps 900; royalty 100 in thirds: a gets 34 (dust) then 33 again, b 33
    assert paid[0] == ("d", "P", 900, 0)
    assert [p for p in paid if p[0] == "b"] == [("b", "PB", 33, 1)]
    a_paid = [p for p in paid if p[0] == "a"]
    # a's 34: royalty 3 to g, own 31: o2 and o3 get 31*3333//10000 = 10 each, o1 the rest 11; then a's 33 likewise
    assert a_paid[:3] == [("a", "o2", 10, 1), ("a", "o3", 10, 1), ("a", "o1", 11, 1)]
    assert expected_payouts(splits.get, "unknown", 10, 1000) is None
    assert expected_payouts(splits.get, "d", 0, 1000) == []


def test_royalties_stop_four_lineage_steps_up() -> None:
    chain = ["c0", "c1", "c2", "c3", "c4", "c5"]
    splits = {a: PayoutSplit(a, f"P{a}", (), (), (chain[i + 1],) if i + 1 < len(chain) else ())
              for i, a in enumerate(chain)}
    paid = expected_payouts(splits.get, "c0", 1_000_000, 5000)
    assert paid == [("c0", "Pc0", 500_000, 0), ("c1", "Pc1", 250_000, 1), ("c2", "Pc2", 125_000, 2),
                    ("c3", "Pc3", 62_500, 3), ("c4", "Pc4", 62_500, 4)]  # c4 keeps it all: c5 is never paid


def test_a_settlement_while_a_dispute_was_open() -> None:
    report = _check(Knobs(dispute_before_settle=True))
    assert "settled_while_disputed" in _codes(report)
    assert "settled_while_disputed" not in _codes(_check())  # opened after the settlement


def test_agreements_need_both_signatures() -> None:
    assert "acceptance_missing" in _codes(_check(Knobs(accept=False)))
    report = _check(Knobs(acceptance_by=OTHER_KEY))
    assert _codes(report) == {"acceptance_invalid"}
    (f,) = report.findings if len(report.findings) == 1 else [x for x in report.findings
                                                               if x.code == "acceptance_invalid"]
    assert f"not {P}" in f.message
    assert _codes(_check(Knobs(consumer_by=OTHER_KEY))) == {"consumer_signature_invalid"}
    unchecked = _check(Knobs(consumer_by=OTHER_KEY), usage_grants=None)
    assert unchecked.ok and "signatures_unchecked" in _codes(unchecked, "info")


# ---- report ----------------------------------------------------------------------


def test_report_shows_the_agreement_and_money_next_to_use() -> None:
    db, space, _ = _indexed()
    token = TokenInfo("TDSC", 0)
    with db.session() as s:
        data = report_data(s, CLEAN, space.receipts, CHAIN_ID, token=token)
        page = render_html(s, CLEAN, space.receipts, CHAIN_ID, token=token)
    (doc,) = data["agreements"]
    assert doc["@type"] == "odrl:Agreement" and doc["odrl:uid"] == space.grant_id
    assert doc["odrl:assigner"]["@id"] == f"did:pkh:eip155:{CHAIN_ID}:{P}"
    assert doc["odrl:assignee"]["@id"] == f"did:pkh:eip155:{CHAIN_ID}:{C}"
    assert doc["odrl:target"]["@id"] == f"urn:tds:asset:{CLEAN}" and doc["tds:policyEpoch"] == 1
    (perm,) = doc["odrl:permission"]
    constraints = {c["odrl:leftOperand"]: c for c in perm["odrl:constraint"]}
    assert constraints["odrl:purpose"]["odrl:rightOperand"] == ["research"] and "odrl:spatial" in constraints
    (duty,) = perm["odrl:duty"]
    assert duty["tds:priceModel"] == "prepaid" and duty["odrl:constraint"][0]["odrl:rightOperand"]["@value"] == "5"
    assert doc["tds:consumerSignature"].startswith("0x") and doc["tds:providerSignature"].startswith("0x")
    (m,) = data["money"]
    assert (m["uses"], m["settled_units"], m["charged"], m["locked"], m["refunded"]) == (2, 2, 10, 15, 3)
    assert {(p["owner"], p["amount"], p["royalty"]) for p in m["payouts"]} == {(OWNER2, 2, False), (P, 7, False),
                                                                                (P, 1, True)}
    assert m["disputes"] == [{"dispute_id": 1, "subject": "settlement", "status": "ruled", "ruling": "refund",
                              "refund": 3}]
    assert data["token"] == {"symbol": "TDSC", "decimals": 0, "address": None}
    assert "odrl:Agreement" in page and "Money and use" in page and "10 TDSC" in page and "15 TDSC" in page
    assert "tds:providerSignature" in page and "Disputes" in page and "https://evidence.example/1" in page
    assert "<script" not in page


def test_token_amounts_read_with_decimals() -> None:
    assert TokenInfo("TDST", 18).format(12_500_000_000_000_000_000) == "12.5 TDST"
    assert TokenInfo("TDSC", 0).format(1234) == "1,234 TDSC"
    assert TokenInfo("X", 2).format(100) == "1 X"


def test_api_serves_statements_and_disputes() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from audit.api import audit_router

    db, _, _ = _indexed()
    app = FastAPI()
    app.include_router(audit_router(db.session))
    client = TestClient(app)
    assert client.get(f"/audit/statements/{C}").json()["totals"]["paid"] == 10
    assert client.get("/audit/disputes").json()[0]["ruling"] == "refund"
    assert client.get("/audit/disputes/1").json()["refund"] == 3
    assert client.get("/audit/disputes/7").status_code == 404
