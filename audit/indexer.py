"""Follow the TDS contracts' events into the index, block range by block range.

* Idempotent per block: a batch ``[a, b]`` first deletes any rows at blocks >= a, then inserts its
  rows and moves the cursor to ``b`` in the same transaction; ``(tx_hash, log_index)`` is unique.
* Resumable: the cursor (``meta.last_block``) lives in the database; a restart continues after it.
* Reorg-safe: the hash of every block with events and of every batch's last block is stored; when
  the node's hash of the cursor block differs, stored blocks are compared from the top down and
  everything above the highest block that still matches is rolled back, then re-indexed.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel import Session, SQLModel

from audit.db import EVIDENCE_TABLES, BlockRow, IndexDb, Meta
from audit.errors import ChainMovedDuringBatch, IndexMismatch
from audit.rows import rows_for
from chain.logs import BlockRef, ChainEvent, LogSource

LAST_BLOCK = "last_block"


@dataclass(frozen=True)
class IndexRun:
    """What one ``run_once`` did."""

    from_block: int
    to_block: int
    events: int
    rolled_back_to: int | None

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return {"from_block": self.from_block, "to_block": self.to_block, "events": self.events,
                "rolled_back_to": self.rolled_back_to}


class Indexer:
    """Indexes one chain's TDS events into an :class:`audit.db.IndexDb`."""

    def __init__(self, db: IndexDb, source: LogSource, start_block: int = 0, batch_blocks: int = 2000,
                 confirmations: int = 0) -> None:
        self.db = db
        self.source = source
        self.start_block = start_block
        self.batch_blocks = batch_blocks
        self.confirmations = confirmations

    def last_block(self) -> int | None:
        """The last indexed block, or None when nothing is indexed yet."""
        with self.db.session() as s:
            row = s.get(Meta, LAST_BLOCK)
            return int(row.value) if row else None

    def run_once(self) -> IndexRun:
        """Check for a reorg, then index every block up to the head (less confirmations)."""
        self._bind()
        rolled_back = self._handle_reorg()
        last = self.last_block()
        first = self.start_block if last is None else last + 1
        target = self.source.head() - self.confirmations
        total = 0
        a = first
        while a <= target:
            b = min(a + self.batch_blocks - 1, target)
            total += self._index_range(a, b)
            a = b + 1
        return IndexRun(first, max(target, first - 1), total, rolled_back)

    def follow(self, poll_s: float = 1.0, stop_event: threading.Event | None = None) -> None:
        """``run_once`` every ``poll_s`` seconds until ``stop_event`` is set."""
        stop = stop_event or threading.Event()
        while not stop.is_set():
            index_until_stable(self)
            stop.wait(poll_s)

    def rollback_to(self, block: int) -> None:
        """Forget everything above ``block`` (the cursor moves back to it)."""
        with self.db.transaction() as s:
            self._delete_above(s, block)
            self._set_cursor(s, block)

    # ---- internals ---------------------------------------------------------

    def _bind(self) -> None:
        """Refuse an index built for another chain or deployment; record ours on first use."""
        ident = self.source.identity()
        with self.db.transaction() as s:
            for key, value in ident.items():
                row = s.get(Meta, key)
                if row is None:
                    s.add(Meta(key=key, value=value))
                elif row.value != value:
                    raise IndexMismatch(
                        f"the audit index holds {key} {row.value}, the node has {value}: delete the index "
                        "(it rebuilds from the chain) or point TDS_AUDIT_DB_URL elsewhere"
                    )

    def _handle_reorg(self) -> int | None:
        last = self.last_block()
        if last is None:
            return None
        fork = self._last_consistent_block(last)
        if fork == last:
            return None
        self.rollback_to(fork)
        return fork

    def _last_consistent_block(self, last: int) -> int:
        """Highest stored block whose hash the node still has (``start_block - 1`` if none)."""
        head = self.source.head()
        with self.db.session() as s:
            top = s.get(BlockRow, last)
            if top is not None and top.number <= head:
                node = self.source.blocks([last]).get(last)
                if node is not None and node.hash == top.hash:
                    return last
            below = last
            while True:
                query = select(BlockRow).where(BlockRow.number < below).order_by(BlockRow.number.desc())  # type: ignore[arg-type]
                stored = list(s.execute(query.limit(256)).scalars())
                if not stored:
                    return self.start_block - 1
                node_blocks = self.source.blocks([b.number for b in stored if b.number <= head])
                for b in stored:
                    ref = node_blocks.get(b.number)
                    if ref is not None and ref.hash == b.hash:
                        return b.number
                below = stored[-1].number

    def _index_range(self, a: int, b: int) -> int:
        events = self.source.events(a, b)
        refs = self.source.blocks(sorted({e.block_number for e in events} | {b}))
        _check_consistent(events, refs, b)
        rows: dict[type[SQLModel], list[dict[str, Any]]] = defaultdict(list)
        for e in events:
            for model, row in rows_for(e, refs[e.block_number].timestamp):
                rows[model].append(row)
        with self.db.transaction() as s:
            self._delete_above(s, a - 1)
            blocks = [{"number": r.number, "hash": r.hash, "timestamp": r.timestamp} for r in refs.values()]
            s.execute(insert(BlockRow.__table__), blocks)  # type: ignore[attr-defined]
            for model in EVIDENCE_TABLES:
                if rows.get(model):
                    s.execute(insert(model.__table__), _uniform(rows[model]))  # type: ignore[attr-defined]
            self._set_cursor(s, b)
        return len(events)

    def _delete_above(self, s: Session, block: int) -> None:
        for model in EVIDENCE_TABLES:
            table = model.__table__  # type: ignore[attr-defined]
            s.execute(delete(table).where(table.c.block_number > block))
        s.execute(delete(BlockRow.__table__).where(BlockRow.__table__.c.number > block))  # type: ignore[attr-defined]

    @staticmethod
    def _set_cursor(s: Session, block: int) -> None:
        row = s.get(Meta, LAST_BLOCK)
        if row is None:
            s.add(Meta(key=LAST_BLOCK, value=str(block)))
        else:
            row.value = str(block)
            s.add(row)


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every row the same keys (absent ones None): an executemany binds one parameter set."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return [{k: row.get(k) for k in keys} for row in rows]


def _check_consistent(events: list[ChainEvent], refs: dict[int, BlockRef], last: int) -> None:
    if last not in refs:
        raise ChainMovedDuringBatch(f"block {last} disappeared while indexing")
    for e in events:
        ref = refs.get(e.block_number)
        if ref is None or ref.hash != e.block_hash:
            raise ChainMovedDuringBatch(f"block {e.block_number} changed while indexing")


def index_until_stable(indexer: Indexer, attempts: int = 5) -> IndexRun:
    """``run_once``, retried when the chain reorganises in the middle of a batch."""
    for attempt in range(attempts):
        try:
            return indexer.run_once()
        except ChainMovedDuringBatch:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")
