"""Bad input in a real browser: a proof that does not verify (shown as failed, with the reason), script in titles,
descriptions and purposes (shown as text everywhere), a wrong keystore passphrase, a gateway that went down
(a banner, nothing half-done), and the reading pages with JavaScript off."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from domain.types import Policy
from gateway.app import create_app
from gateway.service import register_asset
from tests.browser.conftest import ConsoleEnv, new_page, unlock
from tests.browser.test_consumer_story import T, head
from tests.integration.gateway_fixtures import _start_server, stop_server


@pytest.fixture(scope="module")
def proof(console: ConsoleEnv, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real, anchored receipt proof of consumer's download (fetched over the API)."""
    reg = console.asset(f"Proof source {secrets.token_hex(3)}", Policy(max_count=2))
    out = tmp_path_factory.mktemp("proof") / "data.bin"
    with console.env.client("consumer") as c:
        grant = c.request_grant(reg.asset_id, "research", max_count=1)
        fetched = c.fetch(reg.asset_id, out, grant_id=grant["grant_id"])
        console.anchor()
        return dict(c.get_signed(f"/receipts/{fetched.receipt_id}/proof").json())


def _tampered(doc: dict[str, Any], how: str) -> str:
    doc = json.loads(json.dumps(doc))
    if how == "values":
        doc["values"][6] = int(doc["values"][6]) + 1  # claim more bytes than were served
    elif how == "path":
        doc["proof"] = ["0x" + "ab" * 32, *doc["proof"]]  # a sibling that is not in the tree
        doc["root"] = "0x" + "cd" * 32  # ... and a root of its own
    elif how == "chain":
        doc["chain_id"] = 1
    elif how == "not json":
        return "{ this is not a proof"
    return json.dumps(doc)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("how", "category", "reason"), [
    ("values", "forged", "Forged: the values hash to {leaf}, not to the document's leaf {claimed}."),
    ("path", "forged", "Forged: the Merkle path does not lead from the leaf to the root {root}."),
    ("chain", "wrong_chain", "The proof names chain {claimed}; the node is chain {chain}."),
    ("not json", "malformed", "The file is not JSON."),
])
def test_a_proof_that_does_not_verify_is_shown_as_failed_with_the_reason(
        browser: Any, console: ConsoleEnv, proof: dict[str, Any], tmp_path: Path, lang: str, how: str,
        category: str, reason: str) -> None:
    page = new_page(browser, console, lang)
    page.goto(f"{console.url}/console/consumer")
    path = tmp_path / "proof.json"
    path.write_text(_tampered(proof, how))
    page.set_input_files("#proof-file", str(path))
    page.wait_for_selector("#proof-verdict.invalid, #proof-verdict.valid")
    assert page.inner_text("#proof-verdict .verdict-title") == T(lang, "Proof NOT verified ({category})").format(
        category=category)
    assert page.inner_text("#proof-verdict .reason").startswith(head(lang, reason))
    page.context.close()


def test_the_untampered_proof_file_verifies(browser: Any, console: ConsoleEnv, proof: dict[str, Any],
                                           tmp_path: Path) -> None:
    """The control of the test above: the same file, untouched, passes every check."""
    page = new_page(browser, console)
    page.goto(f"{console.url}/console/consumer")
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    page.set_input_files("#proof-file", str(path))
    page.wait_for_selector("#proof-verdict.valid")
    assert len(page.locator("#proof-verdict ul.checks li").all()) == 5
    page.context.close()


XSS_TITLE = '<img src=x onerror="window.__xss=1">Tides'
XSS_DESCRIPTION = '<script>window.__xss=2</script>Levels'
XSS_PURPOSE = '<b onmouseover="window.__xss=3">audit</b>'


