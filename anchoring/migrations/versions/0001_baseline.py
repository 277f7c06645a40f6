"""Baseline: the gateway's database as ``create_all`` made it before migrations (grant requests, nonces,
usage counters, incidents; the ledger's access records and epochs; the notary's batches, members,
restored receipts and lease).

A database created by ``create_all`` (no ``alembic_version``) is adopted here: only the tables it lacks
are created (as ``create_all`` did: a table and its indexes together), so it ends stamped at this
revision with today's schema whichever process created which tables first.

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

HASH = 66  # a 0x-prefixed 32-byte hex value


def _table(name: str, *elements: sa.SchemaItem, indexes: Sequence[str] = ()) -> None:
    """Create table ``name`` with an ``ix_<table>_<column>`` index per column in ``indexes``, unless it exists."""
    if sa.inspect(op.get_bind()).has_table(name):
        return
    op.create_table(name, *elements)
    for column in indexes:
        op.create_index(f"ix_{name}_{column}", name, [column], unique=False)


def upgrade() -> None:
    """Today's tables, where missing."""
    _gateway_tables()
    _ledger_tables()
    _notary_tables()


def _gateway_tables() -> None:
    _table("grant_requests",
           sa.Column("grant_id", sa.String(HASH), nullable=False),
           sa.Column("asset_id", sa.String(HASH), nullable=False),
           sa.Column("consumer", sa.String(42), nullable=False),
           sa.Column("purpose", sa.String(), nullable=False),
           sa.Column("request_json", sa.String(), nullable=False),
           sa.Column("signature", sa.String(), nullable=False),
           sa.Column("state", sa.String(16), nullable=False),
           sa.Column("reason", sa.String(), nullable=False),
           sa.Column("tx", sa.String(), nullable=False),
           sa.Column("created_at", sa.Float(), nullable=False),
           sa.Column("updated_at", sa.Float(), nullable=False),
           sa.PrimaryKeyConstraint("grant_id"),
           indexes=("asset_id", "consumer", "state"))
    _table("used_nonces",
           sa.Column("signer", sa.String(42), nullable=False),
           sa.Column("nonce", sa.String(80), nullable=False),
           sa.Column("expiry", sa.BigInteger(), nullable=False),
           sa.PrimaryKeyConstraint("signer", "nonce"),
           indexes=("expiry",))
    _table("usage_counters",
           sa.Column("grant_id", sa.String(HASH), nullable=False),
           sa.Column("used", sa.Integer(), nullable=False),
           sa.Column("max_count", sa.Integer(), nullable=False),
           sa.PrimaryKeyConstraint("grant_id"))
    _table("incidents",
           sa.Column("id", sa.Integer(), nullable=False),
           sa.Column("at", sa.Float(), nullable=False),
           sa.Column("kind", sa.String(40), nullable=False),
           sa.Column("asset_id", sa.String(HASH), nullable=True),
           sa.Column("detail", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("id"))


def _ledger_tables() -> None:
    _table("access_records",
           sa.Column("id", sa.Integer(), nullable=False),
           sa.Column("at", sa.Float(), nullable=False),
           sa.Column("decision", sa.String(8), nullable=False),
           sa.Column("code", sa.String(40), nullable=False),
           sa.Column("method", sa.String(8), nullable=False),
           sa.Column("path", sa.String(512), nullable=False),
           sa.Column("consumer", sa.String(42), nullable=True),
           sa.Column("asset_id", sa.String(HASH), nullable=True),
           sa.Column("grant_id", sa.String(HASH), nullable=True),
           sa.Column("purpose", sa.String(), nullable=True),
           sa.Column("bytes", sa.BigInteger(), nullable=False),
           sa.Column("content_hash", sa.String(HASH), nullable=True),
           sa.Column("block", sa.BigInteger(), nullable=True),
           sa.Column("requested", sa.BigInteger(), nullable=False),
           sa.Column("streaming", sa.Boolean(), nullable=False),
           sa.Column("checkpoint_at", sa.Float(), nullable=True),
           sa.PrimaryKeyConstraint("id"),
           indexes=("asset_id", "at", "consumer", "grant_id", "streaming"))
    _table("ledger_epochs",
           sa.Column("ledger_id", sa.String(16), nullable=False),
           sa.Column("first_access_id", sa.BigInteger(), nullable=False),
           sa.Column("created_at", sa.Float(), nullable=False),
           sa.Column("reconciled_at", sa.Float(), nullable=True),
           sa.Column("replay_floor", sa.BigInteger(), nullable=False),
           sa.PrimaryKeyConstraint("ledger_id"),
           sa.UniqueConstraint("first_access_id"))


def _notary_tables() -> None:
    _table("notary_batches",
           sa.Column("id", sa.Integer(), nullable=False),
           sa.Column("root", sa.String(HASH), nullable=False),
           sa.Column("leaf_count", sa.Integer(), nullable=False),
           sa.Column("state", sa.String(8), nullable=False),
           sa.Column("anchor_tx", sa.String(HASH), nullable=True),
           sa.Column("anchor_block", sa.Integer(), nullable=True),
           sa.Column("created_at", sa.Float(), nullable=False),
           sa.Column("anchored_at", sa.Float(), nullable=True),
           sa.PrimaryKeyConstraint("id"),
           sa.UniqueConstraint("root"),
           indexes=("state",))
    _table("notary_batch_members",
           sa.Column("access_id", sa.Integer(), nullable=False),
           sa.Column("batch_id", sa.Integer(), nullable=False),
           sa.Column("leaf_index", sa.Integer(), nullable=False),
           sa.Column("receipt_json", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("access_id"),
           indexes=("batch_id",))
    _table("notary_restored",
           sa.Column("receipt_id", sa.String(48), nullable=False),
           sa.Column("batch_id", sa.Integer(), nullable=False),
           sa.Column("leaf_index", sa.Integer(), nullable=False),
           sa.Column("grant_id", sa.String(HASH), nullable=False),
           sa.Column("consumer", sa.String(42), nullable=False),
           sa.Column("allowed", sa.Boolean(), nullable=False),
           sa.Column("receipt_json", sa.String(), nullable=False),
           sa.PrimaryKeyConstraint("receipt_id"),
           indexes=("batch_id", "consumer", "grant_id"))
    _table("notary_lease",
           sa.Column("id", sa.Integer(), nullable=False),
           sa.Column("holder", sa.String(64), nullable=False),
           sa.Column("until", sa.Float(), nullable=False),
           sa.PrimaryKeyConstraint("id"))


def downgrade() -> None:
    """Not supported: restore a backup taken before the upgrade."""
    raise NotImplementedError("downgrades are not supported: restore a backup taken before the upgrade")
