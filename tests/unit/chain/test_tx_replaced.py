"""A transaction replaced under its nonce by another sender of the same key is signed again, not waited out."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from web3.exceptions import TransactionNotFound

from chain.errors import ChainError
from chain.tx import NONCE_RETRIES, TxSender


class FakeEth:
    """A node where another process mines its own transaction under each nonce we send first (``replaced`` times)."""

    def __init__(self, replaced: int) -> None:
        self.replaced = replaced
        self.sent: list[tuple[int, bytes]] = []
        self.mined = 0  # nonces mined so far (latest transaction count)

    def get_transaction_count(self, _address: str, tag: str) -> int:
        return self.mined

    def send_raw_transaction(self, raw: bytes) -> bytes:
        nonce = len(self.sent)  # we resync from get_transaction_count, which counts every send
        tx_hash = bytes([len(self.sent)]) * 32
        self.sent.append((nonce, tx_hash))
        self.mined += 1  # this nonce is mined now: by the other sender while we still have replacements left
        return tx_hash

    def get_transaction_receipt(self, tx_hash: bytes) -> dict[str, Any]:
        index = tx_hash[0]
        if index < self.replaced:
            raise TransactionNotFound("replaced")
        return {"status": 1, "transactionHash": tx_hash, "blockNumber": 1}


class FakeW3:
    def __init__(self, replaced: int) -> None:
        self.eth = FakeEth(replaced)


def sender(replaced: int) -> TxSender:
    return TxSender(FakeW3(replaced), Account.create(), 31337, decoder=None, poll_latency=0.001,  # type: ignore[arg-type]
                 receipt_timeout=5)
    return s


def test_a_replaced_transaction_is_sent_again_under_a_fresh_nonce(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chain.tx.REPLACED_CHECK_S", 0.0)
    s = sender(replaced=2)
    receipt = s.send({"to": "0x" + "11" * 20, "data": "0x", "gas": 21000, "gasPrice": 1, "value": 0})
    assert receipt["status"] == 1
    assert [nonce for nonce, _h in s.w3.eth.sent] == [0, 1, 2]  # two replaced, the third mined


def test_replaced_again_and_again_gives_up_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chain.tx.REPLACED_CHECK_S", 0.0)
    s = sender(replaced=NONCE_RETRIES)
    with pytest.raises(ChainError, match=f"replaced {NONCE_RETRIES} times"):
        s.send({"to": "0x" + "11" * 20, "data": "0x", "gas": 21000, "gasPrice": 1, "value": 0})
    assert len(s.w3.eth.sent) == NONCE_RETRIES
