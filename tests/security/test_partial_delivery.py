"""Attack class: a delivery cut mid-stream (client gone, stored chunk tampered) claims every byte.

The attack: a consumer starts a multi-MiB download and drops the connection after the first MiB (or
the stored object is damaged mid-file, so the gateway aborts the stream). On the old code the count
was used and the access record, hence the notarized receipt, said the whole object was delivered.

What must hold: the count is used exactly once (the access happened), the receipt's ``byte_count``
is the bytes actually handed to the connection (less than the object's size), the record is sealed
only once the delivery is final, and a tampered chunk stops the stream at that chunk with an
incident recorded.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from domain.types import Policy
from anchoring.ledger import AccessRecord
from vault.store import DEFAULT_CHUNK_SIZE
from tests.integration.gateway_fixtures import GatewayEnv

pytestmark = pytest.mark.integration

POLICY = Policy(purposes=("research",), jurisdictions=("DE",), max_count=5)
MIB = 1 << 20


def grant_for(env: GatewayEnv, size: int) -> tuple[str, str]:
    reg = env.new_asset(POLICY, size=size)
    with env.client("consumer") as c:
        grant = c.request_grant(reg.asset_id, "research", max_count=5)["grant_id"]
    return reg.asset_id, grant


def final_record(env: GatewayEnv, grant: str, timeout: float = 15.0) -> AccessRecord:
    """The grant's allow record once its delivery is final (the stream ended or was cut)."""
    deadline = time.monotonic() + timeout
    while True:
        (record,) = env.gateway.db.accesses(decision="allow", grant_id=grant)
        if not record.streaming or time.monotonic() > deadline:
            return record
        time.sleep(0.05)


def receipt_bytes(env: GatewayEnv, grant: str) -> int:
    notary = env.gateway.notary()
    notary.seal_all()
    (status,) = notary.receipts(grant_id=grant)
    assert status.state == "accepted"
    return status.receipt.byte_count


def test_client_gone_mid_stream_receipt_counts_what_was_sent(gw_env: GatewayEnv) -> None:
    size = 48 * MIB  # far more than loopback socket buffers hold
    asset, grant = grant_for(gw_env, size)
    target = f"/assets/{asset}/data"
    read = 0
    with httpx.Client(base_url=gw_env.url, timeout=30) as http:
        with http.stream("GET", target, headers=gw_env.sign("consumer", "GET", target)) as resp:
            assert resp.status_code == 200 and int(resp.headers["content-length"]) == size
            for chunk in resp.iter_raw(64 * 1024):
                read += len(chunk)
                if read >= MIB:
                    break  # the client walks away: the connection is closed under the stream
    record = final_record(gw_env, grant)
    assert not record.streaming, "the delivery's end was never recorded"
    assert record.requested == size
    assert read <= record.bytes + DEFAULT_CHUNK_SIZE and record.bytes < size
    assert gw_env.gateway.db.used(grant) == 1  # the access happened once
    assert receipt_bytes(gw_env, grant) == record.bytes < size  # the notarized receipt says so too


def test_tampered_chunk_stops_the_stream_and_the_receipt_counts_the_good_chunks(gw_env: GatewayEnv) -> None:
    size = 4 * MIB
    asset, grant = grant_for(gw_env, size)
    data = gw_env.settings.store_path / asset[2:] / "data.bin"
    offset = 2 * (DEFAULT_CHUNK_SIZE + 16) + 100  # inside the third sealed chunk
    raw = bytearray(data.read_bytes())
    raw[offset] ^= 0x01
    data.write_bytes(bytes(raw))
    incidents_before = len(gw_env.gateway.db.incidents())
    target = f"/assets/{asset}/data"
    received = 0
    with httpx.Client(base_url=gw_env.url, timeout=30) as http:
        with pytest.raises(httpx.HTTPError):  # the stream is aborted, never completed
            with http.stream("GET", target, headers=gw_env.sign("consumer", "GET", target)) as resp:
                assert resp.status_code == 200
                for chunk in resp.iter_raw():
                    received += len(chunk)
    assert received <= 2 * DEFAULT_CHUNK_SIZE
    record = final_record(gw_env, grant)
    assert not record.streaming and record.bytes == 2 * DEFAULT_CHUNK_SIZE  # the two chunks before the damage
    assert gw_env.gateway.db.used(grant) == 1
    assert receipt_bytes(gw_env, grant) == 2 * DEFAULT_CHUNK_SIZE
    incidents = gw_env.gateway.db.incidents()[incidents_before:]
    assert [i.kind for i in incidents] == ["stored_file_tampered"] and incidents[0].asset_id == asset
    assert f"after {2 * DEFAULT_CHUNK_SIZE} of {size} bytes" in incidents[0].detail


def test_a_complete_stream_receipt_counts_every_byte(gw_env: GatewayEnv, tmp_path: Path) -> None:
    size = 3 * MIB + 5
    asset, grant = grant_for(gw_env, size)
    with gw_env.client("consumer") as c:
        c.fetch(asset, tmp_path / "whole.bin")
    record = final_record(gw_env, grant)
    assert (record.streaming, record.bytes, record.requested) == (False, size, size)
    assert receipt_bytes(gw_env, grant) == size
