"""services/: description validation and matching, raw path checks, header allow-lists, backend URLs, HMAC."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notary.calls import call_evidence, evidence_digest
from services.description import ServiceDescription, decoded, split_raw_path
from services.errors import DescriptionInvalid, ServiceConfigInvalid
from services.proxy import (
    TargetRefused,
    backend_url,
    forwarded_request_headers,
    forwarded_response_headers,
    sign_backend_call,
    verify_backend_call,
)
from services.registry import ServiceConfig, ServiceRegistry

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "credit-api.openapi.json"


def test_the_example_description_validates_and_declares_its_operations() -> None:
    d = ServiceDescription.parse(EXAMPLE.read_bytes())
    assert d.title == "SME credit score API"
    assert {(o.method, o.template) for o in d.operations()} == {("GET", "/scores/{company}"), ("POST", "/scores")}
    op = d.match("GET", ["scores", "ACME"])
    assert op is not None and op.operation_id == "getScore" and op.headers == {"x-request-id"}
    assert d.match("POST", ["scores", "ACME"]) is None and d.declares_path(["scores", "ACME"])
    assert d.match("GET", ["scores", "ACME", "x"]) is None and not d.declares_path(["admin"])


@pytest.mark.parametrize("raw, why", [
    (b"not json", "not JSON"),
    (b"[]", "OpenAPI 3 document"),
    (b'{"swagger": "2.0", "info": {"title": "x", "version": "1"}, "paths": {}}', "OpenAPI 3 document"),
    (b'{"openapi": "3.1.0", "info": {"title": "x"}, "paths": {}}', "not valid OpenAPI 3"),  # info.version missing
    (b'{"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {}}', "declares no operation"),
])
def test_bad_descriptions_are_refused_with_the_reason(raw: bytes, why: str) -> None:
    with pytest.raises(DescriptionInvalid, match=why):
        ServiceDescription.parse(raw)


def test_a_literal_path_wins_over_a_template() -> None:
    doc = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
        "/items/{id}": {"get": {"operationId": "one", "responses": {"200": {"description": "ok"}}, "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]}},
        "/items/latest": {"get": {"operationId": "latest", "responses": {"200": {"description": "ok"}}}}}}
    d = ServiceDescription.parse(json.dumps(doc).encode())
    assert d.match("GET", ["items", "latest"]).operation_id == "latest"  # type: ignore[union-attr]
    assert d.match("GET", ["items", "7"]).operation_id == "one"  # type: ignore[union-attr]


@pytest.mark.parametrize("raw", ["", "a//b", ".", "..", "a/../b", "%2e%2E", "a%2Fb", "a%5cb", "a%00", "a b",
                                 "a\\b", "a\r\nb", "x" * 3000])
def test_unacceptable_raw_paths(raw: str) -> None:
    assert split_raw_path(raw) is None


def test_acceptable_raw_paths_keep_their_encoding() -> None:
    assert split_raw_path("scores/ACME%20GmbH") == ["scores", "ACME%20GmbH"]
    assert decoded(["ACME%20GmbH"]) == ["ACME GmbH"]


def test_backend_urls_stay_under_the_base() -> None:
    assert str(backend_url("http://127.0.0.1:9/api", ["scores", "x"], "a=1")) == "http://127.0.0.1:9/api/scores/x?a=1"
    assert str(backend_url("http://127.0.0.1:9/api/", ["s"], "")) == "http://127.0.0.1:9/api/s"
    with pytest.raises(TargetRefused):
        backend_url("http://127.0.0.1:9", ["s"], "a=b c")
    with pytest.raises(TargetRefused):
        backend_url("http://127.0.0.1:9", ["s"], "a=" + "x" * 5000)


def test_request_headers_are_the_allow_list_minus_hop_by_hop() -> None:
    sent = [("Accept", "a/b"), ("Host", "evil"), ("X-Forwarded-For", "1"), ("Authorization", "Bearer tds1"),
            ("X-TDS-Signature", "0x"), ("Cookie", "c"), ("X-Custom", "1"), ("X-Request-Id", "r"),
            ("Connection", "x-request-id"), ("Content-Type", "application/json")]
    assert forwarded_request_headers(sent, {"x-request-id", "authorization", "x-tds-signature"}) == {
        "accept": "a/b", "content-type": "application/json"}
    assert forwarded_request_headers([("X-Request-Id", "r")], {"x-request-id"}) == {"x-request-id": "r"}
    assert forwarded_response_headers([("Set-Cookie", "s"), ("Server", "x"), ("Content-Type", "t"),
                                       ("Location", "http://internal/")]) == {"content-type": "t"}


def test_the_gateway_signature_verifies_and_binds_every_field() -> None:
    key = b"k" * 32
    headers = sign_backend_call(key, "POST", "/api/scores", consumer_did="did:pkh:eip155:1:0xabc", grant_id="0x1",
                                receipt_id="rcpt-1", purpose="research", body=b"{}", now=1000)
    assert verify_backend_call(key, "POST", "/api/scores", headers, b"{}", now=1010) is None
    assert verify_backend_call(b"x" * 32, "POST", "/api/scores", headers, b"{}", now=1010) is not None
    assert "body" in (verify_backend_call(key, "POST", "/api/scores", headers, b"{ }", now=1010) or "")
    assert verify_backend_call(key, "POST", "/api/other", headers, b"{}", now=1010) is not None
    assert "old" in (verify_backend_call(key, "POST", "/api/scores", headers, b"{}", now=2000) or "")
    forged = {**headers, "X-TDS-Grant": "0x2"}
    assert verify_backend_call(key, "POST", "/api/scores", forged, b"{}", now=1010) is not None


def test_call_evidence_digest_changes_with_the_answer() -> None:
    a = call_evidence("get", "/s", "0x" + "00" * 32, 200, "0x" + "11" * 32, 10)
    b = call_evidence("GET", "/s", "0x" + "00" * 32, 200, "0x" + "12" * 32, 10)
    assert a["method"] == "GET" and evidence_digest(a) != evidence_digest(b)
    assert evidence_digest(a) == evidence_digest(dict(reversed(list(a.items()))))  # canonical: key order free


@pytest.mark.parametrize("config, why", [
    (ServiceConfig(backend="ftp://x"), "http"), (ServiceConfig(backend="http://u:p@h"), "user:password"),
    (ServiceConfig(backend="http://h?x=1"), "query"), (ServiceConfig(backend="http://h", headers={"Host": "x"}), "Host"),
    (ServiceConfig(backend="http://h", headers={"X-TDS-Grant": "x"}), "reserved"),
    (ServiceConfig(backend="http://h", headers={"A": "b\r\nc"}), "line break"),
    (ServiceConfig(backend="http://h", rate="lots"), "not a rate"),
    (ServiceConfig(backend="http://h", timeout_s=0), "timeout"),
])
def test_bad_service_configs_name_the_fix(config: ServiceConfig, why: str) -> None:
    with pytest.raises(ServiceConfigInvalid, match=why):
        config.validate()


def test_the_registry_keeps_configs_private_and_rereads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reg = ServiceRegistry(tmp_path)
    d = ServiceDescription.parse(EXAMPLE.read_bytes())
    reg.put(d.sha256, d, ServiceConfig(backend="http://127.0.0.1:1", headers={"Authorization": "env:TOKEN"},
                                       secret="env:SECRET"))
    assert (tmp_path / "services.json").stat().st_mode & 0o777 == 0o600
    other = ServiceRegistry(tmp_path)  # another process's view sees it
    assert other.has(d.sha256) and other.description(d.sha256).raw == d.raw  # type: ignore[union-attr]
    with pytest.raises(ServiceConfigInvalid, match="TOKEN"):
        other.config(d.sha256).backend_headers()  # type: ignore[union-attr]
    monkeypatch.setenv("TOKEN", "Bearer t")
    assert other.config(d.sha256).backend_headers() == {"Authorization": "Bearer t"}  # type: ignore[union-attr]
    assert "Bearer t" not in json.dumps(other.config(d.sha256).public())  # type: ignore[union-attr]
    reg.remove(d.sha256)
    assert not other.has(d.sha256)
