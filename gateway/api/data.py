"""The data plane: GET /assets/{asset_id}/data streams an asset's bytes to a consumer with a live grant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response, StreamingResponse

from gateway.access import ClosingStream, Delivery, authorize_fetch
from gateway.api.deps import Attempt, ConsumerCall, GatewayDep
from gateway.api.openapi import DATA_HEADERS, ERRORS, SIGNED_OR_SESSION
from gateway.service import Gateway

router = APIRouter(tags=["data"])
_BYTES = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


@router.get(
    "/assets/{asset_id}/data",
    responses={**ERRORS, 200: {"content": _BYTES, "description": "the bytes", "headers": DATA_HEADERS},
               206: {"content": _BYTES, "description": "a byte range",
                     "headers": {**DATA_HEADERS, "Content-Range": {"schema": {"type": "string"}}}}},
    response_class=StreamingResponse,
    openapi_extra=SIGNED_OR_SESSION,
)
def get_data(
    gw: GatewayDep,
    attempt: Attempt,
    caller: ConsumerCall,
    range_header: Annotated[str | None, Header(
        alias="Range", description="one range: bytes=a-b, a- or -n",
        json_schema_extra={"pattern": r"^bytes=([0-9]+-[0-9]*|-[0-9]+)$"})] = None,
) -> Response:
    """Stream an asset's bytes to a consumer holding a live grant (signed call or session token; uses one count).

    The access record is committed, with the count, before the response starts. A request that
    never authenticated (or was rate-limited) leaves no record: it is only counted (GET /health).
    """
    return delivery_response(gw, authorize_fetch(gw, attempt, caller, range_header))


def delivery_response(gw: Gateway, delivery: Delivery) -> Response:
    """The 200 or 206 answer of an authorized access: small bodies in one piece, larger ones streamed."""
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
