"""The alembic environment of the gateway's database, run by :func:`config.schema.upgrade` on a connection
it passes in ``config.attributes["connection"]`` (already in the transaction that holds the upgrade lock).

To write a revision, autogenerate it against a database at head and review it: ``config.schema.config_for``
with ``target_metadata`` (the gateway's, the ledger's and the notary's tables) in its attributes, then
``alembic.command.revision(cfg, message, autogenerate=True)``.
"""

from __future__ import annotations

from config.schema import run_environment

run_environment()
