"""Consumer-side client: signs every call with the consumer's key (EIP-712) and verifies what it gets.

What to sign (chain id, UsageGrants address, and the provider and gateway id every call binds) is
read once from the gateway's ``GET /eip712``, so the client needs nothing but the gateway URL and the
consumer's account; a call it signs is good at that gateway only.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from eth_account.signers.local import LocalAccount

from chain.eip712 import GatewayDomain, sign_call, sign_grant_request
from domain.odrl import offered_policy
from domain.types import GrantRequest

CATALOG_PAGE = 100
"""Items per page when the client reads the whole catalog (the gateway's maximum)."""


class GatewayClientError(Exception):
    """A refusal or failure reported to the consumer; ``status`` and ``code`` say which."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        super().__init__(f"{code} ({status}): {message}")


class IntegrityError(GatewayClientError):
    """The bytes received do not hash to what the gateway (and the chain) say."""


@dataclass(frozen=True)
class FetchResult:
    """A completed fetch."""

    path: Path
    size: int
    sha256: str
    grant_id: str
    receipt_id: str | None = None  # the notary receipt of this access; its proof: GET /receipts/{id}/proof


@dataclass(frozen=True)
class CallResult:
    """The service's answer to one call, with the evidence the gateway gave for it."""

    status: int
    headers: httpx.Headers
    body: bytes
    sha256: str  # SHA-256 of the body as received
    grant_id: str
    receipt_id: str
    evidence_sha256: str | None  # the receipt's content hash (buffered answers; else read the receipt)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class GatewayClient:
    """A consumer's signed HTTP client for one gateway."""

    def __init__(self, base_url: str, account: LocalAccount, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None, session: bool = False) -> None:
        """``session=True``: sign one ``POST /session`` and send its bearer token on later calls
        (renewed shortly before it expires) instead of signing every call."""
        self.base_url = base_url.rstrip("/")
        self.account = account
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self._eip712: dict[str, Any] | None = None
        self.use_session = session
        self._session: dict[str, Any] | None = None

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def __enter__(self) -> "GatewayClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- public reads ----------------------------------------------------------------------

    def eip712(self) -> dict[str, Any]:
        """The gateway's published EIP-712 domains, types and call fields (read once, then cached)."""
        if self._eip712 is None:
            self._eip712 = self._json(self.http.get("/eip712"))
        return self._eip712

    def domain(self) -> tuple[int, str]:
        """(chain id, UsageGrants address) of the grant-request domain."""
        d = self.eip712()["grantRequest"]["domain"]
        return int(d["chainId"]), str(d["verifyingContract"])

    def gateway_domain(self) -> GatewayDomain:
        """What calls to this gateway bind (chain, contract, provider, gateway id), as published."""
        try:
            return GatewayDomain.from_eip712(self.eip712())
        except (KeyError, TypeError, ValueError) as exc:
            raise GatewayClientError(200, "bad_eip712", f"{self.base_url}/eip712 does not describe a TDS "
                                     f"gateway of this version (missing {exc}): upgrade the gateway or the client")

    def catalog(self, per_page: int = CATALOG_PAGE) -> dict[str, Any]:
        """The whole DCAT catalog: every page of ``GET /catalog`` (``per_page`` items each), following
        ``hydra:next``, merged into one document (``dcat:dataset`` and ``dcat:service`` of all pages,
        ``hydra:totalItems``; no ``hydra:view`` or ``tds:facets``). Items registered while the pages are
        read may be missed (newest come first); none is listed twice."""
        doc = self.search_catalog(per_page=per_page)
        merged = {k: v for k, v in doc.items() if k not in ("hydra:view", "tds:facets")}
        seen = {node.get("@id") for key in ("dcat:dataset", "dcat:service") for node in merged.get(key, [])}
        for _ in range(int(doc.get("hydra:totalItems", 0)) // per_page + 1):  # bounded, whatever the links say
            target = _next_page(doc)
            if target is None:
                break
            doc = self._json(self.http.get("/catalog", params=target))
            for key in ("dcat:dataset", "dcat:service"):
                fresh = [node for node in doc.get(key, []) if node.get("@id") not in seen]
                seen.update(node.get("@id") for node in fresh)
                merged[key] = [*merged.get(key, []), *fresh]
        return merged

    def search_catalog(self, q: str = "", *, kind: str | None = None, provider: str | None = None,
                       purpose: str | None = None, jurisdiction: str | None = None, price_model: str | None = None,
                       page: int = 1, per_page: int = 20) -> dict[str, Any]:
        """One page of ``GET /catalog`` searched and filtered (see the route's description): the DCAT
        document with ``hydra:totalItems``, ``hydra:view`` (first/previous/next/last links) and ``tds:facets``."""
        params = {"q": q, "kind": kind, "provider": provider, "purpose": purpose, "jurisdiction": jurisdiction,
                  "price_model": price_model, "page": page, "per_page": per_page}
        return self._json(self.http.get("/catalog", params={k: v for k, v in params.items() if v not in (None, "")}))

    def asset(self, asset_id: str) -> dict[str, Any]:
        """One dataset document."""
        return self._json(self.http.get(f"/assets/{asset_id}"))

    # ---- signed calls ---------------------------------------------------------------------------

    def signed_headers(self, method: str, target: str, body: bytes = b"") -> dict[str, str]:
        """X-TDS-* headers for one call (``target`` = path plus ``?query``)."""
        return sign_call(self.account, self.gateway_domain(), method, target, body)

    def open_session(self, ttl_s: int | None = None) -> dict[str, Any]:
        """Sign ``POST /session``; returns ``{token, token_type, address, expires_at, expires_in}``."""
        body = json.dumps({"ttl_s": ttl_s}).encode() if ttl_s else b""
        headers = {**self.signed_headers("POST", "/session", body), "Content-Type": "application/json"}
        self._session = self._json(self.http.post("/session", content=body, headers=headers))
        return self._session

    def auth_headers(self, method: str, target: str, body: bytes = b"") -> dict[str, str]:
        """Bearer session headers when sessions are on (opening/renewing one as needed), else signed headers."""
        if not self.use_session:
            return self.signed_headers(method, target, body)
        if self._session is None or self._session["expires_at"] - time.time() < 15:
            self.open_session()
        assert self._session is not None
        return {"Authorization": f"Bearer {self._session['token']}"}

    def build_request(
        self,
        asset_id: str,
        purpose: str,
        max_count: int | None = None,
        duration_s: int = 86400,
        not_before: int | None = None,
    ) -> GrantRequest:
        """A GrantRequest fitting the asset's offered policy (window, count cap, price) and agreeing to
        that policy's epoch (the gateway and UsageGrants refuse it once the policy has changed)."""
        offer = _offer(self.asset(asset_id))
        now = int(time.time())
        start = not_before if not_before is not None else max(offer["not_before"], now - 60)
        end = start + duration_s if not offer["not_after"] else min(start + duration_s, offer["not_after"])
        count = max_count or offer["max_count"] or 1
        return GrantRequest(asset_id.lower(), str(self.account.address), purpose, start, end, count,
                            offer["price"], secrets.randbits(64), now + 600, offer["epoch"])

    def request_grant(
        self, asset_id: str, purpose: str, max_count: int | None = None, duration_s: int = 86400
    ) -> dict[str, Any]:
        """Sign a grant request and POST it; returns the grant (state ``issued`` or ``pending``)."""
        return self.submit_grant(self.build_request(asset_id, purpose, max_count, duration_s))

    def submit_grant(self, request: GrantRequest, signature: str | None = None) -> dict[str, Any]:
        """POST an already-built request (signed here unless ``signature`` is given)."""
        chain_id, contract = self.domain()
        signature = signature or sign_grant_request(self.account, chain_id, contract, request)
        body = json.dumps({"request": request.to_json(), "signature": signature}).encode()
        headers = {**self.auth_headers("POST", "/grants", body), "Content-Type": "application/json"}
        return self._json(self.http.post("/grants", content=body, headers=headers))

    def get_signed(self, target: str) -> httpx.Response:
        """A signed GET (receipts, proofs, exports); raises GatewayClientError on a refusal."""
        resp = self.http.get(target, headers=self.signed_headers("GET", target))
        _raise_for_error(resp)
        return resp

    def grant(self, grant_id: str) -> dict[str, Any]:
        """A grant's state."""
        target = f"/grants/{grant_id}"
        return self._json(self.http.get(target, headers=self.auth_headers("GET", target)))

    def fetch(
        self,
        asset_id: str,
        out: str | Path,
        grant_id: str | None = None,
        purpose: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> FetchResult:
        """Download an asset to ``out`` (atomically), verifying its SHA-256 against the asset id.

        ``progress(done, total)`` is called as bytes arrive. Nothing is left at ``out`` on failure.
        """
        url = httpx.URL(f"{self.base_url}/assets/{asset_id}/data",
                        params={k: v for k, v in (("grant", grant_id), ("purpose", purpose)) if v})
        target = url.raw_path.decode("ascii")
        out = Path(out)
        tmp = out.with_name(f".{out.name}.part-{os.getpid()}")
        h = hashlib.sha256()
        try:
            with self.http.stream("GET", url, headers=self.auth_headers("GET", target)) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    self._json(resp)
                total = int(resp.headers.get("content-length", 0))
                done = 0
                with open(tmp, "wb") as f:
                    for chunk in resp.iter_bytes(1 << 20):
                        f.write(chunk)
                        h.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
                claimed = resp.headers.get("x-content-sha256", "").lower().removeprefix("0x")
                grant = resp.headers.get("x-tds-grant", "")
                receipt = resp.headers.get("x-tds-receipt")
            digest = h.hexdigest()
            if digest != asset_id.lower().removeprefix("0x") or digest != claimed:
                raise IntegrityError(200, "hash_mismatch",
                                     f"received bytes hash to {digest}, expected {asset_id} (gateway said {claimed})")
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        return FetchResult(out, done, "0x" + digest, grant, receipt)

    # ---- data services -------------------------------------------------------------------------

    def call(
        self,
        service_id: str,
        path: str,
        method: str = "GET",
        *,
        body: bytes | None = None,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        grant_id: str | None = None,
        purpose: str | None = None,
    ) -> CallResult:
        """Call a service's ``path`` through the gateway (one use of the grant; connections are reused, and
        with ``session=True`` no call is signed but the session's).

        The service's own answer is returned whatever its status (4xx included); a refusal by the gateway
        or a failed backend (502/504, not charged) raises GatewayClientError. IntegrityError when the body
        does not hash to the X-Content-SHA256 the gateway sent.
        """
        method = method.upper()
        url = httpx.URL(f"{self.base_url}/services/{service_id}/{path.lstrip('/')}", params=params)
        target = url.raw_path.decode("ascii")
        content = body if body is not None else json.dumps(json_body).encode() if json_body is not None else b""
        signed = b"" if method in ("GET", "HEAD") else content
        sent = {**(headers or {}), **self.auth_headers(method, target, signed)}
        if json_body is not None:
            sent.setdefault("Content-Type", "application/json")
        if grant_id:
            sent["X-TDS-Grant"] = grant_id
        if purpose:
            sent["X-TDS-Purpose"] = purpose
        resp = self.http.request(method, url, content=content or None, headers=sent)
        receipt = resp.headers.get("x-tds-receipt")
        if receipt is None:  # not the service's answer: the gateway refused or the backend failed
            _raise_for_error(resp)
            raise GatewayClientError(resp.status_code, "no_receipt", "the gateway answered without a receipt")
        digest = "0x" + hashlib.sha256(resp.content).hexdigest()
        claimed = resp.headers.get("x-content-sha256")
        if claimed is not None and claimed.lower() != digest:
            raise IntegrityError(resp.status_code, "hash_mismatch",
                                 f"the answer hashes to {digest}, the gateway said {claimed}")
        return CallResult(resp.status_code, resp.headers, resp.content, digest, resp.headers.get("x-tds-grant", ""),
                          receipt, resp.headers.get("x-tds-evidence-sha256"))

    # ---- compute-to-data ----------------------------------------------------

    def submit_job(self, asset_id: str, algorithm_id: str, params: dict[str, Any] | None = None, *,
                   epsilon: float | None = None, grant_id: str | None = None,
                   purpose: str | None = None) -> dict[str, Any]:
        """Submit a compute job (POST /compute/jobs, signed): the job as the gateway answers it (202)."""
        doc: dict[str, Any] = {"asset_id": asset_id, "algorithm": algorithm_id, "params": params or {}}
        if epsilon is not None:
            doc["epsilon"] = epsilon
        if grant_id:
            doc["grant"] = grant_id
        if purpose:
            doc["purpose"] = purpose
        body = json.dumps(doc).encode()
        headers = {**self.auth_headers("POST", "/compute/jobs", body), "Content-Type": "application/json"}
        return self._json(self.http.post("/compute/jobs", content=body, headers=headers))

    def job(self, job_id: str, logs: bool = False, wait_s: float = 0) -> dict[str, Any]:
        """A job's state, exit status, resource use (and with ``logs`` its log tail). With ``wait_s`` (at most
        30), the gateway answers once the job ended or after that many seconds (long polling)."""
        query = [*(["logs=true"] if logs else []), *([f"wait={wait_s:g}"] if wait_s > 0 else [])]
        target = f"/compute/jobs/{job_id}" + ("?" + "&".join(query) if query else "")
        timeout = httpx.Timeout(self.http.timeout.read + wait_s if self.http.timeout.read else None,
                                connect=self.http.timeout.connect)
        return self._json(self.http.get(target, headers=self.auth_headers("GET", target), timeout=timeout))

    def wait_job(self, job_id: str, timeout_s: float = 600.0) -> dict[str, Any]:
        """Wait until a job ends (long polls of up to 20 s each), or ``timeout_s`` passes: TimeoutError."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            job = self.job(job_id, wait_s=round(min(20.0, max(left, 0.0)), 3))
            if job["state"] not in ("queued", "running"):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job['state']} after {timeout_s:g} s")

    def job_result(self, job_id: str) -> bytes:
        """A succeeded job's released result, checked against the X-Content-SHA256 the gateway sent."""
        target = f"/compute/jobs/{job_id}/result"
        resp = self.http.get(target, headers=self.auth_headers("GET", target))
        _raise_for_error(resp)
        digest = "0x" + hashlib.sha256(resp.content).hexdigest()
        if resp.headers.get("x-content-sha256", "").lower() != digest:
            raise IntegrityError(resp.status_code, "hash_mismatch", f"the result hashes to {digest}, the gateway "
                                 f"said {resp.headers.get('x-content-sha256')}")
        return resp.content

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job."""
        target = f"/compute/jobs/{job_id}/cancel"
        return self._json(self.http.post(target, headers=self.auth_headers("POST", target)))

    def receipt(self, receipt_id: str) -> dict[str, Any]:
        """A receipt and its state (GET /receipts/{id}); a call's has its evidence under ``call``."""
        return dict(self.get_signed(f"/receipts/{receipt_id}").json())

    def proof(self, receipt_id: str) -> dict[str, Any]:
        """A sealed receipt's proof document (GET /receipts/{id}/proof)."""
        return dict(self.get_signed(f"/receipts/{receipt_id}/proof").json())

    def _json(self, resp: httpx.Response) -> dict[str, Any]:
        _raise_for_error(resp)
        return dict(resp.json())


def _next_page(doc: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The query of a catalog page's ``hydra:next`` link (asked of this client's gateway, whatever host the
    link names), or None on the last page."""
    view = doc.get("hydra:view")
    link = view.get("hydra:next") if isinstance(view, dict) else None
    if not isinstance(link, str):
        return None
    return parse_qsl(urlsplit(link).query, keep_blank_values=True)


def _raise_for_error(resp: httpx.Response) -> None:
    """GatewayClientError with the gateway's stable code for a 4xx/5xx answer."""
    if resp.status_code < 400:
        return
    try:
        err = resp.json()["error"]
        code, message = str(err["code"]), str(err["message"])
    except (ValueError, KeyError, TypeError):
        raise GatewayClientError(resp.status_code, "http_error", resp.text[:200]) from None
    raise GatewayClientError(resp.status_code, code, message)


def _offer(dataset: dict[str, Any]) -> dict[str, int]:
    """Window, count cap, price and policy epoch from a dataset's ODRL offer (read by
    :func:`domain.odrl.offered_policy`)."""
    policy = offered_policy(dataset)
    if policy is None:
        return {"not_before": 0, "not_after": 0, "max_count": 0, "price": 0, "epoch": 0}
    return {"not_before": policy.not_before, "not_after": policy.not_after, "max_count": policy.max_count,
            "price": policy.price_per_access, "epoch": policy.epoch}
