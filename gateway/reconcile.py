"""Losing the gateway database must never give a used count back: detect it, refuse, reconcile.

The gateway counts uses in its database; the chain holds the roots of the receipts it anchored
(``RootAnchored`` with provider = this gateway's provider, kind 1: sent by the provider's key or by a
notary key it registered; a root someone else anchored for themselves is not this gateway's). A
database that does not know one of those roots has lost accesses (deleted, replaced by an old
backup): serving from it would hand used counts back, accept used nonces again and reuse receipt
ids. So:

- :class:`LedgerWatch` checks, before the gateway serves anything (and again every ``retry_s``
  while not ok), that every such root is a batch of its database. Until then every route but
  ``/health``, ``/eip712`` and the OpenAPI pages answers 503 ``ledger_unreconciled`` (or
  ``chain_unavailable`` while the chain cannot be read: the check fails closed). :class:`LedgerGuard`
  is the ASGI middleware that does it.
- :func:`reconcile` (``tds gateway reconcile``) rebuilds from receipts that survive the database
  (read and checked by :mod:`anchoring.recovery`; this module applies them): the notary's journal
  (``<home>/gateway/journal/<root>.jsonl``, written before each anchor) and auditor exports (``tds
  audit receipts``, ``--receipts FILE``). Every batch must rebuild to its root, and an anchored
  root's leaf count must match the chain; a journal that does not is refused.
  If some anchored root has no receipts anywhere, it refuses and lists them. Otherwise, in one
  transaction: the batches and their receipts are restored (proofs keep working), each grant's used
  count grows by its restored allowed receipts, and journal batches that were sealed but never
  anchored come back as sealed (the notary anchors them).
- Nonces are gone with the database, so a call signed before the loss could be replayed while it
  has not expired. The rule: after a reconcile that started at ``t``, a signed call is refused
  (401 ``signed_before_reconcile``) unless its expiry is after ``t + max_request_ttl_s +
  clock_skew_s``. Sound because the old gateway only accepted calls expiring at most
  ``max_request_ttl_s + clock_skew_s`` after they arrived, and every one arrived before ``t``; cheap
  because a client signing with the longest allowed expiry is refused for ``clock_skew_s`` at most.
  Session tokens hold no nonce and are unaffected.
- Receipt ids carry the database's ledger id (``rcpt-<ledger>-<n>``). When restored receipts carry
  this database's own ledger id (an old backup), the reconcile starts a new epoch (a new ledger id
  from the next access record on), so no id is handed out twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, update
from sqlalchemy import select as sa_select
from starlette.types import ASGIApp, Receive, Scope, Send

from anchoring import recovery
from anchoring.errors import RecoveryRefused
from anchoring.journal import journal_dir
from anchoring.ledger import AccessRecord, LedgerEpoch, insert_unless_exists, new_ledger_id, split_receipt_id
from anchoring.notary import NotaryBatch, NotaryMember, RestoredReceipt
from anchoring.recovery import RecoveredBatch
from chain.contracts import AnchorsClient
from chain.errors import ChainError
from gateway.db import UsageCounter
from gateway.errors import (
    ChainUnavailableError,
    GatewayError,
    LedgerUnreconciled,
    SignedBeforeReconcile,
    error_status,
    send_error,
)

if TYPE_CHECKING:
    from gateway.service import Gateway

log = logging.getLogger("tds.gateway.ledger")

OPEN_PATHS = frozenset({"/health", "/eip712", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
"""Served whatever the ledger's state (they use no count, nonce or receipt)."""
FIX = "restore the gateway database from a backup, or run `tds gateway reconcile`"


