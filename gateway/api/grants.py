"""Grants: POST /grants (a consumer's signed grant request) and GET /grants/{grant_id} (its state)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.api.deps import ConsumerCall, GatewayDep, GrantId, LimitsDep, Submission
from gateway.api.models import GrantPublic
from gateway.api.openapi import ERRORS, SIGNED_OR_SESSION
from gateway.catalog_index import Row as CatalogRow
from gateway.db import GrantRequestRow
from gateway.errors import NotFound
from gateway.policy import grant_liveness
from gateway.service import Gateway, submit_grant_request

router = APIRouter(tags=["grants"])


@router.get("/grants", responses=ERRORS, openapi_extra=SIGNED_OR_SESSION)
def list_grants(caller: ConsumerCall, gw: GatewayDep) -> dict[str, Any]:
    """The caller's grant requests at this gateway, newest first, each with its state, uses left and the
    asset's title (signed call or session, by the consumer)."""
    rows = gw.db.grant_requests(consumer=caller.address)
    rows.reverse()
    assets = gw.catalog_index.at(caller.block).rows  # titles, kinds and policies, kept current from chain events
    out = []
    for row in rows[:500]:
        doc = grant_public(gw, row, caller.block).model_dump()
        asset = assets.get(row.asset_id)
        doc.update(asset_id=row.asset_id, asset_title=asset.title if asset is not None else "", kind=_kind(asset),
                   created_at=int(row.created_at))
        out.append(doc)
    return {"grants": out, "total": len(rows)}


def _kind(asset: CatalogRow | None) -> str:
    """What the consumer does with an asset: "dataset" (download), "service" (calls), "compute" (jobs only)."""
    if asset is not None and asset.kind == "service":
        return "service"
    return "compute" if asset is not None and asset.policy is not None and asset.policy.compute_only else "dataset"


@router.post(
    "/grants",
    status_code=201,
    response_model=GrantPublic,
    responses={**ERRORS, 202: {"model": GrantPublic, "description": "pending provider approval"}},
    openapi_extra={**SIGNED_OR_SESSION, "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/GrantSubmission"}}}}},
)
def post_grant(submission: Submission, caller: ConsumerCall, gw: GatewayDep, limits: LimitsDep) -> JSONResponse:
    """Request a grant (signed call; body = GrantRequest + the consumer's EIP-712 signature).

    201: issued on-chain (auto-approve policy). 202: pending the provider's approval.
    """
    limits.grants.hit(caller.address.lower(), f"consumer {caller.address} (POST /grants)")
    row = submit_grant_request(gw, caller, submission.request.to_request(), submission.signature)
    return JSONResponse(grant_public(gw, row).model_dump(), status_code=201 if row.state == "issued" else 202)


@router.get("/grants/{grant_id}", response_model=GrantPublic, responses=ERRORS, openapi_extra=SIGNED_OR_SESSION)
def get_grant(grant_id: GrantId, caller: ConsumerCall, gw: GatewayDep) -> GrantPublic:
    """A grant's state (signed call by its consumer)."""
    row = gw.db.grant_request(grant_id)
    if row is None or row.consumer != caller.address.lower():
        raise NotFound(f"no grant {grant_id} for {caller.address}")
    return grant_public(gw, row, caller.block)


def grant_public(gw: Gateway, row: GrantRequestRow, block: int | None = None) -> GrantPublic:
    """A grant request row as the API shows it, with its liveness at ``block`` (else the head) once issued."""
    liveness = None
    if row.state in ("issued", "revoked"):
        head = block if block is not None else gw.view.head().number
        liveness = grant_liveness(gw.view, row.grant_id, row.request(), head).name  # both clocks, fail closed
    req = json.loads(row.request_json)
    return GrantPublic(grant_id=row.grant_id, state=row.state, liveness=liveness, used=gw.db.used(row.grant_id),
                       max_count=int(req["max_count"]), reason=row.reason, tx=row.tx or None, request=req)
