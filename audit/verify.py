"""Verify a proof document three ways: offline (Merkle), on-chain (AnchorRegistry), and its anchoring tx.

Each failure has a category and a sentence an auditor can act on:

| category | meaning |
|---|---|
| malformed | the file is not a proof document (truncated, bad JSON, bad field) |
| forged | the values do not hash to the leaf, or the path leads to no anchored root |
| wrong_root | the path leads to an anchored root, but not the one the document claims |
| wrong_chain | the document names another chain id than the node's |
| wrong_contract | the document names another contract than this deployment's AnchorRegistry |
| not_anchored | the root was never anchored on this chain (by anyone) |
| anchor_mismatch | the anchoring tx, block, anchorer or provider in the document disagrees with the chain |
| wrong_anchorer | a receipt's root was not anchored for the provider of the receipt's asset (by it or a notary
  key it registered), only by others: it proves nothing about that provider's gateway |

Anchors are keyed by (provider, root): the anchor that counts is the one made for the provider of a
receipt's asset (AssetRegistry), or for an asset proof the provider the document names (else its
anchorer, else whoever anchored the root as assets first); the same root anchored for anyone else is
ignored. A receipt is checked on-chain with ``AnchorRegistry.verifyReceipt`` (inclusion + kind + the
asset's provider), an asset proof with ``verifyInclusion(provider, ...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak

from chain.client import Chain
from chain.contracts import AnchorsClient, AssetsClient
from notary.errors import ProofMalformed
from notary.merkle import bytes32, leaf_hash, process_proof
from notary.proofs import ProofDocument, did_pkh

ROOT_ANCHORED = "0x" + keccak(text="RootAnchored(bytes32,address,address,uint40,uint8)").hex()
ANCHOR_KIND = {"receipt": AnchorsClient.KIND_RECEIPTS, "asset": AnchorsClient.KIND_ASSETS}


@dataclass(frozen=True)
class ProofVerdict:
    """The outcome: ``valid``, and when not, a ``category`` and a ``reason``; ``checks`` passed so far."""

    valid: bool
    category: str | None = None
    reason: str | None = None
    checks: tuple[str, ...] = ()
    anchor: dict[str, Any] | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return {"valid": self.valid, "category": self.category, "reason": self.reason,
                "checks": list(self.checks), "anchor": self.anchor}


def verify_proof_text(text: str | bytes, chain: Chain) -> ProofVerdict:
    """Parse then verify; a document that does not parse is ``malformed``."""
    try:
        doc = ProofDocument.from_json(text)
    except ProofMalformed as exc:
        return ProofVerdict(False, "malformed", f"malformed proof document: {exc.reason}")
    return verify_proof(doc, chain)


def verify_proof(doc: ProofDocument, chain: Chain) -> ProofVerdict:
    """Offline Merkle check, chain and contract identity, anchor existence and kind, on-chain inclusion,
    and the anchoring transaction's block."""
    return _Verification(doc, chain).run()


class _Failed(Exception):
    def __init__(self, category: str, reason: str) -> None:
        super().__init__(reason)
        self.category = category
        self.reason = reason


