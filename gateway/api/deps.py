"""The routes' dependencies (FastAPI ``Annotated[..., Depends(...)]``): tests swap any of them with
``app.dependency_overrides[function] = replacement``.

- :data:`GatewayDep` (:func:`get_gateway`), :data:`NotaryDep`, :data:`LimitsDep`: what ``create_app``
  put in ``app.state``.
- :func:`authenticated_caller`: the one authentication of every route that has one, a signed call
  (the five X-TDS-* headers) or, where the route takes it, a bearer session token. Routes ask for
  it through :data:`ConsumerCall`, :data:`SignedConsumer` or :data:`SignedParticipant` (its security
  scopes); overriding ``authenticated_caller`` replaces all three.
- :data:`RecentHead`: the chain head at most ``head_poll_interval_s`` old (catalog reads, health).
- Values checked before authentication, as the routes did before they had dependencies: path ids
  (:data:`AssetId`, :data:`GrantId`), request bodies (:data:`Submission`, :data:`WantedSession`)
  and the data route's :data:`Attempt`.

FastAPI solves a route's dependencies in the order its parameters declare them, and before it
validates the route's own parameters; :func:`authenticated_caller` validates those first itself,
so an invalid query answers 422 before a missing signature answers 401 (and uses no nonce).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.security import SecurityScopes
from pydantic import ValidationError

from anchoring.notary import Notary
from domain.ids import BYTES32_PATTERN, parse_bytes32
from domain.types import Role
from gateway.access import FetchAttempt, record_refusal
from gateway.api.models import GrantSubmission, SessionRequest
from gateway.api.openapi import id_param
from gateway.auth import Caller, SignedCall, bearer_token
from chain.view import Head
from gateway.errors import BadRequest, MalformedJson, NotFound, NotProvider, ParticipantSuspended
from gateway.ratelimit import RateLimits
from gateway.service import Gateway

CONSUMER = "consumer"
"""Scope: the caller must be an active consumer, at a head at most ``head_max_lag_s`` old."""
PARTICIPANT = "participant"
"""Scope: any active participant will do, at a head read after the request arrived (receipt reads)."""
SESSION = "session"
"""Scope: a bearer session token (``Authorization: Bearer tds1...``) is taken instead of a signed call."""


async def get_gateway(request: Request) -> Gateway:
    """The app's open :class:`Gateway`."""
    return request.app.state.gateway  # type: ignore[no-any-return]


async def get_notary(request: Request) -> Notary:
    """The app's notary (receipts and proofs)."""
    return request.app.state.notary  # type: ignore[no-any-return]


async def get_limits(request: Request) -> RateLimits:
    """The app's rate limits (per client, per address, grant requests per consumer)."""
    return request.app.state.limits  # type: ignore[no-any-return]


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
NotaryDep = Annotated[Notary, Depends(get_notary)]
LimitsDep = Annotated[RateLimits, Depends(get_limits)]


def recent_head(gw: GatewayDep) -> Head:
    """The chain head, read at most ``head_poll_interval_s`` ago (ChainNotReady when stale)."""
    return gw.view.head(max_age_s=gw.settings.head_poll_interval_s)


RecentHead = Annotated[Head, Depends(recent_head)]


def request_target(request: Request) -> str:
    """The request target as sent (raw path and query): what a signed call signs."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return (raw + (b"?" + query if query else b"")).decode("latin-1")


async def signed_body(request: Request) -> bytes:
    """The body a signed call covers: that of any method but GET and HEAD, whose body is neither read nor signed."""
    return b"" if request.method in ("GET", "HEAD") else await request.body()


# ---- the caller --------------------------------------------------------------------------------------------


def authenticated_caller(
    security: SecurityScopes, request: Request, gw: GatewayDep, body: Annotated[bytes, Depends(signed_body)]
) -> Caller:
    """The verified caller of this request, under its route's scopes; then its per-address rate limit.

    From here on the request counts as authenticated: its refusals are access records, not counters.
    """
    _validate_route_params(request)
    caller = _authenticate(gw, request, body, security.scopes)
    return admit(request, caller)


ConsumerCall = Annotated[Caller, Security(authenticated_caller, scopes=[CONSUMER, SESSION])]
"""An active consumer, by a signed call or a session token."""
SignedConsumer = Annotated[Caller, Security(authenticated_caller, scopes=[CONSUMER])]
"""An active consumer, by a signed call only (opening a session)."""
SignedParticipant = Annotated[Caller, Security(authenticated_caller, scopes=[PARTICIPANT])]
"""Any active participant, by a signed call only (receipt reads)."""


def provider_caller(caller: SignedParticipant, gw: GatewayDep) -> Caller:
    """This gateway's own provider, by a signed call only (403 not_provider for anyone else): the provider
    routes. A cookie, a session token or another participant's signature never decides a grant."""
    if caller.address.lower() != gw.provider_address.lower():
        raise NotProvider(f"{caller.address} is not the provider of this gateway ({gw.provider_address}): "
                          "sign with the provider's key")
    return caller


SignedProvider = Annotated[Caller, Depends(provider_caller)]
"""This gateway's provider, by a signed call (grant decisions, incidents, usage and revenue)."""


def admit(request: Request, caller: Caller) -> Caller:
    """The per-address rate limit of an authenticated caller (429 before anything is recorded)."""
    request.app.state.limits.address.hit(caller.address.lower(), caller.address)
    request.state.caller = caller.address
    return caller


