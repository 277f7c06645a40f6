"""A gateway selling a prepaid asset, over real HTTP against a real anvil.

What must hold: a consumer whose free deposit in Settlement does not cover the lock gets 402
``deposit_too_small`` naming the amount and the command, and nothing is left behind (no transaction,
no grant on-chain, no grant row: the very same signed request is accepted once the deposit is there);
once deposited, the grant is issued with the provider's EIP-712 acceptance on-chain (it recovers to
the provider, for auto-approved and manually approved grants alike) and locks ``max_count x price``;
after revocation and release the grant is not served. A request signed for an older policy epoch is
refused 409 ``policy_changed``.
"""

from __future__ import annotations

import pytest

from chain.contracts import GrantsClient, SettlementClient, TokenClient
from chain.eip712 import acceptance_typed_data, recover_signer
from client.sdk import GatewayClientError
from domain.types import GrantRequest, Policy, PriceModel
from gateway.db import GrantState
from gateway.errors import DepositTooSmall
from gateway.service import approve_grant, revoke_grant, set_policy
from tests.integration.gateway_fixtures import GatewayEnv, gw_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

PRICE = 7
PREPAID = Policy(max_count=5, price_per_access=PRICE, price_model=PriceModel.PREPAID, purposes=("research",))


def deposit(env: GatewayEnv, who: str, amount: int) -> None:
    """The operator mints ``amount`` to ``who``, who approves Settlement and deposits it."""
    chain = env.chain()
    TokenClient(chain, chain.sender(env.account("operator"))).mint(env.keystore.address(who), amount)
    sender = chain.sender(env.account(who))
    TokenClient(chain, sender).approve(chain.address("Settlement"), amount)
    SettlementClient(chain, sender).deposit(amount)


def settlement(env: GatewayEnv, who: str | None = None) -> SettlementClient:
    chain = env.chain()
    return SettlementClient(chain, chain.sender(env.account(who)) if who else None)


def provider_nonce(env: GatewayEnv) -> int:
    return int(str(env.rpc("eth_getTransactionCount", [env.gateway.provider_address, "latest"])), 16)


def assert_accepted_by_provider(env: GatewayEnv, grant_id: str, request: GrantRequest) -> None:
    """The GrantAccepted record: the provider, the request's policy epoch, a signature recovering to it."""
    accepted = GrantsClient(env.chain()).acceptance_of(grant_id)
    gw = env.gateway
    assert accepted is not None and accepted["provider"] == gw.provider_address
    assert accepted["policy_epoch"] == request.policy_epoch
    doc = acceptance_typed_data(gw.chain_id, gw.usage_grants, grant_id, gw.provider_address)
    assert recover_signer(doc, accepted["signature"]) == gw.provider_address


def test_a_prepaid_grant_needs_its_deposit_first(gw_env: GatewayEnv) -> None:  # noqa: F811
    asset = gw_env.new_asset(PREPAID).asset_id
    gw = gw_env.gateway
    consumer = gw_env.keystore.address("consumer")
    with gw_env.client("consumer") as c:
        request = c.build_request(asset, "research", max_count=4)
        grant_id = gw.grant_id(request)
        nonce = provider_nonce(gw_env)
        with pytest.raises(GatewayClientError) as refused:
            c.submit_grant(request)
        assert (refused.value.status, refused.value.code) == (402, "deposit_too_small")
        message = str(refused.value)
        assert "locks 28 (4 uses x 7" in message and "holds 0" in message
        assert "`tds escrow deposit base:28`" in message
        # nothing left behind: no transaction, no grant, no row (so the same signed request may come again)
        assert provider_nonce(gw_env) == nonce
        assert GrantsClient(gw_env.chain()).get(grant_id) is None
        assert gw.db.grant_request(grant_id) is None

        deposit(gw_env, "consumer", 20)  # not enough yet: 8 short
        with pytest.raises(GatewayClientError, match=r"deposit_too_small.*holds 20.*base:8"):
            c.submit_grant(request)
        deposit(gw_env, "consumer", 8)
        granted = c.submit_grant(request)
        assert granted["state"] == "issued" and granted["grant_id"] == grant_id

        account = settlement(gw_env).account_of(grant_id)
        assert account is not None and account.locked == 4 * PRICE and account.price_model == PriceModel.PREPAID
        assert settlement(gw_env).deposit_of(consumer) == 0  # the whole deposit is locked
        assert_accepted_by_provider(gw_env, grant_id, request)
        fetched = c.fetch(asset, gw_env.home / "prepaid.bin", grant_id=grant_id)
        assert fetched.grant_id == grant_id

        revoke_grant(gw, grant_id)
        settlement(gw_env, "provider").release(grant_id)
        released = settlement(gw_env).account_of(grant_id)
        assert released is not None and released.released and released.locked == 0
        assert settlement(gw_env).deposit_of(consumer) == 4 * PRICE  # back in the free deposit
        with pytest.raises(GatewayClientError) as gone:
            c.fetch(asset, gw_env.home / "after-release.bin", grant_id=grant_id)
        assert gone.value.status in (402, 403)  # revoked (403) and released (402): either refuses
        assert not (gw_env.home / "after-release.bin").exists()


