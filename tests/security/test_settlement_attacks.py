"""Attacks on the money: direct contract calls (``cast send``, raw client calls) that bypass `tds settle`.

The attacks and what must hold (each leaves balances, locks and settled state exactly as they were):
- a provider claims more units than its anchored usage root holds receipts -> SettlementUnitsExceedRoot;
- a provider settles under a root anchored by another provider -> SettlementRootNotAnchored;
- a provider settles another provider's grant -> SettlementNotProvider;
- a provider pays itself with owners/shares or a lineage that are not the registered ones -> SettlementSplitMismatch;
- settling the same period twice -> the second call changes nothing (no event, no payout);
- settling while a dispute is open -> deferred, nothing paid;
- anyone but the arbiter rules a dispute -> DisputeNotArbiter;
- a consumer withdraws funds locked for a grant -> SettlementInsufficientBalance;
- anyone calls the escrow hooks (openAccount / freeze / resolve) directly -> SettlementUnauthorized;
- a pay-after-use statement signed by the provider instead of the consumer -> SettlementInvalidStatement;
- an ERC-20 that returns false or reverts -> the deposit (or settlement) reverts, nothing is credited;
- credits (积分) sent to a non-member -> CreditsNotMember.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chain.contracts import AnchorsClient, Claim, SettlementClient, Split, TokenClient
from chain.eip712 import UsageStatement
from chain.errors import ContractRevert, TransactionFailed
from domain.types import PriceModel
from settlement.periods import Period
from settlement.run import Settler
from settlement.usage import period_usage
from tests.integration.money import Money, running_money
from tests.security.conftest import cast

pytestmark = pytest.mark.integration

SIG_SETTLE = "settle(uint32,uint32,bytes32,(bytes32,uint32,uint16,bytes)[],(bytes32,address[],uint16[],uint16[])[])"


@pytest.fixture(scope="module")
def m(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Money]:
    """A devnet with money; consumer deposited 100,000."""
    with running_money(tmp_path_factory.mktemp("money-attacks"), 200_000, 100_000) as money:
        yield money


def key(m: Money, name: str) -> str:
    """An attacker's own private key (0x hex)."""
    return "0x" + bytes(m.account(name).key).hex()


def send(m: Money, who: str, to: str, sig: str, *args: str) -> Any:
    """``cast send`` as ``who``."""
    return cast("send", "--rpc-url", m.chain.settings.rpc_url, "--private-key", key(m, who), to, sig, *args)


ERRORS = {
    "SettlementUnitsExceedRoot": "SettlementUnitsExceedRoot(uint256,uint256)",
    "DisputeNotArbiter": "DisputeNotArbiter(address)",
    "SettlementInsufficientBalance": "SettlementInsufficientBalance(address,uint256,uint256)",
    "SettlementUnauthorized": "SettlementUnauthorized(address)",
    "CreditsNotMember": "CreditsNotMember(address)",
}


def reverted(out: Any, error: str) -> bool:
    """Whether ``cast send`` failed with custom error ``error`` (cast prints its selector, not its name)."""
    from eth_utils import keccak

    selector = "0x" + keccak(text=ERRORS[error])[:4].hex()
    text = out.stderr + out.stdout
    return out.returncode != 0 and (error in text or selector in text)


def state(m: Money, grant: str) -> tuple[Any, ...]:
    """Everything a settlement attack could change."""
    s = m.settlement()
    return (s.account_of(grant), s.earnings_of(m.address("provider")), s.earnings_of(m.address("provider2")),
            s.deposit_of(m.address("consumer")), len(s.events("UsageSettled")))


def used_and_anchored(m: Money, price: int = 100, uses: int = 2) -> tuple[str, str, Any, Period, str, int]:
    """A prepaid grant with ``uses`` anchored uses: (asset, grant, request, period, usage root, leaves)."""
    asset = m.asset("attacked")
    m.policy(asset, PriceModel.PREPAID, price)
    grant, request = m.grant(asset, count=10)
    period, root, leaves = m.used_and_anchored(asset, grant, uses)
    return asset, grant, request, period, root, leaves


def test_units_beyond_the_anchored_receipts_are_refused(m: Money) -> None:
    asset, grant, _r, period, root, leaves = used_and_anchored(m)
    before = state(m, grant)
    out = send(m, "provider", m.chain.address("Settlement"), SIG_SETTLE, str(period.start), str(period.end), root,
               f"[({grant},{leaves + 5},0,0x)]", f"[({asset},[],[],[])]")
    assert reverted(out, "SettlementUnitsExceedRoot")
    assert state(m, grant) == before


