"""The job rows of the gateway database (SQLite, no chain): what a finished job's row and access record say is
what its evidence was hashed from, and a job is finished once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gateway.db import Database
from gateway.jobs import EMPTY_SHA256, evidence_of
from notary.calls import evidence_digest
from notary.jobs import job_evidence

GRANT = "0x" + "11" * 32
ASSET = "0x" + "22" * 32
ALGO = "0x" + "33" * 32


@pytest.fixture()
def db(tmp_path: Path) -> Database:
    return Database.connect(f"sqlite:///{tmp_path / 'gw.db'}")


def _submit(db: Database, job_id: str, epsilon: int = 0) -> int:
    access = {"request_id": job_id, "consumer": "0x" + "44" * 20, "asset_id": ASSET, "decision": "allow",
              "code": "ok", "grant_id": GRANT, "streaming": True}
    job = {"job_id": job_id, "grant_id": GRANT, "consumer": "0x" + "44" * 20, "asset_id": ASSET,
           "algorithm_id": ALGO, "params_json": "{}", "params_sha256": "0x" + hashlib.sha256(b"{}").hexdigest(),
           "epsilon_micros": epsilon, "output_kind": "json"}
    access_id, short = db.submit_job(GRANT, 5, access, job, epsilon, 1_000_000)
    assert short is None and access_id is not None
    return access_id


def _evidence(job_id: str, started: float, finished: float) -> dict[str, object]:
    return job_evidence(job=job_id, grant=GRANT, consumer="0x" + "44" * 20, asset=ASSET, algorithm=ALGO,
                        input_sha256=ASSET, params_sha256="0x" + hashlib.sha256(b"{}").hexdigest(),
                        output_sha256=EMPTY_SHA256, epsilon_micros=0, state="failed", exit_status=1, cpu_ms=5,
                        bytes_out=0, started=int(started), finished=int(finished))


def test_the_row_keeps_the_finish_time_its_evidence_was_hashed_with(db: Database) -> None:
    access_id = _submit(db, "a" * 32)
    assert db.start_job("a" * 32)
    row = db.job("a" * 32)
    assert row is not None and row.started_at is not None
    finished = float(int(row.started_at) + 1) - 0.0001  # the last moment of a second: a later clock is the next
    evidence = _evidence("a" * 32, row.started_at, finished)
    values = {"state": "failed", "problem": "", "exit_status": 1, "cpu_ms": 5, "max_rss_kb": 0, "wall_ms": 1,
              "bytes_out": 0, "output_sha256": None, "log_tail": "", "sandbox": "", "result_expires_at": None,
              "finished_at": finished}
    digest = db.finish_job("a" * 32, values, evidence, ran=True, released=False)
    row = db.job("a" * 32)
    assert row is not None and row.finished_at == finished
    assert digest == evidence_digest(evidence) == evidence_digest(evidence_of(row))
    (record,) = db.accesses(id=access_id)
    assert record.content_hash == digest and record.streaming is False
    # a second finisher (a cancel racing the worker) changes nothing
    assert db.finish_job("a" * 32, {**values, "state": "cancelled"}, evidence, ran=False, released=False) is None
    assert db.job("a" * 32).state == "failed" and db.used(GRANT) == 1  # type: ignore[union-attr]


def test_a_job_that_never_ran_gives_back_its_use_and_its_epsilon(db: Database) -> None:
    access_id = _submit(db, "b" * 32, epsilon=400_000)
    assert db.used(GRANT) == 1 and db.privacy_spent(GRANT) == 400_000
    db.request_cancel("b" * 32)
    assert not db.start_job("b" * 32)  # no worker starts a job whose cancel was asked
    row = db.job("b" * 32)
    assert row is not None
    values = {"state": "cancelled", "problem": "cancelled before it started", "finished_at": row.created_at + 1}
    assert db.finish_job("b" * 32, values, _evidence("b" * 32, row.created_at, row.created_at + 1), ran=False,
                         released=False, states=("queued",)) is not None
    assert db.used(GRANT) == 0 and db.privacy_spent(GRANT) == 0
    (record,) = db.accesses(id=access_id)
    assert record.decision == "deny" and record.code == "job_not_run"
