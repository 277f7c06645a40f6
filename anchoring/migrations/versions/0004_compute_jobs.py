"""Compute jobs: one row per job (what was asked, how it ran, what left) and the epsilon each grant spent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

HASH = 66


def upgrade() -> None:
    """Create ``compute_jobs`` and ``privacy_spend`` (unless a ``create_all`` made them already)."""
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("compute_jobs"):
        op.create_table(
            "compute_jobs",
            sa.Column("job_id", sa.String(32), nullable=False),
            sa.Column("access_id", sa.BigInteger(), nullable=False),
            sa.Column("grant_id", sa.String(HASH), nullable=False),
            sa.Column("consumer", sa.String(42), nullable=False),
            sa.Column("asset_id", sa.String(HASH), nullable=False),
            sa.Column("algorithm_id", sa.String(HASH), nullable=False),
            sa.Column("params_json", sa.String(), nullable=False),
            sa.Column("params_sha256", sa.String(HASH), nullable=False),
            sa.Column("epsilon_micros", sa.BigInteger(), nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("cancel_requested", sa.Boolean(), nullable=False),
            sa.Column("exit_status", sa.Integer(), nullable=True),
            sa.Column("cpu_ms", sa.BigInteger(), nullable=False),
            sa.Column("max_rss_kb", sa.BigInteger(), nullable=False),
            sa.Column("wall_ms", sa.BigInteger(), nullable=False),
            sa.Column("bytes_out", sa.BigInteger(), nullable=False),
            sa.Column("output_sha256", sa.String(HASH), nullable=True),
            sa.Column("output_kind", sa.String(16), nullable=False),
            sa.Column("problem", sa.String(), nullable=False),
            sa.Column("log_tail", sa.String(), nullable=False),
            sa.Column("sandbox", sa.String(16), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("started_at", sa.Float(), nullable=True),
            sa.Column("finished_at", sa.Float(), nullable=True),
            sa.Column("result_expires_at", sa.Float(), nullable=True),
            sa.PrimaryKeyConstraint("job_id"))
        for column in ("access_id", "grant_id", "consumer", "state"):
            op.create_index(f"ix_compute_jobs_{column}", "compute_jobs", [column])
    if not inspector.has_table("privacy_spend"):
        op.create_table("privacy_spend",
                        sa.Column("grant_id", sa.String(HASH), nullable=False),
                        sa.Column("spent_micros", sa.BigInteger(), nullable=False),
                        sa.PrimaryKeyConstraint("grant_id"))


def downgrade() -> None:
    """Not supported: restore a backup taken before the upgrade."""
    raise NotImplementedError("downgrades are not supported: restore a backup taken before the upgrade")
