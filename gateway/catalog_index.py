"""This gateway's catalog as search rows (:class:`domain.search.CatalogEntry`), kept current from chain
events instead of being rebuilt for every block.

What the catalog lists is this provider's active assets that this gateway serves: a stored file (a
dataset, or an algorithm when its metadata says ``"kind": "algorithm"``) or a configured service.
Their chain side changes only through five events, all read with one ``eth_getLogs`` per refresh
(``chain.logs.RpcLogSource`` restricted to them): ``AssetRegistered`` (a new asset or version, with
its size, metadata hash, lineage and owners), ``AssetVersionRegistered`` (its version number and the
asset it replaces), ``AssetDeactivated``, ``PolicySet`` (terms, purposes, jurisdictions, epoch) and
``PricingSet`` (price model, free uses, period of that epoch). The index replays them: the first
use reads them from the deployment block (and the registration blocks' timestamps, batched); after
that, a request at a newer head than the index's (or one arriving after this host's store, metadata
or service files changed: a registration here) reads only the blocks since the last refresh, up
to the node's latest block (``eth_blockNumber``, one ``eth_getLogs``, one batched
``eth_getBlockByNumber`` of the last and the new block), so a new block that changes nothing in the
catalog (an anchoring transaction) costs three round trips and no rebuild. The hash of the block
last read is checked at each refresh, and at most once a second when a request comes at an older
head than the index's: a chain that went back (a reorg, an anvil snapshot revert, a restarted node
that lost its last blocks) is read again from the start.

The local side (stored files, metadata documents, service configs) is read once per asset, again
when one of its events arrives and, for assets the chain lists but that are not complete here yet
(the metadata is written after the registration's receipt, maybe by another process): by requests,
while there are at most ``PENDING_INLINE`` of them, as soon as the store's, the metadata
directory's or the service configuration's modification stamp moved, else once a second.
Chain-only changes made elsewhere (a policy set from another host) show within the head-age rule
like everything else: at the first request whose head includes them. Changes
made beside the gateway's own code paths (a file removed from the store, a metadata document edited
by hand) are found by :meth:`CatalogIndex.rescan`, which the gateway's housekeeping thread calls:
when the modification stamp of the store, the metadata directory or the service configuration
moved, every asset is re-checked (file stamps decide which metadata documents are read again), at
most every ``LOCAL_RESCAN_S``, outside the lock requests take (~100 ms at 10,000 assets).

Fail closed: the index answers for the head block the request was checked against or a newer one,
never an older one; when the node does not answer, a refresh raises ``chain.errors.ChainUnavailable``
(HTTP 503) and the index keeps its last state for the next attempt; it never answers a head it
could not read up to. The head's own freshness is the chain view's rule (``RecentHead``).

Searches (``domain.search.search``) run on an immutable snapshot; pages are cached per (snapshot
version, query): the version changes only when the catalog's content does, not with every block.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from chain.client import Chain
from chain.errors import ChainError, ChainUnavailable, is_node_failure
from chain.logs import BlockRef, ChainEvent, LogSource, RpcLogSource
from domain.search import CatalogEntry, CatalogPage, CatalogQuery, order_key, search
from domain.types import Asset, Policy, PriceModel
from gateway import catalog as dcat
from gateway.registration import MetadataStore
from gateway.settings import GatewaySettings
from services.registry import ServiceRegistry
from vault.store import EncryptedStore

T = TypeVar("T")
log = logging.getLogger("tds.gateway")
EVENTS = (("AssetRegistry", "AssetRegistered"), ("AssetRegistry", "AssetVersionRegistered"),
          ("AssetRegistry", "AssetDeactivated"), ("UsageGrants", "PolicySet"), ("UsageGrants", "PricingSet"))
"""The events the catalog's chain side is made of."""
ZERO32 = "0x" + "00" * 32
PENDING_RECHECK_S = 1.0
"""How often rows the chain lists but this gateway does not (completely) hold yet are looked at again."""
REWIND_CHECK_S = 1.0
"""How often a request at an older head than the index's checks that the index's block is still on the chain."""
PENDING_INLINE = 256
"""Up to this many pending rows are re-checked by requests; more are left to :meth:`CatalogIndex.rescan`."""
LOCAL_RESCAN_S = 10.0
"""At most this often every row's local side is read again after the store, metadata or services changed."""
PAGE_CACHE = 256


class Host(Protocol):
    """What the index reads of its gateway (:class:`gateway.service.Gateway` is one)."""

    chain: Chain
    store: EncryptedStore
    metadata: MetadataStore
    services: ServiceRegistry
    provider_address: str
    settings: GatewaySettings

    @property
    def chain_id(self) -> int:
        """The chain id (for the publisher's did:pkh)."""


