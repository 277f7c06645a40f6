"""Attack class: a consumer bends a data-service call into something the provider never offered.

Every attack runs against the real gateway over HTTP with a real backend process behind it
(``examples/credit_api.py --chaos``, which counts the calls that reach it). What must hold:

- nothing the description does not declare reaches the backend (paths, methods), and no path or
  query trick leaves the backend's base URL (SSRF): refused before the backend sees a byte;
- what the backend receives is the allow-list: no hop-by-hop headers, Host, X-Forwarded-*, cookies,
  the consumer's own Authorization or X-TDS-* headers; the gateway's identity headers cannot be forged;
- a backend that hangs, resets, answers garbage, 5xx or too much costs the consumer nothing (502/504
  with a code, the use given back, a deny receipt with that code);
- 50 calls racing for the last uses: exactly the allowed number reach the backend;
- over the service's rate: 429, nothing reaches the backend;
- the backend itself refuses a call that did not come through the gateway (HMAC).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import socket
import time

import httpx
import pytest

from client.sdk import GatewayClient, GatewayClientError
from domain.types import Policy
from tests.integration.gateway_fixtures import gw_env  # noqa: F401  (fixture)
from tests.integration.service_fixtures import ServiceEnv, svc_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
POLICY = Policy(purposes=("research",), jurisdictions=("DE",), max_count=100)
SCORE = "/scores/91310000MA1FL0001X"


def raw_call(env: ServiceEnv, service: str, raw_target: str, method: str = "GET", body: bytes = b"",
             headers: dict[str, str] | None = None) -> httpx.Response:
    """A signed call with the request target exactly as given: written to the socket by hand, since HTTP
    clients normalise dot segments away before sending."""
    target = f"/services/{service}/{raw_target}"
    signed = env.gw.sign("consumer", method, target, b"" if method in ("GET", "HEAD") else body)
    head = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{env.gw.settings.port}", "Connection: close",
            f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in {**(headers or {}), **signed}.items())]
    with socket.create_connection(("127.0.0.1", env.gw.settings.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    status_line, _, rest = raw.partition(b"\r\n")
    header_block, _, content = rest.partition(b"\r\n\r\n")
    parsed = [line.split(b":", 1) for line in header_block.split(b"\r\n") if b":" in line]
    return httpx.Response(int(status_line.split()[1]), headers=[(k.strip(), v.strip()) for k, v in parsed],
                          content=content)


_SSRF: dict[str, str] = {}


def last_record(env: ServiceEnv, service: str) -> object:
    return env.gw.gateway.db.accesses(asset_id=service)[-1]


def test_undeclared_paths_and_methods_never_reach_the_backend(svc_env: ServiceEnv) -> None:
    service, _grant = svc_env.granted_service(POLICY, max_count=50)
    before = svc_env.hits()
    r = raw_call(svc_env, service, "admin/users")
    assert r.status_code == 404 and r.json()["error"]["code"] == "operation_not_declared"
    r = raw_call(svc_env, service, "scores/91310000MA1FL0001X", method="DELETE")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_declared"
    r = raw_call(svc_env, service, "_hits")  # exists on the backend, not in the description
    assert r.status_code == 404
    assert svc_env.hits() == before
    record = last_record(svc_env, service)
    assert record.decision == "deny" and record.code == "operation_not_declared"  # type: ignore[attr-defined]


@pytest.mark.parametrize("target", [
    "scores/..", "scores/%2e%2e", "scores/.%2E/_hits", "scores/a%2fb", "scores/a%5cb", "scores/a%00",
    "..%2f_hits", "scores//x", "/_hits", "scores/x/../../_hits", "http://127.0.0.1:1/x",
    "@127.0.0.1:1/scores/x", "",
])
def test_path_tricks_cannot_leave_the_backends_base_url(svc_env: ServiceEnv, target: str) -> None:
    if "service" not in _SSRF:
        _SSRF["service"] = svc_env.granted_service(POLICY, max_count=90)[0]
    before = svc_env.hits()
    r = raw_call(svc_env, _SSRF["service"], target)
    assert r.status_code in (400, 404), (target, r.status_code, r.text)
    assert svc_env.hits() == before


def test_an_encoded_dot_segment_reaches_nothing_but_a_declared_template_value(svc_env: ServiceEnv) -> None:
    """A value that only looks like a path (``%252e%252e`` decodes once to ``%2e%2e``) is a company name to
    the backend, under the declared template: it answers 404 unknown company, charged as a 4xx."""
    service, _grant = svc_env.granted_service(POLICY, max_count=3)
    with svc_env.gw.client("consumer") as c:
        r = c.call(service, "/scores/x%40y")
    assert r.status == 404 and "unknown company x%40y" in r.json()["error"]


def test_headers_towards_the_backend_are_the_allow_list(svc_env: ServiceEnv) -> None:
    service, grant = svc_env.granted_service(POLICY, max_count=5)
    hostile = {
        "Host": "evil.example", "X-Forwarded-For": "10.0.0.1", "X-Forwarded-Host": "evil.example",
        "Forwarded": "for=10.0.0.1;host=evil.example", "X-Real-IP": "10.0.0.1", "Cookie": "session=stolen",
        "Proxy-Authorization": "Basic eA==", "Connection": "keep-alive, X-Request-Id", "Upgrade": "websocket",
        "TE": "trailers", "X-TDS-Consumer": "did:pkh:eip155:1:0xforged", "X-TDS-Grant": grant,
        "X-TDS-Gateway-Signature": "v1=forged", "Via": "1.1 evil", "X-Request-Id": "hop-by-hop-now",
        "Accept": "application/json", "Expect": "100-continue-no",
    }
    with svc_env.gw.client("consumer") as c:
        r = c.call(service, "/echo", headers=hostile)
    assert r.status == 200
    seen = r.json()["headers"]
    for name in ("x-forwarded-for", "x-forwarded-host", "forwarded", "x-real-ip", "cookie", "proxy-authorization",
                 "upgrade", "te", "via", "expect", "x-tds-address", "x-tds-signature", "x-tds-nonce",
                 "x-request-id"):  # x-request-id is declared, but this Connection header made it hop-by-hop
        assert name not in seen, name
    assert seen["host"] == svc_env.backend_url.removeprefix("http://")
    assert seen["authorization"] == "Bearer backend-credential"  # the provider's credential, not the consumer's
    assert seen["x-tds-consumer"].endswith(svc_env.gw.account("consumer").address)
    assert seen["x-tds-grant"] == grant and seen["x-tds-gateway-signature"] != "v1=forged"
    assert seen["accept"] == "application/json"
    smuggled = raw_call(svc_env, service, "echo?a=b%0d%0aHost:%20evil")  # an encoded CRLF stays encoded
    assert smuggled.status_code == 200 and smuggled.json()["path"] == "/echo?a=b%0d%0aHost:%20evil"
    assert smuggled.json()["headers"]["host"] == seen["host"]
    with svc_env.gw.client("consumer") as c:  # a declared header parameter passes when it is not hop-by-hop
        assert c.call(service, "/echo", headers={"X-Request-Id": "abc"}).json()["headers"]["x-request-id"] == "abc"
        scored = c.call(service, SCORE)
    assert "set-cookie" not in scored.headers and "credit-api" not in scored.headers.get("server", "")


def test_the_backend_refuses_calls_that_did_not_come_through_the_gateway(svc_env: ServiceEnv) -> None:
    direct = httpx.get(f"{svc_env.backend_url}{SCORE}")
    assert direct.status_code == 401 and "no gateway signature" in direct.json()["error"]
    forged = httpx.get(f"{svc_env.backend_url}{SCORE}", headers={
        "X-TDS-Gateway-Signature": "v1=" + "0" * 64, "X-TDS-Timestamp": str(int(time.time())),
        "X-TDS-Body-SHA256": hashlib.sha256(b"").hexdigest()})
    assert forged.status_code == 401 and "does not verify" in forged.json()["error"]


def test_oversized_requests_and_answers(svc_env: ServiceEnv) -> None:
    service, grant = svc_env.granted_service(POLICY, max_count=10, max_response_bytes=1 << 20)
    before = svc_env.hits()
    big = b"{" + b" " * (200 * 1024) + b"}"
    with svc_env.gw.client("consumer") as c:
        with pytest.raises(GatewayClientError) as refused:
            c.call(service, "/echo", "POST", body=big, headers={"Content-Type": "application/json"})
        assert refused.value.status == 413 and svc_env.hits() == before
        with pytest.raises(GatewayClientError) as too_large:
            c.call(service, f"/big/{2 << 20}")  # declared Content-Length over the limit
        assert too_large.value.status == 502 and too_large.value.code == "backend_answer_too_large"
        assert "not charged" in str(too_large.value)
        assert svc_env.gw.gateway.db.used(grant) == 0
        # a chunked answer without a length, over the limit: cut at the limit, not charged, recorded
        with pytest.raises(httpx.HTTPError):
            c.call(service, f"/stream/{3 << 20}")
    record = last_record(svc_env, service)
    assert record.code == "backend_answer_too_large" and record.decision == "deny"  # type: ignore[attr-defined]
    assert record.bytes <= 1 << 20  # type: ignore[attr-defined]
    assert svc_env.gw.gateway.db.used(grant) == 0


@pytest.mark.parametrize("path, status, code", [
    ("/hang", 504, "backend_timeout"),
    ("/reset", 502, "backend_unreachable"),
    ("/garbage", 502, "backend_bad_answer"),
    ("/fail", 502, "backend_error"),
])
def test_backend_failures_answer_502_or_504_and_are_not_charged(svc_env: ServiceEnv, path: str, status: int,
                                                                code: str) -> None:
    service, grant = svc_env.granted_service(POLICY, max_count=1, timeout_s=1.0)
    with svc_env.gw.client("consumer") as c:
        started = time.monotonic()
        with pytest.raises(GatewayClientError) as failed:
            c.call(service, path)
        assert time.monotonic() - started < 10  # the timeout applies (the hang lasts 30 s)
        assert (failed.value.status, failed.value.code) == (status, code)
        assert svc_env.gw.gateway.db.used(grant) == 0  # the use was given back...
        ok = c.call(service, SCORE)  # ...so the grant's only call is still there
        assert ok.status == 200
    records = svc_env.gw.gateway.db.accesses(grant_id=grant)
    assert [(r.decision, r.code) for r in records] == [("deny", code), ("allow", "ok")]
    assert svc_env.gw.gateway.db.service_call(records[0].id).status in (0, 500)


def test_a_backend_that_is_down_is_a_502_not_charged(svc_env: ServiceEnv) -> None:
    from chain.devspace import free_port

    service, grant = svc_env.granted_service(POLICY, max_count=2, backend=f"http://127.0.0.1:{free_port()}")
    with svc_env.gw.client("consumer") as c, pytest.raises(GatewayClientError) as down:
        c.call(service, SCORE)
    assert (down.value.status, down.value.code) == (502, "backend_unreachable")
    assert svc_env.gw.gateway.db.used(grant) == 0


def test_fifty_concurrent_calls_race_for_the_last_uses(svc_env: ServiceEnv) -> None:
    allowed = 5
    service, grant = svc_env.granted_service(POLICY, max_count=allowed)
    before = svc_env.hits()
    clients = [GatewayClient(svc_env.gw.url, svc_env.gw.account("consumer")) for _ in range(10)]

    def one(i: int) -> int | str:
        try:
            return clients[i % 10].call(service, SCORE).status
        except GatewayClientError as exc:
            return exc.code

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        outcomes = list(pool.map(one, range(50)))
    for c in clients:
        c.close()
    assert outcomes.count(200) == allowed and outcomes.count("count_exhausted") == 50 - allowed, outcomes
    assert svc_env.hits() - before == allowed
    assert svc_env.gw.gateway.db.used(grant) == allowed


def test_over_the_services_rate_is_429_and_reaches_nothing(svc_env: ServiceEnv) -> None:
    service, _grant = svc_env.granted_service(POLICY, max_count=20, rate="3/minute")
    before = svc_env.hits()
    with svc_env.gw.client("consumer") as c:
        assert [c.call(service, SCORE).status for _ in range(3)] == [200] * 3
        with pytest.raises(GatewayClientError) as limited:
            c.call(service, SCORE)
    assert (limited.value.status, limited.value.code) == (429, "call_rate_limited")
    assert svc_env.hits() - before == 3


def test_another_consumers_grant_is_refused_before_the_backend(svc_env: ServiceEnv) -> None:
    service, grant = svc_env.granted_service(POLICY, max_count=3, who="consumer2")
    before = svc_env.hits()
    with svc_env.gw.client("consumer") as c, pytest.raises(GatewayClientError) as refused:
        c.call(service, SCORE, grant_id=grant)
    assert refused.value.code == "grant_not_yours" and svc_env.hits() == before


def test_a_streaming_answer_stops_within_a_block_of_the_revocation(svc_env: ServiceEnv) -> None:
    size = 6 << 20  # ~1 s at the backend's pace (64 KiB per 10 ms)
    service, grant = svc_env.granted_service(POLICY, max_count=3, max_response_bytes=64 << 20, timeout_s=5.0)
    target = f"/services/{service}/stream/{size}"
    got = 0
    with httpx.Client(base_url=svc_env.gw.url, timeout=30) as http, \
            http.stream("GET", target, headers=svc_env.gw.sign("consumer", "GET", target)) as resp:
        assert resp.status_code == 200
        stream = resp.iter_raw()
        got += len(next(stream))
        from gateway.service import revoke_grant

        revoke_grant(svc_env.gw.gateway, grant)
        with pytest.raises(httpx.HTTPError):
            for chunk in stream:
                got += len(chunk)
    assert got < size
    record = svc_env.gw.gateway.db.accesses(grant_id=grant)[-1]
    assert record.bytes < size and not record.streaming
    assert any("stopped" in i.detail and grant in i.detail or "revoked" in i.detail
               for i in svc_env.gw.gateway.db.incidents())
