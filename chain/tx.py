"""Sending transactions: local signing, nonce management, fast receipt polling, revert decoding.

Every transaction is gas-estimated first, so a call that would revert raises the decoded custom
error before anything is signed or sent: a rejected request changes nothing on-chain.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError
from web3.types import TxReceipt

from chain.errors import ChainError, ChainUnavailable, ContractRevert, TransactionFailed
from chain.revert import RevertDecoder

GAS_MARGIN = 1.2
NONCE_RETRIES = 5
PRIORITY_FEE_WEI = 10**9
REPLACED_CHECK_S = 0.5
"""How often a pending transaction checks whether its nonce was mined in another one (replaced)."""


class TxSender:
    """Signs and sends transactions for one account; safe to share between threads."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        chain_id: int,
        decoder: RevertDecoder,
        poll_latency: float = 0.01,
        receipt_timeout: float = 60.0,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.chain_id = chain_id
        self.decoder = decoder
        self.poll_latency = poll_latency
        self.receipt_timeout = receipt_timeout
        self._lock = threading.Lock()
        self._nonce: int | None = None

    @property
    def address(self) -> str:
        """The sender's checksummed address."""
        return str(self.account.address)

    def __repr__(self) -> str:
        return f"TxSender({self.address}, chain {self.chain_id})"

    def transact(self, fn: ContractFunction, value: int = 0) -> TxReceipt:
        """Estimate, sign, send and wait for one contract call; raise the decoded revert on failure."""
        tx = {"from": self.address, "value": value}
        gas = self.estimate(fn, value)
        return self.send({**fn.build_transaction({**tx, "gas": gas, **self._fees()}), "gas": gas})

    def deploy(self, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> TxReceipt:
        """Deploy a contract; returns the receipt (``contractAddress`` set)."""
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        ctor = factory.constructor(*args)
        tx = {"from": self.address}
        try:
            gas = int(ctor.estimate_gas(tx) * GAS_MARGIN)
        except ContractLogicError as exc:
            raise self.decoder.decode(exc.data) from exc
        return self.send({**ctor.build_transaction({**tx, "gas": gas, **self._fees()}), "gas": gas})

    def send(self, tx: dict[str, Any]) -> TxReceipt:
        """Assign a nonce, sign, send, wait for the receipt.

        Another process signing with this key (gateway workers, the notary) may get its transaction
        mined under the same nonce, replacing ours in the node's pool: ours can then never be mined,
        so it is signed again with a fresh nonce instead of being waited for until the timeout.
        """
        tx = {k: v for k, v in tx.items() if k != "from"}
        for _ in range(NONCE_RETRIES):
            tx_hash, nonce = self._submit(tx)
            receipt = self._await(tx_hash, nonce)
            if receipt is not None:
                return self._checked(receipt, tx)
            with self._lock:
                self._nonce = None  # resync from the node
        raise ChainError(f"transaction replaced {NONCE_RETRIES} times by others signing with {self.address}")

    def _submit(self, tx: dict[str, Any]) -> tuple[bytes, int]:
        with self._lock:
            for attempt in range(NONCE_RETRIES):
                nonce = self._next_nonce()
                signed = self.account.sign_transaction({**tx, "nonce": nonce, "chainId": self.chain_id})
                try:
                    tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
                    self._nonce = nonce + 1
                    return tx_hash, nonce
                except Web3RPCError as exc:
                    self._nonce = None  # resync from the node
                    if attempt + 1 < NONCE_RETRIES and _nonce_conflict(exc):
                        # another process signing with this key took the nonce (gateway workers, notary)
                        continue
                    raise ChainError(f"transaction rejected by the node: {exc}") from exc
                except (ConnectionError, OSError) as exc:
                    self._nonce = None
                    raise ChainUnavailable(f"node unreachable while sending: {exc}") from exc
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _await(self, tx_hash: bytes, nonce: int) -> TxReceipt | None:
        """The receipt of ``tx_hash``; None once ``nonce`` was mined in another transaction (ours is gone)."""
        deadline = time.monotonic() + self.receipt_timeout
        next_check = time.monotonic() + REPLACED_CHECK_S
        while True:
            receipt = self._receipt(tx_hash)
            if receipt is not None:
                return receipt
            now = time.monotonic()
            if now >= next_check:
                next_check = now + REPLACED_CHECK_S
                if self.w3.eth.get_transaction_count(self.account.address, "latest") > nonce:
                    return self._receipt(tx_hash)  # mined just now, or replaced: None
            if now >= deadline:
                raise ChainError(f"transaction {tx_hash.hex()} not mined within {self.receipt_timeout} s")
            time.sleep(self.poll_latency)

    def _receipt(self, tx_hash: bytes) -> TxReceipt | None:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def _checked(self, receipt: TxReceipt, tx: dict[str, Any] | None) -> TxReceipt:
        if receipt["status"] != 1:
            raise self._failure(receipt, tx)
        return receipt

    def _failure(self, receipt: TxReceipt, tx: dict[str, Any] | None) -> ContractRevert | TransactionFailed:
        if tx is not None:
            call = {"from": self.address, "to": tx.get("to"), "data": tx.get("data"), "value": tx.get("value", 0)}
            try:
                self.w3.eth.call(call, receipt["blockNumber"] - 1)
            except ContractLogicError as exc:
                return self.decoder.decode(exc.data)
        return TransactionFailed(f"transaction {receipt['transactionHash'].to_0x_hex()} reverted")

    def estimate(self, fn: ContractFunction, value: int = 0) -> int:
        """Gas limit for ``fn`` (estimate + margin); raises the decoded revert if it would fail."""
        try:
            return int(fn.estimate_gas({"from": self.address, "value": value}) * GAS_MARGIN)
        except ContractLogicError as exc:
            raise self.decoder.decode(exc.data) from exc

    def _next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
        return self._nonce

    def _fees(self) -> dict[str, int]:
        block = self.w3.eth.get_block("latest")
        base = block.get("baseFeePerGas")
        if base is None:
            return {"gasPrice": self.w3.eth.gas_price}
        return {"maxFeePerGas": 2 * int(base) + PRIORITY_FEE_WEI, "maxPriorityFeePerGas": PRIORITY_FEE_WEI}


def _nonce_conflict(exc: Exception) -> bool:
    text = str(exc).lower()
    return "nonce" in text or "already known" in text or "replacement transaction underpriced" in text
