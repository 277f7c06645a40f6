"""Deploy the TDS contracts and keep one deployment file per chain id.

A deployment file holds every contract's address, ABI, deployment tx and block, plus the chain id
and the compiler that built them; tools that read it check it against the node they talk to.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3

from chain.compile import SOLC_VERSION, CompiledContract, cache_key, compile_contracts
from chain.errors import DeploymentMissing, WrongChain
from chain.tx import TxSender

FORMAT = "tds-deployment-v1"


@dataclass(frozen=True)
class ContractDeployment:
    """Address, ABI and provenance of one deployed contract."""

    address: str
    abi: list[dict[str, Any]]
    tx: str
    block: int


@dataclass(frozen=True)
class Deployment:
    """All TDS contracts on one chain."""

    chain_id: int
    deployer: str
    deploy_block: int
    contracts: dict[str, ContractDeployment]
    source_hash: str

    def to_json(self) -> dict[str, Any]:
        """The deployment file's JSON document."""
        return {
            "format": FORMAT,
            "chain_id": self.chain_id,
            "deployer": self.deployer,
            "deploy_block": self.deploy_block,
            "compiler": {"solc": SOLC_VERSION, "source_hash": self.source_hash},
            "contracts": {
                name: {"address": c.address, "tx": c.tx, "block": c.block, "abi": c.abi}
                for name, c in self.contracts.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Deployment":
        """Parse a deployment file's JSON document."""
        if data.get("format") != FORMAT:
            raise DeploymentMissing(f"not a TDS deployment file (format {data.get('format')!r})")
        return cls(
            chain_id=int(data["chain_id"]),
            deployer=str(data["deployer"]),
            deploy_block=int(data["deploy_block"]),
            source_hash=str(data["compiler"]["source_hash"]),
            contracts={
                name: ContractDeployment(c["address"], c["abi"], c["tx"], int(c["block"]))
                for name, c in data["contracts"].items()
            },
        )

    def save(self, path: Path) -> None:
        """Write atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as tmp:
            json.dump(self.to_json(), tmp, indent=1)
        os.replace(tmp.name, path)

    @classmethod
    def load(cls, path: Path, w3: Web3) -> "Deployment":
        """Load the file and check it against the node: same chain id, contracts present."""
        try:
            deployment = cls.from_json(json.loads(path.read_text()))
        except FileNotFoundError as exc:
            raise DeploymentMissing(f"no deployment file {path}: run `tds deploy`") from exc
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise DeploymentMissing(f"deployment file {path} is malformed: {exc}") from exc
        node_chain = w3.eth.chain_id
        if deployment.chain_id != node_chain:
            raise WrongChain(
                f"deployment file {path} is for chain {deployment.chain_id} but the node is chain {node_chain}"
            )
        registry = deployment.contracts["ParticipantRegistry"].address
        if len(w3.eth.get_code(Web3.to_checksum_address(registry))) == 0:
            raise DeploymentMissing(
                f"no contract at {registry} on chain {node_chain} (chain reset?): run `tds deploy`"
            )
        return deployment


def deploy_all(sender: TxSender, contracts: dict[str, CompiledContract] | None = None) -> Deployment:
    """Deploy every TDS contract with ``sender`` as the operator/admin."""
    contracts = contracts or compile_contracts()
    deployed: dict[str, ContractDeployment] = {}

    def deploy(name: str, *args: Any) -> str:
        c = contracts[name]
        receipt = sender.deploy(c.abi, c.bytecode, *args)
        address = str(receipt["contractAddress"])
        deployed[name] = ContractDeployment(address, c.abi, receipt["transactionHash"].to_0x_hex(), receipt["blockNumber"])
        return address

    registry = deploy("ParticipantRegistry", sender.address)
    assets = deploy("AssetRegistry", registry)
    grants = deploy("UsageGrants", registry, assets)
    anchors = deploy("AnchorRegistry", registry, assets)
    token = deploy("SettlementToken", sender.address)
    deploy("Settlement", token, registry, assets, grants, anchors)
    first_block = min(c.block for c in deployed.values())
    return Deployment(sender.chain_id, sender.address, first_block, deployed, cache_key())
