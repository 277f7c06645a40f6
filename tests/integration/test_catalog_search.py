"""GET /catalog searched, filtered and paged over real HTTP against a real gateway and anvil.

A handful of assets of every kind and several policies; what must hold: each filter lists what a user
expects (a policy listing no purpose allows every purpose), the Hydra links walk every page in
catalog order and carry the filters, each item is the node the chain's own reads give (as GET
/catalog always wrote it), changes on-chain (a new policy, a deactivation, a new asset) show at the
next block without the index being rebuilt, and the SDK's catalog() still returns everything.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.types import Policy, PriceModel, did_pkh
from gateway import catalog as dcat
from gateway.jobs import register_algorithm
from gateway.service import register_asset, register_service, set_policy
from services.registry import ServiceConfig
from tests.integration.gateway_fixtures import GatewayEnv, gw_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _get(env: GatewayEnv, **params: Any) -> dict[str, Any]:
    resp = httpx.get(env.url + "/catalog", params=params)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/ld+json")
    return dict(resp.json())


def _ids(doc: dict[str, Any]) -> set[str]:
    return {n["dct:identifier"] for key in ("dcat:dataset", "dcat:service") for n in doc[key]}


@pytest.fixture(scope="module")
def shelf(gw_env: GatewayEnv) -> dict[str, str]:  # noqa: F811
    """weather (research, DE, prepaid) and its version 2, traffic (free, any purpose and place), model
    (compute-only, FR, subscription), a credit API service (commercial, pay after use), an algorithm (no
    policy), a retired dataset (deactivated)."""
    gw, home = gw_env.gateway, gw_env.home

    def file(name: str, data: bytes) -> Path:
        path = home / name
        path.write_bytes(data)
        return path

    prepaid = Policy(price_per_access=7, price_model=PriceModel.PREPAID, purposes=("research",), jurisdictions=("DE",))
    made = {"weather": register_asset(gw, file("weather.csv", b"t\n" + os.urandom(16).hex().encode()), prepaid,
                                      title="Weather Berlin", description="hourly temperatures").asset_id}
    made["traffic"] = register_asset(gw, file("traffic.csv", os.urandom(64)), Policy(), title="Traffic counts").asset_id
    made["model"] = register_asset(gw, file("model.bin", os.urandom(64)), Policy(
        compute_only=True, jurisdictions=("FR",), price_per_access=30, price_model=PriceModel.SUBSCRIPTION,
        period=30 * 86_400), title="Income model").asset_id
    description = json.loads((ROOT / "examples" / "credit-api.openapi.json").read_text())
    description["info"]["version"] = "9.9." + os.urandom(2).hex()
    made["credit"] = register_service(
        gw, file("credit.json", json.dumps(description).encode()),
        ServiceConfig(backend="http://127.0.0.1:9/", secret="00" * 16, rate="60/minute"),
        Policy(purposes=("commercial",), price_per_access=3, price_model=PriceModel.PAY_AFTER_USE),
        title="Credit API").asset_id
    algorithm = home / "mean"
    algorithm.mkdir()
    (algorithm / "main.py").write_text(f"print('mean')  # {os.urandom(4).hex()}\n")
    (algorithm / "tds-algorithm.json").write_text(json.dumps({
        "name": "Mean income", "entry": "main.py", "output": {"kind": "json", "max_bytes": 1024},
        "resources": {"cpu_s": 5, "wall_s": 10, "memory_mb": 256, "pids": 16}}))
    made["mean"] = register_algorithm(gw, algorithm)[0].asset_id
    made["v2"] = register_asset(gw, file("weather2.csv", b"t\n" + os.urandom(16).hex().encode()), prepaid,
                                title="Weather Berlin v2", description="hourly temperatures",
                                previous_version=made["weather"]).asset_id
    made["retired"] = register_asset(gw, file("old.csv", os.urandom(32)), Policy(), title="Retired").asset_id
    gw.assets_tx().deactivate(made["retired"])
    time.sleep(0.3)  # a change on-chain only (no file here moved) shows once the head includes it (<= 0.2 s)
    return made


NEWEST_FIRST = ["v2", "mean", "credit", "model", "traffic", "weather"]


def test_the_default_page_lists_every_active_asset_newest_first(gw_env: GatewayEnv,  # noqa: F811
                                                                shelf: dict[str, str]) -> None:
    doc = _get(gw_env)
    assert doc["@type"] == "dcat:Catalog" and doc["@id"] == f"{gw_env.gateway.settings.base_url}/catalog"
    assert doc["hydra:totalItems"] == 6
    assert [n["dct:identifier"] for n in doc["dcat:dataset"]] == [shelf[k] for k in NEWEST_FIRST if k != "credit"]
    assert [n["dct:identifier"] for n in doc["dcat:service"]] == [shelf["credit"]]
    view = doc["hydra:view"]
    assert view["@type"] == "hydra:PartialCollectionView" and "hydra:next" not in view
    assert "hydra:previous" not in view and view["hydra:first"] == view["hydra:last"] == view["@id"]
    assert view["@id"].endswith("/catalog?page=1&per_page=20")
    assert doc["tds:facets"]["kind"] == {"algorithm": 1, "dataset": 4, "service": 1}
    assert doc["tds:facets"]["price_model"] == {"none": 1, "free": 1, "pay-after-use": 1, "prepaid": 2,
                                                "subscription": 1}


def test_each_item_is_the_node_the_chain_reads_give(gw_env: GatewayEnv, shelf: dict[str, str]) -> None:  # noqa: F811
    """The index replays events; its nodes equal those built from AssetRegistry/UsageGrants reads."""
    gw = gw_env.gateway
    doc = _get(gw_env)
    for node in doc["dcat:dataset"]:
        aid = node["dct:identifier"]
        expected = dcat.dataset(gw.view.assets.get(aid), gw.view.grants.get_policy(aid), gw.metadata.get(aid),
                                gw.chain_id, gw.settings.base_url)
        if aid == shelf["weather"]:
            expected["dct:hasVersion"] = [f"urn:tds:asset:{shelf['v2']}"]
        assert node == expected
    (service,) = doc["dcat:service"]
    aid = shelf["credit"]
    assert service == dcat.data_service(gw.view.assets.get(aid), gw.view.grants.get_policy(aid), gw.metadata.get(aid),
                                        gw.chain_id, gw.settings.base_url, "60/minute")


@pytest.mark.parametrize(("params", "expected"), [
    ({"kind": "service"}, {"credit"}),
    ({"kind": "algorithm"}, {"mean"}),
    ({"kind": "dataset"}, {"weather", "v2", "traffic", "model"}),
    # a policy listing no purpose allows every purpose; the algorithm has no policy: it allows none
    ({"purpose": "research"}, {"weather", "v2", "traffic", "model"}),
    ({"purpose": "commercial"}, {"credit", "traffic", "model"}),
    ({"jurisdiction": "fr"}, {"traffic", "model", "credit"}),
    ({"jurisdiction": "DE", "purpose": "research"}, {"weather", "v2", "traffic"}),
    ({"price_model": "prepaid"}, {"weather", "v2"}),
    ({"price_model": "none"}, {"mean"}),
    ({"q": "weather"}, {"weather", "v2"}),
    ({"q": "TEMPERATURES"}, {"weather", "v2"}),  # the description, any case
    ({"q": "income"}, {"model", "mean"}),
    ({"q": "weather v2"}, {"v2"}),  # every term
    ({"q": "retired"}, set()),  # deactivated: not listed
    ({"q": "nothing like it", "kind": ""}, set()),
])
def test_filters(gw_env: GatewayEnv, shelf: dict[str, str], params: dict[str, str],  # noqa: F811
                 expected: set[str]) -> None:
    doc = _get(gw_env, **params)
    assert _ids(doc) == {shelf[k] for k in expected}
    assert doc["hydra:totalItems"] == len(expected)


def test_an_id_prefix_and_the_provider_filter(gw_env: GatewayEnv, shelf: dict[str, str]) -> None:  # noqa: F811
    assert _ids(_get(gw_env, q=shelf["model"][:12])) == {shelf["model"]}
    gw = gw_env.gateway
    assert len(_ids(_get(gw_env, provider=did_pkh(gw.chain_id, gw.provider_address)))) == 6
    assert len(_ids(_get(gw_env, provider=gw.provider_address.lower()))) == 6
    other = _get(gw_env, provider=gw_env.keystore.address("provider2"))
    assert _ids(other) == set() and other["hydra:totalItems"] == 0 and "hydra:next" not in other["hydra:view"]


def test_hydra_links_walk_every_page_in_order_and_keep_the_filters(gw_env: GatewayEnv,  # noqa: F811
                                                                   shelf: dict[str, str]) -> None:
    first = _get(gw_env, jurisdiction="DE", per_page=1)  # v2, credit (any place), traffic (any), weather
    assert first["hydra:totalItems"] == 4
    seen, doc, pages = [], first, 0
    while True:
        pages += 1
        seen += [n["dct:identifier"] for n in doc["dcat:dataset"] + doc["dcat:service"]]
        view = doc["hydra:view"]
        assert view["@id"].endswith(f"/catalog?jurisdiction=DE&page={pages}&per_page=1")
        assert view["hydra:first"] == first["hydra:view"]["@id"] and view["hydra:last"].endswith("page=4&per_page=1")
        if "hydra:next" not in view:
            break
        doc = httpx.get(view["hydra:next"]).json()
        assert doc["hydra:view"]["hydra:previous"] == view["@id"]
    assert pages == 4 and seen == [shelf[k] for k in ("v2", "credit", "traffic", "weather")]
    past = _get(gw_env, jurisdiction="DE", per_page=1, page=9)
    assert past["dcat:dataset"] == past["dcat:service"] == [] and past["hydra:totalItems"] == 4
    assert past["hydra:view"]["hydra:previous"] == view["@id"] and "hydra:next" not in past["hydra:view"]


def test_versions_link_across_pages(gw_env: GatewayEnv, shelf: dict[str, str]) -> None:  # noqa: F811
    """weather's dct:hasVersion names v2 though v2 is on another page."""
    last = _get(gw_env, kind="dataset", per_page=1, page=4)
    (weather,) = last["dcat:dataset"]
    assert weather["dct:identifier"] == shelf["weather"]
    assert weather["dct:hasVersion"] == [f"urn:tds:asset:{shelf['v2']}"]


