"""Bulk asset anchoring: a folder's files (content hash, size) under one root, in one transaction (kind 2).

No table and no gateway: one tree over (content hash, size) pairs, one ``anchorRoot`` transaction;
anchoring the same set again is a no-op that returns the same proofs (``tds asset anchor-folder``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from anchoring.notary import anchor_once
from chain.contracts import AnchorsClient
from notary.errors import NotaryError
from notary.hashing import sha256_file
from notary.proofs import ProofDocument, seal_assets


@dataclass(frozen=True)
class AnchoredAssets:
    """One anchored tree of asset hashes: where it is and one anchored proof per content hash."""

    root: str
    leaf_count: int
    anchor_tx: str
    anchor_block: int
    sent: bool  # False: this exact set was anchored before; nothing was sent
    gas_used: int | None
    proofs: dict[str, ProofDocument]


def anchor_assets(anchors: AnchorsClient, assets: Sequence[tuple[str, int]]) -> AnchoredAssets:
    """Anchor many (content_hash, size) pairs under one root in ONE transaction (kind 2).

    Duplicate pairs are anchored once; one hash with two sizes is an error. Proof documents are keyed
    by lower-case content hash. Running it again for the same set sends nothing and returns the same.
    """
    unique: dict[str, int] = {}
    for content_hash, size in assets:
        key = content_hash.lower()
        if unique.setdefault(key, size) != size:
            raise NotaryError(f"content hash {key} is given with two sizes ({unique[key]} and {size})")
    if not unique:
        raise NotaryError("no assets to anchor")
    contract = anchors.chain.address("AnchorRegistry")
    chain_id = anchors.chain.chain_id
    batch = seal_assets(list(unique.items()), chain_id=chain_id, contract=contract)
    done = anchor_once(anchors, batch.root, len(unique), AnchorsClient.KIND_ASSETS)
    proofs = {h: doc.anchored(chain_id=chain_id, contract=contract, anchor_tx=done.anchor_tx,
                              anchor_block=done.anchor_block, anchorer=done.anchorer, provider=done.provider)
              for h, doc in batch.proofs.items()}
    return AnchoredAssets(batch.root, len(unique), done.anchor_tx, done.anchor_block, done.sent, done.gas_used, proofs)


def folder_assets(directory: str | Path) -> dict[Path, tuple[str, int]]:
    """Every regular file under ``directory`` (recursively, sorted) -> (SHA-256 as 0x hex, size)."""
    root = Path(directory)
    if not root.is_dir():
        raise NotaryError(f"{directory} is not a directory")
    return {p: ("0x" + sha256_file(p).hex(), p.stat().st_size) for p in sorted(root.rglob("*")) if p.is_file()}
