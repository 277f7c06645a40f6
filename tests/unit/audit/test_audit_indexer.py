"""The indexer against a synthetic chain: idempotence, resume, reorg rollback, rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from audit.db import EventRow, IndexDb
from audit.errors import IndexMismatch
from audit.indexer import Indexer
from audit.queries import asset_history, grant_history, participant_history
from tests.unit.audit.conftest import CLEAN, CONSUMER, G1, G2, RAW, Source, SyntheticChain, grant, h32, small_space


def _events(db: IndexDb) -> list[tuple[int, str]]:
    with db.session() as s:
        return [(e.block_number, e.name) for e in s.exec(select(EventRow).order_by(EventRow.block_number))]


def test_indexes_every_event_once_and_is_idempotent(indexer: Indexer, chain: SyntheticChain, db: IndexDb) -> None:
    small_space(chain)
    run = indexer.run_once()
    assert run.events == len(chain.events) and run.to_block == chain.head()
    assert indexer.run_once().events == 0  # nothing new
    indexer.rollback_to(3)  # pretend a crash lost the cursor: re-index the same blocks
    indexer.run_once()
    assert len(_events(db)) == len(chain.events)


def test_resumes_from_the_last_indexed_block(db: IndexDb, chain: SyntheticChain) -> None:
    small_space(chain)
    source = Source(chain)
    Indexer(db, source, batch_blocks=100).run_once()
    grant(chain, h32("late grant"), CLEAN)
    again = Indexer(db, source, batch_blocks=100).run_once()  # a restarted process
    assert again.from_block == chain.head() and again.events == 2  # GrantIssued and GrantAccepted


def test_reorg_rolls_back_to_the_last_consistent_block(indexer: Indexer, chain: SyntheticChain, db: IndexDb) -> None:
    small_space(chain)
    indexer.run_once()
    before = len(_events(db))
    dropped = [e for e in chain.events if e.block_number > chain.head() - 3]
    chain.reorg(3)
    run = indexer.run_once()
    assert run.rolled_back_to == chain.head() - 3
    assert len(_events(db)) == before - len(dropped)
    with db.session() as s:
        assert grant_history(s, G1).settlements == ()  # the settlement was in a dropped block


def test_reorg_below_every_stored_block_rebuilds(indexer: Indexer, chain: SyntheticChain, db: IndexDb) -> None:
    small_space(chain)
    indexer.run_once()
    chain.reorg(chain.head())  # everything but genesis replaced, no events left
    run = indexer.run_once()
    assert run.rolled_back_to is not None and _events(db) == []


def test_refuses_an_index_of_another_chain(db: IndexDb, chain: SyntheticChain) -> None:
    Indexer(db, Source(chain)).run_once()
    other = Source(chain)
    other.identity = lambda: {"chain_id": "1", "registry": "0x" + "99" * 20}  # type: ignore[method-assign]
    with pytest.raises(IndexMismatch, match="chain_id"):
        Indexer(db, other).run_once()


def test_rebuild_from_empty_db_gives_same_answers(tmp_path: Path, chain: SyntheticChain) -> None:
    small_space(chain)
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    first = IndexDb.open(url)
    Indexer(first, Source(chain), batch_blocks=3).run_once()
    with first.session() as s:
        answers = (asset_history(s, CLEAN).to_json(), participant_history(s, CONSUMER).to_json(),
                   grant_history(s, G2).to_json())
    first.dispose()
    (tmp_path / "audit.db").unlink()
    second = IndexDb.open(url)
    Indexer(second, Source(chain), batch_blocks=50).run_once()
    with second.session() as s:
        assert (asset_history(s, CLEAN).to_json(), participant_history(s, CONSUMER).to_json(),
                grant_history(s, G2).to_json()) == answers
        assert asset_history(s, RAW).asset.asset_id == RAW
