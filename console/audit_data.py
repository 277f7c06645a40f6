"""What the operator's and auditor's pages read: the audit index, how current it is, and titles it can trust.

- :class:`ChainWatch` reads the chain's head over plain JSON-RPC (cached a second, a short timeout), so every
  page can say whether the index is current, behind, or cut off from the chain (:class:`Freshness`).
- :func:`events_page`, :func:`participants`, :func:`catalog_entries` read the index (the space's events newest
  first, every participant's standing, every asset as a :class:`domain.search.CatalogEntry`).
- :class:`Titles` names assets by the metadata document this home holds for them (the provider's gateway
  metadata), and only when that document hashes to the metadata hash registered on-chain: a title nobody
  vouched for is not shown.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from audit.db import (
    AssetDeactivationRow, AssetRow, AssetVersionRow, BlockRow, EventRow, Meta, ParticipantEventRow, PolicyRow,
    PricingRow,
)
from audit.indexer import LAST_BLOCK
from chain.errors import ChainError
from chain.rpc import KeepAliveRpc
from domain.ids import is_bytes32
from domain.search import KINDS, CatalogEntry
from domain.types import Asset, Policy, PriceModel

DEFAULT_MAX_LAG = 10
"""Blocks the index may trail the chain before the pages say it is behind."""
MISSING_TTL_S = 5.0
"""How long a metadata document found missing is not looked for again."""


@dataclass(frozen=True)
class Freshness:
    """How current the index is: the block it holds up to (and its time), the chain's head (None: unreadable)."""

    index_block: int | None
    index_time: int
    chain_head: int | None
    chain_error: str | None
    max_lag: int

    @property
    def lag(self) -> int | None:
        """Blocks the index trails the chain by (None when either is unknown)."""
        if self.chain_head is None:
            return None
        return max(0, self.chain_head - (self.index_block if self.index_block is not None else -1))

    @property
    def unreachable(self) -> bool:
        """The chain cannot be read: nothing newer than the index can be known."""
        return self.chain_head is None

    @property
    def behind(self) -> bool:
        """The index trails the chain by more than the bound."""
        return self.lag is not None and self.lag > self.max_lag

    @property
    def ok(self) -> bool:
        """Current enough to trust the pages as the chain's present."""
        return not (self.unreachable or self.behind)

    def headers(self) -> dict[str, str]:
        """What a response says about it (``X-TDS-Index-Block``, ``X-TDS-Index-Fresh``)."""
        return {"X-TDS-Index-Block": "" if self.index_block is None else str(self.index_block),
                "X-TDS-Index-Fresh": "yes" if self.ok else ("no-chain" if self.unreachable else "behind")}


class ChainWatch:
    """The chain's head block number, read at most once per ``max_age_s`` (an error is remembered as long)."""

    def __init__(self, rpc_url: str, timeout_s: float = 2.0, max_age_s: float = 1.0) -> None:
        self.rpc_url = rpc_url
        self._rpc = KeepAliveRpc(rpc_url, timeout=timeout_s) if rpc_url else None
        self._max_age = max_age_s
        self._lock = threading.Lock()
        self._read_at = 0.0
        self._head: int | None = None
        self._error: str | None = None

    def head(self) -> tuple[int | None, str | None]:
        """(head block, None) or (None, why it cannot be read)."""
        with self._lock:
            if time.monotonic() - self._read_at >= self._max_age:
                self._head, self._error = self._read()
                self._read_at = time.monotonic()
            return self._head, self._error

    def _read(self) -> tuple[int | None, str | None]:
        if self._rpc is None:
            return None, "no chain node configured"
        try:
            return int(str(self._rpc.call("eth_blockNumber", [])), 16), None
        except (ChainError, ValueError, TypeError) as exc:
            return None, str(exc) or type(exc).__name__


def index_cursor(s: Session) -> tuple[int | None, int]:
    """The last indexed block and its timestamp (None, 0 before the first run)."""
    row = s.get(Meta, LAST_BLOCK)
    if row is None:
        return None, 0
    block = int(row.value)
    stamp = s.exec(select(BlockRow.timestamp).where(col(BlockRow.number) <= block)
                   .order_by(col(BlockRow.number).desc())).first()
    return block, int(stamp or 0)


def freshness(s: Session, watch: ChainWatch | None, max_lag: int = DEFAULT_MAX_LAG) -> Freshness:
    """The index's cursor against the chain's head."""
    block, stamp = index_cursor(s)
    head, error = watch.head() if watch is not None else (None, "no chain node configured")
    return Freshness(block, stamp, head, error, max_lag)


