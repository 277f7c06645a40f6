"""gateway.catalog_index over a scripted chain (a LogSource double) and real local stores: it replays the
five catalog events incrementally, keeps its snapshot (and cached pages) across blocks that change
nothing, rebuilds when the chain went back, fails closed when the node fails, and picks up what the
gateway writes beside the chain (metadata after the receipt, a file removed)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chain.errors import ChainError, ChainUnavailable
from chain.logs import BlockRef, ChainEvent
from domain.search import CatalogQuery
from gateway import catalog_index
from gateway.catalog_index import CatalogIndex
from gateway.registration import MetadataStore
from services.description import ServiceDescription
from services.registry import ServiceConfig, ServiceRegistry

ME = "0x" + "a1" * 20
OTHER = "0x" + "b2" * 20
T0 = 1_800_000_000


def aid(n: int) -> str:
    return "0x" + f"{n:064x}"


@dataclass
class Chain:
    """A scripted chain: events by block, block hashes that change when it is 'rewound'."""

    events: list[ChainEvent] = field(default_factory=list)
    height: int = 10
    fork: str = "a"
    fail: bool = False
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    start_block: int = 1

    def head(self) -> int:
        self._called("head")
        return self.height

    def blocks(self, numbers: list[int]) -> dict[int, BlockRef]:
        self._called("blocks", tuple(numbers))
        return {n: BlockRef(n, f"0x{self.fork}{n}", T0 + n) for n in numbers if n <= self.height}

    def events_of(self, from_block: int, to_block: int) -> list[ChainEvent]:
        return [e for e in self.events if from_block <= e.block_number <= to_block]

    def identity(self) -> dict[str, str]:
        return {}

    def _called(self, *what: Any) -> None:
        if self.fail:
            raise ChainError("connection refused")
        self.calls.append(what)

    def add(self, name: str, asset: int, contract: str = "AssetRegistry", **args: Any) -> None:
        self.height += 1
        self.events.append(ChainEvent(self.height, f"0x{self.fork}{self.height}", "0x" + f"{self.height:064x}", 0,
                                      contract, name, {"assetId": aid(asset), **args}))

    def register(self, asset: int, provider: str = ME) -> None:
        self.add("AssetRegistered", asset, provider=provider, size=10, metadataHash="0x" + "00" * 32,
                 metadataURI=f"http://gw/assets/{aid(asset)}", parents=[], owners=[], sharesBps=[])

    def policy(self, asset: int, epoch: int = 1, purposes: tuple[str, ...] = (), jurisdictions: tuple[str, ...] = (),
               model: int = 0, price: int = 0) -> None:
        self.add("PolicySet", asset, "UsageGrants", epoch=epoch, notBefore=0, notAfter=0, maxCount=0,
                 pricePerAccess=price, computeOnly=False, autoApprove=True, purposes=list(purposes),
                 jurisdictions=["0x" + j.encode().hex() for j in jurisdictions])
        self.events.append(ChainEvent(self.height, f"0x{self.fork}{self.height}", "0x00", 1, "UsageGrants",
                                      "PricingSet", {"assetId": aid(asset), "epoch": epoch, "priceModel": model,
                                                     "freeUses": 0, "period": 0}))


class Source:
    """The LogSource the index reads (events() of the scripted chain, counted)."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.start_block = chain.start_block

    def head(self) -> int:
        return self.chain.head()

    def blocks(self, numbers: list[int]) -> dict[int, BlockRef]:
        return self.chain.blocks(numbers)

    def events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        self.chain._called("events", from_block, to_block)
        return self.chain.events_of(from_block, to_block)

    def identity(self) -> dict[str, str]:
        return {}


