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

Messages are English in the code and translated through :mod:`cli.lang`. Errors other packages raise
keep their own (English) text: in Chinese a sentence naming the kind of error (by class, or by the
gateway's stable code) comes first and their text follows in brackets, as ``describe_revert`` does.
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
from cli.lang import N_, current, tr
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
    "AssetAlreadyRegistered": N_("these bytes are already registered as asset {assetId} (registration is not "
                                 "repeated)"),
    "AssetParentUnknown": N_("parent asset {parentId} is not registered"),
    "AssetInvalidShares": N_("owner shares sum to {totalBps} basis points; they must sum to 10000"),
    "ParticipantUnknown": N_("{account} is not an onboarded participant"),
    "ParticipantNotActive": N_("{account} is suspended"),
    "ParticipantMissingRole": N_("{account} lacks the required role (bits {role})"),
    "AccessControlUnauthorizedAccount": N_("{account} is not an operator"),
    "GrantAlreadyRevoked": N_("grant {grantId} is already revoked"),
}


def describe_revert(exc: ContractRevert) -> str:
    """A sentence for a decoded custom error, followed by the raw error."""
    hint = HINTS.get(exc.error_name)
    if hint is None:
        return tr("rejected by the contract: {error}", error=exc)
    return f"{tr(hint, **exc.error_args)} [{exc}]"


# What kind of error another package raised (by class name, the most specific along the MRO first):
# said first in Chinese, before the error's own text.
KINDS = {
    "ChainUnavailable": N_("the chain's node cannot be reached (the embedded devnet: `tds chain up`)"),
    "ChainStale": N_("the view of the chain is too old to decide on"),
    "WrongChain": N_("the node is another chain than the configuration or deployment expects"),
    "DeploymentMissing": N_("no usable deployment of the TDS contracts on this chain (`tds deploy`)"),
    "AlreadyDeployed": N_("this data dir's contracts are already deployed on this chain"),
    "DevnetError": N_("the embedded devnet cannot be started"),
    "CompileError": N_("the contracts do not compile"),
    "KeystoreError": N_("the keystore cannot be used (account missing, file malformed or passphrase wrong)"),
    "TransactionFailed": N_("the transaction failed on-chain (no decodable reason)"),
    "ChainError": N_("chain error"),
    "FileUnreadable": N_("the file cannot be read"),
    "ProofMalformed": N_("the proof document is malformed"),
    "ProofInvalid": N_("the proof does not verify"),
    "ReceiptInvalid": N_("the receipt is invalid"),
    "NotaryError": N_("evidence error"),
    "DescriptionInvalid": N_("the service description is not an acceptable OpenAPI 3 document"),
    "ServiceConfigInvalid": N_("the service's gateway configuration is not usable"),
    "ServiceError": N_("data service error"),
    "NotIndexed": N_("not in the audit index"),
    "IndexUnavailable": N_("the audit index cannot be used"),
    "IndexMismatch": N_("the audit index belongs to another chain or deployment"),
    "ChainMovedDuringBatch": N_("the chain moved while indexing"),
    "InputInvalid": N_("invalid input"),
    "AuditError": N_("audit error"),
    "FileNotFoundError": N_("no such file or directory"),
    "PermissionError": N_("permission denied"),
    "IsADirectoryError": N_("a directory, not a file"),
    "OSError": N_("system error"),
}

