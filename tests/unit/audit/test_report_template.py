"""The HTML report is rendered from the packaged Jinja2 template with autoescaping on."""

from __future__ import annotations

from importlib.resources import files

import pytest

from audit.db import IndexDb
from audit.indexer import Indexer
from audit.report import render_html
from tests.unit.audit.conftest import CLEAN, RAW, SyntheticChain, small_space


@pytest.fixture
def indexed(indexer: Indexer, chain: SyntheticChain, db: IndexDb) -> IndexDb:
    small_space(chain)
    indexer.run_once()
    return db


def test_title_with_script_is_escaped(indexed: IndexDb) -> None:
    titles = {CLEAN: "<script>alert('clean')</script>", RAW: 'raw "<img src=x>" & more'}
    with indexed.session() as s:
        page = render_html(s, CLEAN, chain_id=31337, title_of=titles.get)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#39;clean&#39;)&lt;/script&gt;" in page  # <title>, <h1>, lineage node
    assert "<title>Audit report &lt;script&gt;" in page
    assert "raw &#34;&lt;img src=x&gt;&#34; &amp; more" in page
    assert page.startswith("<!doctype html>") and page.endswith("</html>")


def test_templates_ship_with_the_package() -> None:
    templates = files("audit") / "templates"
    assert (templates / "report.html.j2").is_file() and (templates / "report.css").is_file()