def _authenticate(gw: Gateway, request: Request, body: bytes, scopes: list[str]) -> Caller:
    authorization = request.headers.get("authorization")
    if authorization is not None and SESSION in scopes:
        session = gw.auth.verify_session(bearer_token(authorization), request.headers.get("x-tds-address"))
        head = gw.view.head(max_age_s=gw.settings.head_max_lag_s)
        return gw.auth.authenticate_session(session, head.number, Role.CONSUMER)
    call = SignedCall.from_headers(request.headers, request.method, request_target(request), body)
    if CONSUMER not in scopes:
        return gw.auth.authenticate(call, gw.view.head().number, Role(0))
    gw.auth.require_this_gateway(call)  # a call signed for another gateway: refused before any chain read
    head = gw.view.head(max_age_s=gw.settings.head_max_lag_s)
    return gw.auth.authenticate(call, head.number, Role.CONSUMER)


def _validate_route_params(request: Request) -> None:
    """RequestValidationError for the route's own invalid path, query or header values (422 comes first)."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    errors = [*request_params_to_args(dependant.path_params, request.path_params)[1],
              *request_params_to_args(dependant.query_params, request.query_params)[1],
              *request_params_to_args(dependant.header_params, request.headers)[1]]
    if errors:
        raise RequestValidationError(errors)


# ---- values checked before authentication ------------------------------------------------------------------


async def asset_id_param(asset_id: Annotated[str, id_param("asset id")]) -> str:
    """The path's asset id, lower-case (400 invalid_id)."""
    return parse_bytes32(asset_id, "asset id")


async def grant_id_param(grant_id: Annotated[str, id_param("grant id")]) -> str:
    """The path's grant id, lower-case (400 invalid_id)."""
    return parse_bytes32(grant_id, "grant id")


AssetId = Annotated[str, Depends(asset_id_param)]
GrantId = Annotated[str, Depends(grant_id_param)]


async def grant_submission(request: Request) -> GrantSubmission:
    """The body of POST /grants (400 malformed_json)."""
    body = await request.body()
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedJson(f"body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise MalformedJson("body is nested too deeply") from exc
    except ValueError as exc:  # an integer of more than 4,300 digits (Python's int parsing bound)
        raise MalformedJson("body is not acceptable JSON: a number has more than 4,300 digits") from exc
    try:
        return GrantSubmission.model_validate(data)
    except ValidationError as exc:
        raise _malformed(exc) from exc


async def session_request(request: Request) -> SessionRequest:
    """The (optional) body of POST /session (400 malformed_json)."""
    body = await request.body()
    if not body.strip():
        return SessionRequest()
    try:
        return SessionRequest.model_validate_json(body)
    except ValidationError as exc:
        raise _malformed(exc) from exc


def _malformed(exc: ValidationError) -> MalformedJson:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return MalformedJson(f"{where or 'body'}: {first['msg']}")


Submission = Annotated[GrantSubmission, Depends(grant_submission)]
WantedSession = Annotated[SessionRequest, Depends(session_request)]


async def fetch_attempt(
    request: Request,
    gw: GatewayDep,
    asset_id: AssetId,
    grant: Annotated[str | None, Query(description="grant id (default: the caller's live grant)",
                                       json_schema_extra={"pattern": BYTES32_PATTERN})] = None,
    purpose: Annotated[str | None, Query(description="declared purpose of this access (default: the grant's)",
                                         json_schema_extra={"minLength": 1, "maxLength": 200})] = None,
) -> AsyncIterator[FetchAttempt]:
    """The data request being decided, for its access record (``gateway.access`` writes it).

    A refusal while authenticating records nothing, the request never identified a participant,
    except for a suspended participant, whose signature did verify: its attempt is recorded (under
    its per-address limit). Refusals after authentication are recorded by ``gateway.access``.
    """
    if purpose is not None and not 0 < len(purpose) <= 200:
        raise BadRequest("purpose must be 1..200 characters")
    attempt = FetchAttempt("GET", request_target(request), asset_id, grant, purpose)
    try:
        yield attempt
    except ParticipantSuspended as exc:
        record_suspended(request, gw, attempt, exc)
        raise


def record_suspended(request: Request, gw: Gateway, attempt: FetchAttempt, exc: ParticipantSuspended) -> None:
    """A suspended participant's signature did verify: its refused attempt is recorded (under its
    per-address limit) unless the access path recorded it already."""
    if attempt.consumer is None:
        address = str(exc.detail["address"])
        request.app.state.limits.address.hit(address.lower(), address)
        request.state.caller = address
        attempt.consumer = address.lower()
        record_refusal(gw, attempt, exc)


Attempt = Annotated[FetchAttempt, Depends(fetch_attempt, scope="function")]


async def service_attempt(request: Request, gw: GatewayDep, asset_id: AssetId) -> AsyncIterator[FetchAttempt]:
    """The service call being decided, for its access record: the service must be one of this gateway's
    (404 before authentication). The grant and the declared purpose come in the ``X-TDS-Grant`` and
    ``X-TDS-Purpose`` headers (the query string is the backend's); neither is ever forwarded."""
    if not gw.services.has(asset_id):
        raise NotFound(f"{asset_id} is not a service of this gateway (GET /catalog lists them)")
    grant = request.headers.get("x-tds-grant") or None
    purpose = request.headers.get("x-tds-purpose") or None
    if purpose is not None and not 0 < len(purpose) <= 200:
        raise BadRequest("X-TDS-Purpose must be 1..200 characters")
    attempt = FetchAttempt(request.method, request_target(request), asset_id, grant, purpose)
    try:
        yield attempt
    except ParticipantSuspended as exc:
        record_suspended(request, gw, attempt, exc)
        raise


ServiceAttempt = Annotated[FetchAttempt, Depends(service_attempt, scope="function")]

