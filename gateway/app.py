"""The gateway's HTTP API: an app factory, thin routes, one error table (``gateway.errors.ERROR_TABLE``).

``create_app(settings)`` builds everything (no side effects at import); tests and the CLI may pass
an already-open :class:`gateway.service.Gateway`. Routes check, call domain code, return models.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.types import GrantRequest, Role, did_pkh
from gateway import catalog as dcat
from domain.ids import ADDRESS_PATTERN, BYTES32_PATTERN, SIGNATURE_PATTERN, parse_bytes32
from gateway.access import ClosingStream, authorize_fetch, refusal_code
from chain.eip712 import eip712_document
from gateway.auth import Caller, Session, SignedCall, bearer_token
from gateway.db import GrantRequestRow
from gateway.errors import (
    REPORTED_ERRORS,
    ApiError,
    BadRequest,
    BodyTooLarge,
    DatabaseUnavailable,
    GatewayError,
    MalformedJson,
    NotFound,
    ParticipantSuspended,
    RateLimited,
    error_body,
    error_headers,
    error_status,
    send_error,
)
from gateway.ratelimit import RateLimits, RefusalCounter
from gateway.reconcile import install_ledger_guard
from gateway.service import Gateway, submit_grant_request
from gateway.policy import grant_liveness
from gateway.settings import GatewaySettings

log = logging.getLogger("tds.gateway")
DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.InternalError, sa_exc.TimeoutError,
                 sa_exc.DisconnectionError)
"""SQLAlchemy errors that mean the database cannot be used right now (503 database_unavailable)."""
MAX_DB_INT = 2**63 - 1
"""Largest id a database column holds (SQLite INTEGER, PostgreSQL BIGINT): larger ids name nothing."""


# ---- models ---------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """A refusal: a stable machine code and a human message."""

    code: str = Field(examples=["grant_revoked"])
    message: str


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail


class GrantRequestIn(BaseModel):
    """The EIP-712 GrantRequest the consumer signed (see GET /eip712 ``grantRequest``)."""

    model_config = {"extra": "forbid"}

    asset_id: str = Field(pattern=BYTES32_PATTERN)
    consumer: str = Field(pattern=ADDRESS_PATTERN)
    purpose: str = Field(min_length=1, max_length=200)
    not_before: int = Field(ge=0, lt=2**32)
    not_after: int = Field(ge=0, lt=2**32)
    max_count: int = Field(ge=1, lt=2**24)
    price_per_access: int = Field(ge=0, lt=2**96)
    nonce: int = Field(ge=0, lt=2**256)
    deadline: int = Field(ge=0, lt=2**32)

    def to_request(self) -> GrantRequest:
        """As the chain layer's value type (checksummed consumer, lower-case asset id)."""
        from eth_utils import to_checksum_address

        data = self.model_dump()
        data["consumer"] = to_checksum_address(self.consumer)
        data["asset_id"] = self.asset_id.lower()
        return GrantRequest.from_json(data)


class GrantSubmission(BaseModel):
    """Body of POST /grants."""

    model_config = {"extra": "forbid"}

    request: GrantRequestIn
    signature: str = Field(pattern=SIGNATURE_PATTERN, description="EIP-712 signature of `request`")


class GrantPublic(BaseModel):
    """A grant (request) as the gateway knows it, with its on-chain liveness when issued."""

    grant_id: str
    state: str = Field(description="pending | approved | issued | denied | failed | revoked")
    liveness: str | None = Field(default=None, description="live | unknown | revoked | not_yet_valid | expired")
    used: int = 0
    max_count: int
    reason: str = ""
    tx: str | None = None
    request: dict[str, Any]

    @field_validator("liveness")
    @classmethod
    def _lower(cls, v: str | None) -> str | None:
        return v.lower() if v else v


class SessionRequest(BaseModel):
    """Body of POST /session (optional)."""

    model_config = {"extra": "forbid"}

    ttl_s: int | None = Field(default=None, ge=1, lt=2**31, description="wanted lifetime (capped by the gateway)")


class SessionPublic(BaseModel):
    """A bearer session token: send ``Authorization: Bearer <token>`` instead of signing each call."""

    token: str
    token_type: str = "Bearer"
    address: str
    expires_at: int = Field(description="unix seconds")
    expires_in: int = Field(description="seconds from now")


