"""Benchmark: Merkle tree build rate and proof size for 100,000 receipts; anchoring gas per receipt.

`gas_per_receipt_1000` anchors the root of 1,000 sealed receipts on a fresh devnet (one
`anchorRoot` transaction, the provider signing) and divides the gas used by 1,000.

Run from the repository root:  .venv/bin/python -m bench.notary
Prints the figures, the command to reproduce, and last a JSON line.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time

if __name__ == "__main__" and sys.path and os.path.basename(sys.path[0]) == "bench":
    # run as a script: keep this file from shadowing the `notary` package
    sys.path[0] = os.path.dirname(sys.path[0])

from notary.merkle import StandardMerkleTree  # noqa: E402
from notary.proofs import seal  # noqa: E402
from notary.receipts import RECEIPT_LEAF_ENCODING, Receipt  # noqa: E402

LEAVES = 100_000
RUNS = 3
GAS_LEAVES = 1_000
COMMAND = ".venv/bin/python -m bench.notary"


def make_receipts(count: int, seed: int) -> list[Receipt]:
    """Return `count` distinct receipts with random ids, grants and consumers."""
    rng = __import__("random").Random(seed)
    return [
        Receipt(
            receipt_id=f"rcpt-{seed}-{i}",
            grant_id="0x" + rng.randbytes(32).hex(),
            asset_id="0x" + rng.randbytes(32).hex(),
            consumer="0x" + rng.randbytes(20).hex(),
            purpose="research",
            decision="allow",
            byte_count=rng.getrandbits(40),
            timestamp=1_700_000_000 + i,
            content_hash="0x" + rng.randbytes(32).hex(),
        )
        for i in range(count)
    ]


def measure_tree(leaves: int = LEAVES, runs: int = RUNS) -> dict[str, float | int]:
    """Time tree builds over fresh receipts (median of `runs`) and the proof size.

    `tree_leaves_per_s` times `StandardMerkleTree.of` on receipt leaf values
    (ABI encoding, leaf hashing, sorting, internal nodes); `seal_receipts_per_s`
    times `seal` end to end (leaf values, tree, one proof document per receipt).
    Each run uses new receipts so no cache is warm.
    """
    tree_rates, seal_rates, proof_len = [], [], 0
    for run in range(runs):
        values = [r.leaf_values() for r in make_receipts(leaves, seed=2 * run)]
        start = time.perf_counter()
        tree = StandardMerkleTree.of(values, RECEIPT_LEAF_ENCODING)
        tree_rates.append(leaves / (time.perf_counter() - start))
        proof_len = max(len(tree.get_proof(i)) for i in range(leaves))
        receipts = make_receipts(leaves, seed=2 * run + 1)
        start = time.perf_counter()
        seal(receipts)
        seal_rates.append(leaves / (time.perf_counter() - start))
    return {
        "leaves": leaves,
        "tree_leaves_per_s": round(statistics.median(tree_rates)),
        "seal_receipts_per_s": round(statistics.median(seal_rates)),
        f"proof_hashes_{leaves}": proof_len,
    }


def measure_anchor_gas(leaves: int = GAS_LEAVES) -> dict[str, float | int]:
    """Anchor one root over `leaves` receipts on a fresh devnet; gas used and gas per receipt."""
    from bench.devspace import start_space
    from chain.contracts import AnchorsClient

    batch = seal(make_receipts(leaves, seed=99))
    with start_space() as space:
        anchors = AnchorsClient(space.chain, space.chain.sender(space.keystore.account("provider")))
        gas = int(anchors.anchor(batch.root, leaves, AnchorsClient.KIND_RECEIPTS)["gasUsed"])
    return {f"anchor_gas_{leaves}": gas, f"gas_per_receipt_{leaves}": round(gas / leaves, 2)}


def main() -> None:
    """Print the figures and a final JSON line."""
    figures: dict[str, float | int] = {**measure_tree(), **measure_anchor_gas()}
    leaves = int(figures["leaves"])
    expected = math.ceil(math.log2(leaves))
    print(f"tree build, {leaves} receipt leaves: {figures['tree_leaves_per_s']} leaves/s "
          f"(median of {RUNS})")
    print(f"seal (tree + proof documents): {figures['seal_receipts_per_s']} receipts/s")
    print(f"proof length at {leaves} leaves: {figures[f'proof_hashes_{leaves}']} hashes "
          f"(ceil(log2 N) = {expected})")
    print(f"anchoring {GAS_LEAVES} receipts: {figures[f'anchor_gas_{GAS_LEAVES}']} gas in one tx, "
          f"{figures[f'gas_per_receipt_{GAS_LEAVES}']} gas per receipt")
    print(f"reproduce: {COMMAND}")
    if figures[f"proof_hashes_{leaves}"] != expected:
        raise SystemExit("proof length differs from ceil(log2 N)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
