"""Histories rebuilt from the index alone: an asset's, a participant's, a grant's.

Results are frozen dataclasses with ``to_json()``; they hold plain values only, so two indexes
built from the same chain give equal results (compared in the rebuild test).

Participants are named by their DID, ``did:pkh:eip155:<chainId>:<address>`` (the chain id the index
was built for): in every summary, and in the JSON beside each address field (``provider_did``,
``consumer_did``, ``by_did``, ``owner_did``, ``anchorer_did``, ``owners_did``, and ``did`` beside a
participant's ``address``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from audit.db import (
    AnchorRow,
    Meta,
    AssetDeactivationRow,
    AssetRow,
    AssetVersionRow,
    BlockRow,
    GrantRow,
    LineageRow,
    ParticipantEventRow,
    PolicyRow,
    RevenueRow,
    RevocationRow,
    SettlementRow,
)
from audit.errors import InputInvalid, NotIndexed
from audit.receipts import Evidence, ReceiptEntry, anchored_allowed
from domain.ids import is_address
from domain.terms import grant_state
from domain.types import GrantRequest, Role, did_pkh

ANCHOR_KINDS = {1: "receipts", 2: "asset hashes"}
_PARTICIPANT_KEYS = ("provider", "consumer", "by", "owner", "anchorer")


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


@dataclass(frozen=True)
class Revocation:
    """A GrantRevoked."""

    by: str
    at: At


@dataclass(frozen=True)
class Payment:
    """A RevenuePaid."""

    grant_id: str
    owner: str
    amount: int
    at: At


@dataclass(frozen=True)
class Settlement:
    """A UsageSettled with the revenue payments of the same transaction."""

    grant_id: str
    asset_id: str
    consumer: str
    count: int
    amount: int
    usage_root: str
    at: At
    payments: tuple[Payment, ...]


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
    settled_count: int
    anchored_accesses: int | None  # None: no receipts were supplied

    asset_id = _term("asset_id")
    consumer = _term("consumer")
    purpose = _term("purpose")
    not_before = _term("not_before")
    not_after = _term("not_after")
    max_count = _term("max_count")
    price_per_access = _term("price_per_access")
    nonce = _term("nonce")
    deadline = _term("deadline")

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
class AssetHistory:
    """Everything the chain says about one asset."""

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
    """An asset's registration, versions, lineage (transitive), policies, grants, use and settlements."""
    asset_id = asset_id.lower()
    chain_id = index_chain_id(s)
    record = asset_record(s, asset_id)
    grants = _grants(s, list(s.exec(select(GrantRow).where(GrantRow.asset_id == asset_id))), receipts)
    settlements = _settlements(s, list(s.exec(select(SettlementRow).where(SettlementRow.asset_id == asset_id))))
    policies = tuple(_policy(p) for p in s.exec(select(PolicyRow).where(PolicyRow.asset_id == asset_id)))
    versions = _version_chain(s, record)
    parents = tuple(r.parent_id for r in s.exec(select(LineageRow).where(LineageRow.child_id == asset_id)))
    children = tuple(r.child_id for r in s.exec(select(LineageRow).where(LineageRow.parent_id == asset_id)))
    timeline = _asset_timeline(record, versions, policies, grants, settlements, chain_id)
    return AssetHistory(
        record, versions, parents, children, _lineage(s, asset_id, up=True), _lineage(s, asset_id, up=False),
        tuple(sorted(policies, key=lambda p: _order(p.at))), grants, settlements, timeline, chain_id,
    )


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
                    chain_id: int | None) -> tuple[TimelineEntry, ...]:
    t = [TimelineEntry(record.registered, "registered",
                       f"registered by {did(chain_id, record.provider)}, {record.size:,} bytes", record.asset_id)]
    t += [TimelineEntry(v.at, "version", f"version {v.version}: {v.asset_id}", v.asset_id)
          for v in versions if v.asset_id != record.asset_id]
    t += [TimelineEntry(p.at, "policy", f"policy epoch {p.epoch}: max {p.max_count or 'unlimited'}, "
                        f"price {p.price_per_access}", str(p.epoch)) for p in policies]
    t += _grant_timeline(grants, chain_id)
    t += [TimelineEntry(x.at, "settled", f"{x.count} accesses settled for {x.amount}", x.grant_id)
          for x in settlements]
    if record.deactivated:
        t.append(TimelineEntry(record.deactivated, "deactivated", "deactivated by its provider", record.asset_id))
    return tuple(sorted(t, key=lambda e: (_order(e.at), e.kind)))


