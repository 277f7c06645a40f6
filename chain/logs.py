"""Where the indexer reads the chain: decoded TDS events and block hashes, over standard JSON-RPC.

:class:`RpcLogSource` asks the node with ``eth_getLogs`` (one call per block range, every TDS
contract at once) and batched ``eth_getBlockByNumber``; logs are decoded with the deployment's
ABIs straight through ``eth_abi`` (web3's per-log formatters cost more than the rest of indexing).
Unit tests use any other object with the same four methods (:class:`LogSource`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from eth_abi import decode as abi_decode
from eth_utils import keccak

from chain.client import Chain
from chain.errors import ChainError
from notary.abi import checksum_address

Json = Any


@dataclass(frozen=True)
class ChainEvent:
    """One decoded log: where it sits on the chain, which contract and event, its arguments.

    Arguments are JSON-ready: bytes as 0x hex, addresses checksummed, integers as ints.
    """

    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    contract: str
    name: str
    args: dict[str, Json] = field(hash=False)


@dataclass(frozen=True)
class BlockRef:
    """A block's hash and timestamp."""

    number: int
    hash: str
    timestamp: int


class LogSource(Protocol):
    """What the indexer needs from a chain."""

    def identity(self) -> dict[str, str]:
        """Chain id and deployment address the index is bound to."""

    def head(self) -> int:
        """Latest block number."""

    def blocks(self, numbers: list[int]) -> dict[int, BlockRef]:
        """Hash and timestamp of each block (absent: the node has no such block)."""

    def events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        """Decoded TDS events in the inclusive range, in chain order."""


@dataclass(frozen=True)
class _EventAbi:
    contract: str
    name: str
    indexed: tuple[tuple[str, str], ...]  # (name, type)
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]


class RpcLogSource:
    """A :class:`LogSource` over a connected :class:`chain.client.Chain`."""

    def __init__(self, chain: Chain, max_range: int = 5000,
                 only: Iterable[tuple[str, str]] | None = None) -> None:
        """``only``: (contract, event) names to read, e.g. ``[("AssetRegistry", "AssetRegistered")]``; the
        node then sends no other logs (default: every event of every TDS contract)."""
        self.chain = chain
        self.max_range = max_range
        self._by_address = {c.address.lower(): name for name, c in chain.deployment.contracts.items()}
        self._abis = _event_abis(chain)
        self._topics: list[str] | None = None
        if only is not None:
            wanted = set(only)
            self._abis = {key: abi for key, abi in self._abis.items() if (abi.contract, abi.name) in wanted}
            missing = wanted - {(abi.contract, abi.name) for abi in self._abis.values()}
            if missing:
                raise ChainError(f"the deployment has no event {', '.join(sorted('.'.join(m) for m in missing))}")
            contracts = {abi.contract for abi in self._abis.values()}
            self._by_address = {a: name for a, name in self._by_address.items() if name in contracts}
            self._topics = sorted({topic0 for _contract, topic0 in self._abis})

    @property
    def start_block(self) -> int:
        """The first block that can hold TDS events (the deployment block)."""
        return self.chain.deployment.deploy_block

    def identity(self) -> dict[str, str]:
        """Chain id and the ParticipantRegistry address (a deployment's fingerprint)."""
        return {"chain_id": str(self.chain.chain_id), "registry": self.chain.address("ParticipantRegistry")}

    def head(self) -> int:
        """Latest block number."""
        return self.chain.block_number()

    def blocks(self, numbers: list[int]) -> dict[int, BlockRef]:
        """Batched ``eth_getBlockByNumber`` (headers only)."""
        out: dict[int, BlockRef] = {}
        unique = sorted(set(numbers))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            calls = [("eth_getBlockByNumber", [hex(n), False]) for n in chunk]
            responses = self._rpc_batch(calls)
            for n, resp in zip(chunk, responses):
                block = resp.get("result")
                if block:
                    out[n] = BlockRef(n, block["hash"], int(block["timestamp"], 16))
        return out

    def events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        """``eth_getLogs`` over every TDS contract (or the ``only`` events); ranges are split when the node
        refuses them."""
        if to_block < from_block:
            return []
        if to_block - from_block + 1 > self.max_range:
            mid = from_block + self.max_range - 1
            return self.events(from_block, mid) + self.events(mid + 1, to_block)
        params: dict[str, Any] = {"fromBlock": hex(from_block), "toBlock": hex(to_block),
                                  "address": list(self._by_address)}
        if self._topics is not None:
            params["topics"] = [self._topics]
        resp = self._rpc("eth_getLogs", [params])
        if "error" in resp:
            if to_block > from_block:  # "query returned more than N results" and the like
                mid = (from_block + to_block) // 2
                return self.events(from_block, mid) + self.events(mid + 1, to_block)
            raise ChainError(f"eth_getLogs {from_block}..{to_block}: {resp['error'].get('message')}")
        logs = resp["result"]
        decoded = [self._decode(log) for log in logs if not log.get("removed")]
        return [e for e in decoded if e is not None]

    def _decode(self, log: dict[str, Any]) -> ChainEvent | None:
        topics = log["topics"]
        contract = self._by_address.get(log["address"].lower())
        abi = self._abis.get((contract, topics[0])) if topics and contract else None
        if abi is None:
            return None  # e.g. an ERC-20 Approval of the token: not evidence the index keeps
        args: dict[str, Json] = {}
        for (name, typ), topic in zip(abi.indexed, topics[1:]):
            args[name] = _topic_value(typ, topic)
        if abi.data_types:
            values = abi_decode(abi.data_types, bytes.fromhex(log["data"][2:]))
            for name, typ, value in zip(abi.data_names, abi.data_types, values):
                args[name] = _json_value(typ, value)
        return ChainEvent(
            int(log["blockNumber"], 16), log["blockHash"], log["transactionHash"], int(log["logIndex"], 16),
            abi.contract, abi.name, args,
        )

    def _rpc(self, method: str, params: list[Any]) -> dict[str, Any]:
        return self.chain.rpc_request(method, params)

    def _rpc_batch(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        return self.chain.rpc_batch(calls)


def _event_abis(chain: Chain) -> dict[tuple[str, str], _EventAbi]:
    out: dict[tuple[str, str], _EventAbi] = {}
    for name, c in chain.deployment.contracts.items():
        for entry in c.abi:
            if entry.get("type") != "event" or entry.get("anonymous"):
                continue
            types = [i["type"] for i in entry["inputs"]]
            topic0 = "0x" + keccak(text=f"{entry['name']}({','.join(types)})").hex()
            inputs = entry["inputs"]
            out[(name, topic0)] = _EventAbi(
                name, entry["name"],
                tuple((i["name"], i["type"]) for i in inputs if i["indexed"]),
                tuple(i["name"] for i in inputs if not i["indexed"]),
                tuple(i["type"] for i in inputs if not i["indexed"]),
            )
    return out


def _topic_value(typ: str, topic: str) -> Json:
    if typ == "address":
        return checksum_address("0x" + topic[-40:])
    if typ.startswith(("uint", "int")):
        return int(topic, 16)
    if typ == "bool":
        return int(topic, 16) != 0
    return topic.lower()  # bytes32 (dynamic indexed types are hashes: kept as the topic)


def _json_value(typ: str, value: Any) -> Json:
    if typ.endswith("[]"):
        return [_json_value(typ[:-2], v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if typ == "address":
        return checksum_address(value)
    return value
