"""Baseline: the audit index as ``create_all`` made it before migrations (meta, blocks and one table per
kind of evidence, every evidence row tagged with the log it came from).

An index created by ``create_all`` (no ``alembic_version``) is adopted here: only the tables it lacks are
created (a table and its indexes together, as ``create_all`` did), so it ends stamped at this revision.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _table(name: str, *elements: sa.SchemaItem, indexes: Sequence[str] = ()) -> None:
    """Create table ``name`` with an ``ix_<table>_<column>`` index per column in ``indexes``, unless it exists."""
    if sa.inspect(op.get_bind()).has_table(name):
        return
    op.create_table(name, *elements)
    for column in indexes:
        op.create_index(f"ix_{name}_{column}", name, [column], unique=False)


def _from_log() -> list[sa.Column[object]]:
    """Where an evidence row came from: its log and its block's time (block_number indexed)."""
    return [sa.Column("block_number", sa.Integer(), nullable=False),
            sa.Column("tx_hash", sa.String(), nullable=False),
            sa.Column("log_index", sa.Integer(), nullable=False),
            sa.Column("timestamp", sa.BigInteger(), nullable=False)]


def upgrade() -> None:
    """Today's tables, where missing."""
    _table("asset_deactivations",
           *_from_log(),
           sa.Column("asset_id", sa.String(), nullable=False),
           sa.Column("by", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("asset_id"),
           indexes=("block_number",))
    _table("asset_versions",
           *_from_log(),
           sa.Column("asset_id", sa.String(), nullable=False),
           sa.Column("previous_id", sa.String(), nullable=False),
           sa.Column("version", sa.Integer(), nullable=False),
           sa.PrimaryKeyConstraint("asset_id"),
           indexes=("block_number", "previous_id"))
    _table("assets",
           *_from_log(),
           sa.Column("asset_id", sa.String(), nullable=False),
           sa.Column("provider", sa.String(), nullable=False),
           sa.Column("size", sa.BigInteger(), nullable=False),
           sa.Column("metadata_hash", sa.String(), nullable=False),
           sa.Column("metadata_uri", sa.String(), nullable=False),
           sa.Column("owners", sa.String(), nullable=False),
           sa.Column("shares_bps", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("asset_id"),
           indexes=("block_number", "provider"))
    _table("blocks",
           sa.Column("number", sa.Integer(), nullable=False),
           sa.Column("hash", sa.String(), nullable=False),
           sa.Column("timestamp", sa.BigInteger(), nullable=False),
           sa.PrimaryKeyConstraint("number"))
    _table("events",
           *_from_log(),
           sa.Column("id", sa.Integer(), nullable=False),
           sa.Column("block_hash", sa.String(), nullable=False),
           sa.Column("contract", sa.String(), nullable=False),
           sa.Column("name", sa.String(), nullable=False),
           sa.Column("args", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("id"),
           sa.UniqueConstraint("tx_hash", "log_index", name="uq_events_log"),
           indexes=("block_number", "name"))
    _table("grants",
           *_from_log(),
           sa.Column("grant_id", sa.String(), nullable=False),
           sa.Column("asset_id", sa.String(), nullable=False),
           sa.Column("consumer", sa.String(), nullable=False),
           sa.Column("purpose", sa.String(), nullable=False),
           sa.Column("not_before", sa.BigInteger(), nullable=False),
           sa.Column("not_after", sa.BigInteger(), nullable=False),
           sa.Column("max_count", sa.Integer(), nullable=False),
           sa.Column("price_per_access", sa.String(), nullable=False),
           sa.Column("nonce", sa.String(), nullable=False),
           sa.Column("deadline", sa.BigInteger(), nullable=False),
           sa.Column("signature", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("grant_id"),
           indexes=("asset_id", "block_number", "consumer"))
    _table("lineage",
           *_from_log(),
           sa.Column("child_id", sa.String(), nullable=False),
           sa.Column("parent_id", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("child_id", "parent_id"),
           indexes=("block_number", "parent_id"))
    _table("meta",
           sa.Column("key", sa.String(), nullable=False),
           sa.Column("value", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("key"))
    _table("participant_events",
           *_from_log(),
           sa.Column("id", sa.Integer(), nullable=False),
           sa.Column("address", sa.String(), nullable=False),
           sa.Column("kind", sa.String(), nullable=False),
           sa.Column("roles", sa.Integer(), nullable=True),
           sa.Column("jurisdiction", sa.String(), nullable=True),
           sa.Column("credential_hash", sa.String(), nullable=True),
           sa.Column("by", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("id"),
           sa.UniqueConstraint("tx_hash", "log_index", name="uq_participant_events_log"),
           indexes=("address", "block_number"))
    _table("policies",
           *_from_log(),
           sa.Column("id", sa.Integer(), nullable=False),
           sa.Column("asset_id", sa.String(), nullable=False),
           sa.Column("epoch", sa.Integer(), nullable=False),
           sa.Column("not_before", sa.BigInteger(), nullable=False),
           sa.Column("not_after", sa.BigInteger(), nullable=False),
           sa.Column("max_count", sa.Integer(), nullable=False),
           sa.Column("price_per_access", sa.String(), nullable=False),
           sa.Column("compute_only", sa.Boolean(), nullable=False),
           sa.Column("auto_approve", sa.Boolean(), nullable=False),
           sa.Column("purposes", sa.String(), nullable=False),
           sa.Column("jurisdictions", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("id"),
           sa.UniqueConstraint("tx_hash", "log_index", name="uq_policies_log"),
           indexes=("asset_id", "block_number"))
    _table("revenue",
           *_from_log(),
           sa.Column("id", sa.Integer(), nullable=False),
           sa.Column("grant_id", sa.String(), nullable=False),
           sa.Column("owner", sa.String(), nullable=False),
           sa.Column("amount", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("id"),
           sa.UniqueConstraint("tx_hash", "log_index", name="uq_revenue_log"),
           indexes=("block_number", "grant_id", "owner"))
    _table("revocations",
           *_from_log(),
           sa.Column("grant_id", sa.String(), nullable=False),
           sa.Column("asset_id", sa.String(), nullable=False),
           sa.Column("by", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("grant_id"),
           indexes=("asset_id", "block_number"))
    _table("root_anchors",
           *_from_log(),
           sa.Column("provider", sa.String(), nullable=False),
           sa.Column("root", sa.String(), nullable=False),
           sa.Column("anchorer", sa.String(), nullable=False),
           sa.Column("leaf_count", sa.Integer(), nullable=False),
           sa.Column("kind", sa.Integer(), nullable=False),
           sa.PrimaryKeyConstraint("provider", "root"),
           indexes=("anchorer", "block_number", "root"))
    _table("settlements",
           *_from_log(),
           sa.Column("id", sa.Integer(), nullable=False),
           sa.Column("grant_id", sa.String(), nullable=False),
           sa.Column("asset_id", sa.String(), nullable=False),
           sa.Column("consumer", sa.String(), nullable=False),
           sa.Column("count", sa.Integer(), nullable=False),
           sa.Column("amount", sa.String(), nullable=False),
           sa.Column("usage_root", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("id"),
           sa.UniqueConstraint("tx_hash", "log_index", name="uq_settlements_log"),
           indexes=("asset_id", "block_number", "consumer", "grant_id"))


def downgrade() -> None:
    """Not supported: rebuild the index (``tds audit index`` from an empty database) or restore a backup."""
    raise NotImplementedError("downgrades are not supported: rebuild the index or restore a backup")