class _Verification:
    def __init__(self, doc: ProofDocument, chain: Chain) -> None:
        self.doc = doc
        self.chain = chain
        self.anchors = AnchorsClient(chain)
        self.checks: list[str] = []
        self.anchor: dict[str, Any] | None = None
        self.provider: str | None = None  # whose anchor vouches: the asset's provider (receipts), the anchorer (assets)

    def run(self) -> ProofVerdict:
        try:
            for step in (self._offline, self._identity, self._principal, self._anchored, self._anchorer,
                         self._on_chain, self._anchor_tx):
                step()
        except _Failed as exc:
            return ProofVerdict(False, exc.category, exc.reason, tuple(self.checks), self.anchor)
        return ProofVerdict(True, None, None, tuple(self.checks), self.anchor)

    def _offline(self) -> None:
        doc = self.doc
        leaf = leaf_hash(doc.leaf_encoding, doc.values)
        if leaf != bytes32(doc.leaf):
            raise _Failed("forged", f"forged proof: the values hash to 0x{leaf.hex()}, not to the leaf {doc.leaf}")
        computed = "0x" + process_proof(leaf, [bytes32(p) for p in doc.proof]).hex()
        if computed != doc.root:
            if self.anchors.anchored_events(computed):
                raise _Failed("wrong_root", f"wrong root: the proof leads to anchored root {computed}, "
                                            f"but the document claims root {doc.root}")
            raise _Failed("forged", f"forged proof: the sibling path leads to {computed}, not to the document's "
                                    f"root {doc.root}, and that is no anchored root")
        self.checks.append("offline: values hash to the leaf and the path leads to the root")

    def _identity(self) -> None:
        doc, chain = self.doc, self.chain
        if doc.chain_id is not None and doc.chain_id != chain.chain_id:
            raise _Failed("wrong_chain", f"proof for another chain: the document names chain {doc.chain_id}, "
                                         f"the node is chain {chain.chain_id}")
        registry = chain.address("AnchorRegistry")
        if doc.contract is not None and doc.contract.lower() != registry.lower():
            raise _Failed("wrong_contract", f"proof for another contract: the document names {doc.contract}, "
                                            f"this deployment's AnchorRegistry is {registry}")
        self.checks.append(f"identity: chain {chain.chain_id}, AnchorRegistry {registry}")

    def _principal(self) -> None:
        """Whose anchor of the root counts. A receipt: the provider of its asset in AssetRegistry, whatever the
        document says. An asset proof: the provider the document names, else its anchorer, else whoever anchored
        the root as assets first."""
        doc = self.doc
        if doc.kind == "receipt":
            asset_id = str(doc.values[2])
            self.provider = AssetsClient(self.chain).provider_of(asset_id)
            if self.provider is None:
                raise _Failed("wrong_anchorer", f"root {doc.root} was anchored by {self._others(doc.root)}, but asset "
                                                f"{asset_id} is not registered on chain {self.chain.chain_id}: no "
                                                "provider vouches for this receipt")
            return
        self.provider = doc.provider or doc.anchorer
        if self.provider is None:
            firsts = [e for e in self.anchors.anchored_events(doc.root) if e["kind"] == ANCHOR_KIND["asset"]]
            self.provider = firsts[0]["provider"] if firsts else None

    def _anchored(self) -> None:
        doc = self.doc
        self.anchor = self.anchors.get(self.provider, doc.root) if self.provider is not None else None
        if self.anchor is None:
            self._not_anchored()
        assert self.anchor is not None
        if self.anchor["kind"] != ANCHOR_KIND[doc.kind]:
            raise _Failed("anchor_mismatch", f"root {doc.root} is anchored for {self._who(str(self.provider))} as kind "
                                             f"{self.anchor['kind']}, the document is a {doc.kind} proof")
        self.checks.append(f"anchored: block {self.anchor['block']}, {self.anchor['leaf_count']} leaves, "
                           f"by {self._who(str(self.anchor['anchorer']))} for {self._who(str(self.provider))}")

    def _not_anchored(self) -> None:
        """The root is not anchored for the provider that counts: never anchored, or only by others."""
        doc, registry = self.doc, self.chain.address("AnchorRegistry")
        if not self.anchors.anchored_events(doc.root):
            note = " (the document is still 'accepted': its batch may not be anchored yet)" \
                if doc.state == "accepted" else ""
            raise _Failed("not_anchored", f"root never anchored: {doc.root} is not in AnchorRegistry {registry} on "
                                          f"chain {self.chain.chain_id}{note}")
        if doc.kind == "receipt":
            raise _Failed("wrong_anchorer", f"root {doc.root} was anchored by {self._others(doc.root)}, not by "
                                            f"{self._who(str(self.provider))} the provider of asset "
                                            f"{doc.values[2]} nor a notary key it registered: the receipt proves "
                                            "nothing")
        if self.provider is None:
            raise _Failed("anchor_mismatch", f"root {doc.root} was anchored by {self._others(doc.root)} as receipts "
                                             "only, the document is an asset proof")
        raise _Failed("anchor_mismatch", f"root {doc.root} was anchored by {self._others(doc.root)}, not by "
                                         f"{self._who(self.provider)} whom the document names")

    def _others(self, root: str) -> str:
        """Everyone who anchored ``root``: ``<anchorer>`` or ``<key>, a notary key of <provider>``, joined."""
        events = self.anchors.anchored_events(root)
        if not events:
            return "nobody"
        return "; ".join(self._who(e["anchorer"]) if e["anchorer"].lower() == e["provider"].lower()
                         else f"{self._who(e['anchorer'])}, a notary key of {self._who(e['provider'])}"
                         for e in events)

    def _anchorer(self) -> None:
        doc, anchor = self.doc, self.anchor
        assert anchor is not None and self.provider is not None
        anchorer, provider = str(anchor["anchorer"]), self.provider
        if doc.anchorer is not None and doc.anchorer.lower() != anchorer.lower():
            raise _Failed("anchor_mismatch", f"the document names anchorer {self._who(doc.anchorer)}, but root "
                                             f"{doc.root} was anchored for {self._who(provider)} by "
                                             f"{self._who(anchorer)}")
        if doc.kind != "receipt":
            return
        if doc.provider is not None and doc.provider.lower() != provider.lower():
            raise _Failed("anchor_mismatch", f"the document names provider {self._who(doc.provider)}, but "
                                             f"AssetRegistry says asset {doc.values[2]} is provided by "
                                             f"{self._who(provider)}")
        how = "the asset's provider" if anchorer.lower() == provider.lower() \
            else f"a notary key of the asset's provider {provider}"
        self.checks.append(f"anchorer: {self._who(anchorer)} is {how}")

    def _who(self, address: str) -> str:
        return f"{address} ({did_pkh(self.chain.chain_id, address)})"

    def _on_chain(self) -> None:
        doc = self.doc
        if doc.kind == "receipt":
            if not self.anchors.verify_receipt(doc.root, list(doc.proof), list(doc.values)):
                raise _Failed("forged", "forged proof: AnchorRegistry.verifyReceipt returned false")
            self.checks.append("on-chain: AnchorRegistry.verifyReceipt returned true")
            return
        assert self.provider is not None
        if not self.anchors.verify_inclusion(self.provider, doc.root, list(doc.proof), doc.leaf):
            raise _Failed("forged", "forged proof: AnchorRegistry.verifyInclusion returned false")
        self.checks.append("on-chain: AnchorRegistry.verifyInclusion returned true")

    def _anchor_tx(self) -> None:
        doc, anchor = self.doc, self.anchor
        assert anchor is not None
        if doc.anchor_block is not None and doc.anchor_block != anchor["block"]:
            raise _Failed("anchor_mismatch", f"the document says block {doc.anchor_block}, the root was anchored "
                                             f"in block {anchor['block']}")
        if doc.anchor_tx is None:
            return
        receipt = self.chain.transaction_receipt(doc.anchor_tx)
        if receipt is None:
            raise _Failed("anchor_mismatch", f"anchoring tx {doc.anchor_tx} is not on chain {self.chain.chain_id}")
        if int(receipt["blockNumber"]) != anchor["block"]:
            raise _Failed("anchor_mismatch", f"anchoring tx {doc.anchor_tx} is in block {receipt['blockNumber']}, "
                                             f"the root was anchored in block {anchor['block']}")
        if not self._emits_root(receipt):
            raise _Failed("anchor_mismatch", f"tx {doc.anchor_tx} did not anchor root {doc.root}")
        self.checks.append(f"anchor tx: {doc.anchor_tx} in block {anchor['block']}")

    def _emits_root(self, receipt: Any) -> bool:
        """Whether the tx emitted RootAnchored(root, provider, ...) for this root and the provider that counts."""
        registry = self.chain.address("AnchorRegistry").lower()
        provider = "0x" + "00" * 12 + str(self.provider).lower()[2:]
        for log in receipt["logs"]:
            topics = ["0x" + bytes(t).hex() for t in log["topics"]]
            if str(log["address"]).lower() == registry and len(topics) > 2 and topics[0] == ROOT_ANCHORED \
                    and topics[1] == self.doc.root and topics[2] == provider:
                return True
        return False
