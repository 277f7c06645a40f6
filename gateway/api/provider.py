"""The provider's routes (signed by this gateway's provider only): grant requests to decide, revocation,
incidents, and use and revenue per asset and period.

    GET  /provider/requests[?state=pending]          grant requests, newest first, with asset titles
    POST /provider/grants/{grant_id}/approve         put a pending request on-chain (201 issued)
    POST /provider/grants/{grant_id}/deny            {"reason": "..."} optional; nothing goes on-chain
    POST /provider/grants/{grant_id}/revoke          revoke an issued grant on-chain
    GET  /provider/incidents                         what must never happen and did (newest first)
    GET  /provider/usage?period=day|week|month[&count=N]   uses, bytes and revenue per asset and period

Every one needs the provider's signed call (the X-TDS-* headers): the console signs it in the browser, the
CLI (``tds grant approve|deny|revoke``) acts on the gateway's database and key directly. A cookie alone, a
session token, or any other participant's signature is refused (401/403) before anything changes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from chain.contracts import TokenClient
from domain.ids import BYTES32_PATTERN
from domain.types import did_pkh
from gateway import usage
from gateway.api.deps import GatewayDep, GrantId, SignedProvider
from gateway.api.grants import grant_public
from gateway.api.openapi import ERRORS, SIGNED_CALL
from gateway.db import GrantState
from gateway.errors import BadRequest, MalformedJson
from gateway.service import Gateway, approve_grant, deny_grant, revoke_grant

router = APIRouter(prefix="/provider", tags=["provider"])
MAX_REASON = 500


def title_of(gw: Gateway, asset_id: str) -> str:
    """An asset's title from its metadata document ("" when it has none)."""
    meta = gw.metadata.get(asset_id) or {}
    title = meta.get("title")
    return title if isinstance(title, str) else ""


def _request_view(gw: Gateway, row: Any) -> dict[str, Any]:
    doc = grant_public(gw, row).model_dump()
    doc.update(asset_id=row.asset_id, asset_title=title_of(gw, row.asset_id),
               consumer=row.consumer, consumer_did=did_pkh(gw.chain_id, row.consumer),
               created_at=int(row.created_at), updated_at=int(row.updated_at))
    return doc


@router.get("/requests", responses=ERRORS, openapi_extra=SIGNED_CALL)
def list_requests(
    gw: GatewayDep, caller: SignedProvider,
    state: Annotated[str | None, Query(description="only requests in this state: "
                                                   + " | ".join(s.value for s in GrantState))] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> dict[str, Any]:
    """Grant requests at this gateway, newest first (signed by the provider)."""
    wanted = None
    if state is not None:
        try:
            wanted = GrantState(state)
        except ValueError as exc:
            raise BadRequest(f"state must be one of {', '.join(s.value for s in GrantState)}, not \"{state[:40]}\"") \
                from exc
    rows = gw.db.grant_requests(state=wanted)
    rows.reverse()
    return {"requests": [_request_view(gw, r) for r in rows[:limit]], "total": len(rows)}


@router.post("/grants/{grant_id}/approve", status_code=201, responses=ERRORS, openapi_extra=SIGNED_CALL)
def approve(grant_id: GrantId, gw: GatewayDep, caller: SignedProvider) -> dict[str, Any]:
    """Approve a pending request: the grant goes on-chain with the consumer's signature and the provider's
    acceptance. 402 when a prepaid consumer's deposit does not cover it yet (the request stays pending)."""
    return _request_view(gw, approve_grant(gw, grant_id))


async def _reason(request: Request) -> str:
    body = await request.body()
    if not body:
        return ""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedJson("body must be JSON: {\"reason\": \"...\"}") from exc
    reason = data.get("reason", "") if isinstance(data, dict) else None
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise MalformedJson(f"reason must be a string of at most {MAX_REASON} characters")
    return reason


@router.post("/grants/{grant_id}/deny", responses=ERRORS, openapi_extra=SIGNED_CALL)
def deny(grant_id: GrantId, reason: Annotated[str, Depends(_reason)], gw: GatewayDep,
         caller: SignedProvider) -> dict[str, Any]:
    """Deny a pending request, with an optional reason the consumer sees (nothing goes on-chain)."""
    return _request_view(gw, deny_grant(gw, grant_id, reason))


@router.post("/grants/{grant_id}/revoke", responses=ERRORS, openapi_extra=SIGNED_CALL)
def revoke(grant_id: GrantId, gw: GatewayDep, caller: SignedProvider) -> dict[str, Any]:
    """Revoke an issued grant on-chain (refused from the next block on)."""
    tx = revoke_grant(gw, grant_id)
    row = gw.db.grant_request(grant_id)
    doc = _request_view(gw, row) if row is not None else {"grant_id": grant_id}
    return {**doc, "revoke_tx": tx}


@router.get("/incidents", responses=ERRORS, openapi_extra=SIGNED_CALL)
def incidents(gw: GatewayDep, caller: SignedProvider,
              asset: Annotated[str | None, Query(pattern=BYTES32_PATTERN)] = None) -> dict[str, Any]:
    """Incidents (a stored file failing its integrity check, ...), newest first, optionally of one asset."""
    rows = [i for i in gw.db.incidents() if asset is None or (i.asset_id or "").lower() == asset.lower()]
    rows.reverse()
    return {"incidents": [{"at": int(i.at), "kind": i.kind, "asset_id": i.asset_id,
                           "asset_title": title_of(gw, i.asset_id) if i.asset_id else "", "detail": i.detail}
                          for i in rows[:500]]}


_TOKENS: dict[int, tuple[str, int]] = {}


def token_of(gw: Gateway) -> tuple[str, int] | None:
    """The settlement token's (symbol, decimals) for amounts people read, read once per gateway; None (base
    units) when the deployment has no token or the node does not answer (asked again next time)."""
    key = id(gw)
    if key not in _TOKENS:
        try:
            tokens = TokenClient(gw.chain)
            _TOKENS[key] = (tokens.symbol(), tokens.decimals())
        except Exception:  # noqa: BLE001 - no token contract in this deployment, or no node yet
            return None
    return _TOKENS[key]


@router.get("/usage", responses=ERRORS, openapi_extra=SIGNED_CALL)
def usage_route(gw: GatewayDep, caller: SignedProvider,
                period: Annotated[str, Query(pattern="^(day|week|month)$")] = "day",
                count: Annotated[int | None, Query(ge=1, le=366)] = None) -> dict[str, Any]:
    """Uses, bytes and revenue (at the price per use each consumer signed) per asset used in the span and period,
    UTC, most used first."""
    since = usage.span_start(period, count)
    prices = usage.agreed_prices((r.grant_id, r.request_json) for r in gw.db.grant_requests())
    series = usage.usage_by_asset(gw.db.allowed_uses(since), period, since, prices)  # the assets used in the span
    token = token_of(gw)
    return {"period": period, "since": since, "token": {"symbol": token[0], "decimals": token[1]} if token else None,
            "assets": [
        {"asset_id": u.asset_id, "title": title_of(gw, u.asset_id), "uses": u.uses, "revenue": str(u.revenue),
         "buckets": [b.to_json() for b in u.buckets]} for u in series]}
