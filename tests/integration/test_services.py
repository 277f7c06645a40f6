"""Data services end to end: a real backend process, the real gateway over HTTP, a real devnet.

A service is registered (its OpenAPI description's SHA-256 on-chain, the backend in the gateway's
config), listed as a dcat:DataService, called under a grant until the count is used up, and each call
leaves a receipt whose content hash commits to the answer the consumer got.
"""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from client.sdk import GatewayClientError
from domain.types import Policy
from audit.verify import verify_proof
from notary.calls import call_evidence, evidence_digest
from notary.proofs import ProofDocument
from tests.integration.gateway_fixtures import gw_env  # noqa: F401  (fixture)
from tests.integration.service_fixtures import ServiceEnv, svc_env  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
POLICY = Policy(purposes=("research",), jurisdictions=("DE",), max_count=10)


def test_registered_service_is_in_the_catalog_with_its_description(svc_env: ServiceEnv) -> None:
    reg = svc_env.new_service(POLICY)
    desc = httpx.get(f"{svc_env.gw.url}/services/{reg.asset_id}")
    assert desc.status_code == 200
    assert "0x" + hashlib.sha256(desc.content).hexdigest() == reg.asset_id  # the asset id is the description's hash
    catalog = httpx.get(f"{svc_env.gw.url}/catalog").json()
    services = {s["dct:identifier"]: s for s in catalog["dcat:service"]}
    node = services[reg.asset_id]
    assert node["@type"] == "dcat:DataService"
    assert node["dcat:endpointURL"]["@id"] == f"{svc_env.gw.url}/services/{reg.asset_id}/"
    assert node["dcat:endpointDescription"]["@id"] == f"{svc_env.gw.url}/services/{reg.asset_id}"
    assert node["odrl:hasPolicy"][0]["odrl:permission"]
    assert reg.asset_id not in {d["dct:identifier"] for d in catalog["dcat:dataset"]}
    text = json.dumps(catalog)
    assert svc_env.backend_url not in text and "backend-credential" not in text  # never shown to consumers


def test_calls_until_the_count_is_used_then_refused_with_provable_answers(svc_env: ServiceEnv) -> None:
    service, grant = svc_env.granted_service(POLICY, max_count=3)
    results = []
    with svc_env.gw.client("consumer") as c:
        for _ in range(3):
            r = c.call(service, "/scores/91310000MA1FL0001X")
            assert r.status == 200 and r.json()["score"] == 742
            results.append(r)
        with pytest.raises(GatewayClientError) as refused:
            c.call(service, "/scores/91310000MA1FL0001X")
        assert refused.value.code == "count_exhausted"
        first = results[0]
        assert first.json()["consumer"].endswith(c.account.address)  # the backend got the consumer's DID
        doc = c.receipt(first.receipt_id)
    assert doc["receipt"]["grant_id"] == grant and doc["receipt"]["decision"] == "allow"
    evidence = doc["call"]
    assert evidence["response_sha256"] == first.sha256 and evidence["status"] == 200
    assert evidence["target"] == "/scores/91310000MA1FL0001X" and evidence["method"] == "GET"
    rebuilt = call_evidence("GET", evidence["target"], evidence["request_sha256"], 200, first.sha256, len(first.body))
    assert evidence_digest(rebuilt) == doc["receipt"]["content_hash"] == first.evidence_sha256
    # anchored: the proof's leaf carries that content hash, and it verifies on-chain
    notary = svc_env.gw.gateway.notary()
    notary.seal_all()
    notary.anchor_sealed()
    with svc_env.gw.client("consumer") as c:
        proof = c.proof(first.receipt_id)
    assert proof["values"][8] == first.evidence_sha256  # the leaf's content hash (RECEIPT_LEAF_ENCODING)
    verdict = verify_proof(ProofDocument.from_dict(proof), svc_env.gw.chain())
    assert verdict.valid, verdict.reason
    # the provider's export (an auditor's receipts file) carries each call's evidence beside its receipt
    with svc_env.gw.client("provider") as p:
        lines = [json.loads(line) for line in p.get_signed("/receipts/export").text.splitlines()]
    exported = {line["receipt"]["receipt_id"]: line for line in lines}
    assert exported[first.receipt_id]["call"] == evidence
    assert all(evidence_digest(exported[r.receipt_id]["call"]) == exported[r.receipt_id]["receipt"]["content_hash"]
               for r in results)