def test_a_root_anchored_by_another_provider_is_no_evidence(m: Money) -> None:
    asset, grant, _r, period, _root, _n = used_and_anchored(m)
    squat = "0x" + "5a" * 32
    AnchorsClient(m.chain, m.sender("provider2")).anchor(squat, 1000, 1)
    before = state(m, grant)
    with pytest.raises(ContractRevert) as info:
        m.settlement("provider").settle(period.start, period.end, squat, [Claim(grant, 2, 0)],
                                        [Split(asset, (), (), ())])
    assert info.value.error_name == "SettlementRootNotAnchored"
    assert state(m, grant) == before


def test_another_providers_grant_cannot_be_settled(m: Money) -> None:
    asset, grant, _r, period, root, leaves = used_and_anchored(m)
    AnchorsClient(m.chain, m.sender("provider2")).anchor(root, leaves, 1)
    before = state(m, grant)
    with pytest.raises(ContractRevert) as info:
        m.settlement("provider2").settle(period.start, period.end, root, [Claim(grant, leaves, 0)],
                                         [Split(asset, (), (), ())])
    assert info.value.error_name == "SettlementNotProvider"
    assert state(m, grant) == before


def test_owners_shares_and_lineage_must_be_the_registered_ones(m: Money) -> None:
    asset, grant, _r, period, root, leaves = used_and_anchored(m)
    before = state(m, grant)
    me, other = m.address("provider"), m.address("provider2")
    forged = [
        [Split(asset, (other,), (10_000,), ())],  # all revenue to an accomplice
        [Split(asset, (me, other), (6_000, 6_000), ())],  # shares that do not add up
        [Split(asset, (), (), (1,)), Split(m.asset("fake-parent"), (), (), ())],  # an invented parent
    ]
    for splits in forged:
        with pytest.raises(ContractRevert) as info:
            m.settlement("provider").settle(period.start, period.end, root, [Claim(grant, leaves, 0)], splits)
        assert info.value.error_name == "SettlementSplitMismatch"
    assert state(m, grant) == before


def test_settling_a_period_twice_changes_nothing_the_second_time(m: Money) -> None:
    asset, grant, _r, period, root, leaves = used_and_anchored(m)
    args = (period.start, period.end, root, [Claim(grant, leaves, 0)], [Split(asset, (), (), ())])
    m.settlement("provider").settle(*args)
    once = state(m, grant)
    receipt = m.settlement("provider").settle(*args)
    assert m.settlement().receipt_events(receipt, "UsageSettled") == []
    assert state(m, grant) == once


def test_settlement_waits_while_a_dispute_is_open(m: Money) -> None:
    asset, grant, request, period, root, leaves = used_and_anchored(m)
    m.disputes("consumer").open(request, "grant", 0, "0x" + "d1" * 32, "data:text/plain,not delivered")
    before = state(m, grant)
    receipt = m.settlement("provider").settle(period.start, period.end, root, [Claim(grant, leaves, 0)],
                                              [Split(asset, (), (), ())])
    assert [e["args"]["grantId"].hex() for e in m.settlement().receipt_events(receipt, "SettlementDeferred")] \
        == [grant[2:]]
    assert state(m, grant)[:4] == before[:4]
    dispute_id = m.disputes().open_dispute_of(grant)
    out = send(m, "consumer", m.chain.address("Disputes"), "rule(uint256,uint256,uint256)", str(dispute_id), "2",
               "1000")
    assert reverted(out, "DisputeNotArbiter")
    assert m.disputes().get(dispute_id).status == "open"  # type: ignore[union-attr]


def test_locked_funds_cannot_be_withdrawn_and_hooks_cannot_be_called(m: Money) -> None:
    _asset, grant, _r, _p, _root, _n = used_and_anchored(m)
    s = m.settlement()
    free = s.deposit_of(m.address("consumer"))
    out = send(m, "consumer", s.contract.address, "withdrawDeposit(uint256)", str(free + 1))
    assert reverted(out, "SettlementInsufficientBalance")
    victim = m.address("consumer")
    hooks = [
        ("openAccount(bytes32,bytes32,address,(uint8,uint24,uint32,uint96),uint256)",
         "0x" + "77" * 32, "0x" + "78" * 32, victim, "(1,0,0,1)", str(free)),
        ("freeze(bytes32)", grant),
        ("resolve(bytes32,address,address,uint256)", grant, m.address("consumer2"), m.address("provider"), "1"),
    ]
    before = state(m, grant)
    for sig, *args in hooks:
        out = send(m, "consumer2", s.contract.address, sig, *args)
        assert reverted(out, "SettlementUnauthorized"), sig
    assert state(m, grant) == before and s.deposit_of(victim) == free


