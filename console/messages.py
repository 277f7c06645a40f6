"""The console's message ids, extracted from its sources; keeps ``i18n/locales/zh/console.po`` in step.

    python -m console.messages            list ids missing from console.po (exit 1 if any) and stale ones
    python -m console.messages --update   add missing ids (empty msgstr, to translate) and drop stale ones

Sources: the templates in console/templates (``_("...")`` and ``{% trans %}``, Babel's Jinja2 extractor),
the Python that renders pages (``_``/``t`` calls: console/*.py, gateway/api/console.py) and console.js
(its ``t("...")`` literals). tests/unit/console/test_console_catalog.py fails on a missing or stale id.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po
from jinja2.ext import babel_extract

import i18n
from console import web

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [p for p in (ROOT / "console" / "templates").glob("*.html")]
PYTHON = [ROOT / "console" / "words.py", ROOT / "console" / "web.py", ROOT / "gateway" / "api" / "console.py"]
SCRIPTS = ("console.js",)
PO = i18n.LOCALE_DIR / "zh" / "console.po"
KEYWORDS = {"_": None, "t": None, "gettext": None, "ngettext": (1, 2)}


def _ids(found: Iterable[tuple]) -> set[str]:
    out = set()
    for item in found:
        message = item[1]
        if isinstance(message, (tuple, list)):
            out.update(m for m in message if isinstance(m, str) and m)
        elif isinstance(message, str) and message:
            out.add(message)
    return out


def extract(templates: Iterable[Path] = TEMPLATES, python: Iterable[Path] = PYTHON,
            scripts: Iterable[str] = SCRIPTS) -> set[str]:
    """Every message id the console's pages can show."""
    ids: set[str] = set()
    for path in templates:
        ids |= _ids(extract_from_file(babel_extract, str(path), keywords=KEYWORDS,
                                      options={"extensions": "jinja2.ext.i18n", "trimmed": "false"}))
    for path in python:
        ids |= _ids(extract_from_file("python", str(path), keywords=KEYWORDS))
    ids |= set(web.js_messages(scripts))
    return ids


def read(path: Path = PO) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale="zh_Hans_CN")


def check(ids: set[str], catalog: Catalog) -> tuple[list[str], list[str]]:
    """(ids without a zh translation, catalog ids no source uses)."""
    have = {str(m.id): m for m in catalog if m.id}
    missing = sorted(i for i in ids if i not in have or not have[i].string or have[i].fuzzy)
    stale = sorted(set(have) - ids)
    return missing, stale


def main(argv: list[str]) -> int:
    ids = extract()
    catalog = read() if PO.exists() else Catalog(locale="zh_Hans_CN", domain="console")
    missing, stale = check(ids, catalog)
    if "--update" in argv:
        for i in missing:
            if i not in catalog:
                catalog.add(i, "")
        for i in stale:
            catalog.delete(i)
        PO.parent.mkdir(parents=True, exist_ok=True)
        with PO.open("wb") as f:
            write_po(f, catalog, width=0, omit_header=False, sort_output=True)
        print(f"console.po: {len(missing)} to translate, {len(stale)} stale removed")
        return 0
    for i in missing:
        print(f"missing: {i}")
    for i in stale:
        print(f"stale: {i}")
    return 1 if missing or stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
