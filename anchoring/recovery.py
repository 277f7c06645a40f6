"""What survives a lost gateway database, read and checked: the chain's roots, the journal, auditors' exports.

The chain holds the receipts roots anchored on behalf of a provider (``RootAnchored``, kind 1, sent by
its key or a notary key it registered). A database that does not know one of them has lost accesses.
The receipts of those batches survive in two places outside the database:

- the notary's journal (:mod:`anchoring.journal`, ``<journal dir>/<root>.jsonl``, written before each
  anchor): every file must rebuild to its root, match the chain's leaf count when anchored and be of
  this chain, or the whole recovery is refused (the journal was altered or damaged);
- auditors' receipts exports (``tds audit receipts``, one ``{"receipt", "proof"}`` per line): lines
  without a receipt proof (pending when exported) are skipped, and so are roots not anchored by this
  provider and roots whose receipts do not rebuild them (each skip is reported).

:func:`recover` gathers the batches the database lacks and refuses (:class:`RecoveryRefused`, with the
roots nobody has receipts of) unless every anchored root is found, each receipt id in one batch only.
Applying them to a database is the gateway's part (``gateway.reconcile``). Chain reads raise chain
errors (:class:`chain.errors.ChainError`); the caller says what they mean to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine

from anchoring.errors import RecoveryRefused
from anchoring.journal import read_journal
from anchoring.notary import NotaryBatch
from anchoring.schema import upgrade_database
from chain.contracts import AnchorsClient
from notary.errors import NotaryError
from notary.proofs import ProofDocument, seal
from notary.receipts import Receipt

Anchored = Mapping[str, Mapping[str, Any]]
"""root -> its RootAnchored event (``leaf_count``, ``tx``, ``block``, ...)."""


@dataclass(frozen=True)
class RecoveredBatch:
    """One batch rebuilt from receipts outside the database, and where they came from."""

    root: str
    receipts: tuple[Receipt, ...]
    source: str


@dataclass
class Recovered:
    """What :func:`recover` found: the batches by root, and why some receipts at hand were not used."""

    batches: dict[str, RecoveredBatch] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


# ---- what the chain says, what the database knows ------------------------------------------------------


def anchored_roots(anchors: AnchorsClient, provider: str) -> dict[str, dict[str, Any]]:
    """Receipts roots anchored on behalf of ``provider`` (by its key or its notary keys): root -> its
    RootAnchored event. ChainError if the chain cannot be read."""
    events = anchors.anchored_by(provider, AnchorsClient.KIND_RECEIPTS)
    return {e["root"].lower(): e for e in events}


def known_roots(engine: Engine) -> set[str]:
    """Roots of every batch the database holds (sealed or anchored)."""
    upgrade_database(engine)  # at head already when the gateway opened it: one SELECT
    with engine.connect() as conn:
        return {str(r).lower() for r in conn.execute(sa_select(NotaryBatch.root)).scalars()}


def missing_roots(anchors: AnchorsClient, provider: str, engine: Engine) -> list[str]:
    """Anchored roots the database does not know (chain read first: a root anchored in between is known)."""
    anchored = anchored_roots(anchors, provider)
    return sorted(set(anchored) - known_roots(engine))


# ---- the receipts that survive ---------------------------------------------------------------------------


def recover(anchored: Anchored, known: set[str], journal: Path, receipts_files: Sequence[Path] = (), *,
            chain_id: int) -> Recovered:
    """The batches of every anchored root the database does not know, from the journal directory first,
    then the receipts files in order; RecoveryRefused if some root has no receipts anywhere, a journal
    does not match, or a receipt id is in two batches."""
    found = Recovered()
    for batch in journal_batches(journal, known, anchored, chain_id=chain_id):
        found.batches.setdefault(batch.root, batch)
    for path in receipts_files:
        batches, skipped = export_batches(path, known, anchored)
        found.skipped += skipped
        for batch in batches:
            found.batches.setdefault(batch.root, batch)
    missing = sorted(set(anchored) - known - set(found.batches))
    if missing:
        raise RecoveryRefused(
            f"{len(missing)} anchored receipts root(s) have no receipts in the journal or the files given: "
            f"{', '.join(missing)}. Restore the database from a backup, or pass the receipts with --receipts FILE "
            "(an auditor's `tds audit receipts` export); nothing was changed", missing)
    check_unique(found.batches.values())
    return found


def journal_batches(directory: Path, known: set[str], anchored: Anchored, *, chain_id: int) -> list[RecoveredBatch]:
    """The journal's batches the database does not know (none if ``directory`` is not one); RecoveryRefused
    if a file is unreadable, does not rebuild to its root, does not match the chain or is of another chain."""
    batches = []
    for path in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
        try:
            head, receipts = read_journal(path)
        except NotaryError as exc:
            raise RecoveryRefused(f"journal {path} is unreadable: {exc}; move it away if it is not a journal "
                                  "file, nothing was changed") from exc
        root = str(head["root"]).lower()
        if root in known:
            continue
        rebuilt = seal(receipts).root.lower() if receipts else None
        if rebuilt != root or path.stem.lower() != root or head.get("leaf_count") != len(receipts):
            raise RecoveryRefused(
                f"journal {path} does not rebuild to its root {root} (its {len(receipts)} receipts give "
                f"{rebuilt}): it was altered or damaged; restore it from a backup or pass the auditor's export "
                "with --receipts FILE instead; nothing was changed")
        on_chain = anchored.get(root)
        if on_chain is not None and on_chain["leaf_count"] != len(receipts):
            raise RecoveryRefused(f"journal {path} holds {len(receipts)} receipts but root {root} was anchored "
                                  f"with {on_chain['leaf_count']}: it does not match the chain; nothing was changed")
        if head.get("chain_id") not in (None, chain_id):
            raise RecoveryRefused(f"journal {path} is of chain {head.get('chain_id')}, not {chain_id}")
        batches.append(RecoveredBatch(root, tuple(receipts), str(path)))
    return batches


def export_batches(path: Path, known: set[str], anchored: Anchored) -> tuple[list[RecoveredBatch], list[str]]:
    """(batches the database does not know, why other lines were not used) of one receipts export;
    RecoveryRefused if the file cannot be read or a line is not a receipts line."""
    by_root: dict[str, list[Receipt]] = {}
    pending = 0
    skipped: list[str] = []
    for n, line in enumerate(_lines(path), 1):
        try:
            data = json.loads(line)
            receipt = Receipt.from_dict(data["receipt"])
            proof = None if data.get("proof") is None else ProofDocument.from_dict(data["proof"])
        except (ValueError, KeyError, TypeError, NotaryError) as exc:
            raise RecoveryRefused(f"{path}:{n}: not a receipts file line ({exc}); nothing was changed") from exc
        if proof is None or proof.kind != "receipt":
            pending += 1
            continue
        by_root.setdefault(proof.root.lower(), []).append(receipt)
    if pending:
        skipped.append(f"{path}: {pending} receipt(s) without a proof (pending when exported)")
    batches = []
    for root, receipts in by_root.items():
        if root in known:
            continue
        if root not in anchored:
            skipped.append(f"{path}: root {root} is not anchored by this gateway ({len(receipts)} receipts)")
            continue
        if len(receipts) != anchored[root]["leaf_count"] or seal(receipts).root.lower() != root:
            skipped.append(f"{path}: root {root}: {len(receipts)} of its {anchored[root]['leaf_count']} "
                           "receipts, they do not rebuild the root")
            continue
        batches.append(RecoveredBatch(root, tuple(receipts), str(path)))
    return batches, skipped


def _lines(path: Path) -> list[str]:
    try:
        return [line for line in Path(path).read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise RecoveryRefused(f"cannot read receipts file {path}: {exc}") from exc


def check_unique(batches: Iterable[RecoveredBatch]) -> None:
    """RecoveryRefused if one receipt id is in two batches (receipt ids must be unique)."""
    seen: dict[str, str] = {}
    for batch in batches:
        for r in batch.receipts:
            if seen.setdefault(r.receipt_id, batch.root) != batch.root:
                raise RecoveryRefused(f"receipt {r.receipt_id} is in two batches ({seen[r.receipt_id]} and "
                                      f"{batch.root}): receipt ids must be unique; nothing was changed")