def test_a_post_with_a_body_is_signed_forwarded_and_hashed(svc_env: ServiceEnv) -> None:
    service, _grant = svc_env.granted_service(POLICY, max_count=2)
    body = json.dumps({"companies": ["91440300MA5EXAMPLE", "nobody"]}).encode()
    with svc_env.gw.client("consumer") as c:
        r = c.call(service, "/scores", "POST", body=body, headers={"Content-Type": "application/json"})
        assert r.status == 200 and r.json() == {"scores": {"91440300MA5EXAMPLE": 655, "nobody": None}}
        evidence = c.receipt(r.receipt_id)["call"]
    assert evidence["request_sha256"] == "0x" + hashlib.sha256(body).hexdigest()


def test_sessions_reuse_connections_and_sign_nothing_per_call(svc_env: ServiceEnv) -> None:
    service, _grant = svc_env.granted_service(POLICY, max_count=5)
    from client.sdk import GatewayClient

    with GatewayClient(svc_env.gw.url, svc_env.gw.account("consumer"), session=True) as c:
        statuses = [c.call(service, "/scores/91330200MA2DEMO01").status for _ in range(4)]
    assert statuses == [200] * 4


def test_a_backend_4xx_is_the_services_answer_and_is_charged(svc_env: ServiceEnv) -> None:
    service, grant = svc_env.granted_service(POLICY, max_count=2)
    with svc_env.gw.client("consumer") as c:
        r = c.call(service, "/scores/unknown")
        assert r.status == 404 and "unknown company" in r.json()["error"]
    assert svc_env.gw.gateway.db.used(grant) == 1


def test_cli_register_list_and_call_and_a_bad_description_changes_nothing(
        svc_env: ServiceEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main as tds
    from tests.integration.service_fixtures import SECRET_ENV, chaos_description

    monkeypatch.setenv("TDS_RPC_URL", svc_env.gw.devnet.rpc_url)
    home = str(svc_env.gw.home)
    assets_before = len(svc_env.gw.gateway.view.assets.list(provider=svc_env.gw.gateway.provider_address))
    services_before = svc_env.gw.gateway.services.ids()
    bad = svc_env.gw.home / "bad.json"
    bad.write_text(json.dumps({"openapi": "3.1.0", "info": {"title": "no version"}, "paths": {}}))
    policy = json.dumps({"purposes": ["research"], "max_count": 2})
    assert tds(["--home", home, "service", "register", str(bad), "--backend", svc_env.backend_url,
                "--policy", policy]) == 2
    assert "not valid OpenAPI 3" in capsys.readouterr().err
    assert tds(["--home", home, "service", "register", str(bad.with_name("missing.json")), "--backend",
                svc_env.backend_url, "--policy", policy]) == 1
    good = svc_env.gw.home / "cli-service.json"
    good.write_text(json.dumps(chaos_description("9.9.9")))
    assert tds(["--home", home, "service", "register", str(good), "--backend", "ftp://nope", "--policy", policy]) == 2
    assert "http(s) URL" in capsys.readouterr().err
    assert len(svc_env.gw.gateway.view.assets.list(provider=svc_env.gw.gateway.provider_address)) == assets_before
    assert svc_env.gw.gateway.services.ids() == services_before  # nothing on-chain, nothing in the config
    capsys.readouterr()
    assert tds(["--home", home, "service", "register", str(good), "--backend", svc_env.backend_url,
                "--secret-env", SECRET_ENV, "--backend-header", "Authorization: Bearer backend-credential",
                "--rate", "100/minute", "--policy", policy, "--json"]) == 0
    reg = json.loads(capsys.readouterr().out)
    service = reg["asset_id"]
    assert reg["endpoint"].endswith(f"/services/{service}/")  # on the gateway URL of this home's config
    assert tds(["--home", home, "service", "list", "--json"]) == 0
    assert service in capsys.readouterr().out
    with svc_env.gw.client("consumer") as c:
        c.request_grant(service, "research", max_count=2)
    consumer = ["--home", home, "consumer", "--gateway", svc_env.gw.url, "call", service]
    assert tds([*consumer, "/scores/91330200MA2DEMO01"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["score"] == 810 and "receipt rcpt-" in out.err
    assert tds([*consumer, "/scores", "--data", '{"companies": ["91330200MA2DEMO01"]}', "--json"]) == 0
    assert json.loads(json.loads(capsys.readouterr().out)["body"]) == {"scores": {"91330200MA2DEMO01": 810}}
    assert tds([*consumer, "/scores/91330200MA2DEMO01"]) == 4  # the two calls are used: refused (403)
    assert "count_exhausted" in capsys.readouterr().err
