"""chain.eip712: the grant id agrees with every other way of computing it; gateway calls sign and recover."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import keccak

from chain.eip712 import (
    GatewayDomain,
    body_hash,
    gateway_id_of,
    gateway_typed_data,
    grant_id,
    grant_typed_data,
    recover_signer,
    sign_call,
)
from domain.types import GrantRequest

CONTRACT = "0x" + "55" * 20
GRANT_TYPE = ("GrantRequest(bytes32 assetId,address consumer,string purpose,uint32 notBefore,uint32 notAfter,"
              "uint24 maxCount,uint96 pricePerAccess,uint256 nonce,uint32 deadline,uint32 policyEpoch)")
DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"

REQUESTS = [
    GrantRequest("0x" + "ab" * 32, "0x" + "11" * 20, "research", 1, 2, 3, 0, 4, 5, 6),
    GrantRequest("0x" + "00" * 32, "0x" + "ff" * 20, "", 0, 0, 0, 0, 0, 0, 0),
    GrantRequest("0x" + "7f" * 32, "0x" + "a0" * 20, "marketing ünïcode", 2**32 - 2, 2**32 - 1, 2**24 - 1,
                 2**96 - 1, 2**256 - 1, 2**32 - 1, 2**32 - 1),
]


def _by_hand(chain_id: int, contract: str, req: GrantRequest) -> str:
    """keccak(0x1901 || domainSeparator || structHash) as UsageGrants computes it (abi.encode by hand)."""
    separator = keccak(encode(["bytes32", "bytes32", "bytes32", "uint256", "address"], [
        keccak(text=DOMAIN_TYPE), keccak(text="TDS UsageGrants"), keccak(text="1"), chain_id, contract]))
    struct = keccak(encode(
        ["bytes32", "bytes32", "address", "bytes32", "uint32", "uint32", "uint24", "uint96", "uint256", "uint32",
         "uint32"],
        [keccak(text=GRANT_TYPE), bytes.fromhex(req.asset_id[2:]), req.consumer, keccak(text=req.purpose),
         req.not_before, req.not_after, req.max_count, req.price_per_access, req.nonce, req.deadline,
         req.policy_epoch]))
    return "0x" + keccak(b"\x19\x01" + separator + struct).hex()


@pytest.mark.parametrize("req", REQUESTS)
@pytest.mark.parametrize("chain_id", [1, 31337])
def test_grant_id_matches_the_former_private_hash_the_signed_digest_and_the_contract_encoding(
        req: GrantRequest, chain_id: int) -> None:
    signable = encode_typed_data(full_message=grant_typed_data(chain_id, CONTRACT, req))
    expected = "0x" + _hash_eip191_message(signable).hex()  # what gateway.policy computed before
    assert grant_id(chain_id, CONTRACT, req) == expected
    assert expected == "0x" + bytes(Account.create().sign_message(signable).message_hash).hex()
    assert expected == _by_hand(chain_id, CONTRACT, req)


def test_grant_id_binds_chain_contract_and_every_field() -> None:
    req = REQUESTS[0]
    base = grant_id(31337, CONTRACT, req)
    assert grant_id(1, CONTRACT, req) != base
    assert grant_id(31337, "0x" + "56" * 20, req) != base
    assert grant_id(31337, CONTRACT, GrantRequest(**{**req.to_json(), "nonce": req.nonce + 1})) != base
    assert grant_id(31337, CONTRACT, GrantRequest(**{**req.to_json(), "policy_epoch": req.policy_epoch + 1})) != base


def test_signed_call_recovers_to_the_signer_and_binds_the_gateway() -> None:
    account = Account.create()
    domain = GatewayDomain.named(31337, CONTRACT, "0x" + "22" * 20, "https://gw.example")
    assert domain.gateway_id == gateway_id_of("https://gw.example") == "0x" + keccak(text="https://gw.example").hex()
    headers = sign_call(account, domain, "post", "/grants?x=1", b"{}", nonce=7, now=1000)
    assert headers["X-TDS-Nonce"] == "7" and headers["X-TDS-Expiry"] == "1120"
    assert headers["X-TDS-Gateway"] == domain.gateway_id
    doc = gateway_typed_data(domain, "POST", "/grants?x=1", body_hash(b"{}"), 7, 1120)
    assert recover_signer(doc, headers["X-TDS-Signature"]) == account.address
    other = GatewayDomain.named(31337, CONTRACT, "0x" + "22" * 20, "https://other.example")
    moved = gateway_typed_data(other, "POST", "/grants?x=1", body_hash(b"{}"), 7, 1120)
    assert recover_signer(moved, headers["X-TDS-Signature"]) != account.address
    assert GatewayDomain.from_json(domain.to_json()) == domain
