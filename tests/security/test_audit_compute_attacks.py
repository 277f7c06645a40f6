"""Attacks on the auditor's compute checks: a gateway (or whoever hands the auditor its receipts file) dressing up
compute jobs, and a provider emitting ComputePolicies values meant to break the index.

Each attack goes through what a real auditor runs (``tds audit check|asset --receipts FILE`` on a real devnet, the
jobs run by the real gateway in real sandboxes) and asserts the finding the auditor reads.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from audit.receipts import JobEvidence, ReceiptEntry, dump_receipts, parse_line
from notary.jobs import evidence_digest
from tests.integration.compute_fixtures import AGGREGATE, COMPUTE_POLICY, ComputeEnv, compute_env  # noqa: F401
from tests.integration.gateway_fixtures import GatewayEnv

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed "
                                 "(./scripts/bootstrap installs it; .ci/run fails without it)")]
DP = {"total": 200000.0, "count": 1.0}


@pytest.fixture(scope="module")
def env(gw_env: GatewayEnv) -> GatewayEnv:
    """The module's gateway (the ``tds`` fixture of tests/security runs the CLI on its home)."""
    return gw_env


def _auditor_file(c: ComputeEnv, tmp_path: Path, extra: list[ReceiptEntry] = (),  # type: ignore[assignment]
                  swap: dict[str, ReceiptEntry] | None = None) -> str:
    """The gateway's export with each job's evidence (GET /receipts/{id}), lines of ``swap`` replaced, ``extra``
    appended: the receipts file an auditor is handed."""
    entries = []
    with c.gw.client("provider") as p:
        for line in p.get_signed("/receipts/export").text.splitlines():
            data = json.loads(line)
            if (job := p.receipt(data["receipt"]["receipt_id"]).get("job")) is not None:
                data["job"] = job
            entry = parse_line(json.dumps(data))
            entries.append((swap or {}).get(entry.receipt.receipt_id, entry))
    path = tmp_path / f"receipts-{time.monotonic_ns()}.jsonl"
    dump_receipts([*entries, *extra], path)
    return str(path)


def _run_jobs(c: ComputeEnv, asset: str, algorithm: str, grant: str, epsilons: list[float | None]) -> list[str]:
    """Run jobs through the gateway; their receipt ids."""
    out = []
    with c.gw.client("consumer") as client:
        for eps in epsilons:
            job = client.wait_job(client.submit_job(asset, algorithm, {}, epsilon=eps, grant_id=grant)["job_id"],
                                  timeout_s=60)
            assert job["state"] == "succeeded", job
            out.append(job["receipt_id"])
    notary = c.gw.gateway.notary()
    notary.seal_all()
    notary.anchor_sealed()
    return out


def _entry(c: ComputeEnv, receipt_id: str) -> ReceiptEntry:
    with c.gw.client("provider") as p:
        doc = p.receipt(receipt_id)
        proof = p.proof(receipt_id)
    return parse_line(json.dumps({"receipt": doc["receipt"], "proof": proof, "job": doc["job"]}))


def _findings(tds: Any, rf: str) -> tuple[int, list[dict[str, str]], str]:
    code, out, err = tds("audit", "check", "--receipts", rf, "--json")
    return code, json.loads(out)["findings"], err


def test_evidence_of_another_job_on_a_forged_receipt_is_caught(compute_env: ComputeEnv, tds: Any,
                                                               tmp_path: Path) -> None:
    """A real job's evidence (its hash matches) replayed as the evidence of a receipt under another grant."""
    c = compute_env
    algorithm = c.approved_algorithm(AGGREGATE, "dp_aggregate", values=DP)
    g, other = c.grant(), c.grant()
    (rid,) = _run_jobs(c, c.dataset, algorithm, g, [0.4])
    real = _entry(c, rid)
    assert real.job is not None
    replayed = ReceiptEntry(replace(real.receipt, receipt_id=f"{rid}-replayed", grant_id=other), None, real.job)
    code, findings, _ = _findings(tds, _auditor_file(c, tmp_path, [replayed]))
    assert code == 6
    (hit,) = [f for f in findings if f["code"] == "job_evidence_mismatch"]
    assert hit["subject"] == f"job {real.job.job_id}"
    assert f"receipt {rid}-replayed hashes to its content hash but names grant {g} where its receipt names {other}" \
        in hit["message"] and "another job" in hit["message"]
    assert not [f for f in findings if f["code"] in ("privacy_budget_exceeded", "job_algorithm_not_approved")]


