"""Connecting to a node and loading the deployment: the entry point of the chain layer.

``Chain.connect(settings)`` returns a handle that holds a Web3 connection, the checked deployment and
a revert decoder; typed clients in :mod:`chain.contracts` are built from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import requests
from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.middleware import ExtraDataToPOAMiddleware

from chain.compile import all_abis, compile_contracts
from chain.deploy import Deployment, deploy_all
from chain.errors import AlreadyDeployed, ChainError, ChainUnavailable, DeploymentMissing, WrongChain
from chain.revert import RevertDecoder
from chain.rpc import KeepAliveRpc
from chain.settings import ChainSettings
from chain.tx import TxSender

T = TypeVar("T")


def connect_web3(settings: ChainSettings) -> Web3:
    """A Web3 over HTTP JSON-RPC, checked to answer and to be on the expected chain."""
    w3 = Web3(HTTPProvider(settings.rpc_url, request_kwargs={"timeout": settings.rpc_timeout_s}))
    if settings.poa:
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    chain_id = guarded(lambda: w3.eth.chain_id, settings.rpc_url)
    if settings.chain_id is not None and chain_id != settings.chain_id:
        raise WrongChain(f"node at {settings.rpc_url} is chain {chain_id}, configuration expects {settings.chain_id}")
    return w3


def deploy_to(settings: ChainSettings, operator: Callable[[], LocalAccount], force: bool = False,
              **options: Any) -> tuple[Deployment, Path]:
    """Compile, deploy every TDS contract with the operator as admin, write the deployment file.

    ``operator`` unlocks the key only once the node has answered, so a missing node is reported first.
    If the deployment file's contracts still exist on the chain, raises AlreadyDeployed (naming what a
    new deployment would orphan) unless ``force``; with ``force`` the old file is kept beside the new one.
    ``options`` go to :func:`chain.deploy.deploy_all` (token, claim_window_s, royalty_bps).
    """
    w3 = connect_web3(settings)
    path = settings.deployment_file(guarded(lambda: int(w3.eth.chain_id), settings.rpc_url))
    existing = live_deployment(path, w3, settings.rpc_url)
    if existing is not None and not force:
        raise AlreadyDeployed(_orphan_message(existing, path, w3, settings.rpc_url))
    contracts = compile_contracts()
    sender = TxSender(w3, operator(), w3.eth.chain_id, RevertDecoder(all_abis(contracts)),
                      poll_latency=settings.poll_latency_s, receipt_timeout=settings.receipt_timeout_s)
    deployment = deploy_all(sender, contracts, **options)
    if path.exists():
        os.replace(path, _replaced_name(path))
    deployment.save(path)
    return deployment, path


def live_deployment(path: Path, w3: Web3, rpc_url: str = "the node") -> Deployment | None:
    """The deployment in ``path`` if its contracts exist on the node's chain; None if absent or gone."""
    if not path.exists():
        return None
    try:
        return guarded(lambda: Deployment.load(path, w3), rpc_url)
    except (DeploymentMissing, WrongChain):
        return None  # malformed, for another chain, or its contracts are gone (chain reset): nothing to orphan


def _replaced_name(path: Path) -> Path:
    """Where a replaced deployment file is kept: ``<chainId>.replaced-<n>.json``."""
    for n in range(1, 10_000):
        candidate = path.with_name(f"{path.stem}.replaced-{n}.json")
        if not candidate.exists():
            return candidate
    raise ChainError(f"too many replaced deployment files beside {path}")


_ORPHANS = (("ParticipantRegistry", "ParticipantOnboarded", "participant"), ("AssetRegistry", "AssetRegistered", "asset"),
            ("UsageGrants", "GrantIssued", "grant"), ("AnchorRegistry", "RootAnchored", "anchored root"))


