"""What a period's use was, from one gateway's access ledger: allowed receipts per grant, anchored or not.

Only receipts that are anchored count (the notary sealed them into a batch whose root is anchored on
behalf of the provider): a settlement pays for what the evidence proves. An allowed use of the period
that is not anchored yet stops the run (:class:`settlement.errors.UsageNotAnchored`), since a period
settles once: paying it without that use would leave the use unpaid for ever.

The usage root of a settle call is the StandardMerkleTree (receipt leaf encoding, as the notary's
batches) over the allowed receipts, with a time in ``[start, end)``, of the per-use grants claimed under
that root: an auditor holding the receipts recomputes it and counts each grant's units from it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from anchoring.ledger import AccessRecord
from anchoring.notary import NotaryBatch, NotaryMember
from notary.merkle import StandardMerkleTree
from notary.receipts import RECEIPT_LEAF_ENCODING, Receipt
from settlement.errors import UsageNotAnchored
from settlement.periods import Period


@dataclass
class GrantUsage:
    """One grant's allowed, anchored receipts in a period (oldest first)."""

    grant_id: str
    asset_id: str
    consumer: str
    receipts: list[Receipt] = field(default_factory=list)
    roots: set[str] = field(default_factory=set)  # the notary batch roots they are anchored under

    @property
    def units(self) -> int:
        """Allowed uses."""
        return len(self.receipts)

    def between(self, start: int, end: int) -> list[Receipt]:
        """The receipts with a time in ``[start, end)``."""
        return [r for r in self.receipts if start <= r.timestamp < end]


@dataclass(frozen=True)
class PeriodUsage:
    """Every grant's allowed, anchored use in a period, and the batch roots behind it."""

    period: Period
    grants: dict[str, GrantUsage]
    batch_roots: frozenset[str]


def usage_root(receipts: Iterable[Receipt]) -> tuple[str, int]:
    """(root, leaf count) of the usage tree over ``receipts`` (sorted by receipt id, as auditors rebuild it)."""
    ordered = sorted(receipts, key=lambda r: r.receipt_id)
    if not ordered:
        raise ValueError("a usage root needs at least one receipt")
    tree = StandardMerkleTree.of([r.leaf_values() for r in ordered], RECEIPT_LEAF_ENCODING)
    return tree.root, len(ordered)


def period_usage(engine: Engine, period: Period) -> PeriodUsage:
    """The allowed, anchored receipts with a grant in ``period``; raises UsageNotAnchored when some allowed
    use of the period is still pending or sealed but not anchored."""
    stmt = (
        select(AccessRecord, NotaryMember, NotaryBatch)
        .join(NotaryMember, col(NotaryMember.access_id) == col(AccessRecord.id), isouter=True)
        .join(NotaryBatch, col(NotaryBatch.id) == col(NotaryMember.batch_id), isouter=True)
        .where(col(AccessRecord.decision) == "allow")
        .where(col(AccessRecord.grant_id).is_not(None))
        .where(col(AccessRecord.at) >= period.start)
        .where(col(AccessRecord.at) < period.end)
        .order_by(col(AccessRecord.id))
    )
    grants: dict[str, GrantUsage] = {}
    roots: set[str] = set()
    waiting: dict[str, int] = defaultdict(int)
    with Session(engine) as s:
        for record, member, batch in s.exec(stmt).all():
            if member is None or batch is None or batch.state != "anchored":
                waiting["pending" if member is None else "sealed, not anchored"] += 1
                continue
            receipt = Receipt.from_json(member.receipt_json)
            if receipt.decision != "allow" or not period.start <= receipt.timestamp < period.end:
                continue
            usage = grants.setdefault(receipt.grant_id, GrantUsage(receipt.grant_id, receipt.asset_id,
                                                                  receipt.consumer))
            usage.receipts.append(receipt)
            usage.roots.add(batch.root)
            roots.add(batch.root)
    if waiting:
        detail = ", ".join(f"{n} {state}" for state, n in sorted(waiting.items()))
        raise UsageNotAnchored(
            f"{sum(waiting.values())} allowed uses of {period.describe()} are not anchored yet ({detail}): "
            "let the notary anchor them (`tds gateway anchor`, or wait for the gateway's notary) and run again")
    return PeriodUsage(period, grants, frozenset(roots))
