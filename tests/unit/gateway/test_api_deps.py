"""The API's routers with their dependencies swapped through ``app.dependency_overrides`` (no chain).

The app here is the routers and error handlers of ``create_app`` on a fake gateway: a test names the
dependency it replaces (``gateway.api.deps``) and talks HTTP through TestClient.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from domain.types import Participant, ParticipantStatus, Role
from gateway.api import deps
from gateway.api.errors import install_error_handlers
from gateway.app import ROUTERS
from gateway.auth import Caller
from gateway.errors import ParticipantSuspended
from gateway.ratelimit import RateLimits, RefusalCounter

PROVIDER = "0x" + "aa" * 20
CONSUMER = "0x" + "Cc" * 20
OTHER = "0x" + "dd" * 20
ASSET = "0x" + "11" * 32
GRANT = "0x" + "22" * 32


def caller(address: str, roles: Role = Role.CONSUMER, block: int = 7) -> Caller:
    """An authenticated caller, as ``authenticated_caller`` would return it."""
    return Caller(address, Participant(address, roles, ParticipantStatus.ACTIVE, "DE", 0, "0x" + "00" * 32), block)


class FakeDb:
    """The few database calls the routes under test make; access records are kept in ``records``."""

    def __init__(self, rows: dict[str, Any] | None = None) -> None:
        self.rows = rows or {}
        self.records: list[dict[str, Any]] = []

    def grant_request(self, grant_id: str) -> Any:
        return self.rows.get(grant_id)

    def used(self, _grant_id: str) -> int:
        return 3

    def record_access(self, **values: Any) -> None:
        self.records.append(values)


def pending_row(consumer: str = CONSUMER, purpose: str = "research") -> Any:
    request = {"asset_id": ASSET, "consumer": consumer, "purpose": purpose, "max_count": 5}
    return SimpleNamespace(grant_id=GRANT, consumer=consumer.lower(), state="pending", purpose=purpose,
                           request_json=json.dumps(request), reason="", tx="")


def fake_gateway(db: FakeDb) -> Any:
    view = SimpleNamespace(request_of=lambda _g: None)
    return SimpleNamespace(db=db, view=view, chain_id=31337, provider_address=PROVIDER)


@pytest.fixture
def app() -> Iterator[FastAPI]:
    """The gateway's routers and error handlers; no gateway in ``app.state`` (tests override it)."""
    app = FastAPI()
    app.state.limits = RateLimits()
    app.state.refusals = RefusalCounter()
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    yield app
    app.dependency_overrides.clear()


def test_the_caller_dependency_decides_who_is_asking(app: FastAPI) -> None:
    db = FakeDb({GRANT: pending_row()})
    app.dependency_overrides[deps.get_gateway] = lambda: fake_gateway(db)
    app.dependency_overrides[deps.authenticated_caller] = lambda: caller(CONSUMER)
    http = TestClient(app)

    resp = http.get(f"/grants/{GRANT}")  # no signature: the overridden caller is the consumer
    assert resp.status_code == 200
    body = resp.json()
    assert (body["grant_id"], body["state"], body["used"], body["max_count"]) == (GRANT, "pending", 3, 5)

    app.dependency_overrides[deps.authenticated_caller] = lambda: caller(OTHER)
    resp = http.get(f"/grants/{GRANT}")  # another consumer: as if the grant did not exist
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    assert OTHER in resp.json()["error"]["message"]


def test_receipt_visibility_follows_the_overridden_caller(app: FastAPI) -> None:
    asked: list[dict[str, Any]] = []

    def receipts(**query: Any) -> list[Any]:
        asked.append(query)
        return []

    app.dependency_overrides[deps.get_gateway] = lambda: fake_gateway(FakeDb())
    app.dependency_overrides[deps.get_notary] = lambda: SimpleNamespace(receipts=receipts)
    http = TestClient(app)
    for who, sees in ((caller(CONSUMER), CONSUMER), (caller(PROVIDER, Role.PROVIDER), None),
                      (caller(OTHER, Role.AUDITOR), None)):
        app.dependency_overrides[deps.authenticated_caller] = lambda who=who: who
        resp = http.get("/receipts?limit=2")
        assert resp.status_code == 200 and resp.json() == {"receipts": [], "next": None}
        assert asked.pop() == {"grant_id": None, "consumer": sees, "after": 0, "limit": 2}


def test_without_an_override_the_real_dependency_refuses_an_unsigned_call(app: FastAPI) -> None:
    app.dependency_overrides[deps.get_gateway] = lambda: fake_gateway(FakeDb({GRANT: pending_row()}))
    app.dependency_overrides[deps.get_notary] = lambda: SimpleNamespace()
    http = TestClient(app)
    resp = http.get(f"/grants/{GRANT}")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "signature_missing"
    # what the routes checked before authenticating still comes first
    resp = http.get("/grants/0x1234")
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_id"
    resp = http.get("/receipts?limit=5000")
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_request"
    assert resp.json()["error"]["message"].startswith("query.limit: ")
    resp = http.post("/grants", content=b"{not json")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "malformed_json"
    assert app.state.refusals.snapshot()["unauthenticated"] == 4  # none of them left a record


def test_a_refused_fetch_is_recorded_with_the_grant_purpose(app: FastAPI) -> None:
    db = FakeDb({GRANT: pending_row(purpose="cancer research")})  # pending: no issued grant to use
    app.dependency_overrides[deps.get_gateway] = lambda: fake_gateway(db)
    app.dependency_overrides[deps.authenticated_caller] = lambda: caller(CONSUMER, block=9)
    http = TestClient(app)

    resp = http.get(f"/assets/{ASSET}/data?grant={GRANT}")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "grant_missing"
    resp = http.get(f"/assets/{ASSET}/data?grant={GRANT}&purpose=teaching")
    assert resp.status_code == 403
    first, declared = db.records
    assert first == {"decision": "deny", "code": "grant_missing", "grant_id": GRANT, "method": "GET",
                     "path": f"/assets/{ASSET}/data?grant={GRANT}", "purpose": "cancer research",
                     "asset_id": ASSET, "consumer": CONSUMER.lower(), "block": 9}
    assert declared["purpose"] == "teaching"  # the declared purpose wins


def test_a_suspended_participants_fetch_is_recorded(app: FastAPI) -> None:
    db = FakeDb({GRANT: pending_row()})

    def suspended() -> Caller:
        raise ParticipantSuspended(f"{CONSUMER} is suspended", address=CONSUMER)

    app.dependency_overrides[deps.get_gateway] = lambda: fake_gateway(db)
    app.dependency_overrides[deps.authenticated_caller] = suspended
    resp = TestClient(app).get(f"/assets/{ASSET}/data?grant={GRANT}")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "participant_suspended"
    assert [(r["decision"], r["code"], r["consumer"], r["grant_id"], r["purpose"], r["block"]) for r in db.records] \
        == [("deny", "participant_suspended", CONSUMER.lower(), GRANT, "research", None)]
    assert app.state.refusals.snapshot()["unauthenticated"] == 0  # it is a record, not a counter