@dataclass(frozen=True)
class Row:
    """One asset of this provider: its chain state (from events) and what this gateway holds of it."""

    asset: Asset
    policy: Policy | None = None
    registered_at: int | None = None
    kind: str | None = None  # None: not served here (no stored file, no service config)
    metadata: dict[str, Any] | None = None
    metadata_stamp: tuple[int, int, int] | None = None
    rate: str = ""  # a service's call rate (its catalog node's tds:rateLimit)

    @property
    def title(self) -> str:
        """The title in its metadata document ("" when it has none)."""
        title = (self.metadata or {}).get("title")
        return title if isinstance(title, str) else ""

    @property
    def listed(self) -> bool:
        """Whether the catalog lists it: active on-chain and served here."""
        return self.asset.active and self.kind is not None

    @property
    def pending(self) -> bool:
        """Active on-chain but not (completely) here yet: no stored file or service, or no metadata."""
        return self.asset.active and (self.kind is None or self.metadata is None)


@dataclass(frozen=True)
class Snapshot:
    """The catalog at one block: listed entries in catalog order, their rows, the version links."""

    block: int
    version: int
    entries: tuple[CatalogEntry, ...]
    rows: Mapping[str, Row]
    later_versions: Mapping[str, tuple[str, ...]]  # asset id -> listed datasets replacing it (dct:hasVersion)


@dataclass
class Stats:
    """What the index did (GET /health does not show it; benchmarks and tests read it)."""

    rebuilds: int = 0
    refreshes: int = 0
    local_rescans: int = 0
    last_rebuild_s: float = 0.0
    last_refresh_s: float = 0.0
    events: int = 0


@dataclass
class _State:
    block: int
    block_hash: str
    rows: dict[str, Row] = field(default_factory=dict)


