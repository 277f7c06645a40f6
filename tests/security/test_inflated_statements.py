"""Inflated pay-after-use statements: a provider bills a consumer for more uses than it served.

The attack and what must hold: the provider's statements file (`tds settle statements`) is edited to
charge one use more than the gateway served, and the consumer is asked to sign it -> `tds consumer
sign-statements` counts the units from the consumer's own receipts at the gateway, verifies each
receipt's proof against the chain, and refuses (exit 4, naming the grant and both counts): nothing is
signed, no file is written, no allowance is given, so nothing can be taken from the consumer's wallet.
The honest statement is signed and settled, and exactly its amount leaves the wallet. Settlement's own
checks (a root anchored by the provider, units within the root and the grant's cap, the consumer's
signature) are attacked by direct calls in ``test_settlement_attacks``.
"""

from __future__ import annotations

import json
import time

import pytest

from chain.contracts import SettlementClient, TokenClient
from domain.types import Policy, PriceModel
from tests.integration.gateway_fixtures import GatewayEnv, gw_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

PRICE = 7


def settlement(env: GatewayEnv) -> SettlementClient:
    return SettlementClient(env.chain())


def test_a_consumer_refuses_to_sign_a_statement_its_receipts_do_not_prove(
        gw_env: GatewayEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """先用后付 through the CLI as users run it: the provider writes the period's statements from its ledger,
    the consumer's `sign-statements` counts each statement's units from its receipts at the gateway (each
    proof verified against the chain) and refuses an inflated one with nothing written or approved; the
    honest one is signed and settled."""
    from cli.main import main as tds

    gw = gw_env.gateway
    asset = gw_env.new_asset(Policy(max_count=5, price_per_access=PRICE, price_model=PriceModel.PAY_AFTER_USE,
                                    purposes=("research",))).asset_id
    start = int(time.time()) - 1
    with gw_env.client("consumer2") as c:
        grant_id = c.request_grant(asset, "research", max_count=5)["grant_id"]
        for n in range(2):
            c.fetch(asset, gw_env.home / f"later-{n}.bin", grant_id=grant_id)
    notary = gw.notary()
    notary.seal_pending()
    notary.anchor_sealed()
    time.sleep(1.05)  # the period ends after this second's records
    gw_env.rpc("evm_mine")
    monkeypatch.setenv("TDS_RPC_URL", gw_env.devnet.rpc_url)
    home, consumer = str(gw_env.home), gw_env.keystore.address("consumer2")
    period = f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(start))}/now"
    written, inflated, signed = (gw_env.home / n for n in ("st.json", "st-inflated.json", "st-signed.json"))
    assert tds(["--home", home, "settle", "statements", "--period", period, "-o", str(written)]) == 0
    doc = json.loads(written.read_text())
    [mine] = [s for s in doc["statements"] if s["grant_id"] == grant_id]
    assert (mine["units"], int(mine["amount"]), mine["consumer"]) == (2, 2 * PRICE, consumer)

    doc["statements"] = [{**mine, "units": 3, "amount": str(3 * PRICE)}]  # one use more than was served
    inflated.write_text(json.dumps(doc))
    token = TokenClient(gw_env.chain())
    allowance = token.allowance(consumer, gw.chain.address("Settlement"))
    capsys.readouterr()
    consumer_cli = ["--home", home, "--as", "consumer2", "consumer", "--gateway", gw_env.url, "sign-statements"]
    assert tds([*consumer_cli, str(inflated), "-o", str(signed)]) == 4  # EXIT_REJECTED
    err = capsys.readouterr().err
    assert "not signed, nothing written or approved" in err
    assert f"the statement of grant {grant_id}: it claims 3 use(s), your anchored receipts prove 2" in err
    assert not signed.exists() and token.allowance(consumer, gw.chain.address("Settlement")) == allowance

    TokenClient(gw_env.chain(), gw_env.chain().sender(gw_env.account("operator"))).mint(consumer, 2 * PRICE)
    wallet = token.balance_of(consumer)
    assert tds([*consumer_cli, str(written), "-o", str(signed)]) == 0
    shown = capsys.readouterr().out
    assert "proven by your receipts" in shown and "signed 1 statement(s)" in shown
    assert tds(["--home", home, "settle", "run", "--statements", str(signed)]) == 0
    account = settlement(gw_env).account_of(grant_id)
    assert account is not None and account.units == 2
    assert token.balance_of(consumer) == wallet - 2 * PRICE  # paid from its wallet, against its signature
