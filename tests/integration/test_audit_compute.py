"""The auditor and compute-to-data on a real devnet: ComputePolicies events indexed, jobs in an asset's history, its
grant's and its report, and ``tds audit check`` replaying approvals and budgets against the jobs' evidence.

The receipts file is what an auditor holds: the gateway's export (GET /receipts/export, what `tds audit receipts`
saves), whose job receipts carry their ``job`` evidence as GET /receipts/{id} returns it.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from audit.db import IndexDb
from audit.receipts import JobEvidence, ReceiptEntry, dump_receipts, parse_line
from notary.jobs import evidence_digest
from tests.integration.compute_fixtures import AGGREGATE, ComputeEnv, compute_env  # noqa: F401  (fixture)
from tests.integration.gateway_fixtures import gw_env  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed "
                                 "(./scripts/bootstrap installs it; .ci/run fails without it)")]
DP = {"total": 200000.0, "count": 1.0}
COMPUTE_CODES = {"job_evidence_mismatch", "job_algorithm_not_approved", "privacy_budget_exceeded", "jobs_unchecked"}
UNIX_SECONDS = re.compile(r"(?<![0-9a-fx])1[5-9]\d{8}(?![0-9a-f])")  # a bare unix time in a message


@dataclass
class History:
    """On the compute-only dataset (budget epsilon 1 per grant): an exact algorithm approved then withdrawn, a
    private one approved, one never approved; grant ``g`` ran one exact and two private jobs (epsilon 0.4 each),
    grant ``g2`` ran none. ``entries`` is the auditor's receipts file (every job receipt with its evidence)."""

    env: ComputeEnv
    exact: str
    private: str
    never: str
    g: str
    g2: str
    jobs: list[dict[str, Any]]
    entries: list[ReceiptEntry]
    withdrawn_at: int

    def title(self, asset_id: str) -> str:
        doc = self.env.gw.gateway.metadata.get(asset_id)
        assert doc is not None
        return str(doc["title"])

    def named(self, asset_id: str) -> str:
        """How the CLI names an asset: its hash with its title beside it."""
        return f"{asset_id} ({self.title(asset_id)})"

    def job_entry(self, n: int) -> ReceiptEntry:
        return next(e for e in self.entries if e.job is not None and e.job.job_id == self.jobs[n]["job_id"])


def _auditor_file(env: ComputeEnv) -> list[ReceiptEntry]:
    """The export as the auditor gets it; each job line's evidence is the one GET /receipts/{id} shows."""
    entries = []
    with env.gw.client("provider") as a:  # the provider and auditors may export
        for line in a.get_signed("/receipts/export").text.splitlines():
            data = json.loads(line)
            assert data.get("job") == a.receipt(data["receipt"]["receipt_id"]).get("job")
            entries.append(parse_line(line))
    return entries


@pytest.fixture(scope="module")
def history(compute_env: ComputeEnv) -> History:
    env = compute_env
    exact = env.approved_algorithm(AGGREGATE, "json")
    private = env.approved_algorithm(AGGREGATE, "dp_aggregate", values=DP)
    never = env.algorithm(AGGREGATE)
    g, g2 = env.grant(max_count=10), env.grant(max_count=10)
    jobs = []
    with env.gw.client("consumer") as c:
        for algorithm, epsilon in ((exact, None), (private, 0.4), (private, 0.4)):
            submitted = c.submit_job(env.dataset, algorithm, {"column": "income"}, epsilon=epsilon, grant_id=g)
            done = c.wait_job(submitted["job_id"], timeout_s=60)
            assert done["state"] == "succeeded", done
            jobs.append(done)
    tx = env.gw.gateway.compute_tx().set_approval(env.dataset, exact, False)
    withdrawn_at = int(env.gw.chain().w3.eth.get_block(tx["blockNumber"])["timestamp"])
    notary = env.gw.gateway.notary()
    notary.seal_all()
    notary.anchor_sealed()
    entries = _auditor_file(env)
    assert sum(e.job is not None for e in entries) == 3
    return History(env, exact, private, never, g, g2, jobs, entries, withdrawn_at)


