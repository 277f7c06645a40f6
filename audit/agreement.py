"""A grant as an ODRL 2.2 Agreement (JSON-LD), rebuilt from the index: the digital contract both parties signed.

The consumer signed the EIP-712 GrantRequest (its terms, including the policy epoch it agreed to) and the
provider the EIP-712 GrantAcceptance over the grant id; both signatures are on-chain (GrantIssued,
GrantAccepted) and stand in the agreement as ``tds:consumerSignature`` and ``tds:providerSignature``.

The permission is the asset's policy at the agreed epoch narrowed to what the consumer asked for (its
purpose, window and count; the policy's jurisdictions and compute-only flag), written with
:func:`domain.odrl.offer`'s mapping; the price is its ``odrl:compensate`` duty with the price model
(``tds:priceModel``, ``tds:freeUses``, ``tds:period``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from audit.queries import GrantEntry, PolicyEntry, did
from domain import odrl
from domain.types import Policy, PriceModel

CONTEXT: dict[str, Any] = {
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "tds": "https://w3id.org/tds/ns#",
    "odrl:leftOperand": {"@type": "@id"},
    "odrl:operator": {"@type": "@id"},
    "odrl:unit": {"@type": "@id"},
    "odrl:action": {"@type": "@id"},
}


def grant_iri(grant_id: str) -> str:
    """The IRI of a grant's agreement."""
    return f"urn:tds:grant:{grant_id}"


def agreement(grant: GrantEntry, policy: PolicyEntry | None, provider: str, chain_id: int | None) -> dict[str, Any]:
    """The ``odrl:Agreement`` of ``grant`` under ``policy`` (the asset's policy at the grant's epoch; None when the
    index lacks it: the grant's own terms alone), assigned by ``provider`` to the grant's consumer (DIDs)."""
    model = _model(policy.price_model) if policy else PriceModel.FREE
    terms = Policy(
        not_before=grant.not_before, not_after=grant.not_after, max_count=grant.max_count,
        price_per_access=grant.price_per_access, compute_only=policy.compute_only if policy else False,
        auto_approve=policy.auto_approve if policy else True, purposes=(grant.purpose,),
        jurisdictions=tuple(policy.jurisdictions) if policy else (), epoch=grant.policy_epoch,
        price_model=model, free_uses=policy.free_uses if policy else 0, period=policy.period if policy else 0,
    )
    assigner, assignee = did(chain_id, provider), did(chain_id, grant.consumer)
    offered = odrl.offer(grant.asset_id, terms, assigner)
    permissions = offered["odrl:permission"]
    for perm in permissions:
        perm["odrl:assigner"] = {"@id": assigner}
        perm["odrl:assignee"] = {"@id": assignee}
        for duty in perm.get("odrl:duty", []):  # domain.odrl states the price model; kept should it not
            duty.setdefault("tds:priceModel", model.label)
    out: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": grant_iri(grant.grant_id),
        "@type": "odrl:Agreement",
        "odrl:uid": grant.grant_id,
        "odrl:assigner": {"@id": assigner},
        "odrl:assignee": {"@id": assignee},
        "odrl:target": {"@id": odrl.asset_iri(grant.asset_id)},
        "odrl:permission": permissions,
        "tds:policy": {"@id": f"urn:tds:policy:{grant.asset_id}:{grant.policy_epoch}"},
        "tds:policyEpoch": grant.policy_epoch,
        "tds:priceModel": model.label,
        "tds:issued": _datetime(grant.issued.timestamp),
        "tds:consumerSignature": grant.signature,
        "tds:providerSignature": grant.acceptance.signature if grant.acceptance else None,
    }
    if "odrl:prohibition" in offered:
        out["odrl:prohibition"] = offered["odrl:prohibition"]
    if grant.acceptance is not None:
        out["tds:accepted"] = _datetime(grant.acceptance.at.timestamp)
    return out


def _model(label: str) -> PriceModel:
    try:
        return PriceModel.parse(label)
    except ValueError:
        return PriceModel.FREE


def _datetime(ts: int) -> dict[str, str]:
    return {"@value": datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "@type": "xsd:dateTime"}
