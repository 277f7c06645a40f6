"""The index database: one table per kind of evidence, every row tagged with where it came from.

Every row derived from a log carries ``block_number``, ``tx_hash``, ``log_index`` and the block's
``timestamp``, so a reorg rollback is one ``DELETE ... WHERE block_number > n`` per table and
state that changes over time (participant status, asset activity, grant revocation) is derived
from the rows at query time instead of being updated in place. Large integers (uint96 prices,
uint256 nonces and amounts) are stored as decimal strings: SQLite integers stop at 2**63.

The default database is ``sqlite:///<home>/audit.db``; ``TDS_AUDIT_DB_URL`` takes any SQLAlchemy
URL (``postgresql+psycopg://...``) instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import BigInteger, Engine, UniqueConstraint, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlmodel import Field, Session, SQLModel, create_engine

from audit.errors import IndexUnavailable
from config.reader import read
from config.schema import Schema, SchemaTooNew, upgrade



class _FromLog(SQLModel):
    """Where a row came from: the log that produced it and its block's time."""

    block_number: int = Field(index=True)
    tx_hash: str
    log_index: int
    timestamp: int = Field(sa_type=BigInteger)


class Meta(SQLModel, table=True):
    """Index settings and cursor: chain id, deployment address, last indexed block."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class BlockRow(SQLModel, table=True):
    """A processed block's hash (blocks with events and the last block of every batch)."""

    __tablename__ = "blocks"
    number: int = Field(primary_key=True)
    hash: str
    timestamp: int = Field(sa_type=BigInteger)


class EventRow(_FromLog, table=True):
    """Every decoded log of a TDS contract, verbatim (arguments as JSON)."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_events_log"),)
    id: int | None = Field(default=None, primary_key=True)
    block_hash: str
    contract: str
    name: str = Field(index=True)
    args: str


class ParticipantEventRow(_FromLog, table=True):
    """ParticipantOnboarded / Suspended / Reinstated."""

    __tablename__ = "participant_events"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_participant_events_log"),)
    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(index=True)
    kind: str
    roles: int | None = None
    jurisdiction: str | None = None
    credential_hash: str | None = None
    by: str


class AssetRow(_FromLog, table=True):
    """AssetRegistered: one row per asset id (first registrations and versions alike)."""

    __tablename__ = "assets"
    asset_id: str = Field(primary_key=True)
    provider: str = Field(index=True)
    size: int = Field(sa_type=BigInteger)
    metadata_hash: str
    metadata_uri: str
    owners: str  # JSON list of addresses
    shares_bps: str  # JSON list of ints


class AssetVersionRow(_FromLog, table=True):
    """AssetVersionRegistered: ``asset_id`` replaces ``previous_id``."""

    __tablename__ = "asset_versions"
    asset_id: str = Field(primary_key=True)
    previous_id: str = Field(index=True)
    version: int


class AssetDeactivationRow(_FromLog, table=True):
    """AssetDeactivated."""

    __tablename__ = "asset_deactivations"
    asset_id: str = Field(primary_key=True)
    by: str


class LineageRow(_FromLog, table=True):
    """One lineage edge: ``child_id`` was derived from ``parent_id``."""

    __tablename__ = "lineage"
    child_id: str = Field(primary_key=True)
    parent_id: str = Field(primary_key=True, index=True)


class PolicyRow(_FromLog, table=True):
    """PolicySet: one row per epoch of an asset's policy."""

    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_policies_log"),)
    id: int | None = Field(default=None, primary_key=True)
    asset_id: str = Field(index=True)
    epoch: int
    not_before: int = Field(sa_type=BigInteger)
    not_after: int = Field(sa_type=BigInteger)
    max_count: int
    price_per_access: str
    compute_only: bool
    auto_approve: bool
    purposes: str  # JSON list
    jurisdictions: str  # JSON list


class GrantRow(_FromLog, table=True):
    """GrantIssued: the full signed request and the consumer's signature."""

    __tablename__ = "grants"
    grant_id: str = Field(primary_key=True)
    asset_id: str = Field(index=True)
    consumer: str = Field(index=True)
    purpose: str
    not_before: int = Field(sa_type=BigInteger)
    not_after: int = Field(sa_type=BigInteger)
    max_count: int
    price_per_access: str
    nonce: str
    deadline: int = Field(sa_type=BigInteger)
    signature: str


