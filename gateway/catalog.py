"""The provider's catalog as DCAT 3 JSON-LD, each dataset offering its usage policy in ODRL 2.2.

The offer itself (constraints for window, count, purpose, jurisdiction, price; compute-only; how a
paid offer is paid: ``tds:priceModel``, ``tds:freeUses``, ``tds:period`` on its ``odrl:compensate``
duty; the policy epoch a grant request agrees to, in its uid) is written by :func:`domain.odrl.offer`,
the one policy <-> ODRL mapping; this module assembles the datasets and the catalog around it.

The document is linked data, not only JSON: the context types every property whose value names a
thing (operands, operators, units, media types, uids) as ``@id``, so a JSON-LD processor (pyld,
rdflib) reads ``"odrl:leftOperand": "odrl:count"`` as the IRI ``http://www.w3.org/ns/odrl/2/count``
while plain-JSON readers keep seeing the compact string. Media types are IANA IRIs
(``https://www.iana.org/assignments/media-types/text/csv``), parents and versions link to the
dataset nodes (``urn:tds:asset:<id>``).
"""

from __future__ import annotations

import re
from typing import Any

from domain import odrl
from domain.odrl import asset_iri
from domain.types import Asset, Policy, did_pkh

IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
_IRI = {"@type": "@id"}

CONTEXT: dict[str, Any] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "prov": "http://www.w3.org/ns/prov#",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "tds": "https://w3id.org/tds/ns#",
    "hydra": "http://www.w3.org/ns/hydra/core#",
    # values that name a thing are IRIs, not strings (JSON readers still see the compact form)
    "odrl:leftOperand": _IRI,
    "odrl:operator": _IRI,
    "odrl:unit": _IRI,
    "odrl:action": _IRI,
    "odrl:uid": _IRI,
    "dcat:mediaType": _IRI,
    "tds:parents": _IRI,
    "dct:hasVersion": _IRI,
    "dct:conformsTo": _IRI,
    "hydra:first": _IRI,
    "hydra:previous": _IRI,
    "hydra:next": _IRI,
    "hydra:last": _IRI,
    "tds:facets": {"@type": "@json"},  # search facet counts: one JSON literal, not a graph of their own
}


def media_type_iri(media_type: str | None) -> str:
    """The IANA IRI of a media type (``text/csv`` -> ``https://www.iana.org/assignments/media-types/text/csv``).

    Parameters (``; charset=...``) are dropped; anything that is not ``type/subtype`` becomes
    ``application/octet-stream``.
    """
    text = (media_type or "").split(";", 1)[0].strip().lower()
    return IANA_MEDIA_TYPES + (text if _MEDIA_TYPE.match(text) else "application/octet-stream")


def _head(asset: Asset, kind: str, meta: dict[str, Any], provider: str) -> dict[str, Any]:
    """What every catalog node starts with: identity, title, publisher, keywords, version."""
    return {
        "@id": asset_iri(asset.asset_id),
        "@type": kind,
        "dct:identifier": asset.asset_id,
        "dct:title": meta.get("title", asset.asset_id),
        "dct:publisher": {"@id": provider},
        "dcat:keyword": list(meta.get("keywords", [])),
        "dcat:version": str(asset.version),
    }


def _checksum(asset: Asset) -> dict[str, Any]:
    return {"@type": "spdx:Checksum", "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
            "spdx:checksumValue": {"@value": asset.asset_id[2:], "@type": "xsd:hexBinary"}}


def _tail(out: dict[str, Any], asset: Asset, meta: dict[str, Any], policy: Policy | None, provider: str) -> None:
    """What every catalog node ends with: description, version links, the ODRL offer."""
    if meta.get("description"):
        out["dct:description"] = meta["description"]
    if asset.previous_version:
        previous = {"@id": asset_iri(asset.previous_version)}
        out["dct:replaces"] = previous
        out["dcat:previousVersion"] = previous
        out["dct:isVersionOf"] = previous
    if policy is not None:
        out["odrl:hasPolicy"] = [odrl.offer(asset.asset_id, policy, provider)]


