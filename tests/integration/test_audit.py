"""The auditor's story against a real anvil: index, query, check, report, verify proofs (and every bad proof)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from audit.receipts import ReceiptEntry, dump_receipts
from audit.report import TokenInfo
from chain.contracts import (
    AnchorsClient, Claim, DisputesClient, GrantsClient, SettlementClient, Split, TokenClient, b32,
)
from chain.devnet import rpc
from chain.eip712 import sign_acceptance, sign_grant_request
from chain.keys import Keystore
from domain.types import GrantRequest, Policy, PriceModel
from notary.proofs import ProofDocument, seal
from notary.receipts import Receipt
from tests.integration.conftest import Space

pytestmark = pytest.mark.integration


def rand32() -> str:
    return "0x" + os.urandom(32).hex()


@dataclass
class Scenario:
    """raw -> clean -> model lineage, raw v2, a prepaid policy on clean, grant g1 (used, settled, disputed with a
    refund), g2 (revoked, its lock released)."""

    raw: str
    clean: str
    model: str
    raw2: str
    g1: str
    g2: str
    receipts: list[ReceiptEntry]
    proofs: dict[str, ProofDocument]
    file_bytes: bytes
    stored_asset: str
    dispute_id: int = 0
    period: tuple[int, int] = (0, 0)


def _grant(space: Space, grants: GrantsClient, asset: str, nonce: int) -> str:
    """A prepaid grant of 3 uses at 5 on ``asset``, issued with both signatures; returns its id."""
    chain = space.chain()
    keys = Keystore(space.settings.keystore_dir)
    consumer = keys.account("consumer")
    policy = grants.policy_state(asset)
    assert policy is not None
    now = int(time.time())
    req = GrantRequest(asset, consumer.address, "research", 0, now + 86400, 3, 5, nonce, now + 3600, policy.epoch)
    usage_grants = chain.address("UsageGrants")
    sig = sign_grant_request(consumer, chain.chain_id, usage_grants, req)
    acceptance = sign_acceptance(keys.account("provider"), chain.chain_id, usage_grants, grants.hash_request(req))
    grant_id, _ = grants.issue(req, sig, acceptance)
    return grant_id


@pytest.fixture(scope="module")
def scenario(space: Space) -> Scenario:
    keys = Keystore(space.settings.keystore_dir)
    _, assets, grants = space.clients("provider")
    data = os.urandom(2048)
    raw, clean, model, raw2 = "0x" + hashlib.sha256(data).hexdigest(), rand32(), rand32(), rand32()
    assets.register(raw, len(data), rand32(), "http://gw/raw")
    assets.register(clean, 10, rand32(), "http://gw/clean", parents=[raw],
                    owners=[space.address("provider"), space.address("provider2")], shares_bps=[7000, 3000])
    assets.register(model, 10, rand32(), "http://gw/model", parents=[clean])
    assets.register_version(raw, raw2, 10, rand32(), "http://gw/raw2")
    grants.set_policy(clean, Policy(max_count=3, price_per_access=5, purposes=("research",), jurisdictions=("DE",),
                                    price_model=PriceModel.PREPAID))
    chain = space.chain()
    consumer = chain.sender(keys.account("consumer"))
    TokenClient(chain, chain.sender(keys.account("operator"))).mint(space.address("consumer"), 1000)
    TokenClient(chain, consumer).approve(chain.address("Settlement"), 30)
    SettlementClient(chain, consumer).deposit(30)  # both grants lock 3 x 5
    g1 = _grant(space, grants, clean, int.from_bytes(os.urandom(8), "big"))
    g2 = _grant(space, grants, clean, int.from_bytes(os.urandom(8), "big"))
    req1, req2 = grants.request_of(g1), grants.request_of(g2)
    assert req1 is not None and req2 is not None
    grants.revoke(req2)

    registry = chain.address("AnchorRegistry")
    issued = int(grants.issued(grantId=b32(g1))[0]["blockNumber"])
    now = chain.head_reader().timestamp_of(issued)  # the uses follow the grant's issue
    receipts = [Receipt(f"r-{os.urandom(6).hex()}", g1, clean, req1.consumer, "research", "allow", 10, now + i,
                        rand32()) for i in range(2)]
    batch = seal(receipts, chain_id=chain.chain_id, contract=registry)
    provider = chain.sender(keys.account("provider"))
    tx = AnchorsClient(chain, provider).anchor(batch.root, len(receipts), AnchorsClient.KIND_RECEIPTS)
    proofs = {rid: p.anchored(chain_id=chain.chain_id, contract=registry, anchor_tx=tx["transactionHash"].to_0x_hex(),
                              anchor_block=tx["blockNumber"]) for rid, p in batch.proofs.items()}
    # 2 uses of g1 at 5 from its lock: 10 % royalty to raw (1), the rest 7000/3000 (provider2 2, provider 7)
    splits = (Split(clean, (space.address("provider"), space.address("provider2")), (7000, 3000), (1,)),
              Split(raw, (), (), ()))
    rpc(space.settings.rpc_url, "evm_increaseTime", [3])  # the uses are over before the period ends
    rpc(space.settings.rpc_url, "evm_mine", [])
    period_end = int(chain.head_reader().latest().timestamp)
    period = (period_end - 3600, period_end)
    SettlementClient(chain, provider).settle(*period, batch.root, [Claim(g1, 2, 0)], splits)
    # the consumer disputes the settled period, the provider answers, the operator refunds 2 from g1's lock
    disputes_as = {name: DisputesClient(chain, chain.sender(keys.account(name)))
                   for name in ("consumer", "provider", "operator")}
    dispute_id, _ = disputes_as["consumer"].open(req1, "settlement", period_end, rand32(), "https://evidence/1")
    disputes_as["provider"].submit_evidence(dispute_id, rand32(), "https://evidence/2")
    disputes_as["operator"].rule(dispute_id, "refund", 2)
    SettlementClient(chain, provider).release(g2)  # revoked: its 15 go back to the consumer's deposit
    entries = [ReceiptEntry(r, proofs[r.receipt_id]) for r in receipts]
    return Scenario(raw, clean, model, raw2, g1, g2, entries, proofs, data, raw, dispute_id, period)


def _receipts_file(tmp_path: Path, entries: list[ReceiptEntry]) -> Path:
    path = tmp_path / "receipts.jsonl"
    dump_receipts(entries, path)
    return path


def test_index_then_asset_history(space: Space, scenario: Scenario, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    r = space.tds("audit", "index", "--json", capsys=capsys)
    assert r.code == 0, r.err
    assert r.json()["events"] >= 0
    rf = _receipts_file(tmp_path, scenario.receipts)
    h = space.tds("audit", "asset", scenario.clean, "--receipts", str(rf), "--json", capsys=capsys)
    assert h.code == 0, h.err
    data = h.json()
    assert data["parents"] == [scenario.raw] and data["children"] == [scenario.model]
    assert data["asset"]["owners"] == [space.address("provider"), space.address("provider2")]
    grants = {g["grant_id"]: g for g in data["grants"]}
    assert grants[scenario.g1]["anchored_accesses"] == 2 and grants[scenario.g1]["settled_count"] == 2
    assert grants[scenario.g1]["signature"].startswith("0x") and len(grants[scenario.g1]["signature"]) == 132
    assert grants[scenario.g2]["revoked"]["by"] == space.address("provider")
    (settled,) = data["settlements"]
    assert settled["amount"] == 10 and sorted(p["amount"] for p in settled["payments"]) == [1, 2, 7]
    assert [p["epoch"] for p in data["policies"]] == [1] and data["policies"][0]["jurisdictions"] == ["DE"]
    kinds = [t["kind"] for t in data["timeline"]]
    assert kinds[0] == "registered" and "grant_revoked" in kinds and "settled" in kinds
    assert kinds.index("settled") < kinds.index("dispute_opened") < kinds.index("dispute_ruled")
    assert {"grant_accepted", "escrow_locked", "refunded", "escrow_released"} <= set(kinds)
    assert grants[scenario.g1]["policy_epoch"] == 1 and grants[scenario.g1]["acceptance"]["provider"] == \
        space.address("provider")
    assert settled["units"] == 2 and settled["receipts_root"] == scenario.receipts[0].proof.root  # type: ignore[union-attr]
    assert (settled["period_start"], settled["period_end"]) == scenario.period


def test_lineage_transitive_and_versions(space: Space, scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    raw = space.tds("audit", "asset", scenario.raw, "--json", capsys=capsys).json()
    assert [e["child"] for e in raw["descendants"]] == [scenario.clean, scenario.model]
    assert [v["asset_id"] for v in raw["versions"]] == [scenario.raw, scenario.raw2]
    model = space.tds("audit", "asset", scenario.model, "--json", capsys=capsys).json()
    assert [e["parent"] for e in model["ancestors"]] == [scenario.clean, scenario.raw]
    v2 = space.tds("audit", "asset", scenario.raw2, "--json", capsys=capsys).json()
    assert v2["asset"]["version"] == 2 and v2["asset"]["previous_version"] == scenario.raw
    text = space.tds("audit", "asset", scenario.clean, capsys=capsys)
    assert text.code == 0 and scenario.g1 in text.out
    missing = space.tds("audit", "asset", rand32(), capsys=capsys)
    assert missing.code == 5 and "not in the audit index" in missing.err


def test_participant_and_grant_history(space: Space, scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    p = space.tds("audit", "participant", "consumer", "--json", capsys=capsys).json()
    assert p["status"] == "active" and p["roles"] == ["consumer"] and p["jurisdiction"] == "DE"
    assert {scenario.g1, scenario.g2} <= {g["grant_id"] for g in p["grants_as_consumer"]}
    owner2 = space.tds("audit", "participant", space.address("provider2"), "--json", capsys=capsys).json()
    assert owner2["revenue_total"] >= 2
    g2 = space.tds("audit", "grant", scenario.g2, "--json", capsys=capsys).json()
    assert g2["state_at_head"] == "revoked" and g2["grant"]["consumer"] == space.address("consumer")
    g1 = space.tds("audit", "grant", scenario.g1, capsys=capsys)
    assert g1.code == 0 and "live" in g1.out


def _write(tmp_path: Path, name: str, doc: dict[str, Any] | str) -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def test_verify_proof_good_and_every_bad_case(space: Space, scenario: Scenario, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    doc = next(iter(scenario.proofs.values())).to_dict()
    ok = space.tds("audit", "verify-proof", _write(tmp_path, "ok.json", doc), capsys=capsys)
    assert ok.code == 0, ok.err
    assert "verifyReceipt returned true" in ok.out
    other_doc = list(scenario.proofs.values())[1].to_dict()
    flip = lambda h: h[:-1] + ("0" if h[-1] != "0" else "1")  # noqa: E731
    cases: dict[str, tuple[dict[str, Any] | str, str]] = {
        "forged sibling": ({**doc, "proof": [flip(doc["proof"][0])]}, "forged proof"),
        "forged values": ({**doc, "values": [*doc["values"][:6], "999", *doc["values"][7:]]}, "forged proof"),
        "wrong root": ({**doc, "root": rand32()}, "wrong root"),
        "other chain": ({**doc, "chain_id": 1}, "another chain"),
        "other contract": ({**doc, "contract": "0x" + "12" * 20}, "another contract"),
        "truncated": (json.dumps(doc)[:120], "malformed"),
        "not json": ("{not json", "malformed"),
        "missing field": ({k: v for k, v in doc.items() if k != "proof"}, "malformed"),
        "wrong block": ({**doc, "anchor_block": doc["anchor_block"] + 1}, "block"),
        "leaf of another receipt": ({**doc, "values": other_doc["values"], "leaf": other_doc["leaf"]}, "forged"),
    }
    for name, (bad, reason) in cases.items():
        r = space.tds("audit", "verify-proof", _write(tmp_path, name.replace(" ", "_") + ".json", bad), capsys=capsys)
        assert r.code == 6, (name, r.out, r.err)
        assert reason in r.err, (name, r.err)
    never = seal([replace(scenario.receipts[0].receipt, receipt_id="never-anchored")],
                 chain_id=doc["chain_id"], contract=doc["contract"])
    r = space.tds("audit", "verify-proof", _write(tmp_path, "never.json", never.proofs["never-anchored"].to_dict()),
                  "--json", capsys=capsys)
    assert r.code == 6 and r.json()["category"] == "not_anchored" and "never anchored" in r.json()["reason"]


def test_check_clean_then_catches_misuse(space: Space, scenario: Scenario, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    clean = space.tds("audit", "check", "--receipts", str(_receipts_file(tmp_path, scenario.receipts)), capsys=capsys)
    assert clean.code == 0, clean.out + clean.err
    assert "ERROR" not in clean.out
    assert "settled_units_unchecked" not in clean.out and "signatures_unchecked" not in clean.out  # both checked
    blind = space.tds("audit", "check", "--json", capsys=capsys)
    assert blind.code == 0, blind.out
    assert "settled_units_unchecked" in {f["code"] for f in blind.json()["findings"] if f["severity"] == "info"}
    base = scenario.receipts[0].receipt
    later = int(time.time()) + 5
    after_revoke = replace(base, receipt_id="after-revoke", grant_id=scenario.g2, timestamp=later)
    too_many = [replace(base, receipt_id=f"extra-{i}", timestamp=later + i) for i in range(2)]  # 2 anchored + 2 > 3
    nobody = replace(base, receipt_id="no-grant", grant_id=rand32())
    altered = ReceiptEntry(replace(scenario.receipts[1].receipt, byte_count=999), scenario.receipts[1].proof)
    entries = [scenario.receipts[0], altered, *(ReceiptEntry(r, None) for r in [after_revoke, *too_many, nobody])]
    bad = space.tds("audit", "check", "--receipts", str(_receipts_file(tmp_path, entries)), capsys=capsys)
    assert bad.code == 6
    for code in ("grant_revoked", "grant_overused", "access_without_grant", "receipt_proof_invalid", "root_mismatch"):
        assert f"ERROR {code}" in bad.out, (code, bad.out)
    js = space.tds("audit", "check", "--receipts", str(_receipts_file(tmp_path, entries)), "--json", capsys=capsys)
    assert js.code == 6 and js.json()["ok"] is False


def test_check_catches_a_tampered_stored_file(space: Space, scenario: Scenario, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from vault.store import EncryptedStore, MasterKey

    key = MasterKey.generate(tmp_path / "master.key")
    store = EncryptedStore(tmp_path / "store", key)
    store.put_bytes(scenario.stored_asset, scenario.file_bytes)
    args = ("audit", "check", "--store", str(tmp_path / "store"), "--master-key", str(tmp_path / "master.key"))
    ok = space.tds(*args, "--json", capsys=capsys)
    assert ok.code == 0 and ok.json()["counted"]["files"] == 1, ok.out
    data = tmp_path / "store" / scenario.stored_asset[2:] / "data.bin"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 1
    data.write_bytes(bytes(raw))
    bad = space.tds(*args, capsys=capsys)
    assert bad.code == 6 and f"ERROR file_tampered asset {scenario.stored_asset}" in bad.out


def test_report_html_and_json(space: Space, scenario: Scenario, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    rf = str(_receipts_file(tmp_path, scenario.receipts))
    out = tmp_path / "report.html"
    r = space.tds("audit", "report", scenario.clean, "--format", "html", "-o", str(out), "--receipts", rf,
                  capsys=capsys)
    assert r.code == 0, r.err
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "<style>" in page
    assert "http" not in page.split("<body>")[0].replace("http://www.w3.org", "")  # nothing fetched
    assert scenario.g1[:10] in page and "revoked" in page and scenario.receipts[0].receipt.receipt_id in page
    js = space.tds("audit", "report", scenario.clean, "--format", "json", "--receipts", rf, capsys=capsys).json()
    assert js["history"]["asset"]["asset_id"] == scenario.clean and len(js["proofs"]) == 2
    symbol = js["token"]["symbol"]
    agreements = {a["odrl:uid"]: a for a in js["agreements"]}
    g1 = agreements[scenario.g1]
    chain_id = space.chain().chain_id
    assert g1["@type"] == "odrl:Agreement" and g1["tds:policyEpoch"] == 1
    assert g1["odrl:assigner"]["@id"] == f"did:pkh:eip155:{chain_id}:{space.address('provider')}"
    assert g1["odrl:assignee"]["@id"] == f"did:pkh:eip155:{chain_id}:{space.address('consumer')}"
    assert g1["tds:consumerSignature"] and g1["tds:providerSignature"]
    assert g1["odrl:permission"][0]["odrl:duty"][0]["tds:priceModel"] == "prepaid"
    money = {m["grant_id"]: m for m in js["money"]}[scenario.g1]
    assert (money["uses"], money["settled_units"], money["charged"], money["locked"], money["refunded"]) == (
        2, 2, 10, 15, 2)
    assert money["disputes"][0]["dispute_id"] == scenario.dispute_id and money["disputes"][0]["ruling"] == "refund"
    assert {m["grant_id"]: m for m in js["money"]}[scenario.g2]["released"] == 15
    assert "odrl:Agreement" in page and "tds:providerSignature" in page and "Money and use" in page
    token = TokenInfo(symbol, js["token"]["decimals"])
    assert token.format(10) in page and token.format(15) in page and "https://evidence/1" in page
    assert time.strftime("%Y-%m-%d", time.gmtime(scenario.period[0])) in page  # periods as dates


def test_statement_of_consumer_and_owners(space: Space, scenario: Scenario,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    day = time.strftime("%Y-%m-%d", time.gmtime(scenario.period[0]))
    r = space.tds("audit", "statement", "consumer", "--from", day, "--json", capsys=capsys)
    assert r.code == 0, r.err
    data = r.json()
    (line,) = [x for x in data["lines"] if x["asset_id"] == scenario.clean]
    assert (line["paid"], line["units"], line["period_start"], line["period_end"]) == (10, 2, *scenario.period)
    assert line["receipts_roots"] == [scenario.receipts[0].proof.root]  # type: ignore[union-attr]
    assert data["totals"]["deposit"] >= 30 and data["totals"]["lock"] >= 30
    assert data["totals"]["refund"] >= 2 and data["totals"]["release"] >= 15
    provider = space.tds("audit", "statement", "provider", "--json", capsys=capsys).json()
    earned = {x["asset_id"]: x for x in provider["lines"] if x["period_start"] == scenario.period[0]}
    assert earned[scenario.clean]["earned_shares"] == 7 and earned[scenario.raw]["earned_royalties"] == 1
    assert provider["totals"]["refund_charged"] == 0  # the refund came out of the lock
    owner2 = space.tds("audit", "statement", "provider2", "--json", capsys=capsys).json()
    assert [x["earned_shares"] for x in owner2["lines"] if x["asset_id"] == scenario.clean] == [2]
    text = space.tds("audit", "statement", "consumer", "--to", "2000-01-01", capsys=capsys)
    assert text.code == 0 and "no settled periods" in text.out
    bad = space.tds("audit", "statement", "consumer", "--from", "yesterday-ish", capsys=capsys)
    assert bad.code == 2 and "is not a date" in bad.err


def test_disputes_list_and_show(space: Space, scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    r = space.tds("audit", "disputes", "--json", capsys=capsys)
    assert r.code == 0, r.err
    found = {d["dispute_id"]: d for d in r.json()}
    d = found[scenario.dispute_id]
    assert (d["grant_id"], d["subject"], d["status"], d["ruling"], d["refund"]) == (
        scenario.g1, "settlement", "ruled", "refund", 2)
    assert d["opened_by"] == space.address("consumer") and d["ruled_by"] == space.address("operator")
    assert [e["evidence_uri"] for e in d["evidence"]] == ["https://evidence/1", "https://evidence/2"]
    one = space.tds("audit", "disputes", str(scenario.dispute_id), capsys=capsys)
    assert one.code == 0 and "https://evidence/2" in one.out and "refund" in one.out
    assert space.tds("audit", "disputes", "--open", "--json", capsys=capsys).json() == [
        x for x in r.json() if x["status"] == "open"]
    assert space.tds("audit", "disputes", "999999", capsys=capsys).code == 5


def test_rebuild_after_index_deletion_gives_same_answers(space: Space, scenario: Scenario,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    def answers() -> list[Any]:
        return [space.tds(*q, "--json", "--no-refresh", capsys=capsys).json() for q in (
            ("audit", "asset", scenario.clean), ("audit", "asset", scenario.raw), ("audit", "grant", scenario.g1),
            ("audit", "participant", "consumer"))]

    assert space.tds("audit", "index", capsys=capsys).code == 0
    before = answers()
    for suffix in ("", "-wal", "-shm"):
        (space.home / f"audit.db{suffix}").unlink(missing_ok=True)
    assert space.tds("audit", "asset", scenario.clean, "--no-refresh", capsys=capsys).code == 5  # empty index
    assert space.tds("audit", "index", capsys=capsys).code == 0
    assert answers() == before


def test_api_router_serves_histories(space: Space, scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from audit.api import audit_router
    from audit.db import IndexDb, database_url

    assert space.tds("audit", "index", capsys=capsys).code == 0
    db = IndexDb.open(database_url(space.home, env={}))
    app = FastAPI()
    app.include_router(audit_router(db.session))
    client = TestClient(app)
    assert client.get(f"/audit/assets/{scenario.clean}").json()["asset"]["asset_id"] == scenario.clean
    assert client.get(f"/audit/grants/{scenario.g2}").json()["state_at_head"] == "revoked"
    assert client.get(f"/audit/participants/{space.address('consumer')}").status_code == 200
    assert client.get(f"/audit/assets/{rand32()}").status_code == 404
    assert client.get("/audit/assets/0x12").status_code == 422