class RevocationRow(_FromLog, table=True):
    """GrantRevoked."""

    __tablename__ = "revocations"
    grant_id: str = Field(primary_key=True)
    asset_id: str = Field(index=True)
    by: str


class AnchorRow(_FromLog, table=True):
    """RootAnchored: one row per (provider, root). ``provider`` is on whose behalf the root was anchored,
    ``anchorer`` who sent it (the provider itself or its notary key). The same root anchored for two
    providers is two rows; only the row of a receipt's asset's provider vouches for that receipt."""

    __tablename__ = "root_anchors"  # "anchors" (keyed by root alone) was the shape before anchors had a provider
    provider: str = Field(primary_key=True)
    root: str = Field(primary_key=True, index=True)
    anchorer: str = Field(index=True)
    leaf_count: int
    kind: int


class SettlementRow(_FromLog, table=True):
    """UsageSettled."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_settlements_log"),)
    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(index=True)
    asset_id: str = Field(index=True)
    consumer: str = Field(index=True)
    count: int
    amount: str
    usage_root: str


class RevenueRow(_FromLog, table=True):
    """RevenuePaid."""

    __tablename__ = "revenue"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_revenue_log"),)
    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(index=True)
    owner: str = Field(index=True)
    amount: str


EVIDENCE_TABLES: tuple[type[SQLModel], ...] = (
    EventRow, ParticipantEventRow, AssetRow, AssetVersionRow, AssetDeactivationRow, LineageRow,
    PolicyRow, GrantRow, RevocationRow, AnchorRow, SettlementRow, RevenueRow,
)
"""Tables whose rows come from logs (rolled back by block number)."""

AUDIT_SCHEMA = Schema("audit index", Path(__file__).with_name("migrations"), "audit_alembic_version")
"""The index's alembic environment (its own version table: it may share a PostgreSQL database with a
gateway); revision 1 is the schema ``create_all`` made before migrations."""

SessionFactory = Callable[[], Session]


@dataclass(frozen=True)
class AuditSettings:
    """The auditor's index: where its database is (``TDS_AUDIT_DB_URL`` or config.json's ``"audit"`` section)."""

    home: Path
    db_url: str = ""  # default sqlite:///<home>/audit.db

    @classmethod
    def load(cls, home: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> AuditSettings:
        """Through the one settings reader (:func:`config.reader.read`)."""
        return read(cls, "audit", "TDS_AUDIT_", home, env)

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of the index."""
        return self.db_url or f"sqlite:///{self.home / 'audit.db'}"


def database_url(home: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> str:
    """``TDS_AUDIT_DB_URL`` if set, else ``sqlite:///<home>/audit.db`` (:class:`AuditSettings`)."""
    return AuditSettings.load(home, env).database_url


class IndexDb:
    """An engine on the index database, its schema up to date."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> "IndexDb":
        """Open the database at ``url``, bringing its schema up to date (alembic revisions in ``audit/migrations``)."""
        try:
            engine = _engine(url)
            upgrade(engine, AUDIT_SCHEMA, _safe(url))
        except SQLAlchemyError as exc:
            raise IndexUnavailable(f"cannot open the audit index at {_safe(url)}: {exc}") from exc
        except SchemaTooNew as exc:
            raise IndexUnavailable(str(exc)) from exc
        return cls(engine)

    def session(self) -> Session:
        """A new session (the caller closes it; ``with db.session() as s:``)."""
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.session() as session:
            try:
                yield session
                session.commit()
            except SQLAlchemyError as exc:
                session.rollback()
                raise IndexUnavailable(f"audit index write failed: {exc}") from exc
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    if url in ("sqlite://", "sqlite:///:memory:"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    else:
        path = url.split("///", 1)[-1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _safe(url: str) -> str:
    """The URL without a password."""
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, creds = head.partition("://")
    return f"{scheme}://{creds.split(':')[0]}:***@{tail}"