def _grant_timeline(grants: Sequence[GrantEntry], chain_id: int | None) -> list[TimelineEntry]:
    t = [TimelineEntry(g.issued, "grant_issued",
                       f"grant to {did(chain_id, g.consumer)} for purpose {json.dumps(g.purpose, ensure_ascii=False)}"
                       f", max {g.max_count or 'unlimited'}", g.grant_id) for g in grants]
    t += [TimelineEntry(g.revoked.at, "grant_revoked", f"grant revoked by {did(chain_id, g.revoked.by)}", g.grant_id)
          for g in grants if g.revoked]
    return t


def _order(at: At) -> tuple[int, int]:
    return (at.block, at.log_index)


def _policy(p: PolicyRow) -> PolicyEntry:
    return PolicyEntry(p.epoch, p.not_before, p.not_after, p.max_count, int(p.price_per_access), p.compute_only,
                       p.auto_approve, tuple(json.loads(p.purposes)), tuple(json.loads(p.jurisdictions)), At.of(p))


# ---- grants --------------------------------------------------------------


def _grants(s: Session, rows: list[GrantRow], receipts: Sequence[ReceiptEntry] | None) -> tuple[GrantEntry, ...]:
    if not rows:
        return ()
    ids = [r.grant_id for r in rows]
    revoked = {r.grant_id: r for r in s.exec(select(RevocationRow).where(col(RevocationRow.grant_id).in_(ids)))}
    settled: dict[str, int] = dict(s.exec(  # type: ignore[arg-type]
        select(SettlementRow.grant_id, func.sum(SettlementRow.count))
        .where(col(SettlementRow.grant_id).in_(ids)).group_by(SettlementRow.grant_id)
    ).all())
    uses = _anchored_uses(s, receipts) if receipts is not None else None
    out = []
    for r in sorted(rows, key=lambda r: (r.block_number, r.log_index)):
        rv = revoked.get(r.grant_id)
        terms = GrantRequest(r.asset_id, r.consumer, r.purpose, r.not_before, r.not_after, r.max_count,
                             int(r.price_per_access), int(r.nonce), r.deadline)
        out.append(GrantEntry(
            r.grant_id, terms, r.signature, At.of(r),
            Revocation(rv.by, At.of(rv)) if rv else None, int(settled.get(r.grant_id) or 0),
            None if uses is None else uses.get(r.grant_id, 0),
        ))
    return tuple(out)


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
        out.append(Settlement(r.grant_id, r.asset_id, r.consumer, r.count, int(r.amount), r.usage_root, At.of(r),
                              mine))
    return tuple(out)


def _payment(p: RevenueRow) -> Payment:
    return Payment(p.grant_id, p.owner, int(p.amount), At.of(p))


def grant_history(s: Session, grant_id: str, receipts: Sequence[ReceiptEntry] | None = None) -> GrantHistory:
    """A grant's request, signature, issuance, revocation, settlements and anchored use."""
    row = s.get(GrantRow, grant_id.lower())
    if row is None:
        raise NotIndexed(f"grant {grant_id} is not in the audit index (run `tds audit index`)")
    (grant,) = _grants(s, [row], receipts)
    settlements = _settlements(s, list(s.exec(select(SettlementRow).where(SettlementRow.grant_id == row.grant_id))))
    head = head_timestamp(s)
    chain_id = index_chain_id(s)
    timeline = _grant_timeline([grant], chain_id) + [
        TimelineEntry(x.at, "settled", f"{x.count} accesses settled for {x.amount}", x.grant_id) for x in settlements
    ]
    return GrantHistory(grant, grant.state_at(head), head, settlements,
                        tuple(sorted(timeline, key=lambda e: _order(e.at))), chain_id)


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
