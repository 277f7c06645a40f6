"""Bearer session tokens over real HTTP against a real anvil: POST /session, then Authorization: Bearer.

A token saves the per-call signature and nonce, never a check: each refusal asserts the status,
the stable code, and that no byte was served and no count used.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.types import Policy
from chain.eip712 import sign_call
from gateway.auth import SessionKeys
from client.sdk import GatewayClient
from tests.integration.gateway_fixtures import GatewayEnv, gw_env  # noqa: F401 - fixture

pytestmark = pytest.mark.integration

OPEN = Policy(purposes=("research",), jurisdictions=("DE",), max_count=50)


def _session(env: GatewayEnv, who: str, body: bytes = b"") -> httpx.Response:
    gw = env.gateway
    headers = sign_call(env.account(who), gw.domain, "POST", "/session", body)
    return httpx.post(env.url + "/session", content=body, headers={**headers, "Content-Type": "application/json"})


def _token(env: GatewayEnv, who: str, ttl_s: int | None = None) -> str:
    resp = _session(env, who, json.dumps({"ttl_s": ttl_s}).encode() if ttl_s else b"")
    assert resp.status_code == 201, resp.text
    return str(resp.json()["token"])


def _bearer_get(env: GatewayEnv, token: str, target: str, **headers: str) -> httpx.Response:
    return httpx.get(env.url + target, headers={"Authorization": f"Bearer {token}", **headers})


def _refused(env: GatewayEnv, resp: httpx.Response, status: int, code: str, grant: str, used: int) -> None:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code
    assert "x-content-sha256" not in resp.headers
    assert env.gateway.db.used(grant) == used


@pytest.fixture(scope="module")
def granted(gw_env: GatewayEnv) -> dict[str, Any]:
    """An asset with a live grant for `consumer` and one for `consumer2`."""
    reg = gw_env.new_asset(OPEN, size=5000)
    with gw_env.client("consumer") as c:
        grant = c.request_grant(reg.asset_id, "research", max_count=50)["grant_id"]
    with gw_env.client("consumer2") as c:
        grant2 = c.request_grant(reg.asset_id, "research", max_count=50)["grant_id"]
    data = (gw_env.home / "asset-0.bin").read_bytes()
    return {"asset": reg.asset_id, "grant": grant, "grant2": grant2, "data": data,
            "target": f"/assets/{reg.asset_id}/data"}


def test_session_fetch_uses_one_count_and_records_it(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    resp = _session(gw_env, "consumer")
    assert resp.status_code == 201
    doc = resp.json()
    assert doc["token_type"] == "Bearer" and doc["address"] == gw_env.keystore.address("consumer")
    assert 0 < doc["expires_in"] <= gw_env.settings.session_ttl_s
    used = gw_env.gateway.db.used(granted["grant"])
    for _ in range(3):  # the same token, many calls: no nonce to burn
        got = _bearer_get(gw_env, doc["token"], granted["target"])
        assert got.status_code == 200 and got.content == granted["data"]
        assert hashlib.sha256(got.content).hexdigest() == granted["asset"][2:]
    assert gw_env.gateway.db.used(granted["grant"]) == used + 3
    rec = gw_env.gateway.db.accesses(decision="allow", grant_id=granted["grant"])[-1]
    assert rec.consumer == doc["address"].lower() and rec.bytes == len(granted["data"]) and rec.code == "ok"


def test_client_with_session_option(gw_env: GatewayEnv, granted: dict[str, Any], tmp_path: Path) -> None:
    with GatewayClient(gw_env.url, gw_env.account("consumer"), session=True) as c:
        result = c.fetch(granted["asset"], tmp_path / "out.bin")
        assert c.grant(granted["grant"])["state"] == "issued"
    assert result.sha256 == granted["asset"]
    assert (tmp_path / "out.bin").read_bytes() == granted["data"]


def test_ttl_is_capped_and_session_cannot_renew_itself(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    resp = _session(gw_env, "consumer", json.dumps({"ttl_s": 10**6}).encode())
    assert resp.status_code == 201 and resp.json()["expires_in"] <= gw_env.settings.session_ttl_s
    token = resp.json()["token"]
    renew = httpx.post(gw_env.url + "/session", headers={"Authorization": f"Bearer {token}"})
    assert renew.status_code == 401 and renew.json()["error"]["code"] == "signature_missing"
    bad = _session(gw_env, "consumer", b'{"ttl_s": "forever"}')
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "malformed_json"
    assert _session(gw_env, "outsider").json()["error"]["code"] == "not_member"
    assert _session(gw_env, "suspended").json()["error"]["code"] == "participant_suspended"


def test_expired_token(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    token = _token(gw_env, "consumer", ttl_s=1)
    time.sleep(1.1)
    used = gw_env.gateway.db.used(granted["grant"])
    _refused(gw_env, _bearer_get(gw_env, token, granted["target"]), 401, "session_expired", granted["grant"], used)


def test_tampered_forged_and_malformed_tokens(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    token = _token(gw_env, "consumer")
    used = gw_env.gateway.db.used(granted["grant"])
    body = token[len("tds1."):]
    for i in (0, 10, 40, len(body) - 1):  # flip one character: address, expiry, id, MAC
        flipped = body[:i] + ("A" if body[i] != "A" else "B") + body[i + 1:]
        resp = _bearer_get(gw_env, "tds1." + flipped, granted["target"])
        _refused(gw_env, resp, 401, "session_invalid", granted["grant"], used)
    other_gateway = SessionKeys(b"\x07" * 32).issue(gw_env.keystore.address("consumer"), 300).token
    _refused(gw_env, _bearer_get(gw_env, other_gateway, granted["target"]), 401, "session_invalid",
             granted["grant"], used)
    for bad in ("tds1.", "tds1." + body[:-4], "x" * 101, token + "AAAA", "tds1." + body[:-1] + "="):
        _refused(gw_env, _bearer_get(gw_env, bad, granted["target"]), 401, "session_invalid", granted["grant"], used)
    basic = httpx.get(gw_env.url + granted["target"], headers={"Authorization": f"Basic {token}"})
    _refused(gw_env, basic, 401, "session_invalid", granted["grant"], used)


def test_token_of_another_address(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    token2 = _token(gw_env, "consumer2")
    used = gw_env.gateway.db.used(granted["grant"])
    resp = _bearer_get(gw_env, token2, f"{granted['target']}?grant={granted['grant']}")  # consumer's grant
    _refused(gw_env, resp, 403, "grant_not_yours", granted["grant"], used)
    resp = _bearer_get(gw_env, token2, granted["target"], **{"X-TDS-Address": gw_env.keystore.address("consumer")})
    _refused(gw_env, resp, 401, "session_invalid", granted["grant"], used)
    used2 = gw_env.gateway.db.used(granted["grant2"])
    assert _bearer_get(gw_env, token2, granted["target"]).status_code == 200  # its own grant
    assert gw_env.gateway.db.used(granted["grant2"]) == used2 + 1
    assert gw_env.gateway.db.used(granted["grant"]) == used


def test_suspended_participant_token_refused_from_the_next_block(gw_env: GatewayEnv,
                                                                 granted: dict[str, Any]) -> None:
    token = _token(gw_env, "consumer2")
    assert _bearer_get(gw_env, token, granted["target"]).status_code == 200
    ops = gw_env.operator()
    ops.suspend(gw_env.keystore.address("consumer2"))  # returns once mined
    try:
        used = gw_env.gateway.db.used(granted["grant2"])
        resp = _bearer_get(gw_env, token, granted["target"])
        _refused(gw_env, resp, 403, "participant_suspended", granted["grant2"], used)
        assert gw_env.gateway.db.count_accesses(decision="deny", code="participant_suspended") >= 1
    finally:
        ops.reinstate(gw_env.keystore.address("consumer2"))
    assert _bearer_get(gw_env, token, granted["target"]).status_code == 200  # same token, active again


def test_signed_calls_still_work_next_to_sessions(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    gw = gw_env.gateway
    headers = sign_call(gw_env.account("consumer"), gw.domain, "GET", granted["target"])
    assert httpx.get(gw_env.url + granted["target"], headers=headers).status_code == 200
    replay = httpx.get(gw_env.url + granted["target"], headers=headers)
    assert replay.status_code == 409 and replay.json()["error"]["code"] == "nonce_replayed"
    openapi = httpx.get(gw_env.url + "/openapi.json").json()
    assert "/session" in openapi["paths"]
