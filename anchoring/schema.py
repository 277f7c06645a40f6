"""The schema of the gateway's database, kept by alembic revisions in ``anchoring/migrations``.

One database holds the gateway's tables (grant requests, nonces, usage counters, incidents), the
ledger's (:mod:`anchoring.ledger`) and the notary's (:mod:`anchoring.notary`); the revisions live
here, beside :func:`anchoring.ledger.open_engine`, because the gateway and the notary process both
open it and either may be first. Revision 1 is the schema ``create_all`` made before migrations;
revision 2 gives older access records their grant request's purpose.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from config.schema import Schema, upgrade

GATEWAY_SCHEMA = Schema("gateway database", Path(__file__).with_name("migrations"))
"""The gateway database's alembic environment."""


def upgrade_database(engine: Engine) -> None:
    """Bring the gateway's database to the newest schema (cheap when it is there; see :func:`config.schema.upgrade`)."""
    upgrade(engine, GATEWAY_SCHEMA)
