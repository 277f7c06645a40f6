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


DEFAULT_CLAIM_WINDOW_S = 7 * 86_400
DEFAULT_ROYALTY_BPS = 1_000
ERC20_FUNCTIONS = frozenset({"name", "symbol", "decimals", "totalSupply", "balanceOf", "transfer", "allowance",
                             "approve", "transferFrom", "Transfer", "Approval"})


def deploy_all(
    sender: TxSender,
    contracts: dict[str, CompiledContract] | None = None,
    token: str = "devnet",
    claim_window_s: int = DEFAULT_CLAIM_WINDOW_S,
    royalty_bps: int = DEFAULT_ROYALTY_BPS,
) -> Deployment:
    """Deploy every TDS contract with ``sender`` as the operator/admin.

    ``token`` is the ERC-20 money is settled in: ``devnet`` (a SettlementToken the operator mints),
    ``credits`` (a CreditsToken: points only members may hold), or the 0x address of an existing ERC-20
    (recorded as ``ExternalToken`` with the standard ERC-20 ABI).
    """
    contracts = contracts or compile_contracts()
    deployed: dict[str, ContractDeployment] = {}

    def deploy(name: str, *args: Any) -> str:
        c = contracts[name]
        receipt = sender.deploy(c.abi, c.bytecode, *args)
        address = str(receipt["contractAddress"])
        deployed[name] = ContractDeployment(address, c.abi, receipt["transactionHash"].to_0x_hex(), receipt["blockNumber"])
        return address

    def call(name: str, function: str, *args: Any) -> None:
        contract = sender.w3.eth.contract(address=Web3.to_checksum_address(deployed[name].address),
                                          abi=deployed[name].abi)
        sender.transact(getattr(contract.functions, function)(*args))

    if not 0 <= royalty_bps <= 10_000:
        raise ValueError(f"royalty must be 0..10000 basis points, not {royalty_bps}")
    registry = deploy("ParticipantRegistry", sender.address)
    assets = deploy("AssetRegistry", registry)
    deploy("ComputePolicies", registry, assets)
    grants = deploy("UsageGrants", registry, assets)
    anchors = deploy("AnchorRegistry", registry, assets)
    if token == "devnet":
        token_name, token_address = "SettlementToken", deploy("SettlementToken", sender.address)
    elif token == "credits":
        token_name, token_address = "CreditsToken", deploy("CreditsToken", sender.address, registry)
    elif Web3.is_address(token):
        token_name, token_address = "ExternalToken", Web3.to_checksum_address(token)
        if len(sender.w3.eth.get_code(token_address)) == 0:
            raise ValueError(f"no contract at {token_address}: give the address of a deployed ERC-20")
        abi = [e for e in contracts["SettlementToken"].abi if e.get("name") in ERC20_FUNCTIONS]
        deployed[token_name] = ContractDeployment(token_address, abi, "", sender.w3.eth.block_number)
    else:
        raise ValueError(f"token must be devnet, credits or the 0x address of an ERC-20, not {token!r}")
    disputes = deploy("Disputes", registry, grants, assets)
    settlement = deploy("Settlement", token_address, registry, assets, grants, anchors, disputes,
                        claim_window_s, royalty_bps)
    call("UsageGrants", "bindSettlement", settlement)
    call("Disputes", "bindSettlement", settlement)
    if token_name == "CreditsToken":
        call("CreditsToken", "bindSettlement", settlement)
    first_block = min(c.block for c in deployed.values() if c.tx)
    return Deployment(sender.chain_id, sender.address, first_block, deployed, cache_key())
