"""Access checks as small composable policy objects (``AllOf``), each raising one precise error.

An :class:`AccessContext` holds what one decision is about (caller, asset, grant request, block);
checks read the chain through the block-keyed :class:`gateway.chainview.ChainView`, so a decision
reflects the head block observed for this request. The count is not a check: it is consumed
atomically in the database after every check passed (see :mod:`gateway.access`).

Time windows are judged on two clocks, fail closed (:func:`window_verdict`): the head block's time
and the gateway's own clock. An idle chain mines no block, so its head time stands still while a
window runs out; a chain may also run ahead of the gateway. A window counts as started only when
both clocks say so and as over as soon as either does. Data access (:func:`grant_liveness`) and
grant issuance (``gateway.service``) use this one rule.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

from chain.eip712 import grant_id as _eip712_grant_id
from domain.types import GrantRequest, Liveness, Participant
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
    return _eip712_grant_id(chain_id, usage_grants, request)


def window_verdict(not_before: int, not_after: int, *clocks: float) -> Liveness:
    """Where the window ``[not_before, not_after)`` stands on every clock given, fail closed.

    EXPIRED as soon as one clock is at or past ``not_after`` (UsageGrants' own boundary),
    NOT_YET_VALID while one clock is before ``not_before``, LIVE only when every clock is inside.
    Pass the head block's time and the gateway's clock (either may be ahead of the other).
    """
    if not clocks:
        raise ValueError("window_verdict needs at least one clock")
    if max(clocks) >= not_after:
        return Liveness.EXPIRED
    if min(clocks) < not_before:
        return Liveness.NOT_YET_VALID
    return Liveness.LIVE


def grant_liveness(view: ChainView, grant_id: str, request: GrantRequest | None, block: int,
                   now: float | None = None) -> Liveness:
    """A grant's liveness at ``block``, fail closed on both clocks.

    UsageGrants.liveness at ``block`` judges existence, revocation and the window at the block's
    time; the window is then judged at the gateway's clock ``now`` too (an idle chain's head time
    stands still), so a grant is LIVE only when the chain and the gateway both say so.
    """
    verdict = view.liveness(grant_id, block)
    if verdict != Liveness.LIVE or request is None:
        return verdict
    return window_verdict(request.not_before, request.not_after, time.time() if now is None else now)


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
    now: float = field(default_factory=time.time)  # the gateway's clock for this decision


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
    """The grant is LIVE at the observed head block and at the gateway's clock (:func:`grant_liveness`)."""
    assert ctx.grant_id is not None
    verdict = grant_liveness(ctx.view, ctx.grant_id, ctx.request, ctx.block, ctx.now)
    if verdict != Liveness.LIVE:
        cls, what = _LIVENESS_ERRORS[verdict]
        raise cls(f"grant {ctx.grant_id} {what}{_window_note(ctx, verdict)} (block {ctx.block})", block=ctx.block)


def _window_note(ctx: AccessContext, verdict: Liveness) -> str:
    req = ctx.request
    if req is None or verdict not in (Liveness.EXPIRED, Liveness.NOT_YET_VALID):
        return ""
    bound = req.not_after if verdict == Liveness.EXPIRED else req.not_before
    word = "ended" if verdict == Liveness.EXPIRED else "starts"
    return f": its window {word} at {human_time(bound)}"


def human_time(ts: int) -> str:
    """A unix time as people read it: ``2025-01-31 12:00:00 UTC``."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


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
