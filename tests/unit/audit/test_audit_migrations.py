"""The audit index's schema migrations (``audit/migrations``), run by ``IndexDb.open``.

An index made by ``create_all`` before migrations (the fixture: dumped from commit f4a8adc) is stamped
on open with its rows kept; a new index reaches head with the schema the models declare (SQLite, and
PostgreSQL when a server can be started); an index a newer TDS migrated is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, text
from sqlmodel import select

from audit.db import AUDIT_SCHEMA, EVIDENCE_TABLES, BlockRow, IndexDb, Meta
from audit.errors import IndexUnavailable
from config.schema import differences
from tests.integration.postgres import new_database, postgres_url  # noqa: F401  (fixture)

LEGACY = Path(__file__).with_name("data") / "audit_f4a8adc.sql"
HEAD = "0003"


def models() -> MetaData:
    """The index tables, alone in one MetaData."""
    metadata = MetaData()
    for model in (Meta, BlockRow, *EVIDENCE_TABLES):
        model.__table__.to_metadata(metadata)  # type: ignore[attr-defined]
    return metadata


def revision(db: IndexDb) -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.execute(text("SELECT version_num FROM audit_alembic_version")).scalars())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        yield new_database(request.getfixturevalue("postgres_url"))


def test_an_index_from_before_migrations_is_stamped_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(LEGACY.read_text())
    db = IndexDb.open(f"sqlite:///{path}")
    assert revision(db) == {HEAD}
    with db.session() as s:
        assert {m.key: m.value for m in s.exec(select(Meta))} == {"chain_id": "31337", "last_block": "12"}
        assert [b.number for b in s.exec(select(BlockRow))] == [12]
    assert differences(db.engine, AUDIT_SCHEMA, models()) == []


def test_a_new_index_reaches_head_with_the_schema_the_models_declare(new_url: str) -> None:
    db = IndexDb.open(new_url)
    assert revision(db) == {HEAD}
    assert differences(db.engine, AUDIT_SCHEMA, models()) == []
    assert revision(IndexDb.open(new_url)) == {HEAD}


def test_an_in_memory_index_is_created_too() -> None:
    db = IndexDb.open("sqlite://")
    assert revision(db) == {HEAD} and differences(db.engine, AUDIT_SCHEMA, models()) == []


def test_an_index_migrated_by_a_newer_tds_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    with IndexDb.open(url).engine.begin() as conn:
        conn.execute(text("UPDATE audit_alembic_version SET version_num = '0099'"))
    with pytest.raises(IndexUnavailable, match=r"revision 0099, newer than this TDS.*Upgrade TDS"):
        IndexDb.open(url)


def test_revision_0002_carries_old_settlement_rows_over(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    asset, parent, grant = "0x" + "aa" * 32, "0x" + "bb" * 32, "0x" + "cc" * 32
    where = "1, '0x01', 0, 1700000000"
    with sqlite3.connect(path) as conn:
        conn.executescript(LEGACY.read_text())
        conn.executescript(f"""
            INSERT INTO assets VALUES({where}, '{asset}', '0x11', 1, '0x', 'u', '[]', '[]');
            INSERT INTO events VALUES({where}, 1, '0xb', 'AssetRegistry', 'AssetRegistered',
                '{{"assetId": "{asset}", "parents": ["{parent}"]}}');
            INSERT INTO grants VALUES({where}, '{grant}', '{asset}', '0x22', 'p', 0, 9, 3, '5', '1', 9, '0x');
            INSERT INTO settlements VALUES({where}, 1, '{grant}', '{asset}', '0x22', 2, '10', '0x99');
            INSERT INTO revenue VALUES(1, '0x01', 1, 1700000000, 1, '{grant}', '0x11', '10');
        """)
    db = IndexDb.open(f"sqlite:///{path}")
    assert revision(db) == {HEAD}
    with db.engine.connect() as conn:
        settled = conn.execute(text("SELECT units, receipts_root, period_start, free_units FROM settlements")).one()
        paid = conn.execute(text("SELECT asset_id, depth FROM revenue")).one()
        parents = conn.execute(text("SELECT parents FROM assets")).scalar_one()
        epoch = conn.execute(text("SELECT policy_epoch FROM grants")).scalar_one()
    assert tuple(settled) == (2, "0x99", 0, 0) and tuple(paid) == (asset, 0)
    assert parents == f'["{parent}"]' and epoch == 0
    assert differences(db.engine, AUDIT_SCHEMA, models()) == []
