"""Fast keccak-256 (the Ethereum variant, not SHA3-256).

`eth_hash` builds a fresh pycryptodome object per call (~3.5 us); Merkle
trees hash hundreds of thousands of short inputs, so this module keeps one
reusable keccak state per thread and calls pycryptodome's C functions
directly (~1 us). Falls back to `eth_hash` if that private API is missing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Hasher = Callable[[bytes], bytes]

_local = threading.local()


def _make_raw_hasher() -> Hasher:
    """Return a keccak-256 function bound to a private pycryptodome state."""
    import cffi
    from Crypto.Hash.keccak import _raw_keccak_lib as lib
    from Crypto.Util._raw_api import SmartPointer, VoidPointer, c_size_t, c_ubyte

    holder = VoidPointer()
    if lib.keccak_init(holder.address_of(), c_size_t(64), c_ubyte(24)):
        raise RuntimeError("keccak_init failed")
    state = SmartPointer(holder.get(), lib.keccak_destroy)
    raw = state.get()
    out = cffi.FFI().new("uint8_t[32]")
    view = cffi.FFI().buffer(out)
    reset, absorb, digest = lib.keccak_reset, lib.keccak_absorb, lib.keccak_digest

    def keccak(data: bytes) -> bytes:
        reset(raw)
        absorb(raw, data, len(data))
        digest(raw, out, 32, 1)  # padding 0x01: original Keccak, as Ethereum
        return view[:]

    keccak.state = state  # type: ignore[attr-defined]  # keep the state alive
    return keccak


def _make_hasher() -> Hasher:
    from eth_hash.auto import keccak as fallback

    try:
        fast = _make_raw_hasher()
        if fast(b"") == fallback(b"") and fast(b"abc") == fallback(b"abc"):
            return fast
    except Exception:  # private pycryptodome API changed: use the public one
        pass
    return fallback


def hasher() -> Hasher:
    """Return this thread's keccak-256 function (not shareable across threads)."""
    fn: Hasher | None = getattr(_local, "fn", None)
    if fn is None:
        fn = _local.fn = _make_hasher()
    return fn


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte keccak-256 digest of `data`."""
    return hasher()(data)
