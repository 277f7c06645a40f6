"""Errors of the domain layer.

Hierarchy::

    DomainError
    ├── InvalidId        (also ValueError) not "0x" + the expected number of hex digits
    └── InvalidQuery     (also ValueError) a catalog search parameter that is unknown, repeated or out of range

Every package that parses an id raises :class:`InvalidId` (through :mod:`domain.ids`); the gateway
maps it to HTTP 422 ``invalid_id``. :class:`InvalidQuery` (raised by :mod:`domain.search`) names the
parameter; the gateway answers it with HTTP 400 ``invalid_query``.
"""

from __future__ import annotations


class DomainError(Exception):
    """Root of the domain layer's errors; messages are written for people."""


class InvalidId(DomainError, ValueError):
    """An asset, grant, request or root id, an address or a signature is malformed."""

    def __init__(self, message: str, value: object = None) -> None:
        self.value = value
        super().__init__(message)


class InvalidQuery(DomainError, ValueError):
    """A catalog search parameter is unknown, repeated, malformed or out of range; ``parameter`` names it."""

    def __init__(self, message: str, parameter: str) -> None:
        self.parameter = parameter
        super().__init__(message)
