"""The index database: one table per kind of evidence, every row tagged with where it came from.

Every row derived from a log carries ``block_number``, ``tx_hash``, ``log_index`` and the block's
``timestamp``, so a reorg rollback is one ``DELETE ... WHERE block_number > n`` per table and
state that changes over time (participant status, asset activity, grant revocation, escrow releases, a
dispute's ruling) is derived from the rows at query time instead of being updated in place. The money half
has a table per Settlement and Disputes event: pricing, acceptances, escrow locks and releases, settlements
(period, units, free units, amount, receipts root), revenue (asset, owner, amount, lineage depth), refunds,
deposits and withdrawals, freezes, deferrals, royalties, disputes, their evidence and rulings. The compute half
(ComputePolicies) has a table of algorithm approvals and withdrawals and one of privacy budget settings: the
approval of an algorithm on an asset, and an asset's per-grant epsilon budget, at any moment are replayed from
them. Large integers (uint96 prices, uint256 nonces and amounts, uint64 epsilon budgets) are stored as decimal
strings: SQLite integers stop at 2**63.

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
    parents: str = "[]"  # JSON list of parent ids in registered order (a version's event has none: it inherits)


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
    policy_epoch: int = 0  # the policy epoch the consumer agreed to


class PricingRow(_FromLog, table=True):
    """PricingSet: the money terms of one epoch of an asset's policy."""

    __tablename__ = "pricing"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_pricing_log"),)
    id: int | None = Field(default=None, primary_key=True)
    asset_id: str = Field(index=True)
    epoch: int
    price_model: int  # 0 Free, 1 Prepaid, 2 PayAfterUse, 3 Subscription
    free_uses: int
    period: int = Field(sa_type=BigInteger)


class AcceptanceRow(_FromLog, table=True):
    """GrantAccepted: the provider's EIP-712 acceptance (the agreement's second signature)."""

    __tablename__ = "acceptances"
    grant_id: str = Field(primary_key=True)
    provider: str = Field(index=True)
    policy_epoch: int
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
    """UsageSettled: one grant's usage in ``[period_start, period_end)`` settled for ``amount``."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_settlements_log"),)
    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(index=True)
    asset_id: str = Field(index=True)
    consumer: str = Field(index=True)
    period_start: int = Field(default=0, sa_type=BigInteger)
    period_end: int = Field(default=0, sa_type=BigInteger)
    units: int  # uses (per-use models) or periods (Subscription)
    free_units: int = 0  # of those, free-trial units not charged
    amount: str
    receipts_root: str  # the anchored root evidencing the usage (zero for Subscription)


class RevenueRow(_FromLog, table=True):
    """RevenuePaid: ``owner`` earned ``amount`` as an owner of ``asset_id`` (``depth`` > 0: a royalty)."""

    __tablename__ = "revenue"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_revenue_log"),)
    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(index=True)
    asset_id: str = Field(default="", index=True)
    owner: str = Field(index=True)
    amount: str
    depth: int = 0


class EscrowLockRow(_FromLog, table=True):
    """EscrowLocked: a paid grant's account opened, ``locked`` moved from the consumer's deposit to escrow."""

    __tablename__ = "escrow_locks"
    grant_id: str = Field(primary_key=True)
    asset_id: str = Field(index=True)
    consumer: str = Field(index=True)
    price_model: int
    price: str
    locked: str


class EscrowReleaseRow(_FromLog, table=True):
    """EscrowReleased: (part of) a grant's lock went back to its consumer's deposit (a revoked Subscription's
    unstarted periods at once, the rest by ``release``)."""

    __tablename__ = "escrow_releases"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_escrow_releases_log"),)
    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(index=True)
    consumer: str = Field(index=True)
    amount: str
    by: str


class RefundRow(_FromLog, table=True):
    """Refunded: a ruling refunded ``from_lock + from_provider`` to the consumer's deposit."""

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_refunds_log"),)
    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(index=True)
    consumer: str = Field(index=True)
    from_lock: str
    from_provider: str


