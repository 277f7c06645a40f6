"""Errors raised by the anchoring package.

Hierarchy::

    NotaryServiceError
    ├── ReceiptNotFound       no receipt with this id (or not one the caller may read)
    ├── ReceiptNotSealed      the receipt exists but is in no batch yet: no proof until the next seal
    ├── AnchoringError        a batch could not be anchored (no signing key, the chain refused); retried
    ├── NotaryUnavailable     the notary cannot run: no key to anchor with, or disabled in the settings
    └── RecoveryRefused       the receipts that survive a lost database cannot rebuild it (``missing``: the
                              anchored roots nobody has the receipts of)

The gateway maps them to HTTP in its one table (``gateway.errors.ERROR_TABLE``: 404 ``not_found`` for
the first two); ``gateway.reconcile`` re-raises RecoveryRefused as its ``ReconcileRefused``; their
messages are written for people.
"""

from __future__ import annotations

from collections.abc import Sequence


class NotaryServiceError(Exception):
    """Root of every error raised by the anchoring package."""


class ReceiptNotFound(NotaryServiceError):
    """No receipt with this id (or not one the caller may read)."""


class ReceiptNotSealed(NotaryServiceError):
    """The receipt exists but is in no batch yet: no proof until the next seal."""


class AnchoringError(NotaryServiceError):
    """A batch could not be anchored (the chain refused or is unreachable); retried on the next run."""


class NotaryUnavailable(NotaryServiceError):
    """The notary cannot run: no key to anchor with, or the notary is disabled in the settings."""


class RecoveryRefused(NotaryServiceError):
    """The receipts at hand cannot rebuild a lost ledger (missing roots, a journal that does not match)."""

    def __init__(self, message: str, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = tuple(missing)
