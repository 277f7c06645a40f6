"""Compute-to-data: the ComputePolicies history (algorithm approvals, privacy budgets).

New tables: ``compute_approvals`` (AlgorithmApproved and AlgorithmRejected, ``approved`` tells them apart) and
``privacy_budgets`` (PrivacyBudgetSet; the uint64 epsilon in millionths as a decimal string). An index that
already followed a deployment with ComputePolicies kept those events in ``events`` only: their rows are read
back from there, so the index need not be rebuilt; rebuilding one from scratch gives the same rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-16
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _from_log() -> list[sa.Column[object]]:
    """Where an evidence row came from: its log and its block's time (block_number indexed)."""
    return [sa.Column("block_number", sa.Integer(), nullable=False),
            sa.Column("tx_hash", sa.String(), nullable=False),
            sa.Column("log_index", sa.Integer(), nullable=False),
            sa.Column("timestamp", sa.BigInteger(), nullable=False)]


def _log_table(name: str, *elements: sa.SchemaItem, indexes: Sequence[str] = ()) -> None:
    """A table of one row per log: an ``id`` key, a unique (tx_hash, log_index), ``ix_<table>_<column>`` indexes."""
    op.create_table(name, *_from_log(), sa.Column("id", sa.Integer(), nullable=False), *elements,
                    sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint("tx_hash", "log_index", name=f"uq_{name}_log"))
    for column in ("block_number", *indexes):
        op.create_index(f"ix_{name}_{column}", name, [column], unique=False)


def _text(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.String(), nullable=False)


def upgrade() -> None:
    """The two tables, filled from the ComputePolicies events the index already holds."""
    _log_table("compute_approvals", _text("asset_id"), _text("algorithm_id"),
               sa.Column("approved", sa.Boolean(), nullable=False), _text("by"), indexes=("algorithm_id", "asset_id"))
    _log_table("privacy_budgets", _text("asset_id"), _text("epsilon_micros"), _text("by"), indexes=("asset_id",))
    _backfill()


def _backfill() -> None:
    """Rows for the AlgorithmApproved, AlgorithmRejected and PrivacyBudgetSet events already in ``events``."""
    bind = op.get_bind()
    events = bind.execute(sa.text(
        "SELECT block_number, tx_hash, log_index, timestamp, name, args FROM events WHERE name IN "
        "('AlgorithmApproved', 'AlgorithmRejected', 'PrivacyBudgetSet')")).all()
    approvals: list[dict[str, Any]] = []
    budgets: list[dict[str, Any]] = []
    for block, tx, index, ts, name, raw in events:
        try:
            args = json.loads(raw)
            where = {"block_number": block, "tx_hash": tx, "log_index": index, "timestamp": ts,
                     "asset_id": str(args["assetId"]).lower(), "by": str(args["provider"])}
            if name == "PrivacyBudgetSet":
                budgets.append({**where, "epsilon_micros": str(int(args["epsilonMicros"]))})
            else:
                approvals.append({**where, "algorithm_id": str(args["algorithmId"]).lower(),
                                  "approved": name == "AlgorithmApproved"})
        except (ValueError, TypeError, KeyError):
            continue  # not an event of this TDS's ComputePolicies: the generic row stays
    common = [sa.column(c) for c in ("block_number", "tx_hash", "log_index", "timestamp", "asset_id", "by")]
    if approvals:
        table = sa.table("compute_approvals", *common, sa.column("algorithm_id"), sa.column("approved", sa.Boolean()))
        bind.execute(sa.insert(table), approvals)
    if budgets:
        common = [sa.column(c.name) for c in common]  # a column belongs to one table
        bind.execute(sa.insert(sa.table("privacy_budgets", *common, sa.column("epsilon_micros"))), budgets)


def downgrade() -> None:
    """Not supported: rebuild the index (``tds audit index`` from an empty database) or restore a backup."""
    raise NotImplementedError("downgrades are not supported: rebuild the index or restore a backup")
