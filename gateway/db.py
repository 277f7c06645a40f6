"""The gateway's database (SQLModel): grant requests, single-use nonces, access records, usage counters.

Works on SQLite (the embedded default, WAL mode) and PostgreSQL alike: the only concurrency-critical
statements are an INSERT guarded by a primary key (nonces) and a conditional UPDATE
(``used = used + 1 WHERE used < max_count``) whose row count says whether an access was granted.

The access ledger's tables (``access_records``, ``ledger_epochs``: :mod:`anchoring.ledger`) live in
this database too: the gateway is their one writer (:meth:`Database.record_access`,
:meth:`Database.consume` with the record in the same transaction, the streaming checkpoints), the
notary reads them. A reconcile (``gateway.reconcile``) may start a new ledger epoch. A SQLite file
(and its -wal/-shm, which SQLite creates with the main file's mode) is created 0600, like the keys.
:meth:`Database.connect` brings the schema up to date first (alembic revisions: :mod:`anchoring.schema`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from enum import Enum
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, insert, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from anchoring.ledger import (
    HASH_LEN,
    LEDGER_TABLES,
    AccessRecord,
    Ledger,
    LedgerEpoch,
    insert_unless_exists,
    open_engine,
)
from anchoring.schema import upgrade_database
from config.schema import SchemaTooNew
from domain.types import GrantRequest
from gateway.errors import DatabaseUnavailable
from notary.calls import call_evidence, evidence_digest


class GrantState(str, Enum):
    """Lifecycle of a grant request at this gateway."""

    PENDING = "pending"
    APPROVED = "approved"  # approved by the provider, being put on-chain
    ISSUED = "issued"
    DENIED = "denied"
    FAILED = "failed"  # approval tried, the chain refused it
    REVOKED = "revoked"


class GrantRequestRow(SQLModel, table=True):
    """A consumer-signed grant request and what became of it."""

    __tablename__ = "grant_requests"

    grant_id: str = Field(primary_key=True, max_length=HASH_LEN)
    asset_id: str = Field(index=True, max_length=HASH_LEN)
    consumer: str = Field(index=True, max_length=42)
    purpose: str
    request_json: str
    signature: str
    state: str = Field(default=GrantState.PENDING.value, index=True, max_length=16)
    reason: str = ""
    tx: str = ""
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)

    def request(self) -> GrantRequest:
        """The signed request (a row written before requests carried a policy epoch reads epoch 0, which no
        policy has: UsageGrants refuses it, as it refuses a request signed for another deployment)."""
        data = json.loads(self.request_json)
        data.setdefault("policy_epoch", 0)
        return GrantRequest.from_json(data)

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "grant_id": self.grant_id,
            "state": self.state,
            "reason": self.reason,
            "tx": self.tx or None,
            "request": json.loads(self.request_json),
            "signature": self.signature,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class UsedNonce(SQLModel, table=True):
    """A nonce a signer has used (single use, kept until its request expires)."""

    __tablename__ = "used_nonces"

    signer: str = Field(primary_key=True, max_length=42)
    nonce: str = Field(primary_key=True, max_length=80)
    expiry: int = Field(index=True, sa_type=BigInteger)  # uint32 > 2**31 after 2038


class UsageCounter(SQLModel, table=True):
    """Accesses used per grant; ``used`` never exceeds ``max_count``."""

    __tablename__ = "usage_counters"

    grant_id: str = Field(primary_key=True, max_length=HASH_LEN)
    used: int = 0
    max_count: int


class ServiceCall(SQLModel, table=True):
    """The evidence of one service call (``notary.calls``); its access record's content hash is the
    SHA-256 of this evidence."""

    __tablename__ = "service_calls"

    access_id: int = Field(primary_key=True, sa_type=BigInteger)
    method: str = Field(max_length=8)
    target: str
    request_sha256: str = Field(max_length=HASH_LEN)
    status: int
    response_sha256: str = Field(max_length=HASH_LEN)
    bytes: int = Field(sa_type=BigInteger)

    def evidence(self) -> dict[str, Any]:
        """The evidence document (its SHA-256 is the receipt's content hash)."""
        return call_evidence(self.method, self.target, self.request_sha256, self.status, self.response_sha256,
                             self.bytes)


JOB_ACTIVE = ("queued", "running")
"""A job in these states has not ended: it has no evidence, no result and may still be cancelled."""


class ComputeJob(SQLModel, table=True):
    """One compute job (``gateway.jobs``): what was asked, how it ran, what left. Its access record's content
    hash is the SHA-256 of its evidence (``notary.jobs``) once it ends."""

    __tablename__ = "compute_jobs"

    job_id: str = Field(primary_key=True, max_length=32)
    access_id: int = Field(index=True, sa_type=BigInteger)
    grant_id: str = Field(index=True, max_length=HASH_LEN)
    consumer: str = Field(index=True, max_length=42)
    asset_id: str = Field(max_length=HASH_LEN)
    algorithm_id: str = Field(max_length=HASH_LEN)
    params_json: str = "{}"
    params_sha256: str = Field(max_length=HASH_LEN)
    epsilon_micros: int = Field(default=0, sa_type=BigInteger)
    state: str = Field(default="queued", index=True, max_length=16)
    cancel_requested: bool = False
    exit_status: int | None = None
    cpu_ms: int = Field(default=0, sa_type=BigInteger)
    max_rss_kb: int = Field(default=0, sa_type=BigInteger)
    wall_ms: int = Field(default=0, sa_type=BigInteger)
    bytes_out: int = Field(default=0, sa_type=BigInteger)
    output_sha256: str | None = Field(default=None, max_length=HASH_LEN)
    output_kind: str = Field(default="", max_length=16)
    problem: str = ""
    log_tail: str = ""
    sandbox: str = Field(default="", max_length=16)
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    result_expires_at: float | None = None

    @property
    def ended(self) -> bool:
        """Whether the job left the queue and its run for good (succeeded, failed, cancelled, timed out)."""
        return self.state not in JOB_ACTIVE

    def result_expired(self, now: float | None = None) -> bool:
        """Whether the retention of its released result is over."""
        return self.result_expires_at is not None and self.result_expires_at <= (time.time() if now is None else now)


class PrivacySpend(SQLModel, table=True):
    """Epsilon spent per grant, in millionths; never above the budget in force when a job reserved it."""

    __tablename__ = "privacy_spend"

    grant_id: str = Field(primary_key=True, max_length=HASH_LEN)
    spent_micros: int = Field(default=0, sa_type=BigInteger)


class Incident(SQLModel, table=True):
    """Something that must never happen did (e.g. a stored file failed its integrity check)."""

    __tablename__ = "incidents"

    id: int | None = Field(default=None, primary_key=True)
    at: float = Field(default_factory=time.time)
    kind: str = Field(max_length=40)
    asset_id: str | None = Field(default=None, max_length=HASH_LEN)
    detail: str = ""


class Database:
    """Engine plus the handful of operations the gateway needs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ledger = Ledger.load(engine)
        # SQLite has one writer at a time, and a blocked writer sleeps in SQLite's busy handler
        # (1, 2, 5, 10... ms): within a process, writers queue on a lock instead (other processes
        # still meet the busy timeout). PostgreSQL locks rows itself.
        self._write_lock: Any = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction (committed on success)."""
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    @classmethod
    def connect(cls, url: str) -> "Database":
        """Open the database at ``url``, bringing its schema up to date (:mod:`anchoring.schema`)."""
        engine = open_engine(url)
        try:
            upgrade_database(engine)
        except SchemaTooNew as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        return cls(engine)

    # ---- ledger id and epochs ------------------------------------------------

    def reload_ledger(self) -> None:
        """Re-read the ledger epochs (after a reconcile started a new one)."""
        self.ledger = Ledger.load(self.engine)

    @property
    def ledger_id(self) -> str:
        """The ledger id new access records carry."""
        return self.ledger.current

    def epoch(self) -> LedgerEpoch:
        """The current epoch's row."""
        with self.session() as s:
            row = s.exec(select(LedgerEpoch).order_by(col(LedgerEpoch.first_access_id).desc())).first()
        assert row is not None
        return row

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session (committed by the caller)."""
        with Session(self.engine, expire_on_commit=False) as s:
            yield s

    # ---- nonces ------------------------------------------------------------

    def use_nonce(self, signer: str, nonce: int, expiry: int) -> bool:
        """Record a nonce; False if this signer already used it."""
        try:
            with self._write() as conn:
                conn.execute(insert(UsedNonce).values(signer=signer.lower(), nonce=str(nonce), expiry=expiry))
        except IntegrityError:
            return False
        return True

    def prune_nonces(self, before: int) -> int:
        """Forget nonces of requests that expired before ``before`` (they can no longer verify)."""
        with self._write() as conn:
            result = conn.execute(UsedNonce.__table__.delete().where(col(UsedNonce.expiry) < before))
            return int(result.rowcount or 0)

    # ---- usage counters ----------------------------------------------------

    def consume(self, grant_id: str, max_count: int, access: dict[str, Any] | None = None) -> int | None:
        """Use one access of ``grant_id`` atomically; None when all ``max_count`` are used.

        With ``access``, the access record (``record_access`` fields) is inserted in the same
        transaction, so the count is used if and only if the record is committed; the record's id
        (the receipt's number) is returned. Without it, 0 means "used".
        """
        for attempt in range(2):
            with self._write() as conn:  # write first: the row lock is taken by the UPDATE itself
                if attempt:
                    _ensure_counter(conn, grant_id, max_count)
                if int(conn.execute(_CONSUME, {"gid": grant_id}).rowcount or 0) == 1:
                    if access is None:
                        return 0
                    result = conn.execute(_INSERT_ACCESS, {**_ACCESS_DEFAULTS, **access, "at": time.time()})
                    return int(result.inserted_primary_key[0])
        return None

    def finish_call(self, access_id: int, grant_id: str, call: ServiceCall, failure: str | None = None) -> str:
        """A service call ended: its evidence row, its record's byte count and content hash (the evidence's
        SHA-256), in one transaction; returns that hash. With ``failure`` (a backend_* code) the record
        becomes a deny with that code and the grant gets its use back: a failed call is not charged."""
        digest = evidence_digest(call.evidence())
        values: dict[str, Any] = {"bytes": call.bytes, "content_hash": digest, "streaming": False,
                                  "checkpoint_at": time.time()}
        if failure is not None:
            values.update(decision="deny", code=failure[:40])
        with self._write() as conn:
            done = conn.execute(update(AccessRecord).where(col(AccessRecord.id) == access_id,
                                                           col(AccessRecord.streaming).is_(True)).values(**values))
            if int(done.rowcount or 0) != 1:  # sealed meanwhile (after the delivery grace): leave it as it is
                return digest
            conn.execute(insert(ServiceCall).values(access_id=access_id, method=call.method, target=call.target,
                                                    request_sha256=call.request_sha256, status=call.status,
                                                    response_sha256=call.response_sha256, bytes=call.bytes))
            if failure is not None:
                conn.execute(_REFUND, {"gid": grant_id})
        return digest

    # ---- compute jobs --------------------------------------------------------

    def submit_job(self, grant_id: str, max_count: int, access: dict[str, Any], job: dict[str, Any],
                   epsilon_micros: int, budget_micros: int) -> tuple[int | None, str | None]:
        """Take one use and reserve ``epsilon_micros`` of the grant's budget (at most ``budget_micros`` in all),
        insert the job's open access record and its row, all in one transaction. Returns (access id, None), or
        (None, "count") / (None, "budget") when that ran out: then nothing was written."""
        for attempt in range(2):
            try:
                with self._write() as conn:
                    if attempt:
                        _ensure_counter(conn, grant_id, max_count)
                    if int(conn.execute(_CONSUME, {"gid": grant_id}).rowcount or 0) != 1:
                        if attempt:
                            return None, "count"
                        continue
                    if epsilon_micros:
                        insert_unless_exists(conn, PrivacySpend, "grant_id", grant_id=grant_id, spent_micros=0)
                        spent = conn.execute(_SPEND, {"gid": grant_id, "e": epsilon_micros, "b": budget_micros})
                        if int(spent.rowcount or 0) != 1:
                            raise _Rollback("budget")
                    result = conn.execute(_INSERT_ACCESS, {**_ACCESS_DEFAULTS, **access, "at": time.time()})
                    access_id = int(result.inserted_primary_key[0])
                    conn.execute(insert(ComputeJob).values(**job, access_id=access_id, created_at=time.time()))
                    return access_id, None
            except _Rollback as exc:
                return None, exc.reason
        return None, "count"

    def job(self, job_id: str) -> ComputeJob | None:
        """One job by id."""
        with self.session() as s:
            return s.get(ComputeJob, job_id)

    def jobs(self, **filters: Any) -> list[ComputeJob]:
        """Jobs, oldest first, filtered by column equality."""
        with self.session() as s:
            q = select(ComputeJob)
            for name, value in filters.items():
                q = q.where(getattr(ComputeJob, name) == value)
            return list(s.exec(q.order_by(col(ComputeJob.created_at))).all())

    def start_job(self, job_id: str) -> bool:
        """queued -> running, unless a cancel came first."""
        with self._write() as conn:
            done = conn.execute(update(ComputeJob).where(col(ComputeJob.job_id) == job_id,
                                                         col(ComputeJob.state) == "queued",
                                                         col(ComputeJob.cancel_requested).is_(False))
                                .values(state="running", started_at=time.time()))
            return int(done.rowcount or 0) == 1

    def request_cancel(self, job_id: str) -> None:
        """Ask a queued or running job to stop (its runner sees it within a tick)."""
        with self._write() as conn:
            conn.execute(update(ComputeJob).where(col(ComputeJob.job_id) == job_id,
                                                  col(ComputeJob.state).in_(JOB_ACTIVE))
                         .values(cancel_requested=True))

    def cancel_requested(self, job_id: str) -> bool:
        """Whether a cancel was asked for."""
        with self.engine.connect() as conn:
            return bool(conn.execute(select(ComputeJob.cancel_requested)
                                     .where(col(ComputeJob.job_id) == job_id)).scalar())

    def finish_job(self, job_id: str, values: dict[str, Any], evidence: dict[str, Any], *, ran: bool,
                   released: bool, states: tuple[str, ...] = JOB_ACTIVE) -> str | None:
        """A job ended: its row, its access record (bytes out, content hash = the evidence's SHA-256) in one
        transaction. A job that never ran is a deny (``job_not_run``) and gives its use back; a job that
        released no private result gives its epsilon back. Only a job in one of ``states`` is finished (the
        row's update is conditional, so two finishers cannot both charge or refund); returns the content
        hash, or None when the job had left those states."""
        digest = evidence_digest(evidence)
        with self._write() as conn:
            done = conn.execute(update(ComputeJob).where(col(ComputeJob.job_id) == job_id,
                                                         col(ComputeJob.state).in_(list(states)))
                                .values(**{"finished_at": time.time(), **values}))
            if int(done.rowcount or 0) != 1:
                return None
            access_id, grant_id, eps = conn.execute(
                select(ComputeJob.access_id, ComputeJob.grant_id, ComputeJob.epsilon_micros)
                .where(col(ComputeJob.job_id) == job_id)).one()
            record: dict[str, Any] = {"bytes": int(evidence["bytes_out"]), "content_hash": digest,
                                      "streaming": False, "checkpoint_at": time.time()}
            if not ran:
                record.update(decision="deny", code="job_not_run")
                conn.execute(_REFUND, {"gid": grant_id})
            conn.execute(update(AccessRecord).where(col(AccessRecord.id) == access_id).values(**record))
            if eps and not released:
                conn.execute(update(PrivacySpend).where(col(PrivacySpend.grant_id) == grant_id)
                             .values(spent_micros=col(PrivacySpend.spent_micros) - eps))
        return digest

    def privacy_spent(self, grant_id: str) -> int:
        """Epsilon (millionths) a grant has spent or reserved."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(PrivacySpend.spent_micros)
                                    .where(col(PrivacySpend.grant_id) == grant_id)).scalar() or 0)

    def job_of_access(self, access_id: int) -> ComputeJob | None:
        """The job behind an access record, if it is one."""
        with self.session() as s:
            return s.exec(select(ComputeJob).where(col(ComputeJob.access_id) == access_id)).first()

    def evidence_of_accesses(self, access_ids: list[int]) -> tuple[dict[int, ServiceCall], dict[int, ComputeJob]]:
        """The service calls and compute jobs behind these access records (two queries for a page)."""
        if not access_ids:
            return {}, {}
        with self.session() as s:
            calls = s.exec(select(ServiceCall).where(col(ServiceCall.access_id).in_(access_ids))).all()
            jobs = s.exec(select(ComputeJob).where(col(ComputeJob.access_id).in_(access_ids))).all()
            return {c.access_id: c for c in calls}, {j.access_id: j for j in jobs}

    def service_call(self, access_id: int) -> ServiceCall | None:
        """The evidence of a service call's access record, if it is one."""
        with self.session() as s:
            return s.get(ServiceCall, access_id)

    def used(self, grant_id: str) -> int:
        """Accesses used so far."""
        with self.engine.connect() as conn:
            return int(conn.execute(_USED, {"gid": grant_id}).scalar() or 0)

    # ---- access records and incidents ---------------------------------------

    def record_access(self, **values: Any) -> None:
        """Append one access decision."""
        with self._write() as conn:
            conn.execute(_INSERT_ACCESS, {**_ACCESS_DEFAULTS, **values, "at": time.time()})

    def checkpoint_delivery(self, access_id: int, delivered: int) -> None:
        """Bring a streaming delivery's byte count up to date (it is still going)."""
        with self._write() as conn:
            conn.execute(update(AccessRecord).where(col(AccessRecord.id) == access_id,
                                                    col(AccessRecord.streaming).is_(True))
                         .values(bytes=delivered, checkpoint_at=time.time()))

    def finish_delivery(self, access_id: int, delivered: int) -> None:
        """A delivery ended (completely or cut): its record now says how many bytes went out."""
        with self._write() as conn:
            conn.execute(update(AccessRecord).where(col(AccessRecord.id) == access_id,
                                                    col(AccessRecord.streaming).is_(True))
                         .values(bytes=delivered, streaming=False, checkpoint_at=time.time()))

    def accesses(self, **filters: Any) -> list[AccessRecord]:
        """Access records, oldest first, filtered by column equality."""
        with self.session() as s:
            q = select(AccessRecord)
            for name, value in filters.items():
                q = q.where(getattr(AccessRecord, name) == value)
            return list(s.exec(q.order_by(col(AccessRecord.id))).all())

    def count_accesses(self, **filters: Any) -> int:
        """Number of access records matching column equality filters."""
        with self.session() as s:
            q = select(func.count()).select_from(AccessRecord)
            for name, value in filters.items():
                q = q.where(getattr(AccessRecord, name) == value)
            return int(s.exec(q).one())

    def allowed_uses(self, since: float, asset_id: str | None = None) -> list[tuple[float, str, str, int]]:
        """(time, asset id, grant id, bytes) of every allowed access since ``since``, oldest first: the rows the
        usage charts bucket (one narrow row per use, no receipts)."""
        q = select(AccessRecord.at, AccessRecord.asset_id, AccessRecord.grant_id, AccessRecord.bytes).where(
            col(AccessRecord.decision) == "allow", col(AccessRecord.at) >= since)
        if asset_id is not None:
            q = q.where(col(AccessRecord.asset_id) == asset_id)
        with self.session() as s:
            return [(float(at), str(a or ""), str(g or ""), int(b or 0))
                    for at, a, g, b in s.exec(q.order_by(col(AccessRecord.id))).all()]

    def record_incident(self, kind: str, asset_id: str | None, detail: str) -> None:
        """Append an incident."""
        with self._write() as conn:
            conn.execute(insert(Incident).values(at=time.time(), kind=kind, asset_id=asset_id, detail=detail))

    def incidents(self) -> list[Incident]:
        """Every incident, oldest first."""
        with self.session() as s:
            return list(s.exec(select(Incident).order_by(col(Incident.id))).all())

    # ---- grant requests ------------------------------------------------------

    def add_grant_request(self, grant_id: str, request: GrantRequest, signature: str, state: GrantState) -> bool:
        """Store a new grant request; False if one with this id exists."""
        row = GrantRequestRow(
            grant_id=grant_id, asset_id=request.asset_id.lower(), consumer=request.consumer.lower(),
            purpose=request.purpose, request_json=json.dumps(request.to_json()), signature=signature,
            state=state.value,
        )
        try:
            with self.session() as s:
                s.add(row)
                s.commit()
        except IntegrityError:
            return False
        return True

    def grant_request(self, grant_id: str) -> GrantRequestRow | None:
        """One grant request by id."""
        with self.session() as s:
            return s.get(GrantRequestRow, grant_id.lower())

    def grant_requests(
        self, state: GrantState | None = None, consumer: str | None = None, asset_id: str | None = None
    ) -> list[GrantRequestRow]:
        """Grant requests, oldest first, optionally filtered."""
        with self.session() as s:
            q = select(GrantRequestRow)
            if state is not None:
                q = q.where(col(GrantRequestRow.state) == state.value)
            if consumer is not None:
                q = q.where(col(GrantRequestRow.consumer) == consumer.lower())
            if asset_id is not None:
                q = q.where(col(GrantRequestRow.asset_id) == asset_id.lower())
            return list(s.exec(q.order_by(col(GrantRequestRow.created_at))).all())

    def issued_grants(self, consumer: str, asset_id: str, states: list[str]) -> list[tuple[GrantRequest, str]]:
        """(request, grant id) of the grant requests in ``states`` for (consumer, asset), oldest first."""
        params = {"consumer": consumer.lower(), "asset": asset_id.lower(), "states": states}
        with self.engine.connect() as conn:
            rows = conn.execute(_ISSUED_GRANTS, params).all()
        return [(GrantRequest.from_json(json.loads(rj)), gid) for rj, gid in rows]

    def transition(
        self, grant_id: str, from_states: tuple[GrantState, ...], to: GrantState, reason: str = "", tx: str = "",
        signature: str = "",
    ) -> bool:
        """Move a request between states atomically; False if it was not in one of ``from_states``.

        ``signature``: replace the stored consent (a resubmission carries its own signature).
        """
        changes = {**({"tx": tx} if tx else {}), **({"signature": signature} if signature else {})}
        stmt = (
            update(GrantRequestRow)
            .where(
                col(GrantRequestRow.grant_id) == grant_id.lower(),
                col(GrantRequestRow.state).in_([s.value for s in from_states]),
            )
            .values(state=to.value, reason=reason, updated_at=time.time(), **changes)
        )
        with self._write() as conn:
            return int(conn.execute(stmt).rowcount or 0) == 1


# Hot statements, built once (building a statement per call costs more than running it on SQLite).
_CONSUME = (
    update(UsageCounter)
    .where(col(UsageCounter.grant_id) == bindparam("gid"), col(UsageCounter.used) < col(UsageCounter.max_count))
    .values(used=col(UsageCounter.used) + 1)
)
_REFUND = (
    update(UsageCounter)
    .where(col(UsageCounter.grant_id) == bindparam("gid"), col(UsageCounter.used) > 0)
    .values(used=col(UsageCounter.used) - 1)
)
_SPEND = (
    update(PrivacySpend)
    .where(col(PrivacySpend.grant_id) == bindparam("gid"),
           col(PrivacySpend.spent_micros) + bindparam("e") <= bindparam("b"))
    .values(spent_micros=col(PrivacySpend.spent_micros) + bindparam("e"))
)
_USED = select(UsageCounter.used).where(col(UsageCounter.grant_id) == bindparam("gid"))
_INSERT_ACCESS = insert(AccessRecord)
_ACCESS_DEFAULTS: dict[str, Any] = {
    "method": "", "path": "", "consumer": None, "asset_id": None, "grant_id": None, "purpose": None,
    "bytes": 0, "content_hash": None, "block": None, "requested": 0, "streaming": False, "checkpoint_at": None,
}
_ISSUED_GRANTS = (
    select(GrantRequestRow.request_json, GrantRequestRow.grant_id)
    .where(col(GrantRequestRow.consumer) == bindparam("consumer"),
           col(GrantRequestRow.asset_id) == bindparam("asset"),
           col(GrantRequestRow.state).in_(bindparam("states", expanding=True)))
    .order_by(col(GrantRequestRow.created_at))
)


class _Rollback(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _ensure_counter(conn: Connection, grant_id: str, max_count: int) -> None:
    """Create the counter row unless it exists."""
    insert_unless_exists(conn, UsageCounter, "grant_id", grant_id=grant_id, used=0, max_count=max_count)


GATEWAY_TABLES = (GrantRequestRow, UsedNonce, UsageCounter, Incident, ServiceCall, ComputeJob, PrivacySpend,
                  *LEDGER_TABLES)
