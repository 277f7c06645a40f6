"""The provider's web console, served by its gateway under ``/console`` (HTML; not in the OpenAPI document).

    /console/                    the catalog: search, filters (kind, purpose, jurisdiction, price model), pages
    /console/assets/{asset_id}   one asset: description, provider, versions, lineage graph, policy in words
                                 and as ODRL, price, uses per day; for its provider (signed in) the incidents
    /console/consumer            my grants, uses left, download / call / compute, receipts, proofs checked
                                 in the browser
    /console/provider            requests to approve or deny, revocation, use and revenue per asset and period
    /console/wallet              unlock the dev wallet (a keystore file, decrypted in the page) or an injected one
    /console/lang/{lang}         the language switch (a cookie, remembered for a year)

Reading pages are rendered here and work with JavaScript off; what needs a signature goes from the page's
JavaScript (console/static/console.js) to the gateway's own API with the X-TDS-* headers signed in the
browser, so the console adds no route that changes anything: a cookie alone never does.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

import i18n
from chain.errors import ChainError
from console import charts, web, words
from domain import odrl
from domain.ids import is_bytes32
from domain.search import CatalogQuery
from domain.types import did_pkh
from gateway import usage
from gateway.api.provider import token_of
from gateway.errors import GatewayError
from gateway.service import Gateway

router = APIRouter(prefix=web.PREFIX, include_in_schema=False)
_RENDERER: web.Renderer | None = None


def renderer() -> web.Renderer:
    """The console's renderer (templates are read once per process)."""
    global _RENDERER
    if _RENDERER is None:
        _RENDERER = web.Renderer(site={"role": "gateway"})
    return _RENDERER


def mount(app: FastAPI) -> None:
    """Add the console's pages and static files to the gateway app."""
    app.include_router(router)
    web.mount_static(app)


