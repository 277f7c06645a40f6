"""A throwaway data space for benchmarks: fresh anvil on a free loopback port, keys, contracts, members."""

from __future__ import annotations

import shutil
import socket
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from chain.client import Chain, connect_web3
from chain.compile import all_abis, compile_contracts
from chain.contracts import ParticipantsClient
from chain.deploy import deploy_all
from chain.devnet import Devnet
from chain.keys import Keystore
from chain.revert import RevertDecoder
from chain.settings import ChainSettings
from chain.tx import TxSender
from chain.types import Role

MEMBERS = {"provider": (Role.PROVIDER, "DE"), "consumer": (Role.CONSUMER, "DE"), "auditor": (Role.AUDITOR, "FR")}


@dataclass
class DevSpace:
    """A running devnet with TDS deployed and demo members onboarded."""

    home: Path
    devnet: Devnet
    chain: Chain
    keystore: Keystore

    def close(self) -> None:
        """Stop anvil and delete the temp dir."""
        self.devnet.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> "DevSpace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_space(extra_accounts: tuple[str, ...] = ()) -> DevSpace:
    """Start anvil in a temp dir, create and fund keys, deploy, onboard provider/consumer/auditor."""
    home = Path(tempfile.mkdtemp(prefix="tds-bench-"))
    port = _free_port()
    settings = replace(ChainSettings(home=home), rpc_url=f"http://127.0.0.1:{port}")
    devnet = Devnet(settings.devnet_dir, port=port)
    devnet.start()
    keystore = Keystore(settings.keystore_dir)
    for name in ("operator", *MEMBERS, *extra_accounts):
        devnet.fund(keystore.create(name))
    w3 = connect_web3(settings)
    contracts = compile_contracts()
    operator = TxSender(w3, keystore.account("operator"), w3.eth.chain_id, RevertDecoder(all_abis(contracts)))
    deploy_all(operator, contracts).save(settings.deployment_file(w3.eth.chain_id))
    chain = Chain.connect(settings)
    participants = ParticipantsClient(chain, chain.sender(keystore.account("operator")))
    for name, (role, jurisdiction) in MEMBERS.items():
        participants.onboard(keystore.address(name), role, jurisdiction, "0x" + "c0" * 32)
    return DevSpace(home, devnet, chain, keystore)
