"""Data-service test environment: the gateway environment plus a real backend process on loopback
(``examples/credit_api.py --chaos``, every call HMAC-checked), registered as a service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from chain.devspace import free_port
from domain.types import Policy
from gateway.registration import Registration
from gateway.service import register_service
from services.registry import ServiceConfig
from tests.integration.gateway_fixtures import GatewayEnv

ROOT = Path(__file__).resolve().parents[2]
SECRET_ENV = "TDS_TEST_BACKEND_SECRET"


def _op(op_id: str, header: bool = False) -> dict[str, Any]:
    params = [{"name": "X-Request-Id", "in": "header", "required": False, "schema": {"type": "string"}}] if header else []
    return {"operationId": op_id, "parameters": params, "responses": {"200": {"description": "ok"}}}


def chaos_description(version: str = "1.0.0") -> dict[str, Any]:
    """The credit API plus the misbehaving endpoints of ``credit_api.py --chaos``."""
    doc = json.loads((ROOT / "examples" / "credit-api.openapi.json").read_text())
    doc["info"]["version"] = version
    doc["paths"].update({
        "/echo": {"get": _op("echoGet", header=True), "post": _op("echoPost", header=True)},
        "/hang": {"get": _op("hang")}, "/reset": {"get": _op("reset")}, "/garbage": {"get": _op("garbage")},
        "/fail": {"get": _op("fail")},
        "/big/{n}": {"get": {**_op("big"), "parameters": [
            {"name": "n", "in": "path", "required": True, "schema": {"type": "integer"}}]}},
        "/stream/{n}": {"get": {**_op("stream"), "parameters": [
            {"name": "n", "in": "path", "required": True, "schema": {"type": "integer"}}]}},
    })
    return doc


@dataclass
class ServiceEnv:
    """A gateway environment with a backend process registered as services."""

    gw: GatewayEnv
    backend_url: str
    process: subprocess.Popen[bytes]
    made: int = 0

    def hits(self) -> int:
        """Calls that reached the backend process so far."""
        return int(httpx.get(f"{self.backend_url}/_hits", timeout=5).json()["hits"])

    def new_service(self, policy: Policy, *, timeout_s: float = 2.0, max_response_bytes: int = 8 << 20,
                    rate: str = "", backend: str | None = None) -> Registration:
        """Register a fresh service (a new description version, so a new asset id) over the backend."""
        self.made += 1
        path = self.gw.home / f"service-{self.made}.json"
        path.write_text(json.dumps(chaos_description(f"1.0.{self.made}"), indent=1))
        config = ServiceConfig(backend=backend or self.backend_url, secret=f"env:{SECRET_ENV}",
                               headers={"Authorization": "Bearer backend-credential"},
                               timeout_s=timeout_s, max_response_bytes=max_response_bytes, rate=rate)
        return register_service(self.gw.gateway, path, config, policy, title=f"credit API {self.made}")

    def granted_service(self, policy: Policy, max_count: int, who: str = "consumer", **kw: Any) -> tuple[str, str]:
        """A fresh service and a live grant of ``who``: (service id, grant id)."""
        reg = self.new_service(policy, **kw)
        with self.gw.client(who) as c:
            grant = c.request_grant(reg.asset_id, "research", max_count=max_count)
        return reg.asset_id, str(grant["grant_id"])


def start_backend(port: int, secret: str) -> subprocess.Popen[bytes]:
    """``examples/credit_api.py --chaos`` on 127.0.0.1:``port``, ready when this returns."""
    env = {**os.environ, SECRET_ENV: secret}
    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "credit_api.py"), "--port", str(port),
                             "--secret-env", SECRET_ENV, "--chaos"], env=env, stdout=subprocess.DEVNULL)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/_hits", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the test backend did not start")


@pytest.fixture(scope="module")
def svc_env(gw_env: GatewayEnv) -> Iterator[ServiceEnv]:
    """The module's gateway with a real backend process (HMAC secret shared through the environment)."""
    secret = os.urandom(32).hex()
    os.environ[SECRET_ENV] = secret  # the gateway (this process) reads env:TDS_TEST_BACKEND_SECRET per call
    port = free_port()
    proc = start_backend(port, secret)
    try:
        yield ServiceEnv(gw_env, f"http://127.0.0.1:{port}", proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
