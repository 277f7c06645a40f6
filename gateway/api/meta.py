"""The gateway about itself: GET /health (fails closed) and GET /eip712 (what signed calls sign)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from chain.eip712 import eip712_document
from gateway.api.deps import GatewayDep, RecentHead
from gateway.api.models import HealthPublic
from gateway.api.openapi import ERRORS

router = APIRouter(tags=["meta"])


@router.get("/health", response_model=HealthPublic, responses=ERRORS)
def health(request: Request, gw: GatewayDep, head: RecentHead) -> HealthPublic:
    """Liveness and chain freshness (503 when the gateway would refuse accesses)."""
    state = request.app.state
    ledger = state.ledger.refresh()
    if not ledger.ok:
        raise state.ledger.refusal()
    return HealthPublic(status="ok", chain_id=gw.chain_id, block=head.number,
                        view_age_s=round(time.time() - head.read_at, 3), provider=gw.provider_address,
                        ledger=ledger.to_json(), refused=state.refusals.snapshot())


@router.get("/eip712")
def eip712(gw: GatewayDep) -> dict[str, Any]:
    """EIP-712 domains and types for signed calls (GatewayRequest) and grant requests (GrantRequest).

    ``gateway.message`` holds the fields every call to this gateway signs as they are (``provider``,
    ``gateway``); send ``gateway.message.gateway`` as ``X-TDS-Gateway``.
    """
    return eip712_document(gw.domain)
