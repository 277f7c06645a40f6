"""The OpenAPI document describes the API a client actually meets.

The attack (on third-party clients): generated clients and fuzzers trust ``/openapi.json``. It
referenced a schema it did not contain (``GrantRequestIn``), documented ``application/json`` where
the catalog answers ``application/ld+json``, gave ids no pattern, declared no security scheme for the
X-TDS-* signature headers or the bearer token, and its 405 answers lacked ``Allow``.

What must hold: every ``$ref`` resolves; media types, id patterns and security schemes are declared;
and a bounded schemathesis run (``--checks all``, every phase, a fixed seed, a consumer's session
token so the data route is reached) against a live gateway on loopback finds nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.types import Policy
from tests.security.conftest import GatewayEnv

pytestmark = pytest.mark.integration

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"  # beside this interpreter (.venv/bin)
MAX_EXAMPLES = int(os.environ.get("TDS_SCHEMATHESIS_EXAMPLES", "25"))
SEED = os.environ.get("TDS_SCHEMATHESIS_SEED", "7")  # fixed: a failure reproduces; set it to explore
TIME_BOUND_S = 120  # hard bound of the subprocess (the run itself takes ~10-20 s)
ID = "^0x[0-9a-fA-F]{64}$"
SIGNED = {"tdsAddress", "tdsGateway", "tdsNonce", "tdsExpiry", "tdsSignature"}
CONFIG = """\
[checks.positive_data_acceptance]
# schema-valid but refused on the merits: a range past the object's end (416), terms that do not
# fit the asset's policy (422 grant_terms_invalid), a limit hit (429)
expected-statuses = ["2xx", "401", "403", "404", "409", "416", "422", "429"]
"""


@pytest.fixture(scope="module")
def doc(gw_env: GatewayEnv) -> dict[str, Any]:
    """The served OpenAPI document."""
    resp = httpx.get(gw_env.url + "/openapi.json")
    assert resp.status_code == 200
    return dict(resp.json())


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"unresolvable $ref {ref}"
        node = node[part]
    return node


def _param(op: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in op["parameters"] if p["name"] == name)


def test_every_ref_resolves(doc: dict[str, Any]) -> None:
    refs = set(_refs(doc))
    assert "#/components/schemas/GrantRequestIn" in refs and "#/components/schemas/GrantSubmission" in refs
    for ref in refs:
        _resolve(doc, ref)


def test_media_types_ids_and_errors_are_documented(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    for path in ("/catalog", "/assets/{asset_id}"):
        assert list(paths[path]["get"]["responses"]["200"]["content"]) == ["application/ld+json"]
    data = paths["/assets/{asset_id}/data"]["get"]
    assert list(data["responses"]["200"]["content"]) == ["application/octet-stream"]
    assert data["responses"]["200"]["headers"]["X-Content-SHA256"]["schema"]["pattern"] == ID
    assert _param(data, "asset_id")["schema"]["pattern"] == ID and _param(data, "grant")["schema"]["pattern"] == ID
    assert _param(paths["/grants/{grant_id}"]["get"], "grant_id")["schema"]["pattern"] == ID
    receipt = _param(paths["/receipts/{receipt_id}"]["get"], "receipt_id")["schema"]["pattern"]
    assert receipt.startswith("^rcpt-") and receipt.endswith("$")
    for path, item in paths.items():
        for method, op in item.items():
            for status, response in op["responses"].items():
                if status[0] in "45":  # every error is the JSON error body, whatever the success media type
                    assert response["content"] == {"application/json": {"schema": {
                        "$ref": "#/components/schemas/ErrorBody"}}}, (method, path, status)
            assert "429" in op["responses"] and "Retry-After" in op["responses"]["429"]["headers"]


def test_security_schemes_are_declared(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert {s["name"] for k, s in schemes.items() if k in SIGNED} == {
        "X-TDS-Address", "X-TDS-Gateway", "X-TDS-Nonce", "X-TDS-Expiry", "X-TDS-Signature"}
    assert all(schemes[k]["type"] == "apiKey" and schemes[k]["in"] == "header" for k in SIGNED)
    assert schemes["sessionToken"] == {**schemes["sessionToken"], "type": "http", "scheme": "bearer"}
    paths = doc["paths"]
    signed_or_session = [{k: [] for k in SIGNED}, {"sessionToken": []}]
    for path, method in (("/grants", "post"), ("/grants/{grant_id}", "get"), ("/assets/{asset_id}/data", "get")):
        assert paths[path][method]["security"] == signed_or_session, path
    for path, method in (("/session", "post"), ("/receipts", "get"), ("/receipts/export", "get"),
                         ("/receipts/{receipt_id}", "get"), ("/receipts/{receipt_id}/proof", "get")):
        assert paths[path][method]["security"] == [{k: [] for k in SIGNED}], path
    for path in ("/health", "/eip712", "/catalog", "/assets/{asset_id}"):
        assert "security" not in paths[path]["get"], path


def test_405_answers_name_the_allowed_methods(gw_env: GatewayEnv) -> None:
    for method, path, allowed in (("DELETE", "/catalog", "GET"), ("PUT", "/grants", "GET, POST"),
                                  ("POST", "/health", "GET")):
        resp = httpx.request(method, gw_env.url + path)
        assert resp.status_code == 405 and resp.headers["allow"] == allowed
        assert resp.json()["error"]["code"] == "method_not_allowed"


@pytest.fixture(scope="module")
def session_token(gw_env: GatewayEnv) -> str:
    """A consumer's session token, with a live grant on an asset of its own (so the data route serves)."""
    reg = gw_env.new_asset(Policy(purposes=("research",), jurisdictions=("DE",), max_count=5000), size=2048)
    with gw_env.client("consumer") as c:
        c.request_grant(reg.asset_id, "research", max_count=5000)
        return str(c.open_session(ttl_s=300)["token"])


@pytest.mark.parametrize("auth", ["anonymous", "session"])
def test_schemathesis_finds_nothing(gw_env: GatewayEnv, session_token: str, tmp_path: Path, auth: str) -> None:
    """Anonymous: schemathesis also generates the X-TDS-* headers (fuzzing their parsing). Session: a
    real bearer token, so authenticated paths are reached (it then generates no security headers: with
    one valid alternative of signed-or-session it would expect a generated signature to be refused)."""
    if not SCHEMATHESIS.exists():
        pytest.skip(f"schemathesis is not installed at {SCHEMATHESIS}: run ./scripts/bootstrap")
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    cmd = [str(SCHEMATHESIS), "--no-color", "--config-file", str(config), "run", f"{gw_env.url}/openapi.json",
           "--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--seed", SEED, "--workers", "1",
           "--generation-database", "none", "--request-timeout", "10", "--max-failures", "20"]
    if auth == "session":
        cmd += ["-H", f"Authorization: Bearer {session_token}", "--generation-with-security-parameters", "false"]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=TIME_BOUND_S, cwd=tmp_path)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"schemathesis did not finish within {TIME_BOUND_S} s: {str(exc.stdout)[-3000:]}")
    out = run.stdout
    summary = out[out.rfind("=== FAILURES"):] if "=== FAILURES" in out else out[-3000:]
    assert run.returncode == 0, summary + run.stderr[-2000:]
    assert "Selected: 12/12" in out or "Tested:" in out, out[-2000:]  # it did test the operations
