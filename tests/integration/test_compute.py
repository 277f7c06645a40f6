"""Compute-to-data end to end: a real devnet (ComputePolicies), the gateway over HTTP, real bubblewrap
sandboxes. A consumer with a compute grant gets an approved algorithm's result, never the rows."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time

import httpx
import pytest

from client.sdk import GatewayClientError
from domain.types import Policy
from notary.calls import evidence_digest
from tests.integration.compute_fixtures import AGGREGATE, ComputeEnv, compute_env  # noqa: F401  (fixture)
from tests.integration.gateway_fixtures import gw_env  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed "
                                 "(./scripts/bootstrap installs it; .ci/run fails without it)")]
DP = {"total": 200000.0, "count": 1.0}


def test_an_exact_aggregate_runs_and_its_receipt_carries_the_evidence(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm(AGGREGATE, "json")
    grant = compute_env.grant(max_count=3)
    with compute_env.gw.client("consumer") as c:
        job = c.submit_job(compute_env.dataset, algo, {"column": "income"}, grant_id=grant)
        assert job["state"] in ("queued", "running", "succeeded") and job["grant_id"] == grant
        done = c.wait_job(job["job_id"], timeout_s=60)
        assert done["state"] == "succeeded", done
        result = json.loads(c.job_result(job["job_id"]))
        incomes = [int(line.split(",")[2]) for line in compute_env.raw.decode().splitlines()[1:]]
        assert result == {"total": float(sum(incomes)), "count": len(incomes)}
        assert b"person-" not in c.job_result(job["job_id"])
        assert done["output"]["sha256"] == "0x" + hashlib.sha256(c.job_result(job["job_id"])).hexdigest()
        assert done["resources"]["cpu_s"] > 0 and done["finished"].endswith("UTC")
        receipt = c.receipt(done["receipt_id"])
        evidence = receipt["job"]
        assert evidence["v"] == "tds-job/1" and evidence["algorithm"] == algo.lower()
        assert evidence["input_sha256"] == compute_env.dataset.lower() and evidence["epsilon_micros"] == 0
        assert receipt["receipt"]["content_hash"] == evidence_digest(evidence)
        assert evidence["output_sha256"] == done["output"]["sha256"]


def test_dp_jobs_spend_the_budget_until_it_is_refused(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm(AGGREGATE, "dp_aggregate", values=DP)
    grant = compute_env.grant(max_count=10)
    gw = compute_env.gw.gateway
    with compute_env.gw.client("consumer") as c:
        released = []
        for _ in range(2):
            job = c.wait_job(c.submit_job(compute_env.dataset, algo, {}, epsilon=0.4, grant_id=grant)["job_id"])
            assert job["state"] == "succeeded" and job["epsilon"] == 0.4, job
            doc = json.loads(c.job_result(job["job_id"]))
            assert doc["mechanism"] == "laplace" and set(doc["values"]) == {"total", "count"}
            released.append(doc["values"]["count"])
            assert c.receipt(job["receipt_id"])["job"]["epsilon_micros"] == 400_000
        assert released[0] != released[1]  # noise, not the exact count
        used = gw.db.used(grant)
        with pytest.raises(GatewayClientError) as err:
            c.submit_job(compute_env.dataset, algo, {}, epsilon=0.4, grant_id=grant)
        assert err.value.code == "privacy_budget_exhausted" and "0.2 left of 1" in str(err.value)
        assert gw.db.used(grant) == used and gw.db.privacy_spent(grant) == 800_000  # nothing changed
        job = c.wait_job(c.submit_job(compute_env.dataset, algo, {}, epsilon=0.2, grant_id=grant)["job_id"])
        assert job["state"] == "succeeded" and gw.db.privacy_spent(grant) == 1_000_000
        with pytest.raises(GatewayClientError) as err:
            c.submit_job(compute_env.dataset, algo, {}, grant_id=grant)
        assert err.value.code == "job_params_invalid" and "epsilon" in str(err.value)


def test_a_failed_job_shows_its_log_and_status_and_releases_nothing(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm("""
        import sys
        print("reading the data", file=sys.stderr)
        raise SystemExit(3)
    """)
    with compute_env.gw.client("consumer") as c:
        job = c.wait_job(c.submit_job(compute_env.dataset, algo, {}, grant_id=compute_env.grant())["job_id"])
        assert job["state"] == "failed" and job["exit_status"] == 3 and "status 3" in job["problem"]
        assert "reading the data" in c.job(job["job_id"], logs=True)["log"]
        with pytest.raises(GatewayClientError) as err:
            c.job_result(job["job_id"])
        assert err.value.status == 409 and err.value.code == "result_not_ready"


def test_the_raw_data_is_never_served(compute_env: ComputeEnv) -> None:
    compute_env.grant()
    out = compute_env.gw.home / "stolen.csv"
    with compute_env.gw.client("consumer") as c:
        with pytest.raises(GatewayClientError) as err:
            c.fetch(compute_env.dataset, out)
    assert err.value.code == "compute_only" and (not out.exists() or out.stat().st_size == 0)


def test_a_job_can_be_cancelled_and_a_queued_cancel_is_not_charged(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm("import time\ntime.sleep(30)\n",
                                          resources={"wall_s": 60, "cpu_s": 5})
    grant = compute_env.grant()
    db = compute_env.gw.gateway.db
    workers = compute_env.gw.gateway.settings.compute_workers
    with compute_env.gw.client("consumer") as c:
        running = [c.submit_job(compute_env.dataset, algo, {}, grant_id=grant)["job_id"] for _ in range(workers)]
        queued = c.submit_job(compute_env.dataset, algo, {}, grant_id=grant)["job_id"]
        assert db.used(grant) == workers + 1
        done = c.cancel_job(queued)  # the workers are busy: it never started
        assert done["state"] == "cancelled" and done["started"] is None, done
        assert db.used(grant) == workers  # its use is given back
        for job_id in running:
            done = c.cancel_job(job_id)
            assert done["state"] == "cancelled", done
        assert db.used(grant) == workers  # a job that ran (and was stopped) used its count
        with pytest.raises(GatewayClientError) as err:
            c.job_result(queued)
        assert err.value.status == 409 and "cancelled" in str(err.value)


def test_a_result_is_deleted_after_its_retention(compute_env: ComputeEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.jobs import result_path

    gw = compute_env.gw.gateway
    monkeypatch.setattr(gw, "settings", dataclasses.replace(gw.settings, compute_result_retention_s=1))
    algo = compute_env.approved_algorithm(AGGREGATE)
    with compute_env.gw.client("consumer") as c:
        job = c.wait_job(c.submit_job(compute_env.dataset, algo, {}, grant_id=compute_env.grant())["job_id"])
        assert job["state"] == "succeeded" and job["output"]["expires"].endswith("UTC")
        assert result_path(gw, job["job_id"]).exists()
        deadline = time.monotonic() + 10
        while c.job(job["job_id"])["output"]["available"] and time.monotonic() < deadline:
            time.sleep(0.2)
        with pytest.raises(GatewayClientError) as err:
            c.job_result(job["job_id"])
        assert err.value.status == 410 and "run the job again" in str(err.value)
    assert not result_path(gw, job["job_id"]).exists()


def test_bad_bodies_get_clear_errors_and_change_nothing(compute_env: ComputeEnv) -> None:
    gw = compute_env.gw
    for body, code in ((b"[1]", "job_params_invalid"), (b"{not json", "malformed_json"),
                       (json.dumps({"asset_id": compute_env.dataset, "algorithm": "0x12"}).encode(), "invalid_id"),
                       (json.dumps({"asset_id": compute_env.dataset, "algorithm": "0x" + "ab" * 32,
                                    "params": {"x": [1, 2]}}).encode(), "job_params_invalid")):
        headers = {**gw.sign("consumer", "POST", "/compute/jobs", body), "Content-Type": "application/json"}
        resp = httpx.post(f"{gw.url}/compute/jobs", content=body, headers=headers)
        assert resp.json()["error"]["code"] == code, (body, resp.text)
        assert resp.status_code in (400, 422)


def test_the_job_routes_are_documented(compute_env: ComputeEnv) -> None:
    doc = httpx.get(f"{compute_env.gw.url}/openapi.json").json()
    for path in ("/compute/jobs", "/compute/jobs/{job_id}", "/compute/jobs/{job_id}/result",
                 "/compute/jobs/{job_id}/cancel"):
        assert path in doc["paths"]


def test_a_raw_access_asset_runs_no_job(compute_env: ComputeEnv) -> None:
    reg = compute_env.gw.new_asset(Policy(auto_approve=True, max_count=5), data=b"a,b\n1,2\n")
    algo = compute_env.algorithm(AGGREGATE)
    compute_env.approve(algo, reg.asset_id)
    grant = compute_env.grant(asset_id=reg.asset_id, max_count=5)
    with compute_env.gw.client("consumer") as c:
        with pytest.raises(GatewayClientError) as err:
            c.submit_job(reg.asset_id, algo, {}, grant_id=grant)
    assert err.value.code == "not_compute_only"
    assert compute_env.gw.gateway.db.used(grant) == 0


def test_a_long_poll_answers_when_the_job_ends(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm("import time, json, os\ntime.sleep(1.5)\n"
                                          "json.dump({'ok': 1}, open(os.environ['TDS_OUTPUT'], 'w'))\n")
    with compute_env.gw.client("consumer") as c:
        job = c.submit_job(compute_env.dataset, algo, {}, grant_id=compute_env.grant())
        started = time.monotonic()
        done = c.job(job["job_id"], wait_s=20)
        waited = time.monotonic() - started
        assert done["state"] == "succeeded", done
        assert waited < 15  # answered at the job's end, not at the end of the wait
        assert c.job(job["job_id"], wait_s=20)["state"] == "succeeded"  # an ended job answers at once
    gw = compute_env.gw
    for wait in ("31", "-1", "nan"):
        target = f"/compute/jobs/{job['job_id']}?wait={wait}"
        resp = httpx.get(gw.url + target, headers=gw.sign("consumer", "GET", target))
        assert resp.status_code == 422 and resp.json()["error"]["code"], resp.text
    target = f"/compute/jobs/{job['job_id']}?wait=5"
    started = time.monotonic()
    resp = httpx.get(gw.url + target, headers=gw.sign("consumer2", "GET", target))
    assert resp.status_code == 404 and time.monotonic() - started < 3  # another consumer: not found, no wait
