"""The notary over a real anvil and real gateway HTTP: receipts, sealing, anchoring, proofs, crashes, bulk assets.

Every proof is checked three ways: ``notary.proofs.verify_offline``, ``AnchorRegistry.verifyInclusion(provider, ...)``
on-chain, and ``StandardMerkleTree.verify`` of the ``@openzeppelin/merkle-tree`` JS package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from chain.contracts import AnchorsClient
from domain.types import Policy, Role
from anchoring.folder import AnchoredAssets, anchor_assets, folder_assets
from anchoring.ledger import receipt_id_of
from anchoring.notary import Notary
from anchoring.worker import NotaryWorker
from gateway.app import create_app
from chain.eip712 import sign_call
from gateway.db import Database
from notary.proofs import ProofDocument, verify_offline
from tests.integration.gateway_fixtures import CREDENTIAL, GatewayEnv, _start_server, build_env, free_port

pytestmark = pytest.mark.integration

ROOT_DIR = Path(__file__).resolve().parents[2]
OPEN = Policy(purposes=("research",), jurisdictions=("DE",), max_count=50)
JS_VERIFY = """
const {StandardMerkleTree} = require('@openzeppelin/merkle-tree');
const docs = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(docs.map(d => StandardMerkleTree.verify(d.root, d.leaf_encoding, d.values, d.proof))));
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayEnv]:
    """The gateway fixture with an onboarded auditor and no notary thread (tests seal and anchor by hand)."""
    home = tmp_path_factory.mktemp("notary-home")
    e = build_env(home)
    try:
        e.devnet.fund(e.keystore.create("auditor"))
        e.operator().onboard(e.keystore.address("auditor"), Role.AUDITOR, "FR", CREDENTIAL)
        e.settings = replace(e.settings, notary_interval_s=0)
        e.gateway.settings = e.settings
        app = create_app(e.settings, e.gateway)
        e.server = _start_server(app, e.settings.port)
        e.server._tds_app = app  # type: ignore[attr-defined]
        yield e
    finally:
        if e.server is not None:
            e.server.should_exit = True
            e.server._tds_thread.join(timeout=10)
        e.devnet.stop()


@pytest.fixture(scope="module")
def notary(env: GatewayEnv) -> Notary:
    """The notary the served app uses."""
    return env.server._tds_app.state.notary  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def asset(env: GatewayEnv) -> dict[str, str]:
    """An open asset with an issued grant (count 50) for `consumer`."""
    reg = env.new_asset(OPEN, size=10_000)
    with env.client("consumer") as c:
        grant = c.request_grant(reg.asset_id, "research", max_count=50)
    return {"asset": reg.asset_id, "grant": grant["grant_id"]}


def signed_get(env: GatewayEnv, who: str, target: str) -> httpx.Response:
    gw = env.gateway
    return httpx.get(env.url + target, headers=sign_call(env.account(who), gw.domain, "GET", target))


def fetch(env: GatewayEnv, asset: dict[str, str], tmp: Path, who: str = "consumer", times: int = 1) -> None:
    with env.client(who) as c:
        for i in range(times):
            c.fetch(asset["asset"], tmp / f"out-{who}-{i}.bin")


def new_receipt_ids(env: GatewayEnv, since: int) -> list[str]:
    ledger = env.gateway.db.ledger_id
    return [receipt_id_of(r.id, ledger) for r in env.gateway.db.accesses() if (r.id or 0) > since]


def last_access_id(env: GatewayEnv) -> int:
    records = env.gateway.db.accesses()
    return int(records[-1].id or 0) if records else 0


def anchors(env: GatewayEnv) -> AnchorsClient:
    """A read-only AnchorRegistry client on a fresh connection."""
    return AnchorsClient(env.chain())


def events(env: GatewayEnv, root: str) -> int:
    return len(anchors(env).anchored_events(root))


def verify_js(docs: list[ProofDocument]) -> list[bool]:
    out = subprocess.run(["node", "-e", JS_VERIFY], input=json.dumps([d.to_dict() for d in docs]), cwd=ROOT_DIR,
                         capture_output=True, text=True, check=True, timeout=60)
    return list(json.loads(out.stdout))


