"""Forged receipts: anchoring a root of made-up access receipts and passing it off as evidence.

The attack (issue 7, item 1): any active member called ``AnchorRegistry.anchorRoot`` with the root of
receipts it made up (one ``cast send``), and ``verifyInclusion``, ``tds audit verify-proof`` and
``examples/verify-proof.js`` then reported the forged proof valid, naming the forger as anchorer.

What must hold: only an active provider (or, for receipts, an active notary key a provider registered)
anchors; a receipt is evidence only under a root anchored by the provider of the receipt's asset or a
notary key that provider registered. A root anchored by anyone else is rejected on-chain
(``verifyReceipt`` false), by ``tds audit verify-proof`` (exit 6), by the JS example with ``--rpc``
and by ``tds audit check``, each naming both addresses. A revoked notary key anchors no more, and what
it anchored before stays evidence.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak

from audit.receipts import ReceiptEntry, dump_receipts
from domain.types import Policy
from notary.proofs import ProofDocument, seal
from notary.receipts import Receipt
from tests.integration.gateway_fixtures import GatewayEnv
from tests.security.conftest import ROOT, cast, private_key

SIG_ANCHOR = "anchorRoot(bytes32,uint40,uint8)"
SIG_VERIFY_RECEIPT = ("verifyReceipt(bytes32,bytes32[],bytes32,bytes32,bytes32,address,bytes32,uint8,uint64,uint64,"
                      "bytes32)(bool)")
SIG_VERIFY_INCLUSION = "verifyInclusion(address,bytes32,bytes32[],bytes32)(bool)"
UNAUTHORIZED = "0x" + keccak(text="AnchorUnauthorized(address,uint8)")[:4].hex()


@pytest.fixture(scope="module")
def env(gw_env: GatewayEnv) -> GatewayEnv:
    return gw_env


@pytest.fixture(scope="module")
def asset(env: GatewayEnv) -> str:
    """An asset of ``provider`` (the victim)."""
    return env.new_asset(Policy(purposes=("research",))).asset_id



@dataclass
class Anchored:
    receipts: list[Receipt]
    proofs: dict[str, ProofDocument]
    root: str


def registry(env: GatewayEnv) -> str:
    return env.chain().address("AnchorRegistry")


def made_up_receipts(env: GatewayEnv, asset: str, n: int = 3) -> list[Receipt]:
    """Receipts nobody's gateway wrote: denies (no grant needed) naming ``asset`` and the consumer."""
    now = int(env.chain().w3.eth.get_block("latest")["timestamp"])
    tag = os.urandom(4).hex()
    return [Receipt(f"rcpt-forged-{tag}-{i}", "0x" + os.urandom(32).hex(), asset, env.account("consumer").address,
                    "research", "deny", 0, now + i, "0x" + "00" * 32) for i in range(n)]


def cast_anchor(env: GatewayEnv, key: str, root: str, leaves: int, kind: int = 1) -> subprocess.CompletedProcess[str]:
    return cast("send", "--rpc-url", env.devnet.rpc_url, "--private-key", key, registry(env), SIG_ANCHOR,
                root, str(leaves), str(kind), "--json")


def anchor_with_cast(env: GatewayEnv, key: str, receipts: list[Receipt], anchorer: str,
                     claimed_anchorer: str | None = None) -> Anchored:
    """Seal ``receipts``, anchor the root with ``cast send`` signed by ``key``, build anchored proof documents."""
    chain = env.chain()
    batch = seal(receipts, chain_id=chain.chain_id, contract=registry(env))
    sent = cast_anchor(env, key, batch.root, len(receipts))
    assert sent.returncode == 0, sent.stderr
    tx = json.loads(sent.stdout)
    assert int(tx["status"], 16) == 1
    proofs = {rid: doc.anchored(chain_id=chain.chain_id, contract=registry(env), anchor_tx=tx["transactionHash"],
                                anchor_block=int(tx["blockNumber"], 16), anchorer=claimed_anchorer or anchorer,
                                provider=env.gateway.provider_address)
              for rid, doc in batch.proofs.items()}
    return Anchored(receipts, proofs, batch.root)


def cast_verify_receipt(env: GatewayEnv, doc: ProofDocument) -> str:
    values = [str(v) for v in doc.values]
    r = cast("call", "--rpc-url", env.devnet.rpc_url, registry(env), SIG_VERIFY_RECEIPT, doc.root,
             "[" + ",".join(doc.proof) + "]", *values, check=True)
    return r.stdout.strip()