class Store:
    """Stored files as marker files (what EncryptedStore.has and .root give the index)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()

    def has(self, asset_id: str) -> bool:
        return (self.root / asset_id[2:]).exists()

    def put(self, asset_id: str) -> None:
        (self.root / asset_id[2:]).write_text("x")


@dataclass
class Settings:
    base_url: str = "http://gw"


@dataclass
class Gateway:
    """What the index uses of gateway.service.Gateway."""

    store: Store
    metadata: MetadataStore
    services: ServiceRegistry
    provider_address: str = ME
    chain_id: int = 31337
    settings: Settings = field(default_factory=Settings)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def chain() -> Chain:
    return Chain()


@pytest.fixture
def gw(tmp_path: Path) -> Gateway:
    return Gateway(Store(tmp_path / "store"), MetadataStore(tmp_path / "metadata"), ServiceRegistry(tmp_path))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def index(gw: Gateway, chain: Chain, clock: Clock) -> CatalogIndex:
    return CatalogIndex(gw, Source(chain), clock=clock)  # type: ignore[arg-type]


def dataset(gw: Gateway, chain: Chain, n: int, title: str, **policy: Any) -> None:
    """What register_asset does: store, register, metadata, policy."""
    gw.store.put(aid(n))
    chain.register(n)
    gw.metadata.put(aid(n), {"title": title})
    chain.policy(n, **policy)


def titles(index: CatalogIndex, head: int, **query: Any) -> list[str]:
    return [e.title for e in index.search(head, CatalogQuery(**query))[1].entries]


def test_first_use_replays_every_event_then_only_the_new_blocks(index: CatalogIndex, gw: Gateway,
                                                                 chain: Chain) -> None:
    dataset(gw, chain, 1, "one", purposes=("research",))
    dataset(gw, chain, 2, "two", model=1, price=5)
    chain.register(3, provider=OTHER)  # another provider's asset: not ours to list
    chain.policy(3)
    assert titles(index, chain.height) == ["two", "one"]
    assert ("events", 1, chain.height) in chain.calls and index.stats.rebuilds == 1
    before = chain.height
    dataset(gw, chain, 4, "four")
    chain.calls.clear()
    assert titles(index, chain.height) == ["four", "two", "one"]
    assert ("events", before + 1, chain.height) in chain.calls and index.stats.rebuilds == 1
    entry = index.search(chain.height, CatalogQuery(q="two"))[1].entries[0]
    assert (entry.price_model, entry.price, entry.registered_at) == ("prepaid", "5 per use", T0 + 13)


def test_a_block_without_catalog_events_keeps_the_snapshot_and_its_pages(index: CatalogIndex, gw: Gateway,
                                                                         chain: Chain) -> None:
    dataset(gw, chain, 1, "one")
    first, page = index.search(chain.height, CatalogQuery())
    chain.height += 1  # an anchoring transaction's block
    again, cached = index.search(chain.height, CatalogQuery())
    assert again.version == first.version and cached is page and again.block == chain.height


def test_policies_deactivations_and_versions_are_replayed(index: CatalogIndex, gw: Gateway, chain: Chain) -> None:
    dataset(gw, chain, 1, "one", purposes=("research",))
    dataset(gw, chain, 2, "two")
    assert titles(index, chain.height, purpose="commercial") == ["two"]
    chain.policy(1, epoch=2, purposes=("commercial",), model=3, price=9)
    chain.add("PricingSet", 2, "UsageGrants", epoch=7, priceModel=1, freeUses=0, period=0)  # not its epoch
    assert titles(index, chain.height, purpose="commercial") == ["two", "one"]
    assert titles(index, chain.height, price_model="subscription") == ["one"]
    assert titles(index, chain.height, price_model="free") == ["two"]
    gw.store.put(aid(3))
    chain.register(3)
    chain.add("AssetVersionRegistered", 3, previousId=aid(1), version=2)
    gw.metadata.put(aid(3), {"title": "one v2"})
    chain.add("AssetDeactivated", 2, by=ME)
    snapshot, page = index.search(chain.height, CatalogQuery())
    assert [e.title for e in page.entries] == ["one v2", "one"]
    assert snapshot.later_versions == {aid(1): (f"urn:tds:asset:{aid(3)}",)}
    kind, node = index.document(snapshot, aid(1))
    assert kind == "dataset" and node["dct:hasVersion"] == [f"urn:tds:asset:{aid(3)}"]
    assert index.document(snapshot, aid(3))[1]["dcat:version"] == "2"


def test_services_and_algorithms_are_their_kinds(index: CatalogIndex, gw: Gateway, chain: Chain) -> None:
    raw = json.dumps({"openapi": "3.1.0", "info": {"title": "api", "version": "1"}, "paths": {}}).encode()
    gw.services.put(aid(1), ServiceDescription(raw, json.loads(raw)), ServiceConfig("http://backend", rate="5/second"))
    chain.register(1)
    gw.metadata.put(aid(1), {"title": "api", "kind": "service"})
    gw.store.put(aid(2))
    chain.register(2)
    gw.metadata.put(aid(2), {"title": "mean", "kind": "algorithm"})
    snapshot, page = index.search(chain.height, CatalogQuery())
    assert {e.title: (e.kind, e.price_model) for e in page.entries} == {"api": ("service", "none"),
                                                                         "mean": ("algorithm", "none")}
    kind, node = index.document(snapshot, aid(1))
    assert kind == "service" and node["tds:rateLimit"] == "5/second" and node["@type"] == "dcat:DataService"


def test_the_node_failing_fails_closed_and_the_next_read_recovers(index: CatalogIndex, gw: Gateway,
                                                                  chain: Chain) -> None:
    dataset(gw, chain, 1, "one")
    assert titles(index, chain.height) == ["one"]
    dataset(gw, chain, 2, "two")
    chain.fail = True
    with pytest.raises(ChainUnavailable, match="chain unavailable"):
        index.search(chain.height, CatalogQuery())  # never the older snapshot for a newer head
    chain.fail = False
    assert titles(index, chain.height) == ["two", "one"]


def test_a_failure_on_first_use_leaves_nothing_half_built(index: CatalogIndex, gw: Gateway, chain: Chain) -> None:
    dataset(gw, chain, 1, "one")
    chain.fail = True
    with pytest.raises(ChainUnavailable):
        index.at(chain.height)
    chain.fail = False
    assert titles(index, chain.height) == ["one"] and index.stats.rebuilds == 1


def test_a_chain_that_went_back_is_read_again(index: CatalogIndex, gw: Gateway, chain: Chain, clock: Clock) -> None:
    dataset(gw, chain, 1, "one")
    dataset(gw, chain, 2, "two")
    assert titles(index, chain.height) == ["two", "one"]
    # revert to before "two" and mine other blocks above the index's height
    chain.events = [e for e in chain.events if e.args["assetId"] != aid(2)]
    chain.height, chain.fork = 12, "b"
    dataset(gw, chain, 3, "three")
    chain.height += 3
    assert titles(index, chain.height) == ["three", "one"] and index.stats.rebuilds == 2
    # reverted below the index, no new block yet: noticed by a request at an older head (once a second)
    chain.events = [e for e in chain.events if e.args["assetId"] != aid(3)]
    chain.height, chain.fork = 12, "c"
    clock.now += 1.5
    assert titles(index, chain.height) == ["one"] and index.stats.rebuilds == 3


def test_a_request_at_an_older_head_reads_nothing_within_a_second(index: CatalogIndex, gw: Gateway, chain: Chain,
                                                                  clock: Clock) -> None:
    dataset(gw, chain, 1, "one")
    index.at(chain.height)
    chain.calls.clear()
    for _ in range(5):
        assert index.at(chain.height - 3).block == chain.height
    assert chain.calls == []
    clock.now += 1.5
    index.at(chain.height - 3)
    assert chain.calls == [("blocks", (chain.height,))]


def test_metadata_written_after_the_receipt_is_picked_up(index: CatalogIndex, gw: Gateway, chain: Chain,
                                                         clock: Clock) -> None:
    gw.store.put(aid(1))
    chain.register(1)
    assert [e.title for e in index.search(chain.height, CatalogQuery())[1].entries] == [aid(1)]  # no title yet
    gw.metadata.put(aid(1), {"title": "late"})
    clock.now += 1.1  # pending rows are looked at again every second
    assert titles(index, chain.height) == ["late"]


def test_an_asset_registered_elsewhere_is_listed_once_its_file_is_here(index: CatalogIndex, gw: Gateway,
                                                                       chain: Chain, clock: Clock) -> None:
    chain.register(1)
    chain.policy(1)
    assert titles(index, chain.height) == []
    gw.store.put(aid(1))
    gw.metadata.put(aid(1), {"title": "arrived"})
    clock.now += 1.1
    assert titles(index, chain.height) == ["arrived"]


def test_changes_beside_the_gateway_are_noticed_within_the_rescan_bound(index: CatalogIndex, gw: Gateway,
                                                                        chain: Chain, clock: Clock) -> None:
    dataset(gw, chain, 1, "one")
    dataset(gw, chain, 2, "two")
    assert titles(index, chain.height) == ["two", "one"]
    (gw.store.root / aid(2)[2:]).unlink()  # removed from the store by hand
    gw.metadata.put(aid(1), {"title": "renamed"})  # edited by hand
    assert not index.rescan()  # the last full read is less than LOCAL_RESCAN_S old
    assert titles(index, chain.height) == ["two", "one"]  # requests do not rescan
    clock.now += catalog_index.LOCAL_RESCAN_S
    assert index.rescan() and titles(index, chain.height) == ["renamed"]
    assert index.stats.local_rescans == 1
    clock.now += catalog_index.LOCAL_RESCAN_S
    assert not index.rescan()  # nothing moved since


def test_many_pending_rows_are_left_to_the_rescan(index: CatalogIndex, gw: Gateway, chain: Chain,
                                                  clock: Clock) -> None:
    """A provider whose assets are registered elsewhere: requests do not look at each of them every second."""
    for n in range(catalog_index.PENDING_INLINE + 1):
        chain.register(n + 1)
    assert titles(index, chain.height) == []
    gw.store.put(aid(1))
    gw.metadata.put(aid(1), {"title": "arrived"})
    clock.now += 1.1
    assert titles(index, chain.height) == []
    clock.now += catalog_index.LOCAL_RESCAN_S
    assert index.rescan() and titles(index, chain.height) == ["arrived"]


def test_unreadable_metadata_lists_the_asset_without_it(index: CatalogIndex, gw: Gateway, chain: Chain) -> None:
    gw.store.put(aid(1))
    chain.register(1)
    gw.metadata.directory.mkdir(parents=True, exist_ok=True)
    gw.metadata.path(aid(1)).write_text("{not json")
    assert titles(index, chain.height) == [aid(1)]


def test_a_touch_refreshes_at_the_next_request_though_its_head_is_not_newer(index: CatalogIndex, gw: Gateway,
                                                                          chain: Chain) -> None:
    """Read your writes: a policy this gateway just set (mined after the head a request is checked against, which
    may be up to head_poll_interval_s old) is what that request lists."""
    dataset(gw, chain, 1, "one", purposes=("research",))
    stale = chain.height
    assert titles(index, stale) == ["one"]
    chain.policy(1, purposes=("planning",))
    assert index.search(stale, CatalogQuery())[1].entries[0].purposes == ("research",)  # as of the head it was given
    index.touch()
    assert index.search(stale, CatalogQuery())[1].entries[0].purposes == ("planning",)
