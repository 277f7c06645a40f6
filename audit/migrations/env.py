"""The alembic environment of the audit index, run by :func:`config.schema.upgrade` on a connection
it passes in ``config.attributes["connection"]`` (already in the transaction that holds the upgrade lock).

To write a revision, autogenerate it against a database at head and review it: ``config.schema.config_for``
with ``target_metadata`` (the index tables of audit.db) in its attributes, then
``alembic.command.revision(cfg, message, autogenerate=True)``.
"""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("these migrations run on a connection: config.schema.upgrade(engine, schema)")
context.configure(connection=connection, target_metadata=config.attributes.get("target_metadata"),
                  version_table=config.get_main_option("version_table", "alembic_version"),
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