def test_a_statement_not_signed_by_the_consumer_is_refused(m: Money) -> None:
    asset = m.asset("postpaid")
    m.policy(asset, PriceModel.PAY_AFTER_USE, 50)
    grant, _ = m.grant(asset, count=5)
    period, root, leaves = m.used_and_anchored(asset, grant, 2)
    statement = UsageStatement(grant, period.start, period.end, leaves, 100, root)
    by_provider = statement.sign(m.account("provider"), m.chain.chain_id, m.settlement().contract.address)
    before = state(m, grant)
    with pytest.raises(ContractRevert) as info:
        m.settlement("provider").settle(period.start, period.end, root, [Claim(grant, leaves, 0, by_provider)],
                                        [Split(asset, (), (), ())])
    assert info.value.error_name == "SettlementInvalidStatement"
    assert state(m, grant) == before
    plan = Settler(m.chain, m.sender("provider")).plan(period_usage(m.engine, period))
    assert any(w.grant_id == grant and w.reason == "statement" for w in plan.waiting)


def test_a_token_that_returns_false_or_reverts_credits_nothing(m: Money) -> None:
    from eth_utils import keccak

    from chain.client import Chain, deploy_to
    from chain.compile import compile_contracts

    compiled = compile_contracts()["MisbehavingToken"]
    receipt = m.sender("operator").deploy(compiled.abi, compiled.bytecode)
    token_address = str(receipt["contractAddress"])
    deploy_to(m.chain.settings, lambda: m.account("operator"), force=True, token=token_address)
    chain = Chain.connect(m.chain.settings)
    try:
        mis = chain.w3.eth.contract(address=token_address, abi=compiled.abi)
        operator = chain.sender(m.account("operator"))
        operator.transact(mis.functions.mint(m.address("consumer"), 1_000))
        settlement = SettlementClient(chain, chain.sender(m.account("consumer")))
        TokenClient(chain, chain.sender(m.account("consumer"))).approve(settlement.contract.address, 1_000)
        operator.transact(mis.functions.setMode(1))  # returns false: SafeERC20 refuses it
        with pytest.raises(ContractRevert) as info:
            settlement.deposit(500)
        assert info.value.error_name == "SafeERC20FailedOperation"
        operator.transact(mis.functions.setMode(2))  # reverts with its own error (not in TDS's ABIs)
        with pytest.raises(TransactionFailed) as failed:
            settlement.deposit(500)
        assert "0x" + keccak(text="MisbehavingTokenRefused()")[:4].hex() in str(failed.value)
        assert settlement.deposit_of(m.address("consumer")) == 0  # neither failure credited anything
        assert TokenClient(chain).balance_of(m.address("consumer")) == 1_000
    finally:  # later tests in this module use the first deployment again
        m.chain.deployment.save(m.chain.settings.deployment_file(m.chain.chain_id))


def test_credits_only_move_between_members(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_money(tmp_path_factory.mktemp("credits"), token="credits") as credits:
        tokens = credits.token("operator")
        assert tokens.credits and tokens.decimals() == 0
        outsider = "0x" + "0b" * 20
        with pytest.raises(ContractRevert) as info:
            tokens.mint(outsider, 10)
        assert info.value.error_name == "CreditsNotMember"
        credits.fund("consumer", 100, 60)  # a member holds and deposits points
        out = cast("send", "--rpc-url", credits.chain.settings.rpc_url, "--private-key", key(credits, "consumer"),
                   tokens.address, "transfer(address,uint256)", outsider, "10")
        assert reverted(out, "CreditsNotMember")
        assert credits.token().balance_of(credits.address("consumer")) == 40
        asset = credits.asset("points")
        credits.policy(asset, PriceModel.PREPAID, 3)
        grant, _ = credits.grant(asset, count=10)  # locks 30 of the 60 deposited points
        assert credits.settlement().account_of(grant).locked == 30  # type: ignore[union-attr]
