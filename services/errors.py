"""Errors of the services package (no HTTP here: the gateway maps them to its answers)."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the services package's errors."""


class DescriptionInvalid(ServiceError):
    """The service description is not an acceptable OpenAPI 3 document."""


class ServiceConfigInvalid(ServiceError):
    """A service's gateway configuration (backend URL, headers, limits) is not usable."""
