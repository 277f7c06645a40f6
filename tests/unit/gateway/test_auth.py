"""Signed calls without a chain: gateway binding, canonical signatures, the two-clock window rule."""

from __future__ import annotations

import time
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from chain.eip712 import SECP256K1_N, GatewayDomain, eip712_document, sign_call, signature_problem
from domain.types import Liveness
from gateway.auth import Authenticator, SignedCall
from gateway.errors import NonCanonicalSignature, WrongGateway, error_status
from domain.terms import window_verdict

CONTRACT, PROVIDER = "0x" + "11" * 20, "0x" + "22" * 20
ONE = GatewayDomain.named(31337, CONTRACT, PROVIDER, "http://127.0.0.1:8700")
TWO = GatewayDomain.named(31337, CONTRACT, PROVIDER, "http://127.0.0.1:8701")


class Untouchable:
    """A chain view / database that fails the test if the authenticator reaches it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"reached {name} before refusing")


def _call(headers: dict[str, str], path: str = "/x") -> SignedCall:
    return SignedCall.from_headers({k.lower(): v for k, v in headers.items()}, "GET", path, b"")


def test_a_call_for_another_gateway_is_refused_before_chain_or_nonce() -> None:
    account = Account.create()
    auth = Authenticator(TWO, Untouchable(), Untouchable())  # type: ignore[arg-type]
    with pytest.raises(WrongGateway) as refused:
        auth.authenticate(_call(sign_call(account, ONE, "GET", "/x")), block=1)
    assert ONE.gateway_id in str(refused.value) and TWO.gateway_id in str(refused.value)
    assert error_status(refused.value) == (421, "wrong_gateway")
    forged = {**sign_call(account, ONE, "GET", "/x"), "X-TDS-Gateway": TWO.gateway_id}
    assert auth.recover(_call(forged)) != account.address  # the signature binds the gateway id


def test_third_party_signing_from_the_published_document_alone() -> None:
    doc = eip712_document(ONE)
    assert GatewayDomain.from_eip712(doc) == ONE
    account, call = Account.create(), doc["gateway"]
    nonce, expiry = 7, int(time.time()) + 60
    typed = {**call, "message": {**call["message"], "method": "GET", "path": "/x", "bodyHash": keccak(b""),
                                 "nonce": nonce, "expiry": expiry}}
    sig = account.sign_message(encode_typed_data(full_message=typed)).signature.to_0x_hex()
    headers = {"X-TDS-Address": account.address, "X-TDS-Gateway": call["message"]["gateway"],
               "X-TDS-Nonce": str(nonce), "X-TDS-Expiry": str(expiry), "X-TDS-Signature": sig}
    assert Authenticator(ONE, Untouchable(), Untouchable()).recover(_call(headers)) == account.address  # type: ignore[arg-type]


def test_only_canonical_signatures() -> None:
    account = Account.create()
    headers = sign_call(account, ONE, "GET", "/x")
    sig = headers["X-TDS-Signature"]
    assert signature_problem(sig) is None
    raw = bytes.fromhex(sig[2:])
    s = int.from_bytes(raw[32:64], "big")
    twin = "0x" + (raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - raw[64]])).hex()
    assert "high-s" in (signature_problem(twin) or "")
    assert "v byte" in (signature_problem(sig[:-2] + "00") or "")
    auth = Authenticator(ONE, Untouchable(), Untouchable())  # type: ignore[arg-type]
    with pytest.raises(NonCanonicalSignature):
        auth.recover(_call({**headers, "X-TDS-Signature": twin}))
    assert error_status(NonCanonicalSignature("x")) == (401, "signature_not_canonical")


@pytest.mark.parametrize(
    ("block_time", "clock", "verdict"),
    [
        (150, 150, Liveness.LIVE),
        (150, 200, Liveness.EXPIRED),  # idle chain: the head's time stands still, ours does not
        (200, 150, Liveness.EXPIRED),  # chain ahead
        (150, 99, Liveness.NOT_YET_VALID),  # our clock behind the start
        (99, 150, Liveness.NOT_YET_VALID),  # the chain's behind the start
        (100, 199.9, Liveness.LIVE),  # the bounds: [not_before, not_after)
    ],
)
def test_window_is_judged_fail_closed_on_both_clocks(block_time: int, clock: float, verdict: Liveness) -> None:
    assert window_verdict(100, 200, block_time, clock) == verdict
