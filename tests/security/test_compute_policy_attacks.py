"""Compute-policy hijack: approving an algorithm on someone else's asset, straight at the contract.

The attack: ComputePolicies decides which algorithms may run beside a provider's data (compute-to-data).
A consumer (or another provider) who could approve its own algorithm on the provider's asset could run
arbitrary code on the raw data and walk away with it. It skips the CLI and the gateway and sends
``setAlgorithmApproval`` with ``cast send`` and its own key, once through the node's gas estimate and once
with a fixed gas limit so the transaction is mined anyway.

What must hold: every such call reverts with a named error (the estimate refuses and nothing is sent; a
forced transaction is mined with status 0), and nothing changes: the algorithm stays unapproved, no
AlgorithmApproved/AlgorithmRejected/PrivacyBudgetSet event exists for the asset, the budget stays as the
provider set it.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pytest
from eth_utils import keccak
from web3.exceptions import ContractCustomError

from chain.contracts import AssetsClient, ComputeClient
from tests.integration.gateway_fixtures import GatewayEnv
from tests.security.conftest import cast, private_key

pytestmark = pytest.mark.integration

SIG_APPROVE = "setAlgorithmApproval(bytes32,bytes32,bool)"
SIG_BUDGET = "setPrivacyBudget(bytes32,uint64)"
SIG_IS_APPROVED = "isApproved(bytes32,bytes32)(bool)"
ERRORS = {
    "ParticipantMissingRole": "ParticipantMissingRole(address,uint8)",
    "ComputeNotProvider": "ComputeNotProvider(bytes32,address)",
}


@pytest.fixture(scope="module")
def env(gw_env: GatewayEnv) -> GatewayEnv:
    return gw_env


def register(env: GatewayEnv, who: str) -> str:
    """A fresh asset registered by ``who`` (a provider); its id."""
    asset_id = "0x" + hashlib.sha256(os.urandom(32)).hexdigest()
    chain = env.chain()
    AssetsClient(chain, chain.sender(env.account(who))).register(asset_id, 128, "0x" + "00" * 32, "urn:test:c2d")
    return asset_id


@pytest.fixture(scope="module")
def target(env: GatewayEnv) -> dict[str, str]:
    """The provider's data asset with a privacy budget of 0.5; an algorithm asset registered by provider2
    (the attacker's own code, a registered asset as the contract asks)."""
    asset, algorithm = register(env, "provider"), register(env, "provider2")
    chain = env.chain()
    ComputeClient(chain, chain.sender(env.account("provider"))).set_budget(asset, 500_000)
    return {"asset": asset, "algorithm": algorithm, "contract": chain.address("ComputePolicies")}


def send(env: GatewayEnv, who: str, to: str, sig: str, *args: str, gas_limit: int | None = None) -> Any:
    """``cast send`` as ``who`` with its own key (``gas_limit``: skip the estimate, force the transaction)."""
    extra = ["--gas-limit", str(gas_limit)] if gas_limit else []
    return cast("send", "--rpc-url", env.devnet.rpc_url, "--private-key", private_key(env, who), *extra, to, sig,
                *args, "--json")


def reverted(out: Any, error: str) -> bool:
    """Whether ``cast send`` failed with custom error ``error`` (cast prints its selector or name)."""
    selector = "0x" + keccak(text=ERRORS[error])[:4].hex()
    text = out.stderr + out.stdout
    return out.returncode != 0 and (error in text or selector[2:] in text)


def unchanged(env: GatewayEnv, target: dict[str, str]) -> None:
    """Nothing the attack aims at changed."""
    reader = ComputeClient(env.chain())
    asset, algorithm = target["asset"], target["algorithm"]
    assert not reader.is_approved(asset, algorithm)
    assert cast("call", "--rpc-url", env.devnet.rpc_url, target["contract"], SIG_IS_APPROVED, asset, algorithm,
                check=True).stdout.strip() == "false"
    assert reader.approvals(asset) == []
    assert reader.budget(asset) == 500_000
    assert len(reader._logs("PrivacyBudgetSet", assetId=bytes.fromhex(asset[2:]))) == 1  # the provider's own


@pytest.mark.parametrize("attacker, error", [("consumer", "ParticipantMissingRole"),
                                             ("provider2", "ComputeNotProvider")])
def test_approving_an_algorithm_on_someone_elses_asset_is_refused_before_sending(
        env: GatewayEnv, target: dict[str, str], attacker: str, error: str) -> None:
    w3 = env.chain().w3
    address = env.account(attacker).address
    nonce = w3.eth.get_transaction_count(address)
    out = send(env, attacker, target["contract"], SIG_APPROVE, target["asset"], target["algorithm"], "true")
    assert reverted(out, error), out.stdout + out.stderr
    out = send(env, attacker, target["contract"], SIG_BUDGET, target["asset"], "1000000000")
    assert reverted(out, error), out.stdout + out.stderr
    assert w3.eth.get_transaction_count(address) == nonce  # the estimate refused: nothing was sent
    unchanged(env, target)


@pytest.mark.parametrize("attacker, error", [("consumer", "ParticipantMissingRole"),
                                             ("provider2", "ComputeNotProvider")])
def test_a_forced_approval_transaction_is_mined_reverted_and_changes_nothing(
        env: GatewayEnv, target: dict[str, str], attacker: str, error: str) -> None:
    chain = env.chain()
    w3 = chain.w3
    address = env.account(attacker).address
    nonce = w3.eth.get_transaction_count(address)
    out = send(env, attacker, target["contract"], SIG_APPROVE, target["asset"], target["algorithm"], "true",
               gas_limit=200_000)
    assert w3.eth.get_transaction_count(address) == nonce + 1, out.stdout + out.stderr  # it was mined
    tx_hash = str(json.loads(out.stdout)["transactionHash"])
    receipt = w3.eth.get_transaction_receipt(tx_hash)
    assert receipt["status"] == 0 and receipt["logs"] == []
    tx = w3.eth.get_transaction(tx_hash)
    replay = {"from": address, "to": tx["to"], "data": tx["input"], "gas": tx["gas"]}
    with pytest.raises(ContractCustomError) as info:  # why it reverted, replayed on the state it ran on
        w3.eth.call(replay, receipt["blockNumber"] - 1)
    assert chain.decoder.decode(info.value.data).error_name == error
    unchanged(env, target)
