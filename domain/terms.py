"""The usage-terms rules, in one place: time window, count, price, purpose, jurisdiction, liveness.

Pure functions over plain values and :mod:`domain.types` values. A refused term is an answer, not
an exception: functions return a :class:`Liveness` verdict or a :class:`Refusal` (which
:class:`Term` failed and a message written for people), and each caller maps that to its own error
(the gateway to one HTTP status, the audit index to a state name). The gateway judges grant
issuance (:func:`issuance_refusal`) and every data access (:func:`window_verdict`,
:func:`liveness_reason`, :func:`purpose_refusal`, :func:`jurisdiction_refusal`) with these rules,
the audit index a grant's state at a point in time (:func:`grant_state`).

Windows are half-open, ``[not_before, not_after)``: a window has started at ``not_before`` and is
over at ``not_after`` (UsageGrants' own boundary). In a *policy*, 0 means unbounded, for the window
bounds and for the count cap; a grant's own window and count are always explicit.

Time windows are judged on two clocks, fail closed (:func:`window_verdict`): the head block's time
and the gateway's own clock. An idle chain mines no block, so its head time stands still while a
window runs out; a chain may also run ahead of the gateway. A window counts as started only when
both clocks say so and as over as soon as either does.

Whether a purpose or a jurisdiction is allowed is UsageGrants' judgement where the chain is asked
(``isPurposeAllowed``, ``isJurisdictionAllowed``); :func:`purpose_allowed` and
:func:`jurisdiction_allowed` are the same rule over a policy's lists (empty = any) for judges that
hold the lists.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Protocol

from domain.types import GrantRequest, Liveness, PriceModel, window_empty  # window_empty: a Policy's rule

__all__ = [
    "EscrowState",
    "LOCKED_MODELS",
    "PolicyTerms",
    "Refusal",
    "Term",
    "Window",
    "count_allowed",
    "count_left",
    "declared_purpose_refusal",
    "escrow_lock",
    "escrow_refusal",
    "grant_state",
    "human_time",
    "issuance_refusal",
    "jurisdiction_allowed",
    "jurisdiction_refusal",
    "liveness_reason",
    "purpose_allowed",
    "purpose_refusal",
    "subscription_periods",
    "window_empty",
    "window_verdict",
    "window_within",
]


class Window(Protocol):
    """Anything with a window (a grant request, a grant, a policy)."""

    @property
    def not_before(self) -> int: ...

    @property
    def not_after(self) -> int: ...


class PolicyTerms(Window, Protocol):
    """The policy terms a grant request is judged against (``domain.types.Policy`` and the chain's flags)."""

    @property
    def max_count(self) -> int: ...

    @property
    def price_per_access(self) -> int: ...

    @property
    def epoch(self) -> int: ...


class Term(Enum):
    """Which term refused."""

    EPOCH = "policy_epoch"  # the request agrees to another policy epoch than the asset's current one
    DEADLINE = "deadline"  # the signed request's deadline has passed
    WINDOW = "window"
    COUNT = "count"
    PRICE = "price"
    PURPOSE = "purpose"
    JURISDICTION = "jurisdiction"
    ESCROW = "escrow"  # a prepaid or subscription grant without the money locked for it


@dataclass(frozen=True)
class Refusal:
    """Why the terms refuse: the term and a message for people."""

    term: Term
    message: str


def human_time(ts: int) -> str:
    """A unix time as people read it: ``2025-01-31 12:00:00 UTC``."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# ---- window ---------------------------------------------------------------------------------------


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


def window_within(inner: Window, outer: Window) -> bool:
    """``inner`` (a grant's window) lies within ``outer`` (a policy's; ``not_after`` 0 = unbounded)."""
    return inner.not_before >= outer.not_before and (not outer.not_after or inner.not_after <= outer.not_after)


# ---- count ----------------------------------------------------------------------------------------


def count_allowed(count: int, cap: int) -> bool:
    """A grant's ``count`` is at least 1 and at most the policy's ``cap`` (0 = any)."""
    return count >= 1 and (not cap or count <= cap)


def count_left(used: int, max_count: int) -> int:
    """Accesses a grant of ``max_count`` has left after ``used`` (0 once exhausted)."""
    return max(max_count - used, 0)


def count_exceeded(used: int, max_count: int) -> bool:
    """More than ``max_count`` accesses were used (what an auditor must never find)."""
    return used > max_count


# ---- purpose and jurisdiction -------------------------------------------------------------------------


def purpose_allowed(purposes: Collection[str], purpose: str) -> bool:
    """``purpose`` is one of a policy's ``purposes`` (none listed: any purpose)."""
    return not purposes or purpose in purposes


def jurisdiction_allowed(jurisdictions: Collection[str], region: str) -> bool:
    """``region`` (ISO 3166-1 alpha-2, any case) is one of a policy's ``jurisdictions`` (none listed: any)."""
    return not jurisdictions or region.upper() in {j.upper() for j in jurisdictions}


def purpose_refusal(asset_id: str, purpose: str, allowed: bool, *, issued: bool = False) -> Refusal | None:
    """None when the asset's policy ``allowed`` ``purpose``; else why not (``issued``: for a grant it once allowed)."""
    if allowed:
        return None
    if issued:
        return Refusal(Term.PURPOSE, f"purpose {purpose!r} is no longer allowed for asset {asset_id}")
    return Refusal(Term.PURPOSE, f"purpose {purpose!r} is not allowed for asset {asset_id}")


def declared_purpose_refusal(grant_id: str | None, granted: str, declared: str | None) -> Refusal | None:
    """None when the purpose declared for an access (None: not declared) is the grant's purpose."""
    if declared is None or declared == granted:
        return None
    return Refusal(Term.PURPOSE, f"grant {grant_id} is for purpose {granted!r}, not {declared!r}")


def jurisdiction_refusal(asset_id: str, region: str, allowed: bool, *, access: bool = False) -> Refusal | None:
    """None when the asset's policy ``allowed`` consumers in ``region``; else why not (``access``: to the data)."""
    if allowed:
        return None
    verb = "access" if access else "use"
    return Refusal(Term.JURISDICTION, f"consumers in {region!r} may not {verb} asset {asset_id}")


# ---- issuance ---------------------------------------------------------------------------------------


def issuance_refusal(request: GrantRequest, policy: PolicyTerms, chain_time: int, now: int) -> Refusal | None:
    """Why a signed request may not become a grant under ``policy`` at both clocks, or None.

    Judged in this order: the policy epoch the consumer agreed to (the asset's current one: a request
    signed for an older offer is refused first, since fetching the offer again fixes every other
    term), the request's deadline, its window (non-empty, not over on either clock,
    within the policy's), its count (1 .. the policy's cap) and its price (the policy's). Purpose
    and jurisdiction are asked of the chain (:func:`purpose_refusal`, :func:`jurisdiction_refusal`).
    """
    r = request
    latest = max(chain_time, now)
    if r.policy_epoch != policy.epoch:
        return Refusal(Term.EPOCH, f"the asset's policy changed (epoch {policy.epoch} is current, the request "
                                   f"agrees to epoch {r.policy_epoch}): fetch the offer again and sign a new request")
    if r.deadline < latest:
        return Refusal(Term.DEADLINE, f"grant request deadline {human_time(r.deadline)} has passed "
                                      f"(now {human_time(latest)}): sign a new request")
    if window_empty(r.not_before, r.not_after):
        return Refusal(Term.WINDOW, f"window {human_time(r.not_before)} .. {human_time(r.not_after)} is empty")
    if window_verdict(r.not_before, r.not_after, chain_time, now) == Liveness.EXPIRED:
        return Refusal(Term.WINDOW, f"window ends at {human_time(r.not_after)}, which has passed "
                                    f"(now {human_time(latest)})")
    if not window_within(r, policy):
        return Refusal(Term.WINDOW, f"window must lie within [{policy.not_before}, {policy.not_after or 'unbounded'}]")
    if not count_allowed(r.max_count, policy.max_count):
        return Refusal(Term.COUNT, f"max_count must be 1..{policy.max_count or 'any'}")
    if r.price_per_access != policy.price_per_access:
        return Refusal(Term.PRICE, f"price_per_access must be {policy.price_per_access}")
    return None


# ---- escrow -------------------------------------------------------------------------------------------


class EscrowState(Protocol):
    """A paid grant's Settlement account as the escrow rule reads it (``chain.contracts.EscrowAccount``)."""

    @property
    def released(self) -> bool: ...

    @property
    def locked(self) -> int: ...

    @property
    def units(self) -> int: ...


LOCKED_MODELS = (PriceModel.PREPAID, PriceModel.SUBSCRIPTION)
"""Price models whose grant locks its price in escrow when it is issued (pay-after-use and free lock nothing)."""


def subscription_periods(window: Window, period: int, until: int | None = None) -> int:
    """Periods of ``period`` seconds of a subscription grant's window started by ``until`` (default: its end;
    capped by it): every started period is charged (UsageGrants locks them all when it issues the grant,
    Settlement charges them as they start)."""
    end = window.not_after if until is None else min(until, window.not_after)
    if period <= 0 or end <= window.not_before:
        return 0
    return (end - window.not_before + period - 1) // period


def escrow_lock(request: GrantRequest, model: PriceModel, period: int) -> int:
    """What UsageGrants locks from the consumer's free deposit when it issues ``request``: prepaid
    ``max_count x price``, subscription ``every started period of the window x price``, else 0."""
    if model is PriceModel.PREPAID:
        return request.max_count * request.price_per_access
    if model is PriceModel.SUBSCRIPTION:
        return subscription_periods(request, period) * request.price_per_access
    return 0


def escrow_refusal(grant_id: str, model: PriceModel, request: GrantRequest, period: int,
                   account: EscrowState | None) -> Refusal | None:
    """None when a grant under ``model`` may be used as far as its escrow goes; else why not.

    Prepaid and subscription grants are served only while their Settlement account exists, is not
    released and still holds a lock, unless everything the lock was for has been charged (a
    subscription's last period, a prepaid grant's every use). Other models have no lock to check.
    """
    if model not in LOCKED_MODELS:
        return None
    if account is None:
        return Refusal(Term.ESCROW, f"grant {grant_id} is {model.label} but has no escrow account in Settlement: "
                                    "it is not served")
    if account.released:
        return Refusal(Term.ESCROW, f"the escrow of grant {grant_id} was released to the consumer: the grant is "
                                    "no longer paid for (request a new grant)")
    if account.locked == 0:
        charged = request.max_count if model is PriceModel.PREPAID else subscription_periods(request, period)
        if not charged or account.units < charged:  # nothing known to be charged: fail closed
            return Refusal(Term.ESCROW, f"the escrow of grant {grant_id} is empty (refunded or claimed): the rest "
                                        "of the grant is not paid for (request a new grant)")
    return None


# ---- liveness ---------------------------------------------------------------------------------------


def grant_state(window: Window, at: int, revoked_at: int | None = None) -> Liveness:
    """A grant's liveness at time ``at`` (as UsageGrants.liveness): REVOKED from ``revoked_at`` on, else its window."""
    if revoked_at is not None and revoked_at <= at:
        return Liveness.REVOKED
    return window_verdict(window.not_before, window.not_after, at)


_LIVENESS_WORDS = {
    Liveness.LIVE: "is live",
    Liveness.UNKNOWN: "is not on-chain",
    Liveness.REVOKED: "was revoked",
    Liveness.NOT_YET_VALID: "is not valid yet",
    Liveness.EXPIRED: "has expired",
}


def liveness_reason(grant_id: str, verdict: Liveness, window: Window | None = None) -> str:
    """``grant <id> has expired: its window ended at ...`` (the window's bound when it is the reason)."""
    note = ""
    if window is not None and verdict == Liveness.EXPIRED:
        note = f": its window ended at {human_time(window.not_after)}"
    elif window is not None and verdict == Liveness.NOT_YET_VALID:
        note = f": its window starts at {human_time(window.not_before)}"
    return f"grant {grant_id} {_LIVENESS_WORDS[verdict]}{note}"