def test_evidence_rewritten_to_an_approved_algorithm_is_caught(compute_env: ComputeEnv, tds: Any,
                                                               tmp_path: Path) -> None:
    """The gateway ran an algorithm the provider never approved and hands over evidence naming an approved one."""
    c = compute_env
    approved = c.approved_algorithm(AGGREGATE, "json")
    unapproved = c.algorithm(AGGREGATE)
    grant = c.grant()
    (rid,) = _run_jobs(c, c.dataset, approved, grant, [None])
    real = _entry(c, rid)
    assert real.job is not None
    anchored = {**real.job.document, "job": "hidden", "algorithm": unapproved.lower()}  # what really ran
    hidden = ReceiptEntry(replace(real.receipt, receipt_id=f"{rid}-hidden", content_hash=evidence_digest(anchored)),
                          None, JobEvidence.from_dict({**anchored, "algorithm": approved.lower()}))
    code, findings, _ = _findings(tds, _auditor_file(c, tmp_path, [hidden]))
    assert code == 6
    (hit,) = [f for f in findings if f["code"] == "job_evidence_mismatch"]
    assert hit["subject"] == "job hidden" and "not the evidence the gateway wrote" in hit["message"]
    assert approved in hit["message"]
    honest = ReceiptEntry(hidden.receipt, None, JobEvidence.from_dict(anchored))  # the evidence that was anchored
    code, findings, _ = _findings(tds, _auditor_file(c, tmp_path, [honest]))
    assert code == 6 and [f["subject"] for f in findings if f["code"] == "job_algorithm_not_approved"] == [
        "job hidden"]
    assert not [f for f in findings if f["code"] == "job_evidence_mismatch"]


def test_spending_on_after_the_provider_lowered_the_budget_is_caught(compute_env: ComputeEnv, tds: Any,
                                                                   tmp_path: Path) -> None:
    """Budgets are judged at each job's time: what was spent under the old budget stands, a job after the provider
    lowered it that takes the grant over the new budget is a finding."""
    c = compute_env
    asset = c.gw.new_asset(COMPUTE_POLICY, data=b"name,region,income\na,north,1\nb,south,2\n").asset_id
    c.gw.gateway.compute_tx().set_budget(asset, 1_000_000)
    algorithm = c.algorithm(AGGREGATE, "dp_aggregate", values=DP)
    c.approve(algorithm, asset)
    grant = c.grant(asset_id=asset)
    first, second = _run_jobs(c, asset, algorithm, grant, [0.4, 0.4])
    tx = c.gw.gateway.compute_tx().set_budget(asset, 500_000)  # 0.8 already spent: nothing more may be
    lowered = int(c.gw.chain().w3.eth.get_block(tx["blockNumber"])["timestamp"])
    code, findings, _ = _findings(tds, _auditor_file(c, tmp_path))
    assert not [f for f in findings if f["code"] == "privacy_budget_exceeded"]  # not flagged after the fact
    real = _entry(c, second)
    assert real.job is not None
    doc = {**real.job.document, "job": "after-lowering", "epsilon_micros": 100_000}
    later = ReceiptEntry(replace(real.receipt, receipt_id=f"{second}-later", timestamp=lowered + 1,
                                 content_hash=evidence_digest(doc)), None, JobEvidence.from_dict(doc))
    code, findings, _ = _findings(tds, _auditor_file(c, tmp_path, [later]))
    assert code == 6
    (hit,) = [f for f in findings if f["code"] == "privacy_budget_exceeded"]
    assert hit["subject"] == f"grant {grant}"
    assert "spent epsilon 0.9 (0.4 + 0.4 + 0.1)" in hit["message"]
    assert "per-grant privacy budget of epsilon 0.5 then (set " + time.strftime(
        "%Y-%m-%d %H:%M:%S UTC", time.gmtime(lowered)) in hit["message"]
    assert "job after-lowering" in hit["message"] and first != second


def test_a_budget_beyond_sqlite_integers_does_not_break_the_index(compute_env: ComputeEnv, tds: Any) -> None:
    """A provider sets the largest uint64 budget (above SQLite's 2**63 - 1): the index takes it whole."""
    c = compute_env
    asset = c.gw.new_asset(COMPUTE_POLICY, data=b"name,income\na,1\n").asset_id
    c.gw.gateway.compute_tx().set_budget(asset, 2**64 - 1)
    code, out, err = tds("audit", "index")
    assert code == 0, out + err
    code, out, err = tds("audit", "asset", asset, "--json")
    assert code == 0, err
    assert [b["epsilon_micros"] for b in json.loads(out)["budgets"]] == [2**64 - 1]
    code, out, _ = tds("audit", "asset", asset)
    assert code == 0 and "epsilon 18446744073709.551615 per grant" in out


def test_a_tampered_copy_beside_the_real_line_is_still_caught(compute_env: ComputeEnv, tds: Any,
                                                              tmp_path: Path) -> None:
    """The real line of a job and, further down, the same receipt with evidence rewritten (to hide its spending):
    the duplicate is not silently dropped."""
    c = compute_env
    algorithm = c.approved_algorithm(AGGREGATE, "dp_aggregate", values=DP)
    (rid,) = _run_jobs(c, c.dataset, algorithm, c.grant(), [0.2])
    real = _entry(c, rid)
    assert real.job is not None
    copy = replace(real, job=JobEvidence.from_dict({**real.job.document, "epsilon_micros": 0}))
    code, findings, _ = _findings(tds, _auditor_file(c, tmp_path, [copy]))
    assert code == 6
    assert [f["subject"] for f in findings if f["code"] == "job_evidence_mismatch"] == [f"job {real.job.job_id}"]
    assert any(f["code"] == "duplicate_receipt" and f["subject"] == rid for f in findings)
