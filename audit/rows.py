"""From a decoded TDS event to the rows it adds to the index (pure functions, one per event)."""

from __future__ import annotations

import json
from typing import Any, Callable

from sqlmodel import SQLModel

from audit.db import (
    AnchorRow,
    AssetDeactivationRow,
    AssetRow,
    AssetVersionRow,
    EventRow,
    GrantRow,
    LineageRow,
    ParticipantEventRow,
    PolicyRow,
    RevenueRow,
    RevocationRow,
    SettlementRow,
)
from chain.logs import ChainEvent

Row = tuple[type[SQLModel], dict[str, Any]]


def rows_for(event: ChainEvent, timestamp: int) -> list[Row]:
    """The generic ``events`` row plus the domain rows of one event."""
    where = {"block_number": event.block_number, "tx_hash": event.tx_hash, "log_index": event.log_index,
             "timestamp": timestamp}
    generic = {**where, "block_hash": event.block_hash, "contract": event.contract, "name": event.name,
               "args": json.dumps(event.args, separators=(",", ":"))}
    handler = HANDLERS.get(event.name)
    domain = handler(event.args, where) if handler else []
    return [(EventRow, generic), *domain]


def _text2(code: str) -> str:
    """bytes2 hex (``0x4445``) -> ``DE``."""
    return bytes.fromhex(code[2:]).decode("ascii", errors="replace").strip("\0")


def _participant(kind: str) -> Callable[[dict[str, Any], dict[str, Any]], list[Row]]:
    def handle(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
        row = {**where, "address": a["account"], "kind": kind, "by": a["by"]}
        if kind == "onboarded":
            row.update(roles=a["roles"], jurisdiction=_text2(a["jurisdiction"]), credential_hash=a["credentialHash"])
        return [(ParticipantEventRow, row)]

    return handle


def _asset_registered(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    asset = {**where, "asset_id": a["assetId"], "provider": a["provider"], "size": a["size"],
             "metadata_hash": a["metadataHash"], "metadata_uri": a["metadataURI"],
             "owners": json.dumps(a["owners"]), "shares_bps": json.dumps(a["sharesBps"])}
    edges = [(LineageRow, {**where, "child_id": a["assetId"], "parent_id": p}) for p in dict.fromkeys(a["parents"])]
    return [(AssetRow, asset), *edges]


def _asset_version(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(AssetVersionRow, {**where, "asset_id": a["assetId"], "previous_id": a["previousId"],
                               "version": a["version"]})]


def _asset_deactivated(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(AssetDeactivationRow, {**where, "asset_id": a["assetId"], "by": a["by"]})]


def _policy(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(PolicyRow, {
        **where, "asset_id": a["assetId"], "epoch": a["epoch"], "not_before": a["notBefore"],
        "not_after": a["notAfter"], "max_count": a["maxCount"], "price_per_access": str(a["pricePerAccess"]),
        "compute_only": a["computeOnly"], "auto_approve": a["autoApprove"], "purposes": json.dumps(a["purposes"]),
        "jurisdictions": json.dumps([_text2(j) for j in a["jurisdictions"]]),
    })]


def _grant_issued(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(GrantRow, {
        **where, "grant_id": a["grantId"], "asset_id": a["assetId"], "consumer": a["consumer"],
        "purpose": a["purpose"], "not_before": a["notBefore"], "not_after": a["notAfter"],
        "max_count": a["maxCount"], "price_per_access": str(a["pricePerAccess"]), "nonce": str(a["nonce"]),
        "deadline": a["deadline"], "signature": a["signature"],
    })]


def _grant_revoked(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(RevocationRow, {**where, "grant_id": a["grantId"], "asset_id": a["assetId"], "by": a["by"]})]


def _anchored(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(AnchorRow, {**where, "provider": a["provider"], "root": a["root"], "anchorer": a["anchorer"],
                         "leaf_count": a["leafCount"], "kind": a["kind"]})]


def _settled(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(SettlementRow, {**where, "grant_id": a["grantId"], "asset_id": a["assetId"],
                             "consumer": a["consumer"], "count": a["count"], "amount": str(a["amount"]),
                             "usage_root": a["usageRoot"]})]


def _revenue(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(RevenueRow, {**where, "grant_id": a["grantId"], "owner": a["owner"], "amount": str(a["amount"])})]


HANDLERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[Row]]] = {
    "ParticipantOnboarded": _participant("onboarded"),
    "ParticipantSuspended": _participant("suspended"),
    "ParticipantReinstated": _participant("reinstated"),
    "AssetRegistered": _asset_registered,
    "AssetVersionRegistered": _asset_version,
    "AssetDeactivated": _asset_deactivated,
    "PolicySet": _policy,
    "GrantIssued": _grant_issued,
    "GrantRevoked": _grant_revoked,
    "RootAnchored": _anchored,
    "UsageSettled": _settled,
    "RevenuePaid": _revenue,
}
"""Event name -> rows. Events not listed (OpenZeppelin role changes, ERC-20 transfers) are kept only
in the generic ``events`` table."""