def verify_three_ways(env: GatewayEnv, docs: list[ProofDocument]) -> None:
    client = anchors(env)
    for doc in docs:
        assert doc.state == "anchored"
        assert doc.chain_id == env.gateway.chain_id and doc.contract == env.gateway.chain.address("AnchorRegistry")
        verify_offline(doc)
        provider = env.gateway.provider_address
        assert doc.provider == provider and doc.anchorer == provider
        assert client.verify_inclusion(provider, doc.root, list(doc.proof), doc.leaf)
        assert client.get(provider, doc.root)["block"] == doc.anchor_block  # type: ignore[index]
    assert verify_js(docs) == [True] * len(docs)


# ---- receipts ----------------------------------------------------------------------------------------------


def test_every_decision_becomes_a_receipt(env: GatewayEnv, notary: Notary, asset: dict[str, str],
                                          tmp_path: Path) -> None:
    notary.seal_all()
    since = last_access_id(env)
    fetch(env, asset, tmp_path, times=2)
    assert httpx.get(f"{env.url}/assets/{asset['asset']}/data").status_code == 401  # unsigned: no record
    assert signed_get(env, "outsider", f"/assets/{asset['asset']}/data").status_code == 403  # no member: none
    assert signed_get(env, "consumer2", f"/assets/{asset['asset']}/data").status_code == 403  # a member: a deny
    ids = new_receipt_ids(env, since)
    assert len(ids) == 3
    states = [signed_get(env, "auditor", f"/receipts/{rid}").json() for rid in ids]
    assert [s["state"] for s in states] == ["pending"] * 3
    assert [s["receipt"]["decision"] for s in states] == ["allow", "allow", "deny"]
    assert states[2]["consumer_did"] == f"did:pkh:eip155:{env.gateway.chain_id}:{env.keystore.address('consumer2')}"
    allow = states[0]["receipt"]
    assert allow["grant_id"] == asset["grant"] and allow["asset_id"] == asset["asset"]
    assert allow["content_hash"] == asset["asset"] and allow["byte_count"] == 10_000
    assert allow["purpose"] == "research"  # the grant's: the access declared none
    assert allow["consumer"] == env.keystore.address("consumer")
    mine = signed_get(env, "consumer", f"/receipts?grant={asset['grant']}&after={since}").json()["receipts"]
    assert [r["receipt"]["receipt_id"] for r in mine] == ids[:2]
    everyone = signed_get(env, "auditor", f"/receipts?after={since}").json()["receipts"]
    assert [r["receipt"]["receipt_id"] for r in everyone] == ids
    pending = signed_get(env, "consumer", f"/receipts/{ids[0]}/proof")
    assert pending.status_code == 404 and "pending" in pending.json()["error"]["message"]


def test_seal_then_anchor_proof_verifies_three_ways(env: GatewayEnv, notary: Notary, asset: dict[str, str],
                                                    tmp_path: Path) -> None:
    notary.seal_all()
    notary.anchor_sealed()
    since = last_access_id(env)
    fetch(env, asset, tmp_path, times=3)
    rid = new_receipt_ids(env, since)[-1]
    (sealed,) = notary.seal_all()
    assert sealed.leaf_count == 3
    accepted = signed_get(env, "consumer", f"/receipts/{rid}/proof").json()
    assert accepted["state"] == "accepted" and accepted["root"] == sealed.root
    assert accepted["anchor_tx"] is None and accepted["anchor_block"] is None
    verify_offline(ProofDocument.from_dict(accepted))
    provider = env.gateway.provider_address
    assert not anchors(env).verify_inclusion(provider, sealed.root, accepted["proof"], accepted["leaf"])  # not yet
    (done,) = notary.anchor_sealed()
    assert done.sent and done.root == sealed.root
    doc = ProofDocument.from_dict(signed_get(env, "consumer", f"/receipts/{rid}/proof").json())
    assert doc.anchor_tx == done.anchor_tx and doc.anchor_block == done.anchor_block
    verify_three_ways(env, [doc])
    status = signed_get(env, "consumer", f"/receipts/{rid}").json()
    assert status["state"] == "anchored" and status["root"] == sealed.root
    assert notary.anchor_sealed() == []  # nothing left: no second tx
    assert events(env, sealed.root) == 1


def test_receipts_export_is_the_auditor_file_format(env: GatewayEnv, notary: Notary, asset: dict[str, str],
                                                   tmp_path: Path) -> None:
    from audit.receipts import parse_line

    fetch(env, asset, tmp_path)
    notary.seal_all()
    notary.anchor_sealed()
    fetch(env, asset, tmp_path)  # stays pending: proof null
    resp = signed_get(env, "auditor", "/receipts/export")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/x-ndjson")
    entries = [parse_line(line) for line in resp.text.splitlines()]
    assert len(entries) == env.gateway.db.count_accesses()
    assert entries[-1].proof is None
    anchored = [e for e in entries if e.proof is not None]
    assert anchored and all(e.proof_problem() is None and e.proof.state == "anchored" for e in anchored)
    assert signed_get(env, "provider", "/receipts/export").status_code == 200


