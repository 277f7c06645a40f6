"""domain.search: keyword, filters (the "no purpose listed = any purpose" rule), facets, order, paging and
the parameter checks a URL query goes through."""

from __future__ import annotations

import dataclasses
import time

import pytest

from domain.errors import DomainError, InvalidQuery
from domain.search import (
    ANY,
    KINDS,
    MAX_PER_PAGE,
    PRICE_MODELS,
    CatalogEntry,
    CatalogQuery,
    price_in_words,
    search,
)
from domain.types import Asset, Policy, PriceModel

ALICE = "0x" + "a1" * 20
BOB = "0xB0b0000000000000000000000000000000000B0b"
T0 = 1_800_000_000


def entry(n: int, **kw: object) -> CatalogEntry:
    values: dict[str, object] = dict(
        asset_id="0x" + f"{n:064x}", kind="dataset", title=f"asset {n}", description="", provider=ALICE,
        keywords=(), purposes=(), jurisdictions=(), price_model="free", price="free", compute_only=False,
        active=True, registered_at=T0 + n)
    values.update(kw)
    return CatalogEntry(**values)  # type: ignore[arg-type]


def ids(page: object) -> list[str]:
    return [e.asset_id[-2:] for e in page.entries]  # type: ignore[attr-defined]


@pytest.fixture
def shelf() -> list[CatalogEntry]:
    """Six entries: kinds, purposes, jurisdictions, price models and two providers to filter on."""
    return [
        entry(1, title="Weather Berlin", keywords=("climate", "Straße"), purposes=("research",),
              jurisdictions=("DE",), price_model="prepaid", price="7 per use"),
        entry(2, title="Credit API", kind="service", purposes=("commercial",), price_model="pay-after-use"),
        entry(3, title="Mean income", kind="algorithm", price_model="none", price="not offered"),
        entry(4, title="Weather Paris", description="daily WEATHER in France", jurisdictions=("FR", "DE"),
              provider=BOB, price_model="subscription"),
        entry(5, title="Traffic", purposes=("research", "commercial"), compute_only=True),
        entry(6, title="Old weather", active=False),
    ]


# ---- order and paging ---------------------------------------------------------------------------------


def test_newest_first_then_asset_id_and_unknown_times_last() -> None:
    rows = [entry(1), entry(2), entry(3, registered_at=None), entry(9, registered_at=T0 + 2), entry(4)]
    assert ids(search(rows, CatalogQuery())) == ["04", "02", "09", "01", "03"]


def test_registrations_in_one_second_are_ordered_by_block() -> None:
    rows = [entry(1, registered_block=7), entry(2, registered_at=T0 + 1, registered_block=9),
            entry(3, registered_at=T0 + 1, registered_block=8), entry(4, registered_at=T0 + 1)]
    assert ids(search(rows, CatalogQuery())) == ["02", "03", "01", "04"]


def test_inactive_entries_are_left_out_unless_asked_for(shelf: list[CatalogEntry]) -> None:
    assert "06" not in ids(search(shelf, CatalogQuery()))
    assert "06" in ids(search(shelf, CatalogQuery(include_inactive=True)))


@pytest.mark.parametrize(("page", "per_page", "expected", "pages"), [
    (1, 2, ["05", "04"], 3), (3, 2, ["01"], 3), (4, 2, [], 3), (1, 100, ["05", "04", "03", "02", "01"], 1),
    (1, 5, ["05", "04", "03", "02", "01"], 1), (2, 5, [], 1), (1, 1, ["05"], 5), (5, 1, ["01"], 5),
])
def test_paging_edges(shelf: list[CatalogEntry], page: int, per_page: int, expected: list[str], pages: int) -> None:
    result = search(shelf, CatalogQuery(page=page, per_page=per_page))
    assert ids(result) == expected and result.total == 5 and result.pages == pages
    assert (result.page, result.per_page) == (page, per_page)


def test_nothing_matching_is_an_empty_page_of_zero_pages(shelf: list[CatalogEntry]) -> None:
    result = search(shelf, CatalogQuery(q="no such thing"))
    assert result.entries == [] and result.total == 0 and result.pages == 0
    assert search([], CatalogQuery()).total == 0


