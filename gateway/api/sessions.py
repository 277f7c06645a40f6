"""Sessions: POST /session turns one signed call into a bearer token for the calls that follow."""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.api.deps import GatewayDep, SignedConsumer, WantedSession
from gateway.api.models import SessionPublic
from gateway.api.openapi import ERRORS, SIGNED_CALL

router = APIRouter(tags=["auth"])


@router.post(
    "/session",
    status_code=201,
    response_model=SessionPublic,
    responses=ERRORS,
    openapi_extra={**SIGNED_CALL, "requestBody": {"required": False, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/SessionRequest"}}}}},
)
def post_session(wanted: WantedSession, caller: SignedConsumer, gw: GatewayDep) -> JSONResponse:
    """Open a session (signed call, never a token): a bearer token for ``Authorization: Bearer ...``.

    The token is bound to the signer, expires after ``ttl_s`` (capped by the gateway's
    ``session_ttl_s``), and is refused from the block on which its holder is no longer an
    active consumer.
    """
    ttl_s = min(wanted.ttl_s or gw.settings.session_ttl_s, gw.settings.session_ttl_s)
    session = gw.auth.open_session(caller, ttl_s)
    doc = SessionPublic(token=session.token, address=session.address, expires_at=session.expires_at,
                        expires_in=max(0, session.expires_at - int(time.time())))
    return JSONResponse(doc.model_dump(), status_code=201, headers={"Cache-Control": "no-store"})
