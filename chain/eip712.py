"""EIP-712 typed data for grant requests (verified on-chain by UsageGrants)."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from chain.types import GrantRequest

EIP712_DOMAIN_TYPE: list[dict[str, str]] = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
GRANT_DOMAIN_NAME = "TDS UsageGrants"
GRANT_DOMAIN_VERSION = "1"
GRANT_REQUEST_TYPES: dict[str, list[dict[str, str]]] = {
    "GrantRequest": [
        {"name": "assetId", "type": "bytes32"},
        {"name": "consumer", "type": "address"},
        {"name": "purpose", "type": "string"},
        {"name": "notBefore", "type": "uint32"},
        {"name": "notAfter", "type": "uint32"},
        {"name": "maxCount", "type": "uint24"},
        {"name": "pricePerAccess", "type": "uint96"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint32"},
    ]
}


def grant_domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The UsageGrants EIP-712 domain."""
    return {
        "name": GRANT_DOMAIN_NAME,
        "version": GRANT_DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": verifying_contract,
    }


def grant_typed_data(chain_id: int, verifying_contract: str, request: GrantRequest) -> dict[str, Any]:
    """Full EIP-712 document (what eth_signTypedData_v4 / ethers signTypedData take)."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **GRANT_REQUEST_TYPES},
        "primaryType": "GrantRequest",
        "domain": grant_domain(chain_id, verifying_contract),
        "message": request.message(),
    }


def sign_grant_request(account: LocalAccount, chain_id: int, verifying_contract: str, request: GrantRequest) -> str:
    """The consumer's signature (0x hex, 65 bytes) over a grant request."""
    signable = encode_typed_data(full_message=grant_typed_data(chain_id, verifying_contract, request))
    return str(account.sign_message(signable).signature.to_0x_hex())


def recover_grant_signer(chain_id: int, verifying_contract: str, request: GrantRequest, signature: str) -> str:
    """Address that signed ``request`` (for checks before anything goes on-chain)."""
    signable = encode_typed_data(full_message=grant_typed_data(chain_id, verifying_contract, request))
    return str(Account.recover_message(signable, signature=signature))
