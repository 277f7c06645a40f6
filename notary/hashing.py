"""Content hashing: SHA-256 of raw file bytes, the same digest `sha256sum` prints.

Files are streamed in large chunks into one reusable buffer; `hashlib`
releases the GIL while hashing, so other threads keep running.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from notary.errors import FileUnreadable

CHUNK_SIZE = 4 * 1024 * 1024
"""Bytes read per system call."""

Progress = Callable[[int], None]
"""Callback receiving the number of bytes hashed so far."""


def sha256_file(path: str | os.PathLike[str], progress: Progress | None = None) -> bytes:
    """Return the 32-byte SHA-256 digest of the file at `path`.

    `progress`, if given, is called with the running byte count after each
    chunk. Raises `FileUnreadable` if the file is missing or unreadable.
    """
    digest = hashlib.sha256()
    buf = bytearray(CHUNK_SIZE)
    view = memoryview(buf)
    done = 0
    try:
        with open(path, "rb", buffering=0) as fh:
            _advise_sequential(fh.fileno())
            while n := fh.readinto(buf):
                digest.update(view[:n])
                done += n
                if progress is not None:
                    progress(done)
    except OSError as exc:
        raise FileUnreadable(os.fspath(path), exc.strerror or str(exc)) from exc
    return digest.digest()


def sha256_hex(path: str | os.PathLike[str], progress: Progress | None = None) -> str:
    """Return the SHA-256 of the file as 64 lowercase hex digits (as `sha256sum`)."""
    return sha256_file(path, progress).hex()


def _advise_sequential(fd: int) -> None:
    """Hint the kernel to read ahead aggressively, where supported."""
    if hasattr(os, "posix_fadvise"):
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        except OSError:
            pass