class HealthPublic(BaseModel):
    """Gateway health: fails closed when the chain view is not fresh."""

    status: str
    chain_id: int
    block: int | None
    view_age_s: float | None
    provider: str
    ledger: dict[str, Any] = Field(default_factory=dict, description="the ledger check (see gateway.reconcile): "
                                   "state ok; 503 ledger_unreconciled while the database lacks anchored receipts")
    refused: dict[str, int] = Field(
        default_factory=dict,
        description="refusals this worker process left no record of: `unauthenticated` (never identified a "
                    "participant: no access record, no receipt, no transaction) and `rate_limited` (429)")


ERRORS: dict[int | str, dict[str, Any]] = {  # always application/json, also beside JSON-LD or byte answers
    s: {"description": HTTPStatus(s).phrase,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    for s in (400, 401, 403, 404, 409, 413, 416, 421, 422, 429, 431, 500, 503)
}
ANY_ROUTE_ERRORS = (429, 431, 500, 503)  # per-client limit, request head bounds, last resort, database/ledger
ERRORS[429]["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


# ---- OpenAPI: ids, media types and how callers authenticate ----------------------------------------


SIGNED: dict[str, list[str]] = {s: [] for s in ("tdsAddress", "tdsGateway", "tdsNonce", "tdsExpiry", "tdsSignature")}
SESSION: dict[str, list[str]] = {"sessionToken": []}
SIGNED_CALL = {"security": [SIGNED]}
SIGNED_OR_SESSION = {"security": [SIGNED, SESSION]}
_SIGNED_HEADERS = {
    "tdsAddress": ("X-TDS-Address", "the signer's address (0x + 40 hex digits)"),
    "tdsGateway": ("X-TDS-Gateway", "the id of the gateway the call is signed for (GET /eip712 gateway.message)"),
    "tdsNonce": ("X-TDS-Nonce", "a decimal uint256 the signer never used before"),
    "tdsExpiry": ("X-TDS-Expiry", "unix seconds (uint32), at most max_request_ttl_s ahead"),
    "tdsSignature": ("X-TDS-Signature", "0x + 65-byte EIP-712 signature of GatewayRequest (see GET /eip712)"),
}
SECURITY_SCHEMES: dict[str, Any] = {
    **{scheme: {"type": "apiKey", "in": "header", "name": header,
                "description": f"signed call, all five X-TDS-* headers together: {what}"}
       for scheme, (header, what) in _SIGNED_HEADERS.items()},
    "sessionToken": {"type": "http", "scheme": "bearer", "bearerFormat": "tds1 session token",
                     "description": "`Authorization: Bearer tds1...` from a signed POST /session"},
}


def _id(what: str) -> Any:
    """A path parameter holding a 0x + 64 hex id (checked by the route, which answers ``invalid_id``)."""
    return Path(description=f"{what}: 0x + 64 hex digits", json_schema_extra={"pattern": BYTES32_PATTERN})


DATA_HEADERS: dict[str, Any] = {
    "X-Content-SHA256": {"description": "SHA-256 of the whole object (= the asset id)",
                         "schema": {"type": "string", "pattern": BYTES32_PATTERN}},
    "X-TDS-Grant": {"description": "the grant this access used", "schema": {"type": "string", "pattern": BYTES32_PATTERN}},
}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's ``anyOf: [T, null]`` as ``T``: a query or header value is absent, never null."""
    options = schema.get("anyOf")
    if not options or len(options) != 2 or {"type": "null"} not in options:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**next(o for o in options if o != {"type": "null"}), **rest}


class LdJsonResponse(JSONResponse):
    """JSON-LD (DCAT 3 / ODRL 2.2)."""

    media_type = "application/ld+json"


def _openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus what it cannot infer: the hand-parsed request bodies' schemas (with the
    models they reference) and the security schemes of signed calls and session tokens."""
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = doc.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for model in (ErrorBody, GrantSubmission, SessionRequest):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        components["securitySchemes"] = SECURITY_SCHEMES
        for item in doc["paths"].values():
            for op in item.values():
                for status in ANY_ROUTE_ERRORS:  # any request may meet these, before or beside its route
                    op["responses"].setdefault(str(status), ERRORS[status])
                for param in op.get("parameters", []):
                    param["schema"] = _not_null(param["schema"])
        app.openapi_schema = doc
    return app.openapi_schema


# ---- body limit --------------------------------------------------------------------------------------


class BodyLimit:
    """Refuse request bodies above ``limit`` bytes (Content-Length or streamed) with 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                await send_error(send, BodyTooLarge(f"body exceeds {self.limit} bytes"))
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(f"body exceeds {self.limit} bytes")
            return message

        await self.app(scope, limited, send)