def test_proof_refused_to_others(env: GatewayEnv, notary: Notary, asset: dict[str, str], tmp_path: Path) -> None:
    since = last_access_id(env)
    fetch(env, asset, tmp_path)
    rid = new_receipt_ids(env, since)[0]
    notary.seal_all()
    target = f"/receipts/{rid}/proof"
    other = signed_get(env, "consumer2", target)
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert signed_get(env, "consumer2", f"/receipts/{rid}").status_code == 404
    assert httpx.get(env.url + target).status_code == 401
    assert signed_get(env, "outsider", target).json()["error"]["code"] == "not_member"
    assert signed_get(env, "suspended", target).json()["error"]["code"] == "participant_suspended"
    assert signed_get(env, "consumer2", "/receipts/export").json()["error"]["code"] == "access_denied"
    assert signed_get(env, "consumer2", f"/receipts?after={since}").json()["receipts"] == []
    assert signed_get(env, "consumer", target).status_code == 200
    assert signed_get(env, "auditor", target).status_code == 200
    assert signed_get(env, "auditor", f"/receipts/{receipt_id_of(999999999, env.gateway.db.ledger_id)}").status_code == 404
    assert signed_get(env, "auditor", "/receipts/nonsense/proof").status_code == 404


# ---- crashes and retries -------------------------------------------------------------------------------------

CRASH_AFTER_SEAL = """
import os, sys
from pathlib import Path
from chain.client import Chain
from chain.settings import ChainSettings
from anchoring.notary import Notary
from gateway.db import Database
home, rpc, db_url = sys.argv[1:4]
chain = Chain.connect(ChainSettings(home=Path(home), rpc_url=rpc))
notary = Notary(Database.connect(db_url).engine, None, chain_id=chain.chain_id,
                contract=chain.address("AnchorRegistry"))
batch = notary.seal_pending()
print(batch.root, flush=True)
os._exit(9)  # dies before anchoring, without any cleanup
"""


def fresh_notary(env: GatewayEnv) -> Notary:
    """A new notary as after a restart: new engine, new chain connection, new signer."""
    chain = env.chain()
    sender = chain.sender(env.account("provider"))
    return Notary(Database.connect(env.settings.database_url).engine, AnchorsClient(chain, sender),
                  chain_id=chain.chain_id, contract=chain.address("AnchorRegistry"))


def test_crash_between_sealing_and_anchoring(env: GatewayEnv, notary: Notary, asset: dict[str, str],
                                             tmp_path: Path) -> None:
    notary.seal_all()
    notary.anchor_sealed()
    since = last_access_id(env)
    fetch(env, asset, tmp_path, times=2)
    # "crash before sealing": nothing batched them yet; a separate process seals, then dies before anchoring
    proc = subprocess.run([sys.executable, "-c", CRASH_AFTER_SEAL, str(env.home), env.chain_settings.rpc_url,
                           env.settings.database_url], cwd=ROOT_DIR, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT_DIR)})
    assert proc.returncode == 9, proc.stderr
    root = proc.stdout.strip()
    rid = new_receipt_ids(env, since)[0]
    assert signed_get(env, "consumer", f"/receipts/{rid}").json()["state"] == "accepted"
    assert anchors(env).get(env.gateway.provider_address, root) is None and events(env, root) == 0
    restarted = fresh_notary(env)
    (done,) = restarted.anchor_sealed()
    assert done.sent and done.root == root
    assert fresh_notary(env).anchor_sealed() == [] and notary.anchor_sealed() == []
    assert events(env, root) == 1
    doc = ProofDocument.from_dict(signed_get(env, "consumer", f"/receipts/{rid}/proof").json())
    verify_three_ways(env, [doc])


class Crash(BaseException):
    """The process dies (not an Exception: nothing catches it)."""


class CrashAfterSend(AnchorsClient):
    """Sends the anchor tx, then the process 'dies' before the notary records it."""

    def anchor(self, root: str, leaf_count: int, kind: int) -> Any:
        self.sent = super().anchor(root, leaf_count, kind)
        raise Crash()


