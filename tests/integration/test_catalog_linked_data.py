"""GET /catalog read as linked data (pyld, rdflib, pyshacl), not as JSON.

What must hold: a JSON-LD processor reading a real gateway's catalog gets IRIs (never string literals)
for the ODRL operands (``odrl:count``, ``odrl:dateTime``, ``odrl:purpose``, ``odrl:spatial``,
``odrl:payAmount``), operators, actions and units; ``dcat:mediaType`` is an IANA media type IRI;
``dct:hasVersion``/``dcat:previousVersion`` and the parent links point at the dataset nodes; both
processors read the same graph; and the graph conforms to SHACL shapes for the DCAT 3 / ODRL 2.2
subset TDS emits (tests/integration/data/catalog_shapes.ttl), which a catalog with literal operands
does not.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyld import jsonld
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from domain.types import Policy, PriceModel
from gateway.service import register_asset
from tests.integration.gateway_fixtures import GatewayEnv, gw_env  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
ODRL = Namespace("http://www.w3.org/ns/odrl/2/")
PROV = Namespace("http://www.w3.org/ns/prov#")
TDS = Namespace("https://w3id.org/tds/ns#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
IANA = "https://www.iana.org/assignments/media-types/"
SHAPES = Path(__file__).parent / "data" / "catalog_shapes.ttl"


def _node(asset_id: str) -> URIRef:
    return URIRef(f"urn:tds:asset:{asset_id}")


@pytest.fixture(scope="module")
def assets(gw_env: GatewayEnv) -> dict[str, str]:  # noqa: F811
    """weather.csv (prepaid with a free trial, windowed, purposes, jurisdictions), its version 2, a derived JSON,
    a compute-only blob, a monthly subscription feed."""
    def file(name: str, data: bytes) -> Path:
        path = gw_env.home / name
        path.write_bytes(data)
        return path

    policy = Policy(not_before=1_700_000_000, not_after=4_000_000_000, max_count=5, price_per_access=7,
                    purposes=("research",), jurisdictions=("DE", "FR"), price_model=PriceModel.PREPAID, free_uses=2)
    gw = gw_env.gateway
    weather = register_asset(gw, file("weather.csv", b"day,temp\n" + os.urandom(64).hex().encode()), policy,
                             title="Weather").asset_id
    v2 = register_asset(gw, file("weather-v2.csv", b"day,temp\n" + os.urandom(64).hex().encode()), policy,
                        title="Weather v2", previous_version=weather).asset_id
    derived = register_asset(gw, file("monthly.json", b'{"m":"' + os.urandom(16).hex().encode() + b'"}'),
                             Policy(max_count=2), title="Monthly", parents=(weather,)).asset_id
    blob = register_asset(gw, file("model.bin", os.urandom(256)), Policy(compute_only=True),
                          title="Model").asset_id
    monthly = Policy(price_per_access=30, price_model=PriceModel.SUBSCRIPTION, period=30 * 86_400)
    feed = register_asset(gw, file("feed.csv", b"t,v\n" + os.urandom(32).hex().encode()), monthly,
                          title="Feed").asset_id
    return {"weather": weather, "v2": v2, "derived": derived, "blob": blob, "feed": feed}


@pytest.fixture(scope="module")
def doc(gw_env: GatewayEnv, assets: dict[str, str]) -> dict[str, Any]:  # noqa: F811
    resp = httpx.get(gw_env.url + "/catalog")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/ld+json")
    body = resp.json()
    assert set(assets.values()) <= {d["dct:identifier"] for d in body["dcat:dataset"]}
    return body


def _graph(document: dict[str, Any]) -> Graph:
    """The document's triples as pyld converts them."""
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads"})
    return Graph().parse(data=nquads, format="nquads")


def test_operands_operators_actions_units_are_iris(doc: dict[str, Any], assets: dict[str, str]) -> None:
    g = _graph(doc)
    lefts = set(g.objects(None, ODRL.leftOperand))
    assert lefts == {ODRL.dateTime, ODRL["count"], ODRL.purpose, ODRL.spatial, ODRL.payAmount}
    assert all(isinstance(x, URIRef) for x in lefts)
    assert {*g.objects(None, ODRL.operator)} == {ODRL.gteq, ODRL.lt, ODRL.lteq, ODRL.isAnyOf, ODRL.eq}
    assert set(g.objects(None, ODRL.unit)) == {TDS.SettlementToken}
    assert {ODRL.use, URIRef(TDS + "compute"), ODRL.compensate, ODRL.reproduce} <= set(g.objects(None, ODRL.action))
    uids = set(g.objects(None, ODRL.uid))
    assert uids and all(isinstance(u, URIRef) for u in uids)
    # the price is a typed number beside its unit, the count an integer, the window xsd:dateTime
    pay = next(c for c in g.subjects(ODRL.leftOperand, ODRL.payAmount))
    assert g.value(pay, ODRL.rightOperand) == Literal("7", datatype=XSD.decimal)
    assert g.value(pay, ODRL.unit) == TDS.SettlementToken
    count = next(c for c in g.subjects(ODRL.leftOperand, ODRL["count"]) if g.value(c, ODRL.rightOperand).value == 5)
    assert g.value(count, ODRL.rightOperand).datatype == XSD.integer
    windows = {g.value(c, ODRL.rightOperand) for c in g.subjects(ODRL.leftOperand, ODRL.dateTime)}
    assert Literal("2096-10-02T07:06:40Z", datatype=XSD.dateTime) in windows
    offer = g.value(_node(assets["weather"]), ODRL.hasPolicy)
    assert (offer, RDF.type, ODRL.Offer) in g and isinstance(g.value(offer, ODRL.assigner), URIRef)


