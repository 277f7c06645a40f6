"""The CLI as a new user meets it, no chain needed: --version, fast lazy start-up, clear environment errors.

Must hold: `tds --help` and `tds --version` import none of web3, eth-account, FastAPI or SQLModel and
list the same commands as the fully loaded CLI; a missing data dir says to run `tds init`; `tds init
--gateway-url` on loopback makes `tds gateway serve` listen on that URL's port unless a port is set.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cli.main import SUMMARIES, cli, main

HEAVY = ("web3", "eth_account", "fastapi", "sqlmodel", "sqlalchemy", "uvicorn")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = ("import sys; from cli.main import main; rc = main(sys.argv[1:]); "
            f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules); print('HEAVY', heavy, file=sys.stderr); "
            "sys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60,
                          env=env, cwd=Path(__file__).resolve().parents[3])


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"tds {version('tds')}"


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["chain", "--help"], ["participant", "--help"]])
def test_help_and_version_start_without_heavy_imports(args: list[str]) -> None:
    r = _run(*args)
    assert r.returncode == 0, r.stderr
    assert "HEAVY []" in r.stderr, f"`tds {' '.join(args)}` imported {r.stderr.strip().splitlines()[-1]}"


def test_lazy_help_lists_what_the_loaded_cli_has() -> None:
    lazy = _run("--help")
    cli.load_all()
    loaded = {name: cmd.help for name, cmd in cli.commands.items() if not cmd.hidden}
    assert set(loaded) == set(SUMMARIES), "add new root commands to cli.main.SUMMARIES"
    for name, text in loaded.items():
        assert (text or "").split("\n\n")[0].strip() == SUMMARIES[name], f"SUMMARIES[{name!r}] differs from its help"
    with click.Context(cli, info_name="tds") as ctx:
        assert cli.get_help(ctx).replace("\n", " ").split("Commands:")[1].split() == \
            lazy.stdout.replace("\n", " ").split("Commands:")[1].split()


def test_missing_data_dir_says_run_init(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_RPC_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    for args in (["participant", "list"], ["asset", "list"], ["deploy"], ["--as", "consumer", "participant", "show", "x"]):
        assert main(["--home", str(tmp_path / "nowhere"), *args]) == 3, args
        text = capsys.readouterr().err
        assert "run `tds init`" in text and "nowhere" in text and "chain up" not in text, text
    assert not (tmp_path / "nowhere").exists(), "a failed command creates no data dir"


def _gateway_settings(home: Path, *args: str):  # type: ignore[no-untyped-def]
    from cli.commands_gateway import _serve_settings
    from cli.context import CliContext

    return _serve_settings(CliContext.create(home, None), *args)


def test_init_gateway_url_sets_the_port_serve_listens_on(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TDS_GATEWAY_PORT", raising=False)
    home = tmp_path / "h"
    assert main(["--home", str(home), "init", "--gateway-url", "http://127.0.0.1:38700", "--accounts", "operator"]) == 0
    settings = _gateway_settings(home)
    assert (settings.port, settings.base_url) == (38700, "http://127.0.0.1:38700")
    assert _gateway_settings(home, 8701).port == 8701, "an explicit --port wins"
    monkeypatch.setenv("TDS_GATEWAY_PORT", "8702")
    assert _gateway_settings(home).port == 8702, "so does TDS_GATEWAY_PORT"
    monkeypatch.delenv("TDS_GATEWAY_PORT")
    # run again with another URL: applied (not silently ignored); a public host leaves the listening port alone
    assert main(["--home", str(home), "init", "--gateway-url", "https://data.example.org", "--accounts", "operator"]) == 0
    config = json.loads((home / "config.json").read_text())["gateway"]
    assert config["public_url"] == "https://data.example.org" and config["port"] == 38700


def test_init_rejects_bad_gateway_urls_and_account_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "h"
    assert main(["--home", str(home), "init", "--gateway-url", "127.0.0.1:8700"]) == 2
    assert "--gateway-url" in capsys.readouterr().err
    assert main(["--home", str(home), "init", "--accounts", "operator,bad-name"]) == 2
    assert "bad-name" in capsys.readouterr().err
    assert not home.exists(), "nothing is written for a refused init"


def test_chain_up_refuses_a_remote_rpc_url(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_RPC_URL", "http://besu-node-1:8545")
    assert main(["--home", str(tmp_path), "chain", "up"]) == 3
    assert "not the embedded devnet" in capsys.readouterr().err
