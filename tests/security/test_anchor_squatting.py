"""Anchor squatting: anchoring a provider's root first, to block its evidence.

The attack (issue 7, item 1 follow-up): anchors were keyed by root alone. Another provider learns a
gateway's receipts root before it is anchored (from the "accepted" proof documents the gateway serves,
or from the pending transaction) and anchors it first with one ``cast send``. The victim's
``anchorRoot`` then reverted ``AnchorAlreadyAnchored``: its notary took the squatter's anchor for done,
and the receipts under that root never verified (denial of service on evidence). For a folder of asset
hashes, the squatter became "who anchored first".

What must hold: anchors are keyed by (provider, root). The victim's notary still anchors the root (its
own transaction), its receipts verify everywhere (``verifyReceipt`` with ``cast call``, ``tds audit
verify-proof``, ``examples/verify-proof.js --rpc``, ``tds audit check``), and the squatter's anchor
proves nothing for them: a document pointing at it is rejected, ``tds audit check`` only warns about it
(``root_anchored_by_other``), and the gateway does not take it for one of its own roots. An asset
folder squatted the same way is still anchored by its provider, and its proofs name the provider.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.types import Policy
from anchoring.folder import folder_assets
from gateway.reconcile import missing_roots
from notary.proofs import ProofDocument, seal_assets
from tests.integration.gateway_fixtures import GatewayEnv
from tests.security.conftest import ROOT, cast, private_key

pytestmark = pytest.mark.integration

SIG_ANCHOR = "anchorRoot(bytes32,uint40,uint8)"
SIG_GET_ANCHOR = "getAnchor(address,bytes32)((address,uint48,uint40,uint8))"
SIG_VERIFY_RECEIPT = ("verifyReceipt(bytes32,bytes32[],bytes32,bytes32,bytes32,address,bytes32,uint8,uint64,uint64,"
                      "bytes32)(bool)")
ZERO = "0x" + "00" * 20


def registry(env: GatewayEnv) -> str:
    return env.chain().address("AnchorRegistry")


def squat(env: GatewayEnv, root: str, leaves: int, kind: int) -> dict[str, Any]:
    """provider2 anchors ``root`` first, with ``cast send`` (its own key): the mined transaction receipt."""
    sent = cast("send", "--rpc-url", env.devnet.rpc_url, "--private-key", private_key(env, "provider2"),
                registry(env), SIG_ANCHOR, root, str(leaves), str(kind), "--json")
    assert sent.returncode == 0, sent.stderr
    tx: dict[str, Any] = json.loads(sent.stdout)
    assert int(tx["status"], 16) == 1
    return tx


def get_anchor(env: GatewayEnv, provider: str, root: str) -> str:
    return cast("call", "--rpc-url", env.devnet.rpc_url, registry(env), SIG_GET_ANCHOR, provider, root,
                check=True).stdout.strip()


def verify_receipt(env: GatewayEnv, doc: ProofDocument) -> str:
    return cast("call", "--rpc-url", env.devnet.rpc_url, registry(env), SIG_VERIFY_RECEIPT, doc.root,
                "[" + ",".join(doc.proof) + "]", *[str(v) for v in doc.values], check=True).stdout.strip()


def node_verify(path: Path, rpc: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(ROOT / "examples" / "verify-proof.js"), str(path), "--rpc", rpc],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def signed_get(env: GatewayEnv, who: str, target: str) -> httpx.Response:
    return httpx.get(env.url + target, headers=env.sign(who, "GET", target), timeout=30)



@pytest.fixture(scope="module")
def env(gw_env: GatewayEnv) -> GatewayEnv:
    return gw_env


@pytest.fixture(scope="module")
def squatted(env: GatewayEnv) -> dict[str, Any]:
    """Two accesses sealed into one batch; the consumer reads the 'accepted' proof; provider2 anchors that root
    first (as receipts, claiming 99 leaves); then the provider's notary anchors its batch."""
    reg = env.new_asset(Policy(purposes=("research",)), size=1024)
    with env.client("consumer") as c:
        c.request_grant(reg.asset_id, "research", max_count=5)
    target = f"/assets/{reg.asset_id}/data"
    for _ in range(2):
        assert signed_get(env, "consumer", target).status_code == 200
    notary = env.gateway.notary()
    (sealed,) = notary.seal_all()
    rid = next(r.receipt.receipt_id for r in notary.receipts() if r.root == sealed.root)
    accepted = signed_get(env, "consumer", f"/receipts/{rid}/proof").json()
    assert accepted["state"] == "accepted" and accepted["root"] == sealed.root  # what the squatter learns
    tx = squat(env, sealed.root, 99, 1)
    nonce = env.chain().w3.eth.get_transaction_count(env.gateway.provider_address)
    (done,) = notary.anchor_sealed()
    proof = signed_get(env, "consumer", f"/receipts/{rid}/proof").json()
    return {"asset": reg.asset_id, "root": sealed.root, "rid": rid, "accepted": accepted, "squat_tx": tx,
            "done": done, "nonce_before": nonce, "proof": ProofDocument.from_dict(proof)}


