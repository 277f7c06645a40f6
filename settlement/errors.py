"""Why a settlement step was refused (each message names the fix)."""

from __future__ import annotations


class SettlementError(Exception):
    """A settlement operation cannot go on; nothing was sent."""


class PeriodInvalid(SettlementError, ValueError):
    """A period that cannot be read or is empty or in the future."""


class UsageNotAnchored(SettlementError):
    """Allowed uses of the period are not anchored yet: settling now would leave them unpaid for ever."""


class StatementInvalid(SettlementError):
    """A usage statement that does not match the anchored receipts or is not the consumer's."""


class LineageTooDeep(SettlementError):
    """An asset's ancestry is larger than a settlement batch can carry."""
