"""The app's exception handlers: every error answers ``{error: {code, message}}`` with the status
of the one table (``gateway.errors.ERROR_TABLE``); FastAPI's own validation and routing errors and
database failures get the same shape.

A refusal that leaves no access record (the request never identified a participant, or was
rate-limited) is counted in ``app.state.refusals`` (GET /health ``refused``).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from gateway.errors import REPORTED_ERRORS, DatabaseUnavailable, error_body, error_headers, error_status

log = logging.getLogger("tds.gateway")
DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.InternalError, sa_exc.TimeoutError,
                 sa_exc.DisconnectionError)
"""SQLAlchemy errors that mean the database cannot be used right now (503 database_unavailable)."""


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


def install_error_handlers(app: FastAPI) -> None:
    """Every error answers the documented JSON; the last-resort handler means no route answers a text 500."""
    for root in REPORTED_ERRORS:
        app.add_exception_handler(root, _reported_error)
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(sa_exc.SQLAlchemyError, _database)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal)  # (LastResort answers first; Starlette re-raises after it)


def _refused(request: Request, status: int, code: str) -> None:
    """Count a refusal that leaves no access record (never authenticated, or rate-limited)."""
    kind = "rate_limited" if code == "rate_limited" else "unauthenticated"
    if kind == "rate_limited" or getattr(request.state, "caller", None) is None:
        client = request.client.host if request.client else "unknown"
        request.app.state.refusals.count(kind, status, code, request.method, request.url.path, client)


def _respond(request: Request, exc: BaseException) -> JSONResponse:
    exc = translate_error(exc)
    response = error_response(exc)
    _refused(request, response.status_code, error_status(exc)[1])
    return response


async def _reported_error(request: Request, exc: Exception) -> JSONResponse:
    return _respond(request, exc)


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    body = {"error": {"code": "invalid_request", "message": f"{where}: {first.get('msg', 'invalid')}"}}
    _refused(request, 422, "invalid_request")
    return JSONResponse(body, status_code=422)


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    _refused(request, exc.status_code, code)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed(request) or headers.get("Allow", "")
    return JSONResponse({"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code,
                        headers=headers)


def _allowed(request: Request) -> str:
    """Every method some route of this path takes (Starlette's 405 names only the first route's: GET /grants
    and POST /grants are two routes)."""
    scope = {**request.scope, "method": "\0"}  # a method no route takes: a matching path answers PARTIAL
    methods: set[str] = set()
    for route in flat_routes(request.app.router.routes):
        if route.matches(scope)[0] is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def flat_routes(routes: Any) -> Any:
    """The app's routes with included routers opened up (FastAPI keeps an included APIRouter as one entry
    whose ``original_router`` holds its routes, their paths already prefixed)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from flat_routes(inner.routes)
        else:
            yield route


async def _database(request: Request, exc: sa_exc.SQLAlchemyError) -> JSONResponse:
    if not isinstance(exc, DATABASE_DOWN):
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    return _respond(request, exc)


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    return _respond(request, exc)
