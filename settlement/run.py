"""A settlement run: one period of a provider's paid grants, priced from anchored receipts and settled
on-chain in batches.

1. **Plan** (:func:`plan_run`, nothing sent): for every paid grant of the provider (a Settlement account)
   with allowed, anchored use in the period (per use) or a subscription running in it, the units, the
   free-trial part, the amount, and the usage root. A grant settled up to the period's end is skipped
   (re-running a period is a no-op); a grant with an open dispute waits for the ruling; a pay-after-use
   grant waits for its consumer's signed statement.
2. **Carry out** (:func:`execute`): anchor each usage root on behalf of the provider (once), then call
   ``Settlement.settle`` with up to ``batch_size`` grants per transaction, each batch carrying the
   payout splits (owners, shares, lineage) of its assets.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from anchoring.notary import anchor_once
from chain.client import Chain
from chain.contracts import (
    AnchorsClient,
    AssetsClient,
    Claim,
    EscrowAccount,
    GrantsClient,
    SettlementClient,
    hex32,
)
from chain.eip712 import UsageStatement
from chain.tx import TxSender
from domain.terms import subscription_periods
from domain.types import PriceModel
from notary.receipts import Receipt
from settlement.errors import StatementInvalid
from settlement.periods import Period
from settlement.splits import SplitBook
from settlement.statements import SignedStatement
from settlement.usage import PeriodUsage, usage_root

log = logging.getLogger(__name__)

KIND_RECEIPTS = 1
DEFAULT_BATCH_SIZE = 200
ZERO_ROOT = "0x" + "00" * 32


@dataclass
class PlannedClaim:
    """One grant's line in a run."""

    grant_id: str
    asset_id: str
    consumer: str
    model: PriceModel
    start: int
    end: int
    units: int
    free_units: int
    amount: int
    receipts: list[Receipt] = field(default_factory=list)
    statement: str = "0x"

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return {"grant_id": self.grant_id, "asset_id": self.asset_id, "consumer": self.consumer,
                "price_model": self.model.label, "period": Period(self.start, self.end).to_json(),
                "units": self.units, "free_units": self.free_units, "amount": str(self.amount)}


@dataclass
class PlannedBatch:
    """Claims that share a period and a usage root (settled in one or more transactions)."""

    start: int
    end: int
    claims: list[PlannedClaim]
    root: str = ZERO_ROOT
    leaf_count: int = 0


@dataclass
class Waiting:
    """A grant the run did not settle, and why."""

    grant_id: str
    reason: str  # settled | disputed | statement | free | uncovered
    detail: str
    statement: SignedStatement | None = None


@dataclass
class RunPlan:
    """What a run would do."""

    period: Period
    batches: list[PlannedBatch]
    waiting: list[Waiting]

    @property
    def claims(self) -> list[PlannedClaim]:
        """Every claim, in order."""
        return [c for b in self.batches for c in b.claims]


@dataclass
class RunResult:
    """What a run did."""

    plan: RunPlan
    anchored: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    settled: list[dict[str, Any]] = field(default_factory=list)  # UsageSettled events
    payouts: list[dict[str, Any]] = field(default_factory=list)  # RevenuePaid events
    deferred: list[str] = field(default_factory=list)  # SettlementDeferred grants


