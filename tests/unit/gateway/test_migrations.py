"""The gateway database's schema migrations (``anchoring/migrations``), run by ``Database.connect`` and the notary.

A database made by ``create_all`` before migrations (the fixture: dumped from commit f4a8adc, with rows)
is stamped and upgraded on open, its rows kept and old access records given their grant's purpose; a new
database reaches head with the schema the models declare (SQLite, and PostgreSQL when a server can be
started); concurrent openers of a new database do not race; a database a newer TDS migrated is refused.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, text

from anchoring.notary import NOTARY_TABLES, Notary
from anchoring.schema import GATEWAY_SCHEMA
from config.schema import differences
from gateway.db import GATEWAY_TABLES, Database
from gateway.errors import DatabaseUnavailable
from tests.integration.postgres import new_database, postgres_url  # noqa: F401  (fixture)

LEGACY = Path(__file__).with_name("data") / "gateway_f4a8adc.sql"
GRANT = "0x" + "11" * 32
HEAD = "0004"


def models() -> MetaData:
    """The tables the gateway, the ledger and the notary declare, alone in one MetaData."""
    metadata = MetaData()
    for model in (*GATEWAY_TABLES, *NOTARY_TABLES):
        model.__table__.to_metadata(metadata)  # type: ignore[attr-defined]
    return metadata


def revision(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
    else:
        yield new_database(request.getfixturevalue("postgres_url"))


def test_a_database_from_before_migrations_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "gateway.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(LEGACY.read_text())
    db = Database.connect(f"sqlite:///{path}")
    assert revision(db) == {HEAD}
    assert {r.id: r.purpose for r in db.accesses()} == {1: "research", 2: "research", 3: None, 4: "audit"}
    assert db.ledger_id == "0badc0de" and db.used(GRANT) == 1 and len(db.incidents()) == 1
    notary = Notary(db.engine, None, chain_id=31337, contract="0x" + "00" * 20)  # the notary opens it as well
    assert notary.pending()[0] == 3  # access 1 is in the sealed batch that survived, 2-4 are pending
    assert differences(db.engine, GATEWAY_SCHEMA, models()) == []


def test_a_new_database_reaches_head_with_the_schema_the_models_declare(new_url: str) -> None:
    db = Database.connect(new_url)
    assert revision(db) == {HEAD}
    assert differences(db.engine, GATEWAY_SCHEMA, models()) == []
    assert Database.connect(new_url).ledger_id == db.ledger_id  # opened again: left alone


def test_concurrent_openers_of_a_new_database_agree(new_url: str) -> None:
    opened: list[Database] = []
    failed: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_it() -> None:
        barrier.wait()
        try:
            opened.append(Database.connect(new_url))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failed.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failed and len({db.ledger_id for db in opened}) == 1
    assert revision(opened[0]) == {HEAD}


def test_a_database_migrated_by_a_newer_tds_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    with Database.connect(url).engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(DatabaseUnavailable, match=r"revision 0099, newer than this TDS.*Upgrade TDS"):
        Database.connect(url)


def test_a_database_create_all_made_is_adopted_on_either_backend(new_url: str) -> None:
    from anchoring.ledger import open_engine

    engine = open_engine(new_url)
    models().create_all(engine)  # how the gateway created its tables before migrations
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO grant_requests VALUES (:g, :g, :c, 'research', '{}', '0x', 'issued', '', '',"
                          " 0, 0)"), {"g": GRANT, "c": "0x" + "33" * 20})
        conn.execute(text("INSERT INTO access_records (at, decision, code, method, path, grant_id, purpose, bytes,"
                          " requested, streaming) VALUES (0, 'allow', 'ok', 'GET', '/', :g, '', 0, 0, false)"),
                     {"g": GRANT})
    engine.dispose()
    db = Database.connect(new_url)
    assert revision(db) == {HEAD} and [r.purpose for r in db.accesses()] == ["research"]
    assert differences(db.engine, GATEWAY_SCHEMA, models()) == []
