"""Charts and the lineage graph as SVG: escaped, proportional, parents above their derived products."""

from __future__ import annotations

import re

from console import charts


def test_bars_are_proportional_and_labels_escaped() -> None:
    svg = str(charts.bar_chart([("1 Dec", 2), ("<b>2 Dec</b>", 4), ("3 Dec", 0)], 'uses "per day"', "uses"))
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', svg)]
    assert len(heights) == 3 and heights[1] == 2 * heights[0] and heights[2] == 0
    assert "<b>" not in svg and "&lt;b&gt;2 Dec&lt;/b&gt;" in svg and "&#34;per day&#34;" in svg
    assert "<title>&lt;b&gt;2 Dec&lt;/b&gt;: 4 uses</title>" in svg


def test_an_empty_chart_draws_no_bar() -> None:
    assert "<rect" not in str(charts.bar_chart([], "nothing"))


def test_lineage_draws_parents_above_children_with_links_and_arrows() -> None:
    a, b, c = "0x" + "a" * 64, "0x" + "b" * 64, "0x" + "c" * 64
    svg = str(charts.lineage_graph([[charts.Node(a, "<i>raw</i>", "/console/assets/" + a)],
                                    [charts.Node(b, "joined", None, current=True)], [charts.Node(c, "model", "/x")]],
                                   [(a, b), (b, c)]))
    ys = [float(y) for y in re.findall(r'<rect [^>]*y="([0-9.]+)"', svg)]
    assert ys == sorted(ys) and len(ys) == 3
    assert svg.count("<line") == 2 and 'href="/console/assets/' + a + '"' in svg
    assert "<i>" not in svg and "&lt;i&gt;raw&lt;/i&gt;" in svg
    assert 'class="node current"' in svg
