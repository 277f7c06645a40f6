"""The notary: access records -> receipts -> sealed batches -> anchored roots -> proof documents.

Every access decision (allow and deny) is an ``access_records`` row of the ledger
(:mod:`anchoring.ledger`), committed by the gateway before its response is sent, purpose included.
Its receipt (:class:`notary.receipts.Receipt`) is derived from that row alone; its id is
``rcpt-<ledger id>-<access record id>``, unique across database lifetimes. A streamed delivery's record is sealed
only once the stream ended or was cut (its byte count is then final), or ``delivery_grace_s``
after its last checkpoint (a gateway killed mid-stream: the last checkpoint's count). A receipt
moves through three states:

    pending   its access record is committed but it is in no batch yet (no proof)
    accepted  sealed: the batch (root, leaf count) and its membership rows are committed BEFORE the
              anchor transaction is sent; the proof document carries the root, no anchor tx/block
    anchored  the root is on AnchorRegistry; the proof names chain id, contract, anchor tx and block

Crash safety: a crash before sealing leaves receipts pending (sealed on the next run); a crash after
sealing leaves a ``sealed`` batch (anchored on the next run); a crash after the anchor tx but before
recording it is healed from the chain: ``anchor_sealed`` reads ``getAnchor(provider, root)`` first and
takes tx and block from the provider's ``RootAnchored`` event, and an ``AnchorAlreadyAnchored`` revert
counts as done. So a batch is never anchored twice; anchors are keyed by (provider, root), so a root
that someone else anchored first (learnt from an "accepted" proof) is still anchored by this provider.
Two processes cannot seal the same receipt: membership is keyed by the access record id and a batch is
inserted in one transaction with its members.

Journal: before a batch is anchored, its receipts and root are written to
``<journal_dir>/<root>.jsonl`` (:mod:`anchoring.journal`), outside the database, so that ``tds gateway
reconcile`` can rebuild the used counts if the database is lost (see :mod:`gateway.reconcile`).

Tables (in the ledger's database, kept by :mod:`anchoring.schema`): ``notary_batches`` and
``notary_batch_members`` (receipt -> batch, leaf index, the receipt frozen as JSON),
``notary_restored`` (receipts of an earlier database restored by a reconcile, with their batch),
``notary_lease`` (which process runs the worker).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from anchoring.errors import AnchoringError, ReceiptNotFound, ReceiptNotSealed
from anchoring.journal import journal_path, write_journal
from anchoring.settings import NotarySettings
from anchoring.ledger import (
    HASH_LEN,
    ZERO_ADDRESS,
    AccessRecord,
    Ledger,
    access_id_of,
    insert_unless_exists,
    open_engine,
    receipt_of,
    split_receipt_id,
)
from anchoring.schema import upgrade_database
from chain.client import Chain
from chain.contracts import AnchorsClient
from chain.errors import ContractRevert
from chain.keys import Keystore
from chain.settings import ChainSettings
from domain.types import did_pkh
from notary.errors import NotaryError
from notary.proofs import Batch, ProofDocument, seal
from notary.receipts import Receipt

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

log = logging.getLogger("tds.notary")

DELIVERY_GRACE_S = 120.0
"""A streaming record is sealed this long after its last checkpoint even if its stream never ended."""


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


class RestoredReceipt(SQLModel, table=True):
    """A receipt of an earlier database (another ledger id), restored by a reconcile with its batch."""

    __tablename__ = "notary_restored"

    receipt_id: str = Field(primary_key=True, max_length=48)
    batch_id: int = Field(index=True)
    leaf_index: int
    grant_id: str = Field(index=True, max_length=HASH_LEN)
    consumer: str = Field(index=True, max_length=42)
    allowed: bool
    receipt_json: str


class NotaryLease(SQLModel, table=True):
    """Which process runs the notary thread (one row): gateway workers or replicas sharing a database
    would otherwise all seal and anchor, wasting transactions on roots another already anchored."""

    __tablename__ = "notary_lease"

    id: int = Field(default=1, primary_key=True)
    holder: str = Field(max_length=64)
    until: float


NOTARY_TABLES = (NotaryBatch, NotaryMember, RestoredReceipt, NotaryLease)


# ---- receipts and their state -----------------------------------------------------------------------



@dataclass(frozen=True)
class ReceiptStatus:
    """A receipt and where it stands: pending, accepted (sealed) or anchored."""

    receipt: Receipt
    state: str  # pending | accepted | anchored
    batch_id: int | None = None
    root: str | None = None
    anchor_tx: str | None = None
    anchor_block: int | None = None

    def to_dict(self, chain_id: int | None = None) -> dict[str, Any]:
        """JSON view (what ``GET /receipts/{id}`` returns); with ``chain_id``, the consumer's DID beside
        its address (the receipt and its leaf keep the address)."""
        doc = {"receipt": self.receipt.to_dict(), "state": self.state, "batch": self.batch_id,
               "root": self.root, "anchor_tx": self.anchor_tx, "anchor_block": self.anchor_block}
        if chain_id is not None:
            doc["consumer_did"] = consumer_did(chain_id, self.receipt.consumer)
        return doc


def consumer_did(chain_id: int, address: str) -> str | None:
    """``did:pkh:eip155:<chain>:<address>`` of a receipt's consumer (None for the zero address)."""
    return None if address.lower() == ZERO_ADDRESS else did_pkh(chain_id, address)


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
    anchorer: str | None = None  # who sent the anchoring transaction (the provider or its notary key)
    provider: str | None = None  # on whose behalf the root is anchored (the key of the anchor on-chain)


