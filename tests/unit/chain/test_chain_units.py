"""Chain-layer units that need no node: revert decoding, settings, keystores, value types, EIP-712."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector

from chain.compile import all_abis, compile_contracts
from chain.eip712 import grant_typed_data, recover_grant_signer, sign_grant_request
from chain.errors import ContractRevert, KeystoreError, TransactionFailed, revert_class
from chain.keys import Keystore
from chain.revert import RevertDecoder
from chain.settings import ChainSettings
from domain.types import GrantRequest, Policy, Role


@pytest.fixture(scope="module")
def decoder() -> RevertDecoder:
    return RevertDecoder(all_abis(compile_contracts()))


def test_custom_error_decoded_with_arguments(decoder: RevertDecoder) -> None:
    selector = function_signature_to_4byte_selector("AssetInvalidShares(uint256)")
    exc = decoder.decode("0x" + (selector + encode(["uint256"], [9000])).hex())
    assert isinstance(exc, revert_class("AssetInvalidShares")) and isinstance(exc, ContractRevert)
    assert exc.error_args == {"totalBps": 9000}
    assert "AssetInvalidShares(totalBps=9000)" in str(exc)


def test_openzeppelin_and_builtin_errors_decoded(decoder: RevertDecoder) -> None:
    sel = function_signature_to_4byte_selector("AccessControlUnauthorizedAccount(address,bytes32)")
    exc = decoder.decode(sel + encode(["address", "bytes32"], ["0x" + "11" * 20, b"\x22" * 32]))
    assert exc.error_name == "AccessControlUnauthorizedAccount"
    msg = decoder.decode(bytes.fromhex("08c379a0") + encode(["string"], ["nope"]))
    assert msg.error_name == "Error" and msg.error_args == {"message": "nope"}


def test_unknown_or_empty_revert_data_is_a_plain_failure(decoder: RevertDecoder) -> None:
    assert isinstance(decoder.decode("0xdeadbeef"), TransactionFailed)
    assert isinstance(decoder.decode(None), TransactionFailed)
    assert isinstance(decoder.decode("0xzz"), TransactionFailed)


def test_settings_env_overrides_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"chain": {"rpc_url": "http://127.0.0.1:9999", "poa": True}}))
    s = ChainSettings.load(tmp_path, env={})
    assert s.rpc_url == "http://127.0.0.1:9999" and s.poa and s.chain_id is None
    s = ChainSettings.load(tmp_path, env={"TDS_RPC_URL": "http://127.0.0.1:1", "TDS_CHAIN_ID": "1337", "TDS_POA": "0"})
    assert (s.rpc_url, s.chain_id, s.poa) == ("http://127.0.0.1:1", 1337, False)
    assert s.deployment_file(1337) == tmp_path / "deployments" / "1337.json"


def test_keystore_is_encrypted_private_and_needs_the_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TDS_KEYSTORE_PASSWORD", raising=False)
    ks = Keystore(tmp_path / "keystore")
    address = ks.create("provider")
    assert ks.create("provider") == address  # idempotent
    keyfile = ks.path("provider")
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keystore" / ".passphrase").stat().st_mode) == 0o600
    assert "crypto" in json.loads(keyfile.read_text())
    account = ks.account("provider")
    assert account.address == address
    assert account.key.hex() not in keyfile.read_text()
    monkeypatch.setenv("TDS_KEYSTORE_PASSWORD", "wrong")
    with pytest.raises(KeystoreError, match="wrong passphrase"):
        Keystore(tmp_path / "keystore").account("provider")
    with pytest.raises(KeystoreError, match=r"no account 'nobody' .*\(accounts: provider\); create it with `tds init --accounts nobody`"):
        ks.address("nobody")
    with pytest.raises(KeystoreError, match="invalid account name"):
        ks.path("../etc/passwd")


def test_role_parse_and_names() -> None:
    role = Role.parse("provider, consumer")
    assert role == Role.PROVIDER | Role.CONSUMER and role.names() == ["provider", "consumer"]
    with pytest.raises(ValueError, match="unknown role"):
        Role.parse("root")


def test_policy_json_is_strict() -> None:
    p = Policy.from_json({"purposes": ["research"], "jurisdictions": ["de"], "max_count": 3})
    assert p.jurisdictions == ("DE",) and p.max_count == 3 and p.auto_approve
    with pytest.raises(ValueError, match="unknown policy keys: maxCount"):
        Policy.from_json({"maxCount": 3})
    for bad, reason in [({"not_before": 10, "not_after": 5}, "must be after"),
                        ({"max_count": 2**24}, "max_count"), ({"max_count": -1}, "max_count"),
                        ({"jurisdictions": ["DEU"]}, "alpha-2"), ({"purposes": [""]}, "non-empty"),
                        ({"auto_approve": "yes"}, "true or false"), ({"purposes": "research"}, "JSON lists")]:
        with pytest.raises(ValueError, match=reason):
            Policy.from_json(bad)


def test_grant_request_signature_recovers_consumer() -> None:
    consumer = Account.create()
    req = GrantRequest("0x" + "ab" * 32, consumer.address, "research", 1, 2**31, 5, 0, 7, 2**31, 1)
    verifying = "0x" + "12" * 20
    sig = sign_grant_request(consumer, 31337, verifying, req)
    assert recover_grant_signer(31337, verifying, req, sig) == consumer.address
    other = GrantRequest(**{**req.to_json(), "purpose": "marketing"})
    assert recover_grant_signer(31337, verifying, other, sig) != consumer.address
    assert recover_grant_signer(1, verifying, req, sig) != consumer.address  # domain binds the chain id
    doc = grant_typed_data(31337, verifying, req)
    assert doc["primaryType"] == "GrantRequest" and doc["domain"]["name"] == "TDS UsageGrants"


def test_compile_is_cached_by_source_hash() -> None:
    first = compile_contracts()
    again = compile_contracts()
    assert first["UsageGrants"].bytecode == again["UsageGrants"].bytecode
    assert {"ParticipantRegistry", "AssetRegistry", "UsageGrants", "AnchorRegistry", "Settlement"} <= set(first)


