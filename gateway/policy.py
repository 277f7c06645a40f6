"""Access checks as small composable policy objects (``AllOf``), each raising one precise error.

An :class:`AccessContext` holds what one decision is about (caller, asset, grant request, block);
checks read the chain through the block-keyed :class:`chain.view.ChainView`, so a decision
reflects the head block observed for this request. The count is not a check: it is consumed
atomically in the database after every check passed (see :mod:`gateway.access`).

The rules themselves (window on both clocks, purpose, jurisdiction, liveness reasons) are
:mod:`domain.terms`, shared with grant issuance (``gateway.service``) and the audit index; the checks
here gather what a rule needs from the chain and raise the gateway error of its verdict.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chain.contracts import GrantsClient, SettlementClient
from chain.eip712 import grant_id as _eip712_grant_id
from domain import terms
from domain.types import GrantRequest, Liveness, Participant, PriceModel
from chain.view import ChainView
from gateway.errors import (
    AssetInactive,
    ComputeOnly,
    EscrowMissing,
    GrantAssetMismatch,
    GrantExpired,
    GrantMissing,
    GrantNotYetValid,
    GrantNotYours,
    GrantRevoked,
    JurisdictionNotAllowed,
    NotComputeOnly,
    NotFound,
    PurposeNotAllowed,
)


def grant_id_of(chain_id: int, usage_grants: str, request: GrantRequest) -> str:
    """The grant id UsageGrants assigns to ``request`` (its EIP-712 digest), computed locally."""
    return _eip712_grant_id(chain_id, usage_grants, request)


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
    return terms.window_verdict(request.not_before, request.not_after, time.time() if now is None else now)


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
    settlement: SettlementClient | None = None  # escrow reads (None: a client over the view's chain)


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
    Liveness.UNKNOWN: GrantMissing,
    Liveness.REVOKED: GrantRevoked,
    Liveness.NOT_YET_VALID: GrantNotYetValid,
    Liveness.EXPIRED: GrantExpired,
}


def grant_live(ctx: AccessContext) -> None:
    """The grant is LIVE at the observed head block and at the gateway's clock (:func:`grant_liveness`)."""
    assert ctx.grant_id is not None
    verdict = grant_liveness(ctx.view, ctx.grant_id, ctx.request, ctx.block, ctx.now)
    if verdict != Liveness.LIVE:
        reason = terms.liveness_reason(ctx.grant_id, verdict, ctx.request)
        raise _LIVENESS_ERRORS[verdict](f"{reason} (block {ctx.block})", block=ctx.block)


def grant_pricing(ctx: AccessContext) -> tuple[PriceModel, int]:
    """(price model, period) of the policy epoch the grant was issued under, at the context's block: the
    current policy's when the epoch is current (one cached read), else UsageGrants.pricingOf."""
    assert ctx.request is not None
    epoch = ctx.request.policy_epoch
    current = ctx.view.policy(ctx.asset_id, ctx.block)
    if current is not None and current.epoch == epoch:
        return PriceModel(current.price_model), int(current.period)
    grants: GrantsClient = ctx.view.grants
    model, _free, period, _price = ctx.view.cached(
        ("pricing", ctx.asset_id, epoch), ctx.block, lambda: grants.pricing_of(ctx.asset_id, epoch, ctx.block))
    return model, period


def escrow_funded(ctx: AccessContext) -> None:
    """A prepaid or subscription grant still has its Settlement account, not released and holding a lock
    (:func:`domain.terms.escrow_refusal`), read at the context's block; free and pay-after-use grants pass.
    A node that does not answer refuses (ChainUnavailable), as every other check."""
    assert ctx.request is not None and ctx.grant_id is not None
    model, period = grant_pricing(ctx)
    if model not in terms.LOCKED_MODELS:
        return
    settlement = ctx.settlement or SettlementClient(ctx.view.chain)
    grant_id = ctx.grant_id
    account = ctx.view.cached(("escrow", grant_id), ctx.block, lambda: settlement.account_of(grant_id, ctx.block))
    refusal = terms.escrow_refusal(grant_id, model, ctx.request, account.period if account else period, account)
    if refusal is not None:
        raise EscrowMissing(f"{refusal.message} (block {ctx.block})", block=ctx.block)


def purpose_allowed(ctx: AccessContext) -> None:
    """The declared purpose is the grant's, and the asset's current policy still allows it."""
    assert ctx.request is not None
    granted = ctx.request.purpose
    refusal = terms.declared_purpose_refusal(ctx.grant_id, granted, ctx.purpose)
    if refusal is None:  # the chain is asked only about the grant's own purpose
        allowed = ctx.view.purpose_allowed(ctx.asset_id, granted, ctx.block)
        refusal = terms.purpose_refusal(ctx.asset_id, granted, allowed, issued=True)
    if refusal is not None:
        raise PurposeNotAllowed(refusal.message)


def jurisdiction_allowed(ctx: AccessContext) -> None:
    """The caller's jurisdiction is allowed by the asset's current policy."""
    region = ctx.caller.jurisdiction
    allowed = ctx.view.jurisdiction_allowed(ctx.asset_id, region, ctx.block)
    refusal = terms.jurisdiction_refusal(ctx.asset_id, region, allowed, access=True)
    if refusal is not None:
        raise JurisdictionNotAllowed(refusal.message)


def not_compute_only(ctx: AccessContext) -> None:
    """The asset's policy allows raw access (not compute-only)."""
    policy = ctx.view.policy(ctx.asset_id, ctx.block)
    if policy is None:
        raise NotFound(f"asset {ctx.asset_id} has no usage policy")
    if policy.compute_only:
        raise ComputeOnly(f"asset {ctx.asset_id} is compute-only: raw bytes are never served")


def compute_only_required(ctx: AccessContext) -> None:
    """A compute job is for an asset whose policy is compute-only (a raw-access grant runs no job)."""
    policy = ctx.view.policy(ctx.asset_id, ctx.block)
    if policy is None:
        raise NotFound(f"asset {ctx.asset_id} has no usage policy")
    if not policy.compute_only:
        raise NotComputeOnly(f"asset {ctx.asset_id} is not compute-only: its grants are for downloads "
                             "(GET /data/<id>), not for compute jobs")


FETCH_POLICY = AllOf([asset_served, not_compute_only, grant_bound, grant_live, escrow_funded, purpose_allowed,
                      jurisdiction_allowed])
"""The checks every data access must pass (membership is checked by authentication)."""

COMPUTE_POLICY = AllOf([asset_served, compute_only_required, grant_bound, grant_live, escrow_funded, purpose_allowed,
                        jurisdiction_allowed])
"""The checks every compute job must pass: a fetch's, with compute-only required instead of refused."""
