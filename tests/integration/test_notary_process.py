"""The notary process needs the ledger and the anchoring key, nothing else: no master key, no store.

A gateway on a real anvil devnet serves a download; a separate ``python -m anchoring.process`` (what
``tds gateway serve`` starts) seals and anchors its receipt while the gateway's master key file is
away and absent from the child's environment. The child must not create one, nor open a file of the
encrypted store.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from anchoring.ledger import receipt_id_of
from domain.types import Policy
from gateway.app import create_app
from tests.integration.gateway_fixtures import GatewayEnv, _start_server, build_env
from vault.keys import MASTER_KEY_ENV

pytestmark = pytest.mark.integration
ROOT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayEnv]:
    """A served gateway without a notary of its own (the process under test is the notary)."""
    e = build_env(tmp_path_factory.mktemp("notary-process"))
    try:
        e.settings = replace(e.settings, notary_interval_s=0)
        e.gateway.settings = e.settings
        e.server = _start_server(create_app(e.settings, e.gateway), e.settings.port)
        yield e
    finally:
        if e.server is not None:
            e.server.should_exit = True
            e.server._tds_thread.join(timeout=10)
        e.devnet.stop()


def test_the_notary_process_runs_without_the_master_key(env: GatewayEnv, tmp_path: Path) -> None:
    reg = env.new_asset(Policy(purposes=("research",), max_count=5), size=2048)
    with env.client("consumer") as c:
        c.request_grant(reg.asset_id, "research", max_count=5)
        c.fetch(reg.asset_id, tmp_path / "out.bin")  # the serving gateway holds its key in memory
    record = env.gateway.db.accesses()[-1]
    rid = receipt_id_of(int(record.id or 0), env.gateway.db.ledger_id)
    key_file, hidden = env.settings.master_key_path, tmp_path / "master.key.away"
    assert key_file.exists()
    key_file.rename(hidden)
    settings = replace(env.settings, notary_interval_s=0.2).notary()
    child_env = {k: v for k, v in os.environ.items() if k != MASTER_KEY_ENV}
    child_env |= {**settings.to_env(), "PYTHONPATH": str(ROOT_DIR), "TDS_RPC_URL": env.devnet.rpc_url}
    log = tmp_path / "notary.log"
    proc = subprocess.Popen([sys.executable, "-m", "anchoring.process", "--log-level", "info"],
                            env=child_env, cwd=ROOT_DIR, stderr=log.open("wb"))
    try:
        deadline, state = time.monotonic() + 30, ""
        with env.client("consumer") as c:
            while state != "anchored" and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.2)
                state = c.get_signed(f"/receipts/{rid}").json()["state"]
        assert state == "anchored", f"{state} (notary exit {proc.poll()}): {log.read_text()[-2000:]}"
        assert not key_file.exists()  # it did not create one either
        store = str(env.settings.store_path)
        open_files = [os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{proc.pid}/fd")]
        assert not [f for f in open_files if f.startswith(store) or f.endswith("master.key")]
    finally:
        proc.terminate()
        proc.wait(20)
        hidden.rename(key_file)
