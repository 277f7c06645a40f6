"""Data services: GET /services/{asset_id} (the public OpenAPI description) and
/services/{asset_id}/{path} (any method): a call to the service's backend, checked and metered.

One call, in order (nothing reaches the backend before step 4):

1. the service is one of this gateway's (404), the caller authenticates (signed call or session);
2. the path is acceptable (no dot segments or encoded slashes: 400 ``path_refused``) and declared by
   the description with this method (404 ``operation_not_declared``, 405 ``method_not_declared``);
3. the grant is checked exactly as for a fetch (``gateway.access.authorize_call``), then the service's
   per-grant rate (429 ``call_rate_limited``), then one use is taken with the call's access record;
4. the call goes to the registered backend only (``services.proxy.backend_url``), with allow-listed
   headers, the configured credentials and the gateway's HMAC (consumer DID, grant, receipt), under the
   service's timeout; the answer streams back within ``max_response_bytes``;
5. the record gets the call's evidence (method, target, request and response body SHA-256, status,
   bytes): its receipt's content hash is the evidence's SHA-256 (``notary.calls``).

A backend that times out (504 ``backend_timeout``), refuses or resets (502 ``backend_unreachable``),
answers 5xx (502 ``backend_error``), garbage (502 ``backend_bad_answer``) or too much (502
``backend_answer_too_large``) is not charged: the use is given back and the receipt is a deny with
that code. A 2xx, 3xx or 4xx answer is the service's answer and uses one call.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import anyio.to_thread
import httpx
import yarl
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from domain.types import did_pkh
from gateway.access import CallTicket, Checkpoint, authorize_call, finish_call, record_refusal
from gateway.api.deps import AssetId, ConsumerCall, GatewayDep, ServiceAttempt
from gateway.api.openapi import ERRORS, SIGNED_OR_SESSION
from gateway.auth import Caller
from gateway.db import ServiceCall
from gateway.errors import (
    REPORTED_ERRORS,
    BackendAnswerTooLarge,
    BackendBadAnswer,
    BackendFailed,
    BackendServerError,
    BackendTimeout,
    BackendUnreachable,
    MethodNotDeclared,
    NotFound,
    OperationNotDeclared,
    ServicePathRefused,
    error_status,
)
from gateway.ratelimit import Limit, parse_limit
from gateway.service import Gateway
from notary.calls import sha256_hex
from services.description import MEDIA_TYPE, decoded, split_raw_path
from services.proxy import TargetRefused, backend_url, forwarded_request_headers, forwarded_response_headers, \
    sign_backend_call
from services.registry import ServiceConfig

router = APIRouter(tags=["services"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
BUFFERED = 256 * 1024
"""Answers up to this size are read whole before the consumer gets them (Content-Length, X-Content-SHA256,
and the receipt complete before the answer); larger ones stream."""
_ERRORS = {**ERRORS, **{s: {**ERRORS[500], "description": d} for s, d in
                        ((405, "method not declared"), (502, "backend failed"), (504, "backend timeout"))}}


@router.get("/services/{asset_id}", responses={**ERRORS, 200: {
    "content": {MEDIA_TYPE: {"schema": {"type": "object"}}}, "description": "the service's OpenAPI 3 description"}})
def get_description(asset_id: AssetId, gw: GatewayDep) -> Response:
    """The registered description of a service, byte for byte (its SHA-256 is the asset id). Public."""
    description = gw.services.description(asset_id)
    if description is None:
        raise NotFound(f"{asset_id} is not a service of this gateway (GET /catalog lists them)")
    return Response(description.raw, media_type=MEDIA_TYPE, headers={"X-Content-SHA256": description.sha256})


async def call_service(request: Request, gw: GatewayDep, attempt: ServiceAttempt, caller: ConsumerCall,
                       path: str) -> Response:
    """Call a service under a live grant (signed call or session; uses one call; see the module docstring).

    ``X-TDS-Grant`` names the grant (default: the caller's live grant for this service), ``X-TDS-Purpose``
    the declared purpose. The answer carries ``X-TDS-Receipt`` and ``X-TDS-Grant``; a buffered answer
    also ``X-Content-SHA256`` (of its body) and ``X-TDS-Evidence-SHA256`` (the receipt's content hash).
    """
    del path  # the raw path is used: Starlette's decoded one would hide encoded slashes and dots
    config = gw.services.config(attempt.asset_id)
    description = gw.services.description(attempt.asset_id)
    if config is None or description is None:
        raise NotFound(f"{attempt.asset_id} is not a service of this gateway")
    raw_path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    rest = raw_path.split("/", 3)[3] if raw_path.count("/") >= 3 else ""
    query = (request.scope.get("query_string") or b"").decode("latin-1")
    try:
        segments, declared = _declared(description, request.method, rest)
        url = backend_url(config.backend, segments, query)
    except TargetRefused as exc:
        await anyio.to_thread.run_sync(record_refusal, gw, attempt, ServicePathRefused(str(exc)))
        raise ServicePathRefused(str(exc)) from None
    except REPORTED_ERRORS as exc:
        await anyio.to_thread.run_sync(record_refusal, gw, attempt, exc)
        raise
    body = b"" if request.method in ("GET", "HEAD") else await request.body()
    rate = _rate(request.app, attempt.asset_id, config.rate)
    ticket = await anyio.to_thread.run_sync(authorize_call, gw, attempt, caller, rate)
    target = "/" + rest + (f"?{query}" if query else "")
    call = _Call(gw, ticket, request.method, target, sha256_hex(body), config)
    headers = forwarded_request_headers(request.headers.items(), declared)
    try:
        headers.update(config.backend_headers())
        headers.update(sign_backend_call(config.secret_bytes(), request.method, url.raw_path.decode("ascii"),
                                         consumer_did=did_pkh(gw.chain_id, caller.address),
                                         grant_id=ticket.grant_id, receipt_id=ticket.receipt_id,
                                         purpose=ticket.purpose, body=body))
    except Exception as exc:  # noqa: BLE001 - a configuration problem of the provider's: not charged
        await call.fail(BackendFailed(f"the service is misconfigured at the gateway: {exc}"))
    headers["accept-encoding"] = "identity"  # the bytes hashed are the bytes sent
    return await _forward(request.app, call, caller, url, headers, body)


for _method in METHODS:  # one route (and one operationId) per method: a multi-method route would share one id
    router.add_api_route("/services/{asset_id}/{path:path}", call_service, methods=[_method], responses=_ERRORS,
                         openapi_extra=SIGNED_OR_SESSION, operation_id=f"call_service_{_method.lower()}",
                         name="call_service")


def _declared(description: Any, method: str, rest: str) -> tuple[list[str], frozenset[str]]:
    segments = split_raw_path(rest)
    if segments is None:
        raise ServicePathRefused("the service path has empty, '.' or '..' segments, encoded '/', '\\' or NUL, or "
                                 "characters that must be percent-encoded")
    op = description.match(method, decoded(segments))
    if op is None:
        if description.declares_path(decoded(segments)):
            allowed = sorted({o.method for o in description.operations()
                              if o.template == _template_of(description, segments)})
            raise MethodNotDeclared(f"{method} is not declared for /{rest[:200]} (declared: {', '.join(allowed)})")
        raise OperationNotDeclared(f"/{rest[:200]} is not declared by the service's description "
                                   "(GET /services/<id> shows it)")
    return segments, op.headers


def _template_of(description: Any, segments: list[str]) -> str | None:
    for op in description.operations():
        if description.match(op.method, decoded(segments)) == op:
            return op.template
    return None


class _Call:
    """One authorized call in flight: closes its record once, with its evidence."""

    def __init__(self, gw: Gateway, ticket: CallTicket, method: str, target: str, request_sha256: str,
                 config: ServiceConfig) -> None:
        self.gw, self.ticket, self.method, self.target = gw, ticket, method, target
        self.request_sha256, self.config = request_sha256, config
        self.closed = False

    def evidence(self, status: int, response_sha256: str, size: int) -> ServiceCall:
        return ServiceCall(access_id=self.ticket.access_id, method=self.method, target=self.target[:2048],
                           request_sha256=self.request_sha256, status=status, response_sha256=response_sha256,
                           bytes=size)

    async def close(self, status: int, response_sha256: str, size: int, failure: str | None = None) -> str:
        self.closed = True
        with anyio.CancelScope(shield=True):  # the record is closed even when the client went away
            return await anyio.to_thread.run_sync(finish_call, self.gw, self.ticket,
                                                  self.evidence(status, response_sha256, size), failure)

    async def fail(self, exc: BackendFailed, status: int = 0, got: bytes = b"") -> None:
        """Record a backend failure (deny, use given back) and raise it, naming the receipt."""
        code = error_status(exc)[1]
        await self.close(status, sha256_hex(got), len(got), code)
        raise type(exc)(f"{exc} (not charged: the call's use was given back; receipt {self.ticket.receipt_id})",
                        receipt_id=self.ticket.receipt_id)


async def _forward(app: FastAPI, call: _Call, caller: Caller, url: httpx.URL, headers: dict[str, str],
                   body: bytes) -> Response:
    config = call.config
    client = _backend_client(app)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(5.0, config.timeout_s), sock_read=config.timeout_s)
    resp: aiohttp.ClientResponse | None = None
    chunks: list[bytes] = []
    size = 0
    try:
        with anyio.fail_after(config.timeout_s):  # the whole head and the buffered part, not only each read
            resp = await client.request(call.method, yarl.URL(str(url), encoded=True), headers=headers,
                                        data=None if call.method in ("GET", "HEAD") else body,
                                        allow_redirects=False, timeout=timeout, skip_auto_headers=_NO_AUTO)
            if resp.status >= 500:
                got = await _read_some(resp, BUFFERED)
                await call.fail(BackendServerError(f"the service's backend answered {resp.status}"),
                                resp.status, got)
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > config.max_response_bytes:
                await call.fail(BackendAnswerTooLarge(
                    f"the backend's answer is {declared} bytes; this service allows {config.max_response_bytes}"),
                    resp.status)
            raw = resp.content.iter_any()
            complete = False
            while size < BUFFERED:
                try:
                    chunk = await raw.__anext__()
                except StopAsyncIteration:
                    complete = True
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > config.max_response_bytes:
                    await call.fail(BackendAnswerTooLarge(
                        f"the backend's answer exceeds the {config.max_response_bytes} bytes this service allows"),
                        resp.status)
    except (TimeoutError, aiohttp.ServerTimeoutError):
        _closed(resp)
        await call.fail(BackendTimeout(f"the service's backend did not answer within {config.timeout_s:g} s"),
                        resp.status if resp is not None else 0, b"".join(chunks))
    except aiohttp.ClientConnectionError as exc:
        _closed(resp)
        await call.fail(BackendUnreachable(f"the service's backend is unreachable ({type(exc).__name__})"),
                        resp.status if resp is not None else 0, b"".join(chunks))
    except (aiohttp.ClientResponseError, aiohttp.ClientPayloadError) as exc:
        _closed(resp)
        await call.fail(BackendBadAnswer(f"the service's backend answered something that is not HTTP "
                                         f"({str(exc)[:120]})"), resp.status if resp is not None else 0,
                        b"".join(chunks))
    except BaseException as exc:
        _closed(resp)
        if not call.closed:  # the consumer went away (charged: the backend got the call) or something broke
            gone = isinstance(exc, anyio.get_cancelled_exc_class())
            await call.close(resp.status if resp is not None else 0, sha256_hex(b""), 0,
                             None if gone else "backend_failed")
        raise
    assert resp is not None
    out = {**forwarded_response_headers(resp.headers.items()), "x-tds-grant": call.ticket.grant_id,
           "x-tds-receipt": call.ticket.receipt_id, "cache-control": "no-store"}
    if complete:
        resp.release()
        answer = b"".join(chunks)
        digest = await call.close(resp.status, sha256_hex(answer), len(answer))
        out.update({"x-content-sha256": sha256_hex(answer), "x-tds-evidence-sha256": digest})
        return Response(answer, status_code=resp.status, headers=out)
    declared = resp.headers.get("content-length", "")
    if declared.isdigit():
        out["content-length"] = declared  # a cut answer is then visibly short
    return StreamingResponse(_stream(call, resp, raw, chunks, caller), status_code=resp.status, headers=out)


async def _stream(call: _Call, resp: aiohttp.ClientResponse, raw: AsyncIterator[bytes], first: list[bytes],
                  caller: Caller) -> AsyncIterator[bytes]:
    """A large answer, chunk by chunk: within the size limit, under the policy monitor (stopped within a
    block of a revocation, suspension or the window's end), its evidence written however it ends."""
    h = hashlib.sha256()
    sent = 0
    failure: str | None = None
    stopped: str | None = None
    checkpoint = Checkpoint()
    monitor = _monitor(call, caller)
    try:
        for chunk in first:
            yield chunk
            h.update(chunk)
            sent += len(chunk)
        while True:
            if monitor is not None:
                stopped = await anyio.to_thread.run_sync(monitor.check)
                if stopped is not None:
                    await anyio.to_thread.run_sync(call.gw.db.record_incident, "stream_stopped", call.ticket.asset_id,
                                                   f"call {call.ticket.receipt_id} stopped after {sent} bytes: {stopped}")
                    break
            try:
                with anyio.fail_after(call.config.timeout_s):
                    chunk = await raw.__anext__()
            except StopAsyncIteration:
                break
            except (TimeoutError, aiohttp.ClientError):
                failure = "backend_failed"  # cut by the backend mid-answer: not charged
                break
            if sent + len(chunk) > call.config.max_response_bytes:
                failure = "backend_answer_too_large"
                break
            yield chunk
            h.update(chunk)
            sent += len(chunk)
            if checkpoint.due(sent):  # a long answer is not sealed as abandoned
                checkpoint.mark(sent)
                await anyio.to_thread.run_sync(call.gw.db.checkpoint_delivery, call.ticket.access_id, sent)
    finally:
        _closed(resp)
        await call.close(resp.status, "0x" + h.hexdigest(), sent, failure)
    if failure is not None or stopped is not None:  # end without the last chunk: the consumer sees a cut answer
        raise AnswerCut(f"call {call.ticket.receipt_id} cut after {sent} bytes: {stopped or failure}")


class AnswerCut(Exception):
    """A streamed answer ended early (policy monitor, size limit, backend failure): raised after its record is
    written so the server drops the connection instead of ending the chunked body as if it were complete."""


def _monitor(call: _Call, caller: Caller) -> Any:
    """The policy monitor of a streamed answer (``gateway.monitor``)."""
    from gateway.monitor import PolicyMonitor

    t = call.ticket
    return PolicyMonitor(call.gw, t.grant_id, t.request, caller.address, t.asset_id, caller.block)


async def _read_some(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    got = b""
    try:
        async for chunk in resp.content.iter_any():
            got += chunk
            if len(got) >= limit:
                break
    finally:
        resp.close()
    return got[:limit]


def _closed(resp: aiohttp.ClientResponse | None) -> None:
    if resp is not None:
        try:
            resp.close()  # drops the connection: a failed or cut answer's socket is not reused
        except Exception:  # noqa: BLE001 - closing a failed connection may fail again
            pass


_NO_AUTO = frozenset({"User-Agent", "Content-Type"})
"""Headers aiohttp would add on its own: the backend sees only the consumer's allow-listed ones and the gateway's."""


def _backend_client(app: FastAPI) -> aiohttp.ClientSession:
    """The app's outbound pool (aiohttp: a C HTTP parser, ~0.4 ms per keep-alive call where httpx took ~2 ms
    here): no redirects followed (``allow_redirects=False`` per call), no proxies from the environment (SSRF),
    no decompression (the bytes hashed are the bytes sent), no cookie jar (one consumer's cookies never reach
    another's call)."""
    client = getattr(app.state, "backend_http", None)
    if client is None:
        client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256, limit_per_host=0),
                                       trust_env=False, auto_decompress=False,
                                       cookie_jar=aiohttp.DummyCookieJar())
        app.state.backend_http = client
    return client


_LIMITER = SlidingWindowCounterRateLimiter(MemoryStorage())


def _rate(app: FastAPI, asset_id: str, rate: str) -> Limit | None:
    """The per-grant call rate of a service (one Limit per service and rate string, in this worker)."""
    if not rate:
        return None
    limits = _state(app)
    key = (asset_id, rate)
    if key not in limits:
        limits[key] = Limit(f"service:{asset_id}", parse_limit(rate, "rate"), _LIMITER)
    return limits[key]


def _state(app: FastAPI) -> dict[tuple[str, str], Limit]:
    found = getattr(app.state, "service_limits", None)
    if found is None:
        found = {}
        app.state.service_limits = found
    return found
