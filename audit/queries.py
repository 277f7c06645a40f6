"""Histories rebuilt from the index alone: an asset's, a participant's, a grant's; a participant's money
statement (:func:`statement`) and the disputes (:func:`disputes`, :func:`dispute`); the ComputePolicies history
replayed (:func:`compute_policy`: which algorithm was approved on an asset, and its per-grant privacy budget, at
any moment) and the compute jobs of the supplied receipts (:func:`job_entries`).

Results are frozen dataclasses with ``to_json()``; they hold plain values only, so two indexes
built from the same chain give equal results (compared in the rebuild test).

Participants are named by their DID, ``did:pkh:eip155:<chainId>:<address>`` (the chain id the index
was built for): in every summary, and in the JSON beside each address field (``provider_did``,
``consumer_did``, ``by_did``, ``owner_did``, ``anchorer_did``, ``owners_did``, and ``did`` beside a
participant's ``address``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from audit.db import (
    AcceptanceRow,
    AnchorRow,
    AssetDeactivationRow,
    AssetRow,
    AssetVersionRow,
    BalanceRow,
    BlockRow,
    ComputeApprovalRow,
    DeferralRow,
    DisputeRow,
    EscrowLockRow,
    EscrowReleaseRow,
    EvidenceRow,
    GrantRow,
    IndexDb,
    LineageRow,
    Meta,
    ParticipantEventRow,
    PolicyRow,
    PricingRow,
    PrivacyBudgetRow,
    RefundRow,
    RevenueRow,
    RevocationRow,
    RoyaltyRow,
    RulingRow,
    SettlementRow,
)
from audit.errors import InputInvalid, NotIndexed
from audit.receipts import Evidence, ReceiptEntry, anchored_allowed
from domain.ids import is_address
from domain.terms import grant_state, human_time
from domain.types import GrantRequest, PriceModel, Role, did_pkh

ANCHOR_KINDS = {1: "receipts", 2: "asset hashes"}
ZERO32 = "0x" + "00" * 32
DISPUTE_SUBJECTS = ("grant", "settlement")
DISPUTE_RULINGS = ("refused", "upheld", "refund")
_PARTICIPANT_KEYS = ("provider", "consumer", "by", "owner", "anchorer", "opened_by", "party", "ruled_by",
                     "participant")


def price_model_label(model: int) -> str:
    """``free``, ``prepaid``, ``pay-after-use``, ``subscription`` (``model <n>`` for a value this TDS does not know)."""
    try:
        return PriceModel(model).label
    except ValueError:
        return f"model {model}"


@dataclass(frozen=True)
class At:
    """Where a fact sits on the chain."""

    block: int
    tx: str
    log_index: int
    timestamp: int

    @classmethod
    def of(cls, row: Any) -> "At":
        """From any indexed row."""
        return cls(row.block_number, row.tx_hash, row.log_index, row.timestamp)


@dataclass(frozen=True)
class TimelineEntry:
    """One dated fact in a history."""

    at: At
    kind: str
    summary: str
    ref: str


@dataclass(frozen=True)
class PolicyEntry:
    """One PolicySet (an epoch of an asset's policy)."""

    epoch: int
    not_before: int
    not_after: int
    max_count: int
    price_per_access: int
    compute_only: bool
    auto_approve: bool
    purposes: tuple[str, ...]
    jurisdictions: tuple[str, ...]
    at: At
    price_model: str = "free"  # from the epoch's PricingSet (free when there is none)
    free_uses: int = 0
    period: int = 0


@dataclass(frozen=True)
class Revocation:
    """A GrantRevoked."""

    by: str
    at: At


@dataclass(frozen=True)
class Payment:
    """A RevenuePaid: ``owner`` earned ``amount`` as an owner of ``asset_id`` (``depth`` > 0: a royalty from an
    asset derived from it ``depth`` lineage steps below)."""

    grant_id: str
    owner: str
    amount: int
    at: At
    asset_id: str = ""
    depth: int = 0

    @property
    def royalty(self) -> bool:
        """Paid up the lineage, not as a share of the settled asset."""
        return self.depth > 0


@dataclass(frozen=True)
class Settlement:
    """A UsageSettled (one grant's period ``[period_start, period_end)``) with its revenue payments (the
    RevenuePaid events of the same transaction and grant)."""

    grant_id: str
    asset_id: str
    consumer: str
    period_start: int
    period_end: int
    units: int
    free_units: int
    amount: int
    receipts_root: str
    at: At
    payments: tuple[Payment, ...]

    @property
    def per_use(self) -> bool:
        """Units are uses evidenced by the receipts root (a Subscription's periods have root zero)."""
        return self.receipts_root != ZERO32


@dataclass(frozen=True)
class Acceptance:
    """A GrantAccepted: the provider's EIP-712 signature over GrantAcceptance(grantId, provider)."""

    provider: str
    policy_epoch: int
    signature: str
    at: At


@dataclass(frozen=True)
class Release:
    """An EscrowReleased: ``amount`` of the lock went back to the consumer's deposit, triggered by ``by``."""

    amount: int
    by: str
    at: At


@dataclass(frozen=True)
class Escrow:
    """A paid grant's Settlement account: its EscrowLocked and what was released of it since."""

    price_model: str
    price: int
    locked: int
    at: At
    releases: tuple[Release, ...] = ()

    @property
    def released(self) -> int:
        """Token units returned to the consumer so far."""
        return sum(r.amount for r in self.releases)


@dataclass(frozen=True)
class Refund:
    """A Refunded: a ruling returned ``from_lock + from_provider`` to the consumer's deposit."""

    grant_id: str
    consumer: str
    from_lock: int
    from_provider: int
    at: At

    @property
    def amount(self) -> int:
        """The whole refund."""
        return self.from_lock + self.from_provider


@dataclass(frozen=True)
class EvidenceEntry:
    """One piece of evidence in a dispute: its hash (EvidenceSubmitted) and URI (ERC-1497 Evidence)."""

    party: str
    evidence_hash: str
    evidence_uri: str | None
    at: At


@dataclass(frozen=True)
class DisputeEntry:
    """A dispute on a grant: who opened it, on what, its evidence, and its ruling once ruled."""

    dispute_id: int
    grant_id: str
    asset_id: str | None  # None when the grant is not in the index
    consumer: str | None
    provider: str | None
    subject: str  # grant | settlement
    opened_by: str
    period_end: int  # subject settlement: the disputed period's end, else 0
    evidence_hash: str
    evidence: tuple[EvidenceEntry, ...]
    status: str  # open | ruled
    ruling: str | None  # refused | upheld | refund, once ruled
    refund: int
    ruled_by: str | None
    opened: At
    ruled: At | None
    chain_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return _json(self)


def _term(name: str) -> Any:
    """A property reading the signed request's ``name`` (``GrantEntry.consumer`` is ``.terms.consumer``)."""
    return property(lambda self: getattr(self.terms, name), doc=f"The signed request's ``{name}``.")


@dataclass(frozen=True)
class GrantEntry:
    """A grant: the consumer's signed request, where it was issued, its revocation and its use.

    The request's fields read as the entry's own (``g.consumer``, ``g.not_after``) and stand inline
    in its JSON view, as before the request was one :class:`domain.types.GrantRequest`.
    """

    grant_id: str
    terms: GrantRequest = field(metadata={"inline": True})
    signature: str
    issued: At
    revoked: Revocation | None
    settled_count: int  # units settled (uses; periods for a Subscription)
    anchored_accesses: int | None  # None: no receipts were supplied
    acceptance: Acceptance | None = None
    escrow: Escrow | None = None  # None: a free grant (no Settlement account)
    settled_amount: int = 0
    refunds: tuple[Refund, ...] = ()
    deferred: tuple[int, ...] = ()  # ends of periods whose settlement waited for a dispute (SettlementDeferred)

    asset_id = _term("asset_id")
    consumer = _term("consumer")
    purpose = _term("purpose")
    not_before = _term("not_before")
    not_after = _term("not_after")
    max_count = _term("max_count")
    price_per_access = _term("price_per_access")
    nonce = _term("nonce")
    deadline = _term("deadline")
    policy_epoch = _term("policy_epoch")

    def request(self) -> dict[str, Any]:
        """The signed EIP-712 request (``domain.types.GrantRequest`` JSON view)."""
        return self.terms.to_json()

    def state_at(self, timestamp: int) -> str:
        """live, revoked, not_yet_valid or expired at ``timestamp`` (:func:`domain.terms.grant_state`)."""
        revoked_at = self.revoked.at.timestamp if self.revoked is not None else None
        return grant_state(self, timestamp, revoked_at).name.lower()


@dataclass(frozen=True)
class AssetVersion:
    """One asset in a version chain."""

    asset_id: str
    version: int
    at: At


@dataclass(frozen=True)
class AssetRecord:
    """An asset's registration, as its AssetRegistered event (and later events) tell it."""

    asset_id: str
    provider: str
    size: int
    metadata_hash: str
    metadata_uri: str
    owners: tuple[str, ...]
    shares_bps: tuple[int, ...]
    version: int
    previous_version: str | None
    registered: At
    deactivated: At | None

    @property
    def active(self) -> bool:
        """Not deactivated."""
        return self.deactivated is None


@dataclass(frozen=True)
class LineageEdge:
    """``child`` was derived from ``parent``."""

    child: str
    parent: str


@dataclass(frozen=True)
class AlgorithmApproval:
    """An AlgorithmApproved (``approved``) or AlgorithmRejected (the approval withdrawn) of an algorithm on an asset."""

    asset_id: str
    algorithm_id: str
    approved: bool
    by: str
    at: At


@dataclass(frozen=True)
class BudgetSetting:
    """A PrivacyBudgetSet: from here on, each grant on the asset may spend ``epsilon_micros`` (millionths)."""

    asset_id: str
    epsilon_micros: int
    by: str
    at: At


@dataclass(frozen=True)
class JobEntry:
    """One compute job as its receipt and its ``tds-job/1`` evidence tell it.

    ``submitted`` is the receipt's time (when the gateway checked the job's grant, algorithm and budget);
    ``evidence_matches`` whether the evidence hashes to the receipt's content hash (when it does not, nothing in
    it can be trusted); ``approved`` whether the algorithm was approved on the asset at ``submitted`` by the
    replayed ComputePolicies events (None when the evidence does not match). ``decision`` deny: the job never
    ran (its use was given back)."""

    job_id: str
    receipt_id: str
    grant_id: str
    asset_id: str
    consumer: str
    algorithm_id: str
    state: str
    epsilon_micros: int
    exit_status: int | None
    cpu_ms: int
    bytes_out: int
    output_sha256: str
    decision: str
    submitted: int
    started: int
    finished: int
    evidence_matches: bool
    approved: bool | None = None


@dataclass(frozen=True)
class AssetHistory:
    """Everything the chain says about one asset (and the compute jobs of the supplied receipts)."""

    asset: AssetRecord
    versions: tuple[AssetVersion, ...]
    parents: tuple[str, ...]
    children: tuple[str, ...]
    ancestors: tuple[LineageEdge, ...]
    descendants: tuple[LineageEdge, ...]
    policies: tuple[PolicyEntry, ...]
    grants: tuple[GrantEntry, ...]
    settlements: tuple[Settlement, ...]
    timeline: tuple[TimelineEntry, ...]
    chain_id: int | None = None  # the index's chain: participants' DIDs
    disputes: tuple[DisputeEntry, ...] = ()
    approvals: tuple[AlgorithmApproval, ...] = ()  # algorithms approved on (or withdrawn from) this asset
    budgets: tuple[BudgetSetting, ...] = ()  # its per-grant privacy budgets
    jobs: tuple[JobEntry, ...] = ()  # compute jobs on it, from receipts carrying their evidence

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return _json(self)


@dataclass(frozen=True)
class ParticipantEvent:
    """Onboarded, suspended or reinstated."""

    kind: str
    by: str
    at: At


@dataclass(frozen=True)
class ParticipantHistory:
    """Everything the chain says about one account."""

    address: str
    roles: tuple[str, ...]
    jurisdiction: str | None
    credential_hash: str | None
    status: str  # none, active, suspended
    events: tuple[ParticipantEvent, ...]
    assets_provided: tuple[str, ...]
    grants_as_consumer: tuple[GrantEntry, ...]
    revocations_made: tuple[str, ...]
    anchors: tuple[str, ...]
    settlements_paid: tuple[Settlement, ...]
    revenue_received: tuple[Payment, ...]
    revenue_total: int
    timeline: tuple[TimelineEntry, ...]
    chain_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return _json(self)


@dataclass(frozen=True)
class GrantHistory:
    """One grant from request to settlement."""

    grant: GrantEntry
    state_at_head: str
    head_timestamp: int
    settlements: tuple[Settlement, ...]
    timeline: tuple[TimelineEntry, ...]
    chain_id: int | None = None
    disputes: tuple[DisputeEntry, ...] = ()
    jobs: tuple[JobEntry, ...] = ()  # compute jobs under the grant, from receipts carrying their evidence

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return _json(self)


def did(chain_id: int | None, address: str) -> str:
    """``did:pkh:eip155:<chainId>:<address>``; the bare address when the chain is unknown."""
    return did_pkh(chain_id, address) if chain_id is not None and address else address


def index_chain_id(s: Session) -> int | None:
    """The chain id the index was built for (None before the first indexing run)."""
    row = s.get(Meta, "chain_id")
    return int(row.value) if row is not None and row.value.isdigit() else None


def _plain(value: Any) -> Any:
    """``dataclasses.asdict``, except that a field marked ``inline`` puts its fields in its parent's place."""
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in fields(value):
            item = _plain(getattr(value, f.name))
            if f.metadata.get("inline"):
                out.update(item)
            else:
                out[f.name] = item
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _json(obj: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(_plain(obj), default=str))
    chain_id = getattr(obj, "chain_id", None)
    return _with_dids(data, chain_id) if chain_id is not None else data


def _with_dids(value: Any, chain_id: int) -> Any:
    """Beside every participant address field, its DID (``consumer`` -> ``consumer_did``)."""
    if isinstance(value, list):
        return [_with_dids(v, chain_id) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, v in value.items():
        out[key] = _with_dids(v, chain_id)
        if key in _PARTICIPANT_KEYS and isinstance(v, str) and is_address(v):
            out[f"{key}_did"] = did(chain_id, v)
        elif key == "owners" and isinstance(v, list):
            out["owners_did"] = [did(chain_id, o) for o in v]
        elif key == "address" and isinstance(v, str) and is_address(v):
            out["did"] = did(chain_id, v)
    return out


# ---- asset ---------------------------------------------------------------


def asset_history(s: Session, asset_id: str, receipts: Sequence[ReceiptEntry] | None = None) -> AssetHistory:
    """An asset's registration, versions, lineage (transitive), policies with their pricing, grants (with their
    acceptance, escrow and refunds), use, settlements, the disputes on its grants, its compute policy (algorithm
    approvals, privacy budgets) and the compute jobs on it among ``receipts`` (those carrying job evidence)."""
    asset_id = asset_id.lower()
    chain_id = index_chain_id(s)
    record = asset_record(s, asset_id)
    grants = _grants(s, list(s.exec(select(GrantRow).where(GrantRow.asset_id == asset_id))), receipts)
    settlements = _settlements(s, list(s.exec(select(SettlementRow).where(SettlementRow.asset_id == asset_id))))
    policies = policy_entries(s, asset_id)
    versions = _version_chain(s, record)
    parents = tuple(r.parent_id for r in s.exec(select(LineageRow).where(LineageRow.child_id == asset_id)))
    children = tuple(r.child_id for r in s.exec(select(LineageRow).where(LineageRow.parent_id == asset_id)))
    found = _disputes(s, [g.grant_id for g in grants], chain_id)
    compute = compute_policy(s, [record.asset_id])
    timeline = [*_asset_timeline(record, versions, policies, grants, settlements, chain_id, found),
                *_compute_timeline(compute, chain_id)]
    return AssetHistory(
        record, versions, parents, children, _lineage(s, asset_id, up=True), _lineage(s, asset_id, up=False),
        policies, grants, settlements, tuple(sorted(timeline, key=lambda e: (_order(e.at), e.kind))), chain_id,
        found, compute.approvals, compute.budgets, job_entries(receipts or (), compute, asset_id=record.asset_id),
    )


def policy_entries(s: Session, asset_id: str) -> tuple[PolicyEntry, ...]:
    """Every epoch of an asset's policy, oldest first, each with the money terms of its PricingSet."""
    pricing = {p.epoch: p for p in sorted(s.exec(select(PricingRow).where(PricingRow.asset_id == asset_id)),
                                          key=lambda p: (p.block_number, p.log_index))}
    rows = sorted(s.exec(select(PolicyRow).where(PolicyRow.asset_id == asset_id)),
                  key=lambda p: (p.block_number, p.log_index))
    return tuple(_policy(p, pricing.get(p.epoch)) for p in rows)


def asset_record(s: Session, asset_id: str) -> AssetRecord:
    """One asset's record; NotIndexed if its registration is not in the index."""
    row = s.get(AssetRow, asset_id.lower())
    if row is None:
        raise NotIndexed(f"asset {asset_id} is not in the audit index (run `tds audit index`)")
    version = s.get(AssetVersionRow, row.asset_id)
    gone = s.get(AssetDeactivationRow, row.asset_id)
    return AssetRecord(
        row.asset_id, row.provider, row.size, row.metadata_hash, row.metadata_uri,
        tuple(json.loads(row.owners)), tuple(json.loads(row.shares_bps)),
        version.version if version else 1, version.previous_id if version else None,
        At.of(row), At.of(gone) if gone else None,
    )


def _version_chain(s: Session, record: AssetRecord) -> tuple[AssetVersion, ...]:
    chain = [AssetVersion(record.asset_id, record.version, record.registered)]
    seen = {record.asset_id}
    previous = record.previous_version
    while previous and previous not in seen:
        seen.add(previous)
        row = s.get(AssetRow, previous)
        if row is None:
            break
        v = s.get(AssetVersionRow, previous)
        chain.insert(0, AssetVersion(previous, v.version if v else 1, At.of(row)))
        previous = v.previous_id if v else None
    current = record.asset_id
    while True:
        nxt = s.exec(select(AssetVersionRow).where(AssetVersionRow.previous_id == current)).first()
        if nxt is None or nxt.asset_id in seen:
            return tuple(chain)
        seen.add(nxt.asset_id)
        chain.append(AssetVersion(nxt.asset_id, nxt.version, At.of(nxt)))
        current = nxt.asset_id


def _lineage(s: Session, asset_id: str, up: bool) -> tuple[LineageEdge, ...]:
    """Transitive lineage edges, breadth first (ancestors when ``up``, else descendants)."""
    edges: list[LineageEdge] = []
    seen = {asset_id}
    frontier = [asset_id]
    key, other = (LineageRow.child_id, "parent_id") if up else (LineageRow.parent_id, "child_id")
    while frontier:
        rows = list(s.exec(select(LineageRow).where(col(key).in_(frontier))))
        frontier = []
        for r in sorted(rows, key=lambda r: (r.block_number, r.log_index, getattr(r, other))):
            edges.append(LineageEdge(r.child_id, r.parent_id))
            nxt = getattr(r, other)
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return tuple(edges)


def _asset_timeline(record: AssetRecord, versions: tuple[AssetVersion, ...], policies: tuple[PolicyEntry, ...],
                    grants: tuple[GrantEntry, ...], settlements: tuple[Settlement, ...],
                    chain_id: int | None, found: Sequence[DisputeEntry] = ()) -> tuple[TimelineEntry, ...]:
    t = [TimelineEntry(record.registered, "registered",
                       f"registered by {did(chain_id, record.provider)}, {record.size:,} bytes", record.asset_id)]
    t += [TimelineEntry(v.at, "version", f"version {v.version}: {v.asset_id}", v.asset_id)
          for v in versions if v.asset_id != record.asset_id]
    t += [TimelineEntry(p.at, "policy", f"policy epoch {p.epoch}: max {p.max_count or 'unlimited'}, "
                        f"price {p.price_per_access} ({p.price_model})", str(p.epoch)) for p in policies]
    t += _grant_timeline(grants, chain_id)
    t += _settlement_timeline(settlements)
    t += _dispute_timeline(found, chain_id)
    if record.deactivated:
        t.append(TimelineEntry(record.deactivated, "deactivated", "deactivated by its provider", record.asset_id))
    return tuple(sorted(t, key=lambda e: (_order(e.at), e.kind)))


def _grant_timeline(grants: Sequence[GrantEntry], chain_id: int | None) -> list[TimelineEntry]:
    t = [TimelineEntry(g.issued, "grant_issued",
                       f"grant to {did(chain_id, g.consumer)} for purpose {json.dumps(g.purpose, ensure_ascii=False)}"
                       f", max {g.max_count or 'unlimited'}", g.grant_id) for g in grants]
    t += [TimelineEntry(g.revoked.at, "grant_revoked", f"grant revoked by {did(chain_id, g.revoked.by)}", g.grant_id)
          for g in grants if g.revoked]
    t += [TimelineEntry(g.acceptance.at, "grant_accepted", f"accepted by its provider "
                        f"{did(chain_id, g.acceptance.provider)} under policy epoch {g.acceptance.policy_epoch}",
                        g.grant_id) for g in grants if g.acceptance]
    t += [TimelineEntry(g.escrow.at, "escrow_locked", f"{g.escrow.locked} locked in escrow ({g.escrow.price_model}, "
                        f"price {g.escrow.price})", g.grant_id) for g in grants if g.escrow]
    t += [TimelineEntry(r.at, "escrow_released", f"{r.amount} of the escrow released to the consumer by "
                        f"{did(chain_id, r.by)}", g.grant_id) for g in grants if g.escrow for r in g.escrow.releases]
    t += [TimelineEntry(r.at, "refunded", f"{r.amount} refunded to {did(chain_id, r.consumer)} ({r.from_lock} from "
                        f"the lock, {r.from_provider} from the provider's earnings)", r.grant_id)
          for g in grants for r in g.refunds]
    return t


def _settlement_timeline(settlements: Sequence[Settlement]) -> list[TimelineEntry]:
    return [TimelineEntry(x.at, "settled", f"{x.units} {'uses' if x.per_use else 'periods'} "
                          f"({x.free_units} free) settled for {x.amount}, period {_day(x.period_start)} to "
                          f"{_day(x.period_end)}", x.grant_id) for x in settlements]


def _dispute_timeline(found: Sequence[DisputeEntry], chain_id: int | None) -> list[TimelineEntry]:
    t = [TimelineEntry(d.opened, "dispute_opened", f"dispute {d.dispute_id} on the {d.subject} opened by "
                       f"{did(chain_id, d.opened_by)}", d.grant_id) for d in found]
    t += [TimelineEntry(d.ruled, "dispute_ruled", f"dispute {d.dispute_id} ruled: {d.ruling}"
                        + (f", {d.refund} refunded" if d.refund else ""), d.grant_id) for d in found if d.ruled]
    return t


def _day(ts: int) -> str:
    """A UTC time for summaries (domain.terms.human_time: the one date format of TDS)."""
    return human_time(ts)


def _order(at: At) -> tuple[int, int]:
    return (at.block, at.log_index)


def _policy(p: PolicyRow, pricing: PricingRow | None = None) -> PolicyEntry:
    model = price_model_label(pricing.price_model) if pricing else "free"
    return PolicyEntry(p.epoch, p.not_before, p.not_after, p.max_count, int(p.price_per_access), p.compute_only,
                       p.auto_approve, tuple(json.loads(p.purposes)), tuple(json.loads(p.jurisdictions)), At.of(p),
                       model, pricing.free_uses if pricing else 0, pricing.period if pricing else 0)


# ---- grants --------------------------------------------------------------


def _grants(s: Session, rows: list[GrantRow], receipts: Sequence[ReceiptEntry] | None) -> tuple[GrantEntry, ...]:
    if not rows:
        return ()
    ids = [r.grant_id for r in rows]
    revoked = {r.grant_id: r for r in s.exec(select(RevocationRow).where(col(RevocationRow.grant_id).in_(ids)))}
    accepted = {r.grant_id: r for r in s.exec(select(AcceptanceRow).where(col(AcceptanceRow.grant_id).in_(ids)))}
    locks = {r.grant_id: r for r in s.exec(select(EscrowLockRow).where(col(EscrowLockRow.grant_id).in_(ids)))}
    releases: dict[str, list[Release]] = {}
    for rl in sorted(s.exec(select(EscrowReleaseRow).where(col(EscrowReleaseRow.grant_id).in_(ids))),
                     key=lambda x: (x.block_number, x.log_index)):
        releases.setdefault(rl.grant_id, []).append(Release(int(rl.amount), rl.by, At.of(rl)))
    refunds: dict[str, list[Refund]] = {}
    for rf in sorted(s.exec(select(RefundRow).where(col(RefundRow.grant_id).in_(ids))),
                     key=lambda x: (x.block_number, x.log_index)):
        refunds.setdefault(rf.grant_id, []).append(_refund(rf))
    deferred: dict[str, list[int]] = {}
    for d in sorted(s.exec(select(DeferralRow).where(col(DeferralRow.grant_id).in_(ids))),
                    key=lambda x: (x.block_number, x.log_index)):
        deferred.setdefault(d.grant_id, []).append(d.period_end)
    units: Counter[str] = Counter()
    amounts: Counter[str] = Counter()
    for x in s.exec(select(SettlementRow).where(col(SettlementRow.grant_id).in_(ids))):
        units[x.grant_id] += x.units
        amounts[x.grant_id] += int(x.amount)
    uses = _anchored_uses(s, receipts) if receipts is not None else None
    out = []
    for r in sorted(rows, key=lambda r: (r.block_number, r.log_index)):
        rv = revoked.get(r.grant_id)
        ac = accepted.get(r.grant_id)
        terms = GrantRequest(r.asset_id, r.consumer, r.purpose, r.not_before, r.not_after, r.max_count,
                             int(r.price_per_access), int(r.nonce), r.deadline, int(r.policy_epoch))
        out.append(GrantEntry(
            r.grant_id, terms, r.signature, At.of(r),
            Revocation(rv.by, At.of(rv)) if rv else None, units[r.grant_id],
            None if uses is None else uses.get(r.grant_id, 0),
            Acceptance(ac.provider, ac.policy_epoch, ac.signature, At.of(ac)) if ac else None,
            _escrow(locks.get(r.grant_id), releases.get(r.grant_id, ())), amounts[r.grant_id],
            tuple(refunds.get(r.grant_id, ())), tuple(deferred.get(r.grant_id, ())),
        ))
    return tuple(out)


def _escrow(lock: EscrowLockRow | None, releases: Sequence[Release]) -> Escrow | None:
    if lock is None:
        return None
    return Escrow(price_model_label(lock.price_model), int(lock.price), int(lock.locked), At.of(lock),
                  tuple(releases))


def _refund(r: RefundRow) -> Refund:
    return Refund(r.grant_id, r.consumer, int(r.from_lock), int(r.from_provider), At.of(r))


def anchors_by_root(s: Session, kind: int | None = None) -> dict[str, list[AnchorRow]]:
    """Every anchored root (optionally of one kind) -> its anchors, one per provider that anchored it, oldest first."""
    query = select(AnchorRow) if kind is None else select(AnchorRow).where(AnchorRow.kind == kind)
    out: dict[str, list[AnchorRow]] = {}
    for a in sorted(s.exec(query), key=lambda a: (a.block_number, a.log_index)):
        out.setdefault(a.root, []).append(a)
    return out


def receipt_evidence(s: Session, roots: Collection[str] | None = None) -> Evidence:
    """Which receipts the indexed anchors vouch for (all kind-1 anchors, or those of ``roots`` only)."""
    query = select(AnchorRow.provider, AnchorRow.root).where(AnchorRow.kind == 1)
    if roots is not None:
        query = query.where(col(AnchorRow.root).in_(list(roots)))
    return Evidence.of(s.exec(query).all(), dict(s.exec(select(AssetRow.asset_id, AssetRow.provider)).all()))


def _anchored_uses(s: Session, receipts: Sequence[ReceiptEntry]) -> Counter[str]:
    roots = {e.proof.root for e in receipts if e.proof is not None}
    if not roots:
        return Counter()
    return Counter(e.receipt.grant_id for e in anchored_allowed(receipts, receipt_evidence(s, roots)))


def _settlements(s: Session, rows: list[SettlementRow]) -> tuple[Settlement, ...]:
    if not rows:
        return ()
    txs = {r.tx_hash for r in rows}
    pays = list(s.exec(select(RevenueRow).where(col(RevenueRow.tx_hash).in_(txs))))
    out = []
    for r in sorted(rows, key=lambda r: (r.block_number, r.log_index)):
        mine = tuple(_payment(p) for p in sorted(pays, key=lambda p: p.log_index)
                     if p.tx_hash == r.tx_hash and p.grant_id == r.grant_id)
        out.append(_settlement(r, mine))
    return tuple(out)


def _settlement(r: SettlementRow, payments: tuple[Payment, ...] = ()) -> Settlement:
    return Settlement(r.grant_id, r.asset_id, r.consumer, r.period_start, r.period_end, r.units, r.free_units,
                      int(r.amount), r.receipts_root, At.of(r), payments)


def _payment(p: RevenueRow) -> Payment:
    return Payment(p.grant_id, p.owner, int(p.amount), At.of(p), p.asset_id, p.depth)


def grant_history(s: Session, grant_id: str, receipts: Sequence[ReceiptEntry] | None = None) -> GrantHistory:
    """A grant's request, signatures (consumer's and provider's acceptance), issuance, escrow, revocation,
    settlements, refunds, disputes and anchored use."""
    row = s.get(GrantRow, grant_id.lower())
    if row is None:
        raise NotIndexed(f"grant {grant_id} is not in the audit index (run `tds audit index`)")
    (grant,) = _grants(s, [row], receipts)
    settlements = _settlements(s, list(s.exec(select(SettlementRow).where(SettlementRow.grant_id == row.grant_id))))
    head = head_timestamp(s)
    chain_id = index_chain_id(s)
    found = _disputes(s, [row.grant_id], chain_id)
    timeline = _grant_timeline([grant], chain_id) + _settlement_timeline(settlements) + _dispute_timeline(found, chain_id)
    jobs = job_entries(receipts or (), compute_policy(s, [row.asset_id]), grant_id=row.grant_id)
    return GrantHistory(grant, grant.state_at(head), head, settlements,
                        tuple(sorted(timeline, key=lambda e: (_order(e.at), e.kind))), chain_id, found, jobs)


def head_timestamp(s: Session) -> int:
    """Timestamp of the highest indexed block (0 when empty)."""
    top = s.exec(select(BlockRow).order_by(col(BlockRow.number).desc())).first()
    return top.timestamp if top else 0


# ---- participant ---------------------------------------------------------


def participant_history(s: Session, address: str) -> ParticipantHistory:
    """An account's membership events, assets, grants, revocations, anchors, payments and revenue."""
    addr = _checksum(address)
    events = list(s.exec(select(ParticipantEventRow).where(ParticipantEventRow.address == addr)))
    provided = [a.asset_id for a in s.exec(select(AssetRow).where(AssetRow.provider == addr))]
    grants = _grants(s, list(s.exec(select(GrantRow).where(GrantRow.consumer == addr))), None)
    revocations = [r.grant_id for r in s.exec(select(RevocationRow).where(RevocationRow.by == addr))]
    anchors = list(s.exec(select(AnchorRow).where((AnchorRow.anchorer == addr) | (AnchorRow.provider == addr))))
    paid = _settlements(s, list(s.exec(select(SettlementRow).where(SettlementRow.consumer == addr))))
    revenue = tuple(_payment(p) for p in s.exec(select(RevenueRow).where(RevenueRow.owner == addr)))
    if not (events or provided or grants or anchors or revenue):
        raise NotIndexed(f"participant {addr} does not appear in the audit index")
    events.sort(key=lambda e: (e.block_number, e.log_index))
    onboard = next((e for e in events if e.kind == "onboarded"), None)
    status = {"onboarded": "active", "reinstated": "active", "suspended": "suspended"}[events[-1].kind] \
        if events else "none"
    membership = tuple(ParticipantEvent(e.kind, e.by, At.of(e)) for e in events)
    chain_id = index_chain_id(s)
    timeline = [TimelineEntry(m.at, m.kind, f"{m.kind} by {did(chain_id, m.by)}", addr) for m in membership]
    timeline += [TimelineEntry(At.of(a), "anchored", f"anchored a root of {a.leaf_count:,} "
                               f"{ANCHOR_KINDS.get(a.kind, f'kind {a.kind}')}{_anchor_parties(a, addr, chain_id)}",
                               a.root) for a in anchors]
    timeline += _grant_timeline(grants, chain_id)
    return ParticipantHistory(
        addr, _roles(onboard.roles if onboard else 0), onboard.jurisdiction if onboard else None,
        onboard.credential_hash if onboard else None, status, membership, tuple(provided), grants,
        tuple(revocations), tuple(a.root for a in anchors), paid, revenue, sum(p.amount for p in revenue),
        tuple(sorted(timeline, key=lambda e: _order(e.at))), chain_id,
    )


def _anchor_parties(a: AnchorRow, addr: str, chain_id: int | None) -> str:
    """Who else took part in an anchor of ``addr``'s timeline: its notary key, or the provider it anchored for."""
    if a.anchorer == a.provider:
        return ""
    if a.provider == addr:
        return f" (sent by its notary key {did(chain_id, a.anchorer)})"
    return f" for {did(chain_id, a.provider)} (as its notary key)"


def _roles(bits: int | None) -> tuple[str, ...]:
    return tuple(Role(bits or 0).names())


def _checksum(address: str) -> str:
    from notary.abi import checksum_address

    text = address.strip()
    if not is_address(text):
        raise InputInvalid(f"{address!r} is not an address (0x + 40 hex)")
    return checksum_address(text)


# ---- compute ---------------------------------------------------------------

def epsilon_text(micros: int) -> str:
    """An epsilon in millionths for people: ``400000`` -> ``0.4``."""
    text = f"{Decimal(int(micros)).scaleb(-6):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class ComputePolicy:
    """The ComputePolicies history of some assets, replayed: approvals and budget settings in chain order.

    Receipt times and block times are both whole seconds: a job and a policy change in the same second are not
    ordered, so the job is judged by the most lenient state in force at some moment of its second (the state
    before that second, or the one any change within it set)."""

    approvals: tuple[AlgorithmApproval, ...]
    budgets: tuple[BudgetSetting, ...]

    def approvals_of(self, asset_id: str, algorithm_id: str) -> tuple[AlgorithmApproval, ...]:
        """The approvals and withdrawals of one algorithm on one asset, in chain order."""
        a, g = asset_id.lower(), algorithm_id.lower()
        return tuple(x for x in self.approvals if x.asset_id == a and x.algorithm_id == g)

    def approved_at(self, asset_id: str, algorithm_id: str, timestamp: int) -> bool:
        """Whether the algorithm was approved on the asset at some moment of second ``timestamp``."""
        events = self.approvals_of(asset_id, algorithm_id)
        before = [x for x in events if x.at.timestamp < timestamp]
        if before and before[-1].approved:
            return True
        return any(x.approved for x in events if x.at.timestamp == timestamp)

    def last_change(self, asset_id: str, algorithm_id: str, timestamp: int) -> AlgorithmApproval | None:
        """The last approval or withdrawal of the algorithm on the asset at or before ``timestamp``."""
        events = [x for x in self.approvals_of(asset_id, algorithm_id) if x.at.timestamp <= timestamp]
        return events[-1] if events else None

    def budget_at(self, asset_id: str, timestamp: int) -> tuple[int, BudgetSetting | None]:
        """The asset's per-grant budget (millionths) at second ``timestamp`` (the highest in force at some moment
        of it) and the setting it comes from; (0, None) when none was set yet."""
        events = [x for x in self.budgets if x.asset_id == asset_id.lower() and x.at.timestamp <= timestamp]
        before = [x for x in events if x.at.timestamp < timestamp]
        options: list[tuple[int, BudgetSetting | None]] = [(before[-1].epsilon_micros, before[-1]) if before
                                                           else (0, None)]
        options += [(x.epsilon_micros, x) for x in events if x.at.timestamp == timestamp]
        return max(options, key=lambda o: o[0])


def compute_policy(s: Session, asset_ids: Collection[str] | None = None) -> ComputePolicy:
    """The indexed AlgorithmApproved / AlgorithmRejected / PrivacyBudgetSet events (of ``asset_ids``, or all)."""
    approvals = select(ComputeApprovalRow)
    budgets = select(PrivacyBudgetRow)
    if asset_ids is not None:
        ids = [a.lower() for a in asset_ids]
        approvals = approvals.where(col(ComputeApprovalRow.asset_id).in_(ids))
        budgets = budgets.where(col(PrivacyBudgetRow.asset_id).in_(ids))
    return ComputePolicy(
        tuple(AlgorithmApproval(r.asset_id, r.algorithm_id, r.approved, r.by, At.of(r))
              for r in sorted(s.exec(approvals), key=lambda r: (r.block_number, r.log_index))),
        tuple(BudgetSetting(r.asset_id, int(r.epsilon_micros), r.by, At.of(r))
              for r in sorted(s.exec(budgets), key=lambda r: (r.block_number, r.log_index))))


def job_order(entry: ReceiptEntry) -> tuple[int, int, str]:
    """Jobs in the order the gateway took them: receipt time, then the access number of ``rcpt-<ledger>-<n>``."""
    m = re.search(r"-(\d+)$", entry.receipt.receipt_id)
    return (entry.receipt.timestamp, int(m.group(1)) if m else 0, entry.receipt.receipt_id)


def job_receipts(receipts: Iterable[ReceiptEntry]) -> list[ReceiptEntry]:
    """The receipts carrying job evidence (the first of each receipt id), in :func:`job_order`."""
    seen: dict[str, ReceiptEntry] = {}
    for e in receipts:
        if e.job is not None:
            seen.setdefault(e.receipt.receipt_id, e)
    return sorted(seen.values(), key=job_order)


def job_entries(receipts: Iterable[ReceiptEntry], policy: ComputePolicy | None = None, *,
                asset_id: str | None = None, grant_id: str | None = None) -> tuple[JobEntry, ...]:
    """The compute jobs among ``receipts`` (of one asset or grant when given), in the order they were taken,
    each judged against ``policy`` (its algorithm approved at the time) when given."""
    out = []
    for e in job_receipts(receipts):
        r, j = e.receipt, e.job
        assert j is not None
        if (asset_id is not None and r.asset_id != asset_id.lower()) or \
                (grant_id is not None and r.grant_id != grant_id.lower()):
            continue
        matches = j.digest() == r.content_hash
        approved = policy.approved_at(r.asset_id, j.algorithm_id, r.timestamp) if policy and matches else None
        out.append(JobEntry(j.job_id, r.receipt_id, r.grant_id, r.asset_id, r.consumer, j.algorithm_id, j.state,
                            j.epsilon_micros, j.exit_status, j.cpu_ms, j.bytes_out, j.output_sha256, r.decision,
                            r.timestamp, j.started, j.finished, matches, approved))
    return tuple(out)


def _compute_timeline(policy: ComputePolicy, chain_id: int | None) -> list[TimelineEntry]:
    t = [TimelineEntry(a.at, "algorithm_approved" if a.approved else "algorithm_rejected",
                       (f"algorithm {a.algorithm_id} approved to run on this asset by {did(chain_id, a.by)}"
                        if a.approved else
                        f"approval of algorithm {a.algorithm_id} withdrawn by {did(chain_id, a.by)}"), a.algorithm_id)
         for a in policy.approvals]
    t += [TimelineEntry(b.at, "privacy_budget", "per-grant privacy budget set to epsilon "
                        f"{epsilon_text(b.epsilon_micros)}{'' if b.epsilon_micros else ' (no private release)'} by "
                        f"{did(chain_id, b.by)}", b.asset_id) for b in policy.budgets]
    return t


# ---- disputes ------------------------------------------------------------


def disputes(s: Session, grant_id: str | None = None, status: str | None = None) -> tuple[DisputeEntry, ...]:
    """Every dispute (of one grant when ``grant_id`` is given; ``status`` open or ruled), by dispute id."""
    query = select(DisputeRow)
    if grant_id is not None:
        query = query.where(DisputeRow.grant_id == grant_id.lower())
    found = _dispute_entries(s, list(s.exec(query)), index_chain_id(s))
    return tuple(d for d in found if status is None or d.status == status)


def dispute(s: Session, dispute_id: int) -> DisputeEntry:
    """One dispute; NotIndexed when its DisputeOpened is not in the index."""
    row = s.get(DisputeRow, dispute_id)
    if row is None:
        raise NotIndexed(f"dispute {dispute_id} is not in the audit index (run `tds audit index`)")
    return _dispute_entries(s, [row], index_chain_id(s))[0]


def _disputes(s: Session, grant_ids: Sequence[str], chain_id: int | None) -> tuple[DisputeEntry, ...]:
    if not grant_ids:
        return ()
    return _dispute_entries(s, list(s.exec(select(DisputeRow).where(col(DisputeRow.grant_id).in_(list(grant_ids))))),
                            chain_id)


def _dispute_entries(s: Session, rows: list[DisputeRow], chain_id: int | None) -> tuple[DisputeEntry, ...]:
    if not rows:
        return ()
    ids = [r.dispute_id for r in rows]
    rulings = {r.dispute_id: r for r in s.exec(select(RulingRow).where(col(RulingRow.dispute_id).in_(ids)))}
    pieces: dict[int, list[EvidenceRow]] = {}
    for e in sorted(s.exec(select(EvidenceRow).where(col(EvidenceRow.dispute_id).in_(ids))),
                    key=lambda e: (e.block_number, e.log_index)):
        pieces.setdefault(e.dispute_id, []).append(e)
    grants = {g.grant_id: g for g in s.exec(select(GrantRow).where(col(GrantRow.grant_id).in_([r.grant_id
                                                                                                 for r in rows])))}
    providers = dict(s.exec(select(AssetRow.asset_id, AssetRow.provider).where(
        col(AssetRow.asset_id).in_([g.asset_id for g in grants.values()]))).all())
    out = []
    for r in sorted(rows, key=lambda r: r.dispute_id):
        g = grants.get(r.grant_id)
        ruled = rulings.get(r.dispute_id)
        subject = DISPUTE_SUBJECTS[r.subject] if 0 <= r.subject < len(DISPUTE_SUBJECTS) else f"subject {r.subject}"
        ruling = None
        if ruled is not None:
            ruling = DISPUTE_RULINGS[ruled.ruling] if 0 <= ruled.ruling < len(DISPUTE_RULINGS) else str(ruled.ruling)
        out.append(DisputeEntry(
            r.dispute_id, r.grant_id, g.asset_id if g else None, g.consumer if g else None,
            providers.get(g.asset_id) if g else None, subject, r.opened_by, r.period_end, r.evidence_hash,
            _evidence_entries(pieces.get(r.dispute_id, [])), "ruled" if ruled else "open", ruling,
            int(ruled.refund) if ruled else 0, ruled.by if ruled else None, At.of(r), At.of(ruled) if ruled else None,
            chain_id,
        ))
    return tuple(out)


def _evidence_entries(rows: list[EvidenceRow]) -> tuple[EvidenceEntry, ...]:
    """Each EvidenceSubmitted with the URI of the ERC-1497 Evidence the same party logged just before it in the
    same transaction."""
    out = []
    for i, e in enumerate(rows):
        if e.evidence_hash is None:
            continue
        uri = next((u.evidence_uri for u in reversed(rows[:i]) if u.evidence_hash is None
                    and u.tx_hash == e.tx_hash and u.party == e.party and u.log_index < e.log_index), None)
        out.append(EvidenceEntry(e.party, e.evidence_hash, uri, At.of(e)))
    return tuple(out)


def open_dispute_spans(s: Session) -> dict[str, list[tuple[DisputeEntry, tuple[int, int], tuple[int, int] | None]]]:
    """Grant id -> its disputes with the (block, log index) each was opened at and ruled at (None: still open)."""
    out: dict[str, list[tuple[DisputeEntry, tuple[int, int], tuple[int, int] | None]]] = {}
    for d in disputes(s):
        out.setdefault(d.grant_id, []).append((d, _order(d.opened), _order(d.ruled) if d.ruled else None))
    return out


# ---- money ---------------------------------------------------------------


def royalty_at(s: Session, block: int, log_index: int) -> int | None:
    """The royalty (basis points) in force at log ``(block, log_index)``: the last RoyaltySet before it (None when
    the index has none)."""
    rows = s.exec(select(RoyaltyRow).where(
        (RoyaltyRow.block_number < block) | ((RoyaltyRow.block_number == block) & (RoyaltyRow.log_index < log_index))
    ).order_by(col(RoyaltyRow.block_number).desc(), col(RoyaltyRow.log_index).desc())).first()
    return rows.royalty_bps if rows else None


@dataclass(frozen=True)
class StatementItem:
    """One money movement behind a statement line."""

    kind: str  # paid (as consumer) | share (as owner of the settled asset) | royalty (as owner of an ancestor)
    grant_id: str
    settled_asset: str  # the asset whose use was settled (a royalty's source)
    amount: int
    units: int  # the settlement's units (its free units in free_units)
    free_units: int
    depth: int  # 0, or lineage steps from the settled asset for a royalty
    receipts_root: str
    at: At


@dataclass(frozen=True)
class StatementLine:
    """One asset and settled period: what the participant paid for it and earned from it."""

    asset_id: str
    period_start: int
    period_end: int
    paid: int
    units: int  # units the participant paid for (as consumer)
    free_units: int
    earned_shares: int
    earned_royalties: int
    receipts_roots: tuple[str, ...]  # the anchored roots behind the line (zero root: Subscription)
    items: tuple[StatementItem, ...]


@dataclass(frozen=True)
class EscrowMove:
    """Money into, within or out of Settlement for the participant."""

    kind: str  # deposit | withdraw_deposit | withdraw_earnings | lock | release | refund | refund_charged
    amount: int
    grant_id: str | None
    at: At


@dataclass(frozen=True)
class Statement:
    """A participant's money over ``[period_start, period_end)`` (None: unbounded), from the index alone."""

    participant: str
    period_start: int | None
    period_end: int | None
    lines: tuple[StatementLine, ...]
    escrow: tuple[EscrowMove, ...]
    totals: dict[str, int]
    chain_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON view: the fields, plus ``paid`` and ``earned`` (flat lists of the lines' two sides)."""
        data = _json(self)
        data["paid"] = [_side(line, line.paid, units=line.units, free_units=line.free_units)
                        for line in self.lines if any(i.kind == "paid" for i in line.items)]
        data["earned"] = [_side(line, line.earned_shares + line.earned_royalties, shares=line.earned_shares,
                                royalties=line.earned_royalties,
                                units=sum(i.units for i in line.items if i.kind != "paid"))
                          for line in self.lines if any(i.kind != "paid" for i in line.items)]
        return data


def _side(line: StatementLine, amount: int, **extra: Any) -> dict[str, Any]:
    return {"asset_id": line.asset_id, "period_start": line.period_start, "period_end": line.period_end,
            "amount": amount, **extra, "receipts_root": ", ".join(line.receipts_roots),
            "receipts_roots": list(line.receipts_roots)}


STATEMENT_TOTALS = ("paid", "earned_shares", "earned_royalties", "deposit", "withdraw_deposit", "withdraw_earnings",
                    "lock", "release", "refund", "refund_charged")


def statement(s: Session | IndexDb, participant: str, period_start: int | None = None,
              period_end: int | None = None) -> Statement:
    """A participant's statement: per asset and settled period, what it paid (as consumer) and earned (as owner:
    shares of the settled asset and royalties from assets derived from its own, separately), with the receipts
    root behind each line; and its escrow moves (deposits, withdrawals, locks, releases, refunds).

    ``participant`` is an address (any case). Settled periods count when they start in
    ``[period_start, period_end)``; escrow moves when their block's time is in it (None: unbounded).

    Returns a :class:`Statement` (``to_json()`` gives the same as plain JSON, with DIDs beside addresses)::

        participant       checksummed address
        period_start/end  the bounds asked for (unix seconds or None)
        lines             StatementLine per (asset_id, period_start, period_end), ordered by period then asset:
                          paid, units, free_units (as consumer), earned_shares, earned_royalties (as owner),
                          receipts_roots (tuple of 0x roots), items (StatementItem: kind paid|share|royalty,
                          grant_id, settled_asset, amount, units, free_units, depth, receipts_root, at)
        escrow            EscrowMove (kind deposit|withdraw_deposit|withdraw_earnings|lock|release|refund|
                          refund_charged, amount, grant_id or None, at), in chain order
        totals            {kind: token units} for paid, earned_shares, earned_royalties and every escrow kind
                          (refund: refunded to the participant as consumer; refund_charged: taken from its
                          earnings as provider)

    ``to_json()`` adds two flat views of the lines: ``paid`` ({asset_id, period_start, period_end, amount, units,
    free_units, receipts_root (the roots joined by ", "), receipts_roots}) and ``earned`` (the same with amount =
    shares + royalties, shares, royalties, units of the settlements paid from).

    Amounts are ints in the settlement token's base units; ``at`` is an :class:`At` (block, tx, log_index,
    timestamp). ``s`` is a session on the index or the :class:`audit.db.IndexDb` itself. Raises InputInvalid for
    a malformed address.
    """
    if isinstance(s, IndexDb):
        with s.session() as session:
            return statement(session, participant, period_start, period_end)
    addr = _checksum(participant)

    def period_in(start: int) -> bool:
        return (period_start is None or start >= period_start) and (period_end is None or start < period_end)

    def time_in(at: At) -> bool:
        return (period_start is None or at.timestamp >= period_start) and (period_end is None
                                                                             or at.timestamp < period_end)

    paid_rows = [r for r in s.exec(select(SettlementRow).where(SettlementRow.consumer == addr))
                 if period_in(r.period_start)]
    pay_rows = list(s.exec(select(RevenueRow).where(RevenueRow.owner == addr)))
    settled = {(r.tx_hash, r.grant_id): r for r in paid_rows}
    missing = {(p.tx_hash, p.grant_id) for p in pay_rows} - set(settled)
    if missing:
        txs = {tx for tx, _ in missing}
        for r in s.exec(select(SettlementRow).where(col(SettlementRow.tx_hash).in_(txs))):
            settled.setdefault((r.tx_hash, r.grant_id), r)
    lines: dict[tuple[int, int, str], list[StatementItem]] = {}
    for r in paid_rows:
        item = StatementItem("paid", r.grant_id, r.asset_id, int(r.amount), r.units, r.free_units, 0,
                             r.receipts_root, At.of(r))
        lines.setdefault((r.period_start, r.period_end, r.asset_id), []).append(item)
    for p in pay_rows:
        x = settled.get((p.tx_hash, p.grant_id))
        if x is None or not period_in(x.period_start):
            continue
        kind = "royalty" if p.depth > 0 else "share"
        item = StatementItem(kind, p.grant_id, x.asset_id, int(p.amount), x.units, x.free_units, p.depth,
                             x.receipts_root, At.of(p))
        lines.setdefault((x.period_start, x.period_end, p.asset_id or x.asset_id), []).append(item)
    out_lines = []
    for (start, end, asset), items in sorted(lines.items()):
        items.sort(key=lambda i: (_order(i.at), i.kind))
        paid = [i for i in items if i.kind == "paid"]
        out_lines.append(StatementLine(
            asset, start, end, sum(i.amount for i in paid), sum(i.units for i in paid),
            sum(i.free_units for i in paid), sum(i.amount for i in items if i.kind == "share"),
            sum(i.amount for i in items if i.kind == "royalty"), tuple(dict.fromkeys(i.receipts_root for i in items)),
            tuple(items)))
    moves = [m for m in _escrow_moves(s, addr) if time_in(m.at)]
    moves.sort(key=lambda m: (_order(m.at), m.kind))
    totals = dict.fromkeys(STATEMENT_TOTALS, 0)
    for line in out_lines:
        totals["paid"] += line.paid
        totals["earned_shares"] += line.earned_shares
        totals["earned_royalties"] += line.earned_royalties
    for m in moves:
        totals[m.kind] += m.amount
    return Statement(addr, period_start, period_end, tuple(out_lines), tuple(moves), totals, index_chain_id(s))


def _escrow_moves(s: Session, addr: str) -> list[EscrowMove]:
    moves = [EscrowMove(b.kind, int(b.amount), None, At.of(b))
             for b in s.exec(select(BalanceRow).where(BalanceRow.account == addr))]
    moves += [EscrowMove("lock", int(x.locked), x.grant_id, At.of(x))
              for x in s.exec(select(EscrowLockRow).where(EscrowLockRow.consumer == addr))]
    moves += [EscrowMove("release", int(x.amount), x.grant_id, At.of(x))
              for x in s.exec(select(EscrowReleaseRow).where(EscrowReleaseRow.consumer == addr))]
    moves += [EscrowMove("refund", int(x.from_lock) + int(x.from_provider), x.grant_id, At.of(x))
              for x in s.exec(select(RefundRow).where(RefundRow.consumer == addr))]
    mine = select(GrantRow.grant_id).join(AssetRow, AssetRow.asset_id == GrantRow.asset_id).where(  # type: ignore[arg-type]
        AssetRow.provider == addr)
    moves += [EscrowMove("refund_charged", int(x.from_provider), x.grant_id, At.of(x))
              for x in s.exec(select(RefundRow).where(col(RefundRow.grant_id).in_(mine)))
              if int(x.from_provider)]
    return moves
