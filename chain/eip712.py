"""EIP-712 typed data: grant requests (verified on-chain by UsageGrants) and signed gateway calls; the
grant id, digests, canonical signatures. Everything a consumer needs to sign, with no node connection.

A signature is canonical when it is 65 bytes ``r || s || v`` with ``s <= n/2`` (EIP-2 "low s") and
``v`` 27 or 28: exactly what OpenZeppelin's ECDSA (used by UsageGrants through SignatureChecker)
accepts. eth_account also recovers the high-s twin ``(r, n - s, v ^ 1)`` of every signature, so
off-chain checks call :func:`signature_problem` first to agree with the contract.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

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
        {"name": "policyEpoch", "type": "uint32"},
    ]
}
GRANT_ACCEPTANCE_TYPES: dict[str, list[dict[str, str]]] = {
    "GrantAcceptance": [
        {"name": "grantId", "type": "bytes32"},
        {"name": "provider", "type": "address"},
    ]
}
SETTLEMENT_DOMAIN_NAME = "TDS Settlement"
SETTLEMENT_DOMAIN_VERSION = "1"
USAGE_STATEMENT_TYPES: dict[str, list[dict[str, str]]] = {
    "UsageStatement": [
        {"name": "grantId", "type": "bytes32"},
        {"name": "periodStart", "type": "uint32"},
        {"name": "periodEnd", "type": "uint32"},
        {"name": "units", "type": "uint32"},
        {"name": "amount", "type": "uint256"},
        {"name": "receiptsRoot", "type": "bytes32"},
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


def acceptance_typed_data(chain_id: int, verifying_contract: str, grant: str, provider: str) -> dict[str, Any]:
    """The provider's EIP-712 acceptance of grant ``grant`` (the agreement's second signature)."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **GRANT_ACCEPTANCE_TYPES},
        "primaryType": "GrantAcceptance",
        "domain": grant_domain(chain_id, verifying_contract),
        "message": {"grantId": bytes.fromhex(grant[2:]), "provider": to_checksum_address(provider)},
    }


def sign_acceptance(account: LocalAccount, chain_id: int, verifying_contract: str, grant: str) -> str:
    """The provider's signature (0x hex) accepting grant ``grant``."""
    doc = acceptance_typed_data(chain_id, verifying_contract, grant, str(account.address))
    return str(account.sign_message(encode_typed_data(full_message=doc)).signature.to_0x_hex())


