"""``tds audit report``: one asset's story as a self-contained HTML page (or the same data as JSON).

The page needs nothing but itself: inline CSS, an inline SVG lineage graph, a timeline, the
grants with their use, each grant as the ODRL Agreement both parties signed (JSON-LD, :mod:`audit.agreement`),
money next to use per grant (uses, settled units, amounts, payouts, escrow, refunds, disputes), settlements,
disputes, compute (the algorithms approved on the asset and its privacy budgets over time, and one line per compute
job among the supplied receipts: date, consumer, algorithm, state, epsilon spent), and the proofs supplied with the
receipts. Amounts carry the settlement token's symbol and decimals
when the caller knows them (``token``: :class:`TokenInfo`). Its markup is the
Jinja2 template ``audit/templates/report.html.j2`` (with ``report.css``), rendered with
autoescaping on; this module computes what the page shows (cards, the lineage graph's layout). Participants are
named by their DID (``did:pkh:eip155:<chainId>:<address>``), assets carry their title beside the hash when the
caller knows it (``titles``: the provider's metadata).

The page speaks the reader's language (``lang``: ``en`` or ``zh``): every string goes through the ``report``
catalog (``i18n/locales/zh/report.po``, the Jinja2 i18n extension), the timeline's sentences are rebuilt from
the facts (:mod:`audit.report_words`), dates and numbers follow the locale (English: ISO 8601 UTC, as always).
The JSON (:func:`report_data`) is never translated.
"""

from __future__ import annotations

import calendar
import functools
import json
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlmodel import Session

import i18n
from audit.agreement import agreement
from audit.queries import (
    AssetHistory, GrantEntry, asset_history, did, epsilon_text, head_timestamp, index_chain_id,
)
from audit.receipts import ReceiptEntry
from audit.report_words import N_, asset_sentences, gettext_of, number, term

TitleOf = Callable[[str], "str | None"]  # asset id -> its title, when known


@dataclass(frozen=True)
class TokenInfo:
    """The settlement token as amounts are shown: its symbol and decimals (``TokenClient.symbol``/``decimals``)."""

    symbol: str
    decimals: int = 0
    address: str | None = None

    def format(self, amount: int) -> str:
        """``12.5 TDS`` for 12500000000000000000 base units of an 18-decimals token."""
        value = Decimal(int(amount)).scaleb(-self.decimals) if self.decimals else Decimal(int(amount))
        text = f"{value:,f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return f"{text} {self.symbol}"

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return {"symbol": self.symbol, "decimals": self.decimals, "address": self.address}


def amount_text(amount: int | None, token: TokenInfo | None, lang: str = i18n.DEFAULT) -> str:
    """An amount with the token's symbol (``10 units`` when the token is unknown; ``—`` for None)."""
    if amount is None:
        return "—"
    if token is not None:
        return token.format(amount)
    if lang == i18n.DEFAULT:
        return f"{int(amount):,} units"
    _ = gettext_of(lang)
    return _("{n} units").format(n=number(amount, lang))


def report_data(s: Session, asset_id: str, receipts: Sequence[ReceiptEntry] | None = None,
                chain_id: int | None = None, title_of: TitleOf | None = None,
                token: TokenInfo | None = None) -> dict[str, Any]:
    """The report's content: the asset's history, its grants as ODRL Agreements, money next to use per grant,
    plus the proofs of its receipts.

    ``generated_at`` and ``index_head_time`` are ISO 8601 UTC; ``titles`` maps the asset and the
    assets of its lineage and versions, and the algorithms approved on it or run by its jobs, to the titles
    ``title_of`` knows (the provider's metadata);
    ``agreements`` holds one JSON-LD ``odrl:Agreement`` per grant, ``money`` one entry per grant (amounts in
    the token's base units), ``token`` the token's symbol and decimals (None when unknown).
    """
    history = asset_history(s, asset_id, receipts)
    ids = {history.asset.asset_id, *(v.asset_id for v in history.versions),
           *(e.parent for e in history.ancestors), *(e.child for e in history.descendants),
           *(a.algorithm_id for a in history.approvals), *(j.algorithm_id for j in history.jobs)}
    titles = {i: t for i in sorted(ids) if (t := title_of(i))} if title_of else {}
    proofs = [e.to_json() for e in receipts or () if e.receipt.asset_id == history.asset.asset_id]
    head = head_timestamp(s)
    chain_id = chain_id if chain_id is not None else index_chain_id(s)
    return {
        "format": "tds-audit-report-v2",
        "generated_at": _iso(int(time.time())),
        "chain_id": chain_id,
        "index_head_timestamp": head,
        "index_head_time": _iso(head) if head else None,
        "titles": titles,
        "token": token.to_json() if token else None,
        "history": history.to_json(),
        "agreements": agreements(history, chain_id),
        "money": money(history),
        "proofs": proofs,
    }