@pytest.mark.parametrize(("query", "parameter"), [
    ("per_page=500", "per_page"), ("page=0", "page"), ("kind=table", "kind"), ("jurisdiction=Germany", "jurisdiction"),
    ("sort=title", "sort"), ("page=1&page=2", "page"),
])
def test_bad_parameters_answer_400_naming_them(gw_env: GatewayEnv, query: str, parameter: str) -> None:  # noqa: F811
    resp = httpx.get(f"{gw_env.url}/catalog?{query}")
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "invalid_query" and parameter in error["message"]


def test_the_sdk_reads_every_page_and_searches(gw_env: GatewayEnv, shelf: dict[str, str]) -> None:  # noqa: F811
    with gw_env.client("consumer") as c:
        whole = c.catalog()
        paged = c.catalog(per_page=2)
        found = c.search_catalog("weather", kind="dataset", per_page=1)
    active = {v for k, v in shelf.items() if k != "retired"}
    assert _ids(whole) == _ids(paged) == active and "hydra:view" not in paged
    assert len(paged["dcat:dataset"]) == 5 and paged["hydra:totalItems"] == 6
    assert found["hydra:totalItems"] == 2 and [n["dct:identifier"] for n in found["dcat:dataset"]] == [shelf["v2"]]


def test_chain_changes_show_at_the_next_block_without_a_rebuild(gw_env: GatewayEnv,  # noqa: F811
                                                               shelf: dict[str, str]) -> None:
    gw = gw_env.gateway
    _get(gw_env)
    rebuilds = gw.catalog_index.stats.rebuilds
    version = gw.catalog_index.at(gw.view.head().number).version
    gw_env.rpc("evm_mine")  # a block that changes nothing in the catalog (an anchoring tx, say)
    time.sleep(0.3)  # the head is read at most head_poll_interval_s (0.2 s) before a catalog request
    _get(gw_env)
    assert gw.catalog_index.at(gw.view.head().number).version == version  # same content, same cached pages

    set_policy(gw, shelf["traffic"], Policy(purposes=("research",), jurisdictions=("NL",)))
    gw.assets_tx().deactivate(shelf["model"])
    fresh = gw_env.new_asset(Policy(purposes=("commercial",)))
    time.sleep(0.3)
    assert _ids(_get(gw_env, purpose="commercial")) == {fresh.asset_id, shelf["credit"]}
    assert _ids(_get(gw_env, jurisdiction="NL")) == {fresh.asset_id, shelf["traffic"], shelf["credit"]}
    newest = _get(gw_env, per_page=1)
    assert [n["dct:identifier"] for n in newest["dcat:dataset"]] == [fresh.asset_id]
    assert newest["hydra:totalItems"] == 6  # model gone, the fresh one in
    assert gw.catalog_index.stats.rebuilds == rebuilds  # incremental: events since the last refresh only


def test_chain_down_then_recovers(gw_env: GatewayEnv, shelf: dict[str, str]) -> None:  # noqa: F811
    before = _ids(_get(gw_env))
    gw_env.devnet.stop()
    try:
        time.sleep(0.3)
        resp = httpx.get(gw_env.url + "/catalog?kind=dataset")
        assert resp.status_code == 503 and resp.json()["error"]["code"] == "chain_unavailable"
    finally:
        gw_env.devnet.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        resp = httpx.get(gw_env.url + "/catalog")
        if resp.status_code == 200:
            break
        time.sleep(0.2)
    assert resp.status_code == 200 and _ids(resp.json()) <= before
