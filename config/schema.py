"""Schema migrations (alembic), run when a database is opened: the one runner of TDS's two databases.

A :class:`Schema` names an alembic environment kept in its package (the gateway's database:
``anchoring/migrations``; the audit index: ``audit/migrations``), configured here without an
alembic.ini. :func:`upgrade` brings a database to the newest revision the code knows:

- at head already: one ``SELECT`` of its version table (``alembic_version``; the audit index's is
  ``audit_alembic_version``) and nothing else (every open of an up-to-date database pays only that);
- at a revision the code does not know (a newer TDS wrote it): :class:`SchemaTooNew`, naming the fix;
- otherwise, under the database's write lock (PostgreSQL: a transaction-scoped advisory lock;
  SQLite: ``BEGIN IMMEDIATE``), the version is read again (another process may have upgraded it
  meanwhile) and the missing revisions run in that one transaction. A database created by
  ``create_all`` before migrations existed (no version table) goes through revision 1, which
  creates only the tables it lacks, as ``create_all`` did, and is then stamped and upgraded.

Errors::

    SchemaError          root
    └── SchemaTooNew     the database is at a revision this code does not know (upgrade TDS)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, TextClause, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError


class SchemaError(RuntimeError):
    """Root of the schema migration errors."""


class SchemaTooNew(SchemaError):
    """The database was migrated by a newer TDS: this code does not know its revision."""


@dataclass(frozen=True)
class Schema:
    """An alembic environment: ``name`` for messages and the lock, ``location`` its directory, and the
    table that records its revision (distinct per schema, so two schemas may share a PostgreSQL database)."""

    name: str
    location: Path
    version_table: str = "alembic_version"

    @property
    def lock_key(self) -> int:
        """The PostgreSQL advisory lock key of this schema (a signed 64-bit number from its name)."""
        return int.from_bytes(hashlib.sha256(f"tds-schema:{self.name}".encode()).digest()[:8], "big", signed=True)


def upgrade(engine: Engine, schema: Schema, url: str = "") -> None:
    """Bring the database of ``engine`` to ``schema``'s head (see the module doc); SchemaTooNew if it is newer."""
    heads, known = _revisions(schema)
    current = _current(engine, schema)
    if current == heads:
        return
    _refuse_unknown(current, known, heads, schema, url or _shown(engine))
    with engine.connect() as conn:
        _lock(conn, schema)
        current = _read_version(conn, schema)
        _refuse_unknown(current, known, heads, schema, url or _shown(engine))
        if current != heads:
            _run_alembic(conn, schema)
        conn.commit()


def config_for(schema: Schema, connection: Connection | None = None, **attributes: Any) -> Any:
    """An alembic ``Config`` of ``schema`` (no ini file), running on ``connection`` when given."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(schema.location))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_table", schema.version_table)
    cfg.attributes.update(attributes, connection=connection)
    return cfg


def differences(engine: Engine, schema: Schema, metadata: MetaData) -> list[Any]:
    """What alembic's autogenerate finds between the database and ``metadata`` (nothing when the
    revisions build what the models declare); the revision table itself is not compared."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": schema.version_table})
        return list(compare_metadata(context, metadata))


def run_environment() -> None:
    """The body of every schema's alembic ``env.py``: run the migrations on the connection
    :func:`upgrade` passes in ``config.attributes["connection"]`` (already inside its locked transaction)."""
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


def _run_alembic(conn: Connection, schema: Schema) -> None:
    from alembic import command

    command.upgrade(config_for(schema, conn), "head")


@lru_cache(maxsize=None)
def _revisions(schema: Schema) -> tuple[set[str], frozenset[str]]:
    """(heads, every revision) of the scripts (read once per process)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(config_for(schema))
    return set(script.get_heads()), frozenset(r.revision for r in script.walk_revisions())


def _current(engine: Engine, schema: Schema) -> set[str] | None:
    """The revisions in the version table; None when there is no such table (a new or pre-migration
    database). Tried rather than looked up: one statement on the common path."""
    with engine.connect() as conn:
        try:
            return {str(v) for v in conn.execute(_version(schema)).scalars()}
        except DBAPIError:
            return None


def _read_version(conn: Connection, schema: Schema) -> set[str]:
    """The revisions in the version table (none without the table), inside the caller's transaction."""
    if not inspect(conn).has_table(schema.version_table):
        return set()
    return {str(v) for v in conn.execute(_version(schema)).scalars()}


@lru_cache(maxsize=None)
def _version(schema: Schema) -> TextClause:
    return text(f"SELECT version_num FROM {schema.version_table}")  # a constant of the Schema, not input


def _lock(conn: Connection, schema: Schema) -> None:
    """Take the write lock that serialises upgrades: concurrent openers wait here, then find it done."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": schema.lock_key})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _refuse_unknown(current: set[str] | None, known: frozenset[str], heads: set[str], schema: Schema,
                    shown: str) -> None:
    unknown = sorted((current or set()) - known)
    if unknown:
        raise SchemaTooNew(
            f"the {schema.name} at {shown} is at schema revision {', '.join(unknown)}, newer than this TDS "
            f"knows (its newest is {', '.join(sorted(heads))}): a newer TDS migrated it. Upgrade TDS "
            "(pip install -U tds) to use this database, or point this one at another database")


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
