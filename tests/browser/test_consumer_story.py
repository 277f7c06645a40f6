"""The consumer's story in a real browser, in English and in 中文: find a dataset, unlock the dev wallet, request a
grant, download, open the receipt, verify its proof in the page (Merkle path + eth_call to the devnet)."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import pytest

import i18n
from domain.types import Policy
from tests.browser.conftest import ConsoleEnv, new_page, unlock


def T(lang: str, message: str) -> str:
    """What the console shows for ``message`` in ``lang`` (the catalog's translation)."""
    return i18n.translations(lang, "console").gettext(message)


def head(lang: str, message: str) -> str:
    """The fixed text before a message's first placeholder."""
    return T(lang, message).split("{", 1)[0]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_find_request_download_receipt_and_verify_the_proof(browser: Any, console: ConsoleEnv, lang: str,
                                                            tmp_path: Path) -> None:
    word = f"tide{secrets.token_hex(3)}"
    reg = console.asset(f"Harbour {word} gauges", Policy(max_count=3, purposes=("research", "planning")),
                        description="Water levels every ten minutes")
    page = new_page(browser, console, lang)
    assert page.locator("html").get_attribute("lang") == ("zh-CN" if lang == "zh" else "en")
    assert T(lang, "Data products") in page.inner_text("header nav")

    # find it: the search form is a plain GET form
    page.fill("input[name=q]", word)
    page.click("form.search button[type=submit]")
    assert page.inner_text("#result-count").startswith("1")
    page.click(f"#results a.title:has-text('{word}')")
    assert page.inner_text("#asset-title") == f"Harbour {word} gauges"
    policy_words = page.inner_text("#policy-words")
    assert T(lang, "Only for these purposes: {purposes}").format(purposes="research, planning") in policy_words
    asset_url = page.url

    # unlock the consumer's keystore in the page, then request a grant (signed in the browser)
    said = unlock(page, console, "consumer")
    assert said.startswith(head(lang, "Unlocked {address} for this tab."))
    page.goto(asset_url)
    page.select_option("#request-purpose", "planning")
    page.fill("#request-count", "2")
    page.click("#request-submit")
    page.wait_for_selector("#request-result.ok, #request-result.error")
    result = page.inner_text("#request-result")
    assert result.startswith(head(lang, "Granted: {n} uses until {end}.")), result

    # my grants: the new grant, 2 uses left, and its download
    page.goto(f"{console.url}/console/consumer")
    row = page.locator("#grants tbody tr", has_text=word)
    row.wait_for()
    assert "2 / 2" in row.inner_text()
    with page.expect_download() as download:
        row.locator("button.download").click()
    data = Path(download.value.path()).read_bytes()
    assert "0x" + hashlib.sha256(data).hexdigest() == reg.asset_id
    page.wait_for_selector("#banner.ok")
    assert page.inner_text("#banner").startswith(head(lang, "Downloaded {n} bytes; their SHA-256 matches the registered hash."))
    page.locator("#grants tbody tr", has_text=word).filter(has_text="1 / 2").wait_for()  # one use counted

    # the receipt: anchored by the notary, then its proof checked in the page
    console.anchor()
    page.reload()
    receipt = page.locator("#receipts tbody tr", has_text=word).first
    receipt.wait_for()
    assert T(lang, "anchored on-chain") in receipt.inner_text()
    receipt.locator("button.proof").click()
    with page.expect_download() as proof_file:
        receipt.locator("a.proof-download").click()
    proof = json.loads(Path(proof_file.value.path()).read_text())
    assert proof["format"] == "tds-proof-v1" and proof["values"][2] == reg.asset_id
    receipt.locator("button.verify").click()
    page.wait_for_selector("#proof-verdict.valid, #proof-verdict.invalid")
    verdict = page.inner_text("#proof-verdict")
    assert verdict.startswith(T(lang, "Proof verified")), verdict
    checks = page.locator("#proof-verdict ul.checks li").all_inner_texts()
    assert len(checks) == 5  # Merkle path, chain + contract, anchor (block, anchorer), on-chain inclusion, anchor tx
    assert str(proof["anchor_block"]) in " ".join(checks).replace(",", "")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()