def dataset(
    asset: Asset, policy: Policy | None, metadata: dict[str, Any] | None, chain_id: int, base_url: str
) -> dict[str, Any]:
    """One asset as a ``dcat:Dataset`` with one distribution (the gateway's data endpoint)."""
    meta = metadata or {}
    provider = did_pkh(chain_id, asset.provider)
    checksum = _checksum(asset)
    size = {"@value": str(asset.size), "@type": "xsd:nonNegativeInteger"}
    parents = [asset_iri(p) for p in asset.parents]
    out = {
        **_head(asset, "dcat:Dataset", meta, provider),
        "spdx:checksum": checksum,
        "dcat:byteSize": size,
        "tds:metadataHash": asset.metadata_hash,
        "tds:parents": parents,
        "prov:wasDerivedFrom": [{"@id": p} for p in parents],
        "dcat:distribution": [{
            "@type": "dcat:Distribution",
            "dcat:accessURL": {"@id": f"{base_url}/assets/{asset.asset_id}/data"},
            "dcat:mediaType": media_type_iri(meta.get("mediaType", meta.get("media_type"))),
            "dcat:byteSize": size,
            "spdx:checksum": checksum,
        }],
    }
    _tail(out, asset, meta, policy, provider)
    return out


def data_service(
    asset: Asset, policy: Policy | None, metadata: dict[str, Any] | None, chain_id: int, base_url: str,
    rate: str = "",
) -> dict[str, Any]:
    """A service asset as a ``dcat:DataService``: its endpoint on the gateway, its OpenAPI description
    (whose SHA-256 is the asset id) as the endpoint description, and its ODRL offer (a count is calls)."""
    meta = metadata or {}
    provider = did_pkh(chain_id, asset.provider)
    endpoint = f"{base_url}/services/{asset.asset_id}"
    out = {
        **_head(asset, "dcat:DataService", meta, provider),
        "dcat:endpointURL": {"@id": endpoint + "/"},
        "dcat:endpointDescription": {"@id": endpoint},
        "dct:conformsTo": {"@id": "https://spec.openapis.org/oas/v3.1.0"},
        "spdx:checksum": _checksum(asset),
        "tds:metadataHash": asset.metadata_hash,
        **({"tds:rateLimit": rate} if rate else {}),
    }
    _tail(out, asset, meta, policy, provider)
    return out


def link_versions(datasets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each dataset ``dct:hasVersion`` links to the datasets (in the list) that are its next versions."""
    later: dict[str, list[str]] = {}
    for ds in datasets:
        previous = ds.get("dcat:previousVersion", {}).get("@id")
        if previous:
            later.setdefault(previous, []).append(ds["@id"])
    return [{**ds, "dct:hasVersion": later[ds["@id"]]} if ds["@id"] in later else ds for ds in datasets]


def catalog_page(datasets: list[dict[str, Any]], services: list[dict[str, Any]], title: str, provider_did: str,
                 base_url: str, total: int, links: dict[str, str], facets: dict[str, dict[str, int]] | None = None,
                 ) -> dict[str, Any]:
    """One page of the catalog: the ``dcat:Catalog`` document holding the page's datasets and services
    (their ``dct:hasVersion`` links already set, as they may point to other pages), ``hydra:totalItems``
    (datasets and services matching the search), a ``hydra:PartialCollectionView`` whose ``links`` are
    ``@id`` (this page) and ``hydra:first`` / ``previous`` / ``next`` / ``last`` (absent when there is none),
    and the search's ``tds:facets`` (a JSON literal: facet -> value -> count)."""
    out = {
        "@context": CONTEXT,
        "@id": f"{base_url}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": title,
        "dct:publisher": {"@id": provider_did},
        "dcat:dataset": datasets,
        "dcat:service": services,
        "hydra:totalItems": total,
        "hydra:view": {"@type": "hydra:PartialCollectionView", **links},
    }
    if facets is not None:
        out["tds:facets"] = facets
    return out


def catalog(datasets: list[dict[str, Any]], title: str, provider_did: str, base_url: str,
            services: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The ``dcat:Catalog`` document (datasets, and data services under ``dcat:service``)."""
    return {
        "@context": CONTEXT,
        "@id": f"{base_url}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": title,
        "dct:publisher": {"@id": provider_did},
        "dcat:dataset": link_versions(datasets),
        "dcat:service": services or [],
    }
