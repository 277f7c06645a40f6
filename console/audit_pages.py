"""The operator's and auditor's console over the audit index (``tds console serve``), in 中文 and English.

    /console/                            the space's timeline: every event, newest first, in words (paged)
    /console/participants                who belongs: role, jurisdiction, status, since when
    /console/participants/{address}      one participant's history
    /console/findings                    ``tds audit check``: findings with their severity and the fix in words
    /console/catalog                     every indexed data product: search, filters, facets, pages
    /console/assets/{asset_id}           one asset's history (lineage, policies, grants, money, timeline)
    /console/assets/{asset_id}/report    the HTML audit report (audit.report) in the reader's language
    /console/operator                    onboard, suspend, reinstate: signed in the browser, sent to the node
    /console/lang/{lang}                 the language switch
    /audit/...                           the read-only JSON of audit.api

Every page is rendered from the index and says how current it is: when the index trails the chain by more
than ``max_lag`` blocks, or the chain cannot be read, a banner says so and the page is labelled with the block
it is current to (it fails closed: it never passes the index off as the chain's present). No route changes
anything: the operator's key signs in the browser (console/static/audit.js) and the page sends the transaction
to the chain node itself; the server only renders.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from audit.api import audit_router
from audit.check import CheckReport, run_check
from audit.db import IndexDb
from audit.errors import NotIndexed
from audit.queries import AssetHistory, asset_history, did, participant_history
from audit.receipts import ReceiptEntry
from audit.report import TokenInfo, render_html
from audit.report_words import asset_sentences, participant_sentences, term
from console import charts, web
from console.audit_data import (
    DEFAULT_MAX_LAG, ChainWatch, Freshness, Titles, catalog_entries, events_page, freshness, participants,
)
from console.audit_words import (
    EVENTS, N_, SEVERITY_WORDS, STATUS_WORDS, Ref, args_of, event_sentence, finding_words, gettext_of, roles_text,
    word,
)
from domain.errors import InvalidQuery
from domain.ids import is_address, is_bytes32
from domain.search import CatalogEntry, CatalogQuery, search

TEMPLATES = Path(__file__).parent / "templates" / "audit"
PER_PAGE = 50
CATALOG_TTL_S = 5.0
SEVERITIES = ("error", "warning", "info")


@dataclass
class AuditConsole:
    """What the pages serve: the index, the chain's head, trusted titles, and what the browser needs to sign."""

    db: IndexDb
    watch: ChainWatch | None
    titles: Titles
    chain_id: int | None = None
    rpc_url: str = ""  # the node the operator's browser sends transactions to ("" : none)
    contracts: dict[str, str] = field(default_factory=dict)  # ParticipantRegistry, UsageGrants, ...
    receipts: Sequence[ReceiptEntry] = ()
    token: TokenInfo | None = None
    max_lag: int = DEFAULT_MAX_LAG
    _checks: dict[int | None, CheckReport] = field(default_factory=dict, repr=False)
    _entries: dict[int | None, tuple[float, list[CatalogEntry]]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def freshness(self) -> Freshness:
        """How current the index is right now."""
        with self.db.session() as s:
            return freshness(s, self.watch, self.max_lag)

    def check(self, block: int | None) -> CheckReport:
        """``tds audit check`` over the index as of ``block`` (computed once per indexed block)."""
        with self._lock:
            if block in self._checks:
                return self._checks[block]
        with self.db.session() as s:
            report = run_check(s, list(self.receipts), None, self.chain_id, self.contracts.get("UsageGrants"),
                               self.titles.title)
        with self._lock:
            self._checks = {block: report}
        return report

    def catalog(self, block: int | None) -> list[CatalogEntry]:
        """Every indexed asset as a catalog entry, as of the index's ``block`` (kept for that block, at most
        :data:`CATALOG_TTL_S`: a provider writes an asset's metadata document just after its registration)."""
        with self._lock:
            made = self._entries.get(block)
            if made is not None and time.monotonic() - made[0] < CATALOG_TTL_S:
                return made[1]
        with self.db.session() as s:
            entries = catalog_entries(s, self.titles)
        with self._lock:
            self._entries = {block: (time.monotonic(), entries)}
        return entries


_RENDERER: web.Renderer | None = None


def renderer() -> web.Renderer:
    """The audit pages' renderer (their templates first, then the console's; the audit catalog, then console's)."""
    global _RENDERER
    if _RENDERER is None:
        _RENDERER = web.Renderer(extra_dirs=[TEMPLATES], domains=("audit", "console"), scripts=("audit.js",),
                                 site={"role": "audit"})
    return _RENDERER


def create_app(console: AuditConsole) -> FastAPI:
    """The console's app: its pages, the read-only JSON audit API under /audit, static files, the language switch."""
    app = FastAPI(title="TDS audit console", docs_url=None, redoc_url=None)
    app.state.console = console
    app.include_router(audit_pages(console))
    app.include_router(audit_router(console.db.session))
    web.mount_static(app)

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return web.secure(RedirectResponse(web.PREFIX + "/", status_code=307))

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and request.url.path.startswith(web.PREFIX + "/"):
            _ = _t(request)
            return _page(request, console, "notfound.html", 404, problem=_("There is no such page."))
        from fastapi.exception_handlers import http_exception_handler

        return await http_exception_handler(request, exc)

    return app


def _t(request: Request) -> Callable[[str], str]:
    return gettext_of(web.request_lang(request))


def _page(request: Request, console: AuditConsole, name: str, status: int = 200, **context: Any) -> Response:
    """A page with the index's freshness (banner, headers) and what its script needs."""
    fresh = context.pop("fresh", None) or console.freshness()
    config = {"chain_id": console.chain_id, "rpc_url": console.rpc_url, "contracts": console.contracts,
              "fresh": fresh.ok}
    response = renderer().render(
        request, name, status, config=config, connect=[web.origin_of(console.rpc_url)], fresh=fresh,
        chain_id=console.chain_id if console.chain_id is not None else "—",
        provider_did="—", did=lambda a: did(console.chain_id, a), href=ref_href, **context)
    response.headers.update(fresh.headers())
    return response


def _not_found(request: Request, console: AuditConsole, message: str) -> Response:
    return _page(request, console, "notfound.html", 404, problem=message)


def audit_pages(console: AuditConsole) -> APIRouter:
    """The console's HTML pages (GET only; not in the OpenAPI document)."""
    router = APIRouter(prefix=web.PREFIX, include_in_schema=False)

    @router.get("/")
    def timeline_page(request: Request, page: str = "1", every: str = "") -> Response:
        """The space's events, newest first, a sentence each."""
        lang = web.request_lang(request)
        number = int(page) if page.isdigit() and 0 < int(page) < 10**7 else 1
        names = None if every == "1" else tuple(EVENTS)
        with console.db.session() as s:
            found = events_page(s, number, PER_PAGE, names)
        rows = [{"row": r, "parts": event_sentence(r.name, r.contract, args_of(r.args), lang, console.titles.title)}
                for r in found.rows]
        base = {"every": "1"} if every == "1" else {}
        link = lambda n: f"{web.PREFIX}/?" + urlencode({**base, "page": n})  # noqa: E731
        return _page(request, console, "timeline.html", events=found, rows=rows, every=every == "1",
                     prev_link=link(number - 1) if number > 1 else None,
                     next_link=link(number + 1) if number < found.pages else None)

    def people_page(request: Request, template: str) -> Response:
        """A page listing the space's participants with their roles and status in the reader's language."""
        lang = web.request_lang(request)
        with console.db.session() as s:
            people = participants(s)
        return _page(request, console, template, people=people, roles=lambda b: roles_text(b, lang),
                     status_of=lambda v: word(STATUS_WORDS, v, lang))

    @router.get("/participants")
    def participants_page(request: Request) -> Response:
        """Who belongs to the space, as the registry's events say."""
        return people_page(request, "participants.html")

    @router.get("/participants/{address}")
    def participant_page(address: str, request: Request) -> Response:
        """One participant's history."""
        lang, _ = web.request_lang(request), _t(request)
        if not is_address(address):
            return _not_found(request, console, _("Not an address: an address is 0x and 40 hex digits."))
        with console.db.session() as s:
            try:
                h = participant_history(s, address)
            except NotIndexed:
                return _not_found(request, console, _("The index knows no participant {address}.").format(
                    address=address))
            standing = next((p for p in participants(s) if p.address == h.address), None)
        return _page(request, console, "participant.html", h=h, standing=standing,
                     say=participant_sentences(h, lang), roles=lambda b: roles_text(b, lang),
                     status_of=lambda v: word(STATUS_WORDS, v, lang), term=lambda v: term(v, lang),
                     title_of=console.titles.title)

    @router.get("/findings")
    def findings_page(request: Request) -> Response:
        """``tds audit check`` over the index: every finding with its severity, what it means and the fix."""
        lang = web.request_lang(request)
        fresh = console.freshness()
        report = console.check(fresh.index_block)
        order = sorted(report.findings, key=lambda f: (SEVERITIES.index(f.severity)
                                                        if f.severity in SEVERITIES else 9, f.code))
        rows = [{"f": f, "words": finding_words(f.code, lang), "severity": word(SEVERITY_WORDS, f.severity, lang)}
                for f in order]
        counts = {sev: sum(1 for f in report.findings if f.severity == sev) for sev in SEVERITIES}
        return _page(request, console, "findings.html", fresh=fresh, report=report, rows=rows, counts=counts,
                     receipts=len(console.receipts))

    @router.get("/catalog")
    def catalog_page(request: Request) -> Response:
        """Every indexed data product (inactive ones with ``inactive=1``), searched with domain.search."""
        pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", "inactive")]
        inactive = request.query_params.get("inactive") == "1"
        try:
            query = replace(CatalogQuery.from_pairs(pairs), include_inactive=inactive)
        except (InvalidQuery, ValueError) as exc:
            return _page(request, console, "space_catalog.html", 400, page=None, query=CatalogQuery(),
                         error=str(exc), facets={}, inactive=inactive, prev_link=None, next_link=None)
        fresh = console.freshness()
        found = search(console.catalog(fresh.index_block), query)
        extra = {"inactive": "1"} if inactive else {}
        link = lambda n: f"{web.PREFIX}/catalog?" + urlencode({**query.to_params(page=n), **extra})  # noqa: E731
        return _page(request, console, "space_catalog.html", fresh=fresh, page=found, query=query, error=None,
                     facets=found.facets, inactive=inactive,
                     prev_link=link(found.page - 1) if found.page > 1 else None,
                     next_link=link(found.page + 1) if found.page < found.pages else None)

    @router.get("/assets/{asset_id}")
    def asset_page(asset_id: str, request: Request) -> Response:
        """One asset's history from the index."""
        lang, _ = web.request_lang(request), _t(request)
        h = _history(console, asset_id)
        if isinstance(h, str):
            return _not_found(request, console, _(h).format(asset_id=asset_id))
        doc = console.titles.document(h.asset.asset_id, h.asset.metadata_hash) or {}
        title = str(doc.get("title") or "") if isinstance(doc.get("title"), str) else ""
        head = console.freshness()
        return _page(request, console, "asset_history.html", fresh=head, h=h, title=title,
                     description=str(doc.get("description") or "") if isinstance(doc.get("description"), str)
                     else "", say=asset_sentences(h, lang), term=lambda v: term(v, lang),
                     lineage=_lineage(h, console.titles.title), has_lineage=bool(h.ancestors or h.descendants),
                     title_of=console.titles.title, head_time=head.index_time)

    @router.get("/assets/{asset_id}/report")
    def report_page(asset_id: str, request: Request) -> Response:
        """The self-contained HTML audit report of one asset, in the reader's language."""
        _ = _t(request)
        h = _history(console, asset_id)
        if isinstance(h, str):
            return _not_found(request, console, _(h).format(asset_id=asset_id))
        with console.db.session() as s:
            html = render_html(s, h.asset.asset_id, list(console.receipts), console.chain_id, console.titles.title,
                               console.token, web.request_lang(request))
        response = HTMLResponse(html)
        web.secure(response)
        # the report is one file with inline CSS and no script: allow exactly that
        response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                                       "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
        response.headers.update(console.freshness().headers())
        return response

    @router.get("/operator")
    def operator_page(request: Request) -> Response:
        """Onboard, suspend and reinstate participants (signed in the browser; the server only renders)."""
        return people_page(request, "operator.html")

    @router.get("/lang/{lang}")
    def language(lang: str, request: Request) -> Response:
        """Switch the console's language (remembered per browser)."""
        return web.language_switch(request, lang)

    return router


def _history(console: AuditConsole, asset_id: str) -> AssetHistory | str:
    """The asset's history, or the (untranslated) message id of why there is none."""
    if not is_bytes32(asset_id):
        return N_("Not an asset id: an asset id is 0x and 64 hex digits.")
    with console.db.session() as s:
        try:
            return asset_history(s, asset_id.lower(), list(console.receipts) or None)
        except NotIndexed:
            return N_("The index knows no asset {asset_id}.")


def _lineage(h: AssetHistory, title_of: Callable[[str], str | None]) -> Any:
    """The lineage graph: ancestors above (oldest first), the asset, derived assets below."""
    depth: dict[str, int] = {h.asset.asset_id: 0}
    for e in h.ancestors:
        depth.setdefault(e.parent, depth.get(e.child, 0) - 1)
    for e in h.descendants:
        depth.setdefault(e.child, depth.get(e.parent, 0) + 1)
    layers: dict[int, list[charts.Node]] = {}
    for node, d in depth.items():
        current = node == h.asset.asset_id
        layers.setdefault(d, []).append(charts.Node(node, title_of(node) or "", f"{web.PREFIX}/assets/{node}",
                                                    current))
    edges = sorted({(e.parent, e.child) for e in (*h.ancestors, *h.descendants)})
    return charts.lineage_graph([layers[d] for d in sorted(layers)], edges)


def ref_href(ref: Ref) -> str | None:
    """Where a sentence's value links to (None: not a page of this console)."""
    if ref.kind == "participant" and is_address(ref.value):
        return f"{web.PREFIX}/participants/{ref.value}"
    if ref.kind == "asset" and is_bytes32(ref.value):
        return f"{web.PREFIX}/assets/{ref.value}"
    return None


def site_of(deployment_file: Path | None) -> dict[str, str]:
    """The contract addresses of a deployment file (empty when it cannot be read)."""
    if deployment_file is None:
        return {}
    try:
        data = json.loads(deployment_file.read_text())
        return {str(name): str(c["address"]) for name, c in data["contracts"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
