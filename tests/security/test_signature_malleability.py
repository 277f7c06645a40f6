"""Malleated signatures: the high-s twin of a valid signature, and what a refused request leaves behind.

The attack: every ECDSA signature ``(r, s, v)`` has a twin ``(r, n - s, 55 - v)`` that recovers to the
same signer. eth_account accepts both; OpenZeppelin's ECDSA (and so UsageGrants) refuses the
"high-s" twin. A consent sent in its high-s form was checked locally, stored, refused on-chain,
and then blocked the consumer: resubmitting the correct low-s signature retried the stored bad one.
On the call header, the twin is a second valid encoding of a signature the consumer made once.

What must hold: the gateway's check agrees with the contract. A high-s (or v other than 27/28)
consent or X-TDS-Signature is refused with 401 ``signature_not_canonical`` before anything is
stored, sent or used (no row, no transaction, no nonce, no count); the correct signature is then
accepted (201 issued) and is the one on-chain. A request the chain once refused is retried with the
signature its resubmission carries.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from chain.contracts import GrantsClient
from chain.eip712 import recover_grant_signer, sign_grant_request
from domain.types import GrantRequest, Liveness, Policy
from gateway.db import GrantState
from tests.integration.gateway_fixtures import GatewayEnv
from tests.security.conftest import gw_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
OPEN = Policy(purposes=("research",), max_count=5)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # the curve order


def high_s(signature: str) -> str:
    """The malleated twin (r, n - s, the other v) of a 65-byte signature (v 27 <-> 28)."""
    raw = bytes.fromhex(signature[2:])
    s = int.from_bytes(raw[32:64], "big")
    return "0x" + (raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - raw[64]])).hex()


def with_v(signature: str, v: int) -> str:
    return signature[:-2] + f"{v:02x}"


def _post_grant(env: GatewayEnv, request: GrantRequest, signature: str) -> httpx.Response:
    body = json.dumps({"request": request.to_json(), "signature": signature}).encode()
    headers = {**env.sign("consumer", "POST", "/grants", body), "Content-Type": "application/json"}
    return httpx.post(env.url + "/grants", content=body, headers=headers)


def _code(resp: httpx.Response) -> str:
    return str(resp.json()["error"]["code"])


def _request_and_consent(env: GatewayEnv) -> tuple[GrantRequest, str, str]:
    asset = env.new_asset(OPEN, size=500).asset_id
    with env.client("consumer") as client:
        request = client.build_request(asset, "research", max_count=3)
    gw = env.gateway
    good = sign_grant_request(env.account("consumer"), gw.chain_id, gw.usage_grants, request)
    return request, good, gw.grant_id(request)


def _onchain_signature(env: GatewayEnv, grant_id: str) -> str:
    logs = GrantsClient(env.chain()).issued(grantId=bytes.fromhex(grant_id[2:]))
    assert len(logs) == 1
    return "0x" + bytes(logs[0]["args"]["signature"]).hex()


def test_high_s_consent_is_refused_before_anything_is_stored_then_the_correct_one_is_issued(
    gw_env: GatewayEnv,  # noqa: F811
) -> None:
    gw = gw_env.gateway
    request, good, grant_id = _request_and_consent(gw_env)
    bad = high_s(good)
    assert recover_grant_signer(gw.chain_id, gw.usage_grants, request, bad) == request.consumer  # eth_account: "valid"
    block = gw_env.block_number()
    for malleated in (bad, with_v(good, int(good[-2:], 16) - 27)):  # high s; v as 0/1
        resp = _post_grant(gw_env, request, malleated)
        assert resp.status_code == 401 and _code(resp) == "signature_not_canonical", resp.text
        assert "sign again" in resp.json()["error"]["message"]
        assert gw.db.grant_request(grant_id) is None  # nothing stored ...
        assert gw_env.block_number() == block  # ... nothing sent
    assert GrantsClient(gw_env.chain()).liveness(grant_id) == Liveness.UNKNOWN

    resp = _post_grant(gw_env, request, good)
    assert resp.status_code == 201, resp.text
    assert resp.json()["state"] == "issued" and resp.json()["grant_id"] == grant_id
    assert _onchain_signature(gw_env, grant_id) == good


def test_resubmission_after_an_onchain_refusal_uses_the_signature_it_carries(gw_env: GatewayEnv) -> None:  # noqa: F811
    gw = gw_env.gateway
    request, good, grant_id = _request_and_consent(gw_env)
    # what a refused attempt leaves: the request, failed on-chain, with the signature it was refused for
    assert gw.db.add_grant_request(grant_id, request, high_s(good), GrantState.FAILED)
    resp = _post_grant(gw_env, request, good)
    assert resp.status_code == 201, resp.text
    assert resp.json()["state"] == "issued"
    assert _onchain_signature(gw_env, grant_id) == good
    assert gw.db.grant_request(grant_id).signature == good  # type: ignore[union-attr]


def test_high_s_call_signature_is_refused_and_uses_no_nonce(gw_env: GatewayEnv) -> None:  # noqa: F811
    asset = gw_env.new_asset(OPEN, size=400).asset_id
    with gw_env.client("consumer") as client:
        grant: dict[str, Any] = client.request_grant(asset, "research", max_count=3)
    target = f"/assets/{asset}/data"
    headers = gw_env.sign("consumer", "GET", target)
    used = gw_env.gateway.db.used(grant["grant_id"])
    for malleated in (high_s(headers["X-TDS-Signature"]), with_v(headers["X-TDS-Signature"], 0)):
        resp = httpx.get(gw_env.url + target, headers={**headers, "X-TDS-Signature": malleated})
        assert resp.status_code == 401 and _code(resp) == "signature_not_canonical", resp.text
        assert gw_env.gateway.db.used(grant["grant_id"]) == used
    resp = httpx.get(gw_env.url + target, headers=headers)  # the original, same nonce: not used by the refusals
    assert resp.status_code == 200, resp.text
    assert gw_env.gateway.db.used(grant["grant_id"]) == used + 1
