"""The gateway's notary: access records -> receipts -> sealed batches -> anchored roots -> proof documents.

Every access decision (allow and deny) is an ``access_records`` row, committed before the response
is sent. Its receipt (:class:`notary.receipts.Receipt`) is derived from that row; its id is
``rcpt-<access record id>``. A receipt moves through three states:

    pending   its access record is committed but it is in no batch yet (no proof)
    accepted  sealed: the batch (root, leaf count) and its membership rows are committed BEFORE the
              anchor transaction is sent; the proof document carries the root, no anchor tx/block
    anchored  the root is on AnchorRegistry; the proof names chain id, contract, anchor tx and block

Crash safety: a crash before sealing leaves receipts pending (sealed on the next run); a crash after
sealing leaves a ``sealed`` batch (anchored on the next run); a crash after the anchor tx but before
recording it is healed from the chain: ``anchor_sealed`` reads ``getAnchor(root)`` first and takes tx
and block from the ``RootAnchored`` event, and an ``AnchorAlreadyAnchored`` revert counts as done. So
a batch is never anchored twice. Two processes cannot seal the same receipt: membership is keyed by
the access record id and a batch is inserted in one transaction with its members.

Tables (same SQLModel metadata as :mod:`gateway.db`, created on first use): ``notary_batches`` and
``notary_batch_members`` (receipt -> batch, leaf index, the receipt frozen as JSON).

Bulk asset anchoring (:func:`anchor_assets`) needs no table: one tree over (content hash, size)
pairs, one ``anchorRoot`` transaction (kind 2); anchoring the same set again is a no-op that returns
the same proofs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from chain.contracts import AnchorsClient
from chain.errors import ContractRevert
from gateway.db import HASH_LEN, AccessRecord, insert_unless_exists
from gateway.errors import GatewayError, NotFound
from notary.errors import NotaryError
from notary.hashing import sha256_file
from notary.proofs import Batch, ProofDocument, seal, seal_assets
from notary.receipts import DECISIONS, Receipt

if TYPE_CHECKING:
    from gateway.service import Gateway

log = logging.getLogger("tds.gateway.notary")

ZERO32 = "0x" + "00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
NO_PURPOSE = "unspecified"
"""Purpose of a receipt whose access named none and has no known grant (e.g. an unsigned request)."""
RECEIPT_PREFIX = "rcpt-"
_RECEIPT_ID = re.compile(r"rcpt-([1-9][0-9]{0,18})\Z")
_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}\Z")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}\Z")
MAX_BATCHES_PER_TICK = 20
FULL_SCAN_S = 60.0
"""How often the worker rescans every access record for stragglers (ids committed out of order)."""

PurposeOf = Callable[[str], "str | None"]


class ReceiptNotFound(NotFound):
    """No receipt with this id (or not one the caller may read)."""


class ReceiptNotSealed(NotFound):
    """The receipt exists but is in no batch yet: no proof until the next seal."""


class AnchoringError(GatewayError):
    """A batch could not be anchored (the chain refused or is unreachable); retried on the next run."""


# ---- tables -------------------------------------------------------------------------------------------


class NotaryBatch(SQLModel, table=True):
    """A sealed Merkle tree of receipts and where (if yet) its root is anchored."""

    __tablename__ = "notary_batches"

    id: int | None = Field(default=None, primary_key=True)
    root: str = Field(unique=True, max_length=HASH_LEN)
    leaf_count: int
    state: str = Field(default="sealed", index=True, max_length=8)  # sealed | anchored
    anchor_tx: str | None = Field(default=None, max_length=HASH_LEN)
    anchor_block: int | None = None
    created_at: float = Field(default_factory=time.time)
    anchored_at: float | None = None


class NotaryMember(SQLModel, table=True):
    """One receipt in one batch: the access record, its leaf index and the receipt as sealed."""

    __tablename__ = "notary_batch_members"

    access_id: int = Field(primary_key=True)  # access_records.id: a receipt is sealed at most once
    batch_id: int = Field(index=True)
    leaf_index: int
    receipt_json: str


class NotaryLease(SQLModel, table=True):
    """Which process runs the notary thread (one row): gateway workers or replicas sharing a database
    would otherwise all seal and anchor, wasting transactions on roots another already anchored."""

    __tablename__ = "notary_lease"

    id: int = Field(default=1, primary_key=True)
    holder: str = Field(max_length=64)
    until: float


# ---- receipts from access records ----------------------------------------------------------------------


def receipt_id_of(access_id: int) -> str:
    """The receipt id of an access record."""
    return f"{RECEIPT_PREFIX}{access_id}"


def access_id_of(receipt_id: str) -> int:
    """The access record id of a receipt id; ReceiptNotFound if it is not ``rcpt-<n>``."""
    m = _RECEIPT_ID.match(receipt_id) if isinstance(receipt_id, str) else None
    if m is None:
        raise ReceiptNotFound(f"no receipt {receipt_id[:80]!r}: receipt ids look like 'rcpt-<n>'")
    return int(m.group(1))


def receipt_of(record: AccessRecord, purpose_of: PurposeOf = lambda _g: None) -> Receipt:
    """The receipt of one access record; missing parts (unsigned or malformed requests) become zeros.

    ``purpose_of(grant_id)`` gives the grant's purpose when the access declared none (it must raise,
    not return None, when it cannot find out, so that sealing is retried rather than wrong).
    """
    assert record.id is not None
    grant = _hex32_or_zero(record.grant_id)
    purpose = record.purpose or (purpose_of(grant) if grant != ZERO32 else None) or NO_PURPOSE
    consumer = record.consumer if record.consumer and _ADDRESS.match(record.consumer) else ZERO_ADDRESS
    return Receipt(
        receipt_id=receipt_id_of(record.id),
        grant_id=grant,
        asset_id=_hex32_or_zero(record.asset_id),
        consumer=consumer,
        purpose=purpose,
        decision=record.decision if record.decision in DECISIONS else "deny",
        byte_count=max(0, int(record.bytes or 0)),
        timestamp=int(record.at),
        content_hash=_hex32_or_zero(record.content_hash),
    )


def _hex32_or_zero(value: str | None) -> str:
    return value.lower() if value and _HEX32.match(value) else ZERO32


@dataclass(frozen=True)
class ReceiptStatus:
    """A receipt and where it stands: pending, accepted (sealed) or anchored."""

    receipt: Receipt
    state: str  # pending | accepted | anchored
    batch_id: int | None = None
    root: str | None = None
    anchor_tx: str | None = None
    anchor_block: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON view (what ``GET /receipts/{id}`` returns)."""
        return {"receipt": self.receipt.to_dict(), "state": self.state, "batch": self.batch_id,
                "root": self.root, "anchor_tx": self.anchor_tx, "anchor_block": self.anchor_block}


