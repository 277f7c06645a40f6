"""Access records written before records carried their grant's purpose (NULL, or ``""`` when the access
declared none) get it from their grant request, so their receipts name the purpose the notary used to
look up. A grant issued on-chain without a request here keeps none (its receipts say "unspecified").

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Fill in the purposes."""
    op.execute(sa.text(
        "UPDATE access_records SET purpose = (SELECT grant_requests.purpose FROM grant_requests"
        " WHERE grant_requests.grant_id = access_records.grant_id)"
        " WHERE (access_records.purpose IS NULL OR access_records.purpose = '')"
        " AND access_records.grant_id IS NOT NULL"))


def downgrade() -> None:
    """Not supported: restore a backup taken before the upgrade."""
    raise NotImplementedError("downgrades are not supported: restore a backup taken before the upgrade")
