"""Errors of the domain layer.

Hierarchy::

    DomainError
    └── InvalidId        (also ValueError) not "0x" + the expected number of hex digits

Every package that parses an id raises :class:`InvalidId` (through :mod:`domain.ids`); the gateway
maps it to HTTP 422 ``invalid_id``.
"""

from __future__ import annotations


class DomainError(Exception):
    """Root of the domain layer's errors; messages are written for people."""


class InvalidId(DomainError, ValueError):
    """An asset, grant, request or root id, an address or a signature is malformed."""

    def __init__(self, message: str, value: object = None) -> None:
        self.value = value
        super().__init__(message)