# The gateway's stable error codes (gateway.errors.ERROR_TABLE) as sentences: said first in Chinese.
CODES = {
    "bad_request": N_("the request is malformed"),
    "malformed_json": N_("the body is not valid JSON or lacks fields"),
    "invalid_id": N_("an id, address or signature is malformed"),
    "body_too_large": N_("the request body is too large"),
    "headers_too_large": N_("the request headers are too large"),
    "range_not_satisfiable": N_("the requested range cannot be served"),
    "range_invalid": N_("the Range header is invalid"),
    "unauthenticated": N_("the request is not authenticated"),
    "signature_missing": N_("the request is not signed"),
    "bad_signature": N_("the signature does not verify"),
    "signature_not_canonical": N_("the signature is not canonical"),
    "wrong_gateway": N_("the request was signed for another gateway"),
    "request_expired": N_("the signed request has expired"),
    "nonce_replayed": N_("the signed request was already used"),
    "session_invalid": N_("the session token is invalid"),
    "session_expired": N_("the session token has expired"),
    "access_denied": N_("access denied"),
    "not_member": N_("not a member of the data space"),
    "participant_suspended": N_("the participant is suspended"),
    "grant_missing": N_("no live grant for this asset"),
    "grant_not_yours": N_("the grant belongs to another consumer"),
    "grant_asset_mismatch": N_("the grant is for another asset"),
    "grant_revoked": N_("the grant is revoked"),
    "grant_expired": N_("the grant has expired"),
    "grant_not_yet_valid": N_("the grant is not valid yet"),
    "count_exhausted": N_("the grant's uses are used up"),
    "purpose_not_allowed": N_("the purpose is not allowed by the policy"),
    "jurisdiction_not_allowed": N_("the jurisdiction is not allowed by the policy"),
    "asset_inactive": N_("the asset is deactivated"),
    "compute_only": N_("the asset is compute-only: its data does not leave the gateway"),
    "not_compute_only": N_("the asset is not compute-only"),
    "algorithm_not_approved": N_("the algorithm is not approved on this asset"),
    "privacy_budget_exhausted": N_("the grant's privacy budget is spent"),
    "job_params_invalid": N_("the job's parameters are invalid"),
    "algorithm_unknown": N_("no such algorithm at this gateway"),
    "job_not_found": N_("no such job"),
    "result_not_ready": N_("the job's result is not ready"),
    "result_expired": N_("the job's result is no longer kept"),
    "sandbox_unavailable": N_("the compute sandbox is unavailable"),
    "grant_terms_invalid": N_("the grant's terms do not fit the policy"),
    "grant_denied": N_("the provider denied the grant"),
    "payment_required": N_("payment required"),
    "deposit_too_small": N_("the escrow deposit is too small"),
    "escrow_missing": N_("the grant's escrow lock is missing or released"),
    "not_found": N_("not found"),
    "conflict": N_("conflict with the current state"),
    "grant_exists": N_("the grant was already requested or issued"),
    "grant_not_pending": N_("the grant request is not pending"),
    "grant_already_revoked": N_("the grant is already revoked"),
    "policy_changed": N_("the asset's policy changed since the request was signed"),
    "rate_limited": N_("too many requests"),
    "call_rate_limited": N_("too many calls under this grant"),
    "operation_not_declared": N_("the service does not declare this operation"),
    "method_not_declared": N_("the service does not declare this method"),
    "path_refused": N_("the service path is refused"),
    "backend_failed": N_("the service's backend failed"),
    "backend_timeout": N_("the service's backend timed out"),
    "backend_unreachable": N_("the service's backend cannot be reached"),
    "backend_error": N_("the service's backend answered with an error"),
    "backend_bad_answer": N_("the service's backend gave an unusable answer"),
    "backend_answer_too_large": N_("the service's backend answer is too large"),
    "database_unavailable": N_("the gateway database is unavailable"),
    "ledger_unreconciled": N_("the gateway database lacks anchored receipts: reconcile first"),
    "signed_before_reconcile": N_("the request was signed before the reconcile: sign again"),
    "chain_unavailable": N_("the chain's node cannot be reached"),
    "chain_stale": N_("the gateway's view of the chain is too old"),
    "stored_file_tampered": N_("a stored file does not match its hash"),
    "store_error": N_("gateway store error"),
    "internal_error": N_("internal error"),
    "acceptance_invalid": N_("the provider's acceptance signature is invalid"),
    "hash_mismatch": N_("the bytes received do not hash to the asset id"),
}


def explain(exc: BaseException, text: str) -> str:
    """``text`` (an error's own message) as is in English; in Chinese after a sentence naming the kind of error."""
    if current() == "en":
        return text
    for cls in type(exc).__mro__:
        kind = KINDS.get(cls.__name__)
        if kind is not None:
            return f"{tr(kind)} [{text}]"
    return text


def explain_code(code: str, text: str) -> str:
    """``text`` (a gateway's message) as is in English; in Chinese after the sentence of its stable code."""
    sentence = CODES.get(code)
    return text if current() == "en" or sentence is None else f"{tr(sentence)} [{text}]"


def describe_code(code: str, message: str) -> str:
    """A gateway refusal as ``code: message`` (``code: 中文 [message]`` in Chinese)."""
    return f"{code}: {explain_code(code, message)}"


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
