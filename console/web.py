"""Rendering console pages: one Jinja2 environment, the language of each request, security headers.

The language of a request: ``?lang=`` (explicit), else the ``tds_lang`` cookie that the switch
(``/console/lang/<lang>``) sets for a year, else the browser's ``Accept-Language``; English by default.
Templates translate with ``{{ _("...") }}`` / ``{% trans %}`` (the ``console`` catalog), format with the
``when``, ``day``, ``num`` filters, and hand the page's JavaScript its strings and settings as one JSON
block (``config``; never inline script: the Content-Security-Policy allows scripts from 'self' only).
"""

from __future__ import annotations

import contextvars
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup

import i18n

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
COOKIE = "tds_lang"
PREFIX = "/console"
_lang: contextvars.ContextVar[str] = contextvars.ContextVar("tds_console_lang", default=i18n.DEFAULT)
_domains: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("tds_console_domains", default=("console",))


def request_lang(request: Request) -> str:
    """The language this request is answered in."""
    return i18n.negotiate(request.query_params.get("lang"), request.cookies.get(COOKIE),
                          accept_language=request.headers.get("accept-language"))


def _gettext(message: str) -> str:
    return i18n.translator(_lang.get(), _domains.get()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translator(_lang.get(), _domains.get()).ngettext(singular, plural, n)


_T_CALL = re.compile(r'\bt\("((?:[^"\\\n]|\\.)*)"')


def js_messages(scripts: Iterable[str] = ("console.js",)) -> list[str]:
    """The message ids of the page scripts: the double-quoted literal of every ``t("...")`` call (the scripts'
    one convention; Babel's JavaScript lexer loses its place after some regular expression literals)."""
    ids: set[str] = set()
    for name in scripts:
        path = STATIC / name
        if path.exists():
            ids |= {json.loads(f'"{m}"') for m in _T_CALL.findall(path.read_text(encoding="utf-8"))}
    return sorted(ids)


def short(value: str | None, keep: int = 10) -> str:
    """``0xd7b1f0…9a3c``: a hash or address shortened for a table cell (the full value goes in its title)."""
    if not value:
        return "—"
    return value if len(value) <= keep + 6 else f"{value[:keep]}…{value[-4:]}"


def _filters(env: jinja2.Environment) -> None:
    env.filters["when"] = lambda ts, open_text=None: i18n.format_datetime(
        ts, _lang.get(), open_text if open_text is not None else _gettext("open"))
    env.filters["day"] = lambda ts: i18n.format_date(ts, _lang.get())
    env.filters["num"] = lambda n: i18n.format_number(n, _lang.get())
    env.filters["short"] = short


class Renderer:
    """The console's pages: ``render(request, "catalog.html", ...)`` answers HTML in the request's language."""

    def __init__(self, extra_dirs: Iterable[Path] = (), site: Mapping[str, Any] | None = None,
                 domains: tuple[str, ...] = ("console",), scripts: Iterable[str] = ("console.js",)) -> None:
        """``extra_dirs``: template folders searched before console/templates; ``domains``: the message catalogs,
        first match wins; ``scripts``: the static scripts whose ``t("...")`` strings the pages hand over."""
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([*map(str, extra_dirs), str(TEMPLATES)]),
            autoescape=True,  # every value is escaped: titles, descriptions and purposes are user input
            extensions=["jinja2.ext.i18n"],
            undefined=jinja2.StrictUndefined,
            trim_blocks=True, lstrip_blocks=True,
        )
        self.env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
        _filters(self.env)
        self.site = dict(site or {})
        self.domains = domains
        self._js_ids = js_messages(scripts)

    def render(self, request: Request, name: str, status: int = 200, *, config: Mapping[str, Any] | None = None,
               connect: Iterable[str] = (), **context: Any) -> HTMLResponse:
        """The page ``name`` with ``context``; ``config`` goes to the page's JavaScript (JSON), ``connect``
        names the extra origins its scripts may call (the chain node, for proof checks)."""
        lang = request_lang(request)
        token, dtoken = _lang.set(lang), _domains.set(self.domains)
        try:
            js = {"lang": lang, "prefix": PREFIX, "messages": {m: _gettext(m) for m in self._js_ids}, **self.site,
                  **(config or {})}
            html = self.env.get_template(name).render(
                request=request, lang=lang, langs=i18n.LANGUAGE_NAMES, path=_here(request), prefix=PREFIX,
                site=self.site, config=js, **context)
        finally:
            _lang.reset(token)
            _domains.reset(dtoken)
        response = HTMLResponse(html, status_code=status)
        secure(response, connect)
        return response


def _here(request: Request) -> str:
    """This page's path and query without ``lang`` (where the language switch returns to)."""
    query = "&".join(f"{k}={v}" for k, v in request.query_params.multi_items() if k != "lang")
    path = request.url.path
    return path + ("?" + query if query else "")


def secure(response: Response, connect: Iterable[str] = ()) -> Response:
    """Security headers of every console response: scripts and styles from this origin only (no inline
    script: an injected ``<script>`` does not run), no framing, no referrer, no MIME sniffing."""
    origins = " ".join(sorted({o for o in connect if o}))
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        f"connect-src 'self' {origins}".rstrip() + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def origin_of(url: str) -> str:
    """``http://127.0.0.1:8545`` of a URL ("" when it has none)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


_SAFE_NEXT = re.compile(r"^/console(/[^\s\\]*)?(\?[^\s\\]*)?$")


def language_switch(request: Request, lang: str) -> Response:
    """``/console/lang/<lang>?next=/console/...``: remember the language in a cookie (a year) and go back.
    ``next`` must be a console path (no open redirect)."""
    chosen = i18n.normalize(lang) or i18n.DEFAULT
    target = request.query_params.get("next") or PREFIX + "/"
    if not _SAFE_NEXT.match(target) or "//" in target or "@" in target or ".." in target:
        target = PREFIX + "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax", httponly=False, path="/")
    return secure(response)


class _Static(StaticFiles):
    """Static files with the console's security headers (and a day of caching)."""

    async def get_response(self, path: str, scope: Any) -> Response:
        response = await super().get_response(path, scope)
        secure(response)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


def mount_static(app: FastAPI) -> None:
    """Serve console/static under /console/static."""
    app.mount(PREFIX + "/static", _Static(directory=str(STATIC)), name="console-static")


def markup_json(data: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` block (``<``, ``>``, ``&`` escaped)."""
    return Markup(jinja2.utils.htmlsafe_json_dumps(data))