def agreements(h: AssetHistory, chain_id: int | None) -> list[dict[str, Any]]:
    """Every grant of the asset as the ``odrl:Agreement`` of its agreed policy epoch (oldest grant first)."""
    policies = {p.epoch: p for p in h.policies}
    return [agreement(g, policies.get(g.policy_epoch), h.asset.provider, chain_id) for g in h.grants]


def money(h: AssetHistory) -> list[dict[str, Any]]:
    """Money next to use, per grant: anchored uses (None without receipts), settled units and free units, the
    amount charged, payouts per owner (shares and royalties apart), escrow locked and released, refunds,
    deferred periods and disputes."""
    by_grant: dict[str, list[Any]] = defaultdict(list)
    for x in h.settlements:
        by_grant[x.grant_id].append(x)
    disputes: dict[str, list[Any]] = defaultdict(list)
    for d in h.disputes:
        disputes[d.grant_id].append(d)
    out = []
    for g in h.grants:
        settled = by_grant.get(g.grant_id, [])
        payouts: dict[tuple[str, str, int], int] = defaultdict(int)
        for x in settled:
            for p in x.payments:
                payouts[(p.owner, p.asset_id, p.depth)] += p.amount
        out.append({
            "grant_id": g.grant_id,
            "consumer": g.consumer,
            "price_model": g.escrow.price_model if g.escrow else "free",
            "price": g.escrow.price if g.escrow else g.price_per_access,
            "uses": g.anchored_accesses,
            "max_count": g.max_count,
            "settled_units": sum(x.units for x in settled),
            "free_units": sum(x.free_units for x in settled),
            "charged": sum(x.amount for x in settled),
            "periods": [{"start": x.period_start, "end": x.period_end, "units": x.units, "free_units": x.free_units,
                         "amount": x.amount, "receipts_root": x.receipts_root, "tx": x.at.tx} for x in settled],
            "payouts": [{"owner": o, "asset_id": a, "depth": d, "royalty": d > 0, "amount": v}
                        for (o, a, d), v in sorted(payouts.items(), key=lambda kv: (kv[0][2], -kv[1]))],
            "locked": g.escrow.locked if g.escrow else 0,
            "released": g.escrow.released if g.escrow else 0,
            "refunded": sum(r.amount for r in g.refunds),
            "deferred": list(g.deferred),
            "disputes": [{"dispute_id": d.dispute_id, "subject": d.subject, "status": d.status, "ruling": d.ruling,
                          "refund": d.refund} for d in disputes.get(g.grant_id, [])],
        })
    return out


def render_html(s: Session, asset_id: str, receipts: Sequence[ReceiptEntry] | None = None,
                chain_id: int | None = None, title_of: TitleOf | None = None, token: TokenInfo | None = None,
                lang: str = i18n.DEFAULT) -> str:
    """The self-contained HTML page, in ``lang`` (``en`` or ``zh``; anything else: English)."""
    lang = i18n.normalize(lang) or i18n.DEFAULT
    data = report_data(s, asset_id, receipts, chain_id, title_of, token)
    return _page(asset_history(s, asset_id, receipts), data, token, lang)


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _short(h: str) -> str:
    return f"{h[:10]}…{h[-6:]}" if isinstance(h, str) and len(h) > 20 else str(h)


def _when(ts: int, zero: str = "open", lang: str = i18n.DEFAULT) -> str:
    if not ts or ts >= 253402300800:  # 0 or past year 9999: an open bound
        return zero
    if lang != i18n.DEFAULT:
        return i18n.format_datetime(ts, lang)
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _period(start: int, end: int, lang: str = i18n.DEFAULT) -> str:
    """A settled period as dates: ``2026-12-01 00:00 – 2026-12-02 00:00 UTC`` / ``2026年12月1日 00:00 – …``."""
    if lang != i18n.DEFAULT:
        return f"{_minute(start, lang)} – {_minute(end, lang)} UTC"
    fmt = "%Y-%m-%d %H:%M"
    return f"{time.strftime(fmt, time.gmtime(start))} – {time.strftime(fmt, time.gmtime(end))} UTC"


def _minute(ts: int, lang: str) -> str:
    """A moment to the minute in ``lang`` (no ``UTC``: the period says it once)."""
    return i18n.format_datetime(ts, lang).removesuffix(" UTC").rsplit(":", 1)[0]


