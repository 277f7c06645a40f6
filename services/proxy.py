"""What crosses from the gateway to a service's backend and back.

- :func:`backend_url`: the registered base URL plus the call's checked path segments and query;
  the result is re-parsed and must still be under the base (scheme, host, port, path prefix), so a
  consumer can never make the gateway call anything else (SSRF).
- :func:`forwarded_request_headers` / :func:`forwarded_response_headers`: allow-lists. Hop-by-hop
  headers, ``Host``, ``Forwarded``/``X-Forwarded-*``, cookies, the gateway's own ``Authorization``
  and ``X-TDS-*`` never reach the backend; ``Set-Cookie``, ``Location`` and server details never
  come back.
- :func:`sign_backend_call` / :func:`verify_backend_call`: the gateway's HMAC-SHA256 over each call
  (method, the target as the backend receives it, consumer DID, grant, receipt, purpose, time, request
  body hash), keyed with the UTF-8 bytes of the service's secret, so a backend can trust a call came
  through the gateway, for whom, under which grant.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping

import httpx

SIGNATURE_HEADER = "X-TDS-Gateway-Signature"
SIGNED_HEADERS = ("X-TDS-Consumer", "X-TDS-Grant", "X-TDS-Receipt", "X-TDS-Purpose", "X-TDS-Timestamp",
                  "X-TDS-Body-SHA256")
REQUEST_HEADERS = frozenset({"accept", "accept-language", "content-type", "if-match", "if-none-match",
                             "if-modified-since", "if-unmodified-since"})
"""Forwarded to the backend (besides the header parameters the operation declares)."""
RESPONSE_HEADERS = frozenset({"content-type", "content-language", "content-encoding", "cache-control", "etag",
                              "last-modified", "expires", "vary"})
"""Passed back to the consumer."""
NEVER_FORWARDED = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                             "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length",
                             "forwarded", "authorization", "cookie", "accept-encoding", "via", "x-real-ip",
                             "expect"})
_NEVER_PREFIXES = ("x-forwarded-", "x-tds-", "proxy-")
_QUERY = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*", re.ASCII)
MAX_QUERY = 4096


class TargetRefused(ValueError):
    """The call's path or query cannot be sent to the backend."""


def backend_url(base: str, segments: list[str], query: str) -> httpx.URL:
    """The backend URL of a call: ``base`` + "/" + the raw segments (+ "?" + query), checked to stay under base."""
    if len(query) > MAX_QUERY or not _QUERY.fullmatch(query):
        raise TargetRefused("the query string is too long or has characters that must be percent-encoded")
    root = httpx.URL(base)
    prefix = root.raw_path.decode("ascii").split("?", 1)[0].rstrip("/")
    url = httpx.URL(f"{root.scheme}://{root.netloc.decode('ascii')}{prefix}/{'/'.join(segments)}"
                    + (f"?{query}" if query else ""))
    if (url.scheme, url.host, url.port) != (root.scheme, root.host, root.port) \
            or not url.raw_path.decode("ascii").startswith(prefix + "/"):
        raise TargetRefused("the path would leave the service's base URL")
    return url


def forwarded_request_headers(headers: Iterable[tuple[str, str]], declared: Iterable[str]) -> dict[str, str]:
    """The consumer's headers the backend may see: the allow-list plus the operation's declared header
    parameters, minus hop-by-hop headers (also those a ``Connection`` header names) and the reserved ones."""
    pairs = [(k.lower(), v) for k, v in headers]
    named = {t.strip().lower() for k, v in pairs if k == "connection" for t in v.split(",")}
    allowed = REQUEST_HEADERS | {d.lower() for d in declared}
    out: dict[str, str] = {}
    for name, value in pairs:
        if name in allowed and name not in NEVER_FORWARDED and name not in named \
                and not name.startswith(_NEVER_PREFIXES) and "\r" not in value and "\n" not in value:
            out[name] = value
    return out


def forwarded_response_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The backend's answer headers the consumer may see."""
    return {k.lower(): v for k, v in headers if k.lower() in RESPONSE_HEADERS}


def _message(method: str, target: str, values: Mapping[str, str]) -> bytes:
    return "\n".join([method.upper(), target, *(values.get(h, "") for h in SIGNED_HEADERS)]).encode()


def sign_backend_call(secret: bytes, method: str, target: str, *, consumer_did: str, grant_id: str, receipt_id: str,
                      purpose: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The headers the gateway adds to a backend call, the HMAC over them last."""
    values = {"X-TDS-Consumer": consumer_did, "X-TDS-Grant": grant_id, "X-TDS-Receipt": receipt_id,
              "X-TDS-Purpose": purpose, "X-TDS-Timestamp": str(int(time.time() if now is None else now)),
              "X-TDS-Body-SHA256": hashlib.sha256(body).hexdigest()}
    mac = hmac.new(secret, _message(method, target, values), hashlib.sha256).hexdigest()
    return {**values, SIGNATURE_HEADER: f"v1={mac}"}


def verify_backend_call(secret: bytes, method: str, target: str, headers: Mapping[str, str], body: bytes,
                        max_skew_s: float = 60.0, now: float | None = None) -> str | None:
    """For a backend: None when the call carries a valid gateway signature, else why not."""
    values = {h: headers.get(h, headers.get(h.lower(), "")) for h in SIGNED_HEADERS}
    given = headers.get(SIGNATURE_HEADER, headers.get(SIGNATURE_HEADER.lower(), ""))
    if not given.startswith("v1="):
        return "no gateway signature"
    if values["X-TDS-Body-SHA256"] != hashlib.sha256(body).hexdigest():
        return "the body is not the one the gateway signed"
    try:
        skew = abs((time.time() if now is None else now) - int(values["X-TDS-Timestamp"]))
    except ValueError:
        return "bad timestamp"
    if skew > max_skew_s:
        return f"the signature is {int(skew)} s old"
    mac = hmac.new(secret, _message(method, target, values), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(mac, given[3:]) else "the gateway signature does not verify"
