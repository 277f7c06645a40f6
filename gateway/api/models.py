"""The HTTP API's request and response models (pydantic): what a client sends and reads.

Request bodies are parsed by hand (``gateway.api.deps``) so that a malformed one answers
``malformed_json`` before authentication; their schemas are added to the OpenAPI document by
``gateway.api.openapi``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from domain.ids import ADDRESS_PATTERN, BYTES32_PATTERN, SIGNATURE_PATTERN
from domain.types import GrantRequest


class ErrorDetail(BaseModel):
    """A refusal: a stable machine code and a human message."""

    code: str = Field(examples=["grant_revoked"])
    message: str


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail


class GrantRequestIn(BaseModel):
    """The EIP-712 GrantRequest the consumer signed (see GET /eip712 ``grantRequest``)."""

    model_config = {"extra": "forbid"}

    asset_id: str = Field(pattern=BYTES32_PATTERN)
    consumer: str = Field(pattern=ADDRESS_PATTERN)
    purpose: str = Field(min_length=1, max_length=200)
    not_before: int = Field(ge=0, lt=2**32)
    not_after: int = Field(ge=0, lt=2**32)
    max_count: int = Field(ge=1, lt=2**24)
    price_per_access: int = Field(ge=0, lt=2**96)
    nonce: int = Field(ge=0, lt=2**256)
    deadline: int = Field(ge=0, lt=2**32)
    policy_epoch: int = Field(ge=0, lt=2**32, description="the epoch of the asset's policy the consumer agrees to "
                              "(the last part of the offer's odrl:uid)")

    def to_request(self) -> GrantRequest:
        """As the chain layer's value type (checksummed consumer, lower-case asset id)."""
        from eth_utils import to_checksum_address

        data = self.model_dump()
        data["consumer"] = to_checksum_address(self.consumer)
        data["asset_id"] = self.asset_id.lower()
        return GrantRequest.from_json(data)


class GrantSubmission(BaseModel):
    """Body of POST /grants."""

    model_config = {"extra": "forbid"}

    request: GrantRequestIn
    signature: str = Field(pattern=SIGNATURE_PATTERN, description="EIP-712 signature of `request`")


class GrantPublic(BaseModel):
    """A grant (request) as the gateway knows it, with its on-chain liveness when issued."""

    grant_id: str
    state: str = Field(description="pending | approved | issued | denied | failed | revoked")
    liveness: str | None = Field(default=None, description="live | unknown | revoked | not_yet_valid | expired")
    used: int = 0
    max_count: int
    reason: str = ""
    tx: str | None = None
    request: dict[str, Any]

    @field_validator("liveness")
    @classmethod
    def _lower(cls, v: str | None) -> str | None:
        return v.lower() if v else v


class SessionRequest(BaseModel):
    """Body of POST /session (optional)."""

    model_config = {"extra": "forbid"}

    ttl_s: int | None = Field(default=None, ge=1, lt=2**31, description="wanted lifetime (capped by the gateway)")


class SessionPublic(BaseModel):
    """A bearer session token: send ``Authorization: Bearer <token>`` instead of signing each call."""

    token: str
    token_type: str = "Bearer"
    address: str
    expires_at: int = Field(description="unix seconds")
    expires_in: int = Field(description="seconds from now")


class HealthPublic(BaseModel):
    """Gateway health: fails closed when the chain view is not fresh."""

    status: str
    chain_id: int
    block: int | None
    view_age_s: float | None
    provider: str
    ledger: dict[str, Any] = Field(default_factory=dict, description="the ledger check (see gateway.reconcile): "
                                   "state ok; 503 ledger_unreconciled while the database lacks anchored receipts")
    refused: dict[str, int] = Field(
        default_factory=dict,
        description="refusals this worker process left no record of: `unauthenticated` (never identified a "
                    "participant: no access record, no receipt, no transaction) and `rate_limited` (429)")
