"""The provider's offer: GET /catalog (DCAT 3 with ODRL 2.2 offers; searched and paged through the gateway's
catalog index, :mod:`gateway.catalog_index`) and GET /assets/{asset_id} (JSON-LD)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request

from domain.search import PARAMETER_SCHEMAS, CatalogPage, CatalogQuery
from domain.types import did_pkh
from gateway import catalog as dcat
from gateway.api.deps import AssetId, GatewayDep, RecentHead
from gateway.api.openapi import ERRORS, LdJsonResponse
from gateway.errors import NotFound
from gateway.service import Gateway

router = APIRouter(tags=["catalog"])


def catalog_query(request: Request) -> CatalogQuery:
    """The search the query string asks for; a parameter that is unknown, repeated or out of range answers
    400 ``invalid_query`` naming it and what it takes (before the chain is read)."""
    return CatalogQuery.from_pairs(request.query_params.multi_items())


CatalogSearch = Annotated[CatalogQuery, Depends(catalog_query)]

_PARAMETERS: list[dict[str, Any]] = [
    {"name": name, "in": "query", "required": False, "description": what, "schema": PARAMETER_SCHEMAS[name]}
    for name, what in (
        ("q", "keyword terms, all matched (case-insensitive) in title, description or keywords; a term starting "
              "with 0x also matches the asset ids it prefixes"),
        ("kind", "what the asset is (empty: any)"),
        ("provider", "the provider, a 0x address or did:pkh:eip155:<chain id>:<address> (empty: any)"),
        ("purpose", "a purpose the policy allows; a policy listing no purposes allows any (empty: any)"),
        ("jurisdiction", "a consumer jurisdiction the policy allows, ISO 3166-1 alpha-2; a policy listing none "
                         "allows any (empty: any)"),
        ("price_model", "how the policy charges; none: it has no policy and cannot be granted (empty: any)"),
        ("page", "the page, from 1 (past the last one: an empty page)"),
        ("per_page", "items per page"),
    )
]


@router.get("/catalog", responses={**ERRORS, 200: {"content": {"application/ld+json": {"schema": {"type": "object"}}},
                                                    "description": "one page of the DCAT 3 catalog (JSON-LD)"}},
            response_class=LdJsonResponse, openapi_extra={"parameters": _PARAMETERS})
def get_catalog(query: CatalogSearch, gw: GatewayDep, head: RecentHead) -> LdJsonResponse:
    """This provider's active assets as a DCAT 3 catalog with ODRL 2.2 offers (JSON-LD), searched and paged.

    Datasets (stored files, algorithms among them) are under `dcat:dataset`, data services under
    `dcat:service`, each node as it has always been. The search (`q`, `kind`, `provider`, `purpose`,
    `jurisdiction`, `price_model`; an empty filter means "any") picks the items, newest registration
    first; `page` and `per_page` (default 20, at most 100) pick the page. Without parameters: the
    newest 20 and the links to the rest. `hydra:totalItems` counts
    every match; `hydra:view` links this page (`@id`), `hydra:first`, `hydra:previous`, `hydra:next`
    and `hydra:last` (absent when there is none); `tds:facets` (a JSON literal) says, per facet
    (`kind`, `purpose`, `jurisdiction`, `price_model`, `provider`), how many items each value would
    list with the other filters kept (`*`: policies that restrict no purpose / jurisdiction, which
    match every value). A client that wants the whole catalog follows `hydra:next` from the first page
    (the SDK's `GatewayClient.catalog()` does, 100 per page). Parameters that are unknown, repeated,
    malformed or out of range answer 400 `invalid_query` naming the parameter and what it accepts.

    Answers hold for the chain head the request was checked at (or a newer one); the catalog is kept
    current from the chain's asset and policy events, not rebuilt per block. Chain unreachable or
    stale: 503, as every route.
    """
    return LdJsonResponse(catalog_page_document(gw, head.number, query))


def catalog_page_document(gw: Gateway, block: int, query: CatalogQuery) -> dict[str, Any]:
    """The catalog page ``query`` asks for at ``block`` (or newer) from the gateway's catalog index."""
    index = gw.catalog_index
    snapshot, page = index.search(block, query)
    datasets, services = [], []
    for entry in page.entries:
        kind, node = index.document(snapshot, entry.asset_id)
        (services if kind == "service" else datasets).append(node)
    base = gw.settings.base_url
    return dcat.catalog_page(datasets, services, gw.settings.catalog_title, did_pkh(gw.chain_id, gw.provider_address),
                             base, page.total, page_links(f"{base}/catalog", query, page), page.facets)


def page_links(url: str, query: CatalogQuery, page: CatalogPage) -> dict[str, str]:
    """The Hydra view links of ``page``: ``@id``, ``hydra:first``, ``hydra:previous``, ``hydra:next``, ``hydra:last``
    (previous of a page past the end is the last page; an empty result has one, empty, page)."""
    last = max(page.pages, 1)

    def at(number: int) -> str:
        return f"{url}?{urlencode(query.to_params(page=number), quote_via=quote)}"

    links = {"@id": at(page.page), "hydra:first": at(1)}
    if page.page > 1:
        links["hydra:previous"] = at(min(page.page - 1, last))
    if page.page < last:
        links["hydra:next"] = at(page.page + 1)
    links["hydra:last"] = at(last)
    return links


@router.get("/assets/{asset_id}", responses={**ERRORS, 200: {
    "content": {"application/ld+json": {"schema": {"type": "object"}}}, "description": "a DCAT dataset (JSON-LD)"}},
    response_class=LdJsonResponse)
def get_asset(asset_id: AssetId, gw: GatewayDep, head: RecentHead) -> LdJsonResponse:
    """One asset as a DCAT dataset with its metadata document and ODRL offer."""
    doc = gw.view.cached(("dataset", asset_id), head.number, lambda: dataset_document(gw, asset_id))
    if doc is None:
        raise NotFound(f"asset {asset_id} is not served by this gateway")
    return LdJsonResponse({"@context": dcat.CONTEXT, **doc})


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