class BalanceRow(_FromLog, table=True):
    """Deposited / Withdrawn: money in and out of Settlement (``kind`` deposit, withdraw_deposit,
    withdraw_earnings)."""

    __tablename__ = "balance_moves"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_balance_moves_log"),)
    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(index=True)
    kind: str
    amount: str


class FreezeRow(_FromLog, table=True):
    """AccountFrozen: a dispute froze (``frozen``) or its ruling unfroze a grant's account."""

    __tablename__ = "account_freezes"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_account_freezes_log"),)
    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(index=True)
    frozen: bool


class DeferralRow(_FromLog, table=True):
    """SettlementDeferred: a period of a disputed grant was not settled."""

    __tablename__ = "settlement_deferrals"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_settlement_deferrals_log"),)
    id: int | None = Field(default=None, primary_key=True)
    grant_id: str = Field(index=True)
    period_end: int = Field(sa_type=BigInteger)


class RoyaltyRow(_FromLog, table=True):
    """RoyaltySet: the royalty a derived asset passes up its lineage, from this log on."""

    __tablename__ = "royalties"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_royalties_log"),)
    id: int | None = Field(default=None, primary_key=True)
    royalty_bps: int


class DisputeRow(_FromLog, table=True):
    """DisputeOpened (status and ruling come from :class:`RulingRow` at query time)."""

    __tablename__ = "disputes"
    dispute_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    grant_id: str = Field(index=True)
    opened_by: str = Field(index=True)
    subject: int  # 0 Grant, 1 Settlement
    period_end: int = Field(sa_type=BigInteger)
    evidence_hash: str


class EvidenceRow(_FromLog, table=True):
    """EvidenceSubmitted (``evidence_hash``) or the ERC-1497 Evidence beside it (``evidence_uri``)."""

    __tablename__ = "dispute_evidence"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_dispute_evidence_log"),)
    id: int | None = Field(default=None, primary_key=True)
    dispute_id: int = Field(index=True)
    party: str
    evidence_hash: str | None = None
    evidence_uri: str | None = None


class RulingRow(_FromLog, table=True):
    """DisputeRuled: ``ruling`` 0 refused, 1 upheld, 2 refund; ``refund`` token units to the consumer."""

    __tablename__ = "dispute_rulings"
    dispute_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    grant_id: str = Field(index=True)
    ruling: int
    refund: str
    by: str


class ComputeApprovalRow(_FromLog, table=True):
    """AlgorithmApproved (``approved``) or AlgorithmRejected (not): from this log on, the asset's provider does
    (not) let ``algorithm_id`` run on ``asset_id``."""

    __tablename__ = "compute_approvals"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_compute_approvals_log"),)
    id: int | None = Field(default=None, primary_key=True)
    asset_id: str = Field(index=True)
    algorithm_id: str = Field(index=True)
    approved: bool
    by: str


class PrivacyBudgetRow(_FromLog, table=True):
    """PrivacyBudgetSet: from this log on, each grant on ``asset_id`` may spend ``epsilon_micros`` (millionths)."""

    __tablename__ = "privacy_budgets"
    __table_args__ = (UniqueConstraint("tx_hash", "log_index", name="uq_privacy_budgets_log"),)
    id: int | None = Field(default=None, primary_key=True)
    asset_id: str = Field(index=True)
    epsilon_micros: str  # uint64: a decimal string
    by: str


EVIDENCE_TABLES: tuple[type[SQLModel], ...] = (
    EventRow, ParticipantEventRow, AssetRow, AssetVersionRow, AssetDeactivationRow, LineageRow,
    PolicyRow, PricingRow, GrantRow, AcceptanceRow, RevocationRow, AnchorRow, SettlementRow, RevenueRow,
    EscrowLockRow, EscrowReleaseRow, RefundRow, BalanceRow, FreezeRow, DeferralRow, RoyaltyRow,
    DisputeRow, EvidenceRow, RulingRow, ComputeApprovalRow, PrivacyBudgetRow,
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


def open_index(settings: AuditSettings) -> "IndexDb":
    """The index ``settings`` name, opened (and brought to the newest schema)."""
    return IndexDb.open(settings.database_url)


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
