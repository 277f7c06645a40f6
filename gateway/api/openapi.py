"""What the OpenAPI document says beyond what FastAPI infers: error responses, id patterns, media
types, and how callers authenticate (the X-TDS-* signed-call headers or a bearer session token)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Path
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from domain.ids import BYTES32_PATTERN
from gateway.api.models import ErrorBody, GrantSubmission, SessionRequest

ERRORS: dict[int | str, dict[str, Any]] = {  # always application/json, also beside JSON-LD or byte answers
    s: {"description": HTTPStatus(s).phrase,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    for s in (400, 401, 402, 403, 404, 409, 413, 416, 421, 422, 429, 431, 500, 503)
}
"""Every documented error response, by status (a route's ``responses``)."""
ANY_ROUTE_ERRORS = (429, 431, 500, 503)  # per-client limit, request head bounds, last resort, database/ledger
ERRORS[429]["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}

SIGNED: dict[str, list[str]] = {s: [] for s in ("tdsAddress", "tdsGateway", "tdsNonce", "tdsExpiry", "tdsSignature")}
SESSION: dict[str, list[str]] = {"sessionToken": []}
SIGNED_CALL = {"security": [SIGNED]}
"""``openapi_extra`` of a route that takes signed calls only."""
SIGNED_OR_SESSION = {"security": [SIGNED, SESSION]}
"""``openapi_extra`` of a route that takes a signed call or a session token."""
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
DATA_HEADERS: dict[str, Any] = {
    "X-Content-SHA256": {"description": "SHA-256 of the whole object (= the asset id)",
                         "schema": {"type": "string", "pattern": BYTES32_PATTERN}},
    "X-TDS-Grant": {"description": "the grant this access used",
                    "schema": {"type": "string", "pattern": BYTES32_PATTERN}},
}
"""Response headers of the data route."""


def id_param(what: str) -> Any:
    """A path parameter holding a 0x + 64 hex id (checked by the route, which answers ``invalid_id``)."""
    return Path(description=f"{what}: 0x + 64 hex digits", json_schema_extra={"pattern": BYTES32_PATTERN})


class LdJsonResponse(JSONResponse):
    """JSON-LD (DCAT 3 / ODRL 2.2)."""

    media_type = "application/ld+json"


def openapi_document(app: FastAPI) -> dict[str, Any]:
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


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's ``anyOf: [T, null]`` as ``T``: a query or header value is absent, never null."""
    options = schema.get("anyOf")
    if not options or len(options) != 2 or {"type": "null"} not in options:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**next(o for o in options if o != {"type": "null"}), **rest}
