"""The chain layer against a real anvil: EIP-712 agreement with the contract, persistence, nonces."""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chain.contracts import AnchorsClient, AssetsClient, AssetState, GrantsClient
from chain.devnet import Devnet
from chain.eip712 import grant_id as local_grant_id, sign_acceptance, sign_grant_request
from chain.errors import ChainError
from chain.keys import Keystore
from domain.types import GrantRequest, Liveness, Policy
from tests.integration.conftest import Space, free_port

pytestmark = pytest.mark.integration


def test_python_grant_digest_matches_contract_and_grant_lifecycle(space: Space) -> None:
    _, assets, grants = space.clients("provider")
    asset_id = "0x" + hashlib.sha256(os.urandom(32)).hexdigest()
    assets.register(asset_id, 32, "0x" + "00" * 32, "urn:test")
    grants.set_policy(asset_id, Policy(purposes=("research",), max_count=5))
    policy = grants.policy_state(asset_id)
    assert policy is not None
    now = int(time.time())
    req = GrantRequest(asset_id, space.address("consumer"), "research", now - 5, now + 3600, 5, 0, 42, now + 600,
                       policy.epoch)
    ks = Keystore(space.settings.keystore_dir)
    chain = grants.chain
    sig = sign_grant_request(ks.account("consumer"), chain.chain_id, chain.address("UsageGrants"), req)
    acceptance = sign_acceptance(ks.account("provider"), chain.chain_id, chain.address("UsageGrants"),
                                 grants.hash_request(req))
    grant_id, receipt = grants.issue(req, sig, acceptance)
    assert grant_id == grants.hash_request(req)
    assert grant_id == local_grant_id(chain.chain_id, chain.address("UsageGrants"), req)  # no node needed
    # 90k before grants became two-signature agreements; the provider's acceptance (a second ECDSA recovery,
    # its calldata, the GrantAccepted event with its signature) and the agreed policy epoch add about 11k
    # (bench.gas measures 101.6k on a free policy; README "Performance")
    assert receipt["gasUsed"] <= 105_000
    assert grants.liveness(grant_id) == Liveness.LIVE
    assert grants.request_of(grant_id) == req
    grants.revoke(req)
    assert grants.liveness(grant_id) == Liveness.REVOKED
    g = grants.get(grant_id)
    assert g is not None and g.consumer == space.address("consumer") and g.max_count == 5


def test_concurrent_sends_from_one_account_keep_nonces_in_order(space: Space) -> None:
    chain = space.chain()
    anchors = AnchorsClient(chain, chain.sender(Keystore(space.settings.keystore_dir).account("provider")))
    roots = ["0x" + hashlib.sha256(os.urandom(16)).hexdigest() for _ in range(12)]
    with ThreadPoolExecutor(6) as pool:
        receipts = list(pool.map(lambda r: anchors.anchor(r, 10, 1), roots))
    assert all(r["status"] == 1 for r in receipts)
    assert all(anchors.get(space.address("provider"), r) is not None for r in roots)


def test_devnet_restart_keeps_the_chain(tmp_path: Path) -> None:
    devnet = Devnet(tmp_path / "devnet", port=free_port())
    devnet.start()
    try:
        from chain.devnet import rpc

        devnet.fund("0x" + "11" * 20, 12345)
        rpc(devnet.rpc_url, "evm_mine")
        block = devnet.status().block
        assert devnet.stop()
        assert not devnet.status().running
        devnet.start()
        assert devnet.status().block == block
        assert int(str(rpc(devnet.rpc_url, "eth_getBalance", ["0x" + "11" * 20, "latest"])), 16) == 12345
    finally:
        devnet.stop()


def test_rejected_transaction_sends_nothing(space: Space) -> None:
    _, assets, _ = space.clients("consumer")
    sender = assets.sender
    assert sender is not None
    nonce = sender.w3.eth.get_transaction_count(sender.address)
    with pytest.raises(Exception, match="ParticipantMissingRole"):
        assets.register("0x" + "77" * 32, 1, "0x" + "00" * 32, "urn:x")
    assert sender.w3.eth.get_transaction_count(sender.address) == nonce
    assert AssetsClient(assets.chain).get("0x" + "77" * 32) is None
    assert GrantsClient(assets.chain).get_policy("0x" + "77" * 32) is None


