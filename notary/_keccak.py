"""keccak-256 (the Ethereum variant, not SHA3-256) through eth-hash's C backend.

Merkle trees hash hundreds of thousands of short inputs, so the choice of
backend matters: eth-hash's `pysha3` backend (the maintained `safe-pysha3`
C extension) hashes 64 bytes in about 1.2 us, eth-hash's default pick here,
pycryptodome, in about 9 us, because it builds a Python hash object per call
(measured side by side: `.venv/bin/python -m bench.hash --keccak`). So this
module names the `pysha3` backend explicitly rather than `eth_hash.auto`,
which prefers pycryptodome whenever that is installed (web3 installs it).
"""

from __future__ import annotations

from collections.abc import Callable

from eth_hash.backends.pysha3 import keccak256 as _keccak256

Hasher = Callable[[bytes], bytes]

BACKEND = "eth_hash.backends.pysha3 (safe-pysha3)"


def hasher() -> Hasher:
    """Return the keccak-256 function (stateless, safe to share across threads)."""
    return _keccak256


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte keccak-256 digest of `data`."""
    return _keccak256(data)