def _orphan_message(deployment: Deployment, path: Path, w3: Web3, rpc_url: str) -> str:
    """What `tds deploy` would orphan: the existing contracts and how much they hold."""
    addresses = ", ".join(f"{name} {c.address}" for name, c in deployment.contracts.items())
    counts = []
    try:
        for contract_name, event, noun in _ORPHANS:
            c = deployment.contracts[contract_name]
            ev = w3.eth.contract(address=Web3.to_checksum_address(c.address), abi=c.abi).events[event]()
            n = len(guarded(lambda: ev.get_logs(from_block=deployment.deploy_block, to_block="latest"), rpc_url))
            counts.append(f"{n} {noun}{'' if n == 1 else 's'}")
        held = f" ({', '.join(counts)})"
    except (ChainError, KeyError, ValueError):
        held = ""
    return (f"chain {deployment.chain_id} already has the TDS contracts of {path} (deployed at block "
            f"{deployment.deploy_block}: {addresses}). A new deployment would orphan them{held}: the CLI "
            f"and gateways would no longer see them and proofs anchored there would stop verifying. Keep using "
            f"them (nothing to do), or run `tds deploy --force` to deploy new contracts anyway "
            f"(the old file is kept as {_replaced_name(path).name}).")


def guarded(fn: Callable[[], T], rpc_url: str = "the node") -> T:
    """Run a JSON-RPC read, translating connection failures into ChainUnavailable."""
    try:
        return fn()
    except (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError) as exc:
        raise ChainUnavailable(f"no Ethereum node at {rpc_url}: run `tds chain up`") from exc


@dataclass(frozen=True)
class BlockStamp:
    """A block's number and timestamp (unix seconds)."""

    number: int
    timestamp: int


class HeadReader:
    """Head-block reads for a hot path: over one keep-alive connection when the provider is plain HTTP(S)
    (:class:`chain.rpc.KeepAliveRpc`), else through web3. Errors are not translated here: the caller
    judges them (:func:`chain.errors.is_node_failure`)."""

    def __init__(self, w3: Web3) -> None:
        self._w3 = w3
        self._rpc = KeepAliveRpc.for_provider(w3.provider)

    def number(self) -> int:
        """The latest block number."""
        if self._rpc is not None:
            return int(self._rpc.call("eth_blockNumber", []), 16)
        return int(self._w3.eth.block_number)

    def latest(self) -> BlockStamp:
        """The latest block's number and timestamp."""
        if self._rpc is not None:
            raw = self._rpc.call("eth_getBlockByNumber", ["latest", False])
            return BlockStamp(int(raw["number"], 16), int(raw["timestamp"], 16))
        block = self._w3.eth.get_block("latest")
        return BlockStamp(int(block["number"]), int(block["timestamp"]))

    def timestamp_of(self, block: int) -> int:
        """The timestamp of block ``block`` (through web3)."""
        return int(self._w3.eth.get_block(block)["timestamp"])