def test_the_providers_notary_still_anchors_a_squatted_root(env: GatewayEnv, squatted: dict[str, Any]) -> None:
    provider, squatter = env.gateway.provider_address, env.account("provider2").address
    done, root = squatted["done"], squatted["root"]
    assert done.sent and done.anchorer == provider and done.provider == provider  # its own transaction
    assert env.chain().w3.eth.get_transaction_count(provider) == squatted["nonce_before"] + 1
    block = int(env.chain().transaction_receipt(done.anchor_tx)["blockNumber"])
    assert get_anchor(env, provider, root) == f"({provider}, {block}, 2, 1)"
    squat_block = int(squatted["squat_tx"]["blockNumber"], 16)
    assert get_anchor(env, squatter, root) == f"({squatter}, {squat_block}, 99, 1)"  # a separate anchor
    assert missing_roots(env.gateway) == []  # the squatter's anchor is not taken for one of the gateway's roots
    assert httpx.get(env.url + "/health", timeout=10).status_code == 200


def test_the_providers_receipts_verify_everywhere(env: GatewayEnv, squatted: dict[str, Any], tds: Any,
                                                  tmp_path: Path) -> None:
    doc: ProofDocument = squatted["proof"]
    provider = env.gateway.provider_address
    assert doc.state == "anchored" and doc.anchor_tx == squatted["done"].anchor_tx
    assert doc.anchorer == provider and doc.provider == provider
    assert verify_receipt(env, doc) == "true"
    path = tmp_path / "proof.json"
    path.write_text(doc.to_json())
    code, out, err = tds("audit", "verify-proof", str(path))
    assert code == 0, out + err
    assert f"for {provider}" in out and "verifyReceipt returned true" in out
    online = node_verify(path, env.devnet.rpc_url)
    assert online.returncode == 0, online.stdout + online.stderr
    assert f"for {provider}" in online.stdout and "verifyReceipt returned true" in online.stdout

    export = httpx.get(env.url + "/receipts/export", headers=env.sign("provider", "GET", "/receipts/export"),
                       timeout=30)
    assert export.status_code == 200, export.text
    receipts = tmp_path / "receipts.jsonl"
    receipts.write_text(export.text)
    code, out, err = tds("audit", "check", "--receipts", str(receipts))
    assert code == 0, out + err
    assert not [line for line in out.splitlines() if line.startswith("ERROR")], out
    warning = next(line for line in out.splitlines() if "root_anchored_by_other" in line)
    assert warning.startswith("WARNING") and squatted["root"] in warning and env.account("provider2").address in warning
    code, out, _ = tds("audit", "check", "--receipts", str(receipts), "--json")
    assert code == 0 and json.loads(out)["counted"]["verified_receipts"] == 2


