"""Settlement and disputes: the money half of grants.

New tables: ``pricing`` (PricingSet), ``acceptances`` (GrantAccepted), ``escrow_locks`` (EscrowLocked),
``escrow_releases`` (EscrowReleased), ``refunds`` (Refunded), ``balance_moves`` (Deposited, Withdrawn),
``account_freezes`` (AccountFrozen), ``settlement_deferrals`` (SettlementDeferred), ``royalties``
(RoyaltySet), ``disputes`` (DisputeOpened), ``dispute_evidence`` (EvidenceSubmitted and ERC-1497 Evidence),
``dispute_rulings`` (DisputeRuled).

Changed: ``settlements`` follows the new UsageSettled (``count`` is now ``units``, ``usage_root`` is
``receipts_root``; ``period_start``, ``period_end``, ``free_units`` added, 0 for older rows); ``revenue``
gains ``asset_id`` (older rows: the settled asset of the same transaction and grant) and ``depth`` (0);
``grants`` gains ``policy_epoch`` (0: older GrantIssued events carried none); ``assets`` gains ``parents``
(older rows: read back from their AssetRegistered event in ``events``). Existing rows are kept, so an index
need not be rebuilt; rebuilding one from scratch gives the same rows for events of the new contracts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-09
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _from_log() -> list[sa.Column[object]]:
    """Where an evidence row came from: its log and its block's time (block_number indexed)."""
    return [sa.Column("block_number", sa.Integer(), nullable=False),
            sa.Column("tx_hash", sa.String(), nullable=False),
            sa.Column("log_index", sa.Integer(), nullable=False),
            sa.Column("timestamp", sa.BigInteger(), nullable=False)]


def _table(name: str, *elements: sa.SchemaItem, indexes: Sequence[str] = ()) -> None:
    """Create table ``name`` with an ``ix_<table>_<column>`` index per column in ``indexes``."""
    op.create_table(name, *_from_log(), *elements)
    for column in ("block_number", *indexes):
        op.create_index(f"ix_{name}_{column}", name, [column], unique=False)


def _log_table(name: str, *elements: sa.SchemaItem, indexes: Sequence[str] = ()) -> None:
    """A table of one row per log: an ``id`` key and a unique (tx_hash, log_index)."""
    _table(name, sa.Column("id", sa.Integer(), nullable=False), *elements, sa.PrimaryKeyConstraint("id"),
           sa.UniqueConstraint("tx_hash", "log_index", name=f"uq_{name}_log"), indexes=indexes)


def _text(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(), nullable=nullable)


def _int(name: str, big: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.BigInteger() if big else sa.Integer(), nullable=False)


def upgrade() -> None:
    """New tables, new columns, older rows carried over."""
    _log_table("pricing", _text("asset_id"), _int("epoch"), _int("price_model"), _int("free_uses"),
               _int("period", big=True), indexes=("asset_id",))
    _table("acceptances", _text("grant_id"), _text("provider"), _int("policy_epoch"), _text("signature"),
           sa.PrimaryKeyConstraint("grant_id"), indexes=("provider",))
    _table("escrow_locks", _text("grant_id"), _text("asset_id"), _text("consumer"), _int("price_model"),
           _text("price"), _text("locked"), sa.PrimaryKeyConstraint("grant_id"), indexes=("asset_id", "consumer"))
    _log_table("escrow_releases", _text("grant_id"), _text("consumer"), _text("amount"), _text("by"),
               indexes=("consumer", "grant_id"))
    _log_table("refunds", _text("grant_id"), _text("consumer"), _text("from_lock"), _text("from_provider"),
               indexes=("consumer", "grant_id"))
    _log_table("balance_moves", _text("account"), _text("kind"), _text("amount"), indexes=("account",))
    _log_table("account_freezes", _text("grant_id"), sa.Column("frozen", sa.Boolean(), nullable=False),
               indexes=("grant_id",))
    _log_table("settlement_deferrals", _text("grant_id"), _int("period_end", big=True), indexes=("grant_id",))
    _log_table("royalties", _int("royalty_bps"))
    _table("disputes", sa.Column("dispute_id", sa.Integer(), autoincrement=False, nullable=False),
           _text("grant_id"), _text("opened_by"), _int("subject"), _int("period_end", big=True),
           _text("evidence_hash"), sa.PrimaryKeyConstraint("dispute_id"), indexes=("grant_id", "opened_by"))
    _log_table("dispute_evidence", _int("dispute_id"), _text("party"), _text("evidence_hash", nullable=True),
               _text("evidence_uri", nullable=True), indexes=("dispute_id",))
    _table("dispute_rulings", sa.Column("dispute_id", sa.Integer(), autoincrement=False, nullable=False),
           _text("grant_id"), _int("ruling"), _text("refund"), _text("by"), sa.PrimaryKeyConstraint("dispute_id"),
           indexes=("grant_id",))

    with op.batch_alter_table("settlements") as batch:
        batch.alter_column("count", new_column_name="units", existing_type=sa.Integer(), existing_nullable=False)
        batch.alter_column("usage_root", new_column_name="receipts_root", existing_type=sa.String(),
                           existing_nullable=False)
        batch.add_column(sa.Column("period_start", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("period_end", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("free_units", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("revenue") as batch:
        batch.add_column(sa.Column("asset_id", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("depth", sa.Integer(), nullable=False, server_default="0"))
        batch.create_index("ix_revenue_asset_id", ["asset_id"], unique=False)
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("policy_epoch", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("assets") as batch:
        batch.add_column(sa.Column("parents", sa.String(), nullable=False, server_default="[]"))

    op.execute(sa.text(
        "UPDATE revenue SET asset_id = COALESCE((SELECT MIN(settlements.asset_id) FROM settlements"
        " WHERE settlements.tx_hash = revenue.tx_hash AND settlements.grant_id = revenue.grant_id), '')"
        " WHERE revenue.asset_id = ''"))
    _backfill_parents()


def _backfill_parents() -> None:
    """Each asset's parent list, in registered order, from its AssetRegistered event's arguments."""
    bind = op.get_bind()
    events = bind.execute(sa.text("SELECT args FROM events WHERE name = 'AssetRegistered'")).scalars()
    update = sa.text("UPDATE assets SET parents = :parents WHERE asset_id = :asset_id")
    for raw in events:
        try:
            args = json.loads(raw)
        except ValueError:
            continue
        parents = args.get("parents") if isinstance(args, dict) else None
        if parents:
            bind.execute(update, {"parents": json.dumps(parents), "asset_id": str(args.get("assetId", "")).lower()})


def downgrade() -> None:
    """Not supported: rebuild the index (``tds audit index`` from an empty database) or restore a backup."""
    raise NotImplementedError("downgrades are not supported: rebuild the index or restore a backup")