class CatalogIndex:
    """The catalog rows of one gateway, refreshed incrementally per head (thread-safe)."""

    def __init__(self, gw: Host, source: LogSource | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.gw = gw
        self.source = source if source is not None else RpcLogSource(gw.chain, only=EVENTS)
        start = getattr(self.source, "start_block", None)  # RpcLogSource's: the deployment block
        self.start_block = int(start if start is not None else gw.chain.deployment.deploy_block)
        self.stats = Stats()
        self._clock = clock
        self._lock = threading.Lock()
        self._state: _State | None = None
        self._snapshot: Snapshot | None = None
        self._version = 0
        self._local_stamp: tuple[Any, ...] | None = None
        self._rescanned = float("-inf")
        self._verified = float("-inf")  # when the index's block was last seen on the chain
        self._pending: frozenset[str] = frozenset()  # rows re-checked every PENDING_RECHECK_S (if few)
        self._pending_checked = float("-inf")
        self._seen_stamp: tuple[Any, ...] | None = None  # the local stamps at the last refresh
        self._pages: OrderedDict[tuple[int, CatalogQuery], CatalogPage] = OrderedDict()
        self._touched = False  # this process changed the catalog: the next request refreshes (read your writes)
        self._docs: dict[str, tuple[Row, dict[str, Any]]] = {}
        self._entries: dict[str, tuple[Row, CatalogEntry]] = {}

    # ---- reading -----------------------------------------------------------------------------------

    def at(self, head: int) -> Snapshot:
        """The catalog at block ``head`` or newer (refreshing as needed; ChainUnavailable when the node fails)."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.block >= head and not self._touched \
                and not self._rewind_due(snapshot.block, head) and not self._local_due():
            return snapshot
        with self._lock:
            touched, self._touched = self._touched, False  # a touch from here on asks for one more refresh
            return self._refresh(head, touched)

    def touch(self) -> None:
        """This process just changed what the catalog lists (a registration, a new policy, done by this gateway's
        own code): the next request refreshes up to the node's latest block even when its head, read up to
        ``head_poll_interval_s`` earlier, is not newer than the index (a provider sees its write at once)."""
        self._touched = True

    def _rewind_due(self, block: int, head: int) -> bool:
        """Whether to check that the index's block is still on the chain (asked at an older head, at most
        once per ``REWIND_CHECK_S``: a chain that went back below the index is noticed this way)."""
        return block > head and self._clock() - self._verified >= REWIND_CHECK_S

    def _local_due(self) -> bool:
        """Whether to refresh although the index is at the request's head: the store, the metadata or the
        services changed since the last refresh (a registration on this host: its receipt is in, its
        metadata just written), or the few pending rows are due for their look (every ``PENDING_RECHECK_S``)."""
        if self._local_stamps() != self._seen_stamp:
            return True
        return bool(self._pending) and len(self._pending) <= PENDING_INLINE and \
            self._clock() - self._pending_checked >= PENDING_RECHECK_S

    def rescan(self) -> bool:
        """Re-read every row's local side when the store, the metadata directory or the service configuration
        changed since the last rescan, or many rows are pending; at most every ``LOCAL_RESCAN_S`` (the
        gateway's housekeeping thread calls this). The files are read outside the lock, so requests do not
        wait for it; rows that changed meanwhile are left to their own refresh. Returns whether it ran."""
        state, now = self._state, self._clock()
        if state is None or now - self._rescanned < LOCAL_RESCAN_S:
            return False
        stamp = self._local_stamps()
        if stamp == self._local_stamp and len(self._pending) <= PENDING_INLINE:
            return False
        self._rescanned = now
        rows = dict(state.rows)
        services = set(self.gw.services.ids())
        moved = {aid for aid, row in rows.items() if self._local(row, services) != row}
        with self._lock:
            current = self._state
            assert current is not None
            self._publish(current, {aid for aid in moved if current.rows.get(aid) is rows[aid]})
            self._local_stamp = stamp
            self.stats.local_rescans += 1
        return True

    def search(self, head: int, query: CatalogQuery) -> tuple[Snapshot, CatalogPage]:
        """One page of the catalog at ``head`` (or newer) for ``query``, cached per catalog version."""
        snapshot = self.at(head)
        key = (snapshot.version, query)
        page = self._pages.get(key)
        if page is None:
            page = search(snapshot.entries, query)
            with self._lock:
                self._pages[key] = page
                while len(self._pages) > PAGE_CACHE:
                    self._pages.popitem(last=False)
        return snapshot, page

    def document(self, snapshot: Snapshot, asset_id: str) -> tuple[str, dict[str, Any]]:
        """("dataset" | "service", the asset's DCAT node as GET /catalog has always written it)."""
        row = snapshot.rows[asset_id]
        cached = self._docs.get(asset_id)
        if cached is None or cached[0] is not row:
            gw = self.gw
            if row.kind == "service":
                doc = dcat.data_service(row.asset, row.policy, row.metadata, gw.chain_id, gw.settings.base_url,
                                        row.rate)
            else:
                doc = dcat.dataset(row.asset, row.policy, row.metadata, gw.chain_id, gw.settings.base_url)
            cached = self._docs[asset_id] = (row, doc)
        doc = cached[1]
        later = snapshot.later_versions.get(asset_id)
        if later:
            doc = {**doc, "dct:hasVersion": list(later)}
        return ("service" if row.kind == "service" else "dataset"), doc

    # ---- refreshing --------------------------------------------------------------------------------

    def _refresh(self, head: int, touched: bool = False) -> Snapshot:
        started = time.perf_counter()
        state = self._state
        stamp = self._local_stamps()
        local_moved = stamp != self._seen_stamp
        changed: set[str] | None
        if state is None:
            state, changed = self._guard(lambda: self._rebuild(head)), None
        elif head > state.block or local_moved or touched:  # a write here: read up to the node's latest block
            state, changed = self._guard(lambda: self._advance(state, head))
        elif self._rewind_due(state.block, head) and not self._guard(lambda: self._still_there(state)):
            state, changed = self._guard(lambda: self._rebuild(head)), None
        else:
            changed = set()
        if changed is None:
            self._local_stamp, self._rescanned = stamp, self._clock()  # every row is read now
        elif self._pending and len(self._pending) <= PENDING_INLINE and (
                local_moved or self._clock() - self._pending_checked >= PENDING_RECHECK_S):
            self._pending_checked = self._clock()
            changed |= self._pending & state.rows.keys()
        self._seen_stamp = stamp
        self._publish(state, changed)
        self._state = state
        self.stats.last_refresh_s = time.perf_counter() - started
        assert self._snapshot is not None
        return self._snapshot

    def _rebuild(self, head: int) -> _State:
        started = time.perf_counter()
        head = max(head, self.source.head())  # as new as the node has it (registrations a moment ago)
        blocks = self.source.blocks([head])
        if head not in blocks:
            raise ChainUnavailable(f"chain unavailable: the node has no block {head}")
        state = _State(head, blocks[head].hash)
        events = self.source.events(self.start_block, head)
        _apply(state.rows, events, self.gw.provider_address)
        self._stamp_times(state.rows, set(state.rows), blocks)
        self.stats.rebuilds += 1
        self.stats.events += len(events)
        self.stats.last_rebuild_s = time.perf_counter() - started
        self._verified = self._clock()
        return state

    def _advance(self, state: _State, head: int) -> tuple[_State, set[str] | None]:
        head = max(head, self.source.head())
        blocks = self.source.blocks([state.block, head])
        if blocks.get(state.block) is None or blocks[state.block].hash != state.block_hash or head not in blocks:
            return self._rebuild(head), None  # the chain went back (or forked) under us: read it again
        events = self.source.events(state.block + 1, head)
        rows = dict(state.rows) if events else state.rows
        changed = _apply(rows, events, self.gw.provider_address)
        self._stamp_times(rows, changed, blocks)
        self.stats.refreshes += 1
        self.stats.events += len(events)
        self._verified = self._clock()
        return _State(head, blocks[head].hash, rows), changed

    def _still_there(self, state: _State) -> bool:
        """Whether the block the index was read up to is still on the chain (a request at an older head)."""
        found = self.source.blocks([state.block]).get(state.block)
        self._verified = self._clock()
        return found is not None and found.hash == state.block_hash

    def _stamp_times(self, rows: dict[str, Row], ids: Iterable[str], known: Mapping[int, BlockRef]) -> None:
        """Set registered_at (its block's timestamp) of the ``ids`` rows lacking it, reading the blocks not
        in ``known`` in one batch."""
        new = [aid for aid in ids if rows[aid].registered_at is None]
        missing = sorted({rows[aid].asset.block for aid in new} - set(known))
        found = {**known, **(self.source.blocks(missing) if missing else {})}
        for aid in new:
            block = found.get(rows[aid].asset.block)
            if block is not None:
                rows[aid] = replace(rows[aid], registered_at=block.timestamp)

    def _publish(self, state: _State, changed: set[str] | None) -> None:
        """Read the local side of the ``changed`` rows (None: every row) into ``state`` and publish a new
        snapshot when the listed rows differ from the last one's (else the last one, at the new block)."""
        old = self._snapshot
        if old is None:
            changed = None
        elif changed is not None and not changed:
            if old.block != state.block:
                self._snapshot = replace(old, block=state.block)
            return
        services = set(self.gw.services.ids())
        moved = False
        for aid in state.rows if changed is None else changed:
            local = state.rows[aid] = self._local(state.rows[aid], services)
            before = old.rows.get(aid) if old is not None else None
            if (local if local.listed else None) != before:
                moved = True
        if changed is None:  # rows may also have gone (a rebuild after the chain went back)
            moved = moved or old is None or any(aid not in state.rows for aid in old.rows)
        if changed is None or changed:
            self._pending = frozenset(aid for aid, row in state.rows.items() if row.pending)
        if old is not None and not moved:
            if old.block != state.block:
                self._snapshot = replace(old, block=state.block)
            return
        listed = {aid: row for aid, row in state.rows.items() if row.listed}
        self._version += 1
        entries = sorted((self._entry(row) for row in listed.values()), key=order_key)
        self._entries = {aid: self._entries[aid] for aid in listed}
        self._snapshot = Snapshot(state.block, self._version, tuple(entries), listed, _later_versions(listed))

    def _entry(self, row: Row) -> CatalogEntry:
        """The search entry of a listed row (kept while the row is unchanged: a change re-reads one, not all)."""
        aid = row.asset.asset_id
        cached = self._entries.get(aid)
        if cached is None or cached[0] != row:
            assert row.kind is not None
            cached = self._entries[aid] = (row, CatalogEntry.of(row.asset, row.policy, row.metadata, row.kind,
                                                                row.registered_at))
        return cached[1]

    def _local(self, row: Row, services: set[str]) -> Row:
        """``row`` with what this gateway holds of it now (stored file, service config, metadata)."""
        gw, aid = self.gw, row.asset.asset_id
        stored = gw.store.has(aid)
        service = not stored and aid in services
        stamp = _file_stamp(gw.metadata.path(aid))
        metadata = row.metadata if stamp == row.metadata_stamp else _read_metadata(gw, aid) if stamp else None
        if service:
            kind: str | None = "service"
        elif stored:
            kind = "algorithm" if isinstance(metadata, dict) and metadata.get("kind") == "algorithm" else "dataset"
        else:
            kind = None
        config = gw.services.config(aid) if service else None
        return replace(row, kind=kind, metadata=metadata, metadata_stamp=stamp, rate=config.rate if config else "")

    def _local_stamps(self) -> tuple[Any, ...]:
        """Modification stamps of what the local side is read from (the store, metadata and services)."""
        gw = self.gw
        return (_file_stamp(gw.store.root), _file_stamp(gw.metadata.directory), _file_stamp(gw.services.path))

    @staticmethod
    def _guard(read: Callable[[], T]) -> T:
        """Node failures as ChainUnavailable (HTTP 503), as :class:`chain.view.ChainView` reports them."""
        try:
            return read()
        except ChainUnavailable:
            raise
        except ChainError as exc:
            raise ChainUnavailable(f"chain unavailable: {exc}") from exc
        except Exception as exc:
            if is_node_failure(exc):
                raise ChainUnavailable(f"chain unavailable: {type(exc).__name__}") from exc
            raise


def _read_metadata(gw: Host, asset_id: str) -> dict[str, Any] | None:
    """The asset's metadata document; None while it cannot be read (the row stays pending, read again)."""
    try:
        doc = gw.metadata.get(asset_id)
    except (OSError, ValueError):
        log.warning("metadata of %s cannot be read: listed without it until it can", asset_id)
        return None
    return doc if isinstance(doc, dict) else None


def _file_stamp(path: os.PathLike[str] | str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def _later_versions(listed: Mapping[str, Row]) -> dict[str, tuple[str, ...]]:
    """asset id -> the IRIs of the listed datasets that are its next versions (services have none)."""
    later: dict[str, list[tuple[int, int, str]]] = {}
    for aid, row in listed.items():
        previous = row.asset.previous_version
        if previous and row.kind != "service":
            later.setdefault(previous, []).append((row.asset.block, row.asset.version, aid))
    return {prev: tuple(dcat.asset_iri(aid) for *_, aid in sorted(items)) for prev, items in later.items()
            if prev in listed and listed[prev].kind != "service"}


# ---- replaying events ------------------------------------------------------------------------------------


def _apply(rows: dict[str, Row], events: Iterable[ChainEvent], provider: str) -> set[str]:
    """Replay catalog events (chain order) onto ``rows``; returns the asset ids whose rows changed."""
    changed: set[str] = set()
    ours = provider.lower()
    for event in events:
        args = event.args
        aid = str(args.get("assetId", "")).lower()
        if event.name == "AssetRegistered":
            if str(args["provider"]).lower() == ours:
                rows[aid] = Row(_registered(event))
                changed.add(aid)
            continue
        row = rows.get(aid)
        if row is None:
            continue  # another provider's asset
        if event.name == "AssetVersionRegistered":
            previous = str(args["previousId"]).lower()
            row = replace(row, asset=replace(row.asset, version=int(args["version"]),
                                             previous_version=None if previous == ZERO32 else previous))
        elif event.name == "AssetDeactivated":
            row = replace(row, asset=replace(row.asset, active=False))
        elif event.name == "PolicySet":
            row = replace(row, policy=_policy(args))
        elif event.name == "PricingSet":
            if row.policy is None or row.policy.epoch != int(args["epoch"]):
                continue
            row = replace(row, policy=replace(row.policy, price_model=PriceModel(int(args["priceModel"])),
                                              free_uses=int(args["freeUses"]), period=int(args["period"])))
        rows[aid] = row
        changed.add(aid)
    return changed


def _registered(event: ChainEvent) -> Asset:
    """The asset as AssetsClient reads it, from its AssetRegistered event (version 1 until its
    AssetVersionRegistered, active until deactivated)."""
    args = event.args
    return Asset(
        asset_id=str(args["assetId"]).lower(), provider=str(args["provider"]), size=int(args["size"]), version=1,
        active=True, metadata_hash=str(args["metadataHash"]).lower(), metadata_uri=str(args["metadataURI"]),
        parents=tuple(str(p).lower() for p in args["parents"]), owners=tuple(str(o) for o in args["owners"]),
        shares_bps=tuple(int(s) for s in args["sharesBps"]), previous_version=None, tx=event.tx_hash.lower(),
        block=event.block_number,
    )


def _policy(args: Mapping[str, Any]) -> Policy:
    """A PolicySet event as GrantsClient.get_policy reads the policy (free until its PricingSet)."""
    return Policy(
        not_before=int(args["notBefore"]), not_after=int(args["notAfter"]), max_count=int(args["maxCount"]),
        price_per_access=int(args["pricePerAccess"]), compute_only=bool(args["computeOnly"]),
        auto_approve=bool(args["autoApprove"]), purposes=tuple(str(p) for p in args["purposes"]),
        jurisdictions=tuple(bytes.fromhex(str(j)[2:]).decode(errors="replace") for j in args["jurisdictions"]),
        epoch=int(args["epoch"]),
    )