@pytest.fixture()
def tds(history: History, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """``tds --home <gateway home> ARGS``: (exit code, stdout, stderr)."""
    from cli.main import main

    monkeypatch.setenv("TDS_RPC_URL", history.env.gw.devnet.rpc_url)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--home", str(history.env.gw.home), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    yield run


def _file(tmp_path: Path, entries: list[ReceiptEntry], name: str = "receipts.jsonl") -> str:
    path = tmp_path / name
    dump_receipts(entries, path)
    return str(path)


def _forged(h: History, n: int, tag: str, *, algorithm: str | None = None, grant: str | None = None,
            epsilon_micros: int | None = None, at: int | None = None) -> ReceiptEntry:
    """A receipt of a job that never happened, modelled on real job ``n``: its evidence is consistent (the receipt's
    content hash is its SHA-256), only what it says is forged. Not anchored."""
    real = h.job_entry(n)
    assert real.job is not None
    doc = {**real.job.document, "job": f"forged-{tag}"}
    if algorithm is not None:
        doc["algorithm"] = algorithm.lower()
    if grant is not None:
        doc["grant"] = grant.lower()
    if epsilon_micros is not None:
        doc["epsilon_micros"] = epsilon_micros
    receipt = replace(real.receipt, receipt_id=f"{real.receipt.receipt_id}-{tag}", grant_id=doc["grant"],
                      timestamp=at if at is not None else real.receipt.timestamp, content_hash=evidence_digest(doc))
    return ReceiptEntry(receipt, None, JobEvidence.from_dict(doc))


def _lines(out: str, code: str) -> list[str]:
    return [line for line in out.splitlines() if f" {code} " in line]


def test_compute_policy_events_are_indexed_with_their_blocks_and_times(history: History, tds: Any) -> None:
    code, out, err = tds("audit", "asset", history.env.dataset, "--json")
    assert code == 0, err
    data = json.loads(out)
    approvals = [(a["algorithm_id"], a["approved"]) for a in data["approvals"]]
    assert approvals == [(history.exact, True), (history.private, True), (history.exact, False)]
    provider = history.env.gw.gateway.provider_address
    assert {a["by"] for a in data["approvals"]} == {provider} and all(a["by_did"].startswith("did:pkh:")
                                                                       for a in data["approvals"])
    assert data["approvals"][-1]["at"]["timestamp"] == history.withdrawn_at
    assert [b["epsilon_micros"] for b in data["budgets"]] == [1_000_000]
    assert all(x["at"]["block"] > 0 and x["at"]["tx"].startswith("0x") for x in data["approvals"] + data["budgets"])
    kinds = [t["kind"] for t in data["timeline"]]
    assert kinds.count("algorithm_approved") == 2 and kinds.count("algorithm_rejected") == 1
    assert "privacy_budget" in kinds and data["jobs"] == []  # no receipts given: no jobs


def test_an_asset_history_shows_one_line_per_job(history: History, tds: Any, tmp_path: Path) -> None:
    rf = _file(tmp_path, history.entries)
    code, out, err = tds("audit", "asset", history.env.dataset, "--receipts", rf)
    assert code == 0, err
    section = out[out.index("compute jobs"):out.index("timeline")]
    rows = [line for line in section.splitlines() if any(j["job_id"] in line for j in history.jobs)]
    assert len(rows) == 3
    consumer = history.env.gw.account("consumer").address
    for row, job, (algorithm, epsilon) in zip(rows, history.jobs, ((history.exact, "0"), (history.private, "0.4"),
                                                                  (history.private, "0.4"))):
        assert job["job_id"] in row and history.named(algorithm) in row and "succeeded" in row
        assert f"did:pkh:eip155:{history.env.gw.gateway.chain_id}:{consumer}" in row
        assert re.search(rf"\s{re.escape(epsilon)}\s", row), row
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", row), row
    assert re.search(rf"approved algorithms\s+{re.escape(history.named(history.private))}\n", out), out
    assert re.search(rf"withdrawn approvals\s+{re.escape(history.named(history.exact))}\n", out), out
    assert re.search(r"privacy budget\s+epsilon 1 per grant \(set \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", out), out
    assert "algorithm rejected" in out and history.named(history.exact) in out[out.index("timeline"):]
    js = json.loads(tds("audit", "asset", history.env.dataset, "--receipts", rf, "--json")[1])
    assert [(j["algorithm_id"], j["epsilon_micros"], j["state"], j["approved"], j["evidence_matches"])
            for j in js["jobs"]] == [(history.exact, 0, "succeeded", True, True),
                                     (history.private, 400_000, "succeeded", True, True),
                                     (history.private, 400_000, "succeeded", True, True)]
    code, out, _ = tds("audit", "grant", history.g, "--receipts", rf)
    assert code == 0 and re.search(r"compute jobs\s+3, epsilon 0\.8 spent", out), out
    assert all(j["job_id"] in out for j in history.jobs)


def test_the_report_has_the_compute_section(history: History, tds: Any, tmp_path: Path) -> None:
    rf = _file(tmp_path, history.entries)
    page = tmp_path / "report.html"
    code, _, err = tds("audit", "report", history.env.dataset, "-o", str(page), "--receipts", rf)
    assert code == 0, err
    html = page.read_text()
    compute = html[html.index("<h2>Compute</h2>"):html.index("<h2>Registration</h2>")]
    for job in history.jobs:
        assert job["job_id"] in compute
    assert compute.count("<tr>") == 4  # the header and one line per job
    assert history.title(history.private) in compute and history.title(history.exact) in compute
    assert "withdrew the approval of" in compute and "per-grant privacy budget epsilon 1" in compute
    assert "<td>0.4</td>" in compute and "succeeded" in compute and "UTC" in compute
    data = json.loads(tds("audit", "report", history.env.dataset, "--format", "json", "--receipts", rf)[1])
    assert data["titles"][history.private] == history.title(history.private)
    assert len(data["history"]["jobs"]) == 3


def test_a_clean_compute_history_gives_no_compute_findings(history: History, tds: Any, tmp_path: Path) -> None:
    rf = _file(tmp_path, history.entries)
    code, out, err = tds("audit", "check", "--receipts", rf)
    assert code == 0, out + err
    assert "ERROR" not in out and not any(f" {c} " in out for c in COMPUTE_CODES), out
    assert "3 jobs" in err
    report = json.loads(tds("audit", "check", "--receipts", rf, "--json")[1])
    assert report["ok"] and report["counted"]["jobs"] == 3
    assert not {f["code"] for f in report["findings"]} & COMPUTE_CODES
    # without the evidence the jobs are not checked, and the check says so
    bare = [ReceiptEntry(e.receipt, e.proof) for e in history.entries]
    code, out, _ = tds("audit", "check", "--receipts", _file(tmp_path, bare, "bare.jsonl"))
    assert code == 0
    (note,) = _lines(out, "jobs_unchecked")
    assert note.startswith("INFO jobs_unchecked 3 receipt(s)") and history.named(history.env.dataset) in note


def test_forged_jobs_each_give_their_finding(history: History, tds: Any, tmp_path: Path) -> None:
    h = history
    now = int(time.time())
    unapproved = _forged(h, 0, "never", algorithm=h.never, at=now)
    after_withdrawal = _forged(h, 0, "withdrawn", algorithm=h.exact, at=h.withdrawn_at + 1)
    overspent = [_forged(h, 1, f"spend{i}", grant=h.g2, at=now + i) for i in range(3)]  # 3 x 0.4 > 1
    tampered_real = h.job_entry(2)
    assert tampered_real.job is not None
    hidden = {**tampered_real.job.document, "epsilon_micros": 0}  # the gateway hides what the job spent
    tampered = replace(tampered_real, job=JobEvidence.from_dict(hidden))
    entries = [tampered if e is tampered_real else e for e in h.entries]
    entries += [unapproved, after_withdrawal, *overspent]
    rf = _file(tmp_path, entries, "forged.jsonl")
    code, out, err = tds("audit", "check", "--receipts", rf)
    assert code == 6, out + err
    assert "FAILED" in err

    consumer = h.env.gw.account("consumer").address
    dataset = h.named(h.env.dataset)
    (never,) = [x for x in _lines(out, "job_algorithm_not_approved") if "forged-never" in x]
    assert never.startswith("ERROR job_algorithm_not_approved job forged-never: ")
    assert f"algorithm {h.named(h.never)} on asset {dataset}" in never
    assert time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now)) in never
    assert consumer in never and "it was never approved on this asset" in never

    (withdrawn,) = [x for x in _lines(out, "job_algorithm_not_approved") if "forged-withdrawn" in x]
    assert f"algorithm {h.named(h.exact)} on asset {dataset}" in withdrawn
    assert (f"its approval was withdrawn {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(h.withdrawn_at))}"
            in withdrawn)

    (spent,) = _lines(out, "privacy_budget_exceeded")
    assert spent.startswith(f"ERROR privacy_budget_exceeded grant {h.g2}: its jobs on asset {dataset}")
    assert "spent epsilon 1.2 (0.4 + 0.4 + 0.4)" in spent and "per-grant privacy budget of epsilon 1 then" in spent
    assert "job forged-spend2" in spent and h.named(h.private) in spent

    (mismatch,) = _lines(out, "job_evidence_mismatch")
    assert mismatch.startswith(f"ERROR job_evidence_mismatch job {h.jobs[2]['job_id']}: ")
    assert f"receipt {tampered.receipt.receipt_id}" in mismatch and tampered.receipt.content_hash in mismatch
    assert "epsilon 0," in mismatch and "not the evidence the gateway wrote" in mismatch

    assert len(_lines(out, "job_algorithm_not_approved")) == 2  # the real jobs were approved when they ran
    for line in out.splitlines():
        if any(f" {c} " in line for c in COMPUTE_CODES):
            assert not UNIX_SECONDS.search(line), line  # dates, not unix seconds
    report = json.loads(tds("audit", "check", "--receipts", rf, "--json")[1])
    codes = [f["code"] for f in report["findings"] if f["code"] in COMPUTE_CODES]
    assert sorted(codes) == ["job_algorithm_not_approved", "job_algorithm_not_approved", "job_evidence_mismatch",
                             "privacy_budget_exceeded"]

    js = json.loads(tds("audit", "asset", h.env.dataset, "--receipts", rf, "--json")[1])
    marks = {j["job_id"]: (j["approved"], j["evidence_matches"]) for j in js["jobs"]}
    assert marks["forged-never"] == (False, True) and marks[h.jobs[2]["job_id"]] == (None, False)
    _, text, _ = tds("audit", "asset", h.env.dataset, "--receipts", rf)
    assert "algorithm not approved then" in text and "evidence does not match its receipt" in text


