"""Errors raised by the notary package.

Hierarchy::

    NotaryError                 root: catch this to catch everything below
    ├── FileUnreadable          a file to hash is missing or cannot be read
    ├── LeafEncodingError       a value does not fit its Merkle leaf encoding
    ├── TreeError               a Merkle tree cannot be built, loaded or queried
    │   └── LeafNotFound        a value or index is not a leaf of the tree
    ├── ReceiptInvalid          an access receipt has a missing or bad field
    └── ProofError
        ├── ProofMalformed      a proof document cannot be parsed (bad JSON,
        │                       missing field, wrong type, bad hex length)
        └── ProofInvalid        a well-formed proof does not prove its claim

Every error carries a human-readable `reason`.
"""

from __future__ import annotations


class NotaryError(Exception):
    """Root of all notary errors."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FileUnreadable(NotaryError):
    """A file to hash is missing, is a directory, or cannot be read."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot read {path!r}: {reason}")
        self.path = path


class LeafEncodingError(NotaryError):
    """A value does not match the Merkle leaf encoding (ABI types)."""


class TreeError(NotaryError):
    """A Merkle tree cannot be built, loaded or queried."""


class LeafNotFound(TreeError):
    """A value or index is not a leaf of the tree."""


class ReceiptInvalid(NotaryError):
    """An access receipt has a missing or malformed field."""


class ProofError(NotaryError):
    """Base of proof-document errors."""


class ProofMalformed(ProofError):
    """A proof document cannot be parsed or has a malformed field."""


class ProofInvalid(ProofError):
    """A well-formed proof does not prove inclusion under its root."""
