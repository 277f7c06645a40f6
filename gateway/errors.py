"""Errors raised by the gateway package.

Hierarchy::

    GatewayError
    └── ApiError                      a refusal with an HTTP status and a stable code (see ERROR_TABLE)
        ├── BadRequest                malformed JSON / fields, invalid ids, body too large, bad range,
        │   └── HeadersTooLarge       request headers over the configured size or count (431)
        ├── AuthError                 missing, bad or non-canonical signature, call signed for another
        │                             gateway, expired request, replayed nonce, invalid or expired
        │                             session token
        ├── AccessDenied              membership, grant state, count, purpose, jurisdiction, compute-only
        ├── PaymentRequired           a paid grant without its escrow: deposit too small to issue it,
        │                             or its lock missing or released when it is used (402)
        ├── NotFound                  unknown asset, grant or request
        ├── Conflict                  grant already requested/issued, request not pending, the asset's
        │                             policy changed since the request was signed
        ├── RateLimited               too many requests from this client, address or consumer (429)
        ├── ChainNotReady             node unreachable (fail closed; the chain view itself raises
        │                             chain.errors.ChainUnavailable / ChainStale, mapped here too)
        ├── LedgerUnreconciled        the chain holds receipts roots this gateway's database lacks (503)
        └── DatabaseUnavailable       the gateway database refused or failed a statement (fail closed)

The vault's ``StoreError`` tree (``vault.errors``), the notary service's ``NotaryServiceError`` tree
(``anchoring.errors``: receipts not found or not sealed, anchoring failures) and ``domain.errors``
(``InvalidId``: a malformed id, address or signature; ``InvalidQuery``: a bad catalog search parameter) are
mapped here too. ``ERROR_TABLE`` maps every
class to (HTTP status, machine code); ``error_status`` walks the MRO, so a subclass inherits its parent's row unless it has its own. Messages never contain key material.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from anchoring.errors import NotaryServiceError, ReceiptNotFound, ReceiptNotSealed  # mapped to HTTP below
from chain.errors import ChainStale, ChainUnavailable  # the chain view refusing (fail closed), mapped below
from domain.errors import DomainError, InvalidId, InvalidQuery  # the id and catalog-search errors, mapped below
from vault.errors import (  # the vault's errors, mapped to HTTP below
    StoreError,
    InvalidRange,
    AssetNotFound,
    AssetAlreadyStored,
    MasterKeyError,
    WrongMasterKey,
    UnsupportedStoreFormat,
    StoredFileTampered,
)


class GatewayError(Exception):
    """Root of every error raised by the gateway package."""


# ---- API refusals (one HTTP status and one stable code each, see ERROR_TABLE) --------------------


class ApiError(GatewayError):
    """A refusal the gateway reports to a client; ``detail`` carries optional structured context."""

    def __init__(self, message: str, **detail: object) -> None:
        self.detail = detail
        super().__init__(message)


class BadRequest(ApiError):
    """The request is malformed."""


class MalformedJson(BadRequest):
    """The body is not valid JSON or does not have the expected fields."""


class BodyTooLarge(BadRequest):
    """The body exceeds the configured limit."""


class RangeNotSatisfiable(BadRequest):
    """The Range header cannot be served for this object."""


class RangeInvalid(BadRequest):
    """The Range header is not one ``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` range."""


class AuthError(ApiError):
    """The caller could not be authenticated."""


class SignatureMissing(AuthError):
    """The request carries no (or incomplete) X-TDS-* signature headers."""


class BadSignature(AuthError):
    """The signature does not verify, or recovers to another address than the one claimed."""


class NonCanonicalSignature(BadSignature):
    """A signature OpenZeppelin ECDSA would refuse: high s (s > n/2, a malleated copy) or v not 27/28."""


class WrongGateway(AuthError):
    """The call was signed for another gateway (its X-TDS-Gateway is not this gateway's id)."""


class RequestExpired(AuthError):
    """The signed request's expiry is past or too far in the future."""


class NonceReplayed(AuthError):
    """The nonce was already used by this signer."""


class SessionInvalid(AuthError):
    """The bearer session token is malformed, not issued by this gateway, or bound to another address."""


class SessionExpired(AuthError):
    """The bearer session token has expired: sign a new ``POST /session``."""


class AccessDenied(ApiError):
    """The caller is authenticated but not allowed to do this."""


class NotMember(AccessDenied):
    """The signer is not an onboarded participant (or lacks the needed role)."""


class ParticipantSuspended(AccessDenied):
    """The signer is onboarded but suspended."""


class GrantMissing(AccessDenied):
    """The caller holds no grant for this asset (or named an unknown grant)."""


class GrantNotYours(AccessDenied):
    """The grant belongs to another consumer."""


class NotProvider(AccessDenied):
    """A provider route signed by someone other than this gateway's provider."""


class GrantAssetMismatch(AccessDenied):
    """The grant is for another asset."""


class GrantRevoked(AccessDenied):
    """The grant was revoked on-chain."""


class GrantExpired(AccessDenied):
    """The grant's window has ended."""


class GrantNotYetValid(AccessDenied):
    """The grant's window has not started."""


class CountExhausted(AccessDenied):
    """Every access the grant allows has been used."""


class PurposeNotAllowed(AccessDenied):
    """The purpose is not the grant's or not allowed by the asset's policy."""


class JurisdictionNotAllowed(AccessDenied):
    """The consumer's jurisdiction is not allowed by the asset's policy."""


class AssetInactive(AccessDenied):
    """The asset was deactivated on-chain."""


class ComputeOnly(AccessDenied):
    """The asset's policy allows computation only; raw bytes are never served."""


class NotComputeOnly(AccessDenied):
    """A compute job for an asset whose policy is not compute-only (its grants are for raw access)."""


class AlgorithmNotApproved(AccessDenied):
    """The asset's provider has not approved this algorithm for it on-chain (or rejected it since)."""


class PrivacyBudgetExhausted(AccessDenied):
    """The job's epsilon would take the grant past its privacy budget."""


class JobParamsInvalid(ApiError):
    """A compute job's parameters are not a small JSON object of plain values."""


class AlgorithmUnknown(ApiError):
    """The algorithm is not registered, or its bundle is not held by this gateway."""


class JobNotFound(ApiError):
    """No such job for this caller."""


class ResultNotReady(ApiError):
    """The job has not succeeded (yet): no result to fetch."""


class ResultExpired(ApiError):
    """The job's result was deleted after the gateway's retention period."""


class SandboxUnavailableError(ApiError):
    """No sandbox can be made on this machine (bubblewrap missing): jobs are refused, never run unsandboxed."""


class GrantTermsInvalid(AccessDenied):
    """The requested window, count or price do not fit the asset's policy."""


class GrantDenied(AccessDenied):
    """The provider denied this grant request."""


class PaymentRequired(ApiError):
    """The grant is paid for in escrow (prepaid, subscription) and the money is not there."""


class DepositTooSmall(PaymentRequired):
    """The consumer's free deposit in Settlement is smaller than the lock the grant needs: nothing is issued.

    ``detail``: ``needed``, ``available`` (token base units).
    """


class EscrowMissing(PaymentRequired):
    """A prepaid or subscription grant whose Settlement account is missing, released or empty: not served."""


class NotFound(ApiError):
    """The named resource does not exist (here)."""


class Conflict(ApiError):
    """The request conflicts with the current state."""


class GrantExists(Conflict):
    """A grant (request) with this id already exists."""


class GrantNotPending(Conflict):
    """The grant request is not pending (already decided)."""


class GrantAlreadyRevoked(GrantNotPending):
    """The grant is already revoked on-chain (a second revoke changes nothing)."""


class PolicyChanged(Conflict):
    """The request agrees to another policy epoch than the asset's current one: fetch the offer, sign again."""


class AcceptanceInvalid(GatewayError):
    """UsageGrants refused the provider's own acceptance signature (a gateway fault, not the consumer's)."""


class HeadersTooLarge(BadRequest):
    """The request headers exceed the configured total size or count (answered before they are buffered)."""


class RateLimited(ApiError):
    """Too many requests in the window; ``detail["retry_after"]`` is how many seconds to wait."""


class DatabaseUnavailable(ApiError):
    """The gateway database is unreachable or refused a statement: the gateway refuses rather than guess."""


class LedgerUnreconciled(ApiError):
    """The database lost receipts the chain has anchored: no use is served until it is restored or reconciled."""


class SignedBeforeReconcile(AuthError):
    """A signed call that may predate the database's reconcile (its nonce could have been used before)."""


class ChainNotReady(ApiError):
    """The gateway cannot vouch for the chain state: it refuses (fail closed)."""


class ChainUnavailableError(ChainNotReady):
    """The node does not answer."""


class OperationNotDeclared(NotFound):
    """A service call to a path its description does not declare."""


class MethodNotDeclared(ApiError):
    """A service call with a method its description does not declare on that path (405)."""


class ServicePathRefused(BadRequest):
    """A service call whose path or query could leave the backend's base URL (dot segments, encoded slashes)."""


class CallRateLimited(RateLimited):
    """More calls under one grant than the service's rate allows (429, nothing reaches the backend)."""


class BackendFailed(ApiError):
    """The service's backend failed the call (502): not charged, its receipt is a deny with this code."""


class BackendTimeout(BackendFailed):
    """The backend did not answer within the service's timeout (504)."""


class BackendUnreachable(BackendFailed):
    """The backend refused or reset the connection (502)."""


class BackendServerError(BackendFailed):
    """The backend answered 5xx (502)."""


class BackendBadAnswer(BackendFailed):
    """The backend's answer is not valid HTTP (502)."""


class BackendAnswerTooLarge(BackendFailed):
    """The backend's answer is larger than the service allows (502)."""


ERROR_TABLE: dict[type[Exception], tuple[int, str]] = {
    ApiError: (400, "bad_request"),
    BadRequest: (400, "bad_request"),
    MalformedJson: (400, "malformed_json"),
    InvalidId: (422, "invalid_id"),
    InvalidQuery: (400, "invalid_query"),
    BodyTooLarge: (413, "body_too_large"),
    HeadersTooLarge: (431, "headers_too_large"),
    RangeNotSatisfiable: (416, "range_not_satisfiable"),
    RangeInvalid: (400, "range_invalid"),
    InvalidRange: (416, "range_not_satisfiable"),
    AuthError: (401, "unauthenticated"),
    SignatureMissing: (401, "signature_missing"),
    BadSignature: (401, "bad_signature"),
    NonCanonicalSignature: (401, "signature_not_canonical"),
    WrongGateway: (421, "wrong_gateway"),
    RequestExpired: (401, "request_expired"),
    NonceReplayed: (409, "nonce_replayed"),
    SessionInvalid: (401, "session_invalid"),
    SessionExpired: (401, "session_expired"),
    AccessDenied: (403, "access_denied"),
    NotMember: (403, "not_member"),
    ParticipantSuspended: (403, "participant_suspended"),
    GrantMissing: (403, "grant_missing"),
    GrantNotYours: (403, "grant_not_yours"),
    NotProvider: (403, "not_provider"),
    GrantAssetMismatch: (403, "grant_asset_mismatch"),
    GrantRevoked: (403, "grant_revoked"),
    GrantExpired: (403, "grant_expired"),
    GrantNotYetValid: (403, "grant_not_yet_valid"),
    CountExhausted: (403, "count_exhausted"),
    PurposeNotAllowed: (403, "purpose_not_allowed"),
    JurisdictionNotAllowed: (403, "jurisdiction_not_allowed"),
    AssetInactive: (403, "asset_inactive"),
    ComputeOnly: (403, "compute_only"),
    NotComputeOnly: (403, "not_compute_only"),
    AlgorithmNotApproved: (403, "algorithm_not_approved"),
    PrivacyBudgetExhausted: (403, "privacy_budget_exhausted"),
    JobParamsInvalid: (400, "job_params_invalid"),
    AlgorithmUnknown: (404, "algorithm_unknown"),
    JobNotFound: (404, "job_not_found"),
    ResultNotReady: (409, "result_not_ready"),
    ResultExpired: (410, "result_expired"),
    SandboxUnavailableError: (503, "sandbox_unavailable"),
    GrantTermsInvalid: (422, "grant_terms_invalid"),
    GrantDenied: (403, "grant_denied"),
    PaymentRequired: (402, "payment_required"),
    DepositTooSmall: (402, "deposit_too_small"),
    EscrowMissing: (402, "escrow_missing"),
    NotFound: (404, "not_found"),
    AssetNotFound: (404, "not_found"),
    ReceiptNotFound: (404, "not_found"),
    ReceiptNotSealed: (404, "not_found"),
    Conflict: (409, "conflict"),
    GrantExists: (409, "grant_exists"),
    GrantNotPending: (409, "grant_not_pending"),
    GrantAlreadyRevoked: (409, "grant_already_revoked"),
    PolicyChanged: (409, "policy_changed"),
    RateLimited: (429, "rate_limited"),
    CallRateLimited: (429, "call_rate_limited"),
    OperationNotDeclared: (404, "operation_not_declared"),
    MethodNotDeclared: (405, "method_not_declared"),
    ServicePathRefused: (400, "path_refused"),
    BackendFailed: (502, "backend_failed"),
    BackendTimeout: (504, "backend_timeout"),
    BackendUnreachable: (502, "backend_unreachable"),
    BackendServerError: (502, "backend_error"),
    BackendBadAnswer: (502, "backend_bad_answer"),
    BackendAnswerTooLarge: (502, "backend_answer_too_large"),
    DatabaseUnavailable: (503, "database_unavailable"),
    LedgerUnreconciled: (503, "ledger_unreconciled"),
    SignedBeforeReconcile: (401, "signed_before_reconcile"),
    ChainNotReady: (503, "chain_unavailable"),
    ChainUnavailableError: (503, "chain_unavailable"),
    ChainUnavailable: (503, "chain_unavailable"),  # raised by chain.view.ChainView (fail closed)
    ChainStale: (503, "chain_stale"),
    StoredFileTampered: (503, "stored_file_tampered"),
    StoreError: (500, "store_error"),
    DomainError: (400, "bad_request"),
    NotaryServiceError: (500, "internal_error"),
    AcceptanceInvalid: (500, "acceptance_invalid"),
    GatewayError: (500, "internal_error"),
}


REPORTED_ERRORS: tuple[type[Exception], ...] = (GatewayError, StoreError, DomainError, NotaryServiceError,
                                                ChainUnavailable, ChainStale)
"""The roots mapped in ERROR_TABLE whose messages are written for people (shown to clients and users)."""


def error_status(exc: BaseException) -> tuple[int, str]:
    """(HTTP status, machine code) of an exception: the first ERROR_TABLE row along its MRO."""
    for cls in type(exc).__mro__:
        row = ERROR_TABLE.get(cls)
        if row is not None:
            return row
    return 500, "internal_error"


def error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(status, the documented JSON body) of any exception; messages only from GatewayError (never internals)."""
    status, code = error_status(exc)
    message = str(exc) if isinstance(exc, REPORTED_ERRORS) else "internal error"
    return status, {"error": {"code": code, "message": message}}


def error_headers(exc: BaseException) -> dict[str, str]:
    """Headers an error answer carries (Retry-After for rate limits)."""
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.detail.get("retry_after", 1))}
    return {}


async def send_error(send: Callable[[dict[str, Any]], Awaitable[None]], exc: BaseException,
                     extra_headers: Mapping[str, str] | None = None) -> None:
    """Answer ``exc`` as the documented JSON error through a raw ASGI ``send`` (for middlewares)."""
    status, body = error_body(exc)
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    more = {**error_headers(exc), **(extra_headers or {})}
    headers += [(k.lower().encode(), v.encode()) for k, v in more.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})