def test_fast_view_calls_match_web3_and_decode_reverts(space: Space) -> None:
    chain = space.chain()
    participants, assets, grants = space.clients()
    consumer = space.address("consumer")
    reg = participants.contract.functions
    calls = [
        reg.getParticipant(consumer),
        reg.isActive(consumer, 2),
        assets.contract.functions.getAsset(b"\x01" * 32),
        grants.contract.functions.getPolicy(b"\x02" * 32),
        grants.contract.functions.liveness(b"\x03" * 32),
        chain.contract("AnchorRegistry").functions.getAnchor(consumer, b"\x04" * 32),
    ]
    for fn in calls:
        expected = fn.call()
        got = chain.call(fn)
        assert (tuple(got) if isinstance(got, list) else got) == expected, fn.fn_name
    with pytest.raises(Exception) as info:
        chain.call(reg.requireActive(space.address("outsider"), 0))
    assert type(info.value).__name__ == "ParticipantUnknown"
    assert info.value.error_args["account"].lower() == space.address("outsider").lower()


def test_two_senders_sharing_a_key_recover_from_nonce_conflicts(space: Space) -> None:
    """Gateway workers and the notary process sign with the provider key, each with its own nonce cache."""
    account = Keystore(space.settings.keystore_dir).account("provider")
    chain_a, chain_b = space.chain(), space.chain()
    a = AnchorsClient(chain_a, chain_a.sender(account))
    b = AnchorsClient(chain_b, chain_b.sender(account))
    roots = ["0x" + os.urandom(32).hex() for _ in range(16)]
    with ThreadPoolExecutor(4) as pool:
        receipts = list(pool.map(lambda i: (a, b)[i % 2].anchor(roots[i], 1, 1), range(16)))
    assert all(r["status"] == 1 for r in receipts)
    assert all(a.get(account.address, r) is not None for r in roots)


def test_block_tagged_reads_see_the_chain_as_it_was_at_each_block(space: Space) -> None:
    _, assets, grants = space.clients("provider")
    chain = assets.chain
    asset_id = "0x" + hashlib.sha256(os.urandom(32)).hexdigest()
    assets.register(asset_id, 32, "0x" + "00" * 32, "urn:test")
    grants.set_policy(asset_id, Policy(purposes=("research",), jurisdictions=("DE",), max_count=5))
    before = chain.block_number()
    assets.deactivate(asset_id)
    after = chain.block_number()
    assert assets.state(asset_id, before) == AssetState(asset_id, space.address("provider"), 32, True)
    assert assets.state(asset_id, after) == AssetState(asset_id, space.address("provider"), 32, False)
    assert assets.state("0x" + "00" * 31 + "01", after) is None
    policy = grants.policy_state(asset_id, before)
    assert policy is not None and (policy.max_count, policy.epoch, policy.any_purpose) == (5, 1, False)
    assert grants.policy_state(asset_id, before - 2) is None  # before setPolicy was mined
    assert grants.purpose_allowed(asset_id, "research", before) and not grants.purpose_allowed(asset_id, "ads", before)
    assert grants.jurisdiction_allowed(asset_id, "de", before) and not grants.jurisdiction_allowed(asset_id, "FR", before)
    heads = chain.head_reader()
    assert heads.number() == after == heads.latest().number
    assert heads.latest().timestamp == heads.timestamp_of(after)


def test_node_requests_through_the_chain_handle(space: Space) -> None:
    chain = space.chain()
    provider = space.address("provider")
    assert chain.transaction_count(provider) == int(chain.rpc_request("eth_getTransactionCount",
                                                                      [provider, "latest"])["result"], 16)
    assert chain.base_fee() is not None
    assert [int(r["result"], 16) for r in chain.rpc_batch([("eth_chainId", []), ("eth_chainId", [])])] == [
        chain.chain_id] * 2
    with pytest.raises(ChainError, match="rejected"):
        chain.send_raw_transaction(b"\x01\x02")
    assert chain.transaction_receipt("0x" + "ab" * 32) is None