@dataclass(frozen=True)
class SealedBatch:
    """What ``seal_pending`` made."""

    batch_id: int
    root: str
    leaf_count: int


@dataclass(frozen=True)
class Anchored:
    """Where a root sits on-chain; ``sent`` is False when it was already there (found, not re-sent)."""

    root: str
    anchor_tx: str
    anchor_block: int
    sent: bool
    gas_used: int | None = None
    batch_id: int | None = None
    anchorer: str | None = None  # who anchored the root (on-chain)


# ---- anchoring a root exactly once ---------------------------------------------------------------------


def anchor_once(anchors: AnchorsClient, root: str, leaf_count: int, kind: int) -> Anchored:
    """Anchor ``root`` unless it is already anchored; either way return its tx and block.

    Reads ``getAnchor(root)`` first; an ``AnchorAlreadyAnchored`` revert (someone anchored it in
    between) is treated as done. Tx and block of an existing anchor come from its RootAnchored event.
    """
    existing = anchors.get(root)
    if existing is None:
        try:
            receipt = anchors.anchor(root, leaf_count, kind)
        except ContractRevert as exc:
            if exc.error_name != "AnchorAlreadyAnchored":
                raise
            existing = anchors.get(root)
            if existing is None:  # pragma: no cover - reverted as anchored but reads as not anchored
                raise
        else:
            return Anchored(root, receipt["transactionHash"].to_0x_hex(), int(receipt["blockNumber"]), True,
                            int(receipt["gasUsed"]), anchorer=str(receipt["from"]))
    if existing["leaf_count"] != leaf_count or existing["kind"] != kind:
        log.warning("root %s was anchored with %s leaves kind %s (expected %s, kind %s)",
                    root, existing["leaf_count"], existing["kind"], leaf_count, kind)
    events = anchors.anchored_events(root, from_block=int(existing["block"]))
    if not events:  # pragma: no cover - node pruned its logs
        raise AnchoringError(f"root {root} is anchored in block {existing['block']} but its event is missing")
    if anchors.sender is not None and str(existing["anchorer"]).lower() != anchors.sender.address.lower():
        log.error("root %s was anchored by %s, not by this notary's key %s: its receipts are not evidence",
                  root, existing["anchorer"], anchors.sender.address)
    return Anchored(root, events[0]["tx"], events[0]["block"], False, anchorer=str(events[0]["anchorer"]))


