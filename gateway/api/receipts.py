"""Receipts and proofs of accesses (the notary, ``anchoring.notary``): GET /receipts, /receipts/export,
/receipts/{receipt_id} and /receipts/{receipt_id}/proof.

Who may read: any signed call by an active participant; the provider of this gateway and any
participant holding the auditor role see every receipt, a consumer sees only the receipts naming
its address (other receipts answer 404, as if absent). GET /receipts/export (JSONL for
``tds audit check --receipts``) is for the provider and auditors only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response, StreamingResponse

from anchoring.errors import ReceiptNotFound
from anchoring.ledger import RECEIPT_ID_PATTERN, access_id_of
from domain.ids import BYTES32_PATTERN, parse_bytes32
from domain.types import Role
from gateway.api.deps import GatewayDep, NotaryDep, SignedParticipant
from gateway.api.openapi import ERRORS, SIGNED_CALL
from gateway.auth import Caller
from gateway.db import ComputeJob, ServiceCall
from gateway.errors import AccessDenied
from gateway.service import Gateway

router = APIRouter(tags=["receipts"])
MAX_DB_INT = 2**63 - 1
"""Largest id a database column holds (SQLite INTEGER, PostgreSQL BIGINT): larger ids name nothing."""


async def receipt_id_param(
    receipt_id: Annotated[str, Path(description="a receipt id", json_schema_extra={"pattern": RECEIPT_ID_PATTERN})],
) -> str:
    """The path's receipt id; a malformed one (or one beyond any stored id) is not found, signed or not."""
    access_id_of(receipt_id)
    return receipt_id


ReceiptId = Annotated[str, Depends(receipt_id_param)]


def sees_every_receipt(gw: Gateway, caller: Caller) -> bool:
    """Whether ``caller`` reads every receipt (this gateway's provider, an auditor) or only its own."""
    return caller.address.lower() == gw.provider_address.lower() or Role.AUDITOR in caller.participant.roles


@router.get("/receipts", responses=ERRORS, openapi_extra=SIGNED_CALL)
def list_receipts(
    gw: GatewayDep,
    notary: NotaryDep,
    caller: SignedParticipant,
    grant: Annotated[str | None, Query(description="only this grant's receipts",
                                       json_schema_extra={"pattern": BYTES32_PATTERN})] = None,
    after: Annotated[int, Query(ge=0, le=MAX_DB_INT, description="receipts after this access id (paging cursor)")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Receipts visible to the caller (signed call), oldest first; `next` is the cursor of the next page."""
    rows = notary.receipts(grant_id=parse_bytes32(grant, "grant id") if grant else None,
                           consumer=None if sees_every_receipt(gw, caller) else caller.address,
                           after=after, limit=limit)
    last = access_id_of(rows[-1].receipt.receipt_id) if len(rows) == limit else None
    return {"receipts": [r.to_dict(gw.chain_id) for r in rows], "next": last}


@router.get("/receipts/export", responses={**ERRORS, 200: {"content": {"application/x-ndjson": {
    "schema": {"type": "string"}}}, "description": "one JSON object per line"}},
    response_class=StreamingResponse, openapi_extra=SIGNED_CALL)
def export_receipts(gw: GatewayDep, notary: NotaryDep, caller: SignedParticipant) -> Response:
    """Every receipt with its proof (null while pending), one JSON object per line (provider, auditors)."""
    if not sees_every_receipt(gw, caller):
        raise AccessDenied(f"{caller.address} is neither this gateway's provider nor an auditor")
    return StreamingResponse(_export_lines(gw, notary), media_type="application/x-ndjson",
                             headers={"Cache-Control": "no-store"})


EXPORT_PAGE = 500


def _export_lines(gw: Gateway, notary: Any) -> Iterator[str]:
    """The notary's export, each line with the evidence its content hash commits to, as GET /receipts/{id}
    gives it: ``call`` for a service call, ``job`` for a finished compute job (``tds audit check`` reads
    both). Receipts restored from an earlier database have no evidence here."""
    page: list[dict[str, Any]] = []
    for entry in notary.export():
        page.append(entry)
        if len(page) >= EXPORT_PAGE:
            yield from _with_evidence(gw, page)
            page = []
    yield from _with_evidence(gw, page)


def _with_evidence(gw: Gateway, page: list[dict[str, Any]]) -> Iterator[str]:
    ids: dict[int, int] = {}  # position in page -> access id in this database's ledger
    for i, entry in enumerate(page):
        try:
            ids[i] = access_id_of(entry["receipt"]["receipt_id"], gw.db.ledger)
        except ReceiptNotFound:
            continue
    calls, jobs = gw.db.evidence_of_accesses(sorted(set(ids.values())))
    for i, entry in enumerate(page):
        access_id = ids.get(i)
        if access_id is not None:
            _add_evidence(entry, calls.get(access_id), jobs.get(access_id))
        yield json.dumps(entry, separators=(",", ":")) + "\n"


def _add_evidence(doc: dict[str, Any], call: ServiceCall | None, job: ComputeJob | None) -> None:
    """``call`` / ``job``: the evidence document a receipt's content hash commits to (a job's once it ended)."""
    from gateway.jobs import evidence_of

    if call is not None:
        doc["call"] = call.evidence()
    if job is not None and job.ended:
        doc["job"] = evidence_of(job)


@router.get("/receipts/{receipt_id}", responses=ERRORS, openapi_extra=SIGNED_CALL)
def get_receipt(receipt_id: ReceiptId, gw: GatewayDep, notary: NotaryDep, caller: SignedParticipant) -> dict[str, Any]:
    """A receipt and its state: pending (not sealed), accepted (sealed) or anchored. A service call's
    receipt also carries ``call``: the evidence document whose SHA-256 is its content hash (``notary.calls``); a
    finished compute job's receipt carries ``job`` (``notary.jobs``) the same way."""
    _require_readable(gw, notary, caller, receipt_id)
    doc: dict[str, Any] = notary.status(receipt_id).to_dict(gw.chain_id)
    access_id = access_id_of(receipt_id, gw.db.ledger)
    _add_evidence(doc, gw.db.service_call(access_id), gw.db.job_of_access(access_id))
    return doc


@router.get("/receipts/{receipt_id}/proof", responses=ERRORS, openapi_extra=SIGNED_CALL)
def get_receipt_proof(receipt_id: ReceiptId, gw: GatewayDep, notary: NotaryDep,
                      caller: SignedParticipant) -> dict[str, Any]:
    """The receipt's proof document (tds-proof-v1); 404 while the receipt is pending."""
    _require_readable(gw, notary, caller, receipt_id)
    return notary.proof(receipt_id).to_dict()  # type: ignore[no-any-return]


def _require_readable(gw: Gateway, notary: Any, caller: Caller, receipt_id: str) -> None:
    if not sees_every_receipt(gw, caller) and notary.status(receipt_id).receipt.consumer != caller.address:
        raise ReceiptNotFound(f"no receipt {receipt_id} for {caller.address}")