def node_verify(doc_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(ROOT / "examples" / "verify-proof.js"), str(doc_file), *args],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def write(tmp_path: Path, name: str, doc: ProofDocument) -> Path:
    path = tmp_path / name
    path.write_text(doc.to_json())
    return path


def nonce(env: GatewayEnv, name: str) -> int:
    return int(env.chain().w3.eth.get_transaction_count(env.account(name).address))


def fresh_key(env: GatewayEnv) -> tuple[str, str]:
    """(address, private key) of a new funded key, as a provider would create for its notary."""
    acct = Account.create()
    env.rpc("anvil_setBalance", [acct.address, hex(10**18)])
    return acct.address, "0x" + bytes(acct.key).hex()


@pytest.mark.parametrize("who", ["consumer", "operator", "outsider", "suspended"])
def test_non_providers_cannot_anchor_any_root(env: GatewayEnv, asset: str, who: str) -> None:
    forged = seal(made_up_receipts(env, asset), chain_id=env.chain().chain_id, contract=registry(env))
    before = nonce(env, who)
    for kind in (1, 2):
        r = cast_anchor(env, private_key(env, who), forged.root, 3, kind)
        assert r.returncode != 0
        address = env.account(who).address[2:].lower()
        assert "AnchorUnauthorized" in r.stderr or UNAUTHORIZED in r.stderr, r.stderr
        assert address in r.stderr.lower(), r.stderr  # the custom error carries the caller
    assert nonce(env, who) == before  # rejected at estimation: no transaction
    for principal in (env.account(who).address, env.gateway.provider_address):
        assert env.chain().contract("AnchorRegistry").functions.getAnchor(
            principal, bytes.fromhex(forged.root[2:])).call()[0] == "0x" + "00" * 20


def test_another_provider_anchoring_made_up_receipts_is_rejected_everywhere(
        env: GatewayEnv, asset: str, tds: Any, tmp_path: Path) -> None:
    provider = env.gateway.provider_address
    forger = env.account("provider2").address
    forged = anchor_with_cast(env, private_key(env, "provider2"), made_up_receipts(env, asset), forger)
    doc = next(iter(forged.proofs.values()))
    honest = write(tmp_path, "honest.json", doc)  # names provider2 as anchorer, as the chain does
    lying = write(tmp_path, "lying.json", ProofDocument.from_dict({**doc.to_dict(), "anchorer": provider,
                                                                   "anchorer_did": None}))

    # on-chain: inclusion under the forger's own anchor holds, under the provider's there is none; verifyReceipt says no
    for principal, expected in ((forger, "true"), (provider, "false")):
        inclusion = cast("call", "--rpc-url", env.devnet.rpc_url, registry(env), SIG_VERIFY_INCLUSION, principal,
                         doc.root, "[" + ",".join(doc.proof) + "]", doc.leaf, check=True)
        assert inclusion.stdout.strip() == expected, principal
    assert cast_verify_receipt(env, doc) == "false"

    # tds audit verify-proof: exit 6, both addresses and the forger's DID in the reason
    for path in (honest, lying):
        code, out, err = tds("audit", "verify-proof", str(path))
        assert code == 6, (out, err)
        assert forger in err and provider in err and f"did:pkh:eip155:31337:{forger}" in err, err
        assert "nor a notary key it registered" in err
        code, out, _ = tds("audit", "verify-proof", str(path), "--json")
        assert code == 6 and json.loads(out)["category"] == "wrong_anchorer"

    # the JS example: offline it refuses to vouch for an anchorer that is not the provider; on-chain it rejects
    offline = node_verify(honest)
    assert offline.returncode == 6 and "rerun with --rpc" in offline.stdout, offline.stdout + offline.stderr
    for path in (honest, lying):
        online = node_verify(path, "--rpc", env.devnet.rpc_url)
        assert online.returncode == 6, online.stdout + online.stderr
        assert forger in online.stdout and provider in online.stdout, online.stdout
    lying_offline = node_verify(lying)  # a lying document passes offline, and the example says what it did not check
    assert lying_offline.returncode == 0 and "NOT checked" in lying_offline.stdout

    # tds audit check: an error naming both
    receipts_file = tmp_path / "forged.jsonl"
    dump_receipts([ReceiptEntry(r, forged.proofs[r.receipt_id]) for r in forged.receipts], receipts_file)
    code, out, err = tds("audit", "check", "--receipts", str(receipts_file))
    assert code == 6, out + err
    line = next(x for x in out.splitlines() if "receipt_wrong_anchorer" in x)
    assert line.startswith("ERROR") and forger in line and provider in line and forged.root in line


