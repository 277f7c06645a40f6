"""Catalog search: keyword, filters, facets and paging over catalog entries (pure: no chain, no HTTP, no SQL).

One implementation for every catalog that lists assets: a provider's gateway (``GET /catalog``,
``gateway.catalog_index``), the web console, a space-wide catalog over the audit index. Callers turn
their assets into :class:`CatalogEntry` rows (:meth:`CatalogEntry.of`), parse what a user asked for
with :meth:`CatalogQuery.from_params` (raises :class:`domain.errors.InvalidQuery` naming the bad
parameter and what it accepts) and call :func:`search`.

The rules:

- ``q``: whitespace-separated terms, each matched case-insensitively (Unicode NFKC + case folding,
  so ``STRASSE`` finds ``Straße``) as a substring of the title, the description or a keyword; a term
  starting with ``0x`` also matches the asset ids it is a prefix of. Every term must match (AND).
  Terms are plain text: no pattern syntax (``.*``, ``%``, ``'``) means anything but itself.
- ``kind``, ``price_model``, ``provider``: equality (``provider`` as a 0x address or a
  ``did:pkh:eip155:<chain>:<address>``, compared by address, hex digits in any case).
- ``purpose`` / ``jurisdiction`` follow the contract: a policy with no purposes (no jurisdictions)
  allows any, so filtering for ``research`` lists the assets whose policy names ``research`` *and*
  those whose policy restricts no purpose. An asset without a policy (price model ``none``: it cannot
  be granted) allows no purpose and no jurisdiction and never matches these filters. Purposes match
  exactly (as ``UsageGrants.isPurposeAllowed`` does); jurisdictions are ISO 3166-1 alpha-2 codes, any case.
- inactive entries are left out unless ``include_inactive``.
- order: newest registration first (entries without a registration time last; registrations in the
  same second by block, the later first), then asset id.
- facets: for each of ``kind``, ``purpose``, ``jurisdiction``, ``price_model``, ``provider``, how many
  entries would match if that one filter were set to each value, the other filters (and ``q``) as
  given. For ``purpose`` and ``jurisdiction`` a value's count includes the unrestricted policies (the
  rule above), and the key ``*`` counts the unrestricted ones alone.
- paging: ``page`` from 1, ``per_page`` 1..100; a page past the end is empty (not an error).
"""

from __future__ import annotations

import itertools
import math
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from domain import terms
from domain.errors import InvalidQuery
from domain.ids import ADDRESS_PATTERN, is_address
from domain.types import Asset, Policy, PriceModel

__all__ = [
    "ANY",
    "FACETS",
    "KINDS",
    "MAX_PAGE",
    "MAX_PER_PAGE",
    "MAX_TEXT",
    "NOT_OFFERED",
    "PARAMETERS",
    "PRICE_MODELS",
    "PARAMETER_SCHEMAS",
    "CatalogEntry",
    "CatalogPage",
    "CatalogQuery",
    "price_in_words",
    "search",
]

KINDS = ("dataset", "service", "algorithm")
"""What an asset is: a file (``dataset``), an API (``service``), an algorithm bundle (``algorithm``)."""
NOT_OFFERED = "none"
"""The price model of an asset without a usage policy (nobody can be granted it)."""
PRICE_MODELS = (*(m.label for m in PriceModel), NOT_OFFERED)
"""``free``, ``prepaid``, ``pay-after-use``, ``subscription`` (:class:`domain.types.PriceModel` labels), ``none``."""
FACETS = ("kind", "purpose", "jurisdiction", "price_model", "provider")
ANY = "*"
"""The facet key counting policies that restrict no purpose (no jurisdiction)."""
PARAMETERS = ("q", "kind", "provider", "purpose", "jurisdiction", "price_model", "page", "per_page")
"""The query parameters :meth:`CatalogQuery.from_params` takes."""
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000
MAX_TEXT = 200
"""Longest ``q`` and ``purpose`` accepted (characters)."""

