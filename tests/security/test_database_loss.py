"""Attack class: losing (or deleting) the gateway database gives every used count back.

The attack: a consumer exhausts a 5-use grant; the gateway's receipts are anchored; then
``gateway.db`` is deleted (a disk loss, an operator mistake, or an insider who wants the counts
back) and the gateway restarted. On the old code the exhausted grant served 5 more times, a used
nonce was accepted again and receipt ids restarted at 1.

What must hold: the restarted gateway sees on the chain receipts roots it anchored that its
database does not know and serves nothing (503 ``ledger_unreconciled``, /health too) and records
nothing; ``tds gateway reconcile`` refuses a tampered journal (or missing receipts) and changes
nothing; after a real reconcile the exhausted grant stays exhausted (``count_exhausted``), the call
whose nonce was used stays refused, the old receipts and their proofs are back, and new receipt
ids differ from every old one.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.types import Policy
from anchoring.ledger import split_receipt_id
from gateway.app import create_app
from gateway.service import Gateway
from tests.integration.gateway_fixtures import GatewayEnv, _start_server, stop_server

pytestmark = pytest.mark.integration

POLICY = Policy(purposes=("research",), jurisdictions=("DE",), max_count=5)
TTL = 120  # the test gateway's max_request_ttl_s (GatewayClient signs for 120 s), clock skew 1 s


def serve(env: GatewayEnv) -> None:
    env.gateway = Gateway.open(env.settings, env.chain_settings)
    env.server = _start_server(create_app(env.settings, env.gateway), env.settings.port)


def restart(env: GatewayEnv, lose_database: bool = False) -> None:
    stop_server(env)
    env.gateway.db.engine.dispose()
    if lose_database:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{env.settings.gateway_dir / 'gateway.db'}{suffix}").unlink(missing_ok=True)
    serve(env)


def get(env: GatewayEnv, target: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(env.url + target, headers=headers if headers is not None else
                     env.sign("consumer", "GET", target, ttl_s=TTL), timeout=30)


def tds(env: GatewayEnv, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from cli.main import main

    capsys.readouterr()
    code = main(["--home", str(env.home), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture(scope="module")
def lost(gw_env: GatewayEnv, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An exhausted, anchored 5-use grant, then the database deleted and the gateway restarted."""
    env = gw_env
    stop_server(env)
    env.settings = replace(env.settings, max_request_ttl_s=TTL, clock_skew_s=1, notary_interval_s=0)
    serve(env)
    reg = env.new_asset(POLICY, size=2048)
    target = f"/assets/{reg.asset_id}/data"
    with env.client("consumer") as c:
        grant = c.request_grant(reg.asset_id, "research", max_count=5)["grant_id"]
    used_call = env.sign("consumer", "GET", target, ttl_s=TTL)
    assert get(env, target, used_call).status_code == 200
    for _ in range(4):
        assert get(env, target).status_code == 200
    exhausted = get(env, target)
    assert exhausted.status_code == 403 and exhausted.json()["error"]["code"] == "count_exhausted"
    old_ids = {r.receipt.receipt_id for r in env.gateway.notary().receipts()}
    notary = env.gateway.notary()
    notary.seal_all()
    roots = [a.root for a in notary.anchor_sealed()]
    assert roots
    journal = env.settings.gateway_dir / "journal"
    saved = tmp_path_factory.mktemp("journal-copy")
    for path in journal.iterdir():
        shutil.copy2(path, saved / path.name)
    restart(env, lose_database=True)
    return {"asset": reg.asset_id, "grant": grant, "target": target, "used_call": used_call, "old_ids": old_ids,
            "roots": roots, "journal": saved}


