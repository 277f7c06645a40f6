"""Errors of the compute package: each message names what is wrong and how to fix it."""

from __future__ import annotations


class ComputeError(Exception):
    """Base of every compute error."""


class ManifestInvalid(ComputeError):
    """An algorithm's manifest (tds-algorithm.json) is missing or wrong."""


class BundleInvalid(ComputeError):
    """An algorithm bundle cannot be packed or unpacked safely."""


class SandboxUnavailable(ComputeError):
    """bubblewrap (or the interpreter the sandbox runs) is not installed: jobs are refused, never run unsandboxed."""


class OutputRejected(ComputeError):
    """A job's output is not what its manifest declares (kind, size, files): nothing leaves."""

    def __init__(self, message: str, code: str = "output_rejected") -> None:
        super().__init__(message)
        self.code = code
