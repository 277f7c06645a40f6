"""The gateway over real HTTP against a real anvil: the consumer story and every refusal of issue 3.

Each refusal asserts the status, the stable error code, and that nothing was served or changed
(no bytes, no count used, an access record with the refusal's code).
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from chain.eip712 import sign_grant_request
from domain.types import GrantRequest, Policy
from anchoring.ledger import receipt_id_of
from chain.eip712 import sign_call
from client.sdk import GatewayClientError
from gateway.service import approve_grant, deny_grant, list_grant_requests, revoke_grant, set_policy
from gateway.db import GrantState
from tests.integration.gateway_fixtures import GatewayEnv, gw_env  # noqa: F401 - fixture

pytestmark = pytest.mark.integration

OPEN = Policy(purposes=("research",), jurisdictions=("DE",), max_count=10)


def _err(resp: httpx.Response) -> str:
    return str(resp.json()["error"]["code"])


def _signed_get(env: GatewayEnv, who: str, target: str, **sign: Any) -> httpx.Response:
    gw = env.gateway
    headers = sign_call(env.account(who), gw.domain, "GET", target, **sign)
    return httpx.get(env.url + target, headers=headers)


@pytest.fixture(scope="module")
def granted(gw_env: GatewayEnv) -> dict[str, Any]:
    """An open asset and an issued grant (count 10) for `consumer`."""
    reg = gw_env.new_asset(OPEN, size=3 * 1024 * 1024 + 17)
    with gw_env.client("consumer") as c:
        grant = c.request_grant(reg.asset_id, "research", max_count=10)
    return {"asset": reg.asset_id, "grant": grant["grant_id"], "path": gw_env.home / "asset-0.bin"}


def _denials(env: GatewayEnv, code: str) -> int:
    return env.gateway.db.count_accesses(decision="deny", code=code)


def _assert_refused(env: GatewayEnv, resp: httpx.Response, status: int, code: str, grant: str | None = None,
                    used_before: int | None = None) -> None:
    assert resp.status_code == status, resp.text
    assert _err(resp) == code
    assert "x-content-sha256" not in resp.headers
    if grant is not None and used_before is not None:
        assert env.gateway.db.used(grant) == used_before


# ---- the happy path ----------------------------------------------------------------------------------


def test_health_eip712_catalog(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    health = httpx.get(gw_env.url + "/health").json()
    assert health["status"] == "ok" and health["chain_id"] == 31337
    doc = httpx.get(gw_env.url + "/eip712").json()
    assert doc["gateway"]["domain"]["name"] == "TDS Gateway"
    assert doc["gateway"]["domain"]["verifyingContract"] == gw_env.gateway.usage_grants
    assert doc["grantRequest"]["domain"]["name"] == "TDS UsageGrants"
    cat = httpx.get(gw_env.url + "/catalog")
    assert cat.headers["content-type"].startswith("application/ld+json")
    body = cat.json()
    assert body["@type"] == "dcat:Catalog"
    ds = {d["dct:identifier"]: d for d in body["dcat:dataset"]}[granted["asset"]]
    constraints = {c["odrl:leftOperand"]: c for c in ds["odrl:hasPolicy"][0]["odrl:permission"][0]["odrl:constraint"]}
    assert constraints["odrl:purpose"]["odrl:rightOperand"] == ["research"]
    assert constraints["odrl:spatial"]["odrl:rightOperand"] == ["DE"]
    assert constraints["odrl:count"]["odrl:rightOperand"] == 10
    one = httpx.get(f"{gw_env.url}/assets/{granted['asset']}").json()
    assert one["tds:metadata"]["title"] == "asset-0.bin"
    openapi = httpx.get(gw_env.url + "/openapi.json").json()
    assert {"/health", "/eip712", "/catalog", "/grants", "/grants/{grant_id}", "/assets/{asset_id}/data"} <= set(
        openapi["paths"])


def test_fetch_streams_verified_bytes_and_uses_one_count(gw_env: GatewayEnv, granted: dict[str, Any],
                                                         tmp_path: Path) -> None:
    seen: list[int] = []
    with gw_env.client("consumer") as c:
        result = c.fetch(granted["asset"], tmp_path / "out.bin", progress=lambda d, t: seen.append(d))
        state = c.grant(granted["grant"])
    assert result.sha256 == granted["asset"]
    assert (tmp_path / "out.bin").read_bytes() == granted["path"].read_bytes()
    assert seen[-1] == result.size
    assert state["state"] == "issued" and state["liveness"] == "live" and state["used"] == 1
    rec = gw_env.gateway.db.accesses(decision="allow", grant_id=granted["grant"])[-1]
    assert rec.bytes == result.size and rec.content_hash == granted["asset"] and rec.code == "ok"
    assert result.receipt_id == receipt_id_of(rec.id, gw_env.gateway.db.ledger_id)  # learnt with the bytes


def test_range_request(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    target = f"/assets/{granted['asset']}/data"
    gw = gw_env.gateway
    headers = sign_call(gw_env.account("consumer"), gw.domain, "GET", target)
    resp = httpx.get(gw_env.url + target, headers={**headers, "Range": "bytes=1048570-1048600"})
    assert resp.status_code == 206
    assert resp.content == granted["path"].read_bytes()[1048570:1048601]
    assert resp.headers["content-range"].startswith("bytes 1048570-1048600/")


# ---- identity --------------------------------------------------------------------------------------------


def test_unsigned(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    used = gw_env.gateway.db.used(granted["grant"])
    resp = httpx.get(f"{gw_env.url}/assets/{granted['asset']}/data")
    _assert_refused(gw_env, resp, 401, "signature_missing", granted["grant"], used)


def test_bad_signature(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    gw = gw_env.gateway
    used = gw.db.used(granted["grant"])
    target = f"/assets/{granted['asset']}/data"
    headers = sign_call(gw_env.account("consumer"), gw.domain, "GET", "/other/path")
    resp = httpx.get(gw_env.url + target, headers=headers)  # signed another path
    _assert_refused(gw_env, resp, 401, "bad_signature", granted["grant"], used)
    headers = sign_call(gw_env.account("consumer"), gw.domain, "GET", target)
    sig = headers["X-TDS-Signature"]
    headers["X-TDS-Signature"] = sig[:-6] + "0000" + sig[-2:]  # corrupt s, keep v (v 0/1: signature_not_canonical)
    _assert_refused(gw_env, httpx.get(gw_env.url + target, headers=headers), 401, "bad_signature")
    headers = sign_call(gw_env.account("outsider"), gw.domain, "GET", target)
    headers["X-TDS-Address"] = gw_env.keystore.address("consumer")  # claims to be the consumer
    _assert_refused(gw_env, httpx.get(gw_env.url + target, headers=headers), 401, "bad_signature", granted["grant"],
                    used)


def test_non_member(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    resp = _signed_get(gw_env, "outsider", f"/assets/{granted['asset']}/data")
    _assert_refused(gw_env, resp, 403, "not_member")


def test_suspended_consumer(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    resp = _signed_get(gw_env, "suspended", f"/assets/{granted['asset']}/data")
    _assert_refused(gw_env, resp, 403, "participant_suspended")


def test_replayed_nonce(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    gw = gw_env.gateway
    target = f"/assets/{granted['asset']}/data"
    headers = sign_call(gw_env.account("consumer"), gw.domain, "GET", target)
    assert httpx.get(gw_env.url + target, headers=headers).status_code == 200
    used = gw.db.used(granted["grant"])
    _assert_refused(gw_env, httpx.get(gw_env.url + target, headers=headers), 409, "nonce_replayed",
                    granted["grant"], used)


def test_expired_request(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    used = gw_env.gateway.db.used(granted["grant"])
    resp = _signed_get(gw_env, "consumer", f"/assets/{granted['asset']}/data", now=time.time() - 3600)
    _assert_refused(gw_env, resp, 401, "request_expired", granted["grant"], used)
    resp = _signed_get(gw_env, "consumer", f"/assets/{granted['asset']}/data", ttl_s=3600)  # too far ahead
    _assert_refused(gw_env, resp, 401, "request_expired", granted["grant"], used)


# ---- grants -----------------------------------------------------------------------------------------------


def test_no_grant(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    before = _denials(gw_env, "grant_missing")
    resp = _signed_get(gw_env, "consumer2", f"/assets/{granted['asset']}/data")
    _assert_refused(gw_env, resp, 403, "grant_missing")
    assert _denials(gw_env, "grant_missing") == before + 1


def test_someone_elses_grant(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    used = gw_env.gateway.db.used(granted["grant"])
    resp = _signed_get(gw_env, "consumer2", f"/assets/{granted['asset']}/data?grant={granted['grant']}")
    _assert_refused(gw_env, resp, 403, "grant_not_yours", granted["grant"], used)


def test_grant_for_another_asset(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    other = gw_env.new_asset(OPEN)
    resp = _signed_get(gw_env, "consumer", f"/assets/{other.asset_id}/data?grant={granted['grant']}")
    _assert_refused(gw_env, resp, 403, "grant_asset_mismatch")


def test_revoked_from_the_next_block(gw_env: GatewayEnv, tmp_path: Path) -> None:
    reg = gw_env.new_asset(OPEN)
    with gw_env.client("consumer") as c:
        grant = c.request_grant(reg.asset_id, "research", max_count=5)["grant_id"]
        c.fetch(reg.asset_id, tmp_path / "a")
        revoke_grant(gw_env.gateway, grant)  # returns once the revoke tx is mined
        with pytest.raises(GatewayClientError) as exc:
            c.fetch(reg.asset_id, tmp_path / "b")
    assert exc.value.status == 403 and exc.value.code == "grant_revoked"
    assert not (tmp_path / "b").exists()
    assert gw_env.gateway.db.used(grant) == 1


def test_expired_grant(gw_env: GatewayEnv, tmp_path: Path) -> None:
    reg = gw_env.new_asset(OPEN)
    with gw_env.client("consumer") as c:
        req = c.build_request(reg.asset_id, "research", max_count=5, duration_s=120)
        grant = c.submit_grant(req)["grant_id"]
        c.fetch(reg.asset_id, tmp_path / "a")
        gw_env.rpc("evm_increaseTime", [int(req.not_after - time.time()) + 5])
        gw_env.rpc("evm_mine")
        with pytest.raises(GatewayClientError) as exc:
            c.fetch(reg.asset_id, tmp_path / "b")
    assert (exc.value.status, exc.value.code) == (403, "grant_expired")
    assert gw_env.gateway.db.used(grant) == 1


def test_count_used_up_and_concurrent_race_for_the_last_uses(gw_env: GatewayEnv) -> None:
    reg = gw_env.new_asset(OPEN, size=1024)
    with gw_env.client("consumer") as c:
        grant = c.request_grant(reg.asset_id, "research", max_count=5)["grant_id"]
    target = f"/assets/{reg.asset_id}/data"
    for _ in range(2):
        assert _signed_get(gw_env, "consumer", target).status_code == 200
    gw = gw_env.gateway
    signed = [sign_call(gw_env.account("consumer"), gw.domain, "GET", target) for _ in range(20)]

    def hit(headers: dict[str, str]) -> httpx.Response:
        return httpx.get(gw_env.url + target, headers=headers, timeout=30)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(hit, signed))
    ok = [r for r in results if r.status_code == 200]
    refused = [r for r in results if r.status_code != 200]
    assert len(ok) == 3
    assert all(hashlib.sha256(r.content).hexdigest() == reg.asset_id[2:] for r in ok)
    assert all(r.status_code == 403 and _err(r) == "count_exhausted" for r in refused)
    assert gw.db.used(grant) == 5
    _assert_refused(gw_env, _signed_get(gw_env, "consumer", target), 403, "count_exhausted", grant, 5)


def test_wrong_purpose(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    used = gw_env.gateway.db.used(granted["grant"])
    resp = _signed_get(gw_env, "consumer", f"/assets/{granted['asset']}/data?purpose=marketing")
    _assert_refused(gw_env, resp, 403, "purpose_not_allowed", granted["grant"], used)
    with gw_env.client("consumer2") as c, pytest.raises(GatewayClientError) as exc:
        c.request_grant(granted["asset"], "marketing")
    assert (exc.value.status, exc.value.code) == (403, "purpose_not_allowed")
    assert gw_env.gateway.db.grant_requests(consumer=gw_env.keystore.address("consumer2")) == []


def test_wrong_jurisdiction(gw_env: GatewayEnv, tmp_path: Path) -> None:
    reg = gw_env.new_asset(OPEN)
    with gw_env.client("french") as c, pytest.raises(GatewayClientError) as exc:
        c.request_grant(reg.asset_id, "research")
    assert (exc.value.status, exc.value.code) == (403, "jurisdiction_not_allowed")
    anywhere = gw_env.new_asset(Policy(purposes=("research",), max_count=10))
    with gw_env.client("french") as c:
        grant = c.request_grant(anywhere.asset_id, "research")["grant_id"]
        c.fetch(anywhere.asset_id, tmp_path / "ok")
        set_policy(gw_env.gateway, anywhere.asset_id, OPEN)  # now DE only: enforced on the next access
        with pytest.raises(GatewayClientError) as exc:
            c.fetch(anywhere.asset_id, tmp_path / "no")
    assert (exc.value.status, exc.value.code) == (403, "jurisdiction_not_allowed")
    assert gw_env.gateway.db.used(grant) == 1


def test_compute_only(gw_env: GatewayEnv, tmp_path: Path) -> None:
    reg = gw_env.new_asset(Policy(purposes=("research",), compute_only=True, max_count=3))
    with gw_env.client("consumer") as c:
        grant = c.request_grant(reg.asset_id, "research")["grant_id"]
        with pytest.raises(GatewayClientError) as exc:
            c.fetch(reg.asset_id, tmp_path / "x")
    assert (exc.value.status, exc.value.code) == (403, "compute_only")
    assert gw_env.gateway.db.used(grant) == 0


def test_manual_approval_list_approve_deny(gw_env: GatewayEnv, tmp_path: Path) -> None:
    reg = gw_env.new_asset(Policy(purposes=("research",), max_count=3, auto_approve=False))
    with gw_env.client("consumer") as c:
        first = c.request_grant(reg.asset_id, "research")
        second = c.request_grant(reg.asset_id, "research")
        assert first["state"] == "pending"
        with pytest.raises(GatewayClientError) as exc:
            c.fetch(reg.asset_id, tmp_path / "x")
        assert exc.value.code == "grant_missing"
        pending = {r.grant_id for r in list_grant_requests(gw_env.gateway, GrantState.PENDING)}
        assert {first["grant_id"], second["grant_id"]} <= pending
        assert approve_grant(gw_env.gateway, first["grant_id"]).state == "issued"
        assert deny_grant(gw_env.gateway, second["grant_id"], "no").state == "denied"
        assert c.grant(second["grant_id"])["state"] == "denied"
        c.fetch(reg.asset_id, tmp_path / "y")
    assert (tmp_path / "y").stat().st_size == reg.size


# ---- stored file, ids, bodies -------------------------------------------------------------------------------


def test_tampered_stored_file(gw_env: GatewayEnv, tmp_path: Path) -> None:
    reg = gw_env.new_asset(OPEN, size=10_000)
    with gw_env.client("consumer") as c:
        grant = c.request_grant(reg.asset_id, "research")["grant_id"]
    data_file = gw_env.gateway.store.root / reg.asset_id[2:] / "data.bin"
    raw = bytearray(data_file.read_bytes())
    raw[100] ^= 0x01
    data_file.write_bytes(bytes(raw))
    incidents = len(gw_env.gateway.db.incidents())
    resp = _signed_get(gw_env, "consumer", f"/assets/{reg.asset_id}/data")
    _assert_refused(gw_env, resp, 503, "stored_file_tampered", grant, 0)
    assert resp.content.startswith(b"{")  # an error document, not data
    assert len(gw_env.gateway.db.incidents()) == incidents + 1


@pytest.mark.parametrize("bad_id", ["..%2F..%2Fetc%2Fpasswd", "0x1234", "0x" + "g" * 64, "%00", "0x" + "a" * 65])
def test_path_traversal_and_malformed_ids(gw_env: GatewayEnv, bad_id: str) -> None:
    for target in (f"/assets/{bad_id}/data", f"/assets/{bad_id}", f"/grants/{bad_id}"):
        resp = _signed_get(gw_env, "consumer", target)
        assert resp.status_code in (404, 422), (target, resp.text)
        assert _err(resp) in ("invalid_id", "not_found")
    resp = _signed_get(gw_env, "consumer", "/assets/../../../etc/passwd")
    assert resp.status_code == 404


def _post_grants(env: GatewayEnv, body: bytes, who: str = "consumer") -> httpx.Response:
    gw = env.gateway
    headers = sign_call(env.account(who), gw.domain, "POST", "/grants", body)
    return httpx.post(env.url + "/grants", content=body, headers={**headers, "Content-Type": "application/json"})


def test_malformed_and_oversized_json(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    before = len(gw_env.gateway.db.grant_requests())
    assert _err(_post_grants(gw_env, b"{not json")) == "malformed_json"
    assert _post_grants(gw_env, b"[1,2]").status_code == 400
    assert _err(_post_grants(gw_env, json.dumps({"request": {"asset_id": "0x12"}, "signature": "0x"}).encode())) \
        == "malformed_json"
    huge = json.dumps({"request": {"purpose": "x" * 200_000}, "signature": "0x"}).encode()
    resp = _post_grants(gw_env, huge)
    assert (resp.status_code, _err(resp)) == (413, "body_too_large")
    deep = b"[" * 100_000 + b"]" * 100_000
    assert _post_grants(gw_env, deep).status_code == 413
    nested = b"[" * 30_000 + b"]" * 30_000  # under the size limit, over the parser's depth
    assert (_post_grants(gw_env, nested).status_code, _err(_post_grants(gw_env, nested))) == (400, "malformed_json")
    assert len(gw_env.gateway.db.grant_requests()) == before


def test_grant_request_signed_by_someone_else(gw_env: GatewayEnv, granted: dict[str, Any]) -> None:
    with gw_env.client("consumer2") as c:
        req = c.build_request(granted["asset"], "research")
        gw = gw_env.gateway
        forged = sign_grant_request(gw_env.account("outsider"), gw.chain_id, gw.usage_grants, req)
        with pytest.raises(GatewayClientError) as exc:
            c.submit_grant(req, forged)
        assert (exc.value.status, exc.value.code) == (401, "bad_signature")
        victim = GrantRequest(**{**req.to_json(), "consumer": gw_env.keystore.address("consumer")})
        with pytest.raises(GatewayClientError) as exc:
            c.submit_grant(victim, sign_grant_request(gw_env.account("consumer2"), gw.chain_id, gw.usage_grants,
                                                      victim))
        assert exc.value.code == "grant_not_yours"


# ---- fail closed (last: stops the node) ---------------------------------------------------------------------


def test_chain_down_then_recovers(gw_env: GatewayEnv, granted: dict[str, Any], tmp_path: Path) -> None:
    used = gw_env.gateway.db.used(granted["grant"])
    gw_env.devnet.stop()
    try:
        resp = _signed_get(gw_env, "consumer", f"/assets/{granted['asset']}/data")
        _assert_refused(gw_env, resp, 503, "chain_unavailable", granted["grant"], used)
        assert httpx.get(gw_env.url + "/health").status_code == 503
    finally:
        gw_env.devnet.start()
    with gw_env.client("consumer") as c:
        c.fetch(granted["asset"], tmp_path / "again")
    assert gw_env.gateway.db.used(granted["grant"]) == used + 1
