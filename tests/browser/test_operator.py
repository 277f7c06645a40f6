"""The operator's desk of ``tds console serve`` in a real browser: the operator unlocks its keystore in the page
(the dev wallet), onboards a new participant, and the transaction goes from the page to the chain node; the
console's index follows and shows the new member. A participant who is not an operator is refused by the
contract before anything is signed, in words.

The console runs over its own audit index of the browser folder's devnet (tests/browser/conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from chain.contracts import ParticipantsClient
from domain.types import ParticipantStatus, Role
from tests.browser.conftest import TIMEOUT_MS, ConsoleEnv
from tests.integration.console_fixtures import Served

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def desk(console: ConsoleEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The audit console of the browser devnet (its own index, followed every 0.3 s)."""
    import threading
    import time

    import uvicorn

    from chain.devspace import free_port
    from console.audit_pages import create_app
    from console.audit_serve import open_console

    db = tmp_path_factory.mktemp("operator-desk") / "audit.db"
    audit, follower = open_console(console.env.home, console.env.chain_settings, poll_s=0.3, db_url=f"sqlite:///{db}",
                                   metadata_dir=console.env.settings.gateway_dir / "metadata")
    follower.run_once()
    follower.start()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(audit), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    served = Served(audit, follower, server, thread, port)
    try:
        yield served
    finally:
        served.stop()


def _page(browser: Any, desk: Served, lang: str) -> Any:
    ctx = browser.new_context(locale="zh-CN" if lang == "zh" else "en-GB", viewport={"width": 1200, "height": 1000})
    ctx.set_default_timeout(TIMEOUT_MS * 2)
    page = ctx.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    page.goto(f"{desk.url}/console/lang/{lang}?next=/console/operator")
    return page


def _until(condition: Any, timeout_s: float = 10.0) -> None:
    """Poll from the test (the console's CSP forbids the string evaluation page.wait_for_function uses: it fails
    whenever the condition is not already true at its first look)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the page did not get there in time"
        time.sleep(0.05)


def _unlock(page: Any, console: ConsoleEnv, name: str) -> None:
    page.set_input_files("#keystore-file", str(console.keystore_file(name)))
    page.fill("#keystore-passphrase", console.passphrase)
    page.click("#unlock")
    page.wait_for_selector("#unlock-result.ok")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_operator_onboards_a_participant_with_the_dev_wallet(browser: Any, console: ConsoleEnv, desk: Served,
                                                                lang: str, tmp_path: Path) -> None:
    newcomer = Account.create().address
    page = _page(browser, desk, lang)
    _unlock(page, console, "operator")
    assert console.env.account("operator").key.hex() not in (page.content() or "")  # the key is in the tab only
    page.fill("#onboard-address", newcomer)
    page.check("#role-consumer")
    page.check("#role-auditor")
    page.fill("#onboard-jurisdiction", "fr")
    credential = tmp_path / "credential.json"
    credential.write_text('{"@context": "https://www.w3.org/ns/credentials/v2", "id": "urn:test:%s"}' % os.urandom(4).hex())
    page.set_input_files("#credential-file", str(credential))
    _until(lambda: len(page.input_value("#onboard-credential")) == 66)  # the page hashes the credential
    page.click("#onboard-submit")
    # the index follows; the page reloads once the JSON API shows the newcomer active
    page.wait_for_selector(f'#operator-participants tr[data-address="{newcomer}"][data-status="active"]')
    record = ParticipantsClient(console.env.gateway.chain).get(newcomer)
    assert record.status is ParticipantStatus.ACTIVE and record.jurisdiction == "FR"
    assert record.roles == Role.CONSUMER | Role.AUDITOR
    import hashlib

    assert record.credential_hash == "0x" + hashlib.sha256(credential.read_bytes()).hexdigest()
    row = page.inner_text(f'#operator-participants tr[data-address="{newcomer}"]')
    assert ("consumer" in row and "auditor" in row) if lang == "en" else ("数据使用方" in row and "审计方" in row)
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_a_non_operator_is_refused_in_words_and_nothing_is_sent(browser: Any, console: ConsoleEnv,
                                                                desk: Served) -> None:
    page = _page(browser, desk, "en")
    _unlock(page, console, "consumer")
    newcomer = Account.create().address
    nonce = console.env.gateway.chain.transaction_count(console.env.account("consumer").address)
    page.fill("#onboard-address", newcomer)
    page.check("#role-provider")
    page.fill("#onboard-jurisdiction", "DE")
    page.fill("#onboard-credential", "0x" + "c0" * 32)
    page.click("#onboard-submit")
    page.wait_for_selector("#onboard-result.error")
    text = page.inner_text("#onboard-result")
    assert "is not an operator of this space" in text, text
    assert console.env.gateway.chain.transaction_count(console.env.account("consumer").address) == nonce
    assert ParticipantsClient(console.env.gateway.chain).get(newcomer).status is ParticipantStatus.NONE
    page.context.close()
