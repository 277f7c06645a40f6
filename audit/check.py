"""``tds audit check``: does everything add up? Findings, one per line; any error fails the check.

| code | severity | what did not add up |
|---|---|---|
| receipt_proof_invalid | error | a receipt's proof does not prove that receipt |
| receipt_wrong_anchorer | error | a receipts root was not anchored for the provider of its receipts' asset (by it or a
  notary key it registered), only by others: those receipts prove nothing |
| duplicate_receipt_id | error | two different receipts carry the same receipt id |
| access_without_grant | error | an allowed access names a grant that was never issued |
| grant_mismatch | error | the grant belongs to another consumer or asset |
| grant_not_issued_yet | error | the access is dated before the grant's block |
| grant_revoked | error | the access is dated at or after the grant's revocation |
| grant_outside_window | error | the access is outside the grant's notBefore/notAfter |
| grant_overused | error | more allowed accesses (or settlements) than the grant's maxCount |
| root_mismatch | error | an anchored receipts root does not rebuild from its receipts |
| root_not_anchored | error | a proof in state 'anchored' names a root the chain never anchored |
| file_tampered | error | a stored file no longer matches its on-chain hash |
| duplicate_receipt | warning | the same receipt id appears twice in the file |
| receipt_not_anchored | warning | a receipt has no proof, or its batch is not anchored yet |
| root_without_receipts | warning | an anchored receipts root has none of its receipts in the file |
| root_anchored_by_other | warning | a receipts root was also anchored for a provider none of whose assets' receipts are
  under it (e.g. another provider anchoring a gateway's root first): that anchor is ignored |
| no_receipts_verified | warning | receipts roots are anchored but not one receipt was verified against them |
| settled_beyond_evidence | warning | more accesses settled than anchored receipts show |
| settled_units_mismatch | error | a settled period's units are not the allowed receipts of its grant in the period |
| usage_root_not_anchored | error | a settlement's receipts root is not anchored (kind 1) for the asset's provider |
| usage_root_mismatch | error | the period's receipts of the grants settled under a root do not rebuild it |
| settled_units_unchecked | info | no receipts (of the provider's assets) were supplied: settled units not checked |
| payout_sum_mismatch | error | a settlement's RevenuePaid events do not add up to its amount |
| payout_split_mismatch | error | the payouts are not the registered owners' shares and the lineage royalty |
| payout_unchecked | info | the royalty in force is not in the index: the payout split was not checked |
| settled_while_disputed | error | a period of a grant was settled while a dispute on the grant was open |
| acceptance_missing | error | a grant has no GrantAccepted by its asset's provider |
| acceptance_invalid | error | the acceptance is not the asset provider's EIP-712 signature over the grant |
| consumer_signature_invalid | error | the grant's request does not hash to its id, or is not signed by its consumer |
| signatures_unchecked | info | the UsageGrants address (EIP-712 domain) is unknown: signatures were not verified |
| job_evidence_mismatch | error | a job's evidence does not hash to its receipt's content hash, or names another grant,
  asset or consumer than its receipt: it is not what the gateway anchored (and is not checked further) |
| job_algorithm_not_approved | error | a job ran an algorithm the asset's provider had not approved on the asset when
  the job was submitted (replaying AlgorithmApproved / AlgorithmRejected) |
| privacy_budget_exceeded | error | a grant's jobs spent more epsilon than the asset's per-grant privacy budget in
  force when the job that went over was submitted (replaying PrivacyBudgetSet) |
| jobs_unchecked | info | allowed receipts of compute-only assets carry no job evidence: not checked as jobs |

Settlement checks mirror contracts/Settlement.sol: a per-use settlement (receipts root not zero) covers the allowed
receipts of its grant with access time in ``[periodStart, periodEnd)``; its root is the StandardMerkleTree (receipt
leaf encoding) over every allowed receipt with a grant id in that period of the provider's gateway ledger (the
supplied receipts of that provider's assets); payouts follow ``_pay`` (royalty to parents in equal parts, dust to
the first, recursively up to :data:`MAX_ROYALTY_DEPTH` steps; the rest by shares, dust to the first owner; the
provider when the asset has no owners).

Compute checks read the job evidence the receipts file carries (``"job"`` beside a receipt, :mod:`audit.receipts`):
a job's time is its receipt's (when the gateway checked its grant, algorithm and budget), compared with block times
to the second; a job and a policy change in the same second count in the job's favour
(:class:`audit.queries.ComputePolicy`). A grant's spending is the sum of its jobs' ``epsilon_micros`` in the order
the gateway took them, checked against the budget in force at each job. Assets are named by their title beside
the hash when the caller knows it (``title_of``), dates are UTC.
"""

from __future__ import annotations

from collections import Counter, defaultdict
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import func
from sqlmodel import Session, col, select