class Settler:
    """Plans and runs settlements for the provider whose key signs ``sender``."""

    def __init__(self, chain: Chain, sender: TxSender, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ValueError("batch size must be at least 1")
        self.chain = chain
        self.sender = sender
        self.provider = sender.address
        self.batch_size = batch_size
        self.settlement = SettlementClient(chain, sender)
        self.grants = GrantsClient(chain)
        self.assets = AssetsClient(chain)
        self.anchors = AnchorsClient(chain, sender)
        self.book = SplitBook(self.assets)
        self._providers: dict[str, str | None] = {}

    # ---- planning ----

    def provider_of(self, asset_id: str) -> str | None:
        """The asset's provider (cached)."""
        if asset_id not in self._providers:
            self._providers[asset_id] = self.assets.provider_of(asset_id)
        return self._providers[asset_id]

    def subscriptions(self) -> list[str]:
        """Grant ids of subscription accounts on this provider's assets (from EscrowLocked events)."""
        out = []
        for log_ in self.settlement.events("EscrowLocked"):
            args = log_["args"]
            if int(args["priceModel"]) != PriceModel.SUBSCRIPTION:
                continue
            asset = hex32(args["assetId"])
            if (self.provider_of(asset) or "").lower() == self.provider.lower():
                out.append(hex32(args["grantId"]))
        return out

    def plan(self, usage: PeriodUsage, statements: dict[str, SignedStatement] | None = None) -> RunPlan:
        """The run for ``usage``'s period (reads the chain, sends nothing)."""
        period = usage.period
        statements = statements or {}
        waiting: list[Waiting] = []
        per_use: dict[tuple[int, int], list[PlannedClaim]] = defaultdict(list)
        pay_after_use: list[PlannedClaim] = []
        subscription: dict[tuple[int, int], list[PlannedClaim]] = defaultdict(list)
        trial_left: dict[tuple[str, str], int] = {}
        for grant_id in sorted(set(usage.grants) | set(self.subscriptions())):
            account = self.settlement.account_of(grant_id)
            if account is None:
                waiting.append(Waiting(grant_id, "free", "a free grant: nothing to settle"))
                continue
            if (self.provider_of(account.asset_id) or "").lower() != self.provider.lower():
                continue  # another provider's asset (a shared ledger): not ours to settle
            start = max(period.start, account.settled_until)
            if start >= period.end:
                waiting.append(Waiting(grant_id, "settled", f"settled up to {Period(start, start + 1).describe()[:23]}"))
                continue
            if account.frozen:
                waiting.append(Waiting(grant_id, "disputed", "a dispute on this grant is open: "
                                       "its settlement waits for the ruling (`tds dispute list`)"))
                continue
            if account.price_model is PriceModel.SUBSCRIPTION:
                claim = self._subscription_claim(account, start, period.end)
                if claim is not None:
                    subscription[(start, period.end)].append(claim)
                continue
            grant_usage = usage.grants.get(grant_id)
            receipts = grant_usage.between(start, period.end) if grant_usage else []
            if not receipts:
                continue
            claim = self._per_use_claim(account, start, period.end, receipts, trial_left)
            if account.price_model is PriceModel.PREPAID and claim.amount > account.locked:
                trial_left[(account.asset_id, account.consumer.lower())] += claim.free_units  # not taken
                waiting.append(Waiting(grant_id, "uncovered", self._uncovered(account, claim)))
                continue
            if account.price_model is PriceModel.PAY_AFTER_USE:
                root, _n = usage_root(receipts)
                statement = UsageStatement(grant_id, start, period.end, claim.units, claim.amount, root)
                entry = statements.get(grant_id)
                unsigned = SignedStatement(statement, account.consumer, account.asset_id)
                if entry is None or not entry.signature:
                    waiting.append(Waiting(grant_id, "statement", "pay after use: waits for the consumer's "
                                           "signed statement (`tds settle statements`, then the consumer's "
                                           "`tds consumer sign-statements`)", unsigned))
                    continue
                if entry.statement != statement:
                    raise StatementInvalid(
                        f"the signed statement of grant {grant_id} ({entry.statement.units} units, amount "
                        f"{entry.statement.amount}, period {entry.statement.period_start}..{entry.statement.period_end}) "
                        f"does not match the anchored receipts ({statement.units} units, amount {statement.amount}, "
                        f"period {statement.period_start}..{statement.period_end}): write the statements again")
                entry.verify(self.chain.chain_id, self.settlement.contract.address)
                claim.statement = str(entry.signature)
                pay_after_use.append(claim)
            else:
                per_use[(start, period.end)].append(claim)
        batches: list[PlannedBatch] = []
        for (start, end), claims in sorted(per_use.items()):
            receipts = [r for c in claims for r in c.receipts]
            root, count = usage_root(receipts)
            batches.append(PlannedBatch(start, end, claims + subscription.pop((start, end), []), root, count))
        for claim in pay_after_use:
            root, count = usage_root(claim.receipts)
            batches.append(PlannedBatch(claim.start, claim.end, [claim], root, count))
        for (start, end), claims in sorted(subscription.items()):
            batches.append(PlannedBatch(start, end, claims))
        return RunPlan(period, batches, waiting)

    def _per_use_claim(self, account: EscrowAccount, start: int, end: int, receipts: list[Receipt],
                       trial_left: dict[tuple[str, str], int]) -> PlannedClaim:
        key = (account.asset_id, account.consumer.lower())
        if key not in trial_left:
            used = self.settlement.trial_used(account.asset_id, account.consumer) if account.free_uses else 0
            trial_left[key] = max(0, account.free_uses - used)
        units = len(receipts)
        free = min(units, trial_left[key])
        trial_left[key] -= free
        amount = (units - free) * account.price
        return PlannedClaim(account.grant_id, account.asset_id, account.consumer, account.price_model, start, end,
                            units, free, amount, list(receipts))

    @staticmethod
    def _uncovered(account: EscrowAccount, claim: PlannedClaim) -> str:
        """Why a prepaid grant's use cannot be claimed: its lock does not cover it (the other grants settle)."""
        if account.released:
            return (f"{claim.units} use(s) owing {claim.amount} were never settled and the escrow was released "
                    "(the provider released it early, or the claim window after the grant's end passed): "
                    "nothing is left to claim")
        return (f"{claim.units} use(s) owe {claim.amount} but {account.locked} is locked: more receipts than "
                "the escrow covers (check the gateway's counts; `tds audit check`)")

    def _subscription_claim(self, account: EscrowAccount, start: int, end: int) -> PlannedClaim | None:
        grant = self.grants.get(account.grant_id)
        if grant is None:
            return None
        due = max(0, subscription_periods(grant, account.period, end) - account.units)
        due = min(due, account.locked // account.price)  # after a revocation or a refund: what is still locked
        if due == 0:
            return None
        return PlannedClaim(account.grant_id, account.asset_id, account.consumer, account.price_model, start, end,
                            due, 0, due * account.price)

    # ---- carrying out ----

    def execute(self, plan: RunPlan) -> RunResult:
        """Anchor the usage roots and send the settle calls of ``plan``."""
        result = RunResult(plan)
        for batch in plan.batches:
            if batch.root != ZERO_ROOT:
                anchored = anchor_once(self.anchors, batch.root, batch.leaf_count, KIND_RECEIPTS)
                result.anchored.append({"root": batch.root, "leaves": batch.leaf_count, "tx": anchored.anchor_tx,
                                        "block": anchored.anchor_block, "sent": anchored.sent})
            for i in range(0, len(batch.claims), self.batch_size):
                chunk = batch.claims[i:i + self.batch_size]
                splits, index = self.book.splits_for(c.asset_id for c in chunk)
                claims = [Claim(c.grant_id, c.units, index[c.asset_id.lower()], c.statement) for c in chunk]
                receipt = self.settlement.settle(batch.start, batch.end, batch.root, claims, splits)
                result.transactions.append({"tx": receipt["transactionHash"].to_0x_hex(),
                                            "block": int(receipt["blockNumber"]), "grants": len(chunk),
                                            "gas_used": int(receipt["gasUsed"])})
                self._collect(receipt, result)
        return result

    def _collect(self, receipt: Any, result: RunResult) -> None:
        events = self.settlement.receipt_events
        for ev in events(receipt, "UsageSettled"):
            a = ev["args"]
            result.settled.append({"grant_id": hex32(a["grantId"]), "asset_id": hex32(a["assetId"]),
                                   "consumer": str(a["consumer"]), "units": int(a["units"]),
                                   "free_units": int(a["freeUnits"]), "amount": int(a["amount"]),
                                   "receipts_root": hex32(a["receiptsRoot"]),
                                   "period": Period(int(a["periodStart"]), int(a["periodEnd"])).to_json()})
        for ev in events(receipt, "RevenuePaid"):
            a = ev["args"]
            result.payouts.append({"grant_id": hex32(a["grantId"]), "asset_id": hex32(a["assetId"]),
                                   "owner": str(a["owner"]), "amount": int(a["amount"]), "depth": int(a["depth"])})
        for ev in events(receipt, "SettlementDeferred"):
            result.deferred.append(hex32(ev["args"]["grantId"]))