def test_script_in_titles_descriptions_and_purposes_is_shown_as_text_on_every_page(browser: Any,
                                                                                   console: ConsoleEnv) -> None:
    reg = console.asset(XSS_TITLE, Policy(max_count=3, purposes=(XSS_PURPOSE,), auto_approve=False),
                        description=XSS_DESCRIPTION)
    with console.env.client("consumer") as c:
        c.request_grant(reg.asset_id, XSS_PURPOSE, max_count=1)  # pending: on the provider's desk
    page = new_page(browser, console)
    unlock(page, console, "consumer")
    visits = [
        (f"/console/?q=Tides", "#results", XSS_TITLE),
        (f"/console/assets/{reg.asset_id}", "#asset-title", XSS_TITLE),
        (f"/console/assets/{reg.asset_id}", "#asset-description", XSS_DESCRIPTION),
        (f"/console/assets/{reg.asset_id}", "#policy-words", XSS_PURPOSE),
        ("/console/consumer", "#grants", XSS_PURPOSE),
    ]
    for path, where, text in visits:
        page.goto(console.url + path)
        page.locator(where, has_text=text).wait_for()  # the markup shows as its own text
        page.mouse.move(300, 300)
        assert page.evaluate("window.__xss") is None, path
    unlock(page, console, "provider")
    page.goto(f"{console.url}/console/provider")
    row = page.locator("#pending tbody tr", has_text="Tides")
    row.wait_for()
    assert XSS_TITLE in row.inner_text() and XSS_PURPOSE in row.inner_text()
    assert page.evaluate("window.__xss") is None
    assert page.errors == []  # type: ignore[attr-defined]  # no alert, no script error
    page.context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_wrong_passphrase_unlocks_nothing(browser: Any, console: ConsoleEnv, lang: str) -> None:
    page = new_page(browser, console, lang)
    said = unlock(page, console, "consumer", passphrase="not-the-passphrase")
    assert said == T(lang, "Wrong passphrase: the keystore could not be decrypted. Nothing was stored.")
    assert page.evaluate("sessionStorage.getItem('tds-wallet')") is None
    assert page.inner_text("#wallet-status") == T(lang, "No wallet")
    page.set_input_files("#keystore-file", {"name": "notes.json", "mimeType": "application/json",
                                            "buffer": b"not json at all"})
    page.fill("#keystore-passphrase", "x")
    page.click("#unlock")
    page.wait_for_selector("#unlock-result.error")
    assert page.inner_text("#unlock-result") == T(lang, "This is not a keystore file (JSON). Nothing was stored.")
    page.context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_gateway_that_went_down_gets_a_banner_and_nothing_is_half_done(browser: Any, console: ConsoleEnv,
                                                                        lang: str) -> None:
    env2 = console.env.second_gateway(name=f"gw-down-{lang}")
    try:
        path = env2.home / "reefs.csv"
        path.write_bytes(b"reef,depth\n" + secrets.token_hex(200).encode())
        reg = register_asset(env2.gateway, path, Policy(max_count=3), title="Reef survey")
        page = new_page(browser, ConsoleEnv(env2, None), lang)
        unlock(page, ConsoleEnv(env2, None), "consumer")
        page.goto(f"{env2.url}/console/assets/{reg.asset_id}")
        page.wait_for_selector("#request-submit")
        stop_server(env2)  # the gateway goes down with the page open
        page.click("#request-submit")
        page.wait_for_selector("#banner.shown")
        assert page.inner_text("#banner") == T(
            lang, "The gateway cannot be reached. Nothing was sent or changed; try again when it is back.")
        assert env2.gateway.db.grant_requests(asset_id=reg.asset_id) == []  # nothing recorded
        assert env2.gateway.view.grants.get_policy(reg.asset_id) is not None  # the chain is fine: only the gateway
        page.context.close()
    finally:
        stop_server(env2)


def test_reading_works_with_javascript_off(browser: Any, console: ConsoleEnv) -> None:
    parent = console.asset(f"River flow {secrets.token_hex(2)}", Policy(max_count=2, jurisdictions=("DE", "NL")))
    child = console.asset("Flood model input", Policy(max_count=1), parents=(parent.asset_id,))
    page = new_page(browser, console, "zh", javascript=False)
    page.goto(f"{console.url}/console/?q=River")
    assert page.locator("#results li.result").count() >= 1
    page.click("#results a.title:has-text('River flow')")
    assert page.inner_text("#asset-title").startswith("River flow")
    assert T("zh", "Only for consumers in: {places}").format(places="DE, NL") in page.inner_text("#policy-words")
    assert page.is_visible("#usage-chart svg")
    assert "Flood model input" in page.inner_text("#lineage")  # its derived product below it
    page.goto(f"{console.url}/console/assets/{child.asset_id}")
    graph = page.inner_text("#lineage")
    assert "River flow" in graph and "Flood model input" in graph  # the parent above its derived product
    assert T("zh", "A grant request is signed in your browser: turn on JavaScript, or use the tds CLI "
                   "(tds consumer request).") in page.inner_text("#request-section")
    page.context.close()
