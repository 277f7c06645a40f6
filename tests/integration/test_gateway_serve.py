"""`tds gateway serve` as a user runs it: an HTTP process plus ONE separate notary process, both stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from domain.types import Policy
from anchoring.ledger import receipt_id_of
from chain.eip712 import sign_call
from client.sdk import GatewayClient
from tests.integration.gateway_fixtures import GatewayEnv, build_env, free_port

pytestmark = pytest.mark.integration

ROOT_DIR = Path(__file__).resolve().parents[2]
OPEN = Policy(purposes=("research",), jurisdictions=("DE",), max_count=10)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayEnv]:
    """A devnet and a provider home (keystore, deployment, store); the gateway is NOT served in-process."""
    e = build_env(tmp_path_factory.mktemp("serve-home"))
    try:
        yield e
    finally:
        e.devnet.stop()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def _wait(what: str, check, timeout: float) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_serve_runs_a_separate_notary_and_stops_both_on_sigterm(env: GatewayEnv) -> None:
    asset = env.new_asset(OPEN, size=5000).asset_id
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    child_env = {**os.environ, "TDS_RPC_URL": env.devnet.rpc_url, "TDS_GATEWAY_NOTARY_INTERVAL_S": "0.3",
                 "TDS_GATEWAY_HEAD_POLL_INTERVAL_S": "0.2"}
    log = env.home / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "--home", str(env.home), "gateway", "serve",
                                 "--port", str(port)], cwd=ROOT_DIR, env=child_env, start_new_session=True,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        def healthy() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                return httpx.get(url + "/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait("/health", healthy, 60)
        notaries = [k for k in _children(proc.pid) if "anchoring.process" in _cmdline(k)]
        assert len(notaries) == 1, [_cmdline(k) for k in _children(proc.pid)]
        notary_pid = notaries[0]

        consumer = env.account("consumer")
        with GatewayClient(url, consumer) as client:
            client.request_grant(asset, "research", max_count=5)
            client.fetch(asset, env.home / "fetched.bin")
            domain = client.gateway_domain()  # the served gateway's (its URL is not env.gateway's)
        rid = receipt_id_of(env.gateway.db.accesses()[-1].id, env.gateway.db.ledger_id)
        target = f"/receipts/{rid}"

        def anchored() -> bool:
            headers = sign_call(consumer, domain, "GET", target)
            return httpx.get(url + target, headers=headers, timeout=5).json().get("state") == "anchored"

        _wait(f"{rid} anchored", anchored, 30)
        with env.gateway.db.engine.connect() as conn:  # anchored by the notary process, not the server
            holder = conn.exec_driver_sql("SELECT holder FROM notary_lease WHERE id = 1").scalar()
        assert str(holder).split("/")[1] == str(notary_pid)  # holder ids are host/pid/random

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
        assert not Path(f"/proc/{notary_pid}").exists()  # stopped (and reaped) with the server
        with pytest.raises(httpx.TransportError):
            httpx.get(url + "/health", timeout=2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