def test_a_registered_notary_key_anchors_receipts_accepted_everywhere(
        env: GatewayEnv, asset: str, tds: Any, tmp_path: Path) -> None:
    notary, key = fresh_key(env)
    code, out, err = tds("--as", "provider", "gateway", "notary-key", "add", notary)
    assert code == 0, out + err
    assert notary in out and "registered" in out
    code, out, _ = tds("gateway", "notary-key", "show", notary, "--json")
    assert code == 0 and json.loads(out) == {"notary": notary, "provider": env.gateway.provider_address,
                                              "active": True}
    good = anchor_with_cast(env, key, made_up_receipts(env, asset, 2), notary)
    doc = next(iter(good.proofs.values()))
    assert doc.anchorer == notary and doc.anchorer_did == f"did:pkh:eip155:31337:{notary}"
    assert cast_verify_receipt(env, doc) == "true"
    path = write(tmp_path, "notary.json", doc)
    code, out, err = tds("audit", "verify-proof", str(path))
    assert code == 0, out + err
    assert "a notary key of the asset's provider" in out and "verifyReceipt returned true" in out
    online = node_verify(path, "--rpc", env.devnet.rpc_url)
    assert online.returncode == 0, online.stdout + online.stderr
    receipts_file = tmp_path / "good.jsonl"
    dump_receipts([ReceiptEntry(r, good.proofs[r.receipt_id]) for r in good.receipts], receipts_file)
    code, out, err = tds("audit", "check", "--receipts", str(receipts_file), "--json")
    report = json.loads(out)
    assert not [f for f in report["findings"] if f["code"] == "receipt_wrong_anchorer"], report
    assert report["counted"]["verified_receipts"] == 2


def test_a_revoked_notary_key_cannot_anchor_and_its_past_roots_stay_evidence(
        env: GatewayEnv, asset: str, tds: Any, tmp_path: Path) -> None:
    notary, key = fresh_key(env)
    assert tds("gateway", "notary-key", "add", notary)[0] == 0
    past = anchor_with_cast(env, key, made_up_receipts(env, asset, 2), notary)
    code, out, err = tds("gateway", "notary-key", "remove", notary)
    assert code == 0 and "revoked" in out, out + err
    code, out, err = tds("--as", "provider2", "gateway", "notary-key", "remove", notary)  # not provider2's key
    assert code == 4 and "AnchorNotaryNotRegistered" in err, out + err
    later = seal(made_up_receipts(env, asset), chain_id=env.chain().chain_id, contract=registry(env))
    r = cast_anchor(env, key, later.root, 3)
    assert r.returncode != 0 and (UNAUTHORIZED in r.stderr or "AnchorUnauthorized" in r.stderr), r.stderr
    assert env.chain().w3.eth.get_transaction_count(notary) == 1  # only the anchor before revocation
    doc = next(iter(past.proofs.values()))
    assert cast_verify_receipt(env, doc) == "true"
    assert tds("audit", "verify-proof", str(write(tmp_path, "past.json", doc)))[0] == 0


def test_readme_auditor_commands_run_as_written(env: GatewayEnv, asset: str, tmp_path: Path) -> None:
    """The README's "How an auditor verifies a proof" block, run by bash against this devnet."""
    import re
    import shutil

    from tests.security.conftest import cast_bin

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### How an auditor verifies a proof"):]
    script = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (the README's snippet uses it): apt-get install jq")
    provider = env.gateway.provider_address
    good = anchor_with_cast(env, private_key(env, "provider"), made_up_receipts(env, asset, 3), provider)
    (tmp_path / "proof.json").write_text(next(iter(good.proofs.values())).to_json())
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    path = f"{Path(cast_bin()[0]).parent}:{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"
    run = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env={**os.environ, "PATH": path, "RPC": env.devnet.rpc_url,
                                            "TDS_HOME": str(env.home), "TDS_RPC_URL": env.devnet.rpc_url})
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "valid offline only" in out and f"valid: on chain {env.chain().chain_id}" in out
    assert "\ntrue\n" in out  # verifyReceipt
    assert f"root {good.root} provider {provider} anchorer {provider} kind 1 leaves 3" in out
    assert f"asset provider {provider}\n" in out  # getAsset: the provider
    block = next(iter(good.proofs.values())).anchor_block
    assert f"({provider}, {block}, 3, 1)\n" in out  # getAnchor(provider, root): the anchor that counts
    assert "valid: the proof holds" in out
