"""A throwaway data space on the embedded devnet, for tests, benchmarks and local experiments.

``provision`` starts anvil on a loopback port under ``settings.home``, creates and funds keystore
accounts, deploys the contracts and onboards members: the same steps as ``tds init``, ``tds chain up``,
``tds deploy`` and ``tds participant onboard``, in one call. Devnet only (it funds with anvil RPC).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlparse

from chain.client import Chain, deploy_to
from chain.contracts import ParticipantsClient
from chain.devnet import Devnet
from chain.keys import Keystore
from chain.settings import ChainSettings
from domain.types import Role

CREDENTIAL = "0x" + "c0" * 32


def free_port() -> int:
    """A TCP port free on loopback right now (for a devnet, a gateway or a test server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def provision(
    settings: ChainSettings,
    members: Mapping[str, tuple[Role, str]],
    extra_accounts: Iterable[str] = (),
    suspended: Iterable[str] = (),
    **deploy_options: Any,
) -> tuple[Devnet, Chain, Keystore]:
    """Start the devnet at ``settings.rpc_url``, deploy (``deploy_options``: see :func:`chain.deploy.deploy_all`),
    onboard ``members`` (name: (roles, jurisdiction))."""
    devnet = Devnet(settings.devnet_dir, port=urlparse(settings.rpc_url).port or 8545)
    devnet.start()
    keystore = Keystore(settings.keystore_dir)
    for name in dict.fromkeys(("operator", *members, *extra_accounts)):
        devnet.fund(keystore.create(name))
    deploy_to(settings, lambda: keystore.account("operator"), **deploy_options)
    chain = Chain.connect(settings)
    participants = ParticipantsClient(chain, chain.sender(keystore.account("operator")))
    for name, (roles, jurisdiction) in members.items():
        participants.onboard(keystore.address(name), roles, jurisdiction, CREDENTIAL)
    for name in suspended:
        participants.suspend(keystore.address(name))
    return devnet, chain, keystore
