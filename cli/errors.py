"""Exit codes scripts can rely on, and the mapping from domain errors to them.

| code | meaning |
|---|---|
| 0 | success |
| 1 | unexpected error |
| 2 | usage error (bad option or argument) |
| 3 | environment: no data dir, chain not running or its port taken, not deployed or already deployed, wrong chain, keystore missing |
| 4 | rejected: the contract or the gateway refused (custom error printed) |
| 5 | not found |
| 6 | verification failed (file or proof does not match the chain) |
"""

from __future__ import annotations

import click

from chain.errors import (
    AlreadyDeployed,
    ChainError,
    ChainUnavailable,
    ContractRevert,
    DeploymentMissing,
    DevnetError,
    KeystoreError,
    WrongChain,
)
from notary.errors import NotaryError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3
EXIT_REJECTED = 4
EXIT_NOT_FOUND = 5
EXIT_MISMATCH = 6


class CliFailure(click.ClickException):
    """A failure with a message and an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class NotFound(CliFailure):
    """Something asked for does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_NOT_FOUND)


class Mismatch(CliFailure):
    """A verification did not hold."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_MISMATCH)


HINTS = {
    "AssetAlreadyRegistered": "these bytes are already registered as asset {assetId} (registration is not repeated)",
    "AssetParentUnknown": "parent asset {parentId} is not registered",
    "AssetInvalidShares": "owner shares sum to {totalBps} basis points; they must sum to 10000",
    "ParticipantUnknown": "{account} is not an onboarded participant",
    "ParticipantNotActive": "{account} is suspended",
    "ParticipantMissingRole": "{account} lacks the required role (bits {role})",
    "AccessControlUnauthorizedAccount": "{account} is not an operator",
    "GrantAlreadyRevoked": "grant {grantId} is already revoked",
}


def describe_revert(exc: ContractRevert) -> str:
    """A sentence for a decoded custom error, followed by the raw error."""
    hint = HINTS.get(exc.error_name)
    if hint is None:
        return f"rejected by the contract: {exc}"
    return f"{hint.format(**exc.error_args)} [{exc}]"


def exit_code_for_status(status: int) -> int:
    """Exit code for a gateway refusal or failure with this HTTP status."""
    if status == 404:
        return EXIT_NOT_FOUND
    if status == 503:
        return EXIT_ENVIRONMENT
    return EXIT_REJECTED if 400 <= status < 500 else EXIT_ERROR


def exit_code_for(exc: BaseException) -> int:
    """Exit code of a domain error."""
    if isinstance(exc, (ChainUnavailable, DeploymentMissing, AlreadyDeployed, DevnetError, WrongChain, KeystoreError)):
        return EXIT_ENVIRONMENT
    if isinstance(exc, ContractRevert):
        return EXIT_REJECTED
    if isinstance(exc, (ChainError, NotaryError)):
        return EXIT_ERROR
    return EXIT_ERROR