# ---- the space's events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventsPage:
    """One page of indexed events, newest first."""

    rows: list[EventRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the events fill (at least one)."""
        return max(1, -(-self.total // self.per_page))


def events_page(s: Session, page: int = 1, per_page: int = 50, names: tuple[str, ...] | None = None) -> EventsPage:
    """The events of the index newest first (block, then log index, descending); ``names``: only these events."""
    query = select(EventRow)
    count = select(func.count()).select_from(EventRow)
    if names is not None:
        query = query.where(col(EventRow.name).in_(names))
        count = count.where(col(EventRow.name).in_(names))
    total = int(s.exec(count).one())
    rows = list(s.exec(query.order_by(col(EventRow.block_number).desc(), col(EventRow.log_index).desc())
                       .offset((page - 1) * per_page).limit(per_page)))
    return EventsPage(rows, total, page, per_page)


# ---- participants ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """A participant as the registry's events leave it: roles, jurisdiction, status, since when."""

    address: str
    roles: int
    jurisdiction: str
    credential_hash: str
    status: str  # active | suspended
    onboarded_at: int
    changed_at: int  # the last membership event's time
    onboarded_by: str


def participants(s: Session) -> list[Standing]:
    """Every onboarded participant, oldest first."""
    rows = sorted(s.exec(select(ParticipantEventRow)), key=lambda r: (r.block_number, r.log_index))
    found: dict[str, Standing] = {}
    for r in rows:
        if r.kind == "onboarded":
            found[r.address] = Standing(r.address, r.roles or 0, r.jurisdiction or "", r.credential_hash or "",
                                        "active", r.timestamp, r.timestamp, r.by)
        elif r.address in found:
            old = found[r.address]
            found[r.address] = Standing(old.address, old.roles, old.jurisdiction, old.credential_hash,
                                        "suspended" if r.kind == "suspended" else "active", old.onboarded_at,
                                        r.timestamp, old.onboarded_by)
    return list(found.values())


# ---- titles and the catalog -------------------------------------------------------------------------------


class Titles:
    """Metadata documents of this home's gateway, by asset id, each checked against its on-chain hash."""

    def __init__(self, directory: Path | None, session_factory: Callable[[], Session]) -> None:
        self.directory = directory
        self._session = session_factory
        self._cache: dict[str, tuple[str, dict[str, Any] | None, float]] = {}
        self._lock = threading.Lock()

    def document(self, asset_id: str, metadata_hash: str | None = None) -> dict[str, Any] | None:
        """The metadata document of ``asset_id`` if this home holds one that hashes to the registered hash."""
        asset_id = asset_id.lower()
        if metadata_hash is None:
            with self._session() as s:
                row = s.get(AssetRow, asset_id)
            if row is None:
                return None
            metadata_hash = row.metadata_hash
        with self._lock:
            cached = self._cache.get(asset_id)
            if cached is not None and cached[0] == metadata_hash and (cached[1] is not None or
                                                                    time.monotonic() < cached[2]):
                return cached[1]
        doc = self._read(asset_id, metadata_hash)
        with self._lock:  # a document not found (yet: it is written after the registration) is looked for again
            self._cache[asset_id] = (metadata_hash, doc, time.monotonic() + MISSING_TTL_S)
        return doc

    def _read(self, asset_id: str, metadata_hash: str) -> dict[str, Any] | None:
        if self.directory is None or not is_bytes32(asset_id):  # the id names a file: nothing else may
            return None
        path = self.directory / f"{asset_id}.json"
        try:
            data = path.read_bytes()
            doc = json.loads(data)
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict):
            return None
        canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        return doc if "0x" + hashlib.sha256(canonical).hexdigest() == metadata_hash.lower() else None

    def title(self, asset_id: str) -> str | None:
        """The verified title of ``asset_id`` (None when no vouched-for document names one)."""
        doc = self.document(asset_id)
        value = doc.get("title") if doc else None
        return str(value) if isinstance(value, str) and value else None


def catalog_entries(s: Session, titles: Titles) -> list[CatalogEntry]:
    """Every indexed asset as a catalog entry: its current policy (the newest epoch, priced by its PricingSet) and
    its verified metadata (kind ``dataset`` unless the document says otherwise)."""
    versions = {v.asset_id: v for v in s.exec(select(AssetVersionRow))}
    gone = {d.asset_id for d in s.exec(select(AssetDeactivationRow))}
    policies = _current_policies(s)
    out = []
    for row in s.exec(select(AssetRow)):
        v = versions.get(row.asset_id)
        asset = Asset(row.asset_id, row.provider, row.size, v.version if v else 1, row.asset_id not in gone,
                      row.metadata_hash, row.metadata_uri, tuple(json.loads(row.parents)), tuple(json.loads(row.owners)),
                      tuple(json.loads(row.shares_bps)), v.previous_id if v else None, row.tx_hash, row.block_number)
        meta = titles.document(row.asset_id, row.metadata_hash)
        kind = meta.get("kind") if meta and meta.get("kind") in KINDS else "dataset"
        out.append(CatalogEntry.of(asset, policies.get(row.asset_id), meta, str(kind), row.timestamp))
    return out


def _current_policies(s: Session) -> dict[str, Policy]:
    """asset id -> its newest policy epoch with its pricing."""
    pricing = {(p.asset_id, p.epoch): p for p in s.exec(select(PricingRow))}
    newest: dict[str, PolicyRow] = {}
    for p in s.exec(select(PolicyRow)):
        if p.asset_id not in newest or (p.block_number, p.log_index) > (newest[p.asset_id].block_number,
                                                                          newest[p.asset_id].log_index):
            newest[p.asset_id] = p
    out = {}
    for asset_id, p in newest.items():
        price = pricing.get((asset_id, p.epoch))
        if price is not None and price.price_model not in PriceModel._value2member_map_:
            continue  # a price model this TDS does not know: not offered as far as this catalog can tell
        out[asset_id] = Policy(p.not_before, p.not_after, p.max_count, int(p.price_per_access), p.compute_only,
                               p.auto_approve, tuple(json.loads(p.purposes)), tuple(json.loads(p.jurisdictions)),
                               p.epoch, PriceModel(price.price_model) if price else PriceModel.FREE,
                               price.free_uses if price else 0, price.period if price else 0)
    return out


def meta_value(s: Session, key: str) -> str | None:
    """An index setting (``chain_id``, ``registry``)."""
    row = s.get(Meta, key)
    return row.value if row else None

