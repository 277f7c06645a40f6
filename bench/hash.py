"""Benchmark: notary.hashing.sha256_file against coreutils `sha256sum`; notary keccak-256.

Run from the repository root:  .venv/bin/python -m bench.hash [PATH] [--size-mib N]
Without PATH a temporary file of N MiB (default 1024) is created and deleted.
Runs alternate (sha256sum, tds) three times; medians are reported.

With `--keccak [--baseline REV]`: nanoseconds per 64-byte keccak-256 (a Merkle
node) for `notary._keccak` against eth-hash's default backend and pycryptodome's
public `Crypto.Hash.keccak`, and, with REV, against `notary/_keccak.py` as it was
at git revision REV, plus 100,000-leaf receipt tree builds with each; runs
alternate, medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable

if __name__ == "__main__" and sys.path and os.path.basename(sys.path[0]) == "bench":
    sys.path[0] = os.path.dirname(sys.path[0])

from notary.hashing import sha256_hex  # noqa: E402

MIB = 1024 * 1024
RUNS = 3


def write_random_file(path: str, size_mib: int) -> None:
    """Fill `path` with `size_mib` MiB of pseudo-random bytes."""
    block = os.urandom(MIB)
    with open(path, "wb") as fh:
        for i in range(size_mib):
            fh.write(block[i % 251 :] + block[: i % 251])


def time_sha256sum(path: str) -> tuple[float, str]:
    """Return (seconds, hex digest) for one `sha256sum` run."""
    start = time.perf_counter()
    out = subprocess.run(["sha256sum", path], capture_output=True, text=True, check=True)
    return time.perf_counter() - start, out.stdout.split()[0]


def time_tds(path: str) -> tuple[float, str]:
    """Return (seconds, hex digest) for one sha256_file run."""
    start = time.perf_counter()
    digest = sha256_hex(path)
    return time.perf_counter() - start, digest


def measure(path: str) -> dict[str, float]:
    """Alternate the two hashers RUNS times; return median throughputs and ratio."""
    size_mib = os.path.getsize(path) / MIB
    time_tds(path)  # warm the page cache so both sides read from memory
    ref, tds = [], []
    for _ in range(RUNS):
        t_ref, d_ref = time_sha256sum(path)
        t_tds, d_tds = time_tds(path)
        if d_ref != d_tds:
            raise SystemExit(f"digest mismatch: sha256sum {d_ref} vs tds {d_tds}")
        ref.append(size_mib / t_ref)
        tds.append(size_mib / t_tds)
    ref_mib_s, tds_mib_s = statistics.median(ref), statistics.median(tds)
    return {
        "sha256sum_mib_s": round(ref_mib_s, 1),
        "tds_mib_s": round(tds_mib_s, 1),
        "ratio": round(tds_mib_s / ref_mib_s, 3),
    }


KECCAK_RUNS = 7
KECCAK_INPUTS = 2_000
TREE_LEAVES = 100_000


def keccak_at(rev: str) -> Callable[[bytes], bytes]:
    """Load `notary/_keccak.py` as it was at git revision `rev`; return its hasher."""
    source = subprocess.run(["git", "show", f"{rev}:notary/_keccak.py"],
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType(f"_keccak_at_{rev}")
    exec(compile(source, f"{rev}:notary/_keccak.py", "exec"), module.__dict__)
    fn: Callable[[bytes], bytes] = module.hasher()
    return fn


def keccak_candidates(baseline: str | None) -> dict[str, Callable[[bytes], bytes]]:
    """The keccak-256 functions to compare, by name; notary's own first."""
    from Crypto.Hash import keccak as cryptodome_keccak
    from eth_hash.auto import keccak as eth_hash_auto

    from notary._keccak import hasher

    def cryptodome_public(data: bytes) -> bytes:
        return cryptodome_keccak.new(data=data, digest_bits=256).digest()

    candidates = {"notary._keccak": hasher(), "eth_hash.auto": eth_hash_auto,
                  "Crypto.Hash.keccak": cryptodome_public}
    if baseline:
        candidates[f"notary._keccak@{baseline}"] = keccak_at(baseline)
    return candidates


