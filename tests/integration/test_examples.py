"""The README's consumer example (eth-account + httpx only) works against a real gateway, and reports refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from domain.types import Policy
from tests.integration.gateway_fixtures import GatewayEnv, gw_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "consumer_eth_account.py"


def _run(env: GatewayEnv, asset: str, **key: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("CONSUMER_KEY", "CONSUMER_KEYFILE")}
    environ.update(key, ASSET=asset, TDS_GATEWAY_URL=env.url)
    return subprocess.run([sys.executable, str(EXAMPLE)], env=environ, capture_output=True, text=True, timeout=60)


def test_consumer_example_gets_a_grant_and_the_bytes(gw_env: GatewayEnv) -> None:  # noqa: F811
    reg = gw_env.new_asset(Policy(purposes=("research",), max_count=5), size=1000)
    done = _run(gw_env, reg.asset_id, CONSUMER_KEY=gw_env.account("consumer").key.to_0x_hex())
    assert done.returncode == 0, done.stderr
    grant_line, fetch_line = done.stdout.strip().splitlines()
    assert grant_line.endswith(" issued")
    status, sha256, size = fetch_line.split()
    assert (status, sha256.removeprefix("0x"), size) == ("200", reg.asset_id[2:], "1000")


def test_consumer_example_reads_the_key_from_the_keystore_file(gw_env: GatewayEnv) -> None:  # noqa: F811
    reg = gw_env.new_asset(Policy(purposes=("research",), max_count=5), size=300)
    done = _run(gw_env, reg.asset_id, CONSUMER_KEYFILE=str(gw_env.keystore.path("consumer")))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("200 ")
    assert gw_env.account("consumer").key.hex() not in done.stdout + done.stderr  # the key is never printed


def test_consumer_example_prints_the_gateways_error(gw_env: GatewayEnv) -> None:  # noqa: F811
    reg = gw_env.new_asset(Policy(purposes=("research",), max_count=5), size=300)
    done = _run(gw_env, reg.asset_id, CONSUMER_KEY=gw_env.account("outsider").key.to_0x_hex())
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("POST /grants refused (403) not_member: "), done.stderr
    assert gw_env.gateway.db.grant_requests(asset_id=reg.asset_id) == []
