"""Attacks on compute-to-data through the gateway (real devnet, real HTTP, real sandboxes).

Each is refused or fails, nothing of the input leaves, nothing is charged that should not be, and the
gateway keeps serving: unapproved, rejected and modified algorithms, another consumer's grant or job,
results fetched by someone else, a job that reaches for the network, and two jobs racing for the last
count or the last epsilon.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading

import httpx
import pytest

from client.sdk import GatewayClientError
from tests.integration.compute_fixtures import (  # noqa: F401  (compute_env: fixture)
    AGGREGATE, COMPUTE_POLICY, ComputeEnv, compute_env)
from tests.integration.gateway_fixtures import gw_env  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed "
                                 "(./scripts/bootstrap installs it; .ci/run fails without it)")]
DUMP = """
import os, shutil
shutil.copyfile(os.environ["TDS_INPUT"], os.environ["TDS_OUTPUT"])
"""


def _refused(env: ComputeEnv, who: str, algo: str, code: str, grant: str | None = None, **kw: object) -> None:
    with env.gw.client(who) as c:
        with pytest.raises(GatewayClientError) as err:
            c.submit_job(env.dataset, algo, {}, grant_id=grant, **kw)  # type: ignore[arg-type]
    assert err.value.code == code, err.value


def test_an_unapproved_algorithm_that_dumps_the_rows_is_refused(compute_env: ComputeEnv) -> None:
    algo = compute_env.algorithm(DUMP, "csv", max_bytes=1 << 20)
    grant = compute_env.grant()
    _refused(compute_env, "consumer", algo, "algorithm_not_approved", grant)
    assert compute_env.gw.gateway.db.used(grant) == 0
    denies = compute_env.gw.gateway.db.accesses(grant_id=grant, decision="deny")
    assert denies and denies[-1].code == "algorithm_not_approved"


def test_a_rejected_algorithm_is_refused_from_the_next_block(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm(AGGREGATE)
    compute_env.gw.gateway.compute_tx().set_approval(compute_env.dataset, algo, False)
    _refused(compute_env, "consumer", algo, "algorithm_not_approved", compute_env.grant())


def test_an_algorithm_hash_nobody_registered_is_refused(compute_env: ComputeEnv) -> None:
    _refused(compute_env, "consumer", "0x" + "5a" * 32, "algorithm_not_approved", compute_env.grant())


def test_a_modified_stored_algorithm_does_not_run(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm(AGGREGATE)
    store = compute_env.gw.gateway.store
    stored = store.root / algo[2:].lower() / "data.bin"  # vault.store's layout
    raw = bytearray(stored.read_bytes())
    raw[-40] ^= 0xFF  # flip a byte of the encrypted bundle
    stored.write_bytes(bytes(raw))
    grant = compute_env.grant()
    with compute_env.gw.client("consumer") as c:
        with pytest.raises(GatewayClientError) as err:
            c.submit_job(compute_env.dataset, algo, {}, grant_id=grant)
    assert err.value.code == "stored_file_tampered"
    assert compute_env.gw.gateway.db.used(grant) == 0


def test_another_consumers_grant_cannot_run_a_job(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm(AGGREGATE)
    theirs = compute_env.grant("consumer")
    _refused(compute_env, "consumer2", algo, "grant_not_yours", theirs)
    assert compute_env.gw.gateway.db.used(theirs) == 0


def test_results_and_jobs_are_invisible_to_anyone_else(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm(AGGREGATE)
    with compute_env.gw.client("consumer") as c:
        job = c.wait_job(c.submit_job(compute_env.dataset, algo, {}, grant_id=compute_env.grant())["job_id"])
    assert job["state"] == "succeeded"
    for who in ("consumer2", "provider2"):
        with compute_env.gw.client(who) as other:
            for call in (lambda: other.job(job["job_id"]), lambda: other.job_result(job["job_id"])):
                with pytest.raises(GatewayClientError) as err:
                    call()
                expected = "job_not_found" if who == "consumer2" else "not_member"  # provider2 is no consumer
                assert err.value.code == expected, err.value
    unsigned = httpx.get(f"{compute_env.gw.url}/compute/jobs/{job['job_id']}/result")
    assert unsigned.status_code == 401 and b"total" not in unsigned.content


def test_a_job_reaching_for_the_network_fails_and_nothing_arrives(compute_env: ComputeEnv) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    algo = compute_env.approved_algorithm(f"""
        import os, socket
        s = socket.create_connection(("127.0.0.1", {port}), timeout=2)
        s.sendall(open(os.environ["TDS_INPUT"], "rb").read())
    """)
    try:
        with compute_env.gw.client("consumer") as c:
            job = c.wait_job(c.submit_job(compute_env.dataset, algo, {}, grant_id=compute_env.grant())["job_id"])
            assert job["state"] == "failed" and job["output"]["available"] is False, job
            assert "Connection refused" in c.job(job["job_id"], logs=True)["log"] or "unreachable" in \
                c.job(job["job_id"], logs=True)["log"]
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert httpx.get(f"{compute_env.gw.url}/health").status_code == 200


def test_a_dump_of_the_rows_as_dp_output_is_refused(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm(DUMP, "dp_aggregate", values={"total": 1.0})
    with compute_env.gw.client("consumer") as c:
        job = c.wait_job(c.submit_job(compute_env.dataset, algo, {}, epsilon=0.1,
                                      grant_id=compute_env.grant())["job_id"])
    assert job["state"] == "failed" and "output_" in job["problem"] and job["output"]["sha256"] is None
    assert job["epsilon"] == 0.1  # asked; given back since nothing was released:
    assert compute_env.gw.gateway.db.privacy_spent(job["grant_id"]) == 0


def _race(env: ComputeEnv, algo: str, grant: str, epsilon: float | None) -> list[str]:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def go() -> None:
        with env.gw.client("consumer") as c:
            barrier.wait()
            try:
                c.submit_job(env.dataset, algo, {}, grant_id=grant, epsilon=epsilon)
                outcomes.append("ok")
            except GatewayClientError as exc:
                outcomes.append(exc.code)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return sorted(outcomes)


def test_two_jobs_racing_for_the_last_count(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm(AGGREGATE)
    grant = compute_env.grant(max_count=1)
    assert _race(compute_env, algo, grant, None) == ["count_exhausted", "ok"]
    assert compute_env.gw.gateway.db.used(grant) == 1


def test_two_jobs_racing_for_the_last_epsilon(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm(AGGREGATE, "dp_aggregate", values={"total": 200000.0, "count": 1.0})
    grant = compute_env.grant(max_count=5)
    assert _race(compute_env, algo, grant, 0.6) == ["ok", "privacy_budget_exhausted"]
    assert compute_env.gw.gateway.db.privacy_spent(grant) <= 1_000_000
    assert compute_env.gw.gateway.db.used(grant) == 1


def test_a_job_cannot_pick_its_own_epsilon_on_an_exact_algorithm(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm(AGGREGATE)
    _refused(compute_env, "consumer", algo, "job_params_invalid", compute_env.grant(), epsilon=0.5)


def test_a_suspended_consumer_runs_nothing(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm(AGGREGATE)
    with compute_env.gw.client("suspended") as c:
        with pytest.raises(GatewayClientError) as err:
            c.submit_job(compute_env.dataset, algo, {})
    assert err.value.code in ("participant_suspended", "not_member")


def test_the_params_reach_the_job_as_data_not_code(compute_env: ComputeEnv) -> None:
    algo = compute_env.approved_algorithm("""
        import json, os
        p = json.load(open(os.environ["TDS_PARAMS"]))
        json.dump({"seen": p}, open(os.environ["TDS_OUTPUT"], "w"))
    """)
    evil = {"column": "__import__('os').system('id')", "n": 3}
    with compute_env.gw.client("consumer") as c:
        job = c.wait_job(c.submit_job(compute_env.dataset, algo, evil, grant_id=compute_env.grant())["job_id"])
        assert json.loads(c.job_result(job["job_id"])) == {"seen": evil}


def test_bombs_through_the_gateway_end_and_the_gateway_keeps_serving(compute_env: ComputeEnv) -> None:
    """A fork bomb, a memory bomb and an endless loop submitted together: each ends failed or timed out
    under its limits, none releases anything, and an honest job right after still gets its result."""
    small = {"cpu_s": 2, "wall_s": 4, "memory_mb": 128, "pids": 8}
    bombs = {
        "fork": compute_env.approved_algorithm("""
            import os
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
        """, resources=small),
        "memory": compute_env.approved_algorithm("""
            blocks = []
            while True:
                blocks.append(bytearray(64 << 20))
        """, resources=small),
        "loop": compute_env.approved_algorithm("""
            while True:
                pass
        """, resources=small),
    }
    grant = compute_env.grant(max_count=10)
    with compute_env.gw.client("consumer") as c:
        jobs = {name: c.submit_job(compute_env.dataset, algo, {}, grant_id=grant)["job_id"]
                for name, algo in bombs.items()}
        ended = {name: c.wait_job(job_id, timeout_s=60) for name, job_id in jobs.items()}
        for name, job in ended.items():
            assert job["state"] in ("failed", "timed_out"), (name, job)
            assert job["output"]["available"] is False and job["output"]["bytes"] == 0, (name, job)
            assert job["resources"]["wall_s"] < 15, (name, job)
        assert httpx.get(f"{compute_env.gw.url}/health").status_code == 200
        honest = compute_env.approved_algorithm(AGGREGATE)
        job = c.wait_job(c.submit_job(compute_env.dataset, honest, {}, grant_id=grant)["job_id"], timeout_s=60)
        assert job["state"] == "succeeded", job
        assert json.loads(c.job_result(job["job_id"]))["count"] == 200


def test_an_input_swapped_under_the_job_releases_nothing(compute_env: ComputeEnv,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoever could write a validly encrypted object (the master key's holder) could swap the plaintext the
    job reads: the whole-file hash, computed while the job runs, must catch it before anything is released."""
    import gateway.jobs as jobs

    real = jobs._decrypt

    def swapped(gw: object, asset_id: str, dest: object) -> None:
        real(gw, asset_id, dest)  # type: ignore[arg-type]
        with open(dest, "r+b") as fh:  # type: ignore[call-overload]
            fh.seek(20)
            fh.write(b"9")  # one digit of one income changed

    algo = compute_env.approved_algorithm(AGGREGATE)
    grant = compute_env.grant()
    db = compute_env.gw.gateway.db
    incidents = len(db.incidents())
    monkeypatch.setattr(jobs, "_decrypt", swapped)
    with compute_env.gw.client("consumer") as c:
        job = c.wait_job(c.submit_job(compute_env.dataset, algo, {}, grant_id=grant)["job_id"], timeout_s=60)
        assert job["state"] == "failed" and "does not match asset" in job["problem"], job
        assert job["output"]["available"] is False and job["output"]["sha256"] is None
        with pytest.raises(GatewayClientError):
            c.job_result(job["job_id"])
    assert db.used(grant) == 0  # the gateway's fault: not charged
    new = db.incidents()[incidents:]
    assert [i.kind for i in new] == ["stored_file_tampered"] and job["job_id"] in new[0].detail


def test_a_tampered_stored_input_fails_the_job_before_it_runs(compute_env: ComputeEnv) -> None:
    raw = compute_env.raw.replace(b"person-0001", b"person-9991")
    reg = compute_env.gw.new_asset(COMPUTE_POLICY, data=raw)
    compute_env.gw.gateway.compute_tx().set_budget(reg.asset_id, 1_000_000)
    algo = compute_env.approved_algorithm(AGGREGATE)
    compute_env.approve(algo, reg.asset_id)
    stored = compute_env.gw.gateway.store.root / reg.asset_id[2:].lower() / "data.bin"
    data = bytearray(stored.read_bytes())
    data[10] ^= 0x01  # a bit of the ciphertext: GCM fails on that chunk
    stored.write_bytes(bytes(data))
    grant = compute_env.grant(asset_id=reg.asset_id)
    with compute_env.gw.client("consumer") as c:
        job = c.wait_job(c.submit_job(reg.asset_id, algo, {}, grant_id=grant)["job_id"], timeout_s=60)
    assert job["state"] == "failed" and job["output"]["available"] is False, job
    assert "GCM" in job["problem"] or "tampered" in job["problem"], job
    assert compute_env.gw.gateway.db.used(grant) == 0