# ---- keyword ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("q", "expected"), [
    ("weather", ["04", "01"]),  # title, any case
    ("WEATHER", ["04", "01"]),
    ("france", ["04"]),  # description
    ("climate", ["01"]),  # keyword
    ("weather paris", ["04"]),  # every term must match
    ("weather  tokyo", []),
    ("strasse", ["01"]),  # case folding: ß
    ("ＷＥＡＴＨＥＲ", ["04", "01"]),  # NFKC: full-width letters
    ("0x" + "0" * 63 + "2", ["02"]),  # a whole asset id
    ("0x00000", ["05", "04", "03", "02", "01"]),  # an id prefix
    ("0X" + "0" * 63 + "3", ["03"]),
    ("0xffff", []),
    (".*", []), ("%", []), ("' OR 1=1 --", []), ("[a-z]+", []), ("\\", []),  # plain text, no pattern syntax
])
def test_keyword(shelf: list[CatalogEntry], q: str, expected: list[str]) -> None:
    assert ids(search(shelf, CatalogQuery(q=q))) == expected


# ---- filters ------------------------------------------------------------------------------------------


def test_kind_provider_price_model(shelf: list[CatalogEntry]) -> None:
    assert ids(search(shelf, CatalogQuery(kind="service"))) == ["02"]
    assert ids(search(shelf, CatalogQuery(kind="algorithm"))) == ["03"]
    assert ids(search(shelf, CatalogQuery(provider=BOB.lower()))) == ["04"]
    assert ids(search(shelf, CatalogQuery(provider=f"did:pkh:eip155:31337:{BOB.upper()[2:].join(['0x', ''])}"))) \
        == ["04"]
    assert ids(search(shelf, CatalogQuery(price_model="prepaid"))) == ["01"]
    assert ids(search(shelf, CatalogQuery(price_model="none"))) == ["03"]


def test_no_purpose_listed_means_any_purpose(shelf: list[CatalogEntry]) -> None:
    """research: those naming it (1, 5) and those restricting no purpose (4); never the one with no policy (3)."""
    assert ids(search(shelf, CatalogQuery(purpose="research"))) == ["05", "04", "01"]
    assert ids(search(shelf, CatalogQuery(purpose="commercial"))) == ["05", "04", "02"]
    assert ids(search(shelf, CatalogQuery(purpose="marketing"))) == ["04"]  # only the unrestricted one
    assert ids(search(shelf, CatalogQuery(purpose="Research"))) == ["04"]  # exact, as isPurposeAllowed


def test_no_jurisdiction_listed_means_any_jurisdiction(shelf: list[CatalogEntry]) -> None:
    assert ids(search(shelf, CatalogQuery(jurisdiction="DE"))) == ["05", "04", "02", "01"]
    assert ids(search(shelf, CatalogQuery(jurisdiction="fr"))) == ["05", "04", "02"]
    assert ids(search(shelf, CatalogQuery(jurisdiction="JP"))) == ["05", "02"]


def test_filters_combine(shelf: list[CatalogEntry]) -> None:
    assert ids(search(shelf, CatalogQuery(q="weather", purpose="research", jurisdiction="DE"))) == ["04", "01"]
    assert ids(search(shelf, CatalogQuery(q="weather", kind="dataset", jurisdiction="FR"))) == ["04"]
    assert ids(search(shelf, CatalogQuery(kind="service", price_model="free"))) == []


# ---- facets -------------------------------------------------------------------------------------------


def test_facets_count_every_value_without_filters(shelf: list[CatalogEntry]) -> None:
    facets = search(shelf, CatalogQuery()).facets
    assert facets["kind"] == {"algorithm": 1, "dataset": 3, "service": 1}
    assert facets["price_model"] == {"free": 1, "none": 1, "pay-after-use": 1, "prepaid": 1, "subscription": 1}
    assert facets["provider"] == {ALICE: 4, BOB: 1}
    # a value's count is what filtering for it lists: naming policies plus the unrestricted ones (ANY)
    assert facets["purpose"] == {ANY: 1, "commercial": 3, "research": 3}
    assert facets["jurisdiction"] == {ANY: 2, "DE": 4, "FR": 3}


def test_a_facet_ignores_its_own_filter_and_honours_the_others(shelf: list[CatalogEntry]) -> None:
    facets = search(shelf, CatalogQuery(kind="dataset", purpose="research")).facets
    assert facets["kind"] == {"dataset": 3}  # 2 (commercial only) and 3 (no policy) fail the purpose filter
    assert facets["purpose"] == {ANY: 1, "commercial": 2, "research": 3}  # among the datasets
    assert facets["price_model"] == {"free": 1, "prepaid": 1, "subscription": 1}
    facets = search(shelf, CatalogQuery(q="weather")).facets
    assert facets["kind"] == {"dataset": 2} and facets["provider"] == {ALICE: 1, BOB: 1}


