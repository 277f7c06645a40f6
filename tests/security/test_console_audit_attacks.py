"""Attacks on the operator's and auditor's console (``tds console serve``), as an attacker would try them over HTTP.

- XSS: titles, descriptions and purposes registered on-chain (stored), query parameters echoed back (reflected)
  and error messages quoting the input: always text, never markup; every page carries a CSP with no inline script,
  and the HTML report one that allows no script at all.
- CSRF: the console adds no route that changes anything. Every route of the app answers GET (HEAD) only, so a
  forged form or a cookie alone changes nothing; a POST/PUT/DELETE/PATCH to any page is 405 and the index and the
  chain are unchanged. What changes the chain is a transaction the operator's key signs in the browser.
- Open redirect through the language switch's ``next``: only a console path is followed.
- Path traversal on the static files: nothing outside console/static is served.
- Exposure: the console listens on loopback only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from cli.main import main as tds_main
from console.audit_pages import create_app
from console.audit_serve import NotLoopback, check_loopback
from gateway.api.errors import flat_routes
from tests.integration.conftest import Space, space  # noqa: F401  (fixture: this module's own devnet)
from tests.integration.console_fixtures import SCRIPTS, Served, Story, console_story, serve_console

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def story(space: Space, tmp_path_factory: pytest.TempPathFactory) -> Story:  # noqa: F811
    return console_story(space, tmp_path_factory.mktemp("console-attacks"))


@pytest.fixture(scope="module")
def web(space: Space, story: Story) -> Iterator[Served]:  # noqa: F811
    s = serve_console(space)
    try:
        yield s
    finally:
        s.stop()


def _pages(story: Story) -> list[str]:
    return ["/console/", "/console/participants", f"/console/participants/{story.provider}", "/console/findings",
            "/console/catalog", f"/console/assets/{story.weather}", f"/console/assets/{story.derived}",
            "/console/operator", "/console/assets/0x12", "/console/nowhere"]


# ---- XSS ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_stored_xss_through_titles_descriptions_and_purposes_is_text(web: Served, story: Story, lang: str) -> None:
    for path in _pages(story) + [f"/console/assets/{story.weather}/report"]:
        r = httpx.get(web.url + path, params={"lang": lang}, timeout=30)
        for attack in SCRIPTS:
            assert attack not in r.text, (path, attack)
        scripts = re.findall(r"<script\b[^>]*>", r.text)
        assert all('src="/console/static/' in s or 'type="application/json"' in s for s in scripts), (path, scripts)


REFLECTED = [
    ("/console/catalog", {"q": "<script>alert(1)</script>"}),
    ("/console/catalog", {"kind": "<img src=x onerror=alert(1)>"}),
    ("/console/catalog", {"purpose": "\"><svg onload=alert(1)>"}),
    ("/console/catalog", {"provider": "<script>alert(1)</script>"}),
    ("/console/catalog", {"q": "a", "q2": "<script>alert(1)</script>"}),
    ("/console/", {"page": "<script>alert(1)</script>", "every": "\"><script>alert(1)</script>"}),
    ("/console/participants/<script>alert(1)<%2Fscript>", {}),
    ("/console/assets/<img src=x onerror=alert(1)>", {}),
    ("/console/assets/\"><script>alert(1)<%2Fscript>/report", {}),
]


@pytest.mark.parametrize("path, params", REFLECTED)
def test_reflected_xss_through_the_url_is_text(web: Served, path: str, params: dict[str, str]) -> None:
    r = httpx.get(web.url + path, params=params, timeout=30)
    assert r.status_code in (200, 400, 404)
    for attack in ("<script>alert", "<img src=x", "<svg onload"):
        assert attack not in r.text, (path, params, attack)


def test_the_language_switch_link_carries_the_page_escaped(web: Served) -> None:
    r = httpx.get(web.url + "/console/catalog", params={"q": '"><script>alert(1)</script>'}, timeout=30)
    links = re.findall(r'href="(/console/lang/[^"]*)"', r.text)
    assert links and all("<" not in link and '"' not in link for link in links)


def test_every_page_carries_the_security_headers(web: Served, story: Story) -> None:
    for path in _pages(story):
        h = httpx.get(web.url + path, timeout=30).headers
        csp = h["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "no-referrer"
    report = httpx.get(f"{web.url}/console/assets/{story.weather}/report", timeout=30).headers
    assert "script-src" not in report["content-security-policy"]
    assert "default-src 'none'" in report["content-security-policy"]


# ---- CSRF: nothing to forge ----------------------------------------------------------------------------------


def test_every_route_of_the_app_only_reads(web: Served) -> None:
    app = create_app(web.console)
    routes = list(flat_routes(app.routes))
    writers = []
    for route in routes:
        if isinstance(route, Mount):
            assert route.path == "/console/static"  # static files: GET/HEAD only (StaticFiles)
            continue
        methods = set(getattr(route, "methods", None) or ())
        assert methods, f"a route that says nothing of its methods: {route!r}"
        if methods - {"GET", "HEAD"}:
            writers.append((route.path, sorted(methods)))
    assert writers == [], f"routes that accept more than GET: {writers}"
    pages = [r for r in routes if isinstance(r, APIRoute) and r.path.startswith("/console/")]
    audit = [r for r in routes if isinstance(r, APIRoute) and r.path.startswith("/audit/")]
    assert len(pages) >= 9 and len(audit) >= 6  # the walk saw the console's pages and the JSON audit API


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_writes_to_any_page_change_nothing(web: Served, story: Story, space: Space, method: str) -> None:  # noqa: F811
    before = httpx.get(f"{web.url}/audit/participants/{story.provider}", timeout=30).json()
    block = httpx.get(web.url + "/console/participants", timeout=30).headers["X-TDS-Index-Block"]
    nonce = space.chain().transaction_count(story.provider)
    for path in _pages(story) + ["/console/lang/zh", f"/audit/participants/{story.provider}",
                                 f"/console/participants/{story.provider}/suspend", "/console/operator/onboard"]:
        r = httpx.request(method, web.url + path, data={"account": story.provider, "action": "suspend"},
                          headers={"Origin": "https://evil.example", "Cookie": "tds_lang=zh"}, timeout=30)
        assert r.status_code in (404, 405), (method, path, r.status_code)
        assert "set-cookie" not in r.headers
    assert httpx.get(f"{web.url}/audit/participants/{story.provider}", timeout=30).json()["status"] == before["status"]
    assert space.chain().transaction_count(story.provider) == nonce
    assert int(httpx.get(web.url + "/console/participants", timeout=30).headers["X-TDS-Index-Block"]) >= int(block)


def test_the_page_hands_its_script_no_secret(web: Served) -> None:
    page = httpx.get(web.url + "/console/operator", timeout=30).text
    config = re.search(r'<script type="application/json" id="tds-config">(.*?)</script>', page, re.S)
    assert config is not None
    settings = json.loads(config.group(1))
    settings.pop("messages")  # the page's strings
    text = json.dumps(settings)
    assert not re.search(r"0x[0-9a-fA-F]{64}\b", text)  # no private key (addresses are 40 hex digits)
    assert set(settings) <= {"lang", "prefix", "role", "chain_id", "rpc_url", "contracts", "fresh"}


# ---- open redirect ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "/console//evil.example", "/console/../evil",
    "/console@evil.example", "javascript:alert(1)", "/console/%0d%0aSet-Cookie:x=1", " /console/", "/elsewhere",
])
def test_the_language_switch_never_leaves_the_console(web: Served, target: str) -> None:
    r = httpx.get(f"{web.url}/console/lang/zh", params={"next": target}, timeout=30, follow_redirects=False)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/console/") and "//" not in location and "\n" not in location and "@" not in location
    assert "evil" not in location


def test_the_language_switch_returns_to_a_console_page(web: Served) -> None:
    r = httpx.get(f"{web.url}/console/lang/zh", params={"next": "/console/findings"}, timeout=30,
                  follow_redirects=False)
    assert r.headers["location"] == "/console/findings" and "tds_lang=zh" in r.headers["set-cookie"]


# ---- path traversal on static files -------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/console/static/../audit_pages.py", "/console/static/%2e%2e/audit_pages.py", "/console/static/..%2faudit_pages.py",
    "/console/static/%2e%2e%2f%2e%2e%2fpyproject.toml", "/console/static/vendor/../../web.py",
    "/console/static/....//....//audit_pages.py", "/console/static/%252e%252e/audit_pages.py",
    "/console/static//etc/passwd", "/console/static/..\\audit_pages.py",
])
def test_static_files_do_not_leave_their_folder(web: Served, path: str) -> None:
    with httpx.Client(base_url=web.url, timeout=30) as client:
        r = client.send(client.build_request("GET", path))  # the path as typed (no client-side normalising)
    assert r.status_code in (400, 404), (path, r.status_code)
    assert "def audit_pages" not in r.text and "[project]" not in r.text and "root:" not in r.text


def test_the_static_files_that_exist_are_served_with_headers(web: Served) -> None:
    r = httpx.get(web.url + "/console/static/audit.js", timeout=30)
    assert r.status_code == 200 and "sessionStorage" in r.text and r.headers["x-content-type-options"] == "nosniff"


# ---- exposure ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org", ""])
def test_the_console_listens_on_loopback_only(host: str) -> None:
    with pytest.raises(NotLoopback):
        check_loopback(host)
    assert check_loopback("127.0.0.1") == "127.0.0.1" and check_loopback("::1") == "::1"


def test_tds_console_serve_refuses_a_public_address(space: Space, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                                    tmp_path: Path) -> None:
    code = tds_main(["--home", str(space.home), "console", "serve", "--host", "0.0.0.0"])
    assert code == 2 and "not a loopback address" in capsys.readouterr().err
