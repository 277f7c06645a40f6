"""From a decoded TDS event to the rows it adds to the index (pure functions, one per event)."""

from __future__ import annotations

import json
from typing import Any, Callable

from sqlmodel import SQLModel

from audit.db import (
    AcceptanceRow,
    AnchorRow,
    AssetDeactivationRow,
    AssetRow,
    AssetVersionRow,
    BalanceRow,
    ComputeApprovalRow,
    DeferralRow,
    DisputeRow,
    EscrowLockRow,
    EscrowReleaseRow,
    EventRow,
    EvidenceRow,
    FreezeRow,
    GrantRow,
    LineageRow,
    ParticipantEventRow,
    PolicyRow,
    PricingRow,
    PrivacyBudgetRow,
    RefundRow,
    RevenueRow,
    RevocationRow,
    RoyaltyRow,
    RulingRow,
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
             "owners": json.dumps(a["owners"]), "shares_bps": json.dumps(a["sharesBps"]),
             "parents": json.dumps(a["parents"])}
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
        "deadline": a["deadline"], "signature": a["signature"], "policy_epoch": a.get("policyEpoch", 0),
    })]


def _pricing(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(PricingRow, {**where, "asset_id": a["assetId"], "epoch": a["epoch"], "price_model": a["priceModel"],
                          "free_uses": a["freeUses"], "period": a["period"]})]


def _accepted(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(AcceptanceRow, {**where, "grant_id": a["grantId"], "provider": a["provider"],
                             "policy_epoch": a["policyEpoch"], "signature": a["signature"]})]


def _grant_revoked(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(RevocationRow, {**where, "grant_id": a["grantId"], "asset_id": a["assetId"], "by": a["by"]})]


def _anchored(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(AnchorRow, {**where, "provider": a["provider"], "root": a["root"], "anchorer": a["anchorer"],
                         "leaf_count": a["leafCount"], "kind": a["kind"]})]


def _settled(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(SettlementRow, {**where, "grant_id": a["grantId"], "asset_id": a["assetId"],
                             "consumer": a["consumer"], "period_start": a["periodStart"],
                             "period_end": a["periodEnd"], "units": a["units"], "free_units": a["freeUnits"],
                             "amount": str(a["amount"]), "receipts_root": a["receiptsRoot"]})]


def _revenue(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(RevenueRow, {**where, "grant_id": a["grantId"], "asset_id": a["assetId"], "owner": a["owner"],
                          "amount": str(a["amount"]), "depth": a["depth"]})]


def _locked(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(EscrowLockRow, {**where, "grant_id": a["grantId"], "asset_id": a["assetId"], "consumer": a["consumer"],
                             "price_model": a["priceModel"], "price": str(a["price"]),
                             "locked": str(a["locked"])})]


def _released(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(EscrowReleaseRow, {**where, "grant_id": a["grantId"], "consumer": a["consumer"],
                                "amount": str(a["amount"]), "by": a["by"]})]


def _refunded(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(RefundRow, {**where, "grant_id": a["grantId"], "consumer": a["consumer"],
                         "from_lock": str(a["fromLock"]), "from_provider": str(a["fromProvider"])})]


def _deposited(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(BalanceRow, {**where, "account": a["consumer"], "kind": "deposit", "amount": str(a["amount"])})]


def _withdrawn(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    kind = "withdraw_earnings" if a["earnings"] else "withdraw_deposit"
    return [(BalanceRow, {**where, "account": a["account"], "kind": kind, "amount": str(a["amount"])})]


def _frozen(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(FreezeRow, {**where, "grant_id": a["grantId"], "frozen": bool(a["frozen"])})]


def _deferred(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(DeferralRow, {**where, "grant_id": a["grantId"], "period_end": a["periodEnd"]})]


def _royalty(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(RoyaltyRow, {**where, "royalty_bps": a["royaltyBps"]})]


def _dispute_opened(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(DisputeRow, {**where, "dispute_id": a["disputeId"], "grant_id": a["grantId"],
                          "opened_by": a["openedBy"], "subject": a["subject"], "period_end": a["periodEnd"],
                          "evidence_hash": a["evidenceHash"]})]


def _evidence_submitted(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(EvidenceRow, {**where, "dispute_id": a["disputeId"], "party": a["party"],
                           "evidence_hash": a["evidenceHash"], "evidence_uri": None})]


def _evidence(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    """ERC-1497 Evidence: the URI of the evidence whose hash the next EvidenceSubmitted carries."""
    return [(EvidenceRow, {**where, "dispute_id": a["_evidenceGroupID"], "party": a["_party"],
                           "evidence_hash": None, "evidence_uri": a["_evidence"]})]


def _ruled(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(RulingRow, {**where, "dispute_id": a["disputeId"], "grant_id": a["grantId"], "ruling": a["ruling"],
                         "refund": str(a["refund"]), "by": a["by"]})]


def _approval(approved: bool) -> Callable[[dict[str, Any], dict[str, Any]], list[Row]]:
    def handle(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
        return [(ComputeApprovalRow, {**where, "asset_id": a["assetId"], "algorithm_id": a["algorithmId"],
                                      "approved": approved, "by": a["provider"]})]

    return handle


def _budget(a: dict[str, Any], where: dict[str, Any]) -> list[Row]:
    return [(PrivacyBudgetRow, {**where, "asset_id": a["assetId"], "epsilon_micros": str(a["epsilonMicros"]),
                                "by": a["provider"]})]


HANDLERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[Row]]] = {
    "ParticipantOnboarded": _participant("onboarded"),
    "ParticipantSuspended": _participant("suspended"),
    "ParticipantReinstated": _participant("reinstated"),
    "AssetRegistered": _asset_registered,
    "AssetVersionRegistered": _asset_version,
    "AssetDeactivated": _asset_deactivated,
    "PolicySet": _policy,
    "PricingSet": _pricing,
    "GrantIssued": _grant_issued,
    "GrantAccepted": _accepted,
    "GrantRevoked": _grant_revoked,
    "RootAnchored": _anchored,
    "UsageSettled": _settled,
    "RevenuePaid": _revenue,
    "EscrowLocked": _locked,
    "EscrowReleased": _released,
    "Refunded": _refunded,
    "Deposited": _deposited,
    "Withdrawn": _withdrawn,
    "AccountFrozen": _frozen,
    "SettlementDeferred": _deferred,
    "RoyaltySet": _royalty,
    "DisputeOpened": _dispute_opened,
    "EvidenceSubmitted": _evidence_submitted,
    "Evidence": _evidence,
    "DisputeRuled": _ruled,
    "AlgorithmApproved": _approval(True),
    "AlgorithmRejected": _approval(False),
    "PrivacyBudgetSet": _budget,
}
"""Event name -> rows. Events not listed (OpenZeppelin role changes, ERC-20 transfers, the ERC-1497 Dispute
and ERC-792 Ruling twins of DisputeOpened and DisputeRuled, ArbitratorSet, SettlementBound) are kept only in
the generic ``events`` table."""