def test_facet_counts_equal_what_the_filter_then_lists(shelf: list[CatalogEntry]) -> None:
    base = CatalogQuery(jurisdiction="DE")
    facets = search(shelf, base).facets
    for name in ("kind", "purpose", "price_model"):
        for value, count in facets[name].items():
            if value != ANY:
                assert search(shelf, dataclasses.replace(base, **{name: value})).total == count, (name, value)


# ---- entries ------------------------------------------------------------------------------------------


def test_an_entry_from_an_asset_its_policy_and_metadata() -> None:
    asset = Asset("0x" + "ab" * 32, ALICE, 10, 2, True, "0x" + "00" * 32, "u", (), (), (), "0x" + "cd" * 32, "0x", 5)
    policy = Policy(price_per_access=10, price_model=PriceModel.PREPAID, purposes=("research",), jurisdictions=("de",),
                    compute_only=True, free_uses=2)
    e = CatalogEntry.of(asset, policy, {"title": "T", "description": "D", "keywords": ["k", 3]}, "dataset", T0)
    assert (e.title, e.description, e.keywords, e.purposes, e.jurisdictions) == ("T", "D", ("k",), ("research",),
                                                                               ("DE",))
    assert (e.price_model, e.price, e.compute_only, e.version, e.registered_at) == ("prepaid",
                                                                                  "10 per use (first 2 uses free)",
                                                                                  True, 2, T0)
    bare = CatalogEntry.of(asset, None, None, "algorithm", None)
    assert (bare.title, bare.price_model, bare.price, bare.offered) == (asset.asset_id, "none", "not offered", False)
    assert bare.to_json()["keywords"] == [] and set(bare.to_json()) >= {"asset_id", "price", "registered_at"}


@pytest.mark.parametrize(("policy", "words"), [
    (None, "not offered"), (Policy(), "free"),
    (Policy(price_per_access=10, price_model=PriceModel.PREPAID), "10 per use"),
    (Policy(price_per_access=3, price_model=PriceModel.PAY_AFTER_USE, free_uses=1),
     "3 per use, paid after use (first 1 uses free)"),
    (Policy(price_per_access=30, price_model=PriceModel.SUBSCRIPTION, period=30 * 86_400), "30 per 30 d"),
    (Policy(price_per_access=30, price_model=PriceModel.SUBSCRIPTION, period=90), "30 per 90 s"),
])
def test_price_in_words(policy: Policy | None, words: str) -> None:
    assert price_in_words(policy) == words


# ---- parameters -----------------------------------------------------------------------------------------


def test_parameters_parse_and_normalise() -> None:
    query = CatalogQuery.from_params({"q": " weather ", "kind": "dataset", "provider": f"did:pkh:eip155:1:{BOB}",
                                      "purpose": "research", "jurisdiction": "de", "price_model": "pay-after-use",
                                      "page": "3", "per_page": "100"})
    assert query == CatalogQuery(" weather ", "dataset", BOB.lower(), "research", "DE", "pay-after-use", 3, 100)
    assert query.terms() == ["weather"]
    assert CatalogQuery.from_params({}) == CatalogQuery() and CatalogQuery().per_page == 20
    empty_form = {"q": "", "kind": "", "provider": "", "purpose": "", "jurisdiction": "", "price_model": ""}
    assert CatalogQuery.from_params(empty_form) == CatalogQuery()  # an HTML form's "any"
    assert set(PRICE_MODELS) == {"free", "prepaid", "pay-after-use", "subscription", "none"}
    assert query.to_params(page=4) == {"q": " weather ", "kind": "dataset", "provider": BOB.lower(),
                                       "purpose": "research", "jurisdiction": "DE", "price_model": "pay-after-use",
                                       "page": "4", "per_page": "100"}


