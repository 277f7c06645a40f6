"""ComputePolicies against a real anvil: algorithm approvals and privacy budgets, set only by an asset's provider."""

from __future__ import annotations

import hashlib
import os

import pytest

from chain.contracts import AssetsClient, ComputeClient
from chain.errors import ContractRevert, revert_class
from chain.keys import Keystore
from tests.integration.conftest import Space

pytestmark = pytest.mark.integration


def compute(space: Space, name: str | None = None) -> ComputeClient:
    """A ComputeClient, signing as ``name`` if given."""
    chain = space.chain()
    sender = chain.sender(Keystore(space.settings.keystore_dir).account(name)) if name else None
    return ComputeClient(chain, sender)


def new_asset(space: Space, provider: str = "provider") -> str:
    """Register a fresh asset as ``provider``; its id."""
    asset_id = "0x" + hashlib.sha256(os.urandom(32)).hexdigest()
    _, assets, _ = space.clients(provider)
    assets.register(asset_id, 64, "0x" + "00" * 32, "urn:test:compute")
    return asset_id


def refused(client: ComputeClient, error: str, call: object) -> ContractRevert:
    """Run ``call`` (a zero-argument callable); assert it raises the named revert and sends nothing."""
    assert client.sender is not None and callable(call)
    w3 = client.sender.w3
    nonce = w3.eth.get_transaction_count(client.sender.address)
    with pytest.raises(revert_class(error)) as info:
        call()
    assert info.value.error_name == error
    assert w3.eth.get_transaction_count(client.sender.address) == nonce  # rejected before sending
    return info.value


def test_deployment_holds_compute_policies_wired_to_the_registries(space: Space) -> None:
    chain = space.chain()
    assert "ComputePolicies" in chain.deployment.contracts
    assert len(chain.w3.eth.get_code(chain.address("ComputePolicies"))) > 0
    names = list(chain.deployment.contracts)
    assert names.index("AssetRegistry") < names.index("ComputePolicies")


def test_approve_reject_and_budget_round_trip(space: Space) -> None:
    asset, algorithm, other = new_asset(space), new_asset(space), new_asset(space, "provider2")
    client = compute(space, "provider")
    reader = compute(space)
    provider = space.address("provider")
    assert not reader.is_approved(asset, algorithm) and reader.budget(asset) == 0
    assert reader.approvals(asset) == []

    approved = client.set_approval(asset, algorithm, True)
    assert approved["status"] == 1
    events = client.receipt_events(approved, "AlgorithmApproved")
    assert len(events) == 1 and events[0]["args"]["provider"] == provider
    assert reader.is_approved(asset, algorithm)
    assert not reader.is_approved(asset, algorithm, block=int(approved["blockNumber"]) - 1)
    client.set_approval(asset, other, True)  # another provider's asset may be an algorithm too
    assert reader.is_approved(asset, other)
    assert not reader.is_approved(algorithm, asset)  # approvals are per (asset, algorithm)

    rejected = client.set_approval(asset, algorithm, False)
    assert len(client.receipt_events(rejected, "AlgorithmRejected")) == 1
    assert not reader.is_approved(asset, algorithm) and reader.is_approved(asset, other)

    budget = client.set_budget(asset, 1_500_000)
    (ev,) = client.receipt_events(budget, "PrivacyBudgetSet")
    assert ev["args"]["epsilonMicros"] == 1_500_000 and ev["args"]["provider"] == provider
    assert reader.budget(asset) == 1_500_000
    client.set_budget(asset, 0)
    assert reader.budget(asset) == 0
    assert reader.budget(asset, block=int(budget["blockNumber"])) == 1_500_000

    history = reader.approvals(asset)
    assert [(h["algorithm_id"], h["approved"]) for h in history] == [(algorithm, True), (other, True),
                                                                       (algorithm, False)]
    assert [h["tx"] for h in history] == [approved["transactionHash"].to_0x_hex(), history[1]["tx"],
                                          rejected["transactionHash"].to_0x_hex()]
    assert [h["block"] for h in history] == sorted(h["block"] for h in history)
    assert reader.approvals(algorithm) == []


def test_setting_the_current_state_or_the_asset_itself_is_refused(space: Space) -> None:
    asset, algorithm = new_asset(space), new_asset(space)
    client = compute(space, "provider")
    err = refused(client, "ComputeApprovalUnchanged", lambda: client.set_approval(asset, algorithm, False))
    assert err.error_args["approved"] is False
    client.set_approval(asset, algorithm, True)
    err = refused(client, "ComputeApprovalUnchanged", lambda: client.set_approval(asset, algorithm, True))
    assert err.error_args["assetId"] == asset and err.error_args["algorithmId"] == algorithm
    refused(client, "ComputeAlgorithmIsAsset", lambda: client.set_approval(asset, asset, True))
    assert compute(space).is_approved(asset, algorithm)


def test_non_provider_other_provider_unknown_algorithm_and_unknown_asset_are_refused(space: Space) -> None:
    asset, algorithm = new_asset(space), new_asset(space)
    unknown = "0x" + hashlib.sha256(os.urandom(32)).hexdigest()
    reader = compute(space)

    consumer = compute(space, "consumer")
    err = refused(consumer, "ParticipantMissingRole", lambda: consumer.set_approval(asset, algorithm, True))
    assert err.error_args["account"].lower() == space.address("consumer").lower()
    refused(consumer, "ParticipantMissingRole", lambda: consumer.set_budget(asset, 1))
    outsider = compute(space, "outsider")
    refused(outsider, "ParticipantUnknown", lambda: outsider.set_approval(asset, algorithm, True))

    other = compute(space, "provider2")
    err = refused(other, "ComputeNotProvider", lambda: other.set_approval(asset, algorithm, True))
    assert err.error_args["assetId"] == asset
    assert err.error_args["caller"].lower() == space.address("provider2").lower()
    refused(other, "ComputeNotProvider", lambda: other.set_budget(asset, 10))

    provider = compute(space, "provider")
    err = refused(provider, "ComputeAlgorithmUnknown", lambda: provider.set_approval(asset, unknown, True))
    assert err.error_args == {"algorithmId": unknown}
    err = refused(provider, "ComputeAssetUnknown", lambda: provider.set_approval(unknown, algorithm, True))
    assert err.error_args == {"assetId": unknown}
    refused(provider, "ComputeAssetUnknown", lambda: provider.set_budget(unknown, 10))

    assert not reader.is_approved(asset, algorithm) and not reader.is_approved(unknown, algorithm)
    assert reader.budget(asset) == 0 and reader.approvals(asset) == []
    assert AssetsClient(reader.chain).provider_of(unknown) is None
