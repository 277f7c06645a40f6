"""What a new user found typing the README's commands (issue 7): each case as the user typed it.

Must hold: malformed input is a usage error (exit 2) saying what is expected, never a traceback;
`tds chain up` fails (exit 3, with the reason) when another process holds the port; `tds deploy`
refuses (exit 3) to orphan a live deployment unless --force, naming what it would orphan; an unknown
`--as` name lists the accounts that exist; `tds asset policy` prints the epoch the chain assigned;
`--version-of` carries the policy over; revoking a revoked grant says so. A refused command sends
no transaction and leaves the files as they were.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chain.devnet import Devnet
from chain.devspace import free_port
from chain.eip712 import sign_acceptance, sign_grant_request
from chain.keys import Keystore
from domain.types import GrantRequest, Policy
from cli.main import main as tds_main
from tests.integration.conftest import Result, Space

pytestmark = pytest.mark.integration
CREDENTIAL = "0x" + "c1" * 32
ROOT = Path(__file__).resolve().parents[2]


def _block(space: Space) -> int:
    return space.chain().block_number()


def _refused(space: Space, capsys: pytest.CaptureFixture[str], args: list[str], code: int) -> Result:
    """Run a command that must be refused with ``code``: no traceback, nothing mined."""
    before = _block(space)
    r = space.tds(*args, capsys=capsys)
    assert r.code == code, (r.code, r.out, r.err)
    assert "Traceback" not in r.err + r.out
    assert _block(space) == before, "a refused command must not send a transaction"
    return r


def _tds(home: Path, capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    code = tds_main(["--home", str(home), *args])
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


# ---- participant commands: usage errors instead of tracebacks, the right words -----------------------------


def test_onboard_malformed_address_is_a_usage_error(space: Space, capsys: pytest.CaptureFixture[str]) -> None:
    r = _refused(space, capsys, ["participant", "onboard", "0x1234", "--roles", "consumer", "--jurisdiction", "DE",
                                 "--credential-hash", CREDENTIAL], 2)
    assert "'0x1234' is not an address" in r.err and "0x + 40 hex" in r.err


def test_short_credential_hash_is_a_usage_error(space: Space, capsys: pytest.CaptureFixture[str]) -> None:
    r = _refused(space, capsys, ["participant", "onboard", "outsider", "--roles", "consumer", "--jurisdiction", "DE",
                                 "--credential-hash", "0x12"], 2)
    assert "--credential-hash" in r.err and "0x + 64 hex" in r.err


def test_suspend_and_reinstate_say_so(space: Space, capsys: pytest.CaptureFixture[str]) -> None:
    suspended = space.tds("participant", "suspend", "consumer2", capsys=capsys)
    try:
        assert suspended.code == 0, suspended.err
        assert "participant suspended" in suspended.out and "suspendd" not in suspended.out
    finally:
        reinstated = space.tds("participant", "reinstate", "consumer2", capsys=capsys)
    assert reinstated.code == 0 and "participant reinstated" in reinstated.out


def test_unknown_account_lists_the_accounts_and_how_to_create_one(
    space: Space, capsys: pytest.CaptureFixture[str]
) -> None:
    r = _refused(space, capsys, ["--as", "bob", "participant", "suspend", "consumer2"], 3)
    assert "no account 'bob'" in r.err
    assert "consumer2" in r.err and "operator" in r.err, "the accounts that exist are listed"
    assert "tds init --accounts bob" in r.err


# ---- deploy: never orphan a live deployment silently ------------------------------------------------------


def test_second_deploy_refuses_and_names_what_it_would_orphan(
    space: Space, capsys: pytest.CaptureFixture[str]
) -> None:
    path = space.settings.deployment_file(31337)
    before = path.read_bytes()
    r = _refused(space, capsys, ["deploy"], 3)
    registry = space.chain().address("ParticipantRegistry")
    assert "already has the TDS contracts" in r.err and registry.lower() in r.err.lower()
    assert re.search(r"\b[5-9]\d* participants\b|\b\d{2,} participants\b", r.err), r.err  # 5 onboarded
    assert "tds deploy --force" in r.err
    assert path.read_bytes() == before and list(path.parent.glob("*.replaced-*")) == []


GATEWAY_PORT = free_port()


@pytest.fixture(scope="module")
def fresh_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data dir of its own: init (gateway URL on a port of its own), chain up, deploy (nothing onboarded)."""
    home = tmp_path_factory.mktemp("newuser")
    assert tds_main(["--home", str(home), "init", "--rpc-url", f"http://127.0.0.1:{free_port()}",
                     "--gateway-url", f"http://127.0.0.1:{GATEWAY_PORT}", "--accounts", "operator,provider"]) == 0
    assert tds_main(["--home", str(home), "chain", "up"]) == 0
    try:
        assert tds_main(["--home", str(home), "deploy"]) == 0
        yield home
    finally:
        tds_main(["--home", str(home), "chain", "down"])


