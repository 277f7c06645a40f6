"""An injected browser wallet (EIP-1193 ``window.ethereum``): the console asks it for the account
(``eth_requestAccounts``) and for every signature (``eth_signTypedData_v4`` with the full typed-data JSON), and
never sees a key.

The wallet here is a stand-in injected before the page loads, as an extension injects one: it holds the consumer's
key and signs what ``eth_signTypedData_v4`` hands it (with ethers, after checking the document names its own
address and the chain it is on). What is tested is the console's side of the protocol: the documents it asks to be
signed are complete and verify at the gateway, and a refusal in the wallet sends nothing."""

from __future__ import annotations

import json
import secrets
from typing import Any

from domain.types import Policy
from tests.browser.conftest import ConsoleEnv, new_page
from tests.browser.test_consumer_story import head

WALLET = """
(() => {
  const KEY = %s, ADDRESS = %s, CHAIN = %s;
  window.__walletCalls = [];
  window.__walletRefuses = false;
  window.ethereum = {
    isStandIn: true,
    async request({ method, params }) {
      window.__walletCalls.push(method);
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [ADDRESS];
      if (method !== "eth_signTypedData_v4") throw Object.assign(new Error("unsupported " + method), { code: 4200 });
      if (window.__walletRefuses) throw Object.assign(new Error("User rejected the request."), { code: 4001 });
      const [who, json] = params;
      const doc = JSON.parse(json);  // eth_signTypedData_v4 takes the document as a JSON string
      if (who.toLowerCase() !== ADDRESS.toLowerCase()) throw new Error("not my account");
      if (Number(doc.domain.chainId) !== CHAIN) throw new Error("wrong chain");
      if (!doc.types.EIP712Domain) throw new Error("v4 documents carry EIP712Domain");
      const types = Object.fromEntries(Object.entries(doc.types).filter(([k]) => k !== "EIP712Domain"));
      return new window.TDSVendor.Wallet(KEY).signTypedData(doc.domain, types, doc.message);
    },
  };
})();
"""


def test_an_injected_wallet_signs_the_request_and_the_download(browser: Any, console: ConsoleEnv) -> None:
    account = console.env.account("consumer2")
    reg = console.asset(f"Buoys {secrets.token_hex(3)}", Policy(max_count=3))
    page = new_page(browser, console)
    page.context.add_init_script(WALLET % (json.dumps(account.key.to_0x_hex()), json.dumps(account.address),
                                           console.env.gateway.chain_id))
    page.goto(f"{console.url}/console/wallet")
    page.click("#connect-injected")
    page.wait_for_selector("#unlock-result.ok")
    assert page.evaluate("sessionStorage.getItem('tds-wallet')").find(account.key.hex()) == -1  # no key kept
    page.goto(f"{console.url}/console/assets/{reg.asset_id}")

    page.evaluate("window.__walletRefuses = true")  # the person says no in the wallet: nothing is sent
    page.click("#request-submit")
    page.wait_for_selector("#request-result.error")
    assert "User rejected" in page.inner_text("#request-result")
    assert console.env.gateway.db.grant_requests(asset_id=reg.asset_id) == []

    page.evaluate("window.__walletRefuses = false")
    page.click("#request-submit")
    page.wait_for_selector("#request-result.ok")
    assert page.inner_text("#request-result").startswith(head("en", "Granted: {n} uses until {end}."))
    calls = page.evaluate("window.__walletCalls")
    assert calls.count("eth_signTypedData_v4") >= 2  # the consent (GrantRequest) and the call (GatewayRequest)
    page.goto(f"{console.url}/console/consumer")
    row = page.locator("#grants tbody tr", has_text="Buoys")
    row.wait_for()
    with page.expect_download():
        row.locator("button.download").click()
    page.wait_for_selector("#banner.ok")
    assert console.env.gateway.db.used(console.env.gateway.db.grant_requests(asset_id=reg.asset_id)[0].grant_id) == 1
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()