class ReconcileRefused(GatewayError):
    """The receipts at hand cannot rebuild the ledger (missing roots, a journal that does not match)."""

    def __init__(self, message: str, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


# ---- what the chain says this gateway anchored (read by anchoring.recovery) ------------------------------


def anchored_roots(gw: Gateway) -> dict[str, dict[str, Any]]:
    """Receipts roots anchored on behalf of this gateway's provider (by its key or its notary keys):
    root -> its RootAnchored event."""
    anchors = AnchorsClient(gw.chain)
    with _reading_roots():
        return recovery.anchored_roots(anchors, gw.provider_address)


def missing_roots(gw: Gateway) -> list[str]:
    """Anchored roots the database does not know (chain read first: a root anchored in between is known)."""
    anchors = AnchorsClient(gw.chain)
    with _reading_roots():
        return recovery.missing_roots(anchors, gw.provider_address, gw.db.engine)


@contextmanager
def _reading_roots() -> Iterator[None]:
    try:
        yield
    except ChainError as exc:
        raise ChainUnavailableError(f"cannot read the anchored receipts roots: {exc}") from exc


# ---- the check before serving ------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerState:
    """Whether the database holds every receipts root the chain says this gateway anchored."""

    state: str  # unchecked | ok | unreconciled
    missing: tuple[str, ...] = ()
    message: str = "not checked yet"
    ledger_id: str = ""
    replay_floor: int = 0
    checked_at: float = 0.0

    @property
    def ok(self) -> bool:
        """Serving allowed."""
        return self.state == "ok"

    def to_json(self) -> dict[str, Any]:
        """As /health shows it."""
        return {"state": self.state, "ledger_id": self.ledger_id or None, "missing_roots": list(self.missing),
                "message": self.message}


class LedgerWatch:
    """The ledger check of one serving process: run before the first request, retried while not ok."""

    def __init__(self, gw: Gateway, on_ok: Callable[[], Sequence[Any]] = lambda: (), retry_s: float = 1.0) -> None:
        self.gw = gw
        self.on_ok = on_ok  # objects with reload_ledger() (the app's notary)
        self.retry_s = retry_s
        self.state = LedgerState("unchecked")
        self._lock = threading.Lock()
        self._error: GatewayError = ChainUnavailableError(f"the gateway has not checked its ledger yet ({FIX})")

    def refresh(self) -> LedgerState:
        """The state, checked again unless ok (at most every ``retry_s``)."""
        with self._lock:
            if self.state.ok or time.time() - self.state.checked_at < self.retry_s:
                return self.state
            self.state = self._check()
            return self.state

    def refusal(self) -> GatewayError | None:
        """The error every guarded request gets now (None: serve)."""
        return None if self.state.ok else self._error

    def _check(self) -> LedgerState:
        now = time.time()
        try:
            missing = missing_roots(self.gw)
        except GatewayError as exc:
            self._error = ChainUnavailableError(f"cannot check the gateway ledger against the chain: {exc}")
            log.warning("ledger check: %s", exc)
            return LedgerState("unchecked", message=str(self._error), checked_at=now)
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            message = (f"the chain holds {len(missing)} receipts root(s) this gateway anchored that its database "
                       f"does not know ({shown}): the database was lost or replaced; {FIX}")
            self._error = LedgerUnreconciled(message)
            log.error("ledger: %s", message)
            return LedgerState("unreconciled", tuple(missing), message, self.gw.db.ledger_id, checked_at=now)
        self.gw.db.reload_ledger()
        for other in self.on_ok():
            other.reload_ledger()
        floor = replay_floor(self.gw)
        return LedgerState("ok", (), "every anchored receipts root is in the database", self.gw.db.ledger_id,
                           floor, now)


def replay_floor(gw: Gateway) -> int:
    """Signed calls expiring at or before this (unix s) are refused (0: none): set by a reconcile."""
    with gw.db.engine.connect() as conn:
        return int(conn.execute(sa_select(func.max(LedgerEpoch.replay_floor))).scalar() or 0)


class LedgerGuard:
    """ASGI middleware: nothing but the open paths is served until the ledger check passes; after a
    reconcile, signed calls that may predate it are refused."""

    def __init__(self, app: ASGIApp, watch: LedgerWatch) -> None:
        self.app = app
        self.watch = watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        state = self.watch.state
        if not state.ok:
            import anyio.to_thread

            state = await anyio.to_thread.run_sync(self.watch.refresh)
        refusal = self.watch.refusal()
        if refusal is None and state.replay_floor:
            refusal = _predates(scope, state.replay_floor)
        if refusal is not None:
            retry = {"Retry-After": "5"} if error_status(refusal)[0] == 503 else None
            await send_error(send, refusal, retry)
            return
        await self.app(scope, receive, send)


def _predates(scope: Scope, floor: int) -> GatewayError | None:
    for name, value in scope.get("headers", []):
        if name == b"x-tds-expiry" and value.isdigit() and len(value) <= 12 and int(value) <= floor:
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(floor))
            return SignedBeforeReconcile(
                f"this call expires by {when} and may have been signed before the gateway's database was "
                f"reconciled (its nonce could have been used before): sign it again with an expiry after {when}")
    return None


# ---- reconcile -------------------------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    """What a reconcile did."""

    anchored_roots: int
    known_roots: int
    restored: list[dict[str, Any]] = field(default_factory=list)  # {"root", "receipts", "state", "source"}
    used: dict[str, tuple[int, int]] = field(default_factory=dict)  # grant id -> (before, after)
    ledger_id: str = ""
    new_epoch: bool = False
    replay_floor: int = 0
    skipped: list[str] = field(default_factory=list)  # why some receipts at hand were not used

    def to_json(self) -> dict[str, Any]:
        """JSON view (``tds gateway reconcile --json``)."""
        return {"anchored_roots": self.anchored_roots, "known_roots": self.known_roots, "restored": self.restored,
                "used": {g: {"before": b, "after": a} for g, (b, a) in self.used.items()},
                "ledger_id": self.ledger_id, "new_epoch": self.new_epoch, "replay_floor": self.replay_floor,
                "skipped": self.skipped}


