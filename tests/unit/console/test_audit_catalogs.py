"""The operator's and auditor's console and the HTML audit report are complete in Chinese, and their catalogs current.

Message ids are read from the sources the way Babel reads them: the Jinja2 templates (``_("...")``, Babel's
Jinja2 extractor), the Python that renders them (``_``, ``N_``, ``gettext``, ``pgettext`` calls) and audit.js
(its ``t("...")`` literals). Every id needs a Chinese translation in its catalog (audit.po for the console's pages,
report.po for the report) and every id of those catalogs must still be used.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

import i18n
from console import web

ROOT = Path(__file__).resolve().parents[3]
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
JINJA = {"extensions": "jinja2.ext.i18n", "trimmed": "false"}
Key = tuple[str | None, str]  # (context, id)

SOURCES = {
    "audit": {"templates": sorted((ROOT / "console" / "templates" / "audit").glob("*.html")),
              "python": [ROOT / "console" / n for n in ("audit_pages.py", "audit_words.py", "audit_data.py",
                                                         "audit_serve.py", "audit_follow.py")],
              "scripts": ["audit.js"]},
    "report": {"templates": [ROOT / "audit" / "templates" / "report.html.j2"],
               "python": [ROOT / "audit" / "report.py", ROOT / "audit" / "report_words.py"], "scripts": []},
}
# ids of the console's base.html that the audit pages show (found in audit.po, else in console.po)
BASE = ROOT / "console" / "templates" / "base.html"


def _keys(found: list[tuple]) -> set[Key]:
    out: set[Key] = set()
    for _line, message, _comments, context in found:
        for m in message if isinstance(message, tuple) else (message,):
            if isinstance(m, str) and m:
                out.add((context, m))
    return out


def extract(domain: str) -> set[Key]:
    """Every (context, id) the domain's sources can show."""
    src = SOURCES[domain]
    keys: set[Key] = set()
    for path in src["templates"]:
        keys |= _keys(list(extract_from_file("jinja2.ext:babel_extract", str(path), KEYWORDS, options=JINJA)))
    for path in src["python"]:
        keys |= _keys(list(extract_from_file("python", str(path), KEYWORDS)))
    keys |= {(None, m) for m in web.js_messages(src["scripts"])} if src["scripts"] else set()
    return keys


def catalog(domain: str) -> dict[Key, str]:
    with (i18n.LOCALE_DIR / "zh" / f"{domain}.po").open("rb") as f:
        po = read_po(f, locale="zh_Hans_CN", domain=domain)
    return {(m.context, str(m.id)): ("" if m.fuzzy else str(m.string or "")) for m in po if m.id}


def _shown(keys: list[Key]) -> str:
    return "\n".join(f"  {ctx + ' | ' if ctx else ''}{msgid!r}" for ctx, msgid in keys)


def test_every_id_of_the_audit_pages_and_the_report_is_translated() -> None:
    for domain in SOURCES:
        ids, have = extract(domain), catalog(domain)
        assert len(ids) > 100, f"the {domain} scan found only {len(ids)} ids"
        missing = sorted(k for k in ids if not have.get(k))
        assert not missing, f"{len(missing)} id(s) without a zh translation in {domain}.po:\n{_shown(missing)}"


def test_no_stale_id_in_audit_po_or_report_po() -> None:
    for domain in SOURCES:
        stale = sorted(set(catalog(domain)) - extract(domain))
        assert not stale, f"{len(stale)} id(s) of {domain}.po no source uses any more:\n{_shown(stale)}"


def test_the_layout_the_audit_pages_share_is_translated_too() -> None:
    base = _keys(list(extract_from_file("jinja2.ext:babel_extract", str(BASE), KEYWORDS, options=JINJA)))
    t = i18n.translator("zh", ("audit", "console"))
    untranslated = sorted(m for _c, m in base if t.gettext(m) == m and not m.isupper())
    assert not untranslated, untranslated


def test_placeholders_survive_translation() -> None:
    names = re.compile(r"\{(\w*)\}|%\((\w+)\)s")
    for domain in SOURCES:
        for (_ctx, msgid), text in catalog(domain).items():
            assert sorted(names.findall(text)) == sorted(names.findall(msgid)), (domain, msgid, text)
            assert text.count("%%") == msgid.count("%%"), (domain, msgid)


def test_the_seeds_vocabulary() -> None:
    audit = i18n.translations("zh", "audit").gettext
    report = i18n.translations("zh", "report").gettext
    assert audit("Participants") == "参与方" and audit("Operator") == "运营方"
    assert audit("Audit findings") == "审计发现" and audit("Data products") == "数据产品"
    assert "准入" in audit("Onboard a participant") and audit("Suspend") == "暂停"
    assert "数字合约" in audit("Digital contracts") and "分润" in audit("Owners (revenue sharing)")
    assert "存证" in report("anchored accesses") and report("receipts") == "凭证"
    assert report("Disputes") == "争议仲裁" and audit("provider") == "数据提供方" and audit("consumer") == "数据使用方"
    assert audit("auditor") == "审计方"