# ---- the notary ------------------------------------------------------------------------------------------


class Notary:
    """Seals pending receipts into batches, anchors sealed batches, serves receipts and proofs.

    Thread-safe within a process; safe against other processes sharing the database (see module doc).
    Build with :meth:`for_gateway` or pass the parts (``anchors`` may be None: read-only, no anchoring).
    """

    def __init__(
        self,
        engine: Engine,
        anchors: AnchorsClient | None,
        *,
        chain_id: int,
        contract: str,
        purpose_of: PurposeOf = lambda _g: None,
        batch_size: int = 1000,
        provider: str | None = None,
    ) -> None:
        SQLModel.metadata.create_all(
            engine, tables=[NotaryBatch.__table__, NotaryMember.__table__, NotaryLease.__table__])
        self.engine = engine
        self.anchors = anchors
        self.chain_id = chain_id
        self.contract = contract
        self.purpose_of = purpose_of
        self.batch_size = batch_size
        self.provider = provider  # the gateway's provider: named in proof documents
        self.anchorer = anchors.sender.address if anchors is not None and anchors.sender is not None else None
        self._lock = threading.RLock()
        self._batches: OrderedDict[int, Batch] = OrderedDict()
        self._floor = 0  # every access record below this id is sealed (fast path of the worker)

    @classmethod
    def for_gateway(cls, gw: Gateway) -> Notary:
        """The notary of a gateway: its database, AnchorRegistry as the provider, grant purposes."""
        anchors = gw.anchors_tx() if gw.provider is not None else AnchorsClient(gw.chain)
        return cls(gw.db.engine, anchors, chain_id=gw.chain_id, contract=gw.chain.address("AnchorRegistry"),
                   purpose_of=_gateway_purposes(gw), batch_size=gw.settings.notary_batch_size,
                   provider=gw.provider_address)

    # ---- sealing and anchoring ----

    def pending(self, *, fast: bool = False) -> tuple[int, float | None]:
        """(number of pending receipts, time of the oldest one or None)."""
        stmt = self._pending(sa_select(func.count(), func.min(AccessRecord.at)), fast)
        with Session(self.engine) as s:
            count, oldest = s.execute(stmt).one()
        return int(count), oldest

    def seal_pending(self, max_leaves: int | None = None, *, fast: bool = False) -> SealedBatch | None:
        """Seal up to ``max_leaves`` pending receipts (oldest first) into one committed batch; None if none.

        The batch row and its membership are committed in one transaction, before any anchoring.
        """
        limit = max_leaves or self.batch_size
        with self._lock:
            with Session(self.engine) as s:
                records = list(s.exec(self._pending(select(AccessRecord), fast).order_by(col(AccessRecord.id))
                                      .limit(limit)).all())
            if not records:
                return None
            receipts = self._receipts(records)
            batch = seal(receipts, chain_id=self.chain_id, contract=self.contract)
            try:
                batch_id = self._insert_batch(batch.root, records, receipts)
            except IntegrityError:  # another process sealed some of these first: nothing was written
                log.info("lost a sealing race to another process; will retry")
                return None
            self._floor = max(self._floor, int(records[-1].id or 0) + 1)
            self._remember(batch_id, batch)
        log.info("sealed batch %s: %s receipts, root %s", batch_id, len(receipts), batch.root)
        return SealedBatch(batch_id, batch.root, len(receipts))

    def seal_all(self, max_leaves: int | None = None) -> list[SealedBatch]:
        """Seal every pending receipt, in batches of at most ``max_leaves``."""
        sealed: list[SealedBatch] = []
        while (batch := self.seal_pending(max_leaves)) is not None:
            sealed.append(batch)
        return sealed

    def anchor_sealed(self) -> list[Anchored]:
        """Anchor every sealed-but-not-anchored batch (one tx each; none for a root already on-chain)."""
        if self.anchors is None:
            raise AnchoringError("this notary has no signing account: it cannot anchor")
        done = []
        with self._lock:
            with Session(self.engine) as s:
                batches = list(s.exec(select(NotaryBatch).where(col(NotaryBatch.state) == "sealed")
                                      .order_by(col(NotaryBatch.id))).all())
            for b in batches:
                anchored = anchor_once(self.anchors, b.root, b.leaf_count, AnchorsClient.KIND_RECEIPTS)
                with self.engine.begin() as conn:
                    conn.execute(update(NotaryBatch).where(col(NotaryBatch.id) == b.id)
                                 .values(state="anchored", anchor_tx=anchored.anchor_tx,
                                         anchor_block=anchored.anchor_block, anchored_at=time.time()))
                log.info("anchored batch %s root %s in block %s (%s)", b.id, b.root, anchored.anchor_block,
                         "sent" if anchored.sent else "found on-chain")
                done.append(replace(anchored, batch_id=b.id))
        return done

    def lease(self, holder: str, ttl_s: float) -> bool:
        """Take or renew the notary lease for ``holder``; False while another holder's lease is live."""
        now = time.time()
        with self.engine.begin() as conn:
            insert_unless_exists(conn, NotaryLease, "id", id=1, holder=holder, until=now + ttl_s)
            taken = conn.execute(update(NotaryLease).where(
                col(NotaryLease.id) == 1, (col(NotaryLease.holder) == holder) | (col(NotaryLease.until) < now)
            ).values(holder=holder, until=now + ttl_s))
            return int(taken.rowcount or 0) == 1

    def release(self, holder: str) -> None:
        """Give the lease up (at shutdown) so another process can take over at once."""
        with self.engine.begin() as conn:
            conn.execute(update(NotaryLease).where(col(NotaryLease.holder) == holder).values(until=0.0))

    # ---- reading ----

    def status(self, receipt_id: str) -> ReceiptStatus:
        """A receipt and its state; ReceiptNotFound if there is no such access record."""
        access_id = access_id_of(receipt_id)
        with Session(self.engine) as s:
            record = s.get(AccessRecord, access_id)
            if record is None:
                raise ReceiptNotFound(f"no receipt {receipt_id}")
            member = s.get(NotaryMember, access_id)
            batch = s.get(NotaryBatch, member.batch_id) if member is not None else None
        return self._status(record, member, batch)

    def proof(self, receipt_id: str) -> ProofDocument:
        """The receipt's proof document ("accepted" once sealed, "anchored" once its root is on-chain).

        ReceiptNotFound for an unknown id; ReceiptNotSealed while the receipt is still pending.
        """
        access_id = access_id_of(receipt_id)
        with Session(self.engine) as s:
            member = s.get(NotaryMember, access_id)
            batch = s.get(NotaryBatch, member.batch_id) if member is not None else None
            if member is None and s.get(AccessRecord, access_id) is None:
                raise ReceiptNotFound(f"no receipt {receipt_id}")
        if member is None or batch is None:
            raise ReceiptNotSealed(f"receipt {receipt_id} is pending: no proof until the next batch is sealed")
        return self._proof(batch, receipt_id)

    def receipts(
        self, *, grant_id: str | None = None, consumer: str | None = None, after: int = 0, limit: int = 1000
    ) -> list[ReceiptStatus]:
        """Receipts with access id > ``after``, oldest first, optionally one grant's or one consumer's."""
        purpose_of = self._cached_purposes()
        return [self._status(r, m, b, purpose_of) for r, m, b in self._rows(grant_id, consumer, after, limit)]

    def _rows(
        self, grant_id: str | None, consumer: str | None, after: int, limit: int
    ) -> list[tuple[AccessRecord, NotaryMember | None, NotaryBatch | None]]:
        stmt = sa_select(AccessRecord, NotaryMember, NotaryBatch).outerjoin(
            NotaryMember, col(NotaryMember.access_id) == col(AccessRecord.id)
        ).outerjoin(NotaryBatch, col(NotaryBatch.id) == col(NotaryMember.batch_id)).where(
            col(AccessRecord.id) > after)
        if grant_id is not None:
            stmt = stmt.where(col(AccessRecord.grant_id) == grant_id.lower())
        if consumer is not None:
            stmt = stmt.where(col(AccessRecord.consumer) == consumer.lower())
        with Session(self.engine, expire_on_commit=False) as s:
            return [(r, m, b) for r, m, b in s.execute(stmt.order_by(col(AccessRecord.id)).limit(limit)).all()]

    def export(self, chunk: int = 1000) -> Iterator[dict[str, Any]]:
        """Every receipt with its proof (or None while pending): ``{"receipt": ..., "proof": ...}``.

        The auditor's receipts file is these objects, one JSON line each (``tds audit check --receipts``).
        """
        after, purpose_of = 0, self._cached_purposes()
        while page := self._rows(None, None, after, chunk):
            for record, member, batch in page:
                st = self._status(record, member, batch, purpose_of)
                proof = self._proof(batch, st.receipt.receipt_id) if batch is not None else None
                yield {"receipt": st.receipt.to_dict(), "proof": None if proof is None else proof.to_dict()}
            after = int(page[-1][0].id or 0)

    def export_jsonl(self) -> Iterator[str]:
        """:meth:`export` as JSON lines."""
        for entry in self.export():
            yield json.dumps(entry, separators=(",", ":")) + "\n"

    # ---- internals ----

    def _pending(self, stmt: Any, fast: bool) -> Any:
        stmt = stmt.select_from(AccessRecord).outerjoin(
            NotaryMember, col(NotaryMember.access_id) == col(AccessRecord.id)
        ).where(col(NotaryMember.access_id).is_(None))
        return stmt.where(col(AccessRecord.id) >= self._floor) if fast and self._floor else stmt

    def _receipts(self, records: Sequence[AccessRecord]) -> list[Receipt]:
        purpose_of = self._cached_purposes()
        return [receipt_of(r, purpose_of) for r in records]

    def _cached_purposes(self) -> PurposeOf:
        """``purpose_of`` with a cache for one operation (a grant's purpose never changes)."""
        purposes: dict[str, str | None] = {}

        def purpose_of(grant_id: str) -> str | None:
            if grant_id not in purposes:
                purposes[grant_id] = self.purpose_of(grant_id)
            return purposes[grant_id]

        return purpose_of

    def _insert_batch(self, root: str, records: Sequence[AccessRecord], receipts: Sequence[Receipt]) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(insert(NotaryBatch).values(root=root, leaf_count=len(receipts), state="sealed",
                                                             created_at=time.time()))
            batch_id = int(result.inserted_primary_key[0])
            conn.execute(insert(NotaryMember), [
                {"access_id": r.id, "batch_id": batch_id, "leaf_index": i, "receipt_json": rc.to_json()}
                for i, (r, rc) in enumerate(zip(records, receipts))
            ])
        return batch_id

    def _batch(self, batch: NotaryBatch) -> Batch:
        """The sealed tree and its "accepted" proofs, rebuilt from the frozen receipts (cached)."""
        assert batch.id is not None
        with self._lock:
            cached = self._batches.get(batch.id)
            if cached is not None:
                self._batches.move_to_end(batch.id)
                return cached
        with Session(self.engine) as s:
            members = list(s.exec(select(NotaryMember).where(col(NotaryMember.batch_id) == batch.id)
                                  .order_by(col(NotaryMember.leaf_index))).all())
        rebuilt = seal([Receipt.from_json(m.receipt_json) for m in members], chain_id=self.chain_id,
                       contract=self.contract)
        if rebuilt.root != batch.root:
            raise NotaryError(f"batch {batch.id}: stored receipts rebuild to {rebuilt.root}, not {batch.root}")
        self._remember(batch.id, rebuilt)
        return rebuilt

    def _remember(self, batch_id: int, batch: Batch) -> None:
        with self._lock:
            self._batches[batch_id] = batch
            while len(self._batches) > 8:
                self._batches.popitem(last=False)

    def _proof(self, batch: NotaryBatch, receipt_id: str) -> ProofDocument:
        doc = self._batch(batch).proofs[receipt_id]
        if batch.state == "anchored" and batch.anchor_tx and batch.anchor_block is not None:
            return doc.anchored(chain_id=self.chain_id, contract=self.contract, anchor_tx=batch.anchor_tx,
                                anchor_block=batch.anchor_block, anchorer=self.anchorer, provider=self.provider)
        return doc

    def _status(self, record: AccessRecord, member: NotaryMember | None, batch: NotaryBatch | None,
                purpose_of: PurposeOf | None = None) -> ReceiptStatus:
        if member is None or batch is None:
            return ReceiptStatus(receipt_of(record, purpose_of or self.purpose_of), "pending")
        state = "anchored" if batch.state == "anchored" else "accepted"
        return ReceiptStatus(Receipt.from_json(member.receipt_json), state, batch.id, batch.root,
                             batch.anchor_tx, batch.anchor_block)


