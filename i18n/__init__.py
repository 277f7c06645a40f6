"""Languages of TDS: message catalogs (gettext ``.po``, read with Babel) and locale formatting.

One catalog per area, each a gettext domain with the English text as its message id:

    i18n/locales/zh/console.po   the web console (Jinja2 templates and its JavaScript's strings)
    i18n/locales/zh/audit.po     the operator's and auditor's console pages (``tds console serve``)
    i18n/locales/zh/report.po    the HTML audit report
    i18n/locales/zh/cli.po       the ``tds`` CLI's help and messages

English needs no catalog (the ids are the English text). A ``.po`` file is read (and compiled in
memory) the first time its domain is asked for, so no ``.mo`` file is built or committed.

    t = translations("zh", "console")
    t.gettext("Catalog")              -> "数据目录"
    format_datetime(1764700000, "zh") -> "2025年12月2日 18:26:40 UTC"

:func:`negotiate` picks the language from what a person asked for (``--lang``, a cookie, ``LANG``,
``Accept-Language``): ``zh`` for any Chinese, else ``en``.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
from decimal import Decimal
from collections.abc import Iterable
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime as _babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal as _babel_decimal

LANGS = ("en", "zh")
"""The languages TDS speaks, the default first."""
DEFAULT = "en"
LOCALES = {"en": Locale.parse("en_GB"), "zh": Locale.parse("zh_Hans_CN")}
"""Babel locales of each language (British English: day-month-year dates, 24-hour clock)."""
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}
LOCALE_DIR = Path(__file__).parent / "locales"
DOMAINS = ("console", "audit", "report", "cli")


def normalize(value: str | None) -> str | None:
    """``zh`` for any Chinese tag (``zh``, ``zh_CN.UTF-8``, ``zh-Hans``), ``en`` for English; else None."""
    if not value:
        return None
    tag = value.strip().split(".")[0].split(";")[0].replace("_", "-").lower()
    if tag.startswith("zh"):
        return "zh"
    if tag.startswith("en") or tag in ("c", "posix"):
        return "en"
    return None


def negotiate(*wishes: str | None, accept_language: str | None = None) -> str:
    """The first of ``wishes`` that TDS speaks (explicit choices first), then the best of an HTTP
    ``Accept-Language`` header, then English."""
    for wish in wishes:
        lang = normalize(wish)
        if lang:
            return lang
    if accept_language:
        ranked: list[tuple[float, int, str]] = []
        for i, part in enumerate(accept_language.split(",")):
            tag, _, q = part.strip().partition(";q=")
            lang = normalize(tag)
            if lang:
                try:
                    weight = float(q) if q else 1.0
                except ValueError:
                    weight = 0.0
                ranked.append((-weight, i, lang))
        if ranked:
            return sorted(ranked)[0][2]
    return DEFAULT


def lang_from_env(environ: dict[str, str]) -> str:
    """The language of a terminal: ``LC_ALL``, ``LC_MESSAGES``, ``LANGUAGE``, ``LANG`` (POSIX order)."""
    return negotiate(environ.get("TDS_LANG"), environ.get("LC_ALL"), environ.get("LC_MESSAGES"),
                     (environ.get("LANGUAGE") or "").split(":")[0], environ.get("LANG"))


@functools.cache
def translations(lang: str, domain: str) -> gettext.NullTranslations:
    """The catalog of ``domain`` in ``lang`` (English, or a missing catalog: the ids themselves)."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown message domain {domain!r} (one of {', '.join(DOMAINS)})")
    path = LOCALE_DIR / lang / f"{domain}.po"
    if lang == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=LOCALES[lang], domain=domain)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


@functools.cache
def translator(lang: str, domains: tuple[str, ...]) -> gettext.NullTranslations:
    """One lookup over several catalogs: the first that translates a message wins."""
    first = None
    for domain in domains:
        t = translations(lang, domain)
        if isinstance(t, gettext.GNUTranslations):
            t = _copy(t)
            if first is None:
                first = t
            else:
                first.add_fallback(t)
    return first or gettext.NullTranslations()


def _copy(t: gettext.GNUTranslations) -> gettext.GNUTranslations:
    """A translations object sharing ``t``'s catalog but with its own fallback chain."""
    c = gettext.GNUTranslations.__new__(gettext.GNUTranslations)
    c.__dict__.update(t.__dict__)
    c._fallback = None
    return c


def catalog_entries(lang: str, domain: str) -> dict[str, str]:
    """Every translated message of a catalog, id -> text (what the console hands its JavaScript)."""
    path = LOCALE_DIR / lang / f"{domain}.po"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        catalog = read_po(f, locale=LOCALES[lang], domain=domain)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy
            and isinstance(m.id, str)}


def gettext_for(lang: str, domain: str, messages: Iterable[str]) -> dict[str, str]:
    """``messages`` in ``lang``, id -> text (untranslated ids map to themselves)."""
    t = translations(lang, domain)
    return {m: t.gettext(m) for m in messages}


def _utc(ts: int | float | dt.datetime) -> dt.datetime:
    if isinstance(ts, dt.datetime):
        return ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def format_datetime(ts: int | float | dt.datetime | None, lang: str, open_text: str = "—") -> str:
    """A moment for people in ``lang``, in UTC: ``2 Dec 2025, 18:26:40 UTC`` / ``2025年12月2日 18:26:40 UTC``;
    ``open_text`` for none (0, None or past the year 9999: an open bound)."""
    if not ts or (not isinstance(ts, dt.datetime) and ts >= 253402300800):
        return open_text
    pattern = "y年M月d日 HH:mm:ss" if lang == "zh" else "d MMM y, HH:mm:ss"
    return _babel_datetime(_utc(ts), pattern, tzinfo=dt.timezone.utc, locale=LOCALES[lang]) + " UTC"


def format_date(ts: int | float | dt.datetime | None, lang: str, open_text: str = "—") -> str:
    """A day for people in ``lang``: ``2 Dec 2025`` / ``2025年12月2日``."""
    if not ts or (not isinstance(ts, dt.datetime) and ts >= 253402300800):
        return open_text
    pattern = "y年M月d日" if lang == "zh" else "d MMM y"
    return _babel_datetime(_utc(ts), pattern, tzinfo=dt.timezone.utc, locale=LOCALES[lang])


def format_number(value: int | float | Decimal, lang: str) -> str:
    """A number with the locale's grouping: ``12,345.5`` (both languages group by thousands)."""
    return _babel_decimal(value, locale=LOCALES[lang])
