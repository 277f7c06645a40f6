"""The provider's offer: GET /catalog (DCAT 3 with ODRL 2.2 offers) and GET /assets/{asset_id} (JSON-LD)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from domain.types import did_pkh
from gateway import catalog as dcat
from gateway.api.deps import AssetId, GatewayDep, RecentHead
from gateway.api.openapi import ERRORS, LdJsonResponse
from gateway.errors import NotFound
from gateway.service import Gateway

router = APIRouter(tags=["catalog"])


@router.get("/catalog", responses={**ERRORS, 200: {"content": {"application/ld+json": {"schema": {"type": "object"}}},
                                                    "description": "a DCAT 3 catalog (JSON-LD)"}},
            response_class=LdJsonResponse)
def get_catalog(gw: GatewayDep, head: RecentHead) -> LdJsonResponse:
    """Active assets of this provider as a DCAT 3 catalog with ODRL 2.2 offers (JSON-LD)."""
    return LdJsonResponse(gw.view.cached(("catalog",), head.number, lambda: catalog_document(gw)))


@router.get("/assets/{asset_id}", responses={**ERRORS, 200: {
    "content": {"application/ld+json": {"schema": {"type": "object"}}}, "description": "a DCAT dataset (JSON-LD)"}},
    response_class=LdJsonResponse)
def get_asset(asset_id: AssetId, gw: GatewayDep, head: RecentHead) -> LdJsonResponse:
    """One asset as a DCAT dataset with its metadata document and ODRL offer."""
    doc = gw.view.cached(("dataset", asset_id), head.number, lambda: dataset_document(gw, asset_id))
    if doc is None:
        raise NotFound(f"asset {asset_id} is not served by this gateway")
    return LdJsonResponse({"@context": dcat.CONTEXT, **doc})


def catalog_document(gw: Gateway) -> dict[str, Any]:
    """The catalog of this gateway's active, stored assets."""
    datasets, services = [], []
    for asset in gw.view.assets.list(provider=gw.provider_address):
        if asset.active and gw.store.has(asset.asset_id):
            policy = gw.view.grants.get_policy(asset.asset_id)
            datasets.append(dcat.dataset(asset, policy, gw.metadata.get(asset.asset_id), gw.chain_id,
                                         gw.settings.base_url))
        elif asset.active and gw.services.has(asset.asset_id):
            services.append(_service(gw, asset))
    provider_did = did_pkh(gw.chain_id, gw.provider_address)
    return dcat.catalog(datasets, gw.settings.catalog_title, provider_did, gw.settings.base_url, services)


def _service(gw: Gateway, asset: Any) -> dict[str, Any]:
    config = gw.services.config(asset.asset_id)
    return dcat.data_service(asset, gw.view.grants.get_policy(asset.asset_id), gw.metadata.get(asset.asset_id),
                             gw.chain_id, gw.settings.base_url, config.rate if config else "")


def dataset_document(gw: Gateway, asset_id: str) -> dict[str, Any] | None:
    """One asset's dataset (with its state and metadata), or None when this gateway does not serve it."""
    asset = gw.view.assets.get(asset_id)
    if asset is None or asset.provider.lower() != gw.provider_address.lower():
        return None
    if gw.services.has(asset_id) and not gw.store.has(asset_id):
        doc = _service(gw, asset)
        doc["tds:active"] = asset.active
        doc["tds:metadata"] = gw.metadata.get(asset_id)
        return doc
    if not gw.store.has(asset_id):
        return None
    doc = dcat.dataset(asset, gw.view.grants.get_policy(asset_id), gw.metadata.get(asset_id), gw.chain_id,
                       gw.settings.base_url)
    doc["tds:active"] = asset.active
    doc["tds:metadata"] = gw.metadata.get(asset_id)
    return doc
