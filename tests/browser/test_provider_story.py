"""The provider's story in a real browser, in English and in 中文: a pending request approved in the page (the
grant goes on-chain), then revoked, and the consumer refused from then on (in its own browser and over the API)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from client.sdk import GatewayClientError
from domain.types import Policy
from tests.browser.conftest import ConsoleEnv, new_page, unlock
from tests.browser.test_consumer_story import T, head


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_approve_a_pending_request_then_revoke_and_the_consumer_is_refused(browser: Any, console: ConsoleEnv,
                                                                           lang: str, tmp_path: Any) -> None:
    word = f"berth{secrets.token_hex(3)}"
    reg = console.asset(f"Container moves {word}", Policy(max_count=5, auto_approve=False))
    with console.env.client("consumer2") as c:
        pending = c.request_grant(reg.asset_id, "logistics", max_count=4)
    assert pending["state"] == "pending"
    grant_id = pending["grant_id"]

    page = new_page(browser, console, lang)
    page.goto(f"{console.url}/console/provider")
    assert page.is_visible("#need-provider")  # no wallet: the desk says whose key it needs
    unlock(page, console, "provider")
    page.goto(f"{console.url}/console/provider")
    row = page.locator(f"#pending tbody tr[data-grant='{grant_id}']")
    row.wait_for()
    assert word in row.inner_text() and "logistics" in row.inner_text()
    row.locator("button.approve").click()
    page.wait_for_selector("#banner.ok")
    assert page.inner_text("#banner").startswith(head(lang, "Approved: the grant is on-chain ({state})."))
    issued = page.locator(f"#issued tbody tr[data-grant='{grant_id}']")
    issued.wait_for()
    assert T(lang, "live") in issued.inner_text()
    assert page.locator(f"#pending tbody tr[data-grant='{grant_id}']").count() == 0
    assert console.env.gateway.db.grant_request(grant_id).state == "issued"  # type: ignore[union-attr]

    with console.env.client("consumer2") as c:  # the consumer uses it once
        c.fetch(reg.asset_id, tmp_path / "moves.csv", grant_id=grant_id)

    issued.locator("button.revoke").click()  # two steps: nothing happens on the first click
    assert console.env.gateway.db.grant_request(grant_id).state == "issued"  # type: ignore[union-attr]
    issued.locator("button.confirm-revoke").click()
    page.wait_for_selector("#banner.ok")
    assert page.inner_text("#banner") == T(lang, "Revoked on-chain: refused from the next block on.")
    assert console.env.gateway.db.grant_request(grant_id).state == "revoked"  # type: ignore[union-attr]
    chart = page.locator("#usage-charts figure", has_text=word)  # the use it got, in the desk's chart
    chart.wait_for()
    assert T(lang, "{n} uses").format(n=1) in chart.inner_text() and chart.locator("svg rect").count() >= 30

    with console.env.client("consumer2") as c, pytest.raises(GatewayClientError) as refused:
        c.fetch(reg.asset_id, tmp_path / "again.csv", grant_id=grant_id)
    assert refused.value.code == "grant_revoked"

    # the consumer's own browser shows the grant revoked, with no download left
    consumer = new_page(browser, console, lang)
    unlock(consumer, console, "consumer2")
    consumer.goto(f"{console.url}/console/consumer")
    mine = consumer.locator(f"#grants tbody tr[data-grant='{grant_id}']")
    mine.wait_for()
    assert T(lang, "revoked") in mine.inner_text()
    assert mine.locator("button.download").count() == 0
    assert page.errors == [] and consumer.errors == []  # type: ignore[attr-defined]
    page.context.close()
    consumer.context.close()