def test_crash_after_anchor_tx_is_healed_from_the_chain(env: GatewayEnv, notary: Notary,
                                                        asset: dict[str, str], tmp_path: Path) -> None:
    notary.seal_all()
    notary.anchor_sealed()
    fetch(env, asset, tmp_path)
    (sealed,) = notary.seal_all()
    chain = env.chain()
    crashing = CrashAfterSend(chain, chain.sender(env.account("provider")))
    doomed = Notary(env.gateway.db.engine, crashing, chain_id=chain.chain_id,
                    contract=chain.address("AnchorRegistry"))
    with pytest.raises(Crash):
        doomed.anchor_sealed()
    real_tx = crashing.sent["transactionHash"].to_0x_hex()
    assert events(env, sealed.root) == 1
    (healed,) = fresh_notary(env).anchor_sealed()
    assert not healed.sent  # found on-chain, nothing re-sent
    assert (healed.anchor_tx, healed.anchor_block) == (real_tx, int(crashing.sent["blockNumber"]))
    assert events(env, sealed.root) == 1
    # a retry after success sends nothing either
    assert notary.anchor_sealed() == []
    again = fresh_notary(env)
    from anchoring.notary import anchor_once

    assert not anchor_once(again.anchors, sealed.root, sealed.leaf_count, AnchorsClient.KIND_RECEIPTS).sent  # type: ignore[arg-type]
    assert events(env, sealed.root) == 1


# ---- sealing on size and on time -------------------------------------------------------------------------------


def test_worker_seals_on_size_then_on_time(env: GatewayEnv, notary: Notary, asset: dict[str, str],
                                           tmp_path: Path) -> None:
    notary.seal_all()
    notary.anchor_sealed()
    fetch(env, asset, tmp_path, times=5)
    worker = NotaryWorker(notary, batch_size=2, interval_s=3600)
    other = NotaryWorker(notary, batch_size=1, interval_s=0.1)  # e.g. a second gateway worker process
    try:
        now = time.time()
        worker.tick(now)
        assert notary.pending()[0] == 1  # two full batches of 2; the last one waits for its time
        assert notary.anchor_sealed() == []  # tick anchored both
        other.tick()
        assert notary.pending()[0] == 1  # `worker` holds the lease: `other` does nothing
        worker.tick(now + 3601)
        assert notary.pending()[0] == 0
    finally:
        worker.stop()
    fetch(env, asset, tmp_path)
    other.tick()  # released: the other process takes over
    assert notary.pending()[0] == 0
    other.stop()


def test_gateway_thread_anchors_by_itself(env: GatewayEnv, asset: dict[str, str], tmp_path: Path) -> None:
    """A second gateway app on the same database with the notary thread on (0.3 s; embedded use)."""
    from gateway.service import Gateway

    settings = replace(env.settings, port=free_port(), notary_interval_s=0.3, notary_mode="thread")
    gw = Gateway.open(settings, env.chain_settings)
    server = _start_server(create_app(settings, gw), settings.port)
    try:
        since = last_access_id(env)
        fetch(env, asset, tmp_path)
        rid = new_receipt_ids(env, since)[0]
        deadline = time.monotonic() + 20
        state = ""
        while time.monotonic() < deadline and state != "anchored":
            time.sleep(0.2)
            state = signed_get(env, "consumer", f"/receipts/{rid}").json()["state"]
        assert state == "anchored"
    finally:
        server.should_exit = True
        server._tds_thread.join(timeout=10)


# ---- bulk asset anchoring ----------------------------------------------------------------------------------------


