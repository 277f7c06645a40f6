"""EIP-712 typed data for grant requests (verified on-chain by UsageGrants), digests, canonical signatures.

A signature is canonical when it is 65 bytes ``r || s || v`` with ``s <= n/2`` (EIP-2 "low s") and
``v`` 27 or 28: exactly what OpenZeppelin's ECDSA (used by UsageGrants through SignatureChecker)
accepts. eth_account also recovers the high-s twin ``(r, n - s, v ^ 1)`` of every signature, so
off-chain checks call :func:`signature_problem` first to agree with the contract.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from domain.types import GrantRequest

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2

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


def typed_data_digest(doc: dict[str, Any]) -> bytes:
    """The 32-byte EIP-712 digest of a full typed-data document (what ``ecrecover`` verifies)."""
    signable: SignableMessage = encode_typed_data(full_message=doc)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def grant_id(chain_id: int, verifying_contract: str, request: GrantRequest) -> str:
    """The grant id UsageGrants assigns to ``request`` (its EIP-712 digest), computed locally."""
    return "0x" + typed_data_digest(grant_typed_data(chain_id, verifying_contract, request)).hex()


def signature_problem(signature: str) -> str | None:
    """Why ``signature`` (0x + 130 hex) is not canonical for OpenZeppelin ECDSA, or None if it is."""
    try:
        raw = bytes.fromhex(signature[2:] if signature[:2] in ("0x", "0X") else signature)
    except ValueError:
        return "it is not hexadecimal"
    if len(raw) != 65:
        return f"a signature is 65 bytes (r, s, v), not {len(raw)}"
    s, v = int.from_bytes(raw[32:64], "big"), raw[64]
    if s > SECP256K1_HALF_N:
        return ("its s value is in the upper half of the curve order (a malleated 'high-s' signature), "
                "which the UsageGrants contract refuses: sign again with a standard EIP-712 signer (low s)")
    if v not in (27, 28):
        return f"its v byte is {v}, the contract accepts only 27 or 28: sign again with a standard EIP-712 signer"
    return None


def sign_grant_request(account: LocalAccount, chain_id: int, verifying_contract: str, request: GrantRequest) -> str:
    """The consumer's signature (0x hex, 65 bytes) over a grant request."""
    signable = encode_typed_data(full_message=grant_typed_data(chain_id, verifying_contract, request))
    return str(account.sign_message(signable).signature.to_0x_hex())


def recover_grant_signer(chain_id: int, verifying_contract: str, request: GrantRequest, signature: str) -> str:
    """Address that signed ``request`` (for checks before anything goes on-chain)."""
    signable = encode_typed_data(full_message=grant_typed_data(chain_id, verifying_contract, request))
    return str(Account.recover_message(signable, signature=signature))