@dataclass
class Chain:
    """A connected, deployment-checked view of the TDS contracts on one chain."""

    settings: ChainSettings
    w3: Web3
    chain_id: int
    deployment: Deployment
    decoder: RevertDecoder

    @classmethod
    def connect(cls, settings: ChainSettings) -> "Chain":
        """Connect, check the chain id and load ``<home>/deployments/<chainId>.json``."""
        w3 = connect_web3(settings)
        chain_id = w3.eth.chain_id
        deployment = guarded(lambda: Deployment.load(settings.deployment_file(chain_id), w3), settings.rpc_url)
        abis = [entry for c in deployment.contracts.values() for entry in c.abi]
        return cls(settings, w3, chain_id, deployment, RevertDecoder(abis))

    def contract(self, name: str) -> Contract:
        """A web3 contract object for a deployed TDS contract."""
        c = self.deployment.contracts[name]
        return self.w3.eth.contract(address=Web3.to_checksum_address(c.address), abi=c.abi)

    def address(self, name: str) -> str:
        """Address of a deployed TDS contract."""
        return Web3.to_checksum_address(self.deployment.contracts[name].address)

    def sender(self, account: LocalAccount) -> TxSender:
        """A transaction sender for ``account`` on this chain."""
        return TxSender(
            self.w3,
            account,
            self.chain_id,
            self.decoder,
            poll_latency=self.settings.poll_latency_s,
            receipt_timeout=self.settings.receipt_timeout_s,
        )

    def block_number(self) -> int:
        """Latest block number."""
        return guarded(lambda: int(self.w3.eth.block_number), self.settings.rpc_url)

    def head_reader(self) -> HeadReader:
        """A reader of the head block for hot paths (its own keep-alive connection when possible)."""
        return HeadReader(self.w3)

    def base_fee(self) -> int | None:
        """The latest block's base fee per gas (wei), or None on a chain without EIP-1559."""
        block = guarded(lambda: self.w3.eth.get_block("latest"), self.settings.rpc_url)
        base = block.get("baseFeePerGas")
        return None if base is None else int(base)

    def transaction_count(self, address: str, block: int | str = "latest") -> int:
        """How many transactions ``address`` has sent as of ``block`` (its next nonce)."""
        checksummed = Web3.to_checksum_address(address)
        return guarded(lambda: int(self.w3.eth.get_transaction_count(checksummed, block)), self.settings.rpc_url)

    def send_raw_transaction(self, raw: bytes) -> str:
        """Send a signed transaction without waiting for it to be mined (for bulk senders); its hash.

        A node that refuses it raises ChainError; :meth:`transaction_receipt` tells when it is mined.
        """
        response = self.rpc_request("eth_sendRawTransaction", ["0x" + bytes(raw).hex()])
        if "error" in response:
            raise ChainError(f"transaction rejected by the node: {response['error']}")
        return str(response["result"])

    def rpc_request(self, method: str, params: list[Any]) -> dict[str, Any]:
        """One JSON-RPC call: the node's whole answer (``result`` or ``error``); no node: ChainUnavailable."""
        return dict(guarded(lambda: self.w3.provider.make_request(method, params), self.settings.rpc_url))  # type: ignore[arg-type]

    def rpc_batch(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """One JSON-RPC batch: the answers in call order; a refused batch raises ChainError."""
        resp = guarded(lambda: self.w3.provider.make_batch_request(calls), self.settings.rpc_url)  # type: ignore[arg-type]
        if not isinstance(resp, list):
            raise ChainError(f"batch JSON-RPC refused: {dict(resp).get('error')}")
        return [dict(r) for r in resp]

    def transaction_receipt(self, tx_hash: str) -> Any | None:
        """The receipt of a mined transaction, or None if this chain has no such transaction."""
        from web3.exceptions import TransactionNotFound

        try:
            return guarded(lambda: self.w3.eth.get_transaction_receipt(tx_hash), self.settings.rpc_url)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def call(self, fn: Any, block: int | str = "latest") -> Any:
        """Run a view call (raw ``eth_call``), decoding custom errors and translating connection failures.

        Same results as web3's ``fn.call()`` (checksummed addresses, a struct as a tuple, one output
        unwrapped) at a quarter of its cost: calldata is encoded once and the answer decoded with eth-abi.
        """
        request = {"to": fn.address, "data": fn._encode_transaction_data()}
        tag = hex(block) if isinstance(block, int) else block
        response = guarded(lambda: self.w3.provider.make_request("eth_call", [request, tag]), self.settings.rpc_url)
        if "error" in response:
            error = response["error"]
            data = error.get("data") if isinstance(error, dict) else None
            if isinstance(data, dict):
                data = data.get("data")
            if data:
                raise self.decoder.decode(data)
            raise ChainError(f"eth_call failed: {error}")
        outputs = fn.abi.get("outputs", [])
        values = abi_decode([_abi_type(o) for o in outputs], bytes.fromhex(str(response["result"])[2:]))
        values = tuple(_normalise(o, v) for o, v in zip(outputs, values))
        return values[0] if len(values) == 1 else list(values)


def _abi_type(entry: dict[str, Any]) -> str:
    kind = str(entry["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in entry["components"]) + ")" + kind[5:]
    return kind


def _normalise(entry: dict[str, Any], value: Any) -> Any:
    """Checksum addresses (as web3 does), recursing into tuples and arrays."""
    kind = str(entry["type"])
    if kind.endswith("]"):
        inner = {**entry, "type": kind[: kind.rindex("[")]}
        return [_normalise(inner, v) for v in value]
    if kind == "tuple":
        return tuple(_normalise(c, v) for c, v in zip(entry["components"], value))
    if kind == "address":
        return Web3.to_checksum_address(value)
    return value
