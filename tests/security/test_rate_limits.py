"""Floods are refused cheaply: per client IP, per participant address, and POST /grants per consumer.

The attack: one client (or one member's key) sends requests as fast as it can; a consumer asks for
grant after grant on an auto-approve asset, each one an on-chain transaction the provider pays for.

What must hold: beyond the configured limits (``rate_limit_per_client``, ``rate_limit_per_address``,
``rate_limit_grants_per_consumer``) the gateway answers ``429 rate_limited`` with ``Retry-After``,
and a limited request changes nothing: no bytes, no count used, no access record, no grant request,
no transaction. A client cannot dodge its limit with ``X-Forwarded-For`` (no proxy is trusted by
default). Limits are per worker process; these tests set tight ones on their own app.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from domain.types import Policy
from client.sdk import GatewayClient, GatewayClientError
from tests.security.conftest import GatewayEnv, served

pytestmark = pytest.mark.integration

OPEN = Policy(purposes=("research",), jurisdictions=("DE",), max_count=50)


@pytest.fixture(scope="module")
def asset(gw_env: GatewayEnv) -> dict[str, Any]:
    """An auto-approve asset and a live grant (50 uses) for `consumer` and for `consumer2`."""
    reg = gw_env.new_asset(OPEN, size=1024)
    grants = {}
    for who in ("consumer", "consumer2"):
        with gw_env.client(who) as c:
            grants[who] = c.request_grant(reg.asset_id, "research", max_count=50)["grant_id"]
    return {"asset": reg.asset_id, "grants": grants, "target": f"/assets/{reg.asset_id}/data"}


def _limited(resp: httpx.Response, window_s: int) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.headers["content-type"] == "application/json"
    assert resp.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(resp.headers["retry-after"]) <= window_s
    assert "x-content-sha256" not in resp.headers


def test_per_client_limit(gw_env: GatewayEnv, asset: dict[str, Any]) -> None:
    gw, target = gw_env.gateway, asset["target"]
    with served(gw_env, rate_limit_per_client="4/minute") as (url, app):
        with httpx.Client(base_url=url) as http:
            for _ in range(4):
                assert http.get("/health").status_code == 200
            records, used = gw.db.count_accesses(), gw.db.used(asset["grants"]["consumer"])
            _limited(http.get(target, headers=gw_env.sign("consumer", "GET", target)), 60)  # even a valid call
            _limited(http.get("/catalog", headers={"X-Forwarded-For": "203.0.113.7"}), 60)  # no spoofed escape
            _limited(http.get("/no/such/route"), 60)
        assert gw.db.count_accesses() == records and gw.db.used(asset["grants"]["consumer"]) == used
        assert app.state.refusals.snapshot()["rate_limited"] == 3
    with httpx.Client(base_url=gw_env.url) as http:  # the limit belongs to that app only
        assert http.get(target, headers=gw_env.sign("consumer", "GET", target)).status_code == 200


def test_per_address_limit(gw_env: GatewayEnv, asset: dict[str, Any]) -> None:
    gw, target = gw_env.gateway, asset["target"]
    grant = asset["grants"]["consumer"]
    with served(gw_env, rate_limit_per_address="3/minute") as (url, _app):
        with httpx.Client(base_url=url) as http:
            for _ in range(3):
                assert http.get(target, headers=gw_env.sign("consumer", "GET", target)).status_code == 200
            records, used = gw.db.count_accesses(), gw.db.used(grant)
            _limited(http.get(target, headers=gw_env.sign("consumer", "GET", target)), 60)
            _limited(http.get(f"/grants/{grant}", headers=gw_env.sign("consumer", "GET", f"/grants/{grant}")), 60)
            assert gw.db.count_accesses() == records and gw.db.used(grant) == used  # nothing recorded or used
            # another member is not limited by the first one's calls
            assert http.get(target, headers=gw_env.sign("consumer2", "GET", target)).status_code == 200
            # claiming the limited address without its key is refused as unauthenticated, not counted against it
            forged = {**gw_env.sign("outsider", "GET", target), "X-TDS-Address": gw_env.keystore.address("consumer2")}
            assert http.get(target, headers=forged).json()["error"]["code"] == "bad_signature"
            assert http.get(target, headers=gw_env.sign("consumer2", "GET", target)).status_code == 200


def test_grant_requests_per_consumer_limit(gw_env: GatewayEnv, asset: dict[str, Any]) -> None:
    gw = gw_env.gateway
    with served(gw_env, rate_limit_grants_per_consumer="2/hour") as (url, _app):
        with GatewayClient(url, gw_env.account("consumer")) as c:
            for _ in range(2):
                assert c.request_grant(asset["asset"], "research", max_count=1)["state"] == "issued"
            rows, block = len(gw.db.grant_requests()), gw_env.block_number()
            with pytest.raises(GatewayClientError) as refused:
                c.request_grant(asset["asset"], "research", max_count=1)
            assert (refused.value.status, refused.value.code) == (429, "rate_limited")
            assert len(gw.db.grant_requests()) == rows  # no grant request stored
            assert gw_env.block_number() == block  # no transaction sent
            # reads are not grant requests: the consumer still fetches under its grant
            assert c.http.get(asset["target"], headers=c.signed_headers("GET", asset["target"])).status_code == 200
        with GatewayClient(url, gw_env.account("consumer2")) as c2:  # per consumer, not per gateway
            assert c2.request_grant(asset["asset"], "research", max_count=1)["state"] == "issued"


def test_bad_limit_setting_is_refused_at_start(gw_env: GatewayEnv) -> None:
    with pytest.raises(ValueError, match="rate_limit_per_client.*e.g. '100/second'"):
        with served(gw_env, rate_limit_per_client="lots"):
            pass