def test_offers_state_how_they_are_paid(doc: dict[str, Any], assets: dict[str, str]) -> None:
    """The compensate duty names the price model, the free trial and a subscription's period (also an
    xsd:duration); a free offer has no duty."""
    g = _graph(doc)

    def duty(asset_id: str) -> Any:
        offer = g.value(_node(asset_id), ODRL.hasPolicy)
        return g.value(g.value(offer, ODRL.permission), ODRL.duty)

    weather, feed = duty(assets["weather"]), duty(assets["feed"])
    assert (weather, ODRL.action, ODRL.compensate) in g
    assert g.value(weather, TDS.priceModel) == Literal("prepaid") and g.value(weather, TDS.freeUses).value == 2
    assert g.value(weather, TDS.period) is None
    assert g.value(feed, TDS.priceModel) == Literal("subscription") and g.value(feed, TDS.freeUses) is None
    assert g.value(feed, TDS.period).value == 30 * 86_400
    assert g.value(feed, TDS.periodDuration) == Literal("P30D", datatype=XSD.duration)
    assert duty(assets["derived"]) is None  # free
    datasets = {d["dct:identifier"]: d for d in doc["dcat:dataset"]}
    offered = datasets[assets["weather"]]["odrl:hasPolicy"][0]
    assert offered["odrl:uid"].endswith(":1")  # the epoch a consumer's request agrees to


def test_media_types_are_iana_iris(doc: dict[str, Any], assets: dict[str, str]) -> None:
    g = _graph(doc)

    def media(asset_id: str) -> Any:
        (dist,) = g.objects(_node(asset_id), DCAT.distribution)
        return g.value(dist, DCAT.mediaType)

    assert media(assets["weather"]) == URIRef(IANA + "text/csv")
    assert media(assets["derived"]) == URIRef(IANA + "application/json")
    assert media(assets["blob"]) == URIRef(IANA + "application/octet-stream")
    assert all(isinstance(m, URIRef) and str(m).startswith(IANA) for m in g.objects(None, DCAT.mediaType))


def test_versions_and_parents_link_dataset_nodes(doc: dict[str, Any], assets: dict[str, str]) -> None:
    g = _graph(doc)
    weather, v2, derived = (_node(assets[k]) for k in ("weather", "v2", "derived"))
    assert set(g.objects(weather, DCT.hasVersion)) == {v2}
    assert g.value(v2, DCAT.previousVersion) == weather and g.value(v2, DCT.replaces) == weather
    assert g.value(v2, DCAT.version) == Literal("2") and g.value(weather, DCAT.version) == Literal("1")
    assert set(g.objects(derived, PROV.wasDerivedFrom)) == {weather}
    assert set(g.objects(derived, TDS.parents)) == {weather}
    for target in (weather, v2):  # the links land on nodes described in the same catalog
        assert (target, RDF.type, DCAT.Dataset) in g
    assert all(isinstance(o, URIRef) for p in (DCT.hasVersion, TDS.parents, PROV.wasDerivedFrom)
               for o in g.objects(None, p))


def test_pyld_and_rdflib_read_the_same_graph(doc: dict[str, Any], gw_env: GatewayEnv,  # noqa: F811
                                             assets: dict[str, str]) -> None:
    native = Graph().parse(data=json.dumps(doc), format="json-ld")
    assert isomorphic(native, _graph(doc))
    one = httpx.get(f"{gw_env.url}/assets/{assets['v2']}").json()  # a single dataset reads the same way
    g = _graph(one)
    assert g.value(_node(assets["v2"]), DCAT.previousVersion) == _node(assets["weather"])
    assert set(g.objects(None, ODRL.leftOperand)) >= {ODRL["count"], ODRL.payAmount}


def test_catalog_conforms_to_the_shapes(doc: dict[str, Any]) -> None:
    shapes = Graph().parse(SHAPES, format="turtle")
    conforms, _, text = validate(_graph(doc), shacl_graph=shapes, inference="none")
    assert conforms, text


def test_the_shapes_reject_literal_operands_and_media_types(doc: dict[str, Any]) -> None:
    """The old catalog (operands, units and media types as plain strings) does not conform."""
    untyped = {k: v for k, v in doc["@context"].items() if not isinstance(v, dict)}
    old = json.loads(json.dumps({**doc, "@context": untyped}).replace(
        "https://www.iana.org/assignments/media-types/", ""))
    shapes = Graph().parse(SHAPES, format="turtle")
    conforms, report, _ = validate(_graph(old), shacl_graph=shapes, inference="none")
    assert not conforms
    failing = {str(p) for p in report.objects(None, URIRef("http://www.w3.org/ns/shacl#resultPath"))}
    assert {str(ODRL.leftOperand), str(ODRL.unit), str(DCAT.mediaType)} <= failing
