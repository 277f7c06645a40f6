"""The console's language choice, its safe language switch and its security headers (no server needed)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

import i18n
from console import web


def test_the_language_a_person_asked_for_wins_then_the_browser() -> None:
    assert i18n.negotiate("zh", accept_language="en") == "zh"
    assert i18n.negotiate(None, "en", accept_language="zh-CN") == "en"  # the cookie beats the browser
    assert i18n.negotiate(None, accept_language="fr;q=0.9, zh-TW;q=0.8, en;q=0.5") == "zh"
    assert i18n.negotiate(None, accept_language="fr, de;q=0.5") == "en"
    assert i18n.negotiate("klingon") == "en"
    assert i18n.lang_from_env({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert i18n.lang_from_env({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}) == "en"


def test_dates_and_numbers_per_locale() -> None:
    ts = 1764700000  # 2025-12-02 18:26:40 UTC
    assert i18n.format_datetime(ts, "en") == "2 Dec 2025, 18:26:40 UTC"
    assert i18n.format_datetime(ts, "zh") == "2025年12月2日 18:26:40 UTC"
    assert i18n.format_date(ts, "zh") == "2025年12月2日"
    assert i18n.format_datetime(0, "zh", "不限") == "不限" and i18n.format_datetime(2**40, "en") == "—"
    assert i18n.format_number(1234567, "zh") == "1,234,567"


def _app() -> FastAPI:
    app = FastAPI()
    renderer = web.Renderer()

    @app.get("/console/lang/{lang}")
    def switch(lang: str, request: Request):  # type: ignore[no-untyped-def]
        return web.language_switch(request, lang)

    @app.get("/console/problem")
    def problem(request: Request):  # type: ignore[no-untyped-def]
        return renderer.render(request, "problem.html", problem="<b>x</b>", provider="0x0", provider_did="did:x",
                               chain_id=1, space_title="t", connect=["http://127.0.0.1:8545"])

    return app


def test_the_switch_remembers_the_language_and_returns_only_into_the_console() -> None:
    client = TestClient(_app())
    r = client.get("/console/lang/zh", params={"next": "/console/assets/0x12?x=1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/assets/0x12?x=1"
    assert r.cookies.get("tds_lang") == "zh" and "max-age=31536000" in r.headers["set-cookie"].lower()
    for bad in ("http://evil.example", "//evil.example", "/console/../x", "/console@evil", "/elsewhere"):
        r = client.get("/console/lang/zh", params={"next": bad}, follow_redirects=False)
        assert r.headers["location"] == "/console/", bad
    r = client.get("/console/lang/xx", follow_redirects=False)
    assert r.cookies.get("tds_lang") == "en"


def test_pages_are_escaped_translated_and_forbid_inline_script() -> None:
    client = TestClient(_app(), cookies={"tds_lang": "zh"})
    r = client.get("/console/problem")
    assert "<b>x</b>" not in r.text and "&lt;b&gt;x&lt;/b&gt;" in r.text
    assert "此页面暂时无法显示。" in r.text and '<html lang="zh-CN">' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "connect-src 'self' http://127.0.0.1:8545;" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert client.get("/console/problem?lang=en").text.count("This page cannot be shown") == 1  # ?lang= beats the cookie
