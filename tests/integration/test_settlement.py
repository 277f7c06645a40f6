"""The value loop on a real devnet: priced policies, escrow, settlement runs from anchored receipts,
shares and lineage royalties, pay-after-use statements, subscriptions, disputes, release.

Access records are written to a real ledger database and anchored by the real notary; the settlement
run (``settlement.run.Settler``) reads them as ``tds settle run`` does, and the CLI is run once as a user.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from chain.errors import ContractRevert
from domain.types import PriceModel
from settlement.errors import StatementInvalid, UsageNotAnchored
from settlement.periods import Period
from settlement.run import Settler
from settlement.statements import sign_statements
from settlement.usage import period_usage, usage_root
from tests.integration.money import Money, running_money

PRICE = 1_000


@pytest.fixture(scope="module")
def money(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Money]:
    """A devnet with money: consumer holds 100,000 and has deposited 50,000."""
    with running_money(tmp_path_factory.mktemp("money"), 100_000, 50_000) as m:
        yield m


def _settler(m: Money, batch_size: int = 200) -> Settler:
    return Settler(m.chain, m.sender("provider"), batch_size)


def _period_until_now(m: Money, start: float) -> Period:
    time.sleep(1.05)  # records written this second must fall before the period's end
    m.mine()
    return Period(int(start) - 1, m.now())


def _earnings(m: Money, *names: str) -> dict[str, int]:
    return {n: m.settlement().earnings_of(m.address(n)) for n in names}


def test_prepaid_derived_asset_pays_shares_and_royalties_and_a_rerun_is_a_no_op(money: Money) -> None:
    m = money
    parent1 = m.asset("parent1", owners=("provider", "coowner"), shares=(7000, 3000))
    parent2 = m.asset("parent2")
    derived = m.asset("derived", parents=(parent1, parent2))
    m.policy(derived, PriceModel.PREPAID, PRICE)
    deposit_before = m.settlement().deposit_of(m.address("consumer"))
    grant, _request = m.grant(derived, count=5)
    account = m.settlement().account_of(grant)
    assert account is not None and account.locked == 5 * PRICE and account.price_model is PriceModel.PREPAID
    assert m.settlement().deposit_of(m.address("consumer")) == deposit_before - 5 * PRICE

    start = time.time()
    m.use(grant, derived, times=3)
    m.use(grant, derived, times=2, decision="deny")  # refusals are evidence, not use
    m.anchor()
    period = _period_until_now(m, start)
    before = _earnings(m, "provider", "coowner")

    settler = _settler(m)
    plan = settler.plan(period_usage(m.engine, period))
    [claim] = [c for c in plan.claims if c.grant_id == grant]
    assert (claim.units, claim.free_units, claim.amount) == (3, 0, 3 * PRICE)
    result = settler.execute(plan)

    [settled] = [s for s in result.settled if s["grant_id"] == grant]
    assert settled["units"] == 3 and settled["amount"] == 3 * PRICE
    root = settled["receipts_root"]
    assert m.chain and root == plan.batches[0].root
    anchor = AnchorsOf(m).get(m.address("provider"), root)
    assert anchor is not None and anchor["leaf_count"] == plan.batches[0].leaf_count
    # 10 % royalty (300) split between the two parents (150 each); parent1 pays 70/30; the rest to the provider
    after = _earnings(m, "provider", "coowner")
    assert after["coowner"] - before["coowner"] == 45
    assert after["provider"] - before["provider"] == 2700 + 105 + 150
    assert sum(p["amount"] for p in result.payouts if p["grant_id"] == grant) == 3 * PRICE
    assert {p["depth"] for p in result.payouts if p["grant_id"] == grant} == {0, 1}
    assert m.settlement().account_of(grant).locked == 2 * PRICE  # type: ignore[union-attr]

    again = settler.plan(period_usage(m.engine, period))  # the same period once more: nothing to send
    assert grant not in {c.grant_id for c in again.claims}
    assert any(w.grant_id == grant and w.reason == "settled" for w in again.waiting)
    assert _earnings(m, "provider", "coowner") == after


def test_units_are_exactly_the_anchored_receipts_and_a_run_waits_for_unanchored_use(money: Money) -> None:
    m = money
    asset = m.asset("waits")
    m.policy(asset, PriceModel.PREPAID, 10)
    grant, _ = m.grant(asset, count=10)
    start = time.time()
    m.use(grant, asset, times=4)
    period = _period_until_now(m, start)
    with pytest.raises(UsageNotAnchored, match="not anchored yet"):
        period_usage(m.engine, period)
    m.anchor()
    usage = period_usage(m.engine, period)
    assert usage.grants[grant].units == 4
    root, leaves = usage_root(usage.grants[grant].receipts)
    assert leaves == 4 and root.startswith("0x")


def test_free_trial_then_pay_after_use_with_a_signed_statement(money: Money) -> None:
    m = money
    m.fund("consumer2", 10_000, 0)
    asset = m.asset("trial")
    m.policy(asset, PriceModel.PAY_AFTER_USE, 700, free_uses=2)
    grant, _ = m.grant(asset, consumer="consumer2", count=10)
    assert m.settlement().account_of(grant).locked == 0  # type: ignore[union-attr]
    start = time.time()
    m.use(grant, asset, consumer="consumer2", times=3)
    m.anchor()
    period = _period_until_now(m, start)
    settler = _settler(m)

    plan = settler.plan(period_usage(m.engine, period))
    [waiting] = [w for w in plan.waiting if w.grant_id == grant]
    assert waiting.reason == "statement" and waiting.statement is not None
    statement = waiting.statement.statement
    assert (statement.units, statement.amount) == (3, 700)  # two free trial uses, one charged

    settlement_address = m.settlement().contract.address
    forged = sign_statements([waiting.statement], m.account("consumer"), m.chain.chain_id, settlement_address)
    assert forged[0].signature is None  # not addressed to that key: left unsigned
    signed = sign_statements([waiting.statement], m.account("consumer2"), m.chain.chain_id, settlement_address)
    bad = type(signed[0])(type(statement)(**{**statement.__dict__, "units": 2}), signed[0].consumer,
                          signed[0].asset_id, signed[0].signature)
    with pytest.raises(StatementInvalid, match="does not match the anchored receipts"):
        settler.plan(period_usage(m.engine, period), {grant: bad})

    m.token("consumer2").approve(settlement_address, 700)
    wallet = m.token().balance_of(m.address("consumer2"))
    plan = settler.plan(period_usage(m.engine, period), {grant: signed[0]})
    result = settler.execute(plan)
    [settled] = [s for s in result.settled if s["grant_id"] == grant]
    assert (settled["units"], settled["free_units"], settled["amount"]) == (3, 2, 700)
    assert m.token().balance_of(m.address("consumer2")) == wallet - 700
    assert m.settlement().trial_used(asset, m.address("consumer2")) == 2


def test_subscription_charges_each_started_period(money: Money) -> None:
    m = money
    asset = m.asset("subscription")
    m.policy(asset, PriceModel.SUBSCRIPTION, 500, period=3600)
    grant, request = m.grant(asset, count=100, duration=3 * 3600)
    assert m.settlement().account_of(grant).locked == 3 * 500  # type: ignore[union-attr]
    m.mine()
    plan = _settler(m).plan(period_usage(m.engine, Period(m.now() - 120, m.now())))
    [claim] = [c for c in plan.claims if c.grant_id == grant]
    assert (claim.units, claim.amount) == (1, 500)
    _settler(m).execute(plan)
    assert m.settlement().account_of(grant).locked == 2 * 500  # type: ignore[union-attr]
    deposit = m.settlement().deposit_of(m.address("consumer"))
    m.grants("provider").revoke(request)  # the two unstarted periods go back at once
    assert m.settlement().account_of(grant).locked == 0  # type: ignore[union-attr]
    assert m.settlement().deposit_of(m.address("consumer")) == deposit + 2 * 500


def test_dispute_freezes_settlement_and_a_refund_ruling_moves_the_money(money: Money) -> None:
    m = money
    asset = m.asset("disputed")
    m.policy(asset, PriceModel.PREPAID, 100)
    grant, request = m.grant(asset, count=10)
    start = time.time()
    m.use(grant, asset, times=2)
    m.anchor()
    dispute_id, _ = m.disputes("consumer").open(request, "grant", 0, "0x" + "ee" * 32, "data:text/plain,late data")
    assert m.disputes().open_dispute_of(grant) == dispute_id
    with pytest.raises(ContractRevert) as info:
        m.disputes("consumer").open(request, "grant", 0, "0x" + "ef" * 32, "again")
    assert info.value.error_name == "DisputeAlreadyOpen"

    period = _period_until_now(m, start)
    plan = _settler(m).plan(period_usage(m.engine, period))
    assert grant not in {c.grant_id for c in plan.claims}
    assert any(w.grant_id == grant and w.reason == "disputed" for w in plan.waiting)

    with pytest.raises(ContractRevert) as info:
        m.disputes("provider").rule(dispute_id, "refund", 300)  # a party is no arbiter
    assert info.value.error_name == "DisputeNotArbiter"
    deposit = m.settlement().deposit_of(m.address("consumer"))
    m.disputes("operator").rule(dispute_id, "refund", 300)
    record = m.disputes().get(dispute_id)
    assert record is not None and (record.status, record.ruling, record.refund) == ("ruled", "refund", 300)
    assert m.settlement().deposit_of(m.address("consumer")) == deposit + 300
    account = m.settlement().account_of(grant)
    assert account is not None and account.locked == 1000 - 300 and not account.frozen

    plan = _settler(m).plan(period_usage(m.engine, period))  # unfrozen: settles now
    [claim] = [c for c in plan.claims if c.grant_id == grant]
    assert claim.amount == 200


def test_release_after_revocation_returns_the_rest_and_outsiders_wait_for_the_claim_window(money: Money) -> None:
    m = money
    asset = m.asset("release")
    m.policy(asset, PriceModel.PREPAID, 100)
    grant, request = m.grant(asset, count=4)
    with pytest.raises(ContractRevert) as info:
        m.settlement("consumer2").release(grant)
    assert info.value.error_name == "EscrowNotReleasable"
    with pytest.raises(ContractRevert) as info:  # locked funds are not the consumer's to withdraw
        m.settlement("consumer").withdraw_deposit(m.settlement().deposit_of(m.address("consumer")) + 1)
    assert info.value.error_name == "SettlementInsufficientBalance"
    m.grants("provider").revoke(request)
    deposit = m.settlement().deposit_of(m.address("consumer"))
    m.settlement("provider").release(grant)
    assert m.settlement().deposit_of(m.address("consumer")) == deposit + 400
    with pytest.raises(ContractRevert) as info:
        m.settlement("provider").release(grant)
    assert info.value.error_name == "EscrowNotReleasable"


def test_deposit_too_small_issues_nothing(money: Money) -> None:
    m = money
    asset = m.asset("expensive")
    m.policy(asset, PriceModel.PREPAID, 10**9)
    count_before = len(m.grants().issued())
    with pytest.raises(ContractRevert) as info:
        m.grant(asset, count=5)
    assert info.value.error_name == "EscrowDepositTooSmall"
    assert len(m.grants().issued()) == count_before


def test_cli_settle_run_prints_titles_money_and_payouts(money: Money, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main as tds

    m = money
    m.fund("consumer", 10 * 10**18)  # 10 TDST (18 decimals)
    asset = m.asset("cli")
    m.policy(asset, PriceModel.PREPAID, 25 * 10**17)  # 2.5 TDST per use
    grant, _ = m.grant(asset, count=3)
    start = time.time()
    m.use(grant, asset, times=2)
    m.anchor()
    period = _period_until_now(m, start)
    monkeypatch.setenv("TDS_GATEWAY_DB_URL", m.database_url)
    monkeypatch.setenv("TDS_RPC_URL", m.chain.settings.rpc_url)
    text = f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(period.start))}/now"
    capsys.readouterr()
    assert tds(["--home", str(m.home), "settle", "run", "--period", text, "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "dry run" in dry and grant in dry and "5 TDST" in dry
    assert m.settlement().account_of(grant).units == 0  # type: ignore[union-attr]
    assert tds(["--home", str(m.home), "settle", "run", "--period", text]) == 0
    done = capsys.readouterr().out
    assert "payouts" in done and "settle transaction" in done
    assert m.settlement().account_of(grant).units == 2  # type: ignore[union-attr]
    assert tds(["--home", str(m.home), "settle", "run", "--period", text, "--json"]) == 0
    again: Any = __import__("json").loads(capsys.readouterr().out)
    assert again["sent"] is False and grant not in {c["grant_id"] for c in again["claims"]}


class AnchorsOf:
    """AnchorRegistry reads for the tests."""

    def __init__(self, m: Money) -> None:
        from chain.contracts import AnchorsClient

        self.client = AnchorsClient(m.chain)

    def get(self, provider: str, root: str) -> Any:
        """The anchor of ``root`` for ``provider``."""
        return self.client.get(provider, root)


def test_a_released_escrow_with_unsettled_use_waits_and_the_other_grants_still_settle(money: Money) -> None:
    m = money
    asset = m.asset("released-early")
    m.policy(asset, PriceModel.PREPAID, PRICE)
    early, early_request = m.grant(asset, count=3)
    healthy, _ = m.grant(asset, count=3)
    start = time.time()
    m.use(early, asset, times=2)
    m.use(healthy, asset, times=1)
    m.anchor()
    m.grants("provider").revoke(early_request)
    m.settlement("provider").release(early)  # the provider gives the lock back before settling its use
    period = _period_until_now(m, start)
    settler = _settler(m)
    plan = settler.plan(period_usage(m.engine, period))
    [waiting] = [w for w in plan.waiting if w.grant_id == early]
    assert waiting.reason == "uncovered"
    assert f"2 use(s) owing {2 * PRICE} were never settled and the escrow was released" in waiting.detail
    assert early not in {c.grant_id for b in plan.batches for c in b.claims}
    earned = _earnings(m, "provider")["provider"]
    result = settler.execute(plan)
    assert healthy in {s["grant_id"] for s in result.settled}  # one grant's state does not stop the run
    assert _earnings(m, "provider")["provider"] == earned + PRICE
    assert m.settlement().account_of(early).units == 0  # type: ignore[union-attr]
