"""bench.settle's bookkeeping without a devnet: verdicts, the gas breakdown's accounting, the JSON document
and the Ocean comparison's reason when the package is missing."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import bench.settle as bench
from bench.settle import RunFigures, combine, limited_by, parse_args, report, trace_breakdown, verdict

REQUIRED = ("gas_settle_one_owner", "gas_per_extra_owner", "gas_lock", "gas_claim", "gas_dispute_open", "gas_rule",
            "settle_10000_grants_s", "gas_per_settled_grant_batched", "gas_release", "gas_settle_pay_after_use",
            "gas_settle_one_owner_first")


def _gas(**overrides: int) -> dict[str, int]:
    gas = {"gas_lock": 80_000, "gas_settle_one_owner_first": 96_000, "gas_settle_one_owner": 79_000,
           "gas_claim": 79_000, "gas_per_extra_owner": 9_900, "gas_per_settled_grant_batched": 26_000,
           "gas_release": 55_000, "gas_dispute_open": 233_000, "gas_rule": 91_000, "gas_settle_pay_after_use": 113_000}
    gas.update(overrides)
    return gas


def test_verdicts_name_the_target_and_say_met_or_missed() -> None:
    assert verdict("gas_settle_one_owner", 80_000) == "target <= 80,000 gas: met"
    assert verdict("gas_per_settled_grant_batched", 25_001) == "target <= 25,000 gas: MISSED"
    assert verdict("settle_10000_grants_s", 601.0) == "target <= 600 s: MISSED"
    assert verdict("gas_release", 1) == ""


def test_quick_is_a_small_run_and_the_grant_count_is_bounded() -> None:
    assert parse_args([]).grants == 10_000
    assert parse_args(["--quick"]).grants == bench.QUICK_GRANTS
    with pytest.raises(SystemExit):
        parse_args(["--grants", "0"])


def test_breakdowns_combine_as_differences_and_shares() -> None:
    parts = {"a": {"x": [100, 1]}, "b": {"x": [160, 2], "y": [40, 1]}}
    assert combine(parts, {"b": 0.5, "a": -0.5}) == {"x": [30.0, 0.5], "y": [20.0, 0.5]}
    assert limited_by({"x": [75.0, 1], "y": [25.0, 1]}, top=1) == "x 75 (75%)"


def test_the_trace_breakdown_adds_up_to_the_gas_used(monkeypatch: pytest.MonkeyPatch) -> None:
    steps = [
        {"op": "PUSH1", "gas": 78_000, "gasCost": 3, "depth": 1},
        {"op": "SLOAD", "gas": 77_997, "gasCost": 2_100, "depth": 1},
        {"op": "STATICCALL", "gas": 75_897, "gasCost": 70_000, "depth": 1},  # forwards gas: not its cost
        {"op": "SLOAD", "gas": 70_000, "gasCost": 2_100, "depth": 2},  # the callee's step, counted in the call
        {"op": "RETURN", "gas": 67_900, "gasCost": 0, "depth": 2},
        {"op": "SSTORE", "gas": 73_000, "gasCost": 2_900, "depth": 1},  # the call used 75,897 - 73,000
        {"op": "LOG4", "gas": 70_100, "gasCost": 2_000, "depth": 1},
        {"op": "STOP", "gas": 68_100, "gasCost": 0, "depth": 1},
    ]
    monkeypatch.setattr(bench, "rpc", lambda *_a, **_k: {"structLogs": steps})
    chain = SimpleNamespace(settings=SimpleNamespace(rpc_url="http://127.0.0.1:1"),
                            rpc_request=lambda *_a: {"result": {"from": "0x1", "to": "0x2", "data": "0x",
                                                                "input": "0x", "gas": hex(100_000)}})
    receipt = {"transactionHash": SimpleNamespace(to_0x_hex=lambda: "0xab"), "blockNumber": 5,
               "gasUsed": 100_000 - 68_100}
    parts = trace_breakdown(chain, receipt)  # type: ignore[arg-type]
    assert parts["intrinsic (21,000 + calldata)"] == [22_000, 1]
    assert parts["external calls (whole)"] == [2_897, 1]
    assert parts["SLOAD cold (2,100)"] == [2_100, 1]  # the callee's SLOAD is not counted twice
    assert parts["SSTORE rewrite, read before (2,900)"] == [2_900, 1]
    assert parts["events (LOG)"] == [2_000, 1]
    assert sum(v[0] for v in parts.values()) == receipt["gasUsed"]


def test_the_json_line_has_every_figure_and_says_why_ocean_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    run = RunFigures(200, {"issue_s": 2.0}, 0.1, 1.0, 0.7, 1, 1, 5_200_000, 200)
    args = parse_args(["--quick", "--no-ocean"])
    figures = report(_gas(), {}, run, {}, "skipped (--no-ocean)", args.grants, bench.command_of(args))
    out = capsys.readouterr().out
    assert "ocean: not measured: skipped (--no-ocean)" in out
    assert "reproduce: .venv/bin/python -m bench.settle --grants 200 --no-ocean" in out
    assert "gas_claim equals gas_settle_one_owner" in out
    assert "target <= 25,000 gas: MISSED" in out and "what it pays for:" in out
    doc = json.loads(json.dumps(figures))
    assert set(REQUIRED) <= set(doc)
    assert doc["settle_10000_grants_s"] is None and doc["settle_200_grants_s"] == 1.8  # only a 10,000 run fills it
    assert doc["settle_run_plan_s"] == 1.0 and doc["settle_run_transactions"] == 1


def test_a_full_run_fills_the_10000_figure(capsys: pytest.CaptureFixture[str]) -> None:
    run = RunFigures(10_000, {"issue_s": 60.0}, 2.0, 50.0, 40.0, 51, 50, 260_000_000, 10_000)
    figures = report(_gas(), {}, run, {"ocean_claim_lock": 101_000}, "@oceanprotocol/contracts 2.6.0", 10_000)
    assert figures["settle_10000_grants_s"] == 92.0
    out = capsys.readouterr().out
    assert "target <= 600 s: met" in out and "claimLock (steady; OPC fee transferred)" in out


def test_without_the_package_ocean_is_skipped_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bench, "OCEAN_PACKAGE", tmp_path / "absent")
    space: Any = None
    gas, note = bench.measure_ocean(space)
    assert gas == {} and "npm ci" in note
