"""The auditor's receipts file: one JSON object per line, ``{"receipt": {...}, "proof": {...} | null}``.

Lines come from the gateway's receipt store (``Receipt.to_dict()`` and ``ProofDocument.to_dict()``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.errors import InputInvalid
from notary.errors import NotaryError, ProofInvalid
from notary.merkle import leaf_hash
from notary.proofs import ProofDocument, verify_offline
from notary.receipts import RECEIPT_LEAF_ENCODING, Receipt


@dataclass(frozen=True)
class ReceiptEntry:
    """A receipt and, once sealed, its proof document."""

    receipt: Receipt
    proof: ProofDocument | None

    def proof_problem(self) -> str | None:
        """Why the proof does not prove this receipt (None when it does, or when there is no proof)."""
        if self.proof is None:
            return None
        if self.proof.kind != "receipt":
            return f"proof is of kind {self.proof.kind!r}, not a receipt proof"
        expected = "0x" + leaf_hash(RECEIPT_LEAF_ENCODING, self.receipt.leaf_values()).hex()
        if expected != self.proof.leaf:
            return f"proof leaf {self.proof.leaf} is not this receipt's leaf {expected}"
        try:
            verify_offline(self.proof)
        except ProofInvalid as exc:
            return exc.reason
        return None

    def to_json(self) -> dict[str, Any]:
        """The file line's object."""
        return {"receipt": self.receipt.to_dict(), "proof": None if self.proof is None else self.proof.to_dict()}


def parse_line(text: str, where: str = "line") -> ReceiptEntry:
    """One line of a receipts file; raise InputInvalid naming the line and the problem."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputInvalid(f"{where}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or "receipt" not in data:
        raise InputInvalid(f"{where}: expected an object with 'receipt' and 'proof'")
    try:
        receipt = Receipt.from_dict(data["receipt"])
        raw = data.get("proof")
        proof = None if raw is None else ProofDocument.from_dict(raw)
    except NotaryError as exc:
        raise InputInvalid(f"{where}: {exc.reason}") from exc
    return ReceiptEntry(receipt, proof)


def load_receipts(path: str | Path) -> list[ReceiptEntry]:
    """Every entry of a receipts file (blank lines skipped)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise InputInvalid(f"cannot read receipts file {path}: {exc}") from exc
    return [parse_line(line, f"{path}:{n}") for n, line in enumerate(lines, 1) if line.strip()]


def dump_receipts(entries: Iterable[ReceiptEntry], path: str | Path) -> None:
    """Write a receipts file."""
    Path(path).write_text("".join(json.dumps(e.to_json()) + "\n" for e in entries))


def anchored_allowed(entries: Sequence[ReceiptEntry], evidence: Evidence) -> list[ReceiptEntry]:
    """Allowed receipts whose proof holds and whose root is evidence for them (see :class:`Evidence`)."""
    return [e for e in entries if e.receipt.decision == "allow" and evidence.vouches(e) and e.proof_problem() is None]


@dataclass(frozen=True)
class Evidence:
    """Which receipts an anchored root vouches for: a receipt only under a root anchored as receipts on behalf
    of the provider of its asset (``AnchorRegistry.verifyReceipt``'s rule). ``anchors`` holds (provider, root)
    pairs of receipts anchors, ``providers`` asset id -> provider; addresses compare case-insensitively."""

    anchors: frozenset[tuple[str, str]]
    providers: Mapping[str, str]

    @classmethod
    def of(cls, anchors: Iterable[tuple[str, str]], providers: Mapping[str, str]) -> Evidence:
        """From (provider, root) pairs of kind-1 anchors and asset id -> provider."""
        return cls(frozenset((p.lower(), r.lower()) for p, r in anchors),
                   {a.lower(): p.lower() for a, p in providers.items()})

    def provider_of(self, entry: ReceiptEntry) -> str | None:
        """The (lower-case) provider of the entry's asset, None if unregistered."""
        return self.providers.get(entry.receipt.asset_id.lower())

    def vouches(self, entry: ReceiptEntry) -> bool:
        """Whether the entry's proof root was anchored as receipts for the provider of the entry's asset."""
        provider = self.provider_of(entry)
        return entry.proof is not None and provider is not None \
            and (provider, entry.proof.root.lower()) in self.anchors
