"""The operator's and auditor's console against a real index of a real devnet, over real HTTP, in both languages.

What a user must see: the space's timeline in words with titles beside hashes, the participants with their roles,
jurisdictions and status, the findings of ``tds audit check`` with the fix in words, each asset's history and its
HTML report, the space-wide catalog; a banner whenever the index is behind the chain or the chain cannot be read
(the pages still show what the index holds, labelled with its block); escaped titles, descriptions and purposes
on every page; a clear 404 page for bad ids.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chain.devnet import rpc
from tests.integration.conftest import Space
from tests.integration.console_fixtures import (
    SCRIPTS, XSS_DESCRIPTION, XSS_PURPOSE, XSS_TITLE, Served, Story, console_story, dead_rpc_url, index_copy,
    serve_console, served,
)

pytestmark = pytest.mark.integration
LANGS = ("en", "zh")


@pytest.fixture(scope="module")
def story(space: Space, tmp_path_factory: pytest.TempPathFactory) -> Story:
    return console_story(space, tmp_path_factory.mktemp("console-audit"))


@pytest.fixture(scope="module")
def web(space: Space, story: Story) -> Iterator[Served]:
    s = serve_console(space)
    try:
        yield s
    finally:
        s.stop()


def get(s: Served, path: str, lang: str = "en", **params: str) -> httpx.Response:
    return httpx.get(s.url + path, params={"lang": lang, **params}, timeout=30, follow_redirects=False)


def pages(story: Story) -> list[str]:
    return ["/console/", "/console/?every=1", "/console/participants", f"/console/participants/{story.provider}",
            f"/console/participants/{story.consumer}", "/console/findings", "/console/catalog",
            f"/console/catalog?q=Weather", f"/console/assets/{story.weather}", f"/console/assets/{story.derived}",
            f"/console/assets/{story.weather}/report", "/console/operator"]


def text_of(page: str) -> str:
    """The page's visible text (tags dropped, entities decoded)."""
    body = re.sub(r"<script\b[^>]*>.*?</script>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_answers_in_both_languages(web: Served, story: Story, lang: str) -> None:
    for path in pages(story):
        r = httpx.get(web.url + path, params={"lang": lang}, timeout=30)
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        assert r.headers["content-type"].startswith("text/html")
        assert (f'lang="zh-CN"' in r.text or "lang=zh-CN" in r.text) == (lang == "zh"), path
        assert r.headers["X-TDS-Index-Fresh"] == "yes", path
        if not path.endswith("/report"):
            assert "script-src 'self'" in r.headers["content-security-policy"]
            assert 'id="freshness"' not in r.text  # current: no banner


@pytest.mark.parametrize("lang, words", [
    ("en", {"title": "What happened in the space", "registered": "registered data product",
            "revoked": "revoked digital contract", "onboarded": "onboarded"}),
    ("zh", {"title": "空间中发生了什么", "registered": "登记了数据产品", "revoked": "撤销了", "onboarded": "准入"}),
])
def test_the_timeline_says_what_happened_with_titles_beside_hashes(web: Served, story: Story, lang: str,
                                                                  words: dict[str, str]) -> None:
    page = get(web, "/console/", lang).text
    assert words["title"] in text_of(page)
    seen, n = [page], 1  # the space's session is shared with other modules: the story may span pages
    while 'rel="next"' in seen[-1] and n < 30:
        n += 1
        seen.append(get(web, "/console/", lang, page=str(n)).text)
    page = "".join(seen)
    text = text_of(page)
    for word in words.values():
        assert word in text, word
    assert f'href="/console/assets/{story.weather}"' in page and f'title="{story.weather}"' in page
    assert html.escape(XSS_TITLE, quote=False).split(" ")[0] in page or "&lt;script&gt;" in page
    assert "Daily means 日均值" in text  # the derived product's title beside its hash
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日" if lang == "zh" else r"\d{1,2} [A-Z][a-z]{2} \d{4}", text)


def test_the_timeline_pages_newest_first(web: Served) -> None:
    first = get(web, "/console/").text
    blocks = [int(b.replace(",", "")) for b in re.findall(r'<tr class="event [^"]*"><td>[^<]*</td><td>([\d,]+)</td>',
                                                            first)]
    assert blocks and blocks == sorted(blocks, reverse=True)
    assert 'rel="next"' in first or len(blocks) < 50
    if 'rel="next"' in first:
        second = get(web, "/console/", page="2").text
        more = [int(b.replace(",", "")) for b in re.findall(r'<tr class="event [^"]*"><td>[^<]*</td><td>([\d,]+)</td>',
                                                             second)]
        assert more and max(more) <= min(blocks)


@pytest.mark.parametrize("lang, provider, active", [("en", "provider", "active"), ("zh", "数据提供方", "正常")])
def test_participants_with_role_jurisdiction_status_and_since(web: Served, story: Story, space: Space, lang: str,
                                                              provider: str, active: str) -> None:
    page = get(web, "/console/participants", lang).text
    row = re.search(rf'<tr data-address="{story.provider}".*?</tr>', page, re.S)
    assert row is not None, page[:2000]
    cells = text_of(row.group(0))
    assert provider in cells and "DE" in cells and active in cells
    assert space.address("outsider") not in page  # never onboarded
    one = text_of(get(web, f"/console/participants/{story.provider}", lang).text)
    assert f"did:pkh:eip155:31337:{story.provider}" in one and provider in one
    assert ("Member since" if lang == "en" else "加入时间") in one
    consumer = get(web, f"/console/participants/{story.consumer}", lang).text
    assert story.grant[:10] in consumer  # its digital contract, in its history


@pytest.mark.parametrize("lang, words", [
    ("en", ["no_receipts_verified", "warning", "Receipts roots are anchored, but not one receipt was verified",
            "--receipts FILE.jsonl"]),
    ("zh", ["no_receipts_verified", "警告", "凭证根已上链存证，但没有任何凭证对照它们得到验证", "--receipts FILE.jsonl"]),
])
def test_findings_with_severity_and_the_fix_in_words(web: Served, lang: str, words: list[str]) -> None:
    page = get(web, "/console/findings", lang).text
    text = text_of(page)
    for word in words:
        assert word in text, word
    assert 'data-code="no_receipts_verified"' in page


@pytest.mark.parametrize("lang", LANGS)
def test_the_asset_page_and_its_html_report(web: Served, story: Story, lang: str) -> None:
    page = get(web, f"/console/assets/{story.weather}", lang).text
    text = text_of(page)
    assert XSS_TITLE in text and XSS_DESCRIPTION in text  # shown as text, escaped in the markup
    assert story.grant[:10] in page and "Daily means 日均值" in text  # grants, and the derived product in the lineage
    assert ("revoked" if lang == "en" else "已撤销") in text
    link = re.search(r'id="report-link" href="([^"]+)"', page)
    assert link is not None
    report = httpx.get(web.url + html.unescape(link.group(1)), timeout=30)
    assert report.status_code == 200
    assert ("数据资产审计报告" if lang == "zh" else "Asset audit report") in report.text
    csp = report.headers["content-security-policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp
    assert "&lt;script&gt;" in report.text and "<script" not in report.text


def test_the_catalog_searches_filters_and_pages(web: Served, story: Story) -> None:
    found = get(web, "/console/catalog", q="Weather").text
    assert f'href="/console/assets/{story.weather}"' in found
    assert f'href="/console/assets/{story.derived}"' not in found
    by_purpose = get(web, "/console/catalog", purpose=XSS_PURPOSE).text
    assert f'href="/console/assets/{story.weather}"' in by_purpose
    assert get(web, "/console/catalog", q=story.derived[:12]).text.count('class="result"') == 1
    paged = get(web, "/console/catalog", per_page="1").text
    assert 'rel="next"' in paged and "page 1 of" in text_of(paged)
    bad = get(web, "/console/catalog", "zh", kind="spaceship")
    assert bad.status_code == 400 and 'id="query-error"' in bad.text


def test_a_chain_behind_the_index_shows_the_banner_and_still_the_index(space: Space, story: Story,
                                                                      tmp_path: Path) -> None:
    with served(space, follow=False, max_lag=2, db_url=index_copy(space, tmp_path / "stale.db")) as s:
        for _ in range(5):
            rpc(space.settings.rpc_url, "evm_mine", [])
        for lang, words in (("en", "The index is behind the chain"), ("zh", "索引落后于区块链")):
            r = get(s, "/console/participants", lang)
            assert r.status_code == 200 and r.headers["X-TDS-Index-Fresh"] == "behind"
            assert 'data-state="behind"' in r.text and words in text_of(r.text)
            assert story.provider in r.text  # what the index holds, labelled with its block
            block = r.headers["X-TDS-Index-Block"]
            assert re.search(rf"(block|区块) {int(block):,}", text_of(r.text))


def test_an_unreachable_chain_shows_the_banner_and_still_the_index(space: Space, story: Story) -> None:
    with served(space, follow=False, rpc_url=dead_rpc_url()) as s:
        for path in ("/console/", "/console/participants", f"/console/assets/{story.weather}", "/console/findings",
                     "/console/operator"):
            r = get(s, path, "zh")
            assert r.status_code == 200 and r.headers["X-TDS-Index-Fresh"] == "no-chain", path
            assert 'data-state="no-chain"' in r.text and "无法读取区块链" in text_of(r.text)
        assert story.provider in get(s, "/console/participants").text
        assert "The chain cannot be read" in text_of(get(s, "/console/").text)


def test_titles_descriptions_and_purposes_are_escaped_on_every_page(web: Served, story: Story) -> None:
    for lang in LANGS:
        for path in pages(story) + [f"/console/catalog?purpose={XSS_PURPOSE}"]:
            body = httpx.get(web.url + path, params={"lang": lang}, timeout=30).text
            for attack in SCRIPTS:
                assert attack not in body, (path, attack)
        timeline = get(web, "/console/", lang).text
        assert "&lt;svg onload=alert(&#39;purpose&#39;)&gt;" in timeline  # the grant's purpose, as text


@pytest.mark.parametrize("path, words", [
    ("/console/assets/0x12", "Not an asset id"),
    (f"/console/assets/0x{'ab' * 32}", "The index knows no asset"),
    ("/console/assets/0x{0}/report".format("cd" * 32), "The index knows no asset"),
    ("/console/participants/0xnothex", "Not an address"),
    (f"/console/participants/0x{'12' * 20}", "The index knows no participant"),
    ("/console/no-such-page", "There is no such page"),
])
def test_bad_ids_answer_a_clear_404_page(web: Served, path: str, words: str) -> None:
    r = get(web, path)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert words in text_of(r.text) and "Not found" in text_of(r.text)
    zh = get(web, path, "zh")
    assert zh.status_code == 404 and "未找到" in text_of(zh.text)


def test_the_index_follows_the_chain_while_serving(web: Served, space: Space, tmp_path: Path) -> None:
    f = tmp_path / "late.csv"
    f.write_bytes(os.urandom(64))
    import contextlib
    import io

    from cli.main import main as tds_main

    with contextlib.redirect_stdout(io.StringIO()):
        assert tds_main(["--home", str(space.home), "asset", "register", str(f), "--title", "Late arrival"]) == 0
    import time

    deadline = time.monotonic() + 20
    while "Late arrival" not in get(web, "/console/").text:
        assert time.monotonic() < deadline, "the follower did not index the new asset"
        time.sleep(0.3)


def test_the_json_audit_api_is_mounted_read_only(web: Served, story: Story) -> None:
    r = httpx.get(f"{web.url}/audit/assets/{story.weather}", timeout=30)
    assert r.status_code == 200 and r.json()["asset"]["asset_id"] == story.weather
    assert httpx.get(f"{web.url}/audit/participants/{story.provider}", timeout=30).json()["status"] == "active"
    assert httpx.post(f"{web.url}/audit/assets/{story.weather}", timeout=30).status_code == 405