def _gateway_purposes(gw: Gateway) -> PurposeOf:
    def purpose_of(grant_id: str) -> str | None:
        row = gw.db.grant_request(grant_id)
        if row is not None:
            return row.purpose
        request = gw.view.request_of(grant_id)
        return request.purpose if request is not None else None

    return purpose_of


# ---- the background worker -----------------------------------------------------------------------------


class NotaryWorker:
    """A thread that seals on size (``batch_size`` pending) or on time (oldest pending ``interval_s`` old)
    and anchors every sealed batch; chain errors are logged and retried on the next tick."""

    def __init__(self, notary: Notary, batch_size: int, interval_s: float) -> None:
        self.notary = notary
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.poll_s = min(max(interval_s / 5, 0.05), 1.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_full = 0.0
        self.holder = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.lease_s = max(30.0, 3 * interval_s)

    def start(self) -> None:
        """Start the thread (daemon)."""
        self._thread = threading.Thread(target=self._run, name="tds-notary", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop after its current step and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            self.notary.release(self.holder)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            log.warning("could not release the notary lease")

    @property
    def alive(self) -> bool:
        """Whether the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the worker must outlive a bad tick (chain down, db busy)
                log.exception("notary tick failed; retrying")

    def tick(self, now: float | None = None) -> None:
        """One step, if this process holds the lease: seal what is due, then anchor what is sealed."""
        if not self.notary.lease(self.holder, self.lease_s):
            return
        now = time.time() if now is None else now
        fast = now - self._last_full < FULL_SCAN_S
        if not fast:
            self._last_full = now
        count, oldest = self.notary.pending(fast=fast)
        for _ in range(MAX_BATCHES_PER_TICK):  # under a flood, still anchor between rounds
            due = count >= self.batch_size or (count and oldest is not None and now - oldest >= self.interval_s)
            if not due or self.notary.seal_pending(self.batch_size, fast=fast) is None:
                break
            count, oldest = self.notary.pending(fast=fast)
        self.notary.anchor_sealed()


# ---- bulk asset anchoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchoredAssets:
    """One anchored tree of asset hashes: where it is and one anchored proof per content hash."""

    root: str
    leaf_count: int
    anchor_tx: str
    anchor_block: int
    sent: bool  # False: this exact set was anchored before; nothing was sent
    gas_used: int | None
    proofs: dict[str, ProofDocument]


def anchor_assets(anchors: AnchorsClient, assets: Sequence[tuple[str, int]]) -> AnchoredAssets:
    """Anchor many (content_hash, size) pairs under one root in ONE transaction (kind 2).

    Duplicate pairs are anchored once; one hash with two sizes is an error. Proof documents are keyed
    by lower-case content hash. Running it again for the same set sends nothing and returns the same.
    """
    unique: dict[str, int] = {}
    for content_hash, size in assets:
        key = content_hash.lower()
        if unique.setdefault(key, size) != size:
            raise NotaryError(f"content hash {key} is given with two sizes ({unique[key]} and {size})")
    if not unique:
        raise NotaryError("no assets to anchor")
    contract = anchors.chain.address("AnchorRegistry")
    chain_id = anchors.chain.chain_id
    batch = seal_assets(list(unique.items()), chain_id=chain_id, contract=contract)
    done = anchor_once(anchors, batch.root, len(unique), AnchorsClient.KIND_ASSETS)
    proofs = {h: doc.anchored(chain_id=chain_id, contract=contract, anchor_tx=done.anchor_tx,
                              anchor_block=done.anchor_block, anchorer=done.anchorer) for h, doc in batch.proofs.items()}
    return AnchoredAssets(batch.root, len(unique), done.anchor_tx, done.anchor_block, done.sent, done.gas_used, proofs)


def folder_assets(directory: str | Path) -> dict[Path, tuple[str, int]]:
    """Every regular file under ``directory`` (recursively, sorted) -> (SHA-256 as 0x hex, size)."""
    root = Path(directory)
    if not root.is_dir():
        raise NotaryError(f"{directory} is not a directory")
    return {p: ("0x" + sha256_file(p).hex(), p.stat().st_size) for p in sorted(root.rglob("*")) if p.is_file()}
