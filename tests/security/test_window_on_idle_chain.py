"""A grant's window judged on an idle chain (or a chain whose clock runs ahead of the gateway).

The attack: UsageGrants judges a grant's window at a block's timestamp, and a chain that mines only
on transactions (anvil here; any quiet permissioned chain) keeps its head time where the last
transaction left it. A consumer holding a grant whose ``not_after`` has passed keeps fetching while
nobody sends a transaction: the head block still says "live". The other way round, a chain running
ahead of the gateway's clock calls a grant live before its ``not_before`` by the gateway's clock.

What must hold: a window is judged fail closed on both clocks, the head block's time and the
gateway's own: over as soon as either says so, started only when both do. The refused access
answers 403 ``grant_expired`` / ``grant_not_yet_valid``, uses no count and sends no transaction,
and the grant's state shows the same verdict. Grant issuance uses the same rule.
"""

from __future__ import annotations

import json
import secrets
import time

import httpx
import pytest

from chain.contracts import GrantsClient
from domain.types import GrantRequest, Liveness, Policy
from tests.integration.gateway_fixtures import GatewayEnv
from tests.security.conftest import gw_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
OPEN = Policy(purposes=("research",), max_count=5)


def _wait_until(t: float) -> None:
    """Sleep until the wall clock passes ``t`` (bounded: the tests ask for a few seconds at most)."""
    delay = t - time.time()
    assert delay < 10, "test asked to wait too long"
    if delay > 0:
        time.sleep(delay)


def _error(resp: httpx.Response) -> str:
    return str(resp.json()["error"]["code"])


@pytest.fixture(scope="module")
def assets(gw_env: GatewayEnv) -> list[str]:  # noqa: F811
    """Registered up front: registering mines blocks, and these tests need the chain idle."""
    return [gw_env.new_asset(OPEN, size=300 + i).asset_id for i in range(3)]


def _request(env: GatewayEnv, asset: str, not_before: int, not_after: int, deadline: int) -> GrantRequest:
    policy = env.gateway.view.grants.policy_state(asset)
    assert policy is not None
    return GrantRequest(asset, env.keystore.address("consumer"), "research", not_before, not_after, 5, 0,
                        secrets.randbits(64), deadline, policy.epoch)


def test_grant_past_its_window_is_refused_while_no_block_is_mined(gw_env: GatewayEnv,  # noqa: F811
                                                                    assets: list[str]) -> None:
    asset = assets[0]
    target = f"/assets/{asset}/data"
    now = int(time.time())
    with gw_env.client("consumer") as client:
        grant = client.submit_grant(_request(gw_env, asset, now - 10, now + 3, now + 600))
    assert grant["state"] == "issued"
    grant_id = grant["grant_id"]
    first = httpx.get(gw_env.url + target, headers=gw_env.sign("consumer", "GET", target))
    assert first.status_code == 200, first.text  # inside the window
    idle_block = gw_env.block_number()
    session = httpx.post(gw_env.url + "/session", headers=gw_env.sign("consumer", "POST", "/session")).json()

    _wait_until(grant["request"]["not_after"] + 0.3)  # the window ends; nobody sends a transaction
    assert gw_env.block_number() == idle_block
    grants = GrantsClient(gw_env.chain())
    assert grants.liveness(grant_id) == Liveness.LIVE  # what the idle chain's head still says

    used = gw_env.gateway.db.used(grant_id)
    resp = httpx.get(gw_env.url + target, headers=gw_env.sign("consumer", "GET", target))
    assert resp.status_code == 403 and _error(resp) == "grant_expired", resp.text[:300]
    assert "window ended" in resp.json()["error"]["message"]
    bearer = httpx.get(gw_env.url + target, headers={"Authorization": f"Bearer {session['token']}"})
    assert bearer.status_code == 403 and _error(bearer) == "grant_expired", bearer.text[:300]
    assert gw_env.gateway.db.used(grant_id) == used == 1  # no count used
    assert gw_env.gateway.db.count_accesses(grant_id=grant_id, decision="allow") == 1
    state = gw_env.client("consumer").grant(grant_id)
    assert state["liveness"] == "expired"  # the grant's state says the same
    assert gw_env.block_number() == idle_block  # and nothing was sent to the chain


def test_issuance_judges_the_window_on_the_gateway_clock_too(gw_env: GatewayEnv,  # noqa: F811
                                                             assets: list[str]) -> None:
    asset = assets[1]
    head_time = int(gw_env.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    _wait_until(head_time + 2.2)
    now = int(time.time())
    block = gw_env.block_number()
    request = _request(gw_env, asset, head_time - 60, now - 1, now + 600)  # live at the head's time, over by ours
    assert request.not_after > head_time
    body = json.dumps({"request": request.to_json(), "signature": _consent(gw_env, request)}).encode()
    headers = {**gw_env.sign("consumer", "POST", "/grants", body), "Content-Type": "application/json"}
    resp = httpx.post(gw_env.url + "/grants", content=body, headers=headers)
    assert resp.status_code == 422 and _error(resp) == "grant_terms_invalid", resp.text[:300]
    assert gw_env.block_number() == block and gw_env.gateway.db.grant_request(gw_env.gateway.grant_id(request)) is None


def test_chain_ahead_of_the_gateway_does_not_start_a_window_early(gw_env: GatewayEnv,  # noqa: F811
                                                                   assets: list[str]) -> None:
    # last in this module: it moves the devnet's clock an hour ahead of the gateway's
    asset = assets[2]
    gw_env.rpc("evm_increaseTime", [3600])
    gw_env.rpc("evm_mine")
    now = int(time.time())
    with gw_env.client("consumer") as client:  # starts in 10 minutes by the gateway's clock; the chain is past that
        grant = client.submit_grant(_request(gw_env, asset, now + 600, now + 86400, now + 7200))
    assert grant["state"] == "issued"
    assert GrantsClient(gw_env.chain()).liveness(grant["grant_id"]) == Liveness.LIVE  # the chain's verdict
    target = f"/assets/{asset}/data"
    resp = httpx.get(gw_env.url + target, headers=gw_env.sign("consumer", "GET", target))
    assert resp.status_code == 403 and _error(resp) == "grant_not_yet_valid", resp.text[:300]
    assert gw_env.gateway.db.used(grant["grant_id"]) == 0


def _consent(env: GatewayEnv, request: GrantRequest) -> str:
    from chain.eip712 import sign_grant_request

    gw = env.gateway
    return sign_grant_request(env.account("consumer"), gw.chain_id, gw.usage_grants, request)