def test_a_malformed_job_evidence_is_refused_naming_the_line(history: History, tds: Any, tmp_path: Path) -> None:
    path = Path(_file(tmp_path, history.entries))
    lines = path.read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if '"job"' in line)
    data = json.loads(lines[n])
    data["job"]["epsilon_micros"] = "lots"
    lines[n] = json.dumps(data)
    path.write_text("\n".join(lines) + "\n")
    code, _, err = tds("audit", "check", "--receipts", str(path))
    assert code == 1 and f"{path}:{n + 1}" in err and "epsilon_micros" in err


def test_an_index_from_before_compute_gets_its_rows_back(history: History, tds: Any, tmp_path: Path) -> None:
    assert tds("audit", "index")[0] == 0
    db = history.env.gw.home / "audit.db"
    old = tmp_path / "old.db"
    with sqlite3.connect(db) as src, sqlite3.connect(old) as dst:
        src.backup(dst)

    def rows(path: Path) -> list[list[Any]]:
        with sqlite3.connect(path) as conn:
            return [conn.execute(f"SELECT * FROM {t} ORDER BY block_number, log_index").fetchall()  # noqa: S608
                    for t in ("compute_approvals", "privacy_budgets")]

    with sqlite3.connect(old) as conn:  # as revision 0002 left it: the events in `events` only
        conn.executescript("DROP TABLE compute_approvals; DROP TABLE privacy_budgets;"
                           "UPDATE audit_alembic_version SET version_num = '0002';")
    IndexDb.open(f"sqlite:///{old}").dispose()
    expected = rows(db)
    assert len(expected[0]) == 3 and len(expected[1]) >= 1
    strip = [[r[:4] + r[5:] for r in table] for table in expected]  # ids may be numbered differently
    assert [[r[:4] + r[5:] for r in table] for table in rows(old)] == strip