@functools.cache
def _environment(lang: str = i18n.DEFAULT) -> Environment:
    """The Jinja2 environment of the report templates (package data) in ``lang``, autoescaping on."""
    env = Environment(loader=PackageLoader("audit", "templates"), autoescape=True,
                      undefined=StrictUndefined, extensions=["jinja2.ext.i18n"])
    t = i18n.translations(lang, "report")
    env.install_gettext_callables(t.gettext, t.ngettext, newstyle=True)  # type: ignore[attr-defined]
    opened = t.pgettext("window", "open")  # an open bound of a window ("open" alone is a dispute's status)
    env.filters.update(short=_short, when=lambda ts, zero=opened: _when(ts, zero, lang),
                       period=lambda start, end: _period(start, end, lang), epsilon=epsilon_text,
                       term=lambda word: term(word, lang), num=lambda n: number(n, lang),
                       json_pretty=lambda v: json.dumps(v, indent=2, ensure_ascii=False))
    env.globals.update(did=did, lang=lang)
    return env


CARDS = (N_("version"), N_("size (bytes)"), N_("grants"), N_("anchored accesses"), N_("settled units"),
         N_("settled"), N_("disputes"), N_("compute jobs"))
"""The labels of the cards at the top of the page."""


def _page(h: AssetHistory, data: dict[str, Any], token: TokenInfo | None = None, lang: str = i18n.DEFAULT) -> str:
    a = h.asset
    t = gettext_of(lang)
    uses = sum(g.anchored_accesses or 0 for g in h.grants)
    cards = [("version", a.version), ("size (bytes)", number(a.size, lang)), ("grants", len(h.grants)),
             ("anchored accesses", uses if any(g.anchored_accesses is not None for g in h.grants) else "—"),
             ("settled units", sum(x.units for x in h.settlements)),
             ("settled", amount_text(sum(x.amount for x in h.settlements), token, lang)),
             ("disputes", len(h.disputes))]
    if h.approvals or h.budgets or h.jobs:
        cards.append(("compute jobs", len(h.jobs) if h.jobs else "—"))
    grants: dict[str, GrantEntry] = {g.grant_id: g for g in h.grants}
    generated = data["generated_at"] if lang == i18n.DEFAULT else _when(_epoch(data["generated_at"]), "—", lang)
    return _environment(lang).get_template("report.html.j2").render(
        h=h, data=data, chain_id=data["chain_id"], titles=data["titles"], head=data["index_head_timestamp"],
        cards=[(t(k), v) for k, v in cards], owners=list(zip(a.owners, a.shares_bps)),
        lineage=_lineage(h, data["titles"], t), grant_of=grants, money=data["money"],
        agreements=list(zip(h.grants, data["agreements"])), amount=lambda v: amount_text(v, token, lang),
        say=asset_sentences(h, lang), generated=generated)


def _epoch(iso: str) -> int:
    """Unix seconds of ``generated_at`` (``2025-12-02T18:26:40Z``)."""
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


def _lineage(h: AssetHistory, titles: Mapping[str, str], _: Callable[[str], str] = str) -> dict[str, Any]:
    """The lineage graph's geometry: one column per generation, edges as cubic curves."""
    depth: dict[str, int] = {h.asset.asset_id: 0}
    for e in h.ancestors:
        depth.setdefault(e.parent, depth.get(e.child, 0) - 1)
    for e in h.descendants:
        depth.setdefault(e.child, depth.get(e.parent, 0) + 1)
    columns: dict[int, list[str]] = {}
    for node, d in depth.items():
        columns.setdefault(d, []).append(node)
    lo = min(columns)
    w, hgt, gx, gy = 190, 40, 70, 22
    pos = {n: (20 + (d - lo) * (w + gx), 20 + i * (hgt + gy)) for d, ns in columns.items() for i, n in enumerate(ns)}
    edges = []
    for e in {*h.ancestors, *h.descendants}:
        (px, py), (cx, cy) = pos[e.parent], pos[e.child]
        x1, y1, x2, y2 = px + w, py + hgt / 2, cx, cy + hgt / 2
        edges.append({"x1": x1, "y1": y1, "mid": (x1 + x2) / 2, "x2": x2 - 4, "y2": y2})
    nodes = []
    for n, (x, y) in pos.items():
        me = n == h.asset.asset_id
        fill, stroke = ("#1d2b4f", "#1d2b4f") if me else ("#fff", "#8a9bbf")
        role = _("this asset") if me else (_("ancestor") if depth[n] < 0 else _("derived"))
        if titles.get(n):
            role = f"{role} · {titles[n][:18]}"
        nodes.append({"id": n, "x": x, "y": y, "fill": fill, "stroke": stroke, "color": "#fff" if me else "#1d2330",
                      "role": role, "tip": f"{n} {titles[n]}" if titles.get(n) else n})
    return {"single": len(pos) == 1, "w": w, "h": hgt, "edges": edges, "nodes": nodes,
            "width": 40 + len(columns) * (w + gx) - gx,
            "height": 40 + max(len(ns) for ns in columns.values()) * (hgt + gy) - gy}
