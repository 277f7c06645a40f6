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
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import func
from sqlmodel import Session, select

from audit.db import AnchorRow, AssetRow, GrantRow, RevocationRow, SettlementRow
from audit.queries import anchors_by_root, receipt_evidence
from audit.receipts import Evidence, ReceiptEntry, anchored_allowed
from domain.terms import count_exceeded, window_verdict
from domain.types import Liveness
from notary.merkle import StandardMerkleTree
from notary.proofs import did_pkh
from notary.receipts import RECEIPT_LEAF_ENCODING

FileCheck = Callable[[str], "bool | None"]
"""asset id -> True (stored bytes match the id), False (they do not), None (not stored here)."""


@dataclass(frozen=True)
class Finding:
    """One thing that does not add up."""

    severity: str  # error | warning
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
              chain_id: int | None = None) -> CheckReport:
    """Check receipts against grants, grant use against maxCount, anchored roots against receipts and the
    providers they were anchored for (a receipt counts only under a root anchored for its asset's provider,
    by it or its notary key: the indexed ``RootAnchored`` says for whom), files. ``chain_id`` names parties
    by DID."""
    findings: list[Finding] = []
    allowed = _unique(receipts, findings)
    grants = {g.grant_id: g for g in s.exec(select(GrantRow))}
    revoked = {r.grant_id: r for r in s.exec(select(RevocationRow))}
    roots = anchors_by_root(s)
    evidence = receipt_evidence(s)
    parties = _Parties(chain_id)
    for entry in allowed:
        findings += _receipt_findings(entry, grants, revoked)
    findings += _proof_findings(receipts, roots)
    findings += parties.anchorer_findings(receipts, roots, evidence)
    findings += _use_findings(s, allowed, grants, evidence)
    findings += _root_findings(receipts, roots, evidence, parties)
    verified = sum(1 for e in receipts if evidence.vouches(e) and e.proof_problem() is None)
    receipt_roots = sum(1 for rows in roots.values() if any(a.kind == 1 for a in rows))
    if receipt_roots and not verified:
        findings.append(Finding("warning", "no_receipts_verified", f"{receipt_roots} anchored receipts root(s)",
                                "0 receipts were verified against them: pass the gateway's receipts with --receipts "
                                "(`tds audit receipts -o receipts.jsonl`), else this check says nothing about accesses"))
    files = _file_findings(s, file_check, findings) if file_check else 0
    counted = {"receipts": len(receipts), "verified_receipts": verified, "allowed": len(allowed),
               "grants": len(grants), "anchored_roots": len(roots), "files": files}
    return CheckReport(tuple(findings), counted)


@dataclass(frozen=True)
class _Parties:
    """Names participants in findings (with their DIDs when the chain id is known)."""

    chain_id: int | None

    def who(self, address: str) -> str:
        return address if self.chain_id is None else f"{address} ({did_pkh(self.chain_id, address)})"

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
    settled = s.exec(select(SettlementRow.grant_id, func.sum(SettlementRow.count))  # type: ignore[call-overload]
                     .group_by(SettlementRow.grant_id)).all()
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
                   parties: _Parties) -> list[Finding]:
    """Each receipts anchor against the supplied receipts under its root. An anchor made for a provider none of
    whose assets' receipts are under the root (another provider anchoring a gateway's root, e.g. a squatter
    who anchored it first) vouches for nothing: a warning, not rebuilt."""
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
                if receipts:
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
