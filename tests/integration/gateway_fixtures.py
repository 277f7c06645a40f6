"""Gateway test environment: a fresh anvil, deployed contracts, participants, a real uvicorn on loopback.

Kept apart from ``conftest.py`` (the CLI's session space) so the gateway tests own their devnet:
they suspend participants, move chain time and stop the node.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from eth_account.signers.local import LocalAccount

from chain.client import Chain
from chain.contracts import GrantsClient, ParticipantsClient
from chain.devnet import Devnet, rpc
from chain.devspace import CREDENTIAL, free_port, provision  # noqa: F401  (CREDENTIAL: re-exported for tests)
from chain.keys import Keystore
from chain.settings import ChainSettings
from domain.types import Policy, Role
from gateway.app import create_app
from chain.eip712 import sign_call
from client.sdk import GatewayClient
from gateway.registration import Registration
from gateway.service import Gateway, register_asset
from gateway.settings import GatewaySettings

MEMBERS = {  # name: (roles, jurisdiction)
    "provider": (Role.PROVIDER, "DE"),
    "provider2": (Role.PROVIDER, "NL"),  # a second provider with its own gateway (see second_gateway)
    "consumer": (Role.CONSUMER, "DE"),
    "consumer2": (Role.CONSUMER, "DE"),
    "suspended": (Role.CONSUMER, "DE"),
    "french": (Role.CONSUMER, "FR"),
}
ACCOUNTS = ("operator", *MEMBERS, "outsider")


@dataclass
class GatewayEnv:
    """A running devnet + gateway, and helpers to act as each participant."""

    home: Path
    devnet: Devnet
    chain_settings: ChainSettings
    settings: GatewaySettings
    gateway: Gateway
    keystore: Keystore
    server: Any = None
    assets_made: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        return f"http://127.0.0.1:{self.settings.port}"

    def account(self, name: str) -> LocalAccount:
        """Decrypted account by keystore name."""
        return self.keystore.account(name)

    def client(self, name: str) -> GatewayClient:
        """A consumer client signing as ``name``."""
        return GatewayClient(self.url, self.account(name))

    def chain(self) -> Chain:
        """A fresh chain connection."""
        return Chain.connect(self.chain_settings)

    def operator(self) -> ParticipantsClient:
        """ParticipantRegistry signing as the operator."""
        chain = self.chain()
        return ParticipantsClient(chain, chain.sender(self.account("operator")))

    def provider_grants(self) -> GrantsClient:
        """UsageGrants signing as the provider."""
        chain = self.chain()
        return GrantsClient(chain, chain.sender(self.account("provider")))

    def new_asset(self, policy: Policy, size: int = 4096, data: bytes | None = None) -> Registration:
        """Register a fresh random file with ``policy`` through the provider-side service."""
        data = os.urandom(size) if data is None else data
        path = self.home / f"asset-{len(self.assets_made)}.bin"
        path.write_bytes(data)
        reg = register_asset(self.gateway, path, policy, title=path.name)
        self.assets_made.append(reg.asset_id)
        return reg

    def granted_asset(self, policy: Policy, size: int, max_count: int, who: str = "consumer",
                      purpose: str = "research") -> tuple[str, str]:
        """A fresh asset under ``policy`` and a live grant of ``who`` on it: (asset id, grant id)."""
        reg = self.new_asset(policy, size=size)
        with self.client(who) as c:
            grant = c.request_grant(reg.asset_id, purpose, max_count=max_count)
        return reg.asset_id, str(grant["grant_id"])

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """A raw JSON-RPC call to the devnet (tests only: anvil/evm_* methods)."""
        return rpc(self.devnet.rpc_url, method, params)

    def block_number(self) -> int:
        """Latest block."""
        return int(str(self.rpc("eth_blockNumber")), 16)

    def sign(self, who: str, method: str, target: str, body: bytes = b"", **kw: Any) -> dict[str, str]:
        """The X-TDS-* headers of one call signed by ``who`` for this gateway (kw: ttl_s, nonce, now).

        Tests sign through here, so a change in what a signed call binds is made in one place.
        """
        gw = self.gateway
        return sign_call(self.account(who), gw.domain, method, target, body, **kw)

    def second_gateway(self, provider_account: str = "provider2", name: str = "gw2") -> "GatewayEnv":
        """Another provider's gateway on the same chain: own store, database and port, served by uvicorn.

        The returned env shares devnet and keystore; stop its server with ``stop_server(env2)``.
        """
        home = self.home / name  # its own gateway dir (store, key, database, metadata); chain files are shared
        home.mkdir(exist_ok=True)
        settings = GatewaySettings(home=home, port=free_port(), head_poll_interval_s=0.2, max_chain_staleness_s=5.0,
                                   provider_account=provider_account)
        gateway = Gateway.open(settings, self.chain_settings)
        other = GatewayEnv(home, self.devnet, self.chain_settings, settings, gateway, self.keystore)
        other.server = _start_server(create_app(settings, gateway), settings.port)
        return other


def _start_server(app: Any, port: int) -> uvicorn.Server:
    from gateway.server import http_options  # request head bounds (431) and proxy trust, as `tds gateway serve`

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            **http_options(app.state.settings))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    server._tds_thread = thread  # type: ignore[attr-defined]
    return server


def stop_server(env: GatewayEnv) -> None:
    """Stop the uvicorn server of ``env`` (the devnet keeps running)."""
    if env.server is not None:
        env.server.should_exit = True
        env.server._tds_thread.join(timeout=10)
        env.server = None


def build_env(home: Path) -> GatewayEnv:
    """Start anvil, deploy, onboard everyone, open the gateway and serve it."""
    chain_settings = ChainSettings(home=home, rpc_url=f"http://127.0.0.1:{free_port()}")
    devnet, _chain, keystore = provision(chain_settings, MEMBERS, ACCOUNTS, suspended=("suspended",))
    settings = GatewaySettings(home=home, port=free_port(), head_poll_interval_s=0.2, max_chain_staleness_s=5.0)
    gateway = Gateway.open(settings, chain_settings)
    return GatewayEnv(home, devnet, chain_settings, settings, gateway, keystore)


@pytest.fixture(scope="module")
def gw_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayEnv]:
    """A devnet and a gateway served by uvicorn on a free loopback port (one per test module)."""
    home = tmp_path_factory.mktemp("gw-home")
    env = build_env(home)
    try:
        env.server = _start_server(create_app(env.settings, env.gateway), env.settings.port)
        yield env
    finally:
        stop_server(env)
        env.devnet.stop()
