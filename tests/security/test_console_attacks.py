"""Attacks on the web console and the provider routes it signs for.

- CSRF: a state change needs the provider's signature in the X-TDS-* headers. A cookie alone (the console's
  only cookie is the language), a consumer's signature, a session token, a replayed or re-targeted signature,
  or a form post from another site changes nothing.
- XSS: titles, descriptions and purposes are escaped in every server-rendered page, and the pages forbid
  inline script (Content-Security-Policy), so an injected ``<script>`` would not run even unescaped.
- Open redirect through the language switch's ``next``; path traversal out of the static folder; framing.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from markupsafe import escape

from domain.types import Policy
from tests.security.conftest import GatewayEnv

pytestmark = pytest.mark.integration

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def pending(gw_env: GatewayEnv) -> dict[str, Any]:
    """An asset needing the provider's approval, with ``consumer``'s request pending on it."""
    reg = gw_env.new_asset(Policy(max_count=5, auto_approve=False, purposes=(XSS,)))
    with gw_env.client("consumer") as c:
        grant = c.request_grant(reg.asset_id, XSS, max_count=2)
    assert grant["state"] == "pending"
    return {"asset": reg.asset_id, "grant": grant["grant_id"]}


def _state(env: GatewayEnv, grant_id: str) -> str:
    row = env.gateway.db.grant_request(grant_id)
    assert row is not None
    return row.state


def test_a_cookie_alone_approves_nothing(gw_env: GatewayEnv, pending: dict[str, Any]) -> None:
    target = f"/provider/grants/{pending['grant']}/approve"
    with httpx.Client(base_url=gw_env.url) as browser:  # a browser that visited the console: it holds the cookie
        browser.get("/console/lang/zh?next=/console/")
        assert browser.cookies.get("tds_lang") == "zh"
        forged = browser.post(target, headers={"Origin": "https://evil.example", "Content-Type":
                                               "application/x-www-form-urlencoded"}, content=b"x=1")
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "signature_missing"
    assert _state(gw_env, pending["grant"]) == "pending"


def test_another_participants_signature_decides_nothing(gw_env: GatewayEnv, pending: dict[str, Any]) -> None:
    for who in ("consumer", "consumer2", "provider2"):
        for action in ("approve", "deny", "revoke"):
            target = f"/provider/grants/{pending['grant']}/{action}"
            r = httpx.post(gw_env.url + target, headers=gw_env.sign(who, "POST", target))
            assert r.status_code == 403 and r.json()["error"]["code"] == "not_provider", (who, action, r.text)
    assert _state(gw_env, pending["grant"]) == "pending"
    target = "/provider/requests"
    r = httpx.get(gw_env.url + target, headers=gw_env.sign("consumer", "GET", target))
    assert r.status_code == 403  # the requests (other consumers' purposes and addresses) are the provider's


def test_an_outsider_or_a_session_token_decides_nothing(gw_env: GatewayEnv, pending: dict[str, Any]) -> None:
    target = f"/provider/grants/{pending['grant']}/approve"
    r = httpx.post(gw_env.url + target, headers=gw_env.sign("outsider", "POST", target))
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_member"
    with gw_env.client("consumer") as c:
        token = c.open_session()["token"] if hasattr(c, "open_session") else None
    if token is None:  # the SDK's name for POST /session: open it by hand
        headers = gw_env.sign("consumer", "POST", "/session", b"{}")
        token = httpx.post(gw_env.url + "/session", headers={**headers, "Content-Type": "application/json"},
                           content=b"{}").json()["token"]
    r = httpx.post(gw_env.url + target, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401  # provider routes take no session: a signature per decision
    assert _state(gw_env, pending["grant"]) == "pending"


def test_a_provider_signature_is_good_once_and_for_its_own_target(gw_env: GatewayEnv, pending: dict[str, Any]) -> None:
    other = gw_env.new_asset(Policy(max_count=5, auto_approve=False))
    with gw_env.client("consumer2") as c:
        second = c.request_grant(other.asset_id, "research", max_count=1)["grant_id"]
    deny = f"/provider/grants/{second}/deny"
    signed = gw_env.sign("provider", "POST", deny, b'{"reason": "not now"}')
    retargeted = httpx.post(gw_env.url + f"/provider/grants/{pending['grant']}/deny", headers=signed,
                            content=b'{"reason": "not now"}')
    assert retargeted.status_code == 401 and retargeted.json()["error"]["code"] == "bad_signature"
    changed_body = httpx.post(gw_env.url + deny, headers=signed, content=b'{"reason": "changed"}')
    assert changed_body.status_code == 401
    assert _state(gw_env, pending["grant"]) == "pending" and _state(gw_env, second) == "pending"
    ok = httpx.post(gw_env.url + deny, headers=signed, content=b'{"reason": "not now"}')
    assert ok.status_code == 200 and ok.json()["state"] == "denied" and ok.json()["reason"] == "not now"
    replay = httpx.post(gw_env.url + deny, headers=signed, content=b'{"reason": "not now"}')
    assert replay.status_code == 409 and replay.json()["error"]["code"] == "nonce_replayed"


def test_bad_bodies_and_ids_change_nothing(gw_env: GatewayEnv, pending: dict[str, Any]) -> None:
    deny = f"/provider/grants/{pending['grant']}/deny"
    for body in (b"{not json", json.dumps({"reason": "x" * 501}).encode(), b'{"reason": 5}', b"[1]"):
        r = httpx.post(gw_env.url + deny, headers=gw_env.sign("provider", "POST", deny, body), content=body)
        assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json", body
    for target in ("/provider/grants/0x12/approve", "/provider/grants/" + "0x" + "00" * 32 + "/approve"):
        r = httpx.post(gw_env.url + target, headers=gw_env.sign("provider", "POST", target))
        assert r.status_code in (404, 422), (target, r.text)  # invalid_id / no such request
    target = "/provider/requests?state=everything"
    r = httpx.get(gw_env.url + target, headers=gw_env.sign("provider", "GET", target))
    assert r.status_code == 400 and "state must be one of" in r.json()["error"]["message"]
    assert _state(gw_env, pending["grant"]) == "pending"


def test_titles_descriptions_and_purposes_are_escaped_in_every_page(gw_env: GatewayEnv,
                                                                    pending: dict[str, Any]) -> None:
    path = gw_env.home / "xss.csv"
    path.write_bytes(b"a,b\n1,2\n" * 7)
    from gateway.service import register_asset

    reg = register_asset(gw_env.gateway, path, Policy(max_count=2, purposes=(XSS,)), title=XSS, description=XSS)
    pages = ["/console/", f"/console/?q={httpx.QueryParams({'x': XSS})['x']}", f"/console/assets/{reg.asset_id}",
             f"/console/assets/{pending['asset']}", "/console/consumer", "/console/provider", "/console/wallet",
             "/console/assets/not-an-id", f"/console/?kind={XSS}"]
    for page in pages:
        r = httpx.get(gw_env.url + page, params=None)
        assert r.headers["content-type"].startswith("text/html"), page
        assert "<script>alert" not in r.text and "onerror=alert" not in r.text.replace("onerror=alert(1)&gt;", ""), page
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, page
        assert r.headers["x-content-type-options"] == "nosniff"
    asset_page = httpx.get(f"{gw_env.url}/console/assets/{reg.asset_id}").text
    assert str(escape(XSS)) in asset_page  # shown, as text


def test_the_language_switch_redirects_only_into_the_console(gw_env: GatewayEnv) -> None:
    for bad in ("https://evil.example/", "//evil.example/console", "/console@evil.example", "/\\evil.example",
                "javascript:alert(1)", "/console/../../etc/passwd", "/consolex", "/console//evil.example"):
        r = httpx.get(f"{gw_env.url}/console/lang/zh", params={"next": bad})
        assert r.status_code == 303
        assert r.headers["location"] in ("/console/", bad) and r.headers["location"].startswith("/console"), bad
        assert "//" not in r.headers["location"] and "@" not in r.headers["location"] and ".." not in r.headers["location"]
    good = httpx.get(f"{gw_env.url}/console/lang/en", params={"next": "/console/consumer?x=1"})
    assert good.headers["location"] == "/console/consumer?x=1"
    assert "tds_lang=en" in good.headers["set-cookie"] and "samesite=lax" in good.headers["set-cookie"].lower()


def test_static_files_stay_in_their_folder(gw_env: GatewayEnv) -> None:
    for bad in ("/console/static/../../gateway/app.py", "/console/static/%2e%2e/%2e%2e/pyproject.toml",
                "/console/static/..%2f..%2fpyproject.toml", "/console/static/vendor/../../templates/base.html"):
        r = httpx.get(gw_env.url + bad)
        assert r.status_code == 404 or "[project]" not in r.text and "def create_app" not in r.text, bad
    js = httpx.get(gw_env.url + "/console/static/console.js")
    assert js.status_code == 200 and "content-security-policy" in js.headers


def test_the_console_changes_nothing_itself(gw_env: GatewayEnv) -> None:
    """Every route under /console answers GET only: what changes state is the signed API."""
    from gateway.api.errors import flat_routes

    app = gw_env.server.config.app  # type: ignore[union-attr]
    console = [r for r in flat_routes(app.routes) if getattr(r, "path", "").startswith("/console")]
    assert len(console) >= 7  # the pages, the language switch, the algorithm list, the static files
    methods = {m for r in console for m in (getattr(r, "methods", None) or {"GET"})}
    assert methods <= {"GET", "HEAD"}
    r = httpx.post(gw_env.url + "/console/", content=b"x")
    assert r.status_code == 405


def test_pages_refuse_when_the_chain_cannot_be_read(gw_env: GatewayEnv, pending: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed: no catalog or asset page from a chain view that cannot be read; a 503 page that says so."""
    from chain.errors import ChainUnavailable

    def unreachable(*_a: Any, **_k: Any) -> Any:
        raise ChainUnavailable("node at http://127.0.0.1:1 is unreachable")

    monkeypatch.setattr(gw_env.gateway.view, "head", unreachable)
    for page in ("/console/", f"/console/assets/{pending['asset']}", "/console/?q=x"):
        r = httpx.get(gw_env.url + page)
        assert r.status_code == 503, page
        assert "This page cannot be shown right now." in r.text and "unreachable" in r.text
        assert 'id="results"' not in r.text and 'id="request-form"' not in r.text
    monkeypatch.undo()
    assert httpx.get(gw_env.url + "/console/").status_code == 200  # back by itself once the chain answers
