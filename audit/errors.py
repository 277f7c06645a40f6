"""Errors raised by the audit package.

Hierarchy::

    AuditError                  root: catch this to catch everything below
    ├── IndexUnavailable        the index database cannot be opened or written
    ├── IndexMismatch           the index was built for another chain or deployment
    ├── ChainMovedDuringBatch   the node's blocks changed in the middle of a batch (retried)
    ├── NotIndexed              an asset, participant or grant is not in the index
    └── InputInvalid            a receipts file or other auditor input is malformed

Chain errors (``chain.errors.ChainError``) and notary errors pass through unchanged: the CLI
already maps them to exit codes. SQL errors are translated here at the boundary.
"""

from __future__ import annotations


class AuditError(Exception):
    """Root of every error raised by the audit package."""


class IndexUnavailable(AuditError):
    """The index database cannot be opened, created or written."""


class IndexMismatch(AuditError):
    """The index holds events of another chain id or another deployment."""


class ChainMovedDuringBatch(AuditError):
    """The node's blocks changed between eth_getLogs and eth_getBlockByNumber (retry the batch)."""


class NotIndexed(AuditError):
    """The thing asked for does not appear in the indexed events."""


class InputInvalid(AuditError):
    """Auditor input (receipts file, proof file) is malformed."""