# ---- anchoring a root exactly once ---------------------------------------------------------------------


def anchor_once(anchors: AnchorsClient, root: str, leaf_count: int, kind: int) -> Anchored:
    """Anchor ``root`` on behalf of the sender's provider unless that provider anchored it already; either
    way return its tx and block.

    Anchors are keyed by (provider, root): only an anchor of the sender's provider (sent by its own key
    or one of its notary keys) counts as done. The same root anchored by anyone else (a squatter who
    learnt it from an "accepted" proof or the pending transaction) is not ours and does not stop us.
    Reads ``getAnchor(provider, root)`` first; an ``AnchorAlreadyAnchored`` revert (we anchored it in
    between, e.g. another notary process) is treated as done. Tx and block of an existing anchor come
    from its RootAnchored event.
    """
    if anchors.sender is None:
        raise AnchoringError("this notary has no signing account: it cannot anchor")
    provider = _principal(anchors, kind)
    existing = anchors.get(provider, root)
    if existing is None:
        try:
            receipt = anchors.anchor(root, leaf_count, kind)
        except ContractRevert as exc:
            if exc.error_name != "AnchorAlreadyAnchored":
                raise
            existing = anchors.get(provider, root)
            if existing is None:  # pragma: no cover - reverted as anchored but reads as not anchored
                raise
        else:
            return Anchored(root, receipt["transactionHash"].to_0x_hex(), int(receipt["blockNumber"]), True,
                            int(receipt["gasUsed"]), anchorer=str(receipt["from"]), provider=provider)
    if existing["leaf_count"] != leaf_count or existing["kind"] != kind:
        log.warning("root %s was anchored for %s with %s leaves kind %s (expected %s, kind %s)",
                    root, provider, existing["leaf_count"], existing["kind"], leaf_count, kind)
    events = anchors.anchored_events(root, provider=provider, from_block=int(existing["block"]))
    if not events:  # pragma: no cover - node pruned its logs
        raise AnchoringError(f"root {root} is anchored in block {existing['block']} but its event is missing")
    return Anchored(root, events[0]["tx"], events[0]["block"], False, anchorer=events[0]["anchorer"],
                    provider=provider)


def _principal(anchors: AnchorsClient, kind: int) -> str:
    """The provider the sender anchors for: as the contract says, else (a suspended provider, a revoked
    key: ``anchorRoot`` will say why) the provider its notary key is bound to, else the sender itself."""
    assert anchors.sender is not None
    sender = anchors.sender.address
    principal = anchors.principal_of(sender, kind)
    if principal is not None:
        return principal
    bound, _active = anchors.notary_of(sender)
    return bound or sender

# ---- the notary ------------------------------------------------------------------------------------------


