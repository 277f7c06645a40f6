"""The provider's catalog as DCAT 3 JSON-LD, each dataset offering its usage policy in ODRL 2.2.

Policy constraints: ``odrl:dateTime`` (window), ``odrl:count`` (per-grant cap), ``odrl:purpose``,
``odrl:spatial`` (consumer jurisdiction, ISO 3166-1 alpha-2) and compute-only (permission to
``tds:compute`` with ``odrl:reproduce`` prohibited instead of ``odrl:use``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from chain.types import Asset, Policy, did_pkh

CONTEXT: dict[str, Any] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "tds": "https://w3id.org/tds/ns#",
}


def _iso(ts: int) -> dict[str, str]:
    value = datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"@value": value, "@type": "xsd:dateTime"}


def _constraint(left: str, op: str, right: Any) -> dict[str, Any]:
    return {"odrl:leftOperand": left, "odrl:operator": {"@id": op}, "odrl:rightOperand": right}


def odrl_offer(asset_id: str, policy: Policy, assigner: str) -> dict[str, Any]:
    """The asset's policy as an ``odrl:Offer``."""
    constraints = []
    if policy.not_before:
        constraints.append(_constraint("odrl:dateTime", "odrl:gteq", _iso(policy.not_before)))
    if policy.not_after:
        constraints.append(_constraint("odrl:dateTime", "odrl:lt", _iso(policy.not_after)))
    if policy.max_count:
        constraints.append(_constraint("odrl:count", "odrl:lteq", policy.max_count))
    if policy.purposes:
        constraints.append(_constraint("odrl:purpose", "odrl:isAnyOf", list(policy.purposes)))
    if policy.jurisdictions:
        constraints.append(_constraint("odrl:spatial", "odrl:isAnyOf", list(policy.jurisdictions)))
    permission: dict[str, Any] = {
        "odrl:action": {"@id": "tds:compute" if policy.compute_only else "odrl:use"},
        "odrl:target": {"@id": f"urn:tds:asset:{asset_id}"},
        "odrl:constraint": constraints,
    }
    if policy.price_per_access:
        permission["odrl:duty"] = [{
            "odrl:action": {"@id": "odrl:compensate"},
            "odrl:constraint": [_constraint("odrl:payAmount", "odrl:eq", str(policy.price_per_access))],
            "odrl:unit": "tds:SettlementToken",
        }]
    offer: dict[str, Any] = {
        "@id": f"urn:tds:policy:{asset_id}:{policy.epoch}",
        "@type": "odrl:Offer",
        "odrl:uid": f"urn:tds:policy:{asset_id}:{policy.epoch}",
        "odrl:assigner": {"@id": assigner},
        "odrl:permission": [permission],
        "tds:autoApprove": policy.auto_approve,
    }
    if policy.compute_only:
        offer["odrl:prohibition"] = [{"odrl:action": {"@id": "odrl:reproduce"},
                                      "odrl:target": {"@id": f"urn:tds:asset:{asset_id}"}}]
    return offer


def dataset(
    asset: Asset, policy: Policy | None, metadata: dict[str, Any] | None, chain_id: int, base_url: str
) -> dict[str, Any]:
    """One asset as a ``dcat:Dataset`` with one distribution (the gateway's data endpoint)."""
    meta = metadata or {}
    provider = did_pkh(chain_id, asset.provider)
    checksum = {"@type": "spdx:Checksum", "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                "spdx:checksumValue": asset.asset_id[2:]}
    out: dict[str, Any] = {
        "@id": f"urn:tds:asset:{asset.asset_id}",
        "@type": "dcat:Dataset",
        "dct:identifier": asset.asset_id,
        "dct:title": meta.get("title", asset.asset_id),
        "dct:publisher": {"@id": provider},
        "dcat:keyword": list(meta.get("keywords", [])),
        "dct:hasVersion": asset.version,
        "spdx:checksum": checksum,
        "dcat:byteSize": {"@value": str(asset.size), "@type": "xsd:nonNegativeInteger"},
        "tds:metadataHash": asset.metadata_hash,
        "tds:parents": list(asset.parents),
        "dcat:distribution": [{
            "@type": "dcat:Distribution",
            "dcat:accessURL": {"@id": f"{base_url}/assets/{asset.asset_id}/data"},
            "dcat:mediaType": meta.get("mediaType", meta.get("media_type", "application/octet-stream")),
            "dcat:byteSize": {"@value": str(asset.size), "@type": "xsd:nonNegativeInteger"},
            "spdx:checksum": checksum,
        }],
    }
    if meta.get("description"):
        out["dct:description"] = meta["description"]
    if asset.previous_version:
        out["dct:replaces"] = {"@id": f"urn:tds:asset:{asset.previous_version}"}
    if policy is not None:
        out["odrl:hasPolicy"] = [odrl_offer(asset.asset_id, policy, provider)]
    return out


def catalog(datasets: list[dict[str, Any]], title: str, provider_did: str, base_url: str) -> dict[str, Any]:
    """The ``dcat:Catalog`` document."""
    return {
        "@context": CONTEXT,
        "@id": f"{base_url}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": title,
        "dct:publisher": {"@id": provider_did},
        "dcat:dataset": datasets,
    }
