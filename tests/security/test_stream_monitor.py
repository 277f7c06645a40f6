"""Attack class: a grant that ends while its stream runs keeps the stream running to the last byte.

The attack: a consumer starts a large download, then loses the right to it (the provider revokes the
grant, the operator suspends the consumer, the grant's window ends) and keeps reading. On the old
code the grant was checked once, when the request arrived, so the whole object went out anyway.

What must hold: the stream stops within a block of the event (the gateway's policy monitor re-judges
the grant at every new head block, the window at its own clock), short of the Content-Length so the
client sees a cut; the access record stays "ok" (the access was allowed) with the bytes actually
delivered, the notarized receipt counts the same, and a ``stream_stopped`` incident says why.

The asset (64 MiB) is far more than loopback socket buffers hold, so without the monitor the client
would receive every byte (each test fails on ``received < SIZE``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest

from anchoring.ledger import AccessRecord
from domain.types import Policy
from tests.integration.gateway_fixtures import GatewayEnv

pytestmark = pytest.mark.integration

MIB = 1 << 20
SIZE = 64 * MIB
POLICY = Policy(purposes=("research",), jurisdictions=("DE",), max_count=5)
STOP_BOUND_S = 10.0  # generous: the point is that the stream ends at all, not how fast
READ_RATE = 16 * MIB  # bytes/s the consumer reads at after the event (the whole object would take ~4 s)


def final_record(env: GatewayEnv, grant: str, timeout: float = 15.0) -> AccessRecord:
    """The grant's allow record once its delivery is final (the stream ended or was cut)."""
    deadline = time.monotonic() + timeout
    while True:
        (record,) = env.gateway.db.accesses(decision="allow", grant_id=grant)
        if not record.streaming or time.monotonic() > deadline:
            return record
        time.sleep(0.05)


def stream_through(env: GatewayEnv, who: str, asset: str, event: Callable[[], None]) -> tuple[int, float, bool]:
    """Download ``asset`` as ``who``: read 1 MiB, run ``event`` (it returns once the event is in effect),
    then read on at ``READ_RATE``. (bytes received, seconds from the event's end to the stream's end,
    whether it was cut).

    Reading at a bounded rate keeps what goes out in the monitor's head poll interval after the event
    small next to the object, whatever the machine's loopback speed."""
    target = f"/assets/{asset}/data"
    received, fired, cut = 0, None, False
    with httpx.Client(base_url=env.url, timeout=30) as http:
        try:
            with http.stream("GET", target, headers=env.sign(who, "GET", target)) as resp:
                assert resp.status_code == 200 and int(resp.headers["content-length"]) == SIZE
                for chunk in resp.iter_raw(64 * 1024):
                    received += len(chunk)
                    if fired is not None:
                        time.sleep(len(chunk) / READ_RATE)
                    elif received >= MIB:
                        event()
                        fired = time.monotonic()
        except httpx.RemoteProtocolError:  # the body ended short of its Content-Length
            cut = True
    assert fired is not None, f"the stream ended after {received} bytes, before the event"
    return received, time.monotonic() - fired, cut


def assert_stopped(env: GatewayEnv, asset: str, grant: str, received: int, after_s: float, cut: bool,
                   incidents_before: int, reason: str) -> str:
    """Every consequence of a stopped stream; returns the incident's detail."""
    assert received < SIZE, f"the whole {SIZE}-byte object went out after the grant ended"
    assert cut, "the client was not told the body is incomplete"
    assert after_s < STOP_BOUND_S, f"the stream ran on for {after_s:.1f} s after the event"
    record = final_record(env, grant)
    assert not record.streaming, "the delivery's end was never recorded"
    assert record.code == "ok" and record.requested == SIZE  # it was allowed; it was stopped, not refused
    assert received <= record.bytes < SIZE
    env.gateway.notary().seal_all()
    (status,) = env.gateway.notary().receipts(grant_id=grant)
    assert status.receipt.byte_count == record.bytes  # the notarized receipt counts the same
    stopped = [i for i in env.gateway.db.incidents()[incidents_before:] if i.kind == "stream_stopped"]
    assert len(stopped) == 1 and stopped[0].asset_id == asset
    detail = stopped[0].detail
    assert re.search(reason, detail), detail
    assert f"stopped after {record.bytes} of {SIZE} bytes" in detail
    return detail


def test_a_grant_revoked_mid_stream_stops_it_within_a_block(gw_env: GatewayEnv) -> None:
    asset, grant = gw_env.granted_asset(POLICY, SIZE, max_count=5)
    request = gw_env.gateway.view.request_of(grant)
    assert request is not None
    before = len(gw_env.gateway.db.incidents())
    mined: list[int] = []

    def revoke() -> None:
        mined.append(int(gw_env.provider_grants().revoke(request)["blockNumber"]))

    received, after_s, cut = stream_through(gw_env, "consumer", asset, revoke)
    detail = assert_stopped(gw_env, asset, grant, received, after_s, cut, before,
                            rf"grant {grant} was revoked at block \d+")
    block = int(re.search(r"revoked at block (\d+)", detail).group(1))  # type: ignore[union-attr]
    assert block >= mined[0]


def test_a_consumer_suspended_mid_stream_is_cut_off(gw_env: GatewayEnv) -> None:
    asset, grant = gw_env.granted_asset(POLICY, SIZE, max_count=5, who="consumer2")
    address = gw_env.account("consumer2").address
    before = len(gw_env.gateway.db.incidents())
    try:
        received, after_s, cut = stream_through(gw_env, "consumer2", asset, lambda: gw_env.operator().suspend(address))
    finally:
        gw_env.operator().reinstate(address)
    assert_stopped(gw_env, asset, grant, received, after_s, cut, before,
                   rf"consumer {address.lower()} is suspended at block \d+")


def test_a_window_ending_mid_stream_stops_it_on_an_idle_chain(gw_env: GatewayEnv) -> None:
    reg = gw_env.new_asset(POLICY, size=SIZE)
    with gw_env.client("consumer") as c:
        offered = c.build_request(reg.asset_id, "research", max_count=5)
        request = replace(offered, not_after=int(time.time()) + 3)  # the window ends ~3 s from now
        grant = str(c.submit_grant(request)["grant_id"])
    before = len(gw_env.gateway.db.incidents())

    def window_ends() -> None:  # no transaction: the chain's head (and its block time) stands still
        time.sleep(max(0.0, request.not_after - time.time()))

    received, after_s, cut = stream_through(gw_env, "consumer", reg.asset_id, window_ends)
    assert_stopped(gw_env, reg.asset_id, grant, received, after_s, cut, before, rf"grant {grant} has expired")
