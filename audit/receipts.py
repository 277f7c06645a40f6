"""The auditor's receipts file: one JSON object per line, ``{"receipt": {...}, "proof": {...} | null}``.

Lines come from the gateway's receipt store (``Receipt.to_dict()`` and ``ProofDocument.to_dict()``). A compute
job's receipt may carry its evidence beside them, ``"job": {...}``: the ``tds-job/1`` document
(:mod:`notary.jobs`) whose SHA-256 is the receipt's content hash, as ``GET /receipts/{id}`` returns it.
Other keys of a line (``consumer_did``) are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.errors import InputInvalid
from notary.errors import NotaryError, ProofInvalid
from notary.jobs import JOB_EVIDENCE_VERSION, evidence_digest
from notary.merkle import leaf_hash
from notary.proofs import ProofDocument, verify_offline
from notary.receipts import RECEIPT_LEAF_ENCODING, Receipt


_JOB_TEXT = ("job", "grant", "consumer", "asset", "algorithm", "input_sha256", "params_sha256", "output_sha256",
             "state")
_JOB_INTS = ("epsilon_micros", "cpu_ms", "bytes_out", "started", "finished")


@dataclass(frozen=True)
class JobEvidence:
    """A compute job's ``tds-job/1`` evidence document as supplied (``document``, hashed as given) and its fields."""

    document: Mapping[str, Any] = field(compare=False, hash=False, repr=False)
    job_id: str
    grant_id: str
    consumer: str
    asset_id: str
    algorithm_id: str
    output_sha256: str
    epsilon_micros: int
    state: str
    exit_status: int | None
    cpu_ms: int
    bytes_out: int
    started: int
    finished: int

    @classmethod
    def from_dict(cls, data: Any) -> JobEvidence:
        """Parse the document; InputInvalid names what is missing or of the wrong type."""
        if not isinstance(data, dict):
            raise InputInvalid(f"job evidence must be an object, got {type(data).__name__}")
        if data.get("v") != JOB_EVIDENCE_VERSION:
            raise InputInvalid(f"job evidence of version {str(data.get('v'))[:40]!r}, "
                               f"expected {JOB_EVIDENCE_VERSION!r}")
        for name in _JOB_TEXT:
            if not isinstance(data.get(name), str):
                raise InputInvalid(f"job evidence field {name!r} must be a string")
        for name in _JOB_INTS:
            value = data.get(name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputInvalid(f"job evidence field {name!r} must be a whole number >= 0")
        status = data.get("exit_status")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
            raise InputInvalid("job evidence field 'exit_status' must be a whole number or null")
        return cls(dict(data), data["job"], data["grant"].lower(), data["consumer"].lower(), data["asset"].lower(),
                   data["algorithm"].lower(), data["output_sha256"].lower(), data["epsilon_micros"], data["state"],
                   status, data["cpu_ms"], data["bytes_out"], data["started"], data["finished"])

    def digest(self) -> str:
        """SHA-256 of the document's canonical JSON (what the receipt's content hash must be)."""
        return evidence_digest(dict(self.document))


@dataclass(frozen=True)
class ReceiptEntry:
    """A receipt and, once sealed, its proof document; a compute job's receipt may carry its evidence."""

    receipt: Receipt
    proof: ProofDocument | None
    job: JobEvidence | None = None

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
        line: dict[str, Any] = {"receipt": self.receipt.to_dict(),
                                "proof": None if self.proof is None else self.proof.to_dict()}
        if self.job is not None:
            line["job"] = dict(self.job.document)
        return line


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
    try:
        job = None if data.get("job") is None else JobEvidence.from_dict(data["job"])
    except InputInvalid as exc:
        raise InputInvalid(f"{where}: {exc}") from exc
    return ReceiptEntry(receipt, proof, job)


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