@pytest.mark.parametrize(("params", "parameter", "says"), [
    ({"page": "0"}, "page", "page must be a whole number from 1 to 1,000,000"),
    ({"page": "-1"}, "page", "from 1"), ({"page": "1.5"}, "page", "whole number"), ({"page": "x"}, "page", "'x'"),
    ({"page": "1000001"}, "page", "1,000,000"), ({"page": "9" * 5000}, "page", "whole number"),
    ({"page": "١"}, "page", "whole number"),  # a non-ASCII digit int() would take
    ({"per_page": "0"}, "per_page", "per_page must be a whole number from 1 to 100"),
    ({"per_page": "101"}, "per_page", "to 100"), ({"per_page": "1000000"}, "per_page", "to 100"),
    ({"kind": "table"}, "kind", "kind must be one of dataset, service, algorithm"),
    ({"kind": "Dataset"}, "kind", "(got 'Dataset')"), ({"kind": " dataset"}, "kind", "one of"),
    ({"price_model": "PAY_AFTER_USE"}, "price_model", "pay-after-use"),
    ({"page": ""}, "page", "whole number"), ({"page": " 2"}, "page", "whole number"),
    ({"per_page": ""}, "per_page", "whole number"), ({"provider": " " + BOB}, "provider", "0x address"),
    ({"q": " " * 201}, "q", "at most 200 characters"),
    ({"price_model": "cheap"}, "price_model", "free, prepaid, pay-after-use, subscription, none"),
    ({"jurisdiction": "DEU"}, "jurisdiction", "ISO 3166-1 alpha-2"), ({"jurisdiction": "D1"}, "jurisdiction", "DE"),
    ({"provider": "alice"}, "provider", "0x address (40 hex digits) or did:pkh:eip155"),
    ({"provider": "0x" + "1" * 39}, "provider", "did:pkh"), ({"provider": "did:pkh:eip155:x:" + BOB}, "provider", "0x"),
    ({"q": "w" * 10_240}, "q", "q is at most 200 characters (got 10240)"),
    ({"purpose": "p" * 201}, "purpose", "at most 200"),
    ({"sort": "title"}, "sort", "unknown parameter 'sort': the catalog takes q, kind, provider, purpose"),
])
def test_bad_parameters_name_the_parameter_and_what_it_takes(params: dict[str, str], parameter: str,
                                                             says: str) -> None:
    with pytest.raises(InvalidQuery) as caught:
        CatalogQuery.from_params(params)
    assert caught.value.parameter == parameter and says in str(caught.value)
    assert isinstance(caught.value, DomainError) and isinstance(caught.value, ValueError)
    assert len(str(caught.value)) < 300  # a 10 KB value is not echoed back


def test_the_openapi_schemas_say_what_the_parser_takes() -> None:
    """Every value the schemas allow parses; values just outside them do not (a client can check first)."""
    import re

    from domain.search import PARAMETER_SCHEMAS, PARAMETERS

    assert set(PARAMETER_SCHEMAS) == set(PARAMETERS)
    for name, schema in PARAMETER_SCHEMAS.items():
        for value in schema.get("enum", []):
            CatalogQuery.from_params({name: value})
        if "pattern" in schema:
            for value in ("", "DE", BOB, f"did:pkh:eip155:5:{BOB}", "xx", "D", "0x1"):
                fits = re.fullmatch(schema["pattern"].strip("^$"), value) is not None
                try:
                    CatalogQuery.from_params({name: value})
                    parsed = True
                except InvalidQuery:
                    parsed = False
                assert parsed == fits, (name, value)
        if schema["type"] == "integer":
            for value, fits in ((schema["minimum"], True), (schema["maximum"], True), (schema["minimum"] - 1, False),
                                (schema["maximum"] + 1, False)):
                try:
                    CatalogQuery.from_params({name: str(value)})
                    parsed = True
                except InvalidQuery:
                    parsed = False
                assert parsed == fits, (name, value)


def test_a_repeated_parameter_is_refused() -> None:
    with pytest.raises(InvalidQuery, match="parameter 'page' is given 3 times: give it once") as caught:
        CatalogQuery.from_pairs([("page", "1"), ("kind", "dataset"), ("page", "2"), ("page", "1")])
    assert caught.value.parameter == "page"
    assert CatalogQuery.from_pairs([("page", "2"), ("q", "x")]) == CatalogQuery(q="x", page=2)


def test_many_repeated_parameters_are_refused_quickly() -> None:
    pairs = [("q", "x")] * 5000
    started = time.perf_counter()
    with pytest.raises(InvalidQuery, match="5000 times"):
        CatalogQuery.from_pairs(pairs)
    assert time.perf_counter() - started < 0.1


def test_ten_thousand_entries_search_quickly() -> None:
    rows = [entry(n, kind=KINDS[n % 3], purposes=(("research",), (), ("commercial",))[n % 3],
                  title=f"asset {n} weather" if n % 7 == 0 else f"asset {n}") for n in range(10_000)]
    for query in (CatalogQuery(), CatalogQuery(q="weather", purpose="research"),
                  CatalogQuery(per_page=MAX_PER_PAGE, page=100), CatalogQuery(q="x" * 200)):
        started = time.perf_counter()
        search(rows, query)
        assert time.perf_counter() - started < 0.25, query  # ~15 ms on one core; generous for loaded CI