def ns_per_hash(fn: Callable[[bytes], bytes], inputs: list[bytes]) -> float:
    """Nanoseconds per call of `fn` over `inputs` (best of three passes)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for data in inputs:
            fn(data)
        best = min(best, time.perf_counter() - start)
    return best / len(inputs) * 1e9


def tree_leaves_per_s(fn: Callable[[bytes], bytes], values: list[list[object]]) -> float:
    """Build a receipt tree over `values` with `fn` as notary's keccak; return leaves/s."""
    import notary.merkle as merkle
    from notary.receipts import RECEIPT_LEAF_ENCODING

    saved = merkle.hasher
    merkle.hasher = lambda: fn
    try:
        start = time.perf_counter()
        merkle.StandardMerkleTree.of(values, RECEIPT_LEAF_ENCODING)
        return len(values) / (time.perf_counter() - start)
    finally:
        merkle.hasher = saved


def measure_keccak(baseline: str | None) -> dict[str, object]:
    """Alternate the candidates KECCAK_RUNS times; medians, ratios and tree rates."""
    from bench.notary import make_receipts

    candidates = keccak_candidates(baseline)
    inputs = [os.urandom(64) for _ in range(KECCAK_INPUTS)]
    expected = [candidates["notary._keccak"](x) for x in inputs]
    for name, fn in candidates.items():
        if [fn(x) for x in inputs] != expected:
            raise SystemExit(f"digest mismatch: {name}")
    ns: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(KECCAK_RUNS):
        for name, fn in candidates.items():
            ns[name].append(ns_per_hash(fn, inputs))
    medians = {name: round(statistics.median(v)) for name, v in ns.items()}
    ours = medians["notary._keccak"]
    figures: dict[str, object] = {
        "ns_per_64b_hash": medians,
        "ratio_to_notary": {name: round(v / ours, 2) for name, v in medians.items()},
    }
    tree_names = ["notary._keccak"] + ([f"notary._keccak@{baseline}"] if baseline else [])
    rates: dict[str, list[float]] = {name: [] for name in tree_names}
    for run in range(3):
        values = [r.leaf_values() for r in make_receipts(TREE_LEAVES, seed=run)]
        for name in tree_names:
            rates[name].append(tree_leaves_per_s(candidates[name], values))
    figures["tree_leaves_per_s"] = {n: round(statistics.median(v)) for n, v in rates.items()}
    return figures


def keccak_main(baseline: str | None) -> None:
    """Run the keccak comparison; print figures and a final JSON line."""
    figures = measure_keccak(baseline)
    ns = figures["ns_per_64b_hash"]
    ratio = figures["ratio_to_notary"]
    print(f"keccak-256 of 64 bytes, {KECCAK_RUNS} alternating runs each, medians:")
    for name in ns:  # type: ignore[attr-defined]
        print(f"  {name:28s} {ns[name]:6d} ns/hash  x{ratio[name]}")  # type: ignore[index]
    print(f"receipt tree build, {TREE_LEAVES} leaves, median of 3 (leaves/s):")
    for name, rate in figures["tree_leaves_per_s"].items():  # type: ignore[attr-defined]
        print(f"  {name:28s} {rate}")
    tail = f" --baseline {baseline}" if baseline else ""
    print(f"reproduce: .venv/bin/python -m bench.hash --keccak{tail}")
    print(json.dumps(figures))


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the comparison, print figures and a final JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="file to hash (default: temporary file)")
    parser.add_argument("--size-mib", type=int, default=1024, help="temporary file size")
    parser.add_argument("--keccak", action="store_true", help="compare keccak-256 backends")
    parser.add_argument("--baseline", help="with --keccak: git revision of notary/_keccak.py")
    args = parser.parse_args(argv)
    if args.keccak:
        keccak_main(args.baseline)
        return
    tmpdir = None
    path = args.path
    if path is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="tds-bench-hash-")
        path = os.path.join(tmpdir.name, "data.bin")
        write_random_file(path, args.size_mib)
    try:
        figures = measure(path)
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    size = os.path.getsize(path) / MIB if tmpdir is None else args.size_mib
    print(f"file: {size:.0f} MiB, {RUNS} alternating runs each, medians (warm page cache)")
    print(f"sha256sum:        {figures['sha256sum_mib_s']} MiB/s")
    print(f"notary.hashing:   {figures['tds_mib_s']} MiB/s")
    print(f"ratio tds/sha256sum: {figures['ratio']}")
    print(f"reproduce: .venv/bin/python -m bench.hash --size-mib {args.size_mib}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