def reconcile(gw: Gateway, receipts_files: Sequence[Path] = (), journal: Path | None = None) -> ReconcileReport:
    """Rebuild the ledger from the journal and receipts files; ReconcileRefused (nothing changed) if it cannot.

    Safe to run again (a second run finds every root known and changes nothing but the replay floor).
    """
    started = time.time()
    anchored = anchored_roots(gw)
    known = recovery.known_roots(gw.db.engine)
    report = ReconcileReport(len(anchored), len(anchored.keys() & known))
    try:
        found = recovery.recover(anchored, known, journal or journal_dir(gw.settings.gateway_dir), receipts_files,
                                 chain_id=gw.chain_id)
    except RecoveryRefused as exc:
        raise ReconcileRefused(str(exc), exc.missing) from exc
    report.skipped += found.skipped
    _apply(gw, found.batches, anchored, report, started)
    return report


def _apply(gw: Gateway, found: dict[str, RecoveredBatch], anchored: dict[str, dict[str, Any]],
           report: ReconcileReport, started: float) -> None:
    db = gw.db
    ledger = db.ledger
    floor = int(started) + 1 + gw.settings.max_request_ttl_s + gw.settings.clock_skew_s
    added: dict[str, int] = {}
    new_epoch = False
    with db.engine.begin() as conn:
        live_ids = set(conn.execute(sa_select(AccessRecord.id)).scalars())
        for batch in found.values():
            event = anchored.get(batch.root)
            values = {"root": batch.root, "leaf_count": len(batch.receipts), "created_at": started,
                      "state": "anchored" if event else "sealed",
                      "anchor_tx": event["tx"] if event else None, "anchor_block": event["block"] if event else None,
                      "anchored_at": started if event else None}
            batch_id = int(conn.execute(insert(NotaryBatch).values(**values)).inserted_primary_key[0])
            for index, r in enumerate(batch.receipts):
                ledger_id, number = split_receipt_id(r.receipt_id)
                if ledger_id in ledger.ids() and ledger.of(number) == ledger_id and number in live_ids:
                    # the access record is still here (counted already): it joins its batch
                    conn.execute(insert(NotaryMember).values(access_id=number, batch_id=batch_id, leaf_index=index,
                                                             receipt_json=r.to_json()))
                    continue
                new_epoch = new_epoch or ledger_id in ledger.ids()
                conn.execute(insert(RestoredReceipt).values(
                    receipt_id=r.receipt_id, batch_id=batch_id, leaf_index=index, grant_id=r.grant_id,
                    consumer=r.consumer.lower(), allowed=r.decision == "allow", receipt_json=r.to_json()))
                if r.decision == "allow":
                    added[r.grant_id] = added.get(r.grant_id, 0) + 1
            report.restored.append({"root": batch.root, "receipts": len(batch.receipts),
                                    "state": values["state"], "source": batch.source})
        for grant_id, count in sorted(added.items()):
            before = conn.execute(sa_select(UsageCounter.used).where(UsageCounter.grant_id == grant_id)).scalar()
            insert_unless_exists(conn, UsageCounter, "grant_id", grant_id=grant_id, used=0,
                                 max_count=_max_count(gw, grant_id, count))
            conn.execute(update(UsageCounter).where(UsageCounter.grant_id == grant_id)
                         .values(used=UsageCounter.used + count))
            report.used[grant_id] = (int(before or 0), int(before or 0) + count)
        if new_epoch:  # restored receipts carry this database's own ledger id: the next records get a new one
            first = max(live_ids | {0}) + 1
            conn.execute(insert(LedgerEpoch).values(ledger_id=new_ledger_id(), first_access_id=first,
                                                    created_at=started, reconciled_at=started, replay_floor=floor))
        else:
            current = max(first for first, _l in ledger.epochs)
            conn.execute(update(LedgerEpoch).where(LedgerEpoch.first_access_id == current)
                         .values(reconciled_at=started, replay_floor=floor))
    db.reload_ledger()
    report.ledger_id, report.new_epoch, report.replay_floor = db.ledger_id, new_epoch, floor
    log.warning("ledger reconciled: %s batch(es) restored, used counts of %s grant(s) raised; signed calls "
                "expiring by %s are refused", len(found), len(added), floor)


def _max_count(gw: Gateway, grant_id: str, used: int) -> int:
    row = gw.db.grant_request(grant_id)
    request = row.request() if row is not None else gw.view.request_of(grant_id)
    return int(request.max_count) if request is not None else used


def install_ledger_guard(app: Any, gw: Gateway) -> LedgerWatch:
    """Guard ``app`` (see :class:`LedgerGuard`); the watch is ``app.state.ledger`` (for /health)."""
    watch = LedgerWatch(gw, lambda: [n for n in [getattr(app.state, "notary", None)] if n is not None])
    app.state.ledger = watch
    app.add_middleware(LedgerGuard, watch=watch)
    return watch
