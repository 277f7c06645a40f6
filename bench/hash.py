"""Benchmark: notary.hashing.sha256_file against coreutils `sha256sum`.

Run from the repository root:  .venv/bin/python -m bench.hash [PATH] [--size-mib N]
Without PATH a temporary file of N MiB (default 1024) is created and deleted.
Runs alternate (sha256sum, tds) three times; medians are reported.
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


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the comparison, print figures and a final JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="file to hash (default: temporary file)")
    parser.add_argument("--size-mib", type=int, default=1024, help="temporary file size")
    args = parser.parse_args(argv)
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