from audit.db import (
    AcceptanceRow, AnchorRow, AssetRow, AssetVersionRow, GrantRow, PolicyRow, RevenueRow, RevocationRow, SettlementRow,
)
from audit.queries import (
    ZERO32, ComputePolicy, anchors_by_root, compute_policy, epsilon_text, index_chain_id, job_order, job_receipts,
    open_dispute_spans, receipt_evidence, royalty_at,
)
from audit.receipts import Evidence, ReceiptEntry, anchored_allowed
from domain.terms import count_exceeded, human_time, window_verdict
from domain.types import GrantRequest, Liveness
from notary.merkle import StandardMerkleTree
from notary.proofs import did_pkh
from notary.receipts import RECEIPT_LEAF_ENCODING

MAX_ROYALTY_DEPTH = 4
"""Lineage steps a royalty travels up at most (Settlement.MAX_ROYALTY_DEPTH)."""
BPS = 10_000

FileCheck = Callable[[str], "bool | None"]
"""asset id -> True (stored bytes match the id), False (they do not), None (not stored here)."""
TitleOf = Callable[[str], "str | None"]
"""asset id -> its title, when known (the provider's metadata)."""


@dataclass(frozen=True)
class Finding:
    """One thing that does not add up."""

    severity: str  # error | warning | info
    code: str
    subject: str
    message: str

    def line(self) -> str:
        """``ERROR grant_revoked <subject>: <message>``."""
        return f"{self.severity.upper()} {self.code} {self.subject}: {self.message}"

    def to_json(self) -> dict[str, str]:
        """JSON view."""
        return {"severity": self.severity, "code": self.code, "subject": self.subject, "message": self.message}


