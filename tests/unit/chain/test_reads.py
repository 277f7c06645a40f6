"""Typed, block-tagged reads of chain/ (what the gateway's ChainView calls), without a node."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from web3 import HTTPProvider, Web3

from chain.client import BlockStamp, HeadReader
from chain.compile import compile_contracts
from chain.contracts import AssetsClient, AssetState, GrantsClient, PolicyState, jurisdiction_code
from chain.errors import ChainUnavailable, is_node_failure
from domain.types import GrantRequest

ASSET = "0x" + "ab" * 32
PROVIDER = Web3.to_checksum_address("0x" + "22" * 20)


class FakeChain:
    """A Chain stand-in: real contract objects (from the compiled ABIs), canned view-call answers."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.abis = {name: c.abi for name, c in compile_contracts().items()}
        self.answers = answers
        self.calls: list[tuple[str, tuple[Any, ...], int | str]] = []

    def contract(self, name: str) -> Any:
        return Web3().eth.contract(address=Web3.to_checksum_address("0x" + "11" * 20), abi=self.abis[name])

    def call(self, fn: Any, block: int | str = "latest") -> Any:
        self.calls.append((fn.fn_name, tuple(fn.args), block))
        return self.answers[fn.fn_name]


def test_asset_state_at_a_block_and_unknown_assets() -> None:
    chain = FakeChain({"getAsset": (PROVIDER.lower(), 10, 1, True, b"\0" * 32, b"\0" * 32, b"\0" * 32)})
    assert AssetsClient(chain).state(ASSET, 7) == AssetState(ASSET, PROVIDER, 10, True)  # type: ignore[arg-type]
    assert chain.calls == [("getAsset", (bytes.fromhex(ASSET[2:]),), 7)]
    chain.answers["getAsset"] = ("0x" + "00" * 20, 0, 0, False, b"", b"", b"")
    assert AssetsClient(chain).state(ASSET, 8) is None  # type: ignore[arg-type]


def test_policy_state_is_getpolicy_in_field_order_and_none_without_a_policy() -> None:
    chain = FakeChain({"getPolicy": (1, 2, 3, 4, True, False, True, False, 5)})
    grants = GrantsClient(chain)  # type: ignore[arg-type]
    assert grants.policy_state(ASSET, 9) == PolicyState(1, 2, 3, 4, True, False, True, False, 5)
    assert chain.calls[-1][2] == 9
    chain.answers["getPolicy"] = (0, 0, 0, 0, False, False, False, False, 0)
    assert grants.policy_state(ASSET, 9) is None


def test_purpose_and_jurisdiction_checks_are_block_tagged_view_calls() -> None:
    chain = FakeChain({"isPurposeAllowed": True, "isJurisdictionAllowed": False})
    grants = GrantsClient(chain)  # type: ignore[arg-type]
    assert grants.purpose_allowed(ASSET, "research", 3) is True
    assert grants.jurisdiction_allowed(ASSET, "de", 4) is False
    assert chain.calls == [("isPurposeAllowed", (bytes.fromhex(ASSET[2:]), "research"), 3),
                           ("isJurisdictionAllowed", (bytes.fromhex(ASSET[2:]), b"DE"), 4)]


@pytest.mark.parametrize(("text", "code"), [("de", b"DE"), ("D", b"D\0"), ("", b"\0\0"), ("deu", b"DE")])
def test_jurisdiction_code_is_two_upper_case_bytes(text: str, code: bytes) -> None:
    assert jurisdiction_code(text) == code


def test_requests_issued_rebuilds_the_signed_requests_from_events() -> None:
    req = GrantRequest(ASSET, PROVIDER, "research", 1, 2, 3, 0, 4, 5, 1)
    grants = GrantsClient(FakeChain({}))  # type: ignore[arg-type]
    seen: dict[str, Any] = {}

    def issued(**filters: Any) -> list[Any]:
        seen.update(filters)
        return [{"args": {**req.message(), "assetId": bytes.fromhex(ASSET[2:]), "grantId": b"\1" * 32}}]

    grants.issued = issued  # type: ignore[method-assign]
    assert grants.requests_issued(ASSET, PROVIDER.lower()) == [req]
    assert seen == {"assetId": bytes.fromhex(ASSET[2:]), "consumer": PROVIDER}


class _Eth:
    block_number = 41

    def get_block(self, which: int | str) -> dict[str, int]:
        return {"number": 42 if which == "latest" else int(which), "timestamp": 1000 + (0 if which == "latest" else 1)}


class _W3:
    provider = object()  # not an HTTPProvider: web3's pipeline
    eth = _Eth()


def test_head_reader_through_web3_when_the_provider_is_not_plain_http() -> None:
    heads = HeadReader(_W3())  # type: ignore[arg-type]
    assert heads.number() == 41
    assert heads.latest() == BlockStamp(42, 1000)
    assert heads.timestamp_of(7) == 1001


@pytest.fixture
def node() -> Iterator[str]:
    """A JSON-RPC stub answering eth_blockNumber and eth_getBlockByNumber (hex, as nodes do)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            result = "0x2a" if req["method"] == "eth_blockNumber" else {"number": "0x2b", "timestamp": "0x3e8"}
            body = json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_head_reader_keeps_one_connection_to_a_plain_http_node(node: str) -> None:
    heads = HeadReader(Web3(HTTPProvider(node, request_kwargs={"timeout": 2})))
    assert heads.number() == 42
    assert heads.latest() == BlockStamp(43, 1000)


def test_head_reader_reports_an_absent_node_as_unavailable() -> None:
    heads = HeadReader(Web3(HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 1})))
    with pytest.raises(ChainUnavailable):
        heads.number()


class _Web3Failure(Exception):
    __module__ = "web3.exceptions"


@pytest.mark.parametrize(("exc", "failure"), [
    (ConnectionRefusedError(), True), (TimeoutError(), True), (ValueError("malformed"), True),
    (_Web3Failure(), True), (ChainUnavailable("down"), False), (KeyError("bug"), False), (RuntimeError(), False),
])
def test_node_failures_are_told_from_bugs(exc: BaseException, failure: bool) -> None:
    assert is_node_failure(exc) is failure
