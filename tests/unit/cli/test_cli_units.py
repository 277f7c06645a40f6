"""CLI pieces that need no chain: argument parsing, exit codes, error sentences, help."""

from __future__ import annotations

import click
import pytest

from chain.errors import ChainUnavailable, DeploymentMissing, KeystoreError, WrongChain, revert_class
from cli.commands_asset import _owner, _policy, asset_id_arg
from cli.errors import EXIT_ENVIRONMENT, EXIT_ERROR, EXIT_REJECTED, describe_revert, exit_code_for
from cli.main import main


def test_asset_ids_are_strict() -> None:
    good = "0x" + "Ab" * 32
    assert asset_id_arg(good) == good.lower()
    for bad in ["", "0x", "0x" + "a" * 63, "0x" + "g" * 64, "../../etc/passwd", "ab" * 32, "0x" + "a" * 65]:
        with pytest.raises(click.BadParameter):
            asset_id_arg(bad)


def test_owner_and_policy_parsing() -> None:
    assert _owner("0xabc:7000") == ("0xabc", 7000)
    for bad in ["0xabc", "0xabc:", "0xabc:70%"]:
        with pytest.raises(click.BadParameter):
            _owner(bad)
    assert _policy(None) is None
    assert _policy('{"purposes": ["research"]}').purposes == ("research",)  # type: ignore[union-attr]
    with pytest.raises(click.BadParameter, match="unknown policy keys"):
        _policy('{"purpose": "research"}')
    with pytest.raises(click.BadParameter, match="invalid policy"):
        _policy("{not json")


def test_exit_codes_scripts_rely_on() -> None:
    for exc in (ChainUnavailable("x"), DeploymentMissing("x"), WrongChain("x"), KeystoreError("x")):
        assert exit_code_for(exc) == EXIT_ENVIRONMENT
    assert exit_code_for(revert_class("AssetUnknown")("AssetUnknown", {"assetId": "0x1"})) == EXIT_REJECTED
    assert exit_code_for(RuntimeError()) == EXIT_ERROR


def test_revert_sentences_name_the_problem_and_keep_the_raw_error() -> None:
    exc = revert_class("AssetInvalidShares")("AssetInvalidShares", {"totalBps": 9000})
    assert describe_revert(exc).startswith("owner shares sum to 9000 basis points")
    assert "AssetInvalidShares(totalBps=9000)" in describe_revert(exc)
    other = revert_class("GrantCountInvalid")("GrantCountInvalid", {"requested": 9, "policyMax": 5})
    assert describe_revert(other) == "rejected by the contract: GrantCountInvalid(requested=9, policyMax=5)"


def test_usage_errors_exit_2_and_help_exits_0(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert main(["--home", str(tmp_path), "asset", "show", "nope"]) == 2
    assert "not an asset id" in capsys.readouterr().err
    assert main(["--home", str(tmp_path), "no-such-command"]) == 2
    assert main(["--help"]) == 0
    assert "participant" in capsys.readouterr().out


def test_no_node_is_an_environment_error(capsys: pytest.CaptureFixture[str], tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TDS_RPC_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    assert main(["--home", str(tmp_path), "deploy"]) == EXIT_ENVIRONMENT
    assert "run `tds chain up`" in capsys.readouterr().err


def test_gateway_errors_become_a_code_and_an_exit_status(capsys: pytest.CaptureFixture[str], tmp_path,  # type: ignore[no-untyped-def]
                                                         monkeypatch) -> None:
    from chain.devnet import Devnet
    from gateway.errors import ChainUnavailableError, MasterKeyError

    def fail(exc: Exception):  # type: ignore[no-untyped-def]
        def raise_(*_a, **_k):  # type: ignore[no-untyped-def]
            raise exc
        return raise_

    monkeypatch.setattr(Devnet, "status", fail(MasterKeyError("master key file is not 32 bytes")))
    assert main(["--home", str(tmp_path), "chain", "status"]) == EXIT_ERROR
    assert "master key file is not 32 bytes" in capsys.readouterr().err
    monkeypatch.setattr(Devnet, "status", fail(ChainUnavailableError("node down")))
    assert main(["--home", str(tmp_path), "chain", "status"]) == EXIT_ENVIRONMENT
    assert "chain_unavailable" in capsys.readouterr().err