class ClientLimit:
    """Per client IP rate limit (``rate_limit_per_client``), before anything else: 429 + Retry-After."""

    def __init__(self, app: ASGIApp, limits: RateLimits, refusals: RefusalCounter) -> None:
        self.app = app
        self.limit = limits.client
        self.refusals = refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.limit.enabled:
            client = (scope.get("client") or ("unknown", 0))[0]
            try:
                self.limit.hit(client, f"client {client}")
            except RateLimited as exc:
                self.refusals.count("rate_limited", 429, "rate_limited", scope.get("method", ""),
                                    scope.get("path", ""), client)
                await send_error(send, exc)
                return
        await self.app(scope, receive, send)


class LastResort:
    """Outermost: an exception no handler took answers the JSON error (500 ``internal_error``, or 503
    ``database_unavailable`` for a database failure) instead of escaping to the server, which would
    log it and then drop the keep-alive connection (or answer a text 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - the one place that must catch everything
            if started:
                raise  # the status line is out: nothing left but to cut the connection
            translated = translate_error(exc)
            if translated is exc and not isinstance(exc, ApiError):
                log.error("unexpected error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
            await send_error(send, translated)


def translate_error(exc: BaseException) -> BaseException:
    """A database connection failure as DatabaseUnavailable (503); any other exception unchanged."""
    if isinstance(exc, DATABASE_DOWN):
        log.error("database unavailable: %s", type(getattr(exc, "orig", None) or exc).__name__)
        return DatabaseUnavailable("the gateway database is unavailable: check that the database (db_url) is "
                                   "reachable and writable; the gateway refuses until it answers")
    return exc


def error_response(exc: BaseException) -> JSONResponse:
    """The JSON error response for any exception (see ERROR_TABLE)."""
    status, body = error_body(exc)
    return JSONResponse(body, status_code=status, headers=error_headers(exc))


# ---- app -------------------------------------------------------------------------------------------------


def create_app(
    settings: GatewaySettings,
    gateway: Gateway | None = None,
    **open_kwargs: Any,
) -> FastAPI:
    """Build the gateway app; opens a :class:`Gateway` from ``settings`` unless one is given.

    ``open_kwargs`` go to :meth:`Gateway.open` (``chain_settings``, ``chain``, ``store``, ``db``,
    ``provider``).
    """
    gw = gateway or Gateway.open(settings, **open_kwargs)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.worker_threads > 0:  # sync routes run on this many threads (anyio's default: 40)
            import anyio.to_thread

            anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        stop = threading.Event()
        thread = threading.Thread(target=_housekeeping, args=(gw, stop), name="tds-gateway-head", daemon=True)
        thread.start()
        yield
        stop.set()
        thread.join(timeout=5)

    app = FastAPI(
        title="TDS Gateway",
        version="1",
        description="Serves a provider's assets to consumers holding a live on-chain grant. "
        "Consumer calls are EIP-712 signed (see GET /eip712); errors are `{error: {code, message}}`.",
        lifespan=lifespan,
    )
    app.state.gateway = gw
    app.state.settings = settings
    app.state.limits = RateLimits.from_settings(settings)
    app.state.refusals = RefusalCounter()
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    install_ledger_guard(app, gw)  # nothing served until the database holds every anchored receipts root
    app.add_middleware(ClientLimit, limits=app.state.limits, refusals=app.state.refusals)
    app.add_middleware(LastResort)  # outermost: whatever escapes the rest answers JSON
    _install_error_handlers(app)
    app.openapi = lambda: _openapi_document(app)  # type: ignore[method-assign]
    _routes(app, gw)
    _receipt_routes(app, gw)  # notary: receipts, proofs, export, sealing thread (see below)
    return app


def _housekeeping(gw: Gateway, stop: threading.Event) -> None:
    """Keep the head view warm (for /health and catalog reads) and forget expired nonces."""
    last_prune = 0.0
    while not stop.wait(gw.settings.head_poll_interval_s):
        try:
            gw.view.head()
        except GatewayError as exc:
            log.warning("chain view: %s", exc)
        if time.time() - last_prune > 60:
            last_prune = time.time()
            try:
                gw.db.prune_nonces(int(time.time()) - gw.settings.clock_skew_s - 1)
            except Exception:  # noqa: BLE001 - housekeeping must not die
                log.exception("nonce pruning failed")


def _install_error_handlers(app: FastAPI) -> None:
    """Every error answers the documented JSON; the last-resort handler means no route answers a text 500."""
    def refused(request: Request, status: int, code: str) -> None:
        """Count a refusal that leaves no access record (never authenticated, or rate-limited)."""
        kind = "rate_limited" if code == "rate_limited" else "unauthenticated"
        if kind == "rate_limited" or getattr(request.state, "caller", None) is None:
            client = request.client.host if request.client else "unknown"
            app.state.refusals.count(kind, status, code, request.method, request.url.path, client)

    def respond(request: Request, exc: BaseException) -> JSONResponse:
        exc = translate_error(exc)
        response = error_response(exc)
        refused(request, response.status_code, error_status(exc)[1])
        return response

    async def _reported_error(request: Request, exc: Exception) -> JSONResponse:
        return respond(request, exc)

    for root in REPORTED_ERRORS:
        app.add_exception_handler(root, _reported_error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        body = {"error": {"code": "invalid_request", "message": f"{where}: {first.get('msg', 'invalid')}"}}
        refused(request, 422, "invalid_request")
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        refused(request, exc.status_code, code)
        return JSONResponse({"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code,
                            headers=exc.headers)  # 405 keeps its Allow header

    @app.exception_handler(sa_exc.SQLAlchemyError)
    async def _database(request: Request, exc: sa_exc.SQLAlchemyError) -> JSONResponse:
        if not isinstance(exc, DATABASE_DOWN):
            log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return respond(request, exc)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        return respond(request, exc)  # (LastResort answers first; Starlette re-raises after this one)


def _target(request: Request) -> str:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return (raw + (b"?" + query if query else b"")).decode("latin-1")


def _authenticate(gw: Gateway, request: Request, body: bytes, allow_session: bool = True) -> Caller:
    """A signed call (X-TDS-* headers) or, where allowed, a bearer session token."""
    authorization = request.headers.get("authorization")
    if authorization is not None and allow_session:
        session = gw.auth.verify_session(bearer_token(authorization), request.headers.get("x-tds-address"))
        head = gw.view.head(max_age_s=gw.settings.head_max_lag_s)
        return gw.auth.authenticate_session(session, head.number, Role.CONSUMER)
    call = SignedCall.from_headers(request.headers, request.method, _target(request), body)
    gw.auth.require_this_gateway(call)  # a call signed for another gateway: refused before any chain read
    head = gw.view.head(max_age_s=gw.settings.head_max_lag_s)
    return gw.auth.authenticate(call, head.number, Role.CONSUMER)


def _admit(request: Request, caller: Caller) -> Caller:
    """The per-address rate limit of an authenticated caller (429 before anything is recorded).

    From here on the request counts as authenticated: its refusals are access records, not counters.
    """
    request.app.state.limits.address.hit(caller.address.lower(), caller.address)
    request.state.caller = caller.address
    return caller


def _caller(gw: Gateway, request: Request, body: bytes, allow_session: bool = True) -> Caller:
    """:func:`_authenticate`, then :func:`_admit`."""
    return _admit(request, _authenticate(gw, request, body, allow_session))


def _routes(app: FastAPI, gw: Gateway) -> None:
    provider_did = did_pkh(gw.chain_id, gw.provider_address)

    @app.get("/health", response_model=HealthPublic, responses=ERRORS, tags=["meta"])
    def health() -> HealthPublic:
        """Liveness and chain freshness (503 when the gateway would refuse accesses)."""
        head = gw.view.head(max_age_s=gw.settings.head_poll_interval_s)
        ledger = app.state.ledger.refresh()
        if not ledger.ok:
            raise app.state.ledger.refusal()
        return HealthPublic(status="ok", chain_id=gw.chain_id, block=head.number,
                            view_age_s=round(time.time() - head.read_at, 3), provider=gw.provider_address,
                            ledger=ledger.to_json(), refused=app.state.refusals.snapshot())

    @app.get("/eip712", tags=["meta"])
    def eip712() -> dict[str, Any]:
        """EIP-712 domains and types for signed calls (GatewayRequest) and grant requests (GrantRequest).

        ``gateway.message`` holds the fields every call to this gateway signs as they are (``provider``,
        ``gateway``); send ``gateway.message.gateway`` as ``X-TDS-Gateway``.
        """
        return eip712_document(gw.domain)

    @app.get("/catalog", responses={**ERRORS, 200: {"content": {"application/ld+json": {"schema": {"type": "object"}}},
                                                     "description": "a DCAT 3 catalog (JSON-LD)"}},
             response_class=LdJsonResponse, tags=["catalog"])
    def get_catalog() -> JSONResponse:
        """Active assets of this provider as a DCAT 3 catalog with ODRL 2.2 offers (JSON-LD)."""
        head = gw.view.head(max_age_s=gw.settings.head_poll_interval_s)
        doc = gw.view.cached(("catalog",), head.number, lambda: _catalog(gw, provider_did))
        return LdJsonResponse(doc)

    @app.get("/assets/{asset_id}", responses={**ERRORS, 200: {
        "content": {"application/ld+json": {"schema": {"type": "object"}}}, "description": "a DCAT dataset (JSON-LD)"}},
        response_class=LdJsonResponse, tags=["catalog"])
    def get_asset(asset_id: str = _id("asset id")) -> JSONResponse:
        """One asset as a DCAT dataset with its metadata document and ODRL offer."""
        asset_id = parse_bytes32(asset_id, "asset id")
        head = gw.view.head(max_age_s=gw.settings.head_poll_interval_s)
        doc = gw.view.cached(("dataset", asset_id), head.number, lambda: _dataset(gw, asset_id))
        if doc is None:
            raise NotFound(f"asset {asset_id} is not served by this gateway")
        return LdJsonResponse({"@context": dcat.CONTEXT, **doc})

    @app.post(
        "/grants",
        status_code=201,
        response_model=GrantPublic,
        responses={**ERRORS, 202: {"model": GrantPublic, "description": "pending provider approval"}},
        openapi_extra={**SIGNED_OR_SESSION, "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/GrantSubmission"}}}}},
        tags=["grants"],
    )
    async def post_grant(request: Request) -> JSONResponse:
        """Request a grant (signed call; body = GrantRequest + the consumer's EIP-712 signature).

        201: issued on-chain (auto-approve policy). 202: pending the provider's approval.
        """
        body = await request.body()
        submission = _parse_submission(body)
        row = await run_in_threadpool(_submit, gw, request, body, submission)
        return JSONResponse(_grant_public(gw, row).model_dump(), status_code=201 if row.state == "issued" else 202)

    @app.get("/grants/{grant_id}", response_model=GrantPublic, responses=ERRORS, openapi_extra=SIGNED_OR_SESSION,
             tags=["grants"])
    def get_grant(request: Request, grant_id: str = _id("grant id")) -> GrantPublic:
        """A grant's state (signed call by its consumer)."""
        grant_id = parse_bytes32(grant_id, "grant id")
        caller = _caller(gw, request, b"")
        row = gw.db.grant_request(grant_id)
        if row is None or row.consumer != caller.address.lower():
            raise NotFound(f"no grant {grant_id} for {caller.address}")
        return _grant_public(gw, row, caller.block)

    @app.post(
        "/session",
        status_code=201,
        response_model=SessionPublic,
        responses=ERRORS,
        openapi_extra={**SIGNED_CALL, "requestBody": {"required": False, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/SessionRequest"}}}}},
        tags=["auth"],
    )
    async def post_session(request: Request) -> JSONResponse:
        """Open a session (signed call, never a token): a bearer token for ``Authorization: Bearer ...``.

        The token is bound to the signer, expires after ``ttl_s`` (capped by the gateway's
        ``session_ttl_s``), and is refused from the block on which its holder is no longer an
        active consumer.
        """
        body = await request.body()
        wanted = _parse_session_request(body)
        session = await run_in_threadpool(_open_session, gw, request, body, wanted)
        doc = SessionPublic(token=session.token, address=session.address, expires_at=session.expires_at,
                            expires_in=max(0, session.expires_at - int(time.time())))
        return JSONResponse(doc.model_dump(), status_code=201, headers={"Cache-Control": "no-store"})

    @app.get(
        "/assets/{asset_id}/data",
        responses={**ERRORS, 200: {"content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                  "format": "binary"}}},
                                   "description": "the bytes", "headers": DATA_HEADERS},
                   206: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                         "description": "a byte range",
                         "headers": {**DATA_HEADERS, "Content-Range": {"schema": {"type": "string"}}}}},
        response_class=StreamingResponse,
        openapi_extra=SIGNED_OR_SESSION,
        tags=["data"],
    )
    def get_data(
        request: Request,
        asset_id: str = _id("asset id"),
        grant: str | None = Query(default=None, description="grant id (default: the caller's live grant)",
                                  json_schema_extra={"pattern": BYTES32_PATTERN}),
        purpose: str | None = Query(default=None, description="declared purpose of this access (default: the grant's)",
                                    json_schema_extra={"minLength": 1, "maxLength": 200}),
        range_header: str | None = Header(default=None, alias="Range", description="one range: bytes=a-b, a- or -n",
                                          json_schema_extra={"pattern": r"^bytes=([0-9]+-[0-9]*|-[0-9]+)$"}),
    ) -> Response:
        """Stream an asset's bytes to a consumer holding a live grant (signed call or session token; uses one count).

        The access record is committed, with the count, before the response starts. A request that
        never authenticated (or was rate-limited) leaves no record: it is only counted (GET /health).
        """
        record: dict[str, Any] = {"method": "GET", "path": _target(request)[:512], "purpose": (purpose or "")[:200]}
        caller: Caller | None = None
        try:
            record["asset_id"] = asset_id = parse_bytes32(asset_id, "asset id")
            if purpose is not None and not 0 < len(purpose) <= 200:
                raise BadRequest("purpose must be 1..200 characters")
            caller = _caller(gw, request, b"")
            record.update(consumer=caller.address.lower(), block=caller.block)
            # the allow record is committed with the count, before any byte goes out
            delivery = authorize_fetch(gw, caller, asset_id, grant, purpose, range_header, record)
        except (*REPORTED_ERRORS, RequestValidationError) as exc:
            _record_refusal(gw, request, caller, exc, grant, record)
            raise
        headers = {
            "X-Content-SHA256": delivery.sha256,
            "X-TDS-Grant": delivery.grant_id,
            **({"X-TDS-Receipt": delivery.receipt_id} if delivery.receipt_id else {}),
            "Accept-Ranges": "bytes",
            "Content-Length": str(delivery.end - delivery.start),
            "Cache-Control": "no-store",
        }
        if delivery.partial:
            headers["Content-Range"] = f"bytes {delivery.start}-{delivery.end - 1}/{delivery.size}"
        status = 206 if delivery.partial else 200
        if delivery.body is not None:  # small: sent in one piece, no per-chunk thread hops
            delivery.reader.close()
            return Response(delivery.body, status_code=status, media_type="application/octet-stream", headers=headers)
        return ClosingStream(delivery.chunks(gw), status_code=status, media_type="application/octet-stream",
                             headers=headers)


def _record_refusal(gw: Gateway, request: Request, caller: Caller | None, exc: Exception, grant: str | None,
                    record: dict[str, Any]) -> None:
    """Record the refusal of an identified participant: it is evidence (a receipt, anchored later).

    A request that never identified one (unsigned, bad or replayed signature, not a member) writes
    nothing, so it causes no receipt and no anchoring: the error handler only counts it. A suspended
    participant's signature did verify: its attempt is recorded (under its per-address limit).
    """
    address = caller.address if caller is not None else None
    if address is None and isinstance(exc, ParticipantSuspended):
        address = str(exc.detail["address"])
        request.app.state.limits.address.hit(address.lower(), address)
        request.state.caller = address
    if address is not None:
        gw.db.record_access(decision="deny", code=refusal_code(exc), grant_id=_maybe_id(grant),
                            **{**record, "consumer": address.lower()})


def _maybe_id(value: str | None) -> str | None:
    try:
        return parse_bytes32(value) if value else None
    except ApiError:
        return None


def _parse_submission(body: bytes) -> GrantSubmission:
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
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MalformedJson(f"{where or 'body'}: {first['msg']}") from exc


def _parse_session_request(body: bytes) -> SessionRequest:
    if not body.strip():
        return SessionRequest()
    try:
        return SessionRequest.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MalformedJson(f"{where or 'body'}: {first['msg']}") from exc


def _open_session(gw: Gateway, request: Request, body: bytes, wanted: SessionRequest) -> Session:
    caller = _caller(gw, request, body, allow_session=False)
    return gw.auth.open_session(caller, min(wanted.ttl_s or gw.settings.session_ttl_s, gw.settings.session_ttl_s))


def _submit(gw: Gateway, request: Request, body: bytes, submission: GrantSubmission) -> GrantRequestRow:
    caller = _caller(gw, request, body)
    request.app.state.limits.grants.hit(caller.address.lower(), f"consumer {caller.address} (POST /grants)")
    return submit_grant_request(gw, caller, submission.request.to_request(), submission.signature)


def _grant_public(gw: Gateway, row: GrantRequestRow, block: int | None = None) -> GrantPublic:
    liveness = None
    if row.state in ("issued", "revoked"):
        head = block if block is not None else gw.view.head().number
        liveness = grant_liveness(gw.view, row.grant_id, row.request(), head).name  # both clocks, fail closed
    req = json.loads(row.request_json)
    return GrantPublic(grant_id=row.grant_id, state=row.state, liveness=liveness, used=gw.db.used(row.grant_id),
                       max_count=int(req["max_count"]), reason=row.reason, tx=row.tx or None, request=req)


def _catalog(gw: Gateway, provider_did: str) -> dict[str, Any]:
    datasets = []
    for asset in gw.view.assets.list(provider=gw.provider_address):
        if asset.active and gw.store.has(asset.asset_id):
            policy = gw.view.grants.get_policy(asset.asset_id)
            datasets.append(dcat.dataset(asset, policy, gw.metadata.get(asset.asset_id), gw.chain_id,
                                         gw.settings.base_url))
    return dcat.catalog(datasets, gw.settings.catalog_title, provider_did, gw.settings.base_url)


def _dataset(gw: Gateway, asset_id: str) -> dict[str, Any] | None:
    asset = gw.view.assets.get(asset_id)
    if asset is None or asset.provider.lower() != gw.provider_address.lower() or not gw.store.has(asset_id):
        return None
    doc = dcat.dataset(asset, gw.view.grants.get_policy(asset_id), gw.metadata.get(asset_id), gw.chain_id,
                       gw.settings.base_url)
    doc["tds:active"] = asset.active
    doc["tds:metadata"] = gw.metadata.get(asset_id)
    return doc


# ---- receipts and proofs (notary; see gateway.anchoring) --------------------------------------------------
#
# Who may read: any signed call by an active participant; the provider of this gateway and any participant
# holding the auditor role see every receipt, a consumer sees only the receipts naming its address (other
# receipts answer 404, as if absent). GET /receipts/export (JSONL for `tds audit check --receipts`) is for
# the provider and auditors only. The notary (seal on size or time, then anchor) runs in the app's lifespan
# only with ``notary_mode="thread"`` (embedded use, tests); ``tds gateway serve`` runs it as a separate
# process (gateway.notary_process), out of the serving process's GIL.


def _receipt_routes(app: FastAPI, gw: Gateway) -> None:
    from gateway.anchoring import RECEIPT_ID_PATTERN, Notary, ReceiptNotFound, access_id_of

    receipt_param = Path(description="a receipt id", json_schema_extra={"pattern": RECEIPT_ID_PATTERN})
    from gateway.errors import AccessDenied

    notary = Notary.for_gateway(gw)
    app.state.notary = notary
    _run_notary_in_lifespan(app, notary, gw.settings)

    def reader(request: Request) -> tuple[Caller, bool]:
        call = SignedCall.from_headers(request.headers, request.method, _target(request), b"")
        caller = _admit(request, gw.auth.authenticate(call, gw.view.head().number, Role(0)))
        sees_all = caller.address.lower() == gw.provider_address.lower() or Role.AUDITOR in caller.participant.roles
        return caller, sees_all

    def readable(request: Request, receipt_id: str) -> None:
        access_id_of(receipt_id)  # ReceiptNotFound for a malformed id (or one beyond any stored id), unsigned too
        caller, sees_all = reader(request)
        if not sees_all and notary.status(receipt_id).receipt.consumer != caller.address:
            raise ReceiptNotFound(f"no receipt {receipt_id} for {caller.address}")

    @app.get("/receipts", responses=ERRORS, openapi_extra=SIGNED_CALL, tags=["receipts"])
    def list_receipts(
        request: Request,
        grant: str | None = Query(default=None, description="only this grant's receipts",
                                  json_schema_extra={"pattern": BYTES32_PATTERN}),
        after: int = Query(default=0, ge=0, le=MAX_DB_INT, description="receipts after this access id (paging cursor)"),
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> dict[str, Any]:
        """Receipts visible to the caller (signed call), oldest first; `next` is the cursor of the next page."""
        caller, sees_all = reader(request)
        rows = notary.receipts(grant_id=parse_bytes32(grant, "grant id") if grant else None,
                               consumer=None if sees_all else caller.address, after=after, limit=limit)
        last = access_id_of(rows[-1].receipt.receipt_id) if len(rows) == limit else None
        return {"receipts": [r.to_dict(gw.chain_id) for r in rows], "next": last}

    @app.get("/receipts/export", responses={**ERRORS, 200: {"content": {"application/x-ndjson": {
        "schema": {"type": "string"}}}, "description": "one JSON object per line"}},
        response_class=StreamingResponse, openapi_extra=SIGNED_CALL, tags=["receipts"])
    def export_receipts(request: Request) -> Response:
        """Every receipt with its proof (null while pending), one JSON object per line (provider, auditors)."""
        caller, sees_all = reader(request)
        if not sees_all:
            raise AccessDenied(f"{caller.address} is neither this gateway's provider nor an auditor")
        return StreamingResponse(notary.export_jsonl(), media_type="application/x-ndjson",
                                 headers={"Cache-Control": "no-store"})

    @app.get("/receipts/{receipt_id}", responses=ERRORS, openapi_extra=SIGNED_CALL, tags=["receipts"])
    def get_receipt(request: Request, receipt_id: str = receipt_param) -> dict[str, Any]:
        """A receipt and its state: pending (not sealed), accepted (sealed) or anchored."""
        readable(request, receipt_id)
        return notary.status(receipt_id).to_dict(gw.chain_id)

    @app.get("/receipts/{receipt_id}/proof", responses=ERRORS, openapi_extra=SIGNED_CALL, tags=["receipts"])
    def get_receipt_proof(request: Request, receipt_id: str = receipt_param) -> dict[str, Any]:
        """The receipt's proof document (tds-proof-v1); 404 while the receipt is pending."""
        readable(request, receipt_id)
        return notary.proof(receipt_id).to_dict()


def _run_notary_in_lifespan(app: FastAPI, notary: Any, settings: GatewaySettings) -> None:
    """With ``notary_mode="thread"``: the notary thread starts with the app and stops (after its step) with it."""
    from gateway.anchoring import NotaryWorker

    if settings.notary_mode != "thread" or not settings.notary_enabled or notary.anchors is None \
            or notary.anchors.sender is None:
        return
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        worker = NotaryWorker(notary, settings.notary_batch_size, settings.notary_interval_s)
        a.state.notary_worker = worker
        worker.start()
        try:
            async with inner(a) as state:
                yield state
        finally:
            worker.stop()

    app.router.lifespan_context = lifespan
