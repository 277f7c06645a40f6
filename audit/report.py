"""``tds audit report``: one asset's story as a self-contained HTML page (or the same data as JSON).

The page needs nothing but itself: inline CSS, an inline SVG lineage graph, a timeline, the
grants with their use, settlements, and the proofs supplied with the receipts. Its markup is the
Jinja2 template ``audit/templates/report.html.j2`` (with ``report.css``), rendered with
autoescaping on; this module computes what the page shows (cards, the lineage graph's layout). Participants are
named by their DID (``did:pkh:eip155:<chainId>:<address>``), dates are ISO 8601 UTC, assets carry
their title beside the hash when the caller knows it (``titles``: the provider's metadata).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
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


def _short(h: str) -> str:
    return f"{h[:10]}…{h[-6:]}" if isinstance(h, str) and len(h) > 20 else str(h)


def _when(ts: int, zero: str = "open") -> str:
    if not ts or ts >= 253402300800:  # 0 or past year 9999: an open bound
        return zero
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


@functools.cache
def _environment() -> Environment:
    """The one Jinja2 environment of the report templates (package data), autoescaping on."""
    env = Environment(loader=PackageLoader("audit", "templates"), autoescape=True,
                      undefined=StrictUndefined)
    env.filters.update(short=_short, when=_when, json_pretty=lambda v: json.dumps(v, indent=2))
    env.globals["did"] = did
    return env


def _page(h: AssetHistory, data: dict[str, Any]) -> str:
    a = h.asset
    uses = sum(g.anchored_accesses or 0 for g in h.grants)
    cards = [("version", a.version), ("size (bytes)", f"{a.size:,}"), ("grants", len(h.grants)),
             ("anchored accesses", uses if any(g.anchored_accesses is not None for g in h.grants) else "—"),
             ("settled accesses", sum(x.count for x in h.settlements)),
             ("revenue", sum(x.amount for x in h.settlements))]
    return _environment().get_template("report.html.j2").render(
        h=h, data=data, chain_id=data["chain_id"], titles=data["titles"], head=data["index_head_timestamp"],
        cards=cards, owners=list(zip(a.owners, a.shares_bps)), lineage=_lineage(h, data["titles"]))


def _lineage(h: AssetHistory, titles: Mapping[str, str]) -> dict[str, Any]:
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
        role = "this asset" if me else ("ancestor" if depth[n] < 0 else "derived")
        if titles.get(n):
            role = f"{role} · {titles[n][:18]}"
        nodes.append({"id": n, "x": x, "y": y, "fill": fill, "stroke": stroke, "color": "#fff" if me else "#1d2330",
                      "role": role, "tip": f"{n} {titles[n]}" if titles.get(n) else n})
    return {"single": len(pos) == 1, "w": w, "h": hgt, "edges": edges, "nodes": nodes,
            "width": 40 + len(columns) * (w + gx) - gx,
            "height": 40 + max(len(ns) for ns in columns.values()) * (hgt + gy) - gy}
