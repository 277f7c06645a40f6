"""Session tokens without a chain: issue, verify, expiry, tampering, another gateway's key."""

from __future__ import annotations

import hashlib

import pytest

from chain.eip712 import GatewayDomain
from gateway.auth import SESSION_PREFIX, SessionKeys, bearer_token
from gateway.errors import SessionExpired, SessionInvalid, error_status

ADDRESS = "0x" + "ab" * 20


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_issue_then_verify_binds_the_address_and_expiry() -> None:
    keys = SessionKeys(b"k" * 32, clock=Clock(1_000_000))
    session = keys.issue(ADDRESS, 300)
    assert session.token.startswith(SESSION_PREFIX) and session.expires_at == 1_000_300
    again = keys.verify(session.token)
    assert again.address.lower() == ADDRESS and again.expires_at == 1_000_300
    assert keys.issue(ADDRESS, 300).token != session.token  # a random id per token


def test_expired() -> None:
    clock = Clock(1_000_000)
    keys = SessionKeys(b"k" * 32, clock=clock)
    token = keys.issue(ADDRESS, 60).token
    clock.now += 60
    with pytest.raises(SessionExpired):
        keys.verify(token)
    assert error_status(SessionExpired("x")) == (401, "session_expired")


def test_every_flipped_character_is_refused() -> None:
    keys = SessionKeys(b"k" * 32)
    token = keys.issue(ADDRESS, 60).token
    body = token[len(SESSION_PREFIX):]
    for i in range(len(body)):
        flipped = body[:i] + ("A" if body[i] != "A" else "B") + body[i + 1:]
        with pytest.raises(SessionInvalid):
            keys.verify(SESSION_PREFIX + flipped)


def test_other_key_and_malformed() -> None:
    token = SessionKeys(b"a" * 32).issue(ADDRESS, 60).token
    keys = SessionKeys(b"b" * 32)
    for bad in (token, "", SESSION_PREFIX, token[:-1], token + "A", "tds2." + token[5:], token.replace("tds1.", "")):
        with pytest.raises(SessionInvalid):
            keys.verify(bad)
    assert error_status(SessionInvalid("x")) == (401, "session_invalid")


def test_per_gateway_derivation() -> None:
    def derive(label: bytes) -> bytes:  # a stand-in for the master key's HKDF
        return hashlib.sha256(label).digest()

    contract, provider = "0x" + "11" * 20, "0x" + "22" * 20
    a = SessionKeys.for_gateway(derive, GatewayDomain.named(1, contract, provider, "http://127.0.0.1:8700"))
    b = SessionKeys.for_gateway(derive, GatewayDomain.named(2, contract, provider, "http://127.0.0.1:8700"))
    other = SessionKeys.for_gateway(derive, GatewayDomain.named(1, contract, provider, "http://127.0.0.1:8701"))
    replica = SessionKeys.for_gateway(derive, GatewayDomain.named(1, contract, provider, "http://127.0.0.1:8700"))
    token = a.issue(ADDRESS, 60).token
    for keys in (b, other):  # another chain, another gateway (same master key)
        with pytest.raises(SessionInvalid):
            keys.verify(token)
    assert replica.verify(token).address.lower() == ADDRESS  # replicas share the gateway name


def test_bearer_header() -> None:
    assert bearer_token("Bearer abc") == "abc" and bearer_token("bearer  abc ") == "abc"
    for bad in ("Basic abc", "Bearer", "abc"):
        with pytest.raises(SessionInvalid):
            bearer_token(bad)
