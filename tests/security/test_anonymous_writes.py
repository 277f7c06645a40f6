"""Anonymous requests must not become evidence the provider pays to anchor.

The attack: flood the gateway with unsigned and malformed requests (no headers, garbage headers, a
forged or replayed signature, a key that is no member, an invalid id or range). Before, every one
of them became an access record, hence a notarized receipt, hence anchor transactions paid by the
provider (619 records/s, 13 anchor transactions in 27 s).

What must hold: a request that never identified a participant writes no access record and causes
no transaction; it is counted instead (``GET /health`` -> ``refused.unauthenticated``) and
reported by a warning line that is itself rate-limited. A refusal of an identified participant is
still recorded (it is evidence).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from domain.types import Policy
from tests.security.conftest import GatewayEnv

pytestmark = pytest.mark.integration

OPEN = Policy(purposes=("research",), jurisdictions=("DE",), max_count=50)
ROUNDS = 20


@pytest.fixture(scope="module")
def asset(gw_env: GatewayEnv) -> dict[str, Any]:
    """An open asset and a live grant of `consumer` on it."""
    asset_id, grant_id = gw_env.granted_asset(OPEN, size=2048, max_count=50)
    return {"asset": asset_id, "grant": grant_id, "target": f"/assets/{asset_id}/data"}


def _anonymous_requests(env: GatewayEnv, asset: dict[str, Any]) -> list[tuple[str, str, dict[str, str], bytes]]:
    """(method, target, headers, body) of requests that never identify a participant."""
    target = asset["target"]
    replayed = env.sign("consumer", "GET", target)
    assert httpx.get(env.url + target, headers=replayed).status_code == 200  # its one legitimate use
    forged = env.sign("consumer", "GET", "/somewhere/else")
    garbage = {"X-TDS-Address": "0x" + "ab" * 20, "X-TDS-Nonce": "1", "X-TDS-Expiry": "1",
               "X-TDS-Signature": "0x" + "00" * 65}
    return [
        ("GET", target, {}, b""),
        ("GET", target, garbage, b""),
        ("GET", target, forged, b""),
        ("GET", target, replayed, b""),
        ("GET", target, env.sign("outsider", "GET", target), b""),  # a valid signature, but no member
        ("GET", target, env.sign("consumer", "GET", target, ttl_s=-3600), b""),  # expired
        ("GET", target, {"Authorization": "Bearer tds1.forged"}, b""),
        ("GET", target, {"Range": "bytes=0-" + "9" * 5000}, b""),
        ("GET", "/assets/0x1234/data", {}, b""),
        ("GET", target + "?purpose=" + "x" * 300, {}, b""),
        ("GET", f"{target}?grant=0xnot-a-grant", {}, b""),
        ("POST", "/grants", {"Content-Type": "application/json"}, b'{"request": {'),
        ("POST", "/grants", {"Content-Type": "application/json"}, b'{"request": {}, "signature": "0x00"}'),
        ("POST", "/session", {}, b""),
        ("GET", "/receipts", {}, b""),
        ("GET", "/receipts/rcpt-1/proof", garbage, b""),
        ("POST", "/compute/jobs", {"Content-Type": "application/json"}, b'{"asset": "0x00"}'),
        ("POST", "/compute/jobs", garbage, b""),
        ("GET", "/compute/jobs/job-1/result", forged, b""),
        ("POST", "/compute/jobs/job-1/cancel", {}, b""),
    ]


def test_flood_of_anonymous_requests_writes_nothing_and_sends_no_transaction(
    gw_env: GatewayEnv, asset: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    gw = gw_env.gateway
    requests = _anonymous_requests(gw_env, asset)
    notary = gw.notary()
    notary.seal_all()
    notary.anchor_sealed()  # anchor what legitimate use made so far: from here on, nothing may be pending
    records, used, block = gw.db.count_accesses(), gw.db.used(asset["grant"]), gw_env.block_number()
    before = httpx.get(gw_env.url + "/health").json().get("refused", {}).get("unauthenticated", 0)

    caplog.set_level(logging.WARNING, logger="tds.gateway.refusals")
    statuses: set[int] = set()
    with httpx.Client(base_url=gw_env.url) as http:
        for _ in range(ROUNDS):
            for method, target, headers, body in requests:
                resp = http.request(method, target, headers=headers, content=body)
                assert resp.status_code in (400, 401, 403, 404, 409, 416, 422), (target[:80], resp.text[:200])
                assert resp.headers["content-type"] == "application/json" and resp.json()["error"]["code"]
                statuses.add(resp.status_code)

    assert {400, 401, 403, 409, 422} <= statuses  # the flood exercised every kind of refusal
    assert gw.db.count_accesses() == records  # not one access record
    assert gw.db.used(asset["grant"]) == used
    assert notary.pending()[0] == 0 and notary.seal_all() == [] and notary.anchor_sealed() == []
    assert gw_env.block_number() == block  # not one transaction
    after = httpx.get(gw_env.url + "/health").json()["refused"]["unauthenticated"]
    assert after - before == ROUNDS * len(requests)  # ...but every refusal is counted
    lines = [r for r in caplog.records if r.name == "tds.gateway.refusals"]
    assert len(lines) == 1 and "unauthenticated" in lines[0].getMessage()  # one line, not one per request


def test_identified_participants_refusals_are_still_recorded(gw_env: GatewayEnv, asset: dict[str, Any]) -> None:
    """The other side of the rule: an authenticated refusal is evidence, so it is recorded (not counted)."""
    gw = gw_env.gateway
    target = asset["target"]
    before = httpx.get(gw_env.url + "/health").json()["refused"]["unauthenticated"]
    resp = httpx.get(gw_env.url + target, headers=gw_env.sign("consumer2", "GET", target))  # a member, no grant
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "grant_missing"
    resp = httpx.get(gw_env.url + target, headers=gw_env.sign("suspended", "GET", target))  # verified, suspended
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "participant_suspended"
    consumer2, suspended = gw_env.keystore.address("consumer2").lower(), gw_env.keystore.address("suspended").lower()
    assert gw.db.count_accesses(decision="deny", code="grant_missing", consumer=consumer2) == 1
    assert gw.db.count_accesses(decision="deny", code="participant_suspended", consumer=suspended) == 1
    assert httpx.get(gw_env.url + "/health").json()["refused"]["unauthenticated"] == before