def test_the_squatters_anchor_proves_nothing_for_the_providers_receipts(
        env: GatewayEnv, squatted: dict[str, Any], tds: Any, tmp_path: Path) -> None:
    """A document that points at the squatter's anchor (its tx, block, anchorer) is rejected by every verifier."""
    squatter = env.account("provider2").address
    tx = squatted["squat_tx"]
    accepted = ProofDocument.from_dict(squatted["accepted"])
    pointed = accepted.anchored(chain_id=env.chain().chain_id, contract=registry(env), anchor_tx=tx["transactionHash"],
                                anchor_block=int(tx["blockNumber"], 16), anchorer=squatter,
                                provider=env.gateway.provider_address)
    path = tmp_path / "squatted.json"
    path.write_text(pointed.to_json())
    code, out, err = tds("audit", "verify-proof", str(path), "--json")
    verdict = json.loads(out)
    assert code == 6 and verdict["category"] == "anchor_mismatch", verdict
    assert squatter in verdict["reason"] and "did not anchor root" not in verdict["reason"], verdict["reason"]
    online = node_verify(path, env.devnet.rpc_url)
    assert online.returncode == 6 and squatter in online.stdout, online.stdout + online.stderr


def test_a_root_only_a_squatter_anchored_proves_nothing(env: GatewayEnv, squatted: dict[str, Any], tds: Any,
                                                        tmp_path: Path) -> None:
    """Receipts sealed but not yet anchored by the provider: the squatter's anchor alone makes them no evidence."""
    asset = squatted["asset"]
    assert signed_get(env, "consumer", f"/assets/{asset}/data").status_code == 200
    notary = env.gateway.notary()
    (sealed,) = notary.seal_all()
    rid = next(r.receipt.receipt_id for r in notary.receipts() if r.root == sealed.root)
    accepted = ProofDocument.from_dict(signed_get(env, "consumer", f"/receipts/{rid}/proof").json())
    tx = squat(env, sealed.root, 1, 1)
    squatter, provider = env.account("provider2").address, env.gateway.provider_address
    assert verify_receipt(env, accepted) == "false"
    doc = accepted.anchored(chain_id=env.chain().chain_id, contract=registry(env), anchor_tx=tx["transactionHash"],
                            anchor_block=int(tx["blockNumber"], 16), anchorer=squatter)
    path = tmp_path / "only-squatter.json"
    path.write_text(doc.to_json())
    code, out, err = tds("audit", "verify-proof", str(path))
    assert code == 6 and squatter in err and provider in err and "nor a notary key it registered" in err, out + err
    online = node_verify(path, env.devnet.rpc_url)
    assert online.returncode == 6 and squatter in online.stdout and provider in online.stdout, online.stdout
    (done,) = notary.anchor_sealed()  # the provider anchors it after all: now it is evidence
    assert done.sent and done.provider == provider
    assert verify_receipt(env, notary.proof(rid)) == "true"


def test_a_squatted_asset_folder_is_still_anchored_by_its_provider(env: GatewayEnv, tds: Any, tmp_path: Path) -> None:
    folder = tmp_path / "dataset"
    folder.mkdir()
    for i in range(3):
        (folder / f"part{i}.bin").write_bytes(os.urandom(200 + i))
    chain = env.chain()
    root = seal_assets(list(folder_assets(folder).values()), chain_id=chain.chain_id, contract=registry(env)).root
    squat(env, root, 3, 2)  # provider2 claims the folder first
    provider = env.gateway.provider_address
    code, out, err = tds("--as", "provider", "asset", "anchor-folder", str(folder), "-o", str(tmp_path / "proofs"),
                         "--json")
    assert code == 0, out + err
    done = json.loads(out)
    assert done["sent"] is True and done["root"] == root
    assert get_anchor(env, provider, root) == f"({provider}, {done['block']}, 3, 2)"
    proof = tmp_path / "proofs" / "part1.bin.proof.json"
    doc = ProofDocument.from_json(proof.read_text())
    assert doc.anchorer == provider and doc.provider == provider
    code, out, err = tds("audit", "verify-proof", str(proof))
    assert code == 0 and f"for {provider}" in out, out + err
    online = node_verify(proof, env.devnet.rpc_url)
    assert online.returncode == 0 and f"for {provider}" in online.stdout, online.stdout + online.stderr
    code, out, _ = tds("--as", "provider", "asset", "anchor-folder", str(folder), "--json")  # again: nothing sent
    assert code == 0 and json.loads(out)["sent"] is False and json.loads(out)["tx"] == done["tx"]
