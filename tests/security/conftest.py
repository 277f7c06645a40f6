"""The security suite: one module per attack class, each attack tried as an attacker would.

Attacks go through real interfaces only: the gateway over real HTTP on loopback, the contracts over
JSON-RPC (including direct ``cast send`` that bypasses the CLI), the ``tds`` CLI as a user types it.
Every module asserts what the attacker sees (status, stable error code, exit code) and that nothing
changed (no bytes served, no count used, no record written, no transaction sent).

Fixtures: ``gw_env`` (a devnet with operator, two providers, consumers, a suspended member and an
outsider; the gateway of ``provider`` served by uvicorn, one per module) comes from
``tests.integration.gateway_fixtures``; ``GatewayEnv.second_gateway()`` starts ``provider2``'s gateway
on the same chain; ``GatewayEnv.sign()`` signs a call for the env's gateway.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.integration.gateway_fixtures import GatewayEnv, gw_env  # noqa: F401  (fixture re-exported)

ROOT = Path(__file__).resolve().parents[2]


def cast_bin() -> list[str]:
    """Foundry's cast: the platform binary from node_modules (npm @foundry-rs/cast-<platform>), else PATH.

    Not ``node_modules/.bin/cast``: that npm wrapper exits 0 even when cast fails (a revert included).
    """
    for platform in ("linux-amd64", "linux-arm64", "darwin-arm64"):
        local = ROOT / "node_modules" / "@foundry-rs" / f"cast-{platform}" / "bin" / "cast"
        if local.exists():
            return [str(local)]
    found = shutil.which("cast")
    if found is None:
        pytest.skip("cast is not installed: run ./scripts/bootstrap (npm ci installs @foundry-rs/cast)")
    return [found]


def cast(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``cast ARGS...``; the completed process (stdout, stderr, returncode)."""
    return subprocess.run([*cast_bin(), *args], capture_output=True, text=True, timeout=60, check=check)


def private_key(env: GatewayEnv, name: str) -> str:
    """0x-hex private key of a keystore account (tests only: an attacker holding its own key)."""
    return "0x" + bytes(env.account(name).key).hex()


@contextmanager
def served(env: GatewayEnv, gateway: Any = None, **overrides: Any) -> Iterator[tuple[str, Any]]:
    """Another app on the env's gateway (or ``gateway``), with settings ``overrides`` (e.g. tight rate
    limits), served by uvicorn on a free loopback port: yields (base URL, app); stopped on exit."""
    from chain.devspace import free_port
    from gateway.app import create_app
    from tests.integration.gateway_fixtures import _start_server

    settings = replace(env.settings, port=free_port(), **overrides)
    app = create_app(settings, gateway or env.gateway)
    server = _start_server(app, settings.port)
    try:
        yield f"http://127.0.0.1:{settings.port}", app
    finally:
        server.should_exit = True
        server._tds_thread.join(timeout=10)


@pytest.fixture()
def tds(env: GatewayEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Run ``tds --home HOME ARGS`` in-process as a user would; returns (exit code, stdout, stderr).

    Needs a module fixture ``env`` (a GatewayEnv) in the requesting module.
    """
    from cli.main import main

    monkeypatch.setenv("TDS_RPC_URL", env.devnet.rpc_url)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--home", str(env.home), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    yield run