def _gw(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def _config(gw: Gateway) -> dict[str, Any]:
    """What the page's JavaScript needs to sign calls and check proofs (no secret)."""
    rpc = gw.settings.console_rpc_url or gw.chain.settings.rpc_url
    contracts = {}
    for name in ("AnchorRegistry", "AssetRegistry", "UsageGrants"):
        try:
            contracts[name] = gw.chain.address(name)
        except Exception:  # noqa: BLE001 - a deployment without it: the page says what it cannot check
            pass
    return {"chain_id": gw.chain_id, "provider": gw.provider_address, "rpc_url": "" if rpc == "off" else rpc,
            "contracts": contracts}


def _page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    gw = _gw(request)
    config = _config(gw)
    return renderer().render(request, name, status, config=config, connect=[web.origin_of(config["rpc_url"])],
                             provider=gw.provider_address, provider_did=did_pkh(gw.chain_id, gw.provider_address),
                             chain_id=gw.chain_id, space_title=gw.settings.catalog_title, **context)


def _problem(request: Request, exc: Exception, status: int = 503) -> Response:
    """The page when the chain (or the database) cannot be read: a banner, nothing pretended."""
    return _page(request, "problem.html", status, problem=str(exc))


# ---- the catalog ------------------------------------------------------------------------------------------


def _snapshot(gw: Gateway) -> Any:
    """The gateway's catalog index at a head at most ``head_poll_interval_s`` old (``gateway.catalog_index``:
    kept current from chain events; fails closed when the chain cannot be read)."""
    head = gw.view.head(max_age_s=gw.settings.head_poll_interval_s)
    return gw.catalog_index.at(head.number)


@router.get("/")
def catalog_page(request: Request) -> Response:
    """The catalog with its search form, facets and pages (a GET form: works with JavaScript off)."""
    gw = _gw(request)
    try:
        query = CatalogQuery.from_pairs((k, v) for k, v in request.query_params.multi_items() if k != "lang")
    except ValueError as exc:
        return _page(request, "catalog.html", 400, page=None, query=CatalogQuery(), error=str(exc), facets={})
    try:
        head = gw.view.head(max_age_s=gw.settings.head_poll_interval_s)
        _, page = gw.catalog_index.search(head.number, query)
    except (GatewayError, ChainError) as exc:
        return _problem(request, exc)
    return _page(request, "catalog.html", page=page, query=query, error=None, facets=page.facets,
                 prev_link=_page_link(query, page.page - 1) if page.page > 1 else None,
                 next_link=_page_link(query, page.page + 1) if page.page < page.pages else None)


def _page_link(query: CatalogQuery, number: int) -> str:
    return f"{web.PREFIX}/?" + urlencode(query.to_params(page=number))


# ---- one asset --------------------------------------------------------------------------------------------


def _versions(snapshot: Any, asset: Any) -> list[Any]:
    """The version chain holding ``asset``, oldest first (from the index's rows: this provider's assets)."""
    chain = [asset]
    while chain[0].previous_version and chain[0].previous_version in snapshot.rows and len(chain) < 100:
        chain.insert(0, snapshot.rows[chain[0].previous_version].asset)
    later = {r.asset.previous_version: r.asset for r in snapshot.rows.values() if r.asset.previous_version}
    while chain[-1].asset_id in later and len(chain) < 200:
        chain.append(later[chain[-1].asset_id])
    return chain


def _lineage(gw: Gateway, snapshot: Any, asset: Any, depth: int = 3
             ) -> tuple[list[list[charts.Node]], list[tuple[str, str]]]:
    """Ancestors (up to ``depth`` generations) above the asset, its derived assets among this gateway's below.
    Parents of other providers are read from the chain (AssetRegistry); this provider's from the index."""
    def node(a_id: str, current: bool = False) -> charts.Node:
        known = snapshot.rows.get(a_id)
        href = f"{web.PREFIX}/assets/{a_id}" if (known is not None and known.metadata) or current else None
        return charts.Node(a_id, known.title if known is not None else "", href, current)

    layers: list[list[charts.Node]] = [[node(asset.asset_id, True)]]
    edges: list[tuple[str, str]] = []
    frontier, seen = [asset], {asset.asset_id}
    for _ in range(depth):
        above: list[charts.Node] = []
        nxt = []
        for a in frontier:
            for p in a.parents:
                edges.append((p, a.asset_id))
                if p not in seen:
                    seen.add(p)
                    above.append(node(p))
                    known = snapshot.rows.get(p)
                    parent = known.asset if known is not None else gw.view.assets.get(p)
                    if parent is not None:
                        nxt.append(parent)
        if not above:
            break
        layers.insert(0, above)
        frontier = nxt
    children = [r.asset.asset_id for r in snapshot.rows.values() if asset.asset_id in r.asset.parents]
    if children:
        layers.append([node(c) for c in children[:8]])
        edges += [(asset.asset_id, c) for c in children[:8]]
    return layers, edges


@router.get("/assets/{asset_id}")
def asset_page(asset_id: str, request: Request) -> Response:
    """One asset of this gateway."""
    gw = _gw(request)
    lang = web.request_lang(request)
    t = i18n.translations(lang, "console").gettext
    if not is_bytes32(asset_id):
        return _page(request, "problem.html", 404, problem=t("Not an asset id: an asset id is 0x and 64 hex digits."))
    asset_id = asset_id.lower()
    try:
        snapshot = _snapshot(gw)  # this provider's assets, policies and lineage, kept current from chain events
        row = snapshot.rows.get(asset_id)
        if row is None:
            return _page(request, "problem.html", 404, problem=t("This gateway serves no asset {asset_id}.").format(
                asset_id=asset_id))
        asset, policy = row.asset, row.policy
        versions = _versions(snapshot, asset)
        layers, edges = _lineage(gw, snapshot, asset)
        registered = row.registered_at or gw.view.block_time(asset.block)
        algorithms = approved_algorithms(gw, asset_id) if policy is not None and policy.compute_only else []
    except (GatewayError, ChainError) as exc:
        return _problem(request, exc)
    meta = row.metadata or {}
    since = usage.span_start("day", 30)
    series = usage.usage_by_asset(gw.db.allowed_uses(since, asset_id), "day", since, {}, [asset_id])
    buckets = series[0].buckets if series else []
    chart = charts.bar_chart([(i18n.format_date(b.start, lang)[:-5] if lang == "en" else
                               i18n.format_date(b.start, lang).split("年", 1)[-1], b.uses) for b in buckets],
                             t("Uses per day, last 30 days (UTC)"), t("uses"))
    offer = odrl.offer(asset_id, policy, did_pkh(gw.chain_id, asset.provider)) if policy else None
    kind = "service" if gw.services.has(asset_id) and not gw.store.has(asset_id) else "dataset"
    owners = [(did_pkh(gw.chain_id, o), s / 100) for o, s in zip(asset.owners, asset.shares_bps)] or \
        [(did_pkh(gw.chain_id, asset.provider), 100.0)]
    return _page(request, "asset.html", asset=asset, meta=meta, title=str(meta.get("title") or asset_id),
                 description=str(meta.get("description") or ""), policy=policy,
                 policy_lines=words.policy_lines(policy, lang, token_of(gw)), odrl_json=json.dumps(offer, indent=2, ensure_ascii=False)
                 if offer else "", versions=versions, lineage=charts.lineage_graph(layers, edges),
                 has_lineage=len(layers) > 1, usage_chart=chart, uses_30d=sum(b.uses for b in buckets),
                 registered=registered, kind=kind, owners=owners, algorithms=algorithms,
                 purposes=list(policy.purposes) if policy else [], price=words.price_words(policy, lang, token_of(gw)) if policy else "",
                 now=int(time.time()))


def approved_algorithms(gw: Gateway, asset_id: str) -> list[dict[str, Any]]:
    """The algorithms approved on ``asset_id`` now (ComputePolicies events, the latest per algorithm wins), with
    what the consumer needs to choose one: title, description, output kind, whether it is differentially
    private (then it spends epsilon)."""
    head = gw.view.head(max_age_s=gw.settings.head_poll_interval_s)
    events = gw.view.cached(("console-approvals", asset_id), head.number,
                            lambda: gw.compute_policies.approvals(asset_id))
    state: dict[str, bool] = {}
    for e in events:
        state[e["algorithm_id"]] = bool(e["approved"])
    out = []
    for algorithm_id, approved in state.items():
        if not approved:
            continue
        meta = gw.metadata.get(algorithm_id) or {}
        manifest = meta.get("manifest") if isinstance(meta.get("manifest"), dict) else {}
        output = manifest.get("output") if isinstance(manifest.get("output"), dict) else {}
        out.append({"algorithm_id": algorithm_id, "title": str(meta.get("title") or ""),
                    "description": str(meta.get("description") or ""),
                    "output": str(output.get("kind") or manifest.get("output_kind") or ""),
                    "dp": bool(output.get("values") or manifest.get("dp_values"))})
    return out


@router.get("/assets/{asset_id}/algorithms")
def algorithms_json(asset_id: str, request: Request) -> Response:
    """The algorithms approved on a compute-only asset, as JSON (the consumer page's job form reads it)."""
    gw = _gw(request)
    if not is_bytes32(asset_id):
        return web.secure(JSONResponse({"error": {"code": "invalid_id", "message": "an asset id is 0x and 64 hex "
                                                  "digits"}}, status_code=422))
    try:
        return web.secure(JSONResponse({"algorithms": approved_algorithms(gw, asset_id.lower())}))
    except (GatewayError, ChainError) as exc:
        return web.secure(JSONResponse({"error": {"code": "chain_unavailable", "message": str(exc)}}, status_code=503))


# ---- the signed-in pages (their data comes from the API, signed in the browser) ----------------------------


@router.get("/consumer")
def consumer_page(request: Request) -> Response:
    """My grants, receipts and proofs (filled in by console.js with signed calls)."""
    return _page(request, "consumer.html")


@router.get("/provider")
def provider_page(request: Request) -> Response:
    """The provider's desk: requests, grants, incidents, use and revenue (console.js, signed by the provider)."""
    return _page(request, "provider.html")


@router.get("/wallet")
def wallet_page(request: Request) -> Response:
    """Unlock the dev wallet or connect an injected one."""
    return _page(request, "wallet.html")


@router.get("/lang/{lang}")
def language(lang: str, request: Request) -> Response:
    """Switch the console's language (remembered per browser)."""
    return web.language_switch(request, lang)
