"""Browser tests of the web console: Playwright for Python driving Debian's chromium, headless, against a real
gateway (uvicorn on loopback) on a real anvil devnet.

Playwright's own browser download cannot work offline; ``/usr/bin/chromium`` can (./scripts/bootstrap and
.ci/run install it). Without it these tests skip and say why, except in CI (``TDS_REQUIRE_BROWSER=1``),
where a missing browser fails them.

One devnet, gateway and browser serve every test of this folder (session scope); each test registers the
assets it needs and opens its own browser context (its own cookies and sessionStorage: its own wallet).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain.types import Policy
from gateway.app import create_app
from gateway.registration import Registration
from gateway.service import register_asset
from tests.integration.gateway_fixtures import GatewayEnv, _start_server, build_env, stop_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 20_000  # a dev-wallet unlock (scrypt in JavaScript) and an on-chain grant take a few seconds


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium; ./scripts/bootstrap does)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (./scripts/bootstrap installs it)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless chromium, launched once."""
    missing = _browser_missing()
    if missing:
        if os.environ.get("TDS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests must run here (TDS_REQUIRE_BROWSER=1): {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@dataclass
class ConsoleEnv:
    """The devnet and gateway the browser talks to, and the app (its notary seals and anchors on demand)."""

    env: GatewayEnv
    app: Any

    @property
    def url(self) -> str:
        return self.env.url

    def asset(self, title: str, policy: Policy, description: str = "", size: int = 3000,
              parents: tuple[str, ...] = ()) -> Registration:
        """A new asset of this gateway's provider, registered on-chain with ``policy``."""
        n = len(self.env.assets_made)
        path = self.env.home / f"browser-asset-{n}.csv"
        path.write_bytes(os.urandom(size))
        reg = register_asset(self.env.gateway, path, policy, title=title, description=description, parents=parents)
        self.env.assets_made.append(reg.asset_id)
        return reg

    def anchor(self) -> None:
        """Seal every pending receipt and anchor the batches on-chain (what the notary does every few seconds)."""
        notary = self.app.state.notary
        notary.seal_all()
        notary.anchor_sealed()

    def keystore_file(self, name: str) -> Path:
        return self.env.keystore.directory / f"{name}.json"

    @property
    def passphrase(self) -> str:
        return (self.env.keystore.directory / ".passphrase").read_text().strip()


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleEnv]:
    """A devnet, deployed contracts, the members onboarded, and the provider's gateway serving its console."""
    if _browser_missing() and os.environ.get("TDS_REQUIRE_BROWSER") != "1":
        pytest.skip(_browser_missing() or "")
    home = tmp_path_factory.mktemp("console-home")
    env = build_env(home)
    app = create_app(env.settings, env.gateway)
    try:
        env.server = _start_server(app, env.settings.port)
        yield ConsoleEnv(env, app)
    finally:
        stop_server(env)
        env.devnet.stop()
        shutil.rmtree(home, ignore_errors=True)


def new_page(browser: Any, console: ConsoleEnv, lang: str = "en", javascript: bool = True) -> Any:
    """A fresh context (no cookie, no wallet) with the console's language chosen by its switch."""
    ctx = browser.new_context(accept_downloads=True, java_script_enabled=javascript,
                              locale="zh-CN" if lang == "zh" else "en-GB", viewport={"width": 1200, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.errors.append(f"dialog: {d.message}"), d.dismiss()))  # type: ignore[attr-defined]
    page.goto(f"{console.url}/console/lang/{lang}?next=/console/")
    return page


def unlock(page: Any, console: ConsoleEnv, name: str, passphrase: str | None = None) -> str:
    """Unlock ``name``'s keystore in the page's dev wallet; returns what the page said."""
    page.goto(f"{console.url}/console/wallet")
    page.set_input_files("#keystore-file", str(console.keystore_file(name)))
    page.fill("#keystore-passphrase", console.passphrase if passphrase is None else passphrase)
    page.click("#unlock")
    page.wait_for_selector("#unlock-result.ok, #unlock-result.error")
    return str(page.inner_text("#unlock-result"))
