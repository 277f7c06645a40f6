"""``tds audit report``: one asset's story as a self-contained HTML page (or the same data as JSON).

The page needs nothing but itself: inline CSS, an inline SVG lineage graph, a timeline, the
grants with their use, settlements, and the proofs supplied with the receipts. Participants are
named by their DID (``did:pkh:eip155:<chainId>:<address>``), dates are ISO 8601 UTC, assets carry
their title beside the hash when the caller knows it (``titles``: the provider's metadata).
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlmodel import Session

from audit.queries import AssetHistory, asset_history, did, head_timestamp, index_chain_id
from audit.receipts import ReceiptEntry

TitleOf = Callable[[str], "str | None"]  # asset id -> its title, when known


def report_data(s: Session, asset_id: str, receipts: Sequence[ReceiptEntry] | None = None,
                chain_id: int | None = None, title_of: TitleOf | None = None) -> dict[str, Any]:
    """The report's content: the asset's history plus the proofs of its receipts.

    ``generated_at`` and ``index_head_time`` are ISO 8601 UTC; ``titles`` maps the asset and the
    assets of its lineage and versions to the titles ``title_of`` knows (the provider's metadata).
    """
    history = asset_history(s, asset_id, receipts)
    ids = {history.asset.asset_id, *(v.asset_id for v in history.versions),
           *(e.parent for e in history.ancestors), *(e.child for e in history.descendants)}
    titles = {i: t for i in sorted(ids) if (t := title_of(i))} if title_of else {}
    proofs = [e.to_json() for e in receipts or () if e.receipt.asset_id == history.asset.asset_id]
    head = head_timestamp(s)
    chain_id = chain_id if chain_id is not None else index_chain_id(s)
    return {
        "format": "tds-audit-report-v1",
        "generated_at": _iso(int(time.time())),
        "chain_id": chain_id,
        "index_head_timestamp": head,
        "index_head_time": _iso(head) if head else None,
        "titles": titles,
        "history": history.to_json(),
        "proofs": proofs,
    }


def render_html(s: Session, asset_id: str, receipts: Sequence[ReceiptEntry] | None = None,
                chain_id: int | None = None, title_of: TitleOf | None = None) -> str:
    """The self-contained HTML page."""
    data = report_data(s, asset_id, receipts, chain_id, title_of)
    return _page(asset_history(s, asset_id, receipts), data)


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _e(value: Any) -> str:
    return html.escape(str(value))


def _short(h: str) -> str:
    return f"{h[:10]}…{h[-6:]}" if isinstance(h, str) and len(h) > 20 else str(h)


def _when(ts: int, zero: str = "open") -> str:
    if not ts or ts >= 253402300800:  # 0 or past year 9999: an open bound
        return zero
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


class _Names:
    """How the page names participants (DIDs) and assets (short hash + title)."""

    def __init__(self, chain_id: int | None, titles: Mapping[str, str]) -> None:
        self.chain_id, self.titles = chain_id, titles

    def who(self, address: str) -> str:
        """A participant's DID, in a code element."""
        return f"<code>{_e(did(self.chain_id, address))}</code>"

    def asset(self, asset_id: str, short: bool = True) -> str:
        """An asset's hash (short, full one on hover) with its title beside it when known."""
        shown = _short(asset_id) if short else asset_id
        title = self.titles.get(asset_id)
        return (f"<code title='{_e(asset_id)}'>{_e(shown)}</code>"
                + (f" <span class=title>{_e(title)}</span>" if title else ""))


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2b4f;color:#fff;padding:24px 32px}header h1{margin:0 0 4px;font-size:22px}
header .id{font-family:ui-monospace,Menlo,monospace;font-size:12px;opacity:.85;word-break:break-all}
main{max-width:1100px;margin:0 auto;padding:24px 32px}
section{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:18px 22px;margin:0 0 20px}
h2{font-size:16px;margin:0 0 12px;color:#1d2b4f}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin-bottom:20px}
.card{background:#fff;border-radius:10px;padding:12px 16px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.card b{display:block;font-size:22px;color:#1d2b4f}.card span{color:#667;font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eceef2}
th{color:#667;font-weight:600}code,.mono{font-family:ui-monospace,Menlo,monospace;font-size:12px}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.live{background:#e3f6e8;color:#17692f}.revoked{background:#fde8e8;color:#a12121}.expired,.not_yet_valid{background:#eee;color:#555}
.timeline{list-style:none;margin:0;padding:0 0 0 18px;border-left:2px solid #d5dbe6}
.timeline li{position:relative;margin:0 0 12px;padding-left:10px}
.timeline li:before{content:"";position:absolute;left:-25px;top:5px;width:10px;height:10px;border-radius:50%;background:#3b6fd8}
.timeline li.grant_revoked:before,.timeline li.deactivated:before{background:#d83b3b}
.timeline li.settled:before{background:#2f9e57}.timeline .t{color:#667;font-size:12px}
.title{color:#445;font-weight:600}
details{margin:6px 0}summary{cursor:pointer}pre{background:#f3f4f7;padding:10px;border-radius:6px;overflow:auto;font-size:12px}
svg text{font:12px ui-monospace,Menlo,monospace}
"""


def _page(h: AssetHistory, data: dict[str, Any]) -> str:
    a = h.asset
    names = _Names(data["chain_id"], data["titles"])
    title = data["titles"].get(a.asset_id)
    head = data["index_head_timestamp"]
    chain = "" if data["chain_id"] is None else f" · chain {data['chain_id']}"
    uses = sum(g.anchored_accesses or 0 for g in h.grants)
    cards = [("version", a.version), ("size (bytes)", f"{a.size:,}"), ("grants", len(h.grants)),
             ("anchored accesses", uses if any(g.anchored_accesses is not None for g in h.grants) else "—"),
             ("settled accesses", sum(x.count for x in h.settlements)),
             ("revenue", sum(x.amount for x in h.settlements))]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Audit report {_e(title or _short(a.asset_id))}</title><style>{CSS}</style></head><body>",
        f"<header><h1>Asset audit report{': ' + _e(title) if title else ''} "
        f"{'' if a.active else '(deactivated)'}</h1>",
        f"<div class=id>{_e(a.asset_id)}</div><div>provider {names.who(a.provider)} · registered "
        f"{_e(_when(a.registered.timestamp))} in block {a.registered.block}"
        f"{chain}</div></header><main>",
        "<div class=cards>" + "".join(f"<div class=card><b>{_e(v)}</b><span>{_e(k)}</span></div>" for k, v in cards)
        + "</div>",
        _section("Lineage", _lineage_svg(h, data["titles"])),
        _section("Timeline", _timeline(h)),
        _section("Grants", _grants(h, head, names)),
        _section("Settlements", _settlements(h, names)),
        _section("Registration", _registration(h, names)),
        _section("Proofs", _proofs(data["proofs"])),
        f"<p class=t style='color:#889;font-size:12px'>Generated {_e(data['generated_at'])} from chain "
        "events alone by <code>tds audit report</code>. Verify any proof with <code>tds audit verify-proof FILE"
        "</code>.</p></main></body></html>",
    ]
    return "\n".join(parts)


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_e(title)}</h2>{body}</section>"


def _lineage_svg(h: AssetHistory, titles: Mapping[str, str]) -> str:
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
    width = 40 + len(columns) * (w + gx) - gx
    height = 40 + max(len(ns) for ns in columns.values()) * (hgt + gy) - gy
    edges = []
    for e in {*h.ancestors, *h.descendants}:
        (px, py), (cx, cy) = pos[e.parent], pos[e.child]
        x1, y1, x2, y2 = px + w, py + hgt / 2, cx, cy + hgt / 2
        mid = (x1 + x2) / 2
        edges.append(f"<path d='M{x1},{y1} C{mid},{y1} {mid},{y2} {x2 - 4},{y2}' fill=none stroke='#8a9bbf' "
                     "stroke-width=1.6 marker-end='url(#arrow)'/>")
    nodes = []
    for n, (x, y) in pos.items():
        me = n == h.asset.asset_id
        fill, stroke = ("#1d2b4f", "#1d2b4f") if me else ("#fff", "#8a9bbf")
        color = "#fff" if me else "#1d2330"
        role = "this asset" if me else ("ancestor" if depth[n] < 0 else "derived")
        tip = f"{n} {titles[n]}" if titles.get(n) else n
        if titles.get(n):
            role = f"{role} · {titles[n][:18]}"
        nodes.append(f"<g><title>{_e(tip)}</title><rect x={x} y={y} rx=8 width={w} height={hgt} fill='{fill}' "
                     f"stroke='{stroke}'/><text x={x + 10} y={y + 17} fill='{color}'>{_e(_short(n))}</text>"
                     f"<text x={x + 10} y={y + 32} fill='{color}' opacity=.7>{_e(role)}</text></g>")
    if len(pos) == 1:
        caption = "<p>No lineage: this asset has no registered parents or derived assets.</p>"
    else:
        caption = "<p>Arrows point from a source asset to the asset derived from it.</p>"
    return (f"{caption}<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' role=img aria-label='lineage graph'><defs><marker id=arrow "
            "viewBox='0 0 10 10' refX=8 refY=5 markerWidth=7 markerHeight=7 orient=auto-start-reverse>"
            "<path d='M0,0 L10,5 L0,10 z' fill='#8a9bbf'/></marker></defs>" + "".join(edges) + "".join(nodes)
            + "</svg>")


def _timeline(h: AssetHistory) -> str:
    items = [f"<li class='{_e(t.kind)}'><div class=t>{_e(_when(t.at.timestamp))} · block {t.at.block} · tx "
             f"<code>{_e(_short(t.at.tx))}</code></div><b>{_e(t.kind.replace('_', ' '))}</b> {_e(t.summary)}</li>"
             for t in h.timeline]
    return "<ul class=timeline>" + "".join(items) + "</ul>"


def _grants(h: AssetHistory, head: int, names: _Names) -> str:
    if not h.grants:
        return "<p>No grants issued.</p>"
    rows = []
    for g in h.grants:
        state = g.state_at(head)
        used = "—" if g.anchored_accesses is None else g.anchored_accesses
        rows.append(f"<tr><td class=mono title='{_e(g.grant_id)}'>{_e(_short(g.grant_id))}</td>"
                    f"<td>{names.who(g.consumer)}</td><td>{_e(g.purpose)}</td>"
                    f"<td>from {_e(_when(g.not_before))}<br>until {_e(_when(g.not_after))}</td>"
                    f"<td>{_e(used)} / {g.max_count or 'unlimited'}</td><td>{g.settled_count}</td>"
                    f"<td>{g.price_per_access}</td>"
                    f"<td><span class='pill {state}'>{state.replace('_', ' ')}</span></td></tr>")
    return ("<table><tr><th>grant</th><th>consumer</th><th>purpose</th><th>window</th><th>anchored uses / max</th>"
            "<th>settled</th><th>price</th><th>state</th></tr>" + "".join(rows) + "</table>"
            "<details><summary>Signed requests (EIP-712) and signatures</summary>"
            + "".join(f"<pre>{_e(g.grant_id)}\n{_e(g.request())}\nsignature {_e(g.signature)}</pre>"
                      for g in h.grants) + "</details>")


def _settlements(h: AssetHistory, names: _Names) -> str:
    if not h.settlements:
        return "<p>No settlements.</p>"
    rows = "".join(
        f"<tr><td>{_e(_when(x.at.timestamp))}</td><td class=mono>{_e(_short(x.grant_id))}</td><td>{x.count}</td>"
        f"<td>{x.amount}</td><td class=mono>{_e(_short(x.usage_root))}</td><td>"
        + ", ".join(f"{names.who(p.owner)} {p.amount}" for p in x.payments) + "</td></tr>"
        for x in h.settlements)
    return ("<table><tr><th>time</th><th>grant</th><th>count</th><th>amount</th><th>usage root</th>"
            "<th>paid to</th></tr>" + rows + "</table>")


def _registration(h: AssetHistory, names: _Names) -> str:
    a = h.asset
    owners = ", ".join(f"{names.who(o)} {s / 100:.2f} %" for o, s in zip(a.owners, a.shares_bps)) \
        or f"{names.who(a.provider)} 100 %"
    versions = " → ".join(f"v{v.version} {names.asset(v.asset_id)}" for v in h.versions)
    policies = "".join(f"<li>epoch {p.epoch} ({_e(_when(p.at.timestamp))}): max {p.max_count or 'unlimited'} per "
                       f"grant, price {p.price_per_access}, window from {_e(_when(p.not_before))} until "
                       f"{_e(_when(p.not_after))}, purposes {_e(', '.join(p.purposes) or 'any')}, jurisdictions "
                       f"{_e(', '.join(p.jurisdictions) or 'any')}, approval "
                       f"{'automatic' if p.auto_approve else 'by the provider'}"
                       f"{', compute only' if p.compute_only else ''}</li>"
                       for p in h.policies) or "<li>none</li>"
    return (f"<table><tr><th>metadata</th><td><code>{_e(a.metadata_uri)}</code><br><code>{_e(a.metadata_hash)}</code>"
            f"</td></tr><tr><th>owners</th><td>{owners}</td></tr><tr><th>versions</th><td>{versions}</td></tr>"
            f"<tr><th>registration tx</th><td><code>{_e(a.registered.tx)}</code></td></tr>"
            f"<tr><th>policies</th><td><ul>{policies}</ul></td></tr></table>")


def _proofs(proofs: list[dict[str, Any]]) -> str:
    if not proofs:
        return "<p>No receipts supplied (pass <code>--receipts FILE.jsonl</code>).</p>"
    return "".join(
        f"<details><summary><code>{_e(p['receipt']['receipt_id'])}</code> · {_e(p['receipt']['decision'])} · "
        f"{_e(_when(p['receipt']['timestamp']))} · "
        f"{'state ' + _e(p['proof']['state']) if p['proof'] else 'no proof yet'}</summary>"
        f"<pre>{_e(json.dumps(p, indent=2))}</pre></details>" for p in proofs)
