"""The same code on SQLite and PostgreSQL: the audit index gives the same answers on both."""

from __future__ import annotations

import json
import os

import pytest

from domain.types import Policy

from tests.integration.conftest import Space
from tests.integration.postgres import postgres_url  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration


def _with_db(url: str | None, fn):  # type: ignore[no-untyped-def]
    old = os.environ.pop("TDS_AUDIT_DB_URL", None)
    if url:
        os.environ["TDS_AUDIT_DB_URL"] = url
    try:
        return fn()
    finally:
        os.environ.pop("TDS_AUDIT_DB_URL", None)
        if old is not None:
            os.environ["TDS_AUDIT_DB_URL"] = old


def test_audit_index_answers_the_same_on_sqlite_and_postgres(
    space: Space, postgres_url: str, tmp_path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    data = os.urandom(256)
    (tmp_path / "pg.bin").write_bytes(data)
    reg = space.tds("asset", "register", str(tmp_path / "pg.bin"), "--json", capsys=capsys).json()
    # values past 32-bit columns: a 5 GiB asset and a policy window ending in 2106 (uint32 max)
    _, assets, grants = space.clients("provider")
    big = "0x" + os.urandom(32).hex()
    assets.register(big, 5 * 2**30, "0x" + "00" * 32, "urn:big")
    grants.set_policy(big, Policy(not_after=2**32 - 1, max_count=3))
    answers = {}
    for name, url in (("sqlite", f"sqlite:///{tmp_path / 'audit.db'}"), ("postgres", postgres_url)):
        def run() -> dict:
            assert space.tds("audit", "index", capsys=capsys).code == 0
            asset = space.tds("audit", "asset", reg["asset_id"], "--json", "--no-refresh", capsys=capsys)
            huge = space.tds("audit", "asset", big, "--json", "--no-refresh", capsys=capsys)
            assert huge.code == 0 and huge.json()["asset"]["size"] == 5 * 2**30, huge.err
            assert huge.json()["policies"][0]["not_after"] == 2**32 - 1
            people = space.tds("audit", "participant", "consumer", "--json", "--no-refresh", capsys=capsys)
            assert asset.code == 0 and people.code == 0, (asset.err, people.err)
            return {"asset": asset.json(), "participant": people.json(), "big": huge.json()}
        answers[name] = _with_db(url, run)
        assert answers[name]["asset"]
    assert json.dumps(answers["sqlite"], sort_keys=True) == json.dumps(answers["postgres"], sort_keys=True)
