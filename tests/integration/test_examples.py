"""The README's consumer example (eth-account + httpx only) works against a real gateway."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chain.types import Policy
from tests.integration.gateway_fixtures import GatewayEnv, gw_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "consumer_eth_account.py"


def test_consumer_example_gets_a_grant_and_the_bytes(gw_env: GatewayEnv) -> None:  # noqa: F811
    reg = gw_env.new_asset(Policy(purposes=("research",), max_count=5), size=1000)
    env = {**os.environ, "CONSUMER_KEY": gw_env.account("consumer").key.to_0x_hex(), "ASSET": reg.asset_id,
           "TDS_GATEWAY_URL": gw_env.url}
    done = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    grant_line, fetch_line = done.stdout.strip().splitlines()
    assert grant_line.endswith(" issued")
    assert fetch_line == f"200 {reg.asset_id[2:]} 1000"