class Notary:
    """Seals pending receipts into batches, anchors sealed batches, serves receipts and proofs.

    Thread-safe within a process; safe against other processes sharing the database (see module doc).
    Build with :meth:`open` from :class:`anchoring.settings.NotarySettings`, or pass the parts (``anchors``
    may be None: read-only, no anchoring; the gateway passes its own, sharing its provider key's nonces).
    """

    def __init__(
        self,
        engine: Engine,
        anchors: AnchorsClient | None,
        *,
        chain_id: int,
        contract: str,
        batch_size: int = 1000,
        provider: str | None = None,
        journal_dir: Path | None = None,
        delivery_grace_s: float = DELIVERY_GRACE_S,
    ) -> None:
        upgrade_database(engine)  # the notary process may open the database before the gateway does
        self.engine = engine
        self.ledger = Ledger.load(engine)
        self.journal_dir = journal_dir  # None: no journal (tests, read-only notaries)
        self.delivery_grace_s = delivery_grace_s
        self.anchors = anchors
        self.chain_id = chain_id
        self.contract = contract
        self.batch_size = batch_size
        self.provider = provider  # the gateway's provider: named in proof documents
        self.anchorer = anchors.sender.address if anchors is not None and anchors.sender is not None else None
        self._lock = threading.RLock()
        self._batches: OrderedDict[int, Batch] = OrderedDict()
        self._floor = 0  # every access record below this id is sealed (fast path of the worker)

    @classmethod
    def open(cls, settings: NotarySettings, chain: Chain | None = None, engine: Engine | None = None,
             account: LocalAccount | None = None) -> Notary:
        """The notary of ``settings``: the ledger's database, AnchorRegistry signed by ``account`` or the
        keystore's ``settings.account`` (read-only when the keystore has no such account). Opens no store
        and no key but the anchoring one."""
        chain_settings = ChainSettings.load(settings.home)
        chain = chain or Chain.connect(chain_settings)
        keystore = Keystore(chain_settings.keystore_dir)
        if account is None and settings.account in keystore.names():
            account = keystore.account(settings.account)
        if account is not None:
            anchors, provider = AnchorsClient(chain, chain.sender(account)), str(account.address)
        else:
            anchors, provider = AnchorsClient(chain), None
        return cls(engine or open_engine(settings.database_url), anchors, chain_id=chain.chain_id,
                   contract=chain.address("AnchorRegistry"), batch_size=settings.batch_size, provider=provider,
                   journal_dir=settings.journal_dir, delivery_grace_s=settings.delivery_grace_s)

    def reload_ledger(self) -> None:
        """Re-read the ledger epochs (a reconcile may have started one)."""
        self.ledger = Ledger.load(self.engine)

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
            self.reload_ledger()
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
            self._floor = max(self._floor, self._next_floor(int(records[-1].id or 0)))
            self._remember(batch_id, batch)
            self._journal(batch_id, batch.root, receipts)
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
                self._ensure_journal(b)  # no root goes on-chain that the journal cannot give back
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
            if int(taken.rowcount or 0) == 1:
                return True
            current = conn.execute(sa_select(NotaryLease.holder).where(col(NotaryLease.id) == 1)).scalar()
            if current is None or not holder_is_dead(str(current)):
                return False
            log.warning("notary lease holder %s is dead: taking over its lease at once", current)
            taken = conn.execute(update(NotaryLease).where(col(NotaryLease.id) == 1, col(NotaryLease.holder) == current)
                                 .values(holder=holder, until=now + ttl_s))
            return int(taken.rowcount or 0) == 1

    def release(self, holder: str) -> None:
        """Give the lease up (at shutdown) so another process can take over at once."""
        with self.engine.begin() as conn:
            conn.execute(update(NotaryLease).where(col(NotaryLease.holder) == holder).values(until=0.0))

    # ---- reading ----

    def status(self, receipt_id: str) -> ReceiptStatus:
        """A receipt and its state; ReceiptNotFound if there is no such access record."""
        restored = self._restored(receipt_id)
        if restored is not None:
            return restored[0]
        access_id = access_id_of(receipt_id, self.ledger)
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
        restored = self._restored(receipt_id)
        if restored is not None:
            return self._proof(restored[1], receipt_id)
        access_id = access_id_of(receipt_id, self.ledger)
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
        return [self._status(r, m, b) for r, m, b in self._rows(grant_id, consumer, after, limit)]

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
        for st, batch in self._restored_all():  # an earlier database's receipts, restored by a reconcile
            proof = self._proof(batch, st.receipt.receipt_id)
            yield {"receipt": st.receipt.to_dict(), "proof": proof.to_dict(),
                   "consumer_did": consumer_did(self.chain_id, st.receipt.consumer)}
        after = 0
        while page := self._rows(None, None, after, chunk):
            for record, member, batch in page:
                st = self._status(record, member, batch)
                proof = self._proof(batch, st.receipt.receipt_id) if batch is not None else None
                yield {"receipt": st.receipt.to_dict(), "proof": None if proof is None else proof.to_dict(),
                       "consumer_did": consumer_did(self.chain_id, st.receipt.consumer)}
            after = int(page[-1][0].id or 0)

    def export_jsonl(self) -> Iterator[str]:
        """:meth:`export` as JSON lines."""
        for entry in self.export():
            yield json.dumps(entry, separators=(",", ":")) + "\n"

    # ---- internals ----

    def _pending(self, stmt: Any, fast: bool) -> Any:
        stale = time.time() - self.delivery_grace_s  # a stream that stopped reporting this long ago is over
        stmt = stmt.select_from(AccessRecord).outerjoin(
            NotaryMember, col(NotaryMember.access_id) == col(AccessRecord.id)
        ).where(col(NotaryMember.access_id).is_(None)).where(
            col(AccessRecord.streaming).is_(False)
            | (func.coalesce(col(AccessRecord.checkpoint_at), col(AccessRecord.at)) < stale))
        return stmt.where(col(AccessRecord.id) >= self._floor) if fast and self._floor else stmt

    def _next_floor(self, last: int) -> int:
        """The fast path's floor after sealing up to ``last``: past it, unless a record below it is still open
        (a stream or a service call in flight, skipped by this batch), which the fast path must see again."""
        with Session(self.engine) as s:
            open_below = s.exec(select(func.min(AccessRecord.id)).where(
                col(AccessRecord.streaming).is_(True), col(AccessRecord.id) < last)).one()
        return int(open_below) if open_below is not None else last + 1

    def _receipts(self, records: Sequence[AccessRecord]) -> list[Receipt]:
        return [receipt_of(r, self.ledger.of(int(r.id or 0))) for r in records]

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
            members: list[Any] = list(s.exec(select(NotaryMember).where(col(NotaryMember.batch_id) == batch.id)
                                             .order_by(col(NotaryMember.leaf_index))).all())
            if not members:
                members = list(s.exec(select(RestoredReceipt).where(col(RestoredReceipt.batch_id) == batch.id)
                                      .order_by(col(RestoredReceipt.leaf_index))).all())
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

    def _status(self, record: AccessRecord, member: NotaryMember | None, batch: NotaryBatch | None
                ) -> ReceiptStatus:
        if member is None or batch is None:
            return ReceiptStatus(receipt_of(record, self.ledger.of(int(record.id or 0))), "pending")
        state = "anchored" if batch.state == "anchored" else "accepted"
        return ReceiptStatus(Receipt.from_json(member.receipt_json), state, batch.id, batch.root,
                             batch.anchor_tx, batch.anchor_block)


    def _restored(self, receipt_id: str) -> tuple[ReceiptStatus, NotaryBatch] | None:
        """A receipt an earlier database handed out, restored by a reconcile (None if not one)."""
        ledger_id, access_id = split_receipt_id(receipt_id)
        if self.ledger.of(access_id) == ledger_id:
            return None
        with Session(self.engine) as s:
            row = s.get(RestoredReceipt, receipt_id)
            batch = s.get(NotaryBatch, row.batch_id) if row is not None else None
        if row is None or batch is None:
            raise ReceiptNotFound(f"no receipt {receipt_id}")
        return self._restored_status(row, batch), batch

    def _restored_all(self) -> Iterator[tuple[ReceiptStatus, NotaryBatch]]:
        with Session(self.engine) as s:
            rows = s.execute(sa_select(RestoredReceipt, NotaryBatch).join(
                NotaryBatch, col(NotaryBatch.id) == col(RestoredReceipt.batch_id))
                .order_by(col(RestoredReceipt.batch_id), col(RestoredReceipt.leaf_index))).all()
        for row, batch in rows:
            yield self._restored_status(row, batch), batch

    @staticmethod
    def _restored_status(row: RestoredReceipt, batch: NotaryBatch) -> ReceiptStatus:
        state = "anchored" if batch.state == "anchored" else "accepted"
        return ReceiptStatus(Receipt.from_json(row.receipt_json), state, batch.id, batch.root, batch.anchor_tx,
                             batch.anchor_block)

    # ---- the journal (outside the database: what a reconcile rebuilds from) ----

    def _journal(self, batch_id: int, root: str, receipts: Sequence[Receipt]) -> None:
        if self.journal_dir is not None:
            write_journal(self.journal_dir, root, receipts, chain_id=self.chain_id, contract=self.contract,
                          ledger=self.ledger.current, batch_id=batch_id)

    def _ensure_journal(self, batch: NotaryBatch) -> None:
        if self.journal_dir is None or journal_path(self.journal_dir, batch.root).exists():
            return
        with Session(self.engine) as s:
            members = list(s.exec(select(NotaryMember).where(col(NotaryMember.batch_id) == batch.id)
                                  .order_by(col(NotaryMember.leaf_index))).all())
        receipts = [Receipt.from_json(m.receipt_json) for m in members]
        if receipts:
            self._journal(int(batch.id or 0), batch.root, receipts)


# ---- the lease holder ----------------------------------------------------------------------------------


_HOST = socket.gethostname()[:32]


def holder_id() -> str:
    """A notary lease holder id: ``host/pid/random`` (a dead pid on this host frees its lease at once)."""
    return f"{_HOST}/{os.getpid()}/{uuid.uuid4().hex[:12]}"


def holder_is_dead(holder: str) -> bool:
    """Whether a lease holder is a process of this host that no longer exists."""
    host, _, rest = holder.partition("/")
    pid_text = rest.partition("/")[0]
    if host != _HOST or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. EPERM: it exists (another user's)
        return False
    return False
