"""Inputs built to crash a route, and a database that goes away, get the documented JSON error.

The attack: values past what the code converts or stores (a 4,301-digit integer in the POST /grants
JSON, a receipt id or paging cursor beyond int64, a Range bound with 4,301 digits) and a gateway
database that is unreachable. Before, each answered ``500 Internal Server Error`` as text, one of
them without authentication, and a database failure was a 500 too.

What must hold: every error is ``{"error": {"code", "message"}}`` with a stable code (400/404/416/
422 for bad input, ``503 database_unavailable`` for the database), nothing is used or recorded by a
refused request, and a last-resort handler means no route can ever answer a text 500.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.types import Policy
from gateway.db import Database
from gateway.service import Gateway
from tests.security.conftest import GatewayEnv, served

pytestmark = pytest.mark.integration

OPEN = Policy(purposes=("research",), jurisdictions=("DE",), max_count=20)
HUGE = "9" * 4301


@pytest.fixture(scope="module")
def asset(gw_env: GatewayEnv) -> dict[str, Any]:
    """An open asset and a live grant of `consumer` on it."""
    asset_id, grant_id = gw_env.granted_asset(OPEN, size=3000, max_count=20)
    return {"asset": asset_id, "grant": grant_id, "target": f"/assets/{asset_id}/data"}


def _error(resp: httpx.Response, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text[:300]
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    assert "Traceback" not in body["error"]["message"]
    return str(body["error"]["message"])


def _post_grants(env: GatewayEnv, body: bytes, signed: bool) -> httpx.Response:
    headers = {"Content-Type": "application/json", **(env.sign("consumer", "POST", "/grants", body) if signed else {})}
    return httpx.post(env.url + "/grants", content=body, headers=headers)


def test_huge_integer_in_grant_request(gw_env: GatewayEnv, asset: dict[str, Any]) -> None:
    rows = len(gw_env.gateway.db.grant_requests())
    body = ('{"request": {"asset_id": "%s", "max_count": %s}, "signature": "0x00"}' % (asset["asset"], HUGE)).encode()
    for signed in (False, True):
        message = _error(_post_grants(gw_env, body, signed), 400, "malformed_json")
        assert "4,300 digits" in message and "set_int_max_str_digits" not in message
    in_range = json.dumps({"request": {"asset_id": asset["asset"], "max_count": 10**80}, "signature": "0x00"}).encode()
    _error(_post_grants(gw_env, in_range, True), 400, "malformed_json")  # parses, then fails validation
    assert len(gw_env.gateway.db.grant_requests()) == rows


def test_receipt_id_and_cursor_beyond_int64(gw_env: GatewayEnv) -> None:
    for who in ("provider", "consumer"):
        target = "/receipts/rcpt-9999999999999999999"
        _error(httpx.get(gw_env.url + target, headers=gw_env.sign(who, "GET", target)), 404, "not_found")
        _error(httpx.get(gw_env.url + target + "/proof", headers=gw_env.sign(who, "GET", target + "/proof")),
               404, "not_found")
    _error(httpx.get(gw_env.url + "/receipts/rcpt-9999999999999999999"), 404, "not_found")  # unsigned too
    for after in ("9223372036854775808", HUGE[:100], "-1", "x"):
        target = f"/receipts?after={after}"
        _error(httpx.get(gw_env.url + target, headers=gw_env.sign("provider", "GET", target)), 422, "invalid_request")
    target = "/receipts?after=9223372036854775807"  # the largest cursor a column holds: an empty page
    resp = httpx.get(gw_env.url + target, headers=gw_env.sign("provider", "GET", target))
    assert resp.status_code == 200 and resp.json() == {"receipts": [], "next": None}


def test_range_bounds_with_thousands_of_digits(gw_env: GatewayEnv, asset: dict[str, Any]) -> None:
    gw, target, grant = gw_env.gateway, asset["target"], asset["grant"]
    used = gw.db.used(grant)
    for bad in (f"bytes={HUGE}-", f"bytes={HUGE}-{HUGE}", f"bytes=3000-{HUGE}"):  # all start past the end
        headers = {**gw_env.sign("consumer", "GET", target), "Range": bad}
        message = _error(httpx.get(gw_env.url + target, headers=headers), 416, "range_not_satisfiable")
        assert len(message) < 200  # the header is not echoed back in full
    for bad in ("bytes=abc", "bytes=0-1,5-6", "items=0-1"):  # not one range: a syntax error, not 416
        headers = {**gw_env.sign("consumer", "GET", target), "Range": bad}
        _error(httpx.get(gw_env.url + target, headers=headers), 400, "range_invalid")
    assert gw.db.used(grant) == used  # a refused range uses no count
    _error(httpx.get(gw_env.url + target, headers={"Range": f"bytes=0-{HUGE}"}), 401, "signature_missing")
    # a last position past the end means "to the end" (RFC 9110): served, not a crash
    resp = httpx.get(gw_env.url + target, headers={**gw_env.sign("consumer", "GET", target),
                                                   "Range": f"bytes=2990-{HUGE}"})
    assert resp.status_code == 206 and resp.headers["content-range"] == "bytes 2990-2999/3000"
    assert len(resp.content) == 10 and gw.db.used(grant) == used + 1
    resp = httpx.get(gw_env.url + target, headers={**gw_env.sign("consumer", "GET", target),
                                                   "Range": f"bytes=-{HUGE}"})  # a suffix longer than the object
    assert resp.status_code == 200 and len(resp.content) == 3000


def test_content_hash_header_is_0x_prefixed(gw_env: GatewayEnv, asset: dict[str, Any]) -> None:
    target = asset["target"]
    resp = httpx.get(gw_env.url + target, headers=gw_env.sign("consumer", "GET", target))
    assert resp.status_code == 200 and resp.headers["x-content-sha256"] == asset["asset"]
    with gw_env.client("consumer") as c:  # the client (and `tds consumer fetch`) accept it
        assert c.fetch(asset["asset"], gw_env.home / "fetched.bin").sha256 == asset["asset"]


@pytest.fixture
def dead_db_gateway(gw_env: GatewayEnv) -> Iterator[Gateway]:
    """The env's gateway (chain, store, key) over a database that goes away once opened: its engine's
    connections are closed and its directory removed, so every statement fails to connect."""
    where = gw_env.home / "doomed-db"
    db = Database.connect(f"sqlite:///{where / 'gateway.db'}")
    gw = gw_env.gateway
    yield Gateway(gw.settings, gw.chain, db, gw.store, gw.provider_address, gw.provider)
    db.engine.dispose()


def test_database_unavailable_is_503_json(gw_env: GatewayEnv, asset: dict[str, Any],
                                          dead_db_gateway: Gateway) -> None:
    target, block = asset["target"], gw_env.block_number()
    with served(gw_env, gateway=dead_db_gateway) as (url, _app):
        dead_db_gateway.db.engine.dispose()  # the database goes away under the running gateway
        shutil.rmtree(gw_env.home / "doomed-db")
        health = httpx.get(url + "/health")  # the chain view needs no database, a ledger check does
        if health.status_code != 200:
            _error(health, 503, "database_unavailable")
        with httpx.Client(base_url=url) as http:
            message = _error(http.get(target, headers=gw_env.sign("consumer", "GET", target)), 503,
                             "database_unavailable")
            assert "db_url" in message and "sqlite" not in message.lower() and "select" not in message.lower()
            with gw_env.client("consumer") as c:
                body = json.dumps({"request": c.build_request(asset["asset"], "research", 1).to_json(),
                                   "signature": "0x" + "11" * 65}).encode()
            headers = {"Content-Type": "application/json", **gw_env.sign("consumer", "POST", "/grants", body)}
            _error(http.post("/grants", content=body, headers=headers), 503, "database_unavailable")
            _error(http.get("/receipts", headers=gw_env.sign("provider", "GET", "/receipts")), 503,
                   "database_unavailable")
    assert gw_env.block_number() == block  # nothing went on-chain


def test_no_route_answers_a_text_500(gw_env: GatewayEnv) -> None:
    """The last-resort handler: an unexpected exception in any route is a JSON 500, not a text page."""
    with served(gw_env) as (url, app):
        def boom() -> None:
            raise RuntimeError("secret internal detail")

        app.add_api_route("/boom", boom, methods=["GET"])
        with httpx.Client(base_url=url) as http:
            for _ in range(2):  # and the keep-alive connection survives it (the error did not escape)
                message = _error(http.get("/boom"), 500, "internal_error")
                assert "secret" not in message
            assert http.get("/health").status_code == 200
