"""The language of one ``tds`` invocation and its messages: English, or Chinese (中文) from the ``cli`` catalog.

The English text is the message id (``i18n/locales/zh/cli.po``)::

    tr("no asset {asset_id}", asset_id=x)   # English: the id itself, formatted; Chinese: its msgstr, formatted
    term(row.state)                          # a word of the code's vocabulary (a state, a role), as a label
    N_("...")                                # marks a message translated later (tables of sentences)

Values (ids, hashes, addresses, DIDs, paths) go in as named placeholders and are never translated.
``main`` resolves the language once per invocation (:func:`resolve`: ``--lang``, else ``TDS_LANG``,
``LC_ALL``, ``LC_MESSAGES``, ``LANGUAGE``, ``LANG``) and sets it for that invocation only; outside an
invocation it is English. Click's own strings ("Usage:", "Missing argument", "No such command") come
from the stdlib's gettext, which each click module imports by name: :func:`hook_click` points those
names at this catalog (the identity in English).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

LANGS = ("en", "zh")  # i18n.LANGS (a unit test checks), not imported: Babel loads when a language is resolved
_LANG: ContextVar[str] = ContextVar("tds_cli_lang", default="en")
# Root options that take a value, so that their value is not mistaken for the command name.
_VALUED_ROOT_OPTIONS = ("--home", "--as")
# Click modules that take `_` / `ngettext` from the stdlib's gettext (checked by a unit test).
CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils")


def current() -> str:
    """The language of the running invocation: ``en`` or ``zh``."""
    return _LANG.get()


def use(lang: str) -> Token[str]:
    """Speak ``lang`` from now on (until :func:`restore` with the token)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r} (one of {', '.join(LANGS)})")
    return _LANG.set(lang)


def restore(token: Token[str]) -> None:
    """Back to the language before the :func:`use` that returned ``token``."""
    _LANG.reset(token)


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Speak ``lang`` inside the block (e.g. English for what ``--json`` prints)."""
    token = use(lang)
    try:
        yield
    finally:
        restore(token)


def resolve(args: Sequence[str], environ: Mapping[str, str]) -> str:
    """The language of ``tds ARGS``: ``--lang en|zh`` among the root options, else the environment's."""
    tokens = list(args)
    i = 0
    while i < len(tokens):
        arg = tokens[i]
        if arg == "--":
            break
        if arg.startswith("--lang="):
            wish: str | None = arg.partition("=")[2]
        elif arg == "--lang":
            wish = tokens[i + 1] if i + 1 < len(tokens) else None
        elif arg in _VALUED_ROOT_OPTIONS:
            i += 2
            continue
        elif arg.startswith("-"):
            i += 1
            continue
        else:
            break  # the command: its options are not the root's
        if wish in LANGS:
            return wish
        break  # an invalid --lang: click reports it, in the environment's language
    import i18n

    return i18n.lang_from_env(dict(environ))


def _catalog(lang: str) -> gettext.NullTranslations:
    import i18n

    return i18n.translations(lang, "cli")


def tr(msgid: str, /, **values: Any) -> str:
    """``msgid`` in the current language, its ``{placeholders}`` filled with ``values``."""
    text = msgid if current() == "en" else _catalog(current()).gettext(msgid)
    return text.format(**values) if values else text


def term(word: str, context: str | None = None) -> str:
    """A word of the code's vocabulary (a state, a role, a kind) for people; unknown words stay as they are.

    ``context`` tells apart a word that means two things (a dispute is "open", so is a window's end)."""
    if current() == "en" or not word:
        return word
    catalog = _catalog(current())
    return catalog.pgettext(context, word) if context else catalog.gettext(word)


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Mark ``msgid`` for the catalog without translating it now (the caller passes it to :func:`tr`)."""
    return msgid


def _click_gettext(message: str) -> str:
    return message if current() == "en" else _catalog(current()).gettext(message)


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    if current() == "en":
        return singular if n == 1 else plural
    return _catalog(current()).ngettext(singular, plural, n)


def hook_click() -> None:
    """Route click's own messages through the ``cli`` catalog (idempotent; English is unchanged).

    Click calls ``gettext.gettext`` of the default domain through names bound at its import
    (``from gettext import gettext as _``); only names still bound to the stdlib functions are replaced.
    """
    import importlib

    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if getattr(module, "_", None) is gettext.gettext:
            module._ = _click_gettext  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = _click_ngettext  # type: ignore[attr-defined]


def click_hooked() -> bool:
    """Whether every click module that speaks takes its messages from here (a click upgrade may change that)."""
    import importlib

    modules = [importlib.import_module(f"click.{name}") for name in CLICK_MODULES]
    return all(getattr(m, "_", None) is _click_gettext for m in modules)