@dataclass(frozen=True)
class CheckReport:
    """All findings plus what was looked at."""

    findings: tuple[Finding, ...]
    counted: dict[str, int]

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not any(f.severity == "error" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return {"ok": self.ok, "counted": self.counted, "findings": [f.to_json() for f in self.findings]}


def run_check(s: Session, receipts: Sequence[ReceiptEntry] = (), file_check: FileCheck | None = None,
              chain_id: int | None = None, usage_grants: str | None = None,
              title_of: TitleOf | None = None) -> CheckReport:
    """Check receipts against grants, grant use against maxCount, anchored roots against receipts and the
    providers they were anchored for (a receipt counts only under a root anchored for its asset's provider,
    by it or its notary key: the indexed ``RootAnchored`` says for whom), settlements against the receipts and
    the registered payout splits, settlements against open disputes, both signatures of every grant, files.
    ``chain_id`` names parties by DID (default: the index's chain); ``usage_grants`` (the UsageGrants address,
    the EIP-712 domain of grants) lets the signatures be verified. Compute jobs (receipts carrying job evidence):
    the evidence is the receipt's, the algorithm was approved on the asset, the grant stayed within the privacy
    budget; ``title_of`` names assets and algorithms by title in the findings."""
    findings: list[Finding] = []
    allowed = _unique(receipts, findings)
    grants = {g.grant_id: g for g in s.exec(select(GrantRow))}
    revoked = {r.grant_id: r for r in s.exec(select(RevocationRow))}
    roots = anchors_by_root(s)
    evidence = receipt_evidence(s)
    parties = _Parties(chain_id, title_of)
    settlements = sorted(s.exec(select(SettlementRow)), key=lambda x: (x.block_number, x.log_index))
    usage_roots = {x.receipts_root for x in settlements if x.receipts_root != ZERO32}
    for entry in allowed:
        findings += _receipt_findings(entry, grants, revoked)
    findings += _proof_findings(receipts, roots)
    findings += parties.anchorer_findings(receipts, roots, evidence)
    findings += _use_findings(s, allowed, grants, evidence)
    findings += _root_findings(receipts, roots, evidence, parties, usage_roots)
    findings += _settled_unit_findings(settlements, allowed, bool(receipts), roots, evidence, parties)
    findings += _payout_findings(s, settlements)
    findings += _dispute_findings(s, settlements)
    findings += _signature_findings(s, grants, chain_id, usage_grants)
    jobs = job_receipts(receipts)
    findings += _compute_findings(s, receipts, allowed, parties)
    verified = sum(1 for e in receipts if evidence.vouches(e) and e.proof_problem() is None)
    receipt_roots = sum(1 for root, rows in roots.items() if any(a.kind == 1 for a in rows) and root not in usage_roots)
    if receipt_roots and not verified:
        findings.append(Finding("warning", "no_receipts_verified", f"{receipt_roots} anchored receipts root(s)",
                                "0 receipts were verified against them: pass the gateway's receipts with --receipts "
                                "(`tds audit receipts -o receipts.jsonl`), else this check says nothing about accesses"))
    files = _file_findings(s, file_check, findings) if file_check else 0
    counted = {"receipts": len(receipts), "verified_receipts": verified, "allowed": len(allowed),
               "grants": len(grants), "anchored_roots": len(roots), "settlements": len(settlements), "jobs": len(jobs),
               "files": files}
    return CheckReport(tuple(findings), counted)


@dataclass(frozen=True)
class _Parties:
    """Names participants in findings (with their DIDs when the chain id is known)."""

    chain_id: int | None
    title_of: TitleOf | None = None

    def who(self, address: str) -> str:
        return address if self.chain_id is None else f"{address} ({did_pkh(self.chain_id, address)})"

    def asset(self, asset_id: str) -> str:
        """An asset (or algorithm) for people: ``0x… (Title)``, the hash alone when no title is known."""
        title = self.title_of(asset_id) if self.title_of else None
        return f"{asset_id} ({title})" if title and title != asset_id else asset_id

    def anchor(self, a: AnchorRow) -> str:
        """Who sent an anchor: ``<provider>`` or ``<notary key>, a notary key of <provider>``."""
        if a.anchorer.lower() == a.provider.lower():
            return self.who(a.anchorer)
        return f"{self.who(a.anchorer)}, a notary key of {self.who(a.provider)}"

    def anchorer_findings(self, receipts: Sequence[ReceiptEntry], roots: dict[str, list[AnchorRow]],
                          evidence: Evidence) -> list[Finding]:
        """receipt_wrong_anchorer: a root that holds receipts of an asset but was not anchored for its provider."""
        pairs = sorted({(e.proof.root, e.receipt.asset_id) for e in receipts
                        if e.proof is not None and e.proof.root in roots and not evidence.vouches(e)})
        out = []
        for root, asset_id in pairs:
            by = "; ".join(self.anchor(a) for a in roots[root])
            provider = evidence.providers.get(asset_id.lower())
            if provider is None:
                problem = f"was anchored by {by} but asset {asset_id} is not registered"
            else:
                mine = [a for a in roots[root] if a.provider.lower() == provider]
                kind = f" (its own anchor of this root is of kind {mine[0].kind}, not receipts)" if mine else ""
                problem = (f"was anchored by {by}, not by {self.who(to_checksum_address(provider))} the provider "
                           f"of asset {asset_id} nor a notary key it registered{kind}")
            out.append(Finding("error", "receipt_wrong_anchorer", f"root {root}",
                               f"root {root} {problem}: its receipts prove nothing"))
        return out


def _unique(receipts: Sequence[ReceiptEntry], findings: list[Finding]) -> list[ReceiptEntry]:
    seen: dict[str, ReceiptEntry] = {}
    allowed = []
    for e in receipts:
        rid = e.receipt.receipt_id
        first = seen.get(rid)
        if first is not None and first.receipt != e.receipt:
            findings.append(Finding("error", "duplicate_receipt_id", f"receipt {rid}",
                                    f"two different receipts share this id ({_brief(first)}; {_brief(e)}): "
                                    "receipt ids must be unique, was the gateway database lost or replaced?"))
            continue
        if first is not None:
            findings.append(Finding("warning", "duplicate_receipt", rid, "appears more than once; counted once"))
            continue
        seen[rid] = e
        if e.receipt.decision == "allow":
            allowed.append(e)
    return allowed


def _brief(e: ReceiptEntry) -> str:
    r = e.receipt
    root = f", root {e.proof.root}" if e.proof is not None else ""
    when = datetime.fromtimestamp(r.timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"grant {r.grant_id}, {r.decision}, {r.byte_count} bytes at {when}{root}"


def _receipt_findings(entry: ReceiptEntry, grants: dict[str, GrantRow],
                      revoked: dict[str, RevocationRow]) -> list[Finding]:
    r = entry.receipt
    subject = f"receipt {r.receipt_id}"
    g = grants.get(r.grant_id)
    if g is None:
        return [Finding("error", "access_without_grant", subject, f"grant {r.grant_id} was never issued")]
    out = []
    if g.consumer != r.consumer or g.asset_id != r.asset_id:
        out.append(Finding("error", "grant_mismatch", subject,
                           f"grant {r.grant_id} is for consumer {g.consumer} and asset {g.asset_id}, the access was "
                           f"by {r.consumer} on {r.asset_id}"))
    if r.timestamp < g.timestamp:
        out.append(Finding("error", "grant_not_issued_yet", subject,
                           f"access at {r.timestamp} precedes the grant's issue (block {g.block_number}, "
                           f"time {g.timestamp})"))
    rv = revoked.get(r.grant_id)
    if rv is not None and rv.timestamp <= r.timestamp:
        out.append(Finding("error", "grant_revoked", subject,
                           f"access at {r.timestamp} after grant {r.grant_id} was revoked (block {rv.block_number}, "
                           f"time {rv.timestamp})"))
    if window_verdict(g.not_before, g.not_after, r.timestamp) != Liveness.LIVE:
        out.append(Finding("error", "grant_outside_window", subject,
                           f"access at {r.timestamp} outside the grant window [{g.not_before}, {g.not_after})"))
    return out


def _proof_findings(receipts: Sequence[ReceiptEntry], roots: dict[str, list[AnchorRow]]) -> list[Finding]:
    out = []
    for e in receipts:
        subject = f"receipt {e.receipt.receipt_id}"
        if e.proof is None:
            out.append(Finding("warning", "receipt_not_anchored", subject, "no proof yet (batch not sealed)"))
            continue
        problem = e.proof_problem()
        if problem:
            out.append(Finding("error", "receipt_proof_invalid", subject, problem))
        elif e.proof.root not in roots:
            severity = "error" if e.proof.state == "anchored" else "warning"
            code = "root_not_anchored" if severity == "error" else "receipt_not_anchored"
            out.append(Finding(severity, code, subject, f"root {e.proof.root} is not anchored on this chain"))
    return out


def _use_findings(s: Session, allowed: list[ReceiptEntry], grants: dict[str, GrantRow],
                  evidence: Evidence) -> list[Finding]:
    out = []
    uses = Counter(e.receipt.grant_id for e in allowed)
    for gid, n in sorted(uses.items()):
        g = grants.get(gid)
        if g is not None and count_exceeded(n, g.max_count):
            out.append(Finding("error", "grant_overused", f"grant {gid}",
                               f"{n} allowed accesses, the grant allows {g.max_count}"))
    anchored = Counter(e.receipt.grant_id for e in anchored_allowed(allowed, evidence))
    settled = s.exec(select(SettlementRow.grant_id, func.sum(SettlementRow.units))  # type: ignore[call-overload]
                     .where(SettlementRow.receipts_root != ZERO32).group_by(SettlementRow.grant_id)).all()
    for gid, count in settled:
        g = grants.get(gid)
        if g is not None and count_exceeded(int(count), g.max_count):
            out.append(Finding("error", "grant_overused", f"grant {gid}",
                               f"{count} accesses settled, the grant allows {g.max_count}"))
        if allowed and uses.get(gid) and int(count) > anchored.get(gid, 0):
            out.append(Finding("warning", "settled_beyond_evidence", f"grant {gid}",
                               f"{count} accesses settled, {anchored.get(gid, 0)} shown by anchored receipts"))
    return out


def _root_findings(receipts: Sequence[ReceiptEntry], roots: dict[str, list[AnchorRow]], evidence: Evidence,
                   parties: _Parties, usage_roots: frozenset[str] | set[str] = frozenset()) -> list[Finding]:
    """Each receipts anchor against the supplied receipts under its root. An anchor made for a provider none of
    whose assets' receipts are under the root (another provider anchoring a gateway's root, e.g. a squatter
    who anchored it first) vouches for nothing: a warning, not rebuilt. A settlement's usage root (no proofs name
    it: it is rebuilt from the period's receipts instead, :func:`_settled_unit_findings`) is not a root without
    receipts."""
    by_root: dict[str, dict[str, ReceiptEntry]] = defaultdict(dict)
    for e in receipts:
        if e.proof is not None and e.proof.root in roots:
            by_root[e.proof.root][e.receipt.receipt_id] = e
    out = []
    for root, anchors in sorted(roots.items()):
        members = by_root.get(root)
        owners = {evidence.provider_of(e) for e in members.values()} if members else set()
        for anchor in anchors:
            if anchor.kind != 1:
                continue
            if not members:
                if receipts and root not in usage_roots:
                    out.append(Finding("warning", "root_without_receipts", f"root {root}",
                                       f"anchored by {parties.anchor(anchor)} in block {anchor.block_number} with "
                                       f"{anchor.leaf_count} leaves; none of its receipts were supplied"))
                continue
            if anchor.provider.lower() not in owners:
                out.append(Finding("warning", "root_anchored_by_other", f"root {root}",
                                   f"also anchored by {parties.anchor(anchor)} in block {anchor.block_number}, a "
                                   "provider none of whose assets' receipts are under it: that anchor proves nothing "
                                   "and was ignored"))
                continue
            rebuilt = StandardMerkleTree.of([e.receipt.leaf_values() for e in members.values()],
                                            RECEIPT_LEAF_ENCODING)
            if rebuilt.root != root or len(members) != anchor.leaf_count:
                out.append(Finding("error", "root_mismatch", f"root {root}",
                                   f"{len(members)} supplied receipts rebuild to {rebuilt.root}; the chain anchored "
                                   f"{root} over {anchor.leaf_count} leaves in block {anchor.block_number}"))
    return out


def _file_findings(s: Session, file_check: FileCheck, findings: list[Finding]) -> int:
    checked = 0
    for asset_id in s.exec(select(AssetRow.asset_id)):
        verdict = file_check(asset_id)
        if verdict is None:
            continue
        checked += 1
        if not verdict:
            findings.append(Finding("error", "file_tampered", f"asset {asset_id}",
                                    "the stored file no longer matches its on-chain SHA-256"))
    return checked


# ---- settlements ---------------------------------------------------------


def _settled_unit_findings(settlements: Sequence[SettlementRow], allowed: Sequence[ReceiptEntry], supplied: bool,
                           roots: dict[str, list[AnchorRow]], evidence: Evidence, parties: _Parties) -> list[Finding]:
    """Each per-use settlement against the receipts: its root anchored (kind 1) for the asset's provider, its units
    the allowed receipts of its grant in its period, and its root the usage tree the settlement run builds: over
    the allowed receipts in ``[periodStart, periodEnd)`` of every grant settled under that root for that period
    (checked when the supplied receipts hold any of the provider's)."""
    out: list[Finding] = []
    by_provider: dict[str, list[ReceiptEntry]] = defaultdict(list)  # provider -> its assets' allowed receipts
    for e in allowed:
        provider = evidence.provider_of(e)
        if provider is not None and e.receipt.grant_id != ZERO32:
            by_provider[provider].append(e)
    under: dict[tuple[str, int, int], set[str]] = defaultdict(set)  # (root, start, end) -> grants settled under it
    for x in settlements:
        if x.receipts_root != ZERO32:
            under[(x.receipts_root, x.period_start, x.period_end)].add(x.grant_id)
    unchecked = 0
    rebuilt: dict[tuple[str, int, int], tuple[str, int]] = {}
    for x in settlements:
        if x.receipts_root == ZERO32:
            continue  # a Subscription's periods: time, not use
        subject = f"settlement {x.grant_id} period {_period(x.period_start, x.period_end)}"
        provider = evidence.providers.get(x.asset_id.lower())
        anchors = [a for a in roots.get(x.receipts_root, []) if provider is not None
                   and a.provider.lower() == provider and a.kind == 1]
        if not anchors:
            by = "; ".join(parties.anchor(a) for a in roots.get(x.receipts_root, [])) or "nobody"
            out.append(Finding("error", "usage_root_not_anchored", subject,
                               f"receipts root {x.receipts_root} (block {x.block_number}) is not anchored as receipts "
                               f"for the provider of asset {x.asset_id} (anchored by {by})"))
        mine = by_provider.get(provider or "")
        if not mine:
            unchecked += 1
            continue
        key = (x.receipts_root, x.period_start, x.period_end)
        in_period = [e for e in mine if x.period_start <= e.receipt.timestamp < x.period_end]
        used = sum(1 for e in in_period if e.receipt.grant_id == x.grant_id)
        if used != x.units:
            out.append(Finding("error", "settled_units_mismatch", subject,
                               f"{x.units} units settled in block {x.block_number}, the supplied receipts show {used} "
                               f"allowed use(s) of the grant in [{_when(x.period_start)}, {_when(x.period_end)})"))
        if key not in rebuilt:
            members = [e for e in in_period if e.receipt.grant_id in under[key]]
            rebuilt[key] = (_usage_root(members), len(members))
        root, leaves = rebuilt[key]
        leaf_counts = {a.leaf_count for a in anchors}
        if root != x.receipts_root or (anchors and leaves not in leaf_counts):
            anchored = f", anchored over {', '.join(map(str, sorted(leaf_counts)))} leaves" if anchors else ""
            out.append(Finding("error", "usage_root_mismatch", subject,
                               f"the {leaves} allowed receipt(s) in the period of the {len(under[key])} grant(s) "
                               f"settled under it rebuild to {root}, the settlement names {x.receipts_root}{anchored}"))
    if unchecked:
        why = "no receipts were supplied" if not supplied else "the supplied receipts hold none of their providers'"
        out.append(Finding("info", "settled_units_unchecked", f"{unchecked} settlement(s)",
                           f"settled units were not checked against receipts ({why}): pass the gateway's receipts "
                           "with --receipts (`tds audit receipts -o receipts.jsonl`)"))
    return out


def _usage_root(entries: Sequence[ReceiptEntry]) -> str:
    """The settlement run's usage root: the StandardMerkleTree over the receipts sorted by receipt id
    (zero when there are none)."""
    if not entries:
        return ZERO32
    ordered = sorted(entries, key=lambda e: e.receipt.receipt_id)
    return StandardMerkleTree.of([e.receipt.leaf_values() for e in ordered], RECEIPT_LEAF_ENCODING).root


@dataclass(frozen=True)
class PayoutSplit:
    """How one asset's revenue is paid (the registered record Settlement checks a Split against)."""

    asset_id: str
    provider: str
    owners: tuple[str, ...]
    shares_bps: tuple[int, ...]
    parents: tuple[str, ...]


def payout_split(s: Session, asset_id: str) -> PayoutSplit | None:
    """An asset's payout record as AssetRegistry's ``payoutOf`` holds it: a version inherits the owners and
    parents of the asset it replaces. None when the asset is not indexed."""
    row = s.get(AssetRow, asset_id.lower())
    if row is None:
        return None
    first, seen = row, {row.asset_id}
    while (v := s.get(AssetVersionRow, first.asset_id)) is not None and v.previous_id not in seen:
        prev = s.get(AssetRow, v.previous_id)
        if prev is None:
            break
        seen.add(prev.asset_id)
        first = prev
    return PayoutSplit(row.asset_id, row.provider, tuple(json.loads(first.owners)),
                       tuple(json.loads(first.shares_bps)), tuple(p.lower() for p in json.loads(first.parents or "[]")))


Payout = tuple[str, str, int, int]
"""(asset id, owner, amount, depth) of one RevenuePaid."""


def expected_payouts(splits: Callable[[str], PayoutSplit | None], asset_id: str, amount: int,
                     royalty_bps: int) -> list[Payout] | None:
    """The RevenuePaid events ``Settlement._pay`` emits for ``amount`` of ``asset_id``, in its order (None when an
    asset of the lineage is not indexed)."""
    out: list[Payout] = []

    def pay(asset: str, value: int, depth: int) -> bool:
        split = splits(asset)
        if split is None:
            return False
        royalty = value * royalty_bps // BPS if split.parents and depth < MAX_ROYALTY_DEPTH else 0
        own = value - royalty
        if not split.owners:
            out.append((split.asset_id, split.provider, own, depth))
        else:
            paid = 0
            for owner, share in list(zip(split.owners, split.shares_bps))[1:]:
                part = own * share // BPS
                paid += part
                out.append((split.asset_id, owner, part, depth))
            out.append((split.asset_id, split.owners[0], own - paid, depth))
        if royalty == 0:
            return True
        each = royalty // len(split.parents)
        for j, parent in enumerate(split.parents):
            part = royalty - each * (len(split.parents) - 1) if j == 0 else each
            if part and not pay(parent, part, depth + 1):
                return False
        return True

    if amount and not pay(asset_id.lower(), amount, 0):
        return None
    return [p for p in out if p[2] != 0]


def _payout_findings(s: Session, settlements: Sequence[SettlementRow]) -> list[Finding]:
    """Each settlement's RevenuePaid events: they add up to its amount, and they are the split ``_pay`` makes."""
    out: list[Finding] = []
    pays: dict[tuple[str, str], list[RevenueRow]] = defaultdict(list)
    for p in sorted(s.exec(select(RevenueRow)), key=lambda p: (p.block_number, p.log_index)):
        pays[(p.tx_hash, p.grant_id)].append(p)
    cache: dict[str, PayoutSplit | None] = {}

    def split(asset: str) -> PayoutSplit | None:
        if asset not in cache:
            cache[asset] = payout_split(s, asset)
        return cache[asset]

    unchecked = 0
    for x in settlements:
        subject = f"settlement {x.grant_id} period {_period(x.period_start, x.period_end)}"
        paid = pays.get((x.tx_hash, x.grant_id), [])
        total = sum(int(p.amount) for p in paid)
        if total != int(x.amount):
            out.append(Finding("error", "payout_sum_mismatch", subject,
                               f"{len(paid)} payment(s) in tx {x.tx_hash} add up to {total}, the settlement charged "
                               f"{x.amount}"))
            continue
        royalty = royalty_at(s, x.block_number, x.log_index)
        needs_royalty = bool((sp := split(x.asset_id)) and sp.parents)
        if royalty is None and needs_royalty:
            unchecked += 1
            continue
        expected = expected_payouts(split, x.asset_id, int(x.amount), royalty or 0)
        if expected is None:
            unchecked += 1
            continue
        actual = [(p.asset_id.lower(), p.owner, int(p.amount), p.depth) for p in paid]
        if Counter(_norm(expected)) != Counter(_norm(actual)):
            missing = Counter(_norm(expected)) - Counter(_norm(actual))
            extra = Counter(_norm(actual)) - Counter(_norm(expected))
            out.append(Finding("error", "payout_split_mismatch", subject,
                               f"payments {_payouts(extra) or 'none'} where the registered owners, shares and a "
                               f"{royalty or 0} bps royalty give {_payouts(missing) or 'none'}"))
    if unchecked:
        out.append(Finding("info", "payout_unchecked", f"{unchecked} settlement(s)",
                           "their payout split was not checked: the royalty in force or an asset of their lineage is "
                           "not in the index (index from the deployment block: delete the index and run "
                           "`tds audit index`)"))
    return out


def _norm(payouts: Sequence[Payout]) -> list[Payout]:
    return [(a.lower(), o.lower(), amount, depth) for a, o, amount, depth in payouts]


def _payouts(items: Counter[Payout]) -> str:
    return "; ".join(f"{amount} to {owner} for asset {asset} at depth {depth}"
                     + (f" ({n} times)" if n > 1 else "") for (asset, owner, amount, depth), n in sorted(items.items()))


def _dispute_findings(s: Session, settlements: Sequence[SettlementRow]) -> list[Finding]:
    """settled_while_disputed: a settlement logged after a dispute on its grant opened and before it was ruled."""
    spans = open_dispute_spans(s)
    out = []
    for x in settlements:
        at = (x.block_number, x.log_index)
        for d, opened, ruled in spans.get(x.grant_id, []):
            if opened < at and (ruled is None or at < ruled):
                out.append(Finding("error", "settled_while_disputed",
                                   f"settlement {x.grant_id} period {_period(x.period_start, x.period_end)}",
                                   f"settled in block {x.block_number} while dispute {d.dispute_id} (opened in block "
                                   f"{d.opened.block}) was open: Settlement should have deferred it"))
    return out


def _signature_findings(s: Session, grants: dict[str, GrantRow], chain_id: int | None,
                        usage_grants: str | None) -> list[Finding]:
    """Every grant: its provider's acceptance (GrantAccepted, by the asset's provider, over the grant id, under the
    grant's policy epoch) and its consumer's signature over the request that hashes to its id."""
    from chain.eip712 import acceptance_typed_data, grant_id, recover_grant_signer, recover_signer, signature_problem

    out: list[Finding] = []
    accepted = {a.grant_id: a for a in s.exec(select(AcceptanceRow))}
    providers = dict(s.exec(select(AssetRow.asset_id, AssetRow.provider)).all())
    chain_id = chain_id if chain_id is not None else index_chain_id(s)
    verify = usage_grants is not None and chain_id is not None
    for gid, g in sorted(grants.items(), key=lambda kv: (kv[1].block_number, kv[1].log_index)):
        subject = f"grant {gid}"
        provider = providers.get(g.asset_id)
        a = accepted.get(gid)
        if a is None:
            out.append(Finding("error", "acceptance_missing", subject,
                               f"no GrantAccepted by the provider of asset {g.asset_id}: the agreement has only the "
                               "consumer's signature"))
        else:
            problems = []
            if provider is not None and a.provider.lower() != provider.lower():
                problems.append(f"it names {a.provider}, the asset's provider is {provider}")
            if a.policy_epoch != g.policy_epoch:
                problems.append(f"it is under policy epoch {a.policy_epoch}, the request under {g.policy_epoch}")
            if verify:
                problems += _signer_problems(
                    a.signature, a.provider,
                    lambda sig: recover_signer(acceptance_typed_data(chain_id, usage_grants, gid, a.provider), sig),
                    signature_problem)
            if problems:
                out.append(Finding("error", "acceptance_invalid", subject, "the provider's acceptance does not hold: "
                                   + "; ".join(problems)))
        if not verify:
            continue
        request = GrantRequest(g.asset_id, g.consumer, g.purpose, g.not_before, g.not_after, g.max_count,
                               int(g.price_per_access), int(g.nonce), g.deadline, g.policy_epoch)
        problems = []
        computed = grant_id(chain_id, usage_grants, request)
        if computed != gid:
            problems.append(f"the request in its GrantIssued event hashes to {computed}")
        problems += _signer_problems(g.signature, g.consumer,
                                     lambda sig: recover_grant_signer(chain_id, usage_grants, request, sig),
                                     signature_problem)
        if problems:
            out.append(Finding("error", "consumer_signature_invalid", subject, "the consumer's signature does not "
                               "hold: " + "; ".join(problems)))
    if grants and not verify:
        out.append(Finding("info", "signatures_unchecked", f"{len(grants)} grant(s)",
                           "the consumers' and providers' EIP-712 signatures were not verified: the UsageGrants "
                           "address is unknown (run the check with the node reachable, or pass usage_grants)"))
    return out


def _signer_problems(signature: str, expected: str, recover: Callable[[str], str],
                     canonical: Callable[[str], str | None]) -> list[str]:
    problem = canonical(signature)
    if problem:
        return [f"the signature is not canonical ({problem})"]
    try:
        signer = recover(signature)
    except Exception as exc:  # eth_keys raises several types for unrecoverable signatures
        return [f"no signer can be recovered from it ({exc.__class__.__name__})"]
    if signer.lower() != expected.lower():
        return [f"it was signed by {signer}, not {expected}"]
    return []


def _period(start: int, end: int) -> str:
    return f"{_when(start)}..{_when(end)}"


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- compute ---------------------------------------------------------------


def _compute_findings(s: Session, receipts: Sequence[ReceiptEntry], allowed: Sequence[ReceiptEntry],
                      parties: _Parties) -> list[Finding]:
    """Every job receipt: its evidence is the receipt's (job_evidence_mismatch, for every line that carries evidence),
    its algorithm was approved on the asset when it was submitted (job_algorithm_not_approved), and its grant's jobs
    stayed within the asset's per-grant privacy budget (privacy_budget_exceeded); allowed receipts of compute-only
    assets without evidence are counted (jobs_unchecked). Only evidence that is the receipt's is checked further
    (a receipt id once)."""
    out: list[Finding] = []
    trusted: dict[str, ReceiptEntry] = {}
    for e in sorted((e for e in receipts if e.job is not None), key=job_order):
        problem = _evidence_problem(e, parties)
        if problem:
            assert e.job is not None
            out.append(Finding("error", "job_evidence_mismatch", f"job {e.job.job_id}", problem))
        else:
            trusted.setdefault(e.receipt.receipt_id, e)
    jobs = list(trusted.values())
    policy = compute_policy(s, {e.receipt.asset_id for e in jobs}) if jobs else ComputePolicy((), ())
    for e in jobs:
        out += _approval_findings(e, policy, parties)
    out += _budget_findings(jobs, policy, parties)
    out += _unchecked_job_findings(s, {e.receipt.receipt_id for e in receipts if e.job is not None}, allowed, parties)
    return out


def _evidence_problem(e: ReceiptEntry, parties: _Parties) -> str | None:
    """Why a job's evidence is not its receipt's (None when it is)."""
    r, j = e.receipt, e.job
    assert j is not None
    digest = j.digest()
    if digest != r.content_hash:
        return (f"the evidence supplied with receipt {r.receipt_id} (algorithm {parties.asset(j.algorithm_id)}, "
                f"state {j.state}, epsilon {epsilon_text(j.epsilon_micros)}, finished {human_time(j.finished)}) hashes "
                f"to {digest}, the receipt's content hash is {r.content_hash}: it is not the evidence the gateway "
                "wrote, so this job's algorithm and budget were not checked")
    differs = [f"{what} {mine} where its receipt names {theirs}" for what, mine, theirs in (
        ("grant", j.grant_id, r.grant_id), ("asset", j.asset_id, r.asset_id),
        ("consumer", j.consumer, r.consumer.lower())) if mine != theirs.lower()]
    if differs:
        return (f"the evidence of receipt {r.receipt_id} hashes to its content hash but names "
                f"{'; '.join(differs)}: it is the evidence of another job, so this job was not checked further")
    return None


def _approval_findings(e: ReceiptEntry, policy: ComputePolicy, parties: _Parties) -> list[Finding]:
    """job_algorithm_not_approved: the algorithm was not approved on the asset at the job's time."""
    r, j = e.receipt, e.job
    assert j is not None
    if policy.approved_at(r.asset_id, j.algorithm_id, r.timestamp):
        return []
    events = policy.approvals_of(r.asset_id, j.algorithm_id)
    last = policy.last_change(r.asset_id, j.algorithm_id, r.timestamp)
    if last is not None:
        why = (f"its approval was withdrawn {human_time(last.at.timestamp)} in block {last.at.block} by "
               f"{parties.who(last.by)}")
    elif events:
        first = events[0]
        why = f"it was first approved {human_time(first.at.timestamp)} in block {first.at.block}, after the job"
    else:
        why = "it was never approved on this asset"
    ran = "never ran (its use was given back)" if r.decision == "deny" else f"ran ({j.state})"
    return [Finding("error", "job_algorithm_not_approved", f"job {j.job_id}",
                    f"algorithm {parties.asset(j.algorithm_id)} on asset {parties.asset(r.asset_id)}, submitted "
                    f"{human_time(r.timestamp)} by {parties.who(r.consumer)} under grant {r.grant_id} (receipt "
                    f"{r.receipt_id}), {ran} without its provider's approval: {why}")]


def _budget_findings(jobs: Sequence[ReceiptEntry], policy: ComputePolicy, parties: _Parties) -> list[Finding]:
    """privacy_budget_exceeded: a grant's jobs, added up in the order they were taken, went over the asset's
    per-grant budget in force when the job that went over was submitted (one finding per grant)."""
    out = []
    by_grant: dict[str, list[ReceiptEntry]] = defaultdict(list)
    for e in jobs:  # already in the order the gateway took them
        by_grant[e.receipt.grant_id].append(e)
    for gid, mine in by_grant.items():
        spent = 0
        spending: list[int] = []
        for e in mine:
            r, j = e.receipt, e.job
            assert j is not None
            if not j.epsilon_micros:
                continue
            spent += j.epsilon_micros
            spending.append(j.epsilon_micros)
            budget, setting = policy.budget_at(r.asset_id, r.timestamp)
            if spent <= budget:
                continue
            source = (f"set {human_time(setting.at.timestamp)} in block {setting.at.block}" if setting is not None
                      else "none was ever set, so no differentially private release was allowed")
            parts = " + ".join(epsilon_text(x) for x in spending) if len(spending) <= 6 else f"{len(spending)} jobs"
            out.append(Finding("error", "privacy_budget_exceeded", f"grant {gid}",
                               f"its jobs on asset {parties.asset(r.asset_id)} for {parties.who(r.consumer)} spent "
                               f"epsilon {epsilon_text(spent)} ({parts}) by {human_time(r.timestamp)}, over the "
                               f"asset's per-grant privacy budget of epsilon {epsilon_text(budget)} then ({source}); "
                               f"job {j.job_id} (receipt {r.receipt_id}, algorithm {parties.asset(j.algorithm_id)}) "
                               "went over"))
            break
    return out


def _unchecked_job_findings(s: Session, with_evidence: set[str], allowed: Sequence[ReceiptEntry],
                            parties: _Parties) -> list[Finding]:
    """jobs_unchecked: allowed receipts of assets compute-only at the time (every allowed access to one is a job)
    that carry no job evidence."""
    bare = [e for e in allowed if e.receipt.receipt_id not in with_evidence]
    if not bare:
        return []
    assets = {e.receipt.asset_id for e in bare}
    policies: dict[str, list[PolicyRow]] = defaultdict(list)
    for p in sorted(s.exec(select(PolicyRow).where(col(PolicyRow.asset_id).in_(assets))),
                    key=lambda p: (p.block_number, p.log_index)):
        policies[p.asset_id].append(p)

    def compute_only(e: ReceiptEntry) -> bool:
        in_force = [p for p in policies.get(e.receipt.asset_id, []) if p.timestamp <= e.receipt.timestamp]
        return bool(in_force) and in_force[-1].compute_only

    missing = [e for e in bare if compute_only(e)]
    if not missing:
        return []
    names = ", ".join(parties.asset(a) for a in sorted({e.receipt.asset_id for e in missing}))
    return [Finding("info", "jobs_unchecked", f"{len(missing)} receipt(s)",
                    f"allowed receipts of compute-only asset(s) {names} carry no job evidence: their algorithms and "
                    "privacy budgets were not checked. Pass receipts whose lines carry each job's evidence (\"job\", "
                    "as the gateway's GET /receipts/{id} returns it)")]
