"""Cross-gateway replay: a call signed for one provider's gateway, replayed at another's.

The attack: two providers run gateways on one chain, each with its own database (so its own
nonces). A call the consumer signed for gateway 1 (captured on the wire, or kept by gateway 1's
operator, who may even have had the consumer sign a path of gateway 2's asset) is sent to
gateway 2; a signed ``POST /session`` captured at gateway 1 would give a bearer token there.

What must hold: every signed call binds the gateway it is for (provider address and gateway id in
the signed message, published by ``GET /eip712``, named by ``X-TDS-Gateway``). Gateway 2 refuses a
call signed for gateway 1 with 421 ``wrong_gateway`` naming both gateways, before it uses the
nonce: no count used, no access record, no session, and the nonce stays free there. Rewriting
``X-TDS-Gateway`` to gateway 2's id breaks the signature. A session token issued by gateway 1 is
refused by gateway 2. The same calls still work at gateway 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.types import Policy
from tests.integration.gateway_fixtures import GatewayEnv, stop_server
from tests.security.conftest import gw_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
OPEN = Policy(purposes=("research",), max_count=5)


@pytest.fixture(scope="module")
def gw2(gw_env: GatewayEnv) -> Iterator[GatewayEnv]:  # noqa: F811
    """provider2's gateway on the same chain (own store, database, port)."""
    env2 = gw_env.second_gateway()
    try:
        yield env2
    finally:
        stop_server(env2)


@pytest.fixture(scope="module")
def grants(gw_env: GatewayEnv, gw2: GatewayEnv) -> dict[str, Any]:  # noqa: F811
    """The consumer holds a live grant at each gateway."""
    out: dict[str, Any] = {}
    for name, env in (("1", gw_env), ("2", gw2)):
        asset = env.new_asset(OPEN, size=2000).asset_id
        with env.client("consumer") as client:
            grant = client.request_grant(asset, "research", max_count=5)
        assert grant["state"] == "issued"
        out[name] = {"asset": asset, "grant": grant["grant_id"], "target": f"/assets/{asset}/data"}
    return out


def _error(resp: httpx.Response) -> dict[str, str]:
    return dict(resp.json()["error"])


def _assert_wrong_gateway(resp: httpx.Response, gw1: GatewayEnv, gw2: GatewayEnv) -> None:
    assert resp.status_code == 421, resp.text
    error = _error(resp)
    assert error["code"] == "wrong_gateway"
    assert gw1.gateway.domain.gateway_id in error["message"]  # the gateway it was signed for ...
    assert gw2.gateway.domain.gateway_id in error["message"]  # ... and the one that refused it


def test_eip712_publishes_each_gateways_own_identity(gw_env: GatewayEnv, gw2: GatewayEnv) -> None:  # noqa: F811
    one, two = (httpx.get(env.url + "/eip712").json()["gateway"] for env in (gw_env, gw2))
    assert one["domain"] == two["domain"]  # same chain, same contract: the domain alone tells them apart no more
    assert one["message"]["provider"] == gw_env.keystore.address("provider")
    assert two["message"]["provider"] == gw2.keystore.address("provider2")
    assert one["message"]["gateway"] != two["message"]["gateway"]
    assert one["headers"]["gateway"] == "X-TDS-Gateway"
    assert [f["name"] for f in one["types"]["GatewayRequest"]][:2] == ["provider", "gateway"]


def test_signed_get_for_gateway_1_is_refused_at_gateway_2(gw_env: GatewayEnv, gw2: GatewayEnv,  # noqa: F811
                                                          grants: dict[str, Any]) -> None:
    g2 = grants["2"]
    used, records = gw2.gateway.db.used(g2["grant"]), gw2.gateway.db.count_accesses()
    # gateway 1 had the consumer sign a path of gateway 2's asset (e.g. listed in its own catalog)
    captured = gw_env.sign("consumer", "GET", g2["target"])
    _assert_wrong_gateway(httpx.get(gw2.url + g2["target"], headers=captured), gw_env, gw2)
    # rewriting the header to gateway 2's id does not help: the signature binds the gateway
    forged = {**captured, "X-TDS-Gateway": gw2.gateway.domain.gateway_id}
    resp = httpx.get(gw2.url + g2["target"], headers=forged)
    assert resp.status_code == 401 and _error(resp)["code"] == "bad_signature", resp.text
    assert gw2.gateway.db.used(g2["grant"]) == used  # no count used
    assert gw2.gateway.db.count_accesses() == records  # no access record
    # the nonce was not used there: the consumer's own call for gateway 2 with that nonce is served
    own = gw2.sign("consumer", "GET", g2["target"], nonce=int(captured["X-TDS-Nonce"]))
    resp = httpx.get(gw2.url + g2["target"], headers=own)
    assert resp.status_code == 200, resp.text
    assert gw2.gateway.db.used(g2["grant"]) == used + 1


def test_the_same_get_still_works_at_gateway_1(gw_env: GatewayEnv, gw2: GatewayEnv,  # noqa: F811
                                               grants: dict[str, Any]) -> None:
    g1 = grants["1"]
    headers = gw_env.sign("consumer", "GET", g1["target"])
    _assert_wrong_gateway(httpx.get(gw2.url + g1["target"], headers=headers), gw_env, gw2)
    used = gw_env.gateway.db.used(g1["grant"])
    resp = httpx.get(gw_env.url + g1["target"], headers=headers)
    assert resp.status_code == 200, resp.text
    assert gw_env.gateway.db.used(g1["grant"]) == used + 1
    again = httpx.get(gw_env.url + g1["target"], headers=headers)  # and once only
    assert again.status_code == 409 and _error(again)["code"] == "nonce_replayed"
    _assert_wrong_gateway(httpx.get(gw2.url + g1["target"], headers=headers), gw_env, gw2)


def test_signed_session_request_for_gateway_1_is_refused_at_gateway_2(gw_env: GatewayEnv,  # noqa: F811
                                                                      gw2: GatewayEnv,
                                                                      grants: dict[str, Any]) -> None:
    captured = gw_env.sign("consumer", "POST", "/session")
    resp = httpx.post(gw2.url + "/session", headers=captured)
    _assert_wrong_gateway(resp, gw_env, gw2)
    assert "token" not in resp.text
    own = gw2.sign("consumer", "POST", "/session", nonce=int(captured["X-TDS-Nonce"]))  # nonce still free there
    assert httpx.post(gw2.url + "/session", headers=own).status_code == 201
    # the captured request still works where it was meant to go
    resp = httpx.post(gw_env.url + "/session", headers=captured)
    assert resp.status_code == 201, resp.text


def test_session_token_of_gateway_1_is_refused_at_gateway_2(gw_env: GatewayEnv, gw2: GatewayEnv,  # noqa: F811
                                                            grants: dict[str, Any]) -> None:
    resp = httpx.post(gw_env.url + "/session", headers=gw_env.sign("consumer", "POST", "/session"))
    bearer = {"Authorization": f"Bearer {resp.json()['token']}"}
    g1, g2 = grants["1"], grants["2"]
    used, records = gw2.gateway.db.used(g2["grant"]), gw2.gateway.db.count_accesses()
    refused = httpx.get(gw2.url + g2["target"], headers=bearer)
    assert refused.status_code == 401 and _error(refused)["code"] == "session_invalid", refused.text
    assert gw2.gateway.db.used(g2["grant"]) == used and gw2.gateway.db.count_accesses() == records
    served = httpx.get(gw_env.url + g1["target"], headers=bearer)  # at the gateway that issued it
    assert served.status_code == 200, served.text