def test_deploy_force_replaces_and_keeps_the_old_file(fresh_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = fresh_home / "deployments" / "31337.json"
    old = path.read_text()
    refused = _tds(fresh_home, capsys, "deploy")
    assert refused.code == 3 and "0 participants, 0 assets" in refused.err and path.read_text() == old
    forced = _tds(fresh_home, capsys, "deploy", "--force", "--json")
    assert forced.code == 0, forced.err
    kept = path.parent / "31337.replaced-1.json"
    assert kept.read_text() == old
    assert forced.json()["contracts"]["ParticipantRegistry"]["address"] not in old


def test_gateway_serve_listens_where_the_gateway_url_points(fresh_home: Path) -> None:
    """`tds init --gateway-url http://127.0.0.1:PORT` then `tds gateway serve`: the links and the socket agree."""
    env = {**os.environ, "TDS_HOME": str(fresh_home)}
    env.pop("TDS_GATEWAY_PORT", None)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "gateway", "serve", "--no-notary"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    health = None
    try:
        deadline = time.monotonic() + 30
        while health is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{GATEWAY_PORT}/health", timeout=1)
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        proc.terminate()
        _, log = proc.communicate(timeout=20)
    assert health is not None, f"tds gateway serve is not listening on {GATEWAY_PORT}: {log}"
    assert health.status_code in (200, 503)
    assert f"on http://127.0.0.1:{GATEWAY_PORT} " in log


# ---- chain up: someone else's chain on the port is not ours ----------------------------------------------


def test_chain_up_fails_when_another_node_holds_the_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    other = Devnet(tmp_path / "someone-else", port=port)
    other.start()
    home = tmp_path / "mine"
    try:
        assert _tds(home, capsys, "init", "--rpc-url", f"http://127.0.0.1:{port}", "--accounts", "operator").code == 0
        r = _tds(home, capsys, "chain", "up")
        assert r.code == 3, (r.code, r.out, r.err)
        assert f"port {port} on 127.0.0.1 is already in use" in r.err
        assert f"pid {other.pid()}" in r.err and "chain 31337" in r.err
        assert "devnet up" not in r.out
        assert not (home / "devnet" / "anvil.pid").exists(), "no pid of a dead anvil is left behind"
        assert other.status().running, "the other node is untouched"
    finally:
        other.stop()


def test_chain_up_fails_when_any_process_holds_the_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        home = tmp_path / "mine"
        assert _tds(home, capsys, "init", "--rpc-url", f"http://127.0.0.1:{port}", "--accounts", "operator").code == 0
        r = _tds(home, capsys, "chain", "up")
    assert r.code == 3 and f"port {port} on 127.0.0.1 is already in use by pid {os.getpid()}" in r.err
    assert "DevnetError" not in r.err  # a sentence for people, not a class name


def test_chain_up_twice_is_idempotent_and_prints_the_live_pid(
    fresh_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = int((fresh_home / "devnet" / "anvil.pid").read_text())
    r = _tds(fresh_home, capsys, "chain", "up")
    assert r.code == 0 and str(pid) in r.out
    os.kill(pid, 0)  # alive


# ---- asset commands: what the chain holds ----------------------------------------------------------------


def _register(space: Space, capsys: pytest.CaptureFixture[str], tmp_path: Path, *extra: str) -> str:
    path = tmp_path / f"{os.urandom(4).hex()}.csv"
    path.write_bytes(os.urandom(256))
    r = space.tds("asset", "register", str(path), "--json", *extra, capsys=capsys)
    assert r.code == 0, r.err
    return str(r.json()["asset_id"])


def test_policy_prints_the_epoch_the_chain_assigned(
    space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asset = _register(space, capsys, tmp_path, "--policy", '{"purposes":["research"]}')  # epoch 1
    r = space.tds("asset", "policy", asset, '{"purposes":["analytics"],"max_count":3}', capsys=capsys)
    assert r.code == 0, r.err
    assert re.search(r"\bepoch\s+2\b", r.out), r.out
    shown = space.tds("asset", "show", asset, "--json", capsys=capsys).json()
    assert shown["policy"]["epoch"] == 2 and shown["policy"]["purposes"] == ["analytics"]


def test_version_of_carries_the_policy_over_unless_given(
    space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = '{"purposes":["research"],"jurisdictions":["DE","FR"],"max_count":5}'
    v1 = _register(space, capsys, tmp_path, "--policy", policy)
    v2 = _register(space, capsys, tmp_path, "--version-of", v1)
    carried = space.tds("asset", "show", v2, "--json", capsys=capsys).json()["policy"]
    assert carried is not None, "the new version must not be left without a policy"
    assert (carried["purposes"], carried["jurisdictions"], carried["max_count"]) == (["research"], ["DE", "FR"], 5)
    v3 = _register(space, capsys, tmp_path, "--version-of", v2, "--policy", '{"purposes":["analytics"]}')
    assert space.tds("asset", "show", v3, "--json", capsys=capsys).json()["policy"]["purposes"] == ["analytics"]


def test_revoking_a_revoked_grant_says_it_is_already_revoked(
    space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asset = _register(space, capsys, tmp_path, "--policy", '{"purposes":["research"]}')
    _, _, grants = space.clients("provider")
    now = int(time.time())
    policy = grants.policy_state(asset)
    assert policy is not None
    request = GrantRequest(asset, space.address("consumer"), "research", now - 5, now + 3600, 1, 0,
                           int.from_bytes(os.urandom(8), "big"), now + 600, policy.epoch)
    keys = Keystore(space.settings.keystore_dir)
    usage_grants = grants.chain.address("UsageGrants")
    consent = sign_grant_request(keys.account("consumer"), 31337, usage_grants, request)
    acceptance = sign_acceptance(keys.account("provider"), 31337, usage_grants, grants.hash_request(request))
    grant_id, _ = grants.issue(request, consent, acceptance)
    first = space.tds("grant", "revoke", grant_id, capsys=capsys)
    assert first.code == 0, first.err
    again = _refused(space, capsys, ["grant", "revoke", grant_id], 4)
    assert "grant_already_revoked" in again.err and "grant_not_pending" not in again.err


def test_policy_of_a_new_version_is_its_own(space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Setting a policy on the new version leaves the old version's policy as it was."""
    v1 = _register(space, capsys, tmp_path, "--policy", '{"purposes":["research"]}')
    v2 = _register(space, capsys, tmp_path, "--version-of", v1)
    assert space.tds("asset", "policy", v2, '{"purposes":["analytics"]}', capsys=capsys).code == 0
    _, _, grants = space.clients()
    assert grants.get_policy(v1) == Policy(purposes=("research",), epoch=1)