def test_bulk_anchor_50_assets_in_one_transaction(env: GatewayEnv, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    for i in range(50):
        (folder / ("sub" if i % 5 == 0 else "") / f"f{i:02}.bin").write_bytes(os.urandom(100 + i))
    files = folder_assets(folder)
    assert len(files) == 50
    chain = env.chain()
    client = AnchorsClient(chain, chain.sender(env.account("provider")))
    block_before = env.block_number()
    done: AnchoredAssets = anchor_assets(client, list(files.values()))
    assert done.sent and done.leaf_count == 50 and len(done.proofs) == 50
    assert env.block_number() == block_before + 1  # one transaction
    assert events(env, done.root) == 1
    anchor = client.get(env.gateway.provider_address, done.root)
    assert anchor is not None and anchor["kind"] == AnchorsClient.KIND_ASSETS and anchor["leaf_count"] == 50
    docs = [done.proofs[h] for h, _size in files.values()]
    assert all(d.kind == "asset" and list(d.values) == [h, str(size)] for d, (h, size) in zip(docs, files.values()))
    verify_three_ways(env, docs)
    again = anchor_assets(client, list(files.values()))  # a retry: same root, nothing sent
    assert not again.sent and again.anchor_tx == done.anchor_tx and again.proofs == done.proofs
    assert events(env, done.root) == 1


def test_auditor_cli_fetches_and_verifies_a_proof_and_anchors_a_folder(
    env: GatewayEnv, notary: Notary, asset: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`tds audit receipts|proof|verify-proof` and `tds asset anchor-folder` as an auditor would run them."""
    from cli.main import main as tds

    monkeypatch.setenv("TDS_RPC_URL", env.devnet.rpc_url)
    home = ["--home", str(env.home)]
    with env.client("consumer") as c:
        fetched = c.fetch(asset["asset"], tmp_path / "cli.bin")
    assert fetched.receipt_id is not None
    notary.seal_all()
    notary.anchor_sealed()

    capsys.readouterr()
    assert tds([*home, "--as", "auditor", "audit", "receipts", "--gateway", env.url, "-o",
                str(tmp_path / "r.jsonl")]) == 0
    exported = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert fetched.receipt_id in {e["receipt"]["receipt_id"] for e in exported}
    proof_file = tmp_path / "proof.json"
    assert tds([*home, "--as", "auditor", "audit", "proof", fetched.receipt_id, "--gateway", env.url,
                "-o", str(proof_file)]) == 0
    assert json.loads(proof_file.read_text())["state"] == "anchored"
    assert tds([*home, "audit", "verify-proof", str(proof_file)]) == 0
    assert "valid" in capsys.readouterr().out

    # a consumer may not read someone else's receipt through the CLI either
    with env.client("consumer2") as c2:
        other = c2.http.get(f"/receipts/{fetched.receipt_id}/proof",
                            headers=c2.signed_headers("GET", f"/receipts/{fetched.receipt_id}/proof"))
    assert other.status_code == 404

    folder = tmp_path / "folder"
    folder.mkdir()
    for i in range(5):
        (folder / f"f{i}.csv").write_bytes(os.urandom(100 + i))
    capsys.readouterr()
    assert tds([*home, "asset", "anchor-folder", str(folder), "-o", str(tmp_path / "proofs"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["files"] == 5 and result["sent"] is True
    assert tds([*home, "audit", "verify-proof", str(tmp_path / "proofs" / "f3.csv.proof.json")]) == 0
    capsys.readouterr()
    assert tds([*home, "asset", "anchor-folder", str(folder), "--json"]) == 0  # again: nothing sent
    assert json.loads(capsys.readouterr().out)["sent"] is False


def test_a_notary_killed_mid_run_is_replaced_without_waiting_for_its_lease(
    env: GatewayEnv, asset: dict[str, str], tmp_path: Path,
) -> None:
    """SIGKILL the notary process holding the lease (30 s): the next one takes over at once and anchors."""
    import signal

    settings = replace(env.settings, notary_interval_s=0.2, notary_mode="process").notary()
    child_env = {**os.environ, **settings.to_env(), "PYTHONPATH": str(ROOT_DIR),
                 "TDS_RPC_URL": env.devnet.rpc_url}
    cmd = [sys.executable, "-m", "anchoring.process", "--log-level", "warning"]

    def holder() -> str:
        with env.gateway.db.engine.connect() as conn:
            return str(conn.exec_driver_sql("SELECT holder, until FROM notary_lease WHERE id = 1").first())

    first = subprocess.Popen(cmd, env=child_env, cwd=ROOT_DIR)
    try:
        deadline = time.monotonic() + 30
        while f"/{first.pid}/" not in holder() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"/{first.pid}/" in holder()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    since = last_access_id(env)
    fetch(env, asset, tmp_path)
    rid = new_receipt_ids(env, since)[0]
    second = subprocess.Popen(cmd, env=child_env, cwd=ROOT_DIR)
    try:
        started = time.monotonic()
        state = ""
        while state != "anchored" and time.monotonic() - started < 20:
            time.sleep(0.2)
            state = signed_get(env, "consumer", f"/receipts/{rid}").json()["state"]
        assert state == "anchored"
        assert time.monotonic() - started < 15  # the dead holder's lease (30 s) was not waited out
        assert f"/{second.pid}/" in holder()
    finally:
        second.terminate()
        second.wait(20)

