"""Issue 2 through the `tds` CLI against a real anvil: the happy path and every bad input."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.integration.conftest import Space, free_port
from cli.main import main as tds_main

pytestmark = pytest.mark.integration


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _block(space: Space) -> int:
    return space.chain().block_number()


def test_chain_status_reports_running_devnet(space: Space, capsys: pytest.CaptureFixture[str]) -> None:
    r = space.tds("chain", "status", "--json", capsys=capsys)
    assert r.code == 0
    status = r.json()
    assert status["running"] and status["chain_id"] == 31337 and status["deployment"]


def test_register_show_verify_roundtrip(space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = os.urandom(4096)
    path = _file(tmp_path, "weather.csv", data)
    r = space.tds("asset", "register", str(path), "--title", "Weather", "--json", capsys=capsys)
    assert r.code == 0, r.err
    reg = r.json()
    assert reg["asset_id"] == "0x" + hashlib.sha256(data).hexdigest()  # sha256sum agrees
    assert reg["stored"] is True and reg["gas_used"] <= 120_000

    shown = space.tds("asset", "show", reg["asset_id"], "--json", capsys=capsys).json()
    assert shown["size"] == 4096 and shown["active"] and shown["provider"] == space.address("provider")
    assert shown["tx"] == reg["tx"]

    ok = space.tds("asset", "verify", reg["asset_id"], str(path), capsys=capsys)
    assert ok.code == 0
    tampered = _file(tmp_path, "tampered.csv", data[:-1] + bytes([data[-1] ^ 1]))
    bad = space.tds("asset", "verify", reg["asset_id"], str(tampered), "--json", capsys=capsys)
    assert bad.code == 6 and bad.json()["match"] is False


def test_lineage_owners_and_versions(space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = space.tds("asset", "register", str(_file(tmp_path, "raw.bin", os.urandom(100))), "--json",
                    capsys=capsys).json()
    derived = space.tds(
        "asset", "register", str(_file(tmp_path, "clean.bin", os.urandom(100))), "--parent", raw["asset_id"],
        "--owner", f"{space.address('provider')}:7000", "--owner", f"{space.address('provider2')}:3000",
        "--json", capsys=capsys,
    )
    assert derived.code == 0, derived.err
    d = space.tds("asset", "show", derived.json()["asset_id"], "--json", capsys=capsys).json()
    assert d["parents"] == [raw["asset_id"]]
    assert d["owners"] == [space.address("provider"), space.address("provider2")] and d["shares_bps"] == [7000, 3000]

    v2 = space.tds("asset", "register", str(_file(tmp_path, "raw-v2.bin", os.urandom(100))),
                   "--version-of", raw["asset_id"], "--json", capsys=capsys)
    assert v2.code == 0, v2.err
    chain = space.tds("asset", "versions", raw["asset_id"], "--json", capsys=capsys).json()
    assert [a["asset_id"] for a in chain] == [raw["asset_id"], v2.json()["asset_id"]]
    assert [a["version"] for a in chain] == [1, 2]
    assert chain[1]["previous_version"] == raw["asset_id"]


def test_list_and_participants_json(space: Space, capsys: pytest.CaptureFixture[str]) -> None:
    people = space.tds("participant", "list", "--json", capsys=capsys).json()
    by_addr = {p["address"]: p for p in people}
    assert by_addr[space.address("consumer")]["roles"] == ["consumer"]
    assert by_addr[space.address("consumer")]["did"] == f"did:pkh:eip155:31337:{space.address('consumer')}"
    assert space.tds("asset", "list", "--json", capsys=capsys).code == 0


# ---- bad input: a clear message, a stable exit code, nothing changed on-chain ----------------------------


def _assert_rejected(space: Space, capsys: pytest.CaptureFixture[str], args: list[str], code: int, text: str) -> None:
    before = _block(space)
    r = space.tds(*args, capsys=capsys)
    assert r.code == code, (r.code, r.out, r.err)
    assert text in r.err
    assert _block(space) == before, "a rejected command must not mine anything"


def test_non_member_cannot_register(space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, "x.bin", os.urandom(64))
    _assert_rejected(space, capsys, ["--as", "outsider", "asset", "register", str(path)], 4, "not an onboarded participant")
    store = space.home / "gateway" / "store" / hashlib.sha256(path.read_bytes()).hexdigest()
    assert not store.exists(), "nothing may be left in the gateway store"


def test_consumer_role_cannot_register(space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, "y.bin", os.urandom(64))
    _assert_rejected(space, capsys, ["--as", "consumer", "asset", "register", str(path)], 4, "ParticipantMissingRole")


def test_suspended_provider_cannot_register_until_reinstated(
    space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert space.tds("participant", "suspend", "provider2", capsys=capsys).code == 0
    path = _file(tmp_path, "z.bin", os.urandom(64))
    try:
        _assert_rejected(space, capsys, ["--as", "provider2", "asset", "register", str(path)], 4, "suspended")
        shown = space.tds("participant", "show", "provider2", "--json", capsys=capsys).json()
        assert shown["status"] == "suspended"
    finally:
        assert space.tds("participant", "reinstate", "provider2", capsys=capsys).code == 0
    assert space.tds("--as", "provider2", "asset", "register", str(path), capsys=capsys).code == 0


def test_non_operator_cannot_onboard(space: Space, capsys: pytest.CaptureFixture[str]) -> None:
    _assert_rejected(
        space, capsys,
        ["--as", "provider", "participant", "onboard", "outsider", "--roles", "consumer", "--jurisdiction", "DE",
         "--credential-hash", "0x" + "11" * 32],
        4, "is not an operator",
    )


def test_onboard_twice_and_bad_jurisdiction(space: Space, capsys: pytest.CaptureFixture[str]) -> None:
    _assert_rejected(space, capsys, ["participant", "onboard", "consumer", "--roles", "consumer", "--jurisdiction",
                                     "DE", "--credential-hash", "0x" + "11" * 32], 4, "ParticipantAlreadyOnboarded")
    _assert_rejected(space, capsys, ["participant", "onboard", "outsider", "--roles", "consumer", "--jurisdiction",
                                     "D1", "--credential-hash", "0x" + "11" * 32], 2, "alpha-2")
    _assert_rejected(space, capsys, ["participant", "onboard", "outsider", "--roles", "admin", "--jurisdiction",
                                     "DE", "--credential-hash", "0x" + "11" * 32], 2, "unknown role")


def test_shares_must_sum_to_10000(space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, "s.bin", os.urandom(64))
    _assert_rejected(space, capsys, ["asset", "register", str(path), "--owner", f"{space.address('provider')}:6000",
                                     "--owner", f"{space.address('provider2')}:3000"], 4, "sum to 9000 basis points")


def test_unknown_parent(space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, "p.bin", os.urandom(64))
    ghost = "0x" + "ab" * 32
    _assert_rejected(space, capsys, ["asset", "register", str(path), "--parent", ghost], 4, f"parent asset {ghost}")
    _assert_rejected(space, capsys, ["asset", "register", str(path), "--parent", "../etc"], 2, "not an asset id")


def test_duplicate_registration_names_existing_id(space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, "dup.bin", os.urandom(64))
    first = space.tds("asset", "register", str(path), "--json", capsys=capsys)
    assert first.code == 0
    _assert_rejected(space, capsys, ["asset", "register", str(path)], 4, first.json()["asset_id"])


def test_missing_and_unreadable_file(space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _assert_rejected(space, capsys, ["asset", "register", str(tmp_path / "nope.csv")], 1, "no such file")
    locked = _file(tmp_path, "locked.bin", b"secret")
    locked.chmod(0)
    if os.access(locked, os.R_OK):
        pytest.skip("running as root: chmod 0 does not make a file unreadable")
    _assert_rejected(space, capsys, ["asset", "register", str(locked)], 1, "locked.bin")


def test_unknown_asset_is_not_found(space: Space, capsys: pytest.CaptureFixture[str]) -> None:
    r = space.tds("asset", "show", "0x" + "00" * 31 + "01", capsys=capsys)
    assert r.code == 5 and "no asset" in r.err


def test_devnet_not_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "cold"
    assert tds_main(["--home", str(home), "init", "--rpc-url", f"http://127.0.0.1:{free_port()}",
                     "--accounts", "operator"]) == 0
    capsys.readouterr()
    code = tds_main(["--home", str(home), "asset", "list"])
    assert code == 3 and "run `tds chain up`" in capsys.readouterr().err


def test_wrong_chain_id_in_deployment_file(space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = space.settings.deployment_file(31337)
    original = path.read_text()
    doc = json.loads(original)
    doc["chain_id"] = 1
    path.write_text(json.dumps(doc))
    try:
        r = space.tds("asset", "list", capsys=capsys)
        assert r.code == 3 and "is for chain 1 but the node is chain 31337" in r.err
    finally:
        path.write_text(original)


def test_configured_chain_id_must_match_node(space: Space, capsys: pytest.CaptureFixture[str]) -> None:
    os.environ["TDS_CHAIN_ID"] = "5"
    try:
        r = space.tds("participant", "list", capsys=capsys)
    finally:
        del os.environ["TDS_CHAIN_ID"]
    assert r.code == 3 and "expects 5" in r.err


def test_invalid_policy_is_refused_before_anything_is_registered(
    space: Space, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, "pol.bin", os.urandom(64))
    _assert_rejected(space, capsys, ["asset", "register", str(path), "--policy",
                                     '{"not_before": 2000000000, "not_after": 1000000000}'], 2, "must be after")
    _assert_rejected(space, capsys, ["asset", "register", str(path), "--policy", '{"jurisdictions": ["Germany"]}'],
                     2, "alpha-2")
    asset_id = "0x" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert space.tds("asset", "show", asset_id, capsys=capsys).code == 5
