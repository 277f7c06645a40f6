"""A read-only HTTP view of the audit index: ``audit_router(session_factory)`` for any FastAPI app.

    app.include_router(audit_router(db.session))

GET /audit/assets/{asset_id}, /audit/participants/{address}, /audit/grants/{grant_id},
/audit/statements/{address} (``?period_start=&period_end=``, unix seconds), /audit/disputes,
/audit/disputes/{dispute_id}; 404 when the index does not know the thing, 422 for a malformed id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Path
from sqlmodel import Session

from domain.ids import ADDRESS_PATTERN, BYTES32_PATTERN
from audit.errors import InputInvalid, NotIndexed
from audit.queries import asset_history, dispute, disputes, grant_history, participant_history, statement


def audit_router(session_factory: Callable[[], Session], prefix: str = "/audit") -> APIRouter:
    """A router answering asset, participant and grant histories from the index (no writes)."""
    router = APIRouter(prefix=prefix, tags=["audit"])

    def answer(query: Callable[[Session], Any]) -> dict[str, Any]:
        with session_factory() as s:
            try:
                return query(s).to_json()  # type: ignore[no-any-return]
            except NotIndexed as exc:
                raise HTTPException(status_code=404, detail=str(exc)) from exc
            except InputInvalid as exc:
                raise HTTPException(status_code=422, detail=str(exc)) from exc

    @router.get("/assets/{asset_id}", summary="An asset's history")
    def get_asset(asset_id: str = Path(pattern=BYTES32_PATTERN)) -> dict[str, Any]:
        """Registration, versions, lineage, policies, grants, settlements, compute policy, timeline."""
        return answer(lambda s: asset_history(s, asset_id.lower()))

    @router.get("/participants/{address}", summary="A participant's history")
    def get_participant(address: str = Path(pattern=ADDRESS_PATTERN)) -> dict[str, Any]:
        """Membership events, assets, grants, revocations, anchors, payments, revenue."""
        return answer(lambda s: participant_history(s, address))

    @router.get("/grants/{grant_id}", summary="A grant's history")
    def get_grant(grant_id: str = Path(pattern=BYTES32_PATTERN)) -> dict[str, Any]:
        """Signed request, signature, issuance, revocation, settlements."""
        return answer(lambda s: grant_history(s, grant_id.lower()))

    @router.get("/statements/{address}", summary="A participant's money statement")
    def get_statement(address: str = Path(pattern=ADDRESS_PATTERN), period_start: int | None = None,
                      period_end: int | None = None) -> dict[str, Any]:
        """Paid and earned per asset and settled period, with the receipts roots; escrow moves."""
        return answer(lambda s: statement(s, address, period_start, period_end))

    @router.get("/disputes", summary="Every dispute")
    def get_disputes() -> list[dict[str, Any]]:
        """Disputes with their evidence, status and ruling."""
        with session_factory() as s:
            return [d.to_json() for d in disputes(s)]

    @router.get("/disputes/{dispute_id}", summary="One dispute")
    def get_dispute(dispute_id: int) -> dict[str, Any]:
        """A dispute with its evidence, status and ruling."""
        return answer(lambda s: dispute(s, dispute_id))

    return router
