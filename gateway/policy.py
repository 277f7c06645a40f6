"""Access checks as small composable policy objects (``AllOf``), each raising one precise error.

An :class:`AccessContext` holds what one decision is about (caller, asset, grant request, block);
checks read the chain through the block-keyed :class:`gateway.chainview.ChainView`, so a decision
reflects the head block observed for this request. The count is not a check: it is consumed
atomically in the database after every check passed (see :mod:`gateway.access`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from chain.eip712 import grant_typed_data
from chain.types import GrantRequest, Liveness, Participant
from eth_account.messages import encode_typed_data, _hash_eip191_message
from gateway.chainview import ChainView
from gateway.errors import (
    AssetInactive,
    ComputeOnly,
    GrantAssetMismatch,
    GrantExpired,
    GrantMissing,
    GrantNotYetValid,
    GrantNotYours,
    GrantRevoked,
    JurisdictionNotAllowed,
    NotFound,
    PurposeNotAllowed,
)


def grant_id_of(chain_id: int, usage_grants: str, request: GrantRequest) -> str:
    """The grant id UsageGrants assigns to ``request`` (its EIP-712 digest), computed locally."""
    signable = encode_typed_data(full_message=grant_typed_data(chain_id, usage_grants, request))
    return "0x" + _hash_eip191_message(signable).hex()


@dataclass(frozen=True)
class AccessContext:
    """Everything one access decision is about."""

    view: ChainView
    block: int
    caller: Participant
    asset_id: str
    provider: str  # this gateway's provider address
    grant_id: str | None = None
    request: GrantRequest | None = None
    purpose: str | None = None  # the purpose the caller declares for this access (None: the grant's)


class Check(Protocol):
    """One access rule: returns None or raises an ApiError subclass."""

    def __call__(self, ctx: AccessContext) -> None: ...


class AllOf:
    """Every check must pass, in order; the first failure's error is raised."""

    def __init__(self, checks: Sequence[Check]) -> None:
        self.checks = tuple(checks)

    def __call__(self, ctx: AccessContext) -> None:
        for check in self.checks:
            check(ctx)


class AnyOf:
    """At least one check must pass; otherwise the first failure's error is raised."""

    def __init__(self, checks: Sequence[Check]) -> None:
        self.checks = tuple(checks)

    def __call__(self, ctx: AccessContext) -> None:
        first: Exception | None = None
        for check in self.checks:
            try:
                check(ctx)
                return
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first


def asset_served(ctx: AccessContext) -> None:
    """The asset exists on-chain, is this gateway's provider's, and is active."""
    state = ctx.view.asset(ctx.asset_id, ctx.block)
    if state is None or state.provider.lower() != ctx.provider.lower():
        raise NotFound(f"asset {ctx.asset_id} is not served by this gateway")
    if not state.active:
        raise AssetInactive(f"asset {ctx.asset_id} is deactivated")


def grant_bound(ctx: AccessContext) -> None:
    """The grant's signed request is the caller's and is for this asset (the id commits to both)."""
    req = ctx.request
    if req is None or ctx.grant_id is None:
        raise GrantMissing(f"no grant for asset {ctx.asset_id}: POST /grants first")
    if req.consumer.lower() != ctx.caller.address.lower():
        raise GrantNotYours(f"grant {ctx.grant_id} belongs to another consumer")
    if req.asset_id.lower() != ctx.asset_id.lower():
        raise GrantAssetMismatch(f"grant {ctx.grant_id} is for asset {req.asset_id}")


_LIVENESS_ERRORS = {
    Liveness.UNKNOWN: (GrantMissing, "is not on-chain"),
    Liveness.REVOKED: (GrantRevoked, "was revoked"),
    Liveness.NOT_YET_VALID: (GrantNotYetValid, "is not valid yet"),
    Liveness.EXPIRED: (GrantExpired, "has expired"),
}


def grant_live(ctx: AccessContext) -> None:
    """UsageGrants.liveness(grant) is LIVE at the observed head block."""
    assert ctx.grant_id is not None
    verdict = ctx.view.liveness(ctx.grant_id, ctx.block)
    if verdict != Liveness.LIVE:
        cls, what = _LIVENESS_ERRORS[verdict]
        raise cls(f"grant {ctx.grant_id} {what} (block {ctx.block})", block=ctx.block)


def purpose_allowed(ctx: AccessContext) -> None:
    """The declared purpose is the grant's, and the asset's current policy still allows it."""
    assert ctx.request is not None
    granted = ctx.request.purpose
    if ctx.purpose is not None and ctx.purpose != granted:
        raise PurposeNotAllowed(f"grant {ctx.grant_id} is for purpose {granted!r}, not {ctx.purpose!r}")
    if not ctx.view.purpose_allowed(ctx.asset_id, granted, ctx.block):
        raise PurposeNotAllowed(f"purpose {granted!r} is no longer allowed for asset {ctx.asset_id}")


def jurisdiction_allowed(ctx: AccessContext) -> None:
    """The caller's jurisdiction is allowed by the asset's current policy."""
    region = ctx.caller.jurisdiction
    if not ctx.view.jurisdiction_allowed(ctx.asset_id, region, ctx.block):
        raise JurisdictionNotAllowed(f"consumers in {region!r} may not access asset {ctx.asset_id}")


def not_compute_only(ctx: AccessContext) -> None:
    """The asset's policy allows raw access (not compute-only)."""
    policy = ctx.view.policy(ctx.asset_id, ctx.block)
    if policy is None:
        raise NotFound(f"asset {ctx.asset_id} has no usage policy")
    if policy.compute_only:
        raise ComputeOnly(f"asset {ctx.asset_id} is compute-only: raw bytes are never served")


FETCH_POLICY = AllOf([asset_served, not_compute_only, grant_bound, grant_live, purpose_allowed, jurisdiction_allowed])
"""The checks every data access must pass (membership is checked by authentication)."""