def test_manual_approval_signs_the_acceptance_and_waits_for_the_deposit(gw_env: GatewayEnv) -> None:  # noqa: F811
    policy = Policy(max_count=3, price_per_access=PRICE, price_model=PriceModel.PREPAID, auto_approve=False)
    asset = gw_env.new_asset(policy).asset_id
    gw = gw_env.gateway
    deposit(gw_env, "consumer2", 3 * PRICE)
    with gw_env.client("consumer2") as c:
        pending = c.request_grant(asset, "research", max_count=3)
    assert pending["state"] == "pending"
    grant_id = pending["grant_id"]
    settlement(gw_env, "consumer2").withdraw_deposit(1)  # gone before the provider decides
    with pytest.raises(DepositTooSmall, match="holds 20"):
        approve_grant(gw, grant_id)
    row = gw.db.grant_request(grant_id)
    assert row is not None and row.state == GrantState.PENDING.value  # still to decide, nothing on-chain
    assert GrantsClient(gw_env.chain()).get(grant_id) is None
    deposit(gw_env, "consumer2", 1)
    assert approve_grant(gw, grant_id).state == GrantState.ISSUED.value
    row = gw.db.grant_request(grant_id)
    assert row is not None
    assert_accepted_by_provider(gw_env, grant_id, row.request())
    account = settlement(gw_env).account_of(grant_id)
    assert account is not None and account.locked == 3 * PRICE


def test_free_and_pay_after_use_grants_need_no_deposit(gw_env: GatewayEnv) -> None:  # noqa: F811
    later = Policy(max_count=2, price_per_access=PRICE, price_model=PriceModel.PAY_AFTER_USE)
    for policy in (Policy(max_count=2), later):
        asset = gw_env.new_asset(policy).asset_id
        with gw_env.client("french") as c:  # never deposited anything
            granted = c.request_grant(asset, "research", max_count=2)
        assert granted["state"] == "issued"
        account = settlement(gw_env).account_of(granted["grant_id"])
        if policy.price_model == PriceModel.FREE:
            assert account is None
        else:
            assert account is not None and account.locked == 0
        assert_accepted_by_provider(gw_env, granted["grant_id"], GrantRequest.from_json(granted["request"]))


def test_a_request_for_an_older_policy_epoch_is_refused(gw_env: GatewayEnv) -> None:  # noqa: F811
    asset = gw_env.new_asset(Policy(max_count=5)).asset_id
    with gw_env.client("consumer") as c:
        request = c.build_request(asset, "research", max_count=2)
        set_policy(gw_env.gateway, asset, Policy(max_count=5, purposes=("research",)))  # epoch 2
        with pytest.raises(GatewayClientError) as refused:
            c.submit_grant(request)
        assert (refused.value.status, refused.value.code) == (409, "policy_changed")
        assert "epoch 2 is current" in str(refused.value) and "fetch the offer again" in str(refused.value)
        again = c.build_request(asset, "research", max_count=2)
        assert again.policy_epoch == 2 and c.submit_grant(again)["state"] == "issued"
