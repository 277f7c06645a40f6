"""Service calls: the evidence of each call through ``/services/{id}/...`` (method and target sent to the
backend, request and response body hashes, the backend's status), one row per call's access record; the
access record's content hash is the SHA-256 of this evidence (``notary.calls``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

HASH = 66


def upgrade() -> None:
    """Create ``service_calls`` (unless a ``create_all`` made it already)."""
    if sa.inspect(op.get_bind()).has_table("service_calls"):
        return
    op.create_table("service_calls",
                    sa.Column("access_id", sa.BigInteger(), nullable=False),
                    sa.Column("method", sa.String(8), nullable=False),
                    sa.Column("target", sa.String(), nullable=False),
                    sa.Column("request_sha256", sa.String(HASH), nullable=False),
                    sa.Column("status", sa.Integer(), nullable=False),
                    sa.Column("response_sha256", sa.String(HASH), nullable=False),
                    sa.Column("bytes", sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint("access_id"))


def downgrade() -> None:
    """Not supported: restore a backup taken before the upgrade."""
    raise NotImplementedError("downgrades are not supported: restore a backup taken before the upgrade")