_ADDRESS = ADDRESS_PATTERN.strip("^$")
PARAMETER_SCHEMAS: dict[str, dict[str, Any]] = {
    "q": {"type": "string", "maxLength": MAX_TEXT},
    "kind": {"type": "string", "enum": ["", *KINDS]},
    "provider": {"type": "string", "pattern": f"^(|{_ADDRESS}|did:pkh:eip155:[0-9]{{1,20}}:{_ADDRESS})$"},
    "purpose": {"type": "string", "maxLength": MAX_TEXT},
    "jurisdiction": {"type": "string", "pattern": "^([A-Za-z]{2})?$"},
    "price_model": {"type": "string", "enum": ["", *PRICE_MODELS]},
    "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
}
"""JSON Schemas of the parameters, as :meth:`CatalogQuery.from_params` checks them (for OpenAPI)."""
_NUMBER = re.compile(r"[0-9]{1,7}", re.ASCII)
_JURISDICTION = re.compile(r"[A-Za-z]{2}", re.ASCII)
_DID_PKH = re.compile(r"did:pkh:eip155:[0-9]{1,20}:(.*)", re.ASCII | re.DOTALL)


def _fold(text: str) -> str:
    """Text as compared: NFKC, case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 42 else text[:39] + "...'"


@dataclass(frozen=True)
class CatalogEntry:
    """One asset as a catalog lists it: what people search and filter by."""

    asset_id: str
    kind: str  # one of KINDS
    title: str
    description: str
    provider: str  # 0x address
    keywords: tuple[str, ...]
    purposes: tuple[str, ...]  # empty: any purpose (when offered)
    jurisdictions: tuple[str, ...]  # ISO codes, upper case; empty: any (when offered)
    price_model: str  # one of PRICE_MODELS
    price: str  # in words, e.g. "10 per use" (see price_in_words)
    compute_only: bool
    active: bool
    registered_at: int | None  # unix seconds (the registration block's timestamp)
    version: int = 1
    registered_block: int | None = None  # orders registrations within one second

    @classmethod
    def of(cls, asset: Asset, policy: Policy | None, metadata: Mapping[str, Any] | None, kind: str,
           registered_at: int | None) -> "CatalogEntry":
        """The entry of an asset, its current policy (None: not offered) and its metadata document."""
        meta = metadata or {}
        keywords = meta.get("keywords")
        return cls(
            asset_id=asset.asset_id, kind=kind, title=_text(meta.get("title")) or asset.asset_id,
            description=_text(meta.get("description")), provider=asset.provider,
            keywords=tuple(str(k) for k in keywords if isinstance(k, str)) if isinstance(keywords, list) else (),
            purposes=policy.purposes if policy else (), jurisdictions=tuple(j.upper() for j in policy.jurisdictions)
            if policy else (), price_model=PriceModel(policy.price_model).label if policy else NOT_OFFERED,
            price=price_in_words(policy), compute_only=bool(policy and policy.compute_only), active=asset.active,
            registered_at=registered_at, version=asset.version, registered_block=asset.block,
        )

    @property
    def offered(self) -> bool:
        """Whether the asset has a usage policy (else nobody can be granted it)."""
        return self.price_model != NOT_OFFERED

    @cached_property
    def _text(self) -> str:
        return _fold("\n".join((self.title, self.description, *self.keywords)))

    @cached_property
    def _order(self) -> tuple[bool, int, int, str]:
        return self.registered_at is None, -(self.registered_at or 0), -(self.registered_block or 0), self.asset_id

    @cached_property
    def _purpose_keys(self) -> tuple[str, ...]:
        """What the entry counts under in the purpose facet (none when not offered; ANY when unrestricted)."""
        return (tuple(dict.fromkeys(self.purposes)) or (ANY,)) if self.offered else ()

    @cached_property
    def _jurisdiction_keys(self) -> tuple[str, ...]:
        return (tuple(dict.fromkeys(self.jurisdictions)) or (ANY,)) if self.offered else ()

    def matches_text(self, words: Sequence[str]) -> bool:
        """Whether every (folded) keyword term is in the title, description or keywords, or prefixes the id."""
        text = self._text
        return all(t in text or (t.startswith("0x") and self.asset_id.startswith(t)) for t in words)

    def allows_purpose(self, purpose: str) -> bool:
        """Whether the policy allows ``purpose`` (no purposes listed: any; no policy: none)."""
        return self.offered and terms.purpose_allowed(self.purposes, purpose)

    def allows_jurisdiction(self, code: str) -> bool:
        """Whether the policy allows consumers of jurisdiction ``code`` (none listed: any; no policy: none)."""
        return self.offered and terms.jurisdiction_allowed(self.jurisdictions, code)

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return {"asset_id": self.asset_id, "kind": self.kind, "title": self.title, "description": self.description,
                "provider": self.provider, "keywords": list(self.keywords), "purposes": list(self.purposes),
                "jurisdictions": list(self.jurisdictions), "price_model": self.price_model, "price": self.price,
                "compute_only": self.compute_only, "active": self.active, "registered_at": self.registered_at,
                "version": self.version, "registered_block": self.registered_block}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def order_key(entry: CatalogEntry) -> tuple[bool, int, int, str]:
    """The catalog order: newest registration first (unknown times last; within a second, the later
    block first), then asset id."""
    return entry._order


def price_in_words(policy: Policy | None) -> str:
    """How a policy charges, in a few words (token base units): ``free``, ``10 per use``,
    ``10 per use, paid after use``, ``30 per 30 d``, ``... (first 2 uses free)``, ``not offered``."""
    if policy is None:
        return "not offered"
    model, price = PriceModel(policy.price_model), policy.price_per_access
    if model is PriceModel.FREE:
        return "free"
    if model is PriceModel.SUBSCRIPTION:
        text = f"{price} per {_period(policy.period)}"
    else:
        text = f"{price} per use" + (", paid after use" if model is PriceModel.PAY_AFTER_USE else "")
    return text + (f" (first {policy.free_uses} uses free)" if policy.free_uses else "")


def _period(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


@dataclass(frozen=True)
class CatalogQuery:
    """What a user asks the catalog for (see the module docstring for the rules)."""

    q: str = ""  # keyword terms: title, description, keywords; or an asset id prefix (0x...)
    kind: str | None = None  # one of KINDS
    provider: str | None = None  # 0x address or did:pkh:eip155:<chain>:<address>
    purpose: str | None = None  # an allowed purpose (unrestricted policies allow every purpose)
    jurisdiction: str | None = None  # an allowed consumer jurisdiction (ISO 3166-1 alpha-2)
    price_model: str | None = None  # one of PRICE_MODELS
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE  # 1..MAX_PER_PAGE
    include_inactive: bool = False  # not a URL parameter: for auditors' catalogs

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> "CatalogQuery":
        """Parse and check URL query parameters; InvalidQuery names the parameter and what it accepts.

        Exactly what the OpenAPI description of ``GET /catalog`` declares (``PARAMETER_SCHEMAS``), so a
        client can check a query before sending it: an empty filter means "not given" (an HTML form's
        "any"), ``page`` and ``per_page`` are decimal numbers (not empty), names are exact (lower case);
        only ``jurisdiction`` takes either case."""
        unknown = sorted(set(params) - set(PARAMETERS))
        if unknown:
            raise InvalidQuery(f"unknown parameter {_shown(unknown[0])}: the catalog takes "
                               f"{', '.join(PARAMETERS)}", unknown[0])
        for name, value in params.items():
            if not isinstance(value, str):
                raise InvalidQuery(f"{name} must be a string, not {type(value).__name__}", name)
        given = {k: v for k, v in params.items() if v}
        return cls(
            q=_checked_text(given.get("q", ""), "q"),
            kind=_choice(given.get("kind"), "kind", KINDS),
            provider=_provider(given.get("provider")),
            purpose=_checked_text(given.get("purpose", ""), "purpose") or None,
            jurisdiction=_jurisdiction(given.get("jurisdiction")),
            price_model=_choice(given.get("price_model"), "price_model", PRICE_MODELS),
            page=_number(params.get("page"), "page", 1, MAX_PAGE, 1),
            per_page=_number(params.get("per_page"), "per_page", 1, MAX_PER_PAGE, DEFAULT_PER_PAGE),
        )

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> "CatalogQuery":
        """Like :meth:`from_params` for a query string's (name, value) pairs: a parameter given twice is
        refused (which of two values was meant cannot be told)."""
        given = list(pairs)
        params: dict[str, str] = {}
        for name, value in given:
            if name in params:
                count = sum(1 for n, _ in given if n == name)
                raise InvalidQuery(f"parameter {_shown(name)} is given {count} times: give it once", name)
            params[name] = value
        return cls.from_params(params)

    def terms(self) -> list[str]:
        """The keyword terms, folded as they are compared."""
        return _fold(self.q).split()

    def to_params(self, **changes: Any) -> dict[str, str]:
        """The query as URL parameters (filters that are set, then page and per_page), with ``changes``."""
        values = {name: getattr(self, name) for name in PARAMETERS}
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def _checked_text(value: str, name: str) -> str:
    if len(value) > MAX_TEXT:
        raise InvalidQuery(f"{name} is at most {MAX_TEXT} characters (got {len(value)})", name)
    return value


def _choice(value: str | None, name: str, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise InvalidQuery(f"{name} must be one of {', '.join(allowed)} (got {_shown(value)})", name)
    return value


def _provider(value: str | None) -> str | None:
    if value is None:
        return None
    address = _address_of(value)
    if address is None:
        raise InvalidQuery(f"provider must be a 0x address (40 hex digits) or did:pkh:eip155:<chain id>:<address> "
                           f"(got {_shown(value)})", "provider")
    return address


def _address_of(value: str) -> str | None:
    """The lower-case address of ``0x...`` or ``did:pkh:eip155:<chain>:0x...``, else None."""
    if is_address(value):
        return value.lower()
    found = _DID_PKH.fullmatch(value)
    return found.group(1).lower() if found and is_address(found.group(1)) else None


def _jurisdiction(value: str | None) -> str | None:
    if value is None:
        return None
    if not _JURISDICTION.fullmatch(value):
        raise InvalidQuery(f"jurisdiction must be an ISO 3166-1 alpha-2 code such as DE (got {_shown(value)})",
                           "jurisdiction")
    return value.upper()


def _number(value: str | None, name: str, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    if not _NUMBER.fullmatch(value) or not low <= int(value) <= high:
        raise InvalidQuery(f"{name} must be a whole number from {low} to {high:,} (got {_shown(value)})", name)
    return int(value)


@dataclass(frozen=True)
class CatalogPage:
    """One page of a search: its entries, how many matched in all, and the facet counts."""

    entries: list[CatalogEntry]
    total: int
    page: int
    per_page: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """How many pages the matches fill (0 when nothing matched)."""
        return math.ceil(self.total / self.per_page)


def search(entries: Sequence[CatalogEntry], query: CatalogQuery) -> CatalogPage:
    """The page of ``entries`` that ``query`` asks for, in catalog order, with its facets."""
    tests = _tests(query)
    matched: list[CatalogEntry] = []
    near: dict[str, list[CatalogEntry]] = {name: [] for name in FACETS}  # failing that facet's filter only
    for entry in entries:
        if not (entry.active or query.include_inactive):
            continue
        failed = [name for name, test in tests if not test(entry)] if tests else ()
        if not failed:
            matched.append(entry)
        elif len(failed) == 1 and failed[0] in near:
            near[failed[0]].append(entry)
    matched.sort(key=_ORDER)
    start = (query.page - 1) * query.per_page
    facets = {name: _facet(name, itertools.chain(matched, near[name])) for name in FACETS}
    return CatalogPage(matched[start:start + query.per_page], len(matched), query.page, query.per_page, facets)


_ORDER = operator.attrgetter("_order")


def _facet(name: str, entries: Iterable[CatalogEntry]) -> dict[str, int]:
    """Counts of each value of facet ``name`` among ``entries`` (purpose and jurisdiction: see the rules)."""
    if name not in ("purpose", "jurisdiction"):
        return dict(sorted(Counter(map(operator.attrgetter(name), entries)).items()))
    counts = Counter(itertools.chain.from_iterable(map(operator.attrgetter(f"_{name}_keys"), entries)))
    unrestricted = counts.get(ANY, 0)
    return {k: v + unrestricted if k != ANY else v for k, v in sorted(counts.items())}


def _tests(query: CatalogQuery) -> list[tuple[str, Any]]:
    """(name, predicate) of every filter the query sets (``q`` first: it has no facet)."""
    tests: list[tuple[str, Any]] = []
    words = query.terms()
    if words:
        tests.append(("q", lambda e: e.matches_text(words)))
    if query.kind:
        kind = query.kind
        tests.append(("kind", lambda e: e.kind == kind))
    if query.provider:
        address = _address_of(query.provider) or query.provider.lower()
        tests.append(("provider", lambda e: e.provider.lower() == address))
    if query.purpose:
        purpose = query.purpose
        tests.append(("purpose", lambda e: e.allows_purpose(purpose)))
    if query.jurisdiction:
        code = query.jurisdiction.upper()
        tests.append(("jurisdiction", lambda e: e.allows_jurisdiction(code)))
    if query.price_model:
        model = query.price_model
        tests.append(("price_model", lambda e: e.price_model == model))
    return tests
