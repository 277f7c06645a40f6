"""Escrow bypass: using a paid grant whose money is not (or no longer) locked, or issuing one without the
provider's consent.

The attacks and what must hold:
- a consumer keeps fetching a prepaid grant after the provider revoked it and released its lock to the
  consumer's free deposit -> refused, no byte served, no count used, a deny recorded;
- a dispute ruled with a full refund empties a live prepaid grant's lock (the consumer has its money
  back, the grant is still live on-chain) and the consumer fetches again -> 402 ``escrow_missing``, no
  byte served, no count used, a deny with that code recorded;
- a grant is put on-chain with ``cast send`` (bypassing the gateway) carrying an acceptance signed by
  another key than the provider's, or the provider's acceptance of another grant -> the transaction
  reverts ``GrantInvalidAcceptance``: no grant, no lock, the consumer's deposit untouched.
"""

from __future__ import annotations

import httpx
import pytest
from eth_utils import keccak

from chain.contracts import DisputesClient, GrantsClient, SettlementClient, TokenClient
from chain.eip712 import sign_acceptance, sign_grant_request
from domain.types import GrantRequest, Liveness, Policy, PriceModel
from gateway.service import revoke_grant
from tests.integration.gateway_fixtures import GatewayEnv
from tests.security.conftest import cast, private_key

pytestmark = pytest.mark.integration

PRICE = 5
PREPAID = Policy(max_count=4, price_per_access=PRICE, price_model=PriceModel.PREPAID, purposes=("research",))
SIG_ISSUE = ("issueGrant((bytes32,address,string,uint32,uint32,uint24,uint96,uint256,uint32,uint32),bytes,bytes)"
             "(bytes32)")
INVALID_ACCEPTANCE = "GrantInvalidAcceptance(address)"


@pytest.fixture(scope="module")
def env(gw_env: GatewayEnv) -> GatewayEnv:
    """The gateway env; ``consumer`` holds 1,000 tokens and has deposited 200 in Settlement."""
    chain = gw_env.chain()
    TokenClient(chain, chain.sender(gw_env.account("operator"))).mint(gw_env.keystore.address("consumer"), 1000)
    consumer = chain.sender(gw_env.account("consumer"))
    TokenClient(chain, consumer).approve(chain.address("Settlement"), 200)
    SettlementClient(chain, consumer).deposit(200)
    return gw_env


def settlement(env: GatewayEnv) -> SettlementClient:
    return SettlementClient(env.chain())


def prepaid_grant(env: GatewayEnv) -> tuple[str, str, GrantRequest]:
    """A fresh prepaid asset and a live grant of ``consumer`` on it (4 uses locked): (asset, grant, request)."""
    asset, grant_id = env.granted_asset(PREPAID, size=2048, max_count=4)
    request = GrantsClient(env.chain()).request_of(grant_id)
    assert request is not None
    account = settlement(env).account_of(grant_id)
    assert account is not None and account.locked == 4 * PRICE
    return asset, grant_id, request


def fetch(env: GatewayEnv, asset: str, grant_id: str) -> httpx.Response:
    target = f"/assets/{asset}/data?grant={grant_id}"
    return httpx.get(env.url + target, headers=env.sign("consumer", "GET", target), timeout=30)


def test_a_released_lock_is_not_served(env: GatewayEnv) -> None:
    asset, grant_id, _request = prepaid_grant(env)
    assert fetch(env, asset, grant_id).status_code == 200
    used, deposit = env.gateway.db.used(grant_id), settlement(env).deposit_of(env.keystore.address("consumer"))
    revoke_grant(env.gateway, grant_id)
    chain = env.chain()
    SettlementClient(chain, chain.sender(env.account("provider"))).release(grant_id)
    account = settlement(env).account_of(grant_id)
    assert account is not None and account.released and account.locked == 0
    # the whole lock goes back: the use served was never settled (the provider gave up its claim)
    assert settlement(env).deposit_of(env.keystore.address("consumer")) == deposit + 4 * PRICE

    resp = fetch(env, asset, grant_id)
    assert resp.status_code in (402, 403) and "application/json" in resp.headers["content-type"]
    assert resp.json()["error"]["code"] in ("grant_revoked", "escrow_missing")
    assert env.gateway.db.used(grant_id) == used  # no count used
    assert env.gateway.db.count_accesses(decision="deny", grant_id=grant_id) == 1