@dataclass(frozen=True)
class UsageStatement:
    """What a pay-after-use consumer signs for one period of one grant (Settlement verifies it)."""

    grant_id: str
    period_start: int
    period_end: int
    units: int
    amount: int
    receipts_root: str

    def typed_data(self, chain_id: int, settlement: str) -> dict[str, Any]:
        """The full EIP-712 document in the Settlement domain."""
        return {
            "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **USAGE_STATEMENT_TYPES},
            "primaryType": "UsageStatement",
            "domain": {"name": SETTLEMENT_DOMAIN_NAME, "version": SETTLEMENT_DOMAIN_VERSION,
                       "chainId": chain_id, "verifyingContract": to_checksum_address(settlement)},
            "message": {"grantId": bytes.fromhex(self.grant_id[2:]), "periodStart": self.period_start,
                        "periodEnd": self.period_end, "units": self.units, "amount": self.amount,
                        "receiptsRoot": bytes.fromhex(self.receipts_root[2:])},
        }

    def sign(self, account: LocalAccount, chain_id: int, settlement: str) -> str:
        """The consumer's signature (0x hex)."""
        doc = self.typed_data(chain_id, settlement)
        return str(account.sign_message(encode_typed_data(full_message=doc)).signature.to_0x_hex())

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (what a statement file holds)."""
        return {"grant_id": self.grant_id, "period_start": self.period_start, "period_end": self.period_end,
                "units": self.units, "amount": str(self.amount), "receipts_root": self.receipts_root}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "UsageStatement":
        """Inverse of :meth:`to_json`."""
        return cls(str(data["grant_id"]).lower(), int(data["period_start"]), int(data["period_end"]),
                   int(data["units"]), int(data["amount"]), str(data["receipts_root"]).lower())


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
    return recover_signer(grant_typed_data(chain_id, verifying_contract, request), signature)


def recover_signer(doc: dict[str, Any], signature: str) -> str:
    """The address that signed the full typed-data document ``doc`` (eth_keys' errors propagate as raised)."""
    return str(Account.recover_message(encode_typed_data(full_message=doc), signature=signature))


# ---- signed gateway calls (see gateway.auth for the headers and their checks) --------------------------

GATEWAY_DOMAIN_NAME = "TDS Gateway"
GATEWAY_DOMAIN_VERSION = "2"  # 2: calls bind the gateway (provider, gateway id)
GATEWAY_REQUEST_TYPES: dict[str, list[dict[str, str]]] = {
    "GatewayRequest": [
        {"name": "provider", "type": "address"},
        {"name": "gateway", "type": "bytes32"},
        {"name": "method", "type": "string"},
        {"name": "path", "type": "string"},
        {"name": "bodyHash", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "expiry", "type": "uint32"},
    ]
}


def gateway_id_of(name: str) -> str:
    """The gateway id of a gateway name (configured id or public URL): 0x + keccak256(utf-8 name)."""
    return "0x" + keccak(text=name).hex()


@dataclass(frozen=True)
class GatewayDomain:
    """What every signed call to one gateway binds: chain, UsageGrants contract, provider, gateway id."""

    chain_id: int
    usage_grants: str
    provider: str
    gateway_id: str  # 0x + 64 hex, lower case
    name: str = ""  # what the id was derived from (for people; not signed)

    @classmethod
    def named(cls, chain_id: int, usage_grants: str, provider: str, name: str) -> "GatewayDomain":
        """The domain of the gateway called ``name`` (its configured gateway id or its public URL)."""
        return cls(chain_id, to_checksum_address(usage_grants), to_checksum_address(provider),
                   gateway_id_of(name), name)

    @classmethod
    def from_eip712(cls, doc: Mapping[str, Any]) -> "GatewayDomain":
        """The domain a gateway publishes in ``GET /eip712`` (its ``gateway`` section)."""
        section = doc["gateway"]
        domain, fixed = section["domain"], section["message"]
        return cls(int(domain["chainId"]), to_checksum_address(domain["verifyingContract"]),
                   to_checksum_address(fixed["provider"]), str(fixed["gateway"]).lower(),
                   str(section.get("gatewayName", "")))

    def describe(self) -> str:
        """How messages name this gateway: its id, name and provider."""
        named = f" ({self.name})" if self.name else ""
        return f"{self.gateway_id}{named} of provider {self.provider}"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (for processes that sign on this domain's behalf, e.g. benchmarks)."""
        return {"chain_id": self.chain_id, "usage_grants": self.usage_grants, "provider": self.provider,
                "gateway_id": self.gateway_id, "name": self.name}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "GatewayDomain":
        """Inverse of :meth:`to_json`."""
        return cls(int(data["chain_id"]), str(data["usage_grants"]), str(data["provider"]),
                   str(data["gateway_id"]), str(data.get("name", "")))


def gateway_domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The EIP-712 domain of gateway calls (the gateway itself is bound in the message)."""
    return {
        "name": GATEWAY_DOMAIN_NAME,
        "version": GATEWAY_DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": to_checksum_address(verifying_contract),
    }


def body_hash(body: bytes) -> bytes:
    """keccak256 of the raw body."""
    return keccak(body)


def gateway_typed_data(
    domain: GatewayDomain, method: str, path: str, body_digest: bytes, nonce: int, expiry: int
) -> dict[str, Any]:
    """The full EIP-712 document of one call to the gateway of ``domain`` (what eth_signTypedData_v4 takes)."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **GATEWAY_REQUEST_TYPES},
        "primaryType": "GatewayRequest",
        "domain": gateway_domain(domain.chain_id, domain.usage_grants),
        "message": {
            "provider": domain.provider,
            "gateway": bytes.fromhex(domain.gateway_id[2:]),
            "method": method.upper(),
            "path": path,
            "bodyHash": body_digest,
            "nonce": nonce,
            "expiry": expiry,
        },
    }


def eip712_document(domain: GatewayDomain) -> dict[str, Any]:
    """What ``GET /eip712`` publishes: both domains and message types, and this gateway's fixed fields."""
    return {
        "gateway": {
            "domain": gateway_domain(domain.chain_id, domain.usage_grants),
            "primaryType": "GatewayRequest",
            "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **GATEWAY_REQUEST_TYPES},
            "message": {"provider": domain.provider, "gateway": domain.gateway_id},
            "gatewayName": domain.name,
            "headers": {"address": "X-TDS-Address", "gateway": "X-TDS-Gateway", "nonce": "X-TDS-Nonce",
                        "expiry": "X-TDS-Expiry", "signature": "X-TDS-Signature"},
            "bodyHash": "keccak256 of the raw request body",
            "path": "raw request target: path plus '?query' when present",
            "signature": "65 bytes r,s,v with low s (s <= n/2) and v 27 or 28",
        },
        "grantRequest": {
            "domain": grant_domain(domain.chain_id, to_checksum_address(domain.usage_grants)),
            "primaryType": "GrantRequest",
            "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **GRANT_REQUEST_TYPES},
        },
        "grantAcceptance": {
            "domain": grant_domain(domain.chain_id, to_checksum_address(domain.usage_grants)),
            "primaryType": "GrantAcceptance",
            "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **GRANT_ACCEPTANCE_TYPES},
        },
    }


def sign_call(
    account: LocalAccount,
    domain: GatewayDomain,
    method: str,
    path: str,
    body: bytes = b"",
    ttl_s: int = 120,
    nonce: int | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """The X-TDS-* headers signing one call to the gateway of ``domain``."""
    nonce = secrets.randbits(128) if nonce is None else nonce
    expiry = int(time.time() if now is None else now) + ttl_s
    doc = gateway_typed_data(domain, method, path, body_hash(body), nonce, expiry)
    signature = account.sign_message(encode_typed_data(full_message=doc)).signature.to_0x_hex()
    return {
        "X-TDS-Address": str(account.address),
        "X-TDS-Gateway": domain.gateway_id,
        "X-TDS-Nonce": str(nonce),
        "X-TDS-Expiry": str(expiry),
        "X-TDS-Signature": str(signature),
    }