def test_restarted_gateway_refuses_everything_until_reconciled(gw_env: GatewayEnv, lost: dict[str, Any]) -> None:
    resp = get(gw_env, lost["target"])
    assert resp.status_code == 503
    error = resp.json()["error"]
    assert error["code"] == "ledger_unreconciled"
    assert "tds gateway reconcile" in error["message"] and lost["roots"][0] in error["message"]
    for target in (f"/grants/{lost['grant']}", "/receipts/export"):
        assert get(gw_env, target).json()["error"]["code"] == "ledger_unreconciled"
    health = httpx.get(gw_env.url + "/health")
    assert health.status_code == 503 and health.json()["error"]["code"] == "ledger_unreconciled"
    assert gw_env.gateway.db.count_accesses() == 0  # nothing served, nothing recorded
    assert gw_env.gateway.db.used(lost["grant"]) == 0


def test_reconcile_refuses_a_tampered_journal_and_missing_receipts(
    gw_env: GatewayEnv, lost: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TDS_RPC_URL", gw_env.devnet.rpc_url)
    tampered = tmp_path / "tampered"
    shutil.copytree(lost["journal"], tampered)
    path = next(tampered.iterdir())
    head, *lines = path.read_text().splitlines()
    receipts = [json.loads(line) for line in lines]
    receipts[0]["decision"] = "deny"  # one use fewer to give back
    path.write_text("\n".join([head, *(json.dumps(r, sort_keys=True, separators=(",", ":")) for r in receipts)]) + "\n")
    code, out = tds(gw_env, "gateway", "reconcile", "--journal", str(tampered), capsys=capsys)
    assert code == 6 and "does not rebuild to its root" in out and "nothing was changed" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = tds(gw_env, "gateway", "reconcile", "--journal", str(empty), capsys=capsys)
    assert code == 6 and all(root in out for root in lost["roots"]) and "--receipts" in out
    assert gw_env.gateway.db.used(lost["grant"]) == 0
    assert get(gw_env, lost["target"]).json()["error"]["code"] == "ledger_unreconciled"


def test_reconcile_keeps_every_used_count_and_nonce_and_receipt_id(
    gw_env: GatewayEnv, lost: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TDS_RPC_URL", gw_env.devnet.rpc_url)
    monkeypatch.setenv("TDS_GATEWAY_MAX_REQUEST_TTL_S", str(TTL))
    monkeypatch.setenv("TDS_GATEWAY_CLOCK_SKEW_S", "1")
    code, out = tds(gw_env, "gateway", "reconcile", capsys=capsys)
    assert code == 0, out
    assert "gateway ledger reconciled" in out and lost["grant"] in out
    deadline = time.monotonic() + 10
    while httpx.get(gw_env.url + "/health").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert httpx.get(gw_env.url + "/health").json()["ledger"]["state"] == "ok"

    replay = get(gw_env, lost["target"], lost["used_call"])  # its nonce was used before the loss
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "signed_before_reconcile"
    deadline = time.monotonic() + 10
    while (resp := get(gw_env, lost["target"])).status_code == 401 and time.monotonic() < deadline:
        assert resp.json()["error"]["code"] == "signed_before_reconcile"
        time.sleep(0.5)  # calls signed with the longest expiry pass once the clock skew has gone by
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "count_exhausted"
    assert gw_env.gateway.db.used(lost["grant"]) == 5

    old = sorted(lost["old_ids"])[0]
    proof = get(gw_env, f"/receipts/{old}/proof")
    assert proof.status_code == 200 and proof.json()["state"] == "anchored" and proof.json()["root"] in lost["roots"]
    reg = gw_env.new_asset(POLICY, size=512)
    with gw_env.client("consumer") as c:
        c.request_grant(reg.asset_id, "research", max_count=1)
        fetched = c.fetch(reg.asset_id, gw_env.home / "after-reconcile.bin")
    assert fetched.receipt_id not in lost["old_ids"]
    assert split_receipt_id(fetched.receipt_id)[0] not in {split_receipt_id(r)[0] for r in lost["old_ids"]}
    code, out = tds(gw_env, "gateway", "reconcile", capsys=capsys)  # again: nothing left to restore
    assert code == 0 and gw_env.gateway.db.used(lost["grant"]) == 5