def test_a_live_grant_whose_lock_was_refunded_is_not_served(env: GatewayEnv) -> None:
    asset, grant_id, request = prepaid_grant(env)
    assert fetch(env, asset, grant_id).status_code == 200
    chain = env.chain()
    disputes = DisputesClient(chain, chain.sender(env.account("consumer")))
    dispute_id, _ = disputes.open(request, "grant", 0, "0x" + keccak(text="the data was not as described").hex(),
                                  "https://evidence.example/1")
    deposit = settlement(env).deposit_of(request.consumer)
    DisputesClient(chain, chain.sender(env.account("operator"))).rule(dispute_id, "refund", 4 * PRICE)
    account = settlement(env).account_of(grant_id)
    assert account is not None and account.locked == 0 and not account.released and not account.frozen
    assert settlement(env).deposit_of(request.consumer) == deposit + 4 * PRICE  # the consumer has its money back
    assert GrantsClient(chain).liveness(grant_id) == Liveness.LIVE  # and the grant is still live on-chain

    used = env.gateway.db.used(grant_id)
    denied = env.gateway.db.count_accesses(decision="deny", code="escrow_missing")
    resp = fetch(env, asset, grant_id)
    assert resp.status_code == 402, resp.text[:300]
    error = resp.json()["error"]
    assert error["code"] == "escrow_missing" and grant_id in error["message"] and "empty" in error["message"]
    assert resp.headers["content-type"].startswith("application/json")  # the error, not the asset's bytes
    assert env.gateway.db.used(grant_id) == used
    assert env.gateway.db.count_accesses(decision="deny", code="escrow_missing") == denied + 1
    with env.client("consumer") as c:  # the SDK sees the same refusal
        with pytest.raises(Exception, match="escrow_missing"):
            c.fetch(asset, env.home / "refunded.bin", grant_id=grant_id)
    assert not (env.home / "refunded.bin").exists()


def _request_tuple(r: GrantRequest) -> str:
    return (f"({r.asset_id},{r.consumer},{r.purpose},{r.not_before},{r.not_after},{r.max_count},"
            f"{r.price_per_access},{r.nonce},{r.deadline},{r.policy_epoch})")


def _reverted_invalid_acceptance(out: object) -> bool:
    text = getattr(out, "stderr", "") + getattr(out, "stdout", "")
    selector = "0x" + keccak(text=INVALID_ACCEPTANCE)[:4].hex()
    return getattr(out, "returncode", 0) != 0 and ("GrantInvalidAcceptance" in text or selector in text)


@pytest.mark.parametrize("forger", ["provider2", "consumer", "outsider", "other_grant"])
def test_a_forged_acceptance_reverts(env: GatewayEnv, forger: str) -> None:
    asset = env.new_asset(PREPAID, size=512).asset_id
    with env.client("consumer") as c:
        request = c.build_request(asset, "research", max_count=2)
    gw = env.gateway
    chain_id, usage_grants = gw.chain_id, gw.usage_grants
    consent = sign_grant_request(env.account("consumer"), chain_id, usage_grants, request)
    grant_id = gw.grant_id(request)
    if forger == "other_grant":  # the provider's real signature, over another grant id
        other = GrantRequest(**{**request.to_json(), "nonce": request.nonce + 1})
        acceptance = sign_acceptance(env.account("provider"), chain_id, usage_grants, gw.grant_id(other))
    else:
        acceptance = sign_acceptance(env.account(forger), chain_id, usage_grants, grant_id)
    deposit = settlement(env).deposit_of(request.consumer)

    out = cast("send", "--rpc-url", env.devnet.rpc_url, "--private-key", private_key(env, "provider"), usage_grants,
               SIG_ISSUE, _request_tuple(request), consent, acceptance)
    assert _reverted_invalid_acceptance(out), out.stdout + out.stderr
    assert GrantsClient(env.chain()).get(grant_id) is None
    assert settlement(env).account_of(grant_id) is None
    assert settlement(env).deposit_of(request.consumer) == deposit

    # the same call with the provider's own acceptance goes through: the forgery was the only fault
    genuine = sign_acceptance(env.account("provider"), chain_id, usage_grants, grant_id)
    ok = cast("send", "--rpc-url", env.devnet.rpc_url, "--private-key", private_key(env, "provider"), usage_grants,
              SIG_ISSUE, _request_tuple(request), consent, genuine)
    assert ok.returncode == 0, ok.stderr
    assert GrantsClient(env.chain()).get(grant_id) is not None
    account = settlement(env).account_of(grant_id)
    assert account is not None and account.locked == 2 * PRICE
