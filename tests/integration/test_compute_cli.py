"""`tds algorithm`, `tds compute` and `tds consumer compute|job|cancel` as a person types them: a real
devnet, the gateway over HTTP, real sandboxes; what is printed and what exit code comes back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli.main import main as tds
from tests.integration.compute_fixtures import AGGREGATE, ComputeEnv, compute_env  # noqa: F401  (fixture)
from tests.integration.gateway_fixtures import gw_env  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed "
                                 "(./scripts/bootstrap installs it; .ci/run fails without it)")]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "compute"


def test_register_review_approve_run_and_see_the_budget_run_out(
        compute_env: ComputeEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    env = compute_env.gw
    monkeypatch.setenv("TDS_RPC_URL", env.devnet.rpc_url)
    home = ["--home", str(env.home)]
    consumer = [*home, "consumer", "--gateway", env.url]
    dataset = compute_env.dataset
    capsys.readouterr()

    assert tds([*home, "algorithm", "register", str(EXAMPLES / "income-stats"), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)["algorithm_id"]
    assert tds([*home, "algorithm", "register", str(EXAMPLES / "dump-rows"), "--json"]) == 0
    dump = json.loads(capsys.readouterr().out)["algorithm_id"]
    assert tds([*home, "algorithm", "list"]) == 0
    listed = capsys.readouterr().out
    assert "Income statistics (differentially private)" in listed and stats in listed and "dp_aggregate" in listed
    assert tds([*home, "algorithm", "show", dump, "--code"]) == 0
    shown = capsys.readouterr().out
    assert "shutil.copyfile" in shown and "Row export" in shown and "max output" in shown

    # a rejection of what was never approved changes nothing and says so
    assert tds([*home, "compute", "reject", dataset, dump]) == 1
    assert "already not approved" in capsys.readouterr().err
    assert tds([*home, "compute", "approve", dataset, stats]) == 0
    assert "algorithm approved" in capsys.readouterr().out
    assert tds([*home, "compute", "approve", dataset, stats]) == 1  # twice: nothing to change
    assert "already approved" in capsys.readouterr().err
    assert tds([*home, "compute", "policy", dataset, "--json"]) == 0
    policy = json.loads(capsys.readouterr().out)
    assert policy["epsilon_per_grant"] == 1.0
    assert [a["algorithm_id"] for a in policy["algorithms"] if a["approved"]] == [stats.lower()]

    compute_env.grant(max_count=5)
    out = tmp_path / "north.json"
    assert tds([*consumer, "compute", dataset, stats, "--param", "region=north", "--epsilon", "0.6", "--wait",
                "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert "job succeeded" in printed.out and "epsilon            0.6" in printed.out
    doc = json.loads(out.read_bytes())
    assert doc["mechanism"] == "laplace" and set(doc["values"]) == {"total", "count"}
    assert b"person-" not in out.read_bytes()

    assert tds([*consumer, "compute", dataset, dump, "--wait"]) == 4  # refused (403) before anything runs
    assert "algorithm_not_approved" in capsys.readouterr().err
    assert tds([*consumer, "compute", dataset, stats, "--epsilon", "0.5"]) == 4  # 0.4 is left
    refused = capsys.readouterr().err
    assert "privacy_budget_exhausted" in refused and "0.4 left of 1" in refused
    assert tds([*consumer, "compute", dataset, stats, "--epsilon", "0.4", "--json"]) == 0
    job = json.loads(capsys.readouterr().out)
    assert tds([*consumer, "job", job["job_id"], "--logs", "--json"]) == 0
    seen = json.loads(capsys.readouterr().out)
    assert seen["job_id"] == job["job_id"] and "log" in seen
    assert tds([*home, "compute", "jobs", "--asset", dataset, "--json"]) == 0
    jobs = json.loads(capsys.readouterr().out)["jobs"]
    assert sum(j["epsilon"] for j in jobs if j["state"] in ("succeeded", "queued", "running")) <= 1.0 + 1e-9
    assert tds([*consumer, "compute", dataset, stats, "-o", str(tmp_path / "x")]) == 2  # -o needs --wait


def test_a_failing_job_exits_5_and_prints_its_log(compute_env: ComputeEnv, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    env = compute_env.gw
    monkeypatch.setenv("TDS_RPC_URL", env.devnet.rpc_url)
    algo = compute_env.approved_algorithm("""
        import socket, sys
        try:
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        except OSError as exc:
            print(f"no network: {exc}", file=sys.stderr)
        raise SystemExit(7)
    """, "text")
    compute_env.grant()
    capsys.readouterr()
    code = tds(["--home", str(env.home), "consumer", "--gateway", env.url, "compute", compute_env.dataset, algo,
                "--wait"])
    printed = capsys.readouterr()
    assert code == 5, printed
    assert "job failed" in printed.out and "exited with status 7" in printed.out
    assert "no network:" in printed.err
    exact = compute_env.approved_algorithm(AGGREGATE)
    consumer = ["--home", str(env.home), "consumer", "--gateway", env.url, "compute", compute_env.dataset, exact,
                "--wait", "--json"]
    assert tds(consumer) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["state"] == "succeeded" and json.loads(doc["result"])["count"] == 200
    saved = env.home / "exact.json"
    assert tds([*consumer, "-o", str(saved)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["saved"] == str(saved) and doc["bytes_saved"] == saved.stat().st_size
    assert json.loads(saved.read_bytes())["count"] == 200
