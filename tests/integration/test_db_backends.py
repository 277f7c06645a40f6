"""One behaviour suite for the gateway database, run on SQLite and on PostgreSQL.

Replicas are simulated by separate ``Database`` objects (separate engines and pools) on one URL, so
atomicity comes from the SQL itself, not from a lock inside one process.
"""

from __future__ import annotations

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from domain.types import GrantRequest
from gateway.db import Database, GrantState
from tests.integration.postgres import postgres_url  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


def _gid() -> str:
    return "0x" + os.urandom(32).hex()


def test_replicas_racing_for_the_last_uses_never_exceed_the_count(db_url: str) -> None:
    replicas = [Database.connect(db_url) for _ in range(3)]
    grant = _gid()
    barrier = threading.Barrier(24)

    def attempt(i: int) -> int | None:
        barrier.wait()
        return replicas[i % 3].consume(grant, 3, {"decision": "allow", "grant_id": grant, "code": ""})

    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(attempt, range(24)))
    ids = [r for r in results if r is not None]
    assert len(ids) == 3 and len(set(ids)) == 3 and all(i > 0 for i in ids)  # each use has its own record
    assert replicas[0].used(grant) == 3
    assert replicas[1].count_accesses(grant_id=grant, decision="allow") == 3  # a record iff a use


def test_access_records_hold_64_bit_values(db_url: str) -> None:
    db = Database.connect(db_url)
    grant = _gid()
    db.record_access(decision="allow", code="", grant_id=grant, bytes=5 * 2**30, block=2**40)
    (record,) = db.accesses(grant_id=grant)
    assert record.bytes == 5 * 2**30 and record.block == 2**40


def test_a_nonce_is_single_use_across_replicas(db_url: str) -> None:
    a, b = Database.connect(db_url), Database.connect(db_url)
    signer, nonce = "0x" + os.urandom(20).hex(), uuid.uuid4().int
    assert a.use_nonce(signer, nonce, 2**31)
    assert not b.use_nonce(signer, nonce, 2**31)
    assert not a.use_nonce(signer.upper().replace("0X", "0x"), nonce, 2**31)
    assert b.use_nonce("0x" + os.urandom(20).hex(), nonce, 2**31)  # another signer may use the same number


def test_grant_request_transitions_happen_once(db_url: str) -> None:
    a, b = Database.connect(db_url), Database.connect(db_url)
    gid = _gid()
    req = GrantRequest(gid, "0x" + "11" * 20, "research", 0, 2**31, 3, 0, 1, 2**31, 1)
    assert a.add_grant_request(gid, req, "0x" + "22" * 65, GrantState.PENDING)
    assert not b.add_grant_request(gid, req, "0x" + "22" * 65, GrantState.PENDING)
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda i: (a, b)[i % 2].transition(gid, (GrantState.PENDING,), GrantState.APPROVED),
                            range(8)))
    assert sum(bool(w) for w in won) == 1
    row = b.grant_request(gid)
    assert row is not None and row.state == GrantState.APPROVED and row.request() == req
