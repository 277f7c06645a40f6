"""Charts and the lineage graph as inline SVG, drawn on the server: they show with JavaScript off.

Every text in the SVG is escaped (titles are user input); sizes are fixed, the SVG scales with its box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


def bar_chart(points: Sequence[tuple[str, float]], title: str, unit: str = "", width: int = 640,
              height: int = 180, value_text: Sequence[str] | None = None) -> Markup:
    """Vertical bars, one per ``(label, value)``; labels under every n-th bar so they never overlap; each
    bar's exact value in its tooltip (``<title>``). ``value_text``: how each value is written (default: as is)."""
    left, bottom, top = 44, 28, 14
    plot_w, plot_h = width - left - 8, height - bottom - top
    n = max(len(points), 1)
    peak = max((v for _, v in points), default=0) or 1
    slot = plot_w / n
    bar = max(slot * 0.7, 1)
    every = max(1, round(n / 8))
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" class="axis"/>',
           f'<text x="{left - 6}" y="{top + 4}" class="tick" text-anchor="end">{escape(_fmt(peak))}</text>',
           f'<text x="{left - 6}" y="{top + plot_h}" class="tick" text-anchor="end">0</text>']
    for i, (label, value) in enumerate(points):
        h = plot_h * (value / peak) if value > 0 else 0
        x = left + i * slot + (slot - bar) / 2
        shown = value_text[i] if value_text is not None else _fmt(value)
        out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" class="bar">'
                   f'<title>{escape(label)}: {escape(shown)} {escape(unit)}</title></rect>')
        if i % every == 0:
            out.append(f'<text x="{x + bar / 2:.1f}" y="{height - 8}" class="tick" text-anchor="middle">'
                       f'{escape(label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


@dataclass(frozen=True)
class Node:
    """A lineage node: asset id, title, link (None: not served here), whether it is the page's asset."""

    asset_id: str
    title: str
    href: str | None
    current: bool = False


def lineage_graph(layers: Sequence[Sequence[Node]], edges: Sequence[tuple[str, str]], width: int = 640) -> Markup:
    """Layers of nodes top (oldest ancestors) to bottom (derived assets), an arrow per ``(parent, child)``."""
    row_h, box_h = 78, 40
    height = max(len(layers), 1) * row_h
    pos: dict[str, tuple[float, float, float]] = {}
    parts: list[str] = []
    for r, layer in enumerate(layers):
        n = max(len(layer), 1)
        box_w = min(200, (width - 16) / n - 12)
        for i, node in enumerate(layer):
            cx = width * (i + 0.5) / n
            y = r * row_h + 10
            pos[node.asset_id] = (cx, y, box_w)
            label = node.title or node.asset_id[:10] + "…"
            if len(label) > 26:
                label = label[:25] + "…"
            cls = "node current" if node.current else "node"
            box = (f'<rect x="{cx - box_w / 2:.1f}" y="{y}" width="{box_w:.1f}" height="{box_h}" rx="6" class="{cls}"/>'
                   f'<text x="{cx:.1f}" y="{y + 17}" text-anchor="middle" class="label">{escape(label)}</text>'
                   f'<text x="{cx:.1f}" y="{y + 32}" text-anchor="middle" class="hash">{escape(node.asset_id[:10])}…'
                   f'</text><title>{escape(node.title)} {escape(node.asset_id)}</title>')
            parts.append(f'<a href="{escape(node.href)}">{box}</a>' if node.href and not node.current
                         else f"<g>{box}</g>")
    arrows = []
    for parent, child in edges:
        if parent in pos and child in pos:
            (px, py, _), (cx, cy, _) = pos[parent], pos[child]
            arrows.append(f'<line x1="{px:.1f}" y1="{py + box_h}" x2="{cx:.1f}" y2="{cy}" class="edge" '
                          'marker-end="url(#arrow)"/>')
    head = (f'<svg class="lineage" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" role="img">'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead"/></marker></defs>')
    return Markup(head + "".join(arrows) + "".join(parts) + "</svg>")
