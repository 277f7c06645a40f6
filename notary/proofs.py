"""Inclusion-proof documents ("tds-proof-v1") and batch sealing.

A `ProofDocument` is what a consumer or auditor keeps: the root, the leaf
encoding and values, the leaf hash, the sibling path, and (once anchored)
where the root sits on-chain. `verify_offline` checks the Merkle part with no
chain access; checking that the root was anchored is the chain client's job.

JSON shape (keys exactly these; null where noted)::

    {"format": "tds-proof-v1", "kind": "receipt" | "asset",
     "state": "accepted" | "anchored", "root": "0x<64 hex>",
     "leaf_encoding": [...], "values": [...], "leaf": "0x<64 hex>",
     "proof": ["0x<64 hex>", ...], "chain_id": int | null,
     "contract": "0x<40 hex>" | null, "anchor_tx": "0x<64 hex>" | null,
     "anchor_block": int | null,
     "anchorer": "0x<40 hex>" | null, "anchorer_did": "did:pkh:eip155:<chain>:<address>" | null,
     "provider": "0x<40 hex>" | null, "provider_did": "did:pkh:eip155:<chain>:<address>" | null}

"accepted" documents have null anchor_tx/anchor_block; "anchored" documents
have all four chain fields set. ``anchorer`` is who anchored the root and
``provider`` the provider of the receipt's asset (null for asset proofs); a
receipt is evidence only when the anchorer is that provider or a notary key it
registered on-chain (checked by the verifiers, not here). The four party fields
came after the first documents: a document without them still parses (null).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from eth_utils import is_checksum_address, to_checksum_address

from notary.abi import is_address, leaf_encoder
from notary.errors import LeafEncodingError, NotaryError, ProofInvalid, ProofMalformed
from notary.merkle import StandardMerkleTree, bytes32, leaf_hash, process_proof
from notary.receipts import ASSET_LEAF_ENCODING, RECEIPT_LEAF_ENCODING, Receipt, asset_leaf_values

FORMAT = "tds-proof-v1"
KINDS: dict[str, tuple[str, ...]] = {
    "receipt": RECEIPT_LEAF_ENCODING,
    "asset": ASSET_LEAF_ENCODING,
}
"""Leaf encoding required for each document kind."""
STATES = ("accepted", "anchored")
MAX_PROOF_LENGTH = 256
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "format": (str,),
    "kind": (str,),
    "state": (str,),
    "root": (str,),
    "leaf_encoding": (list,),
    "values": (list,),
    "leaf": (str,),
    "proof": (list,),
    "chain_id": (int, type(None)),
    "contract": (str, type(None)),
    "anchor_tx": (str, type(None)),
    "anchor_block": (int, type(None)),
    "anchorer": (str, type(None)),
    "anchorer_did": (str, type(None)),
    "provider": (str, type(None)),
    "provider_did": (str, type(None)),
}
OPTIONAL_FIELDS = ("anchorer", "anchorer_did", "provider", "provider_did")
"""Fields added after the first documents: absent means null."""


@dataclass(frozen=True)
class ProofDocument:
    """A self-contained Merkle inclusion proof; validated on creation."""

    format: str
    kind: str
    state: str
    root: str
    leaf_encoding: tuple[str, ...]
    values: tuple[Any, ...]
    leaf: str
    proof: tuple[str, ...]
    chain_id: int | None = None
    contract: str | None = None
    anchor_tx: str | None = None
    anchor_block: int | None = None
    anchorer: str | None = None
    anchorer_did: str | None = None
    provider: str | None = None
    provider_did: str | None = None

    def __post_init__(self) -> None:
        """Check every field; normalize hex to lowercase and values to canonical form."""
        _check_header(self.format, self.kind, self.state, tuple(self.leaf_encoding))
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        set_("leaf_encoding", tuple(self.leaf_encoding))
        set_("root", _hex32(self.root, "root"))
        set_("leaf", _hex32(self.leaf, "leaf"))
        if len(self.proof) > MAX_PROOF_LENGTH:
            raise ProofMalformed(f"proof has {len(self.proof)} nodes, more than {MAX_PROOF_LENGTH}")
        set_("proof", tuple(_hex32(p, f"proof[{i}]") for i, p in enumerate(self.proof)))
        try:
            canon, _ = leaf_encoder(self.leaf_encoding)(list(self.values))
        except LeafEncodingError as exc:
            raise ProofMalformed(f"values: {exc.reason}") from exc
        set_("values", tuple(canon))
        _check_chain_fields(self)
        if self.contract is not None:
            set_("contract", to_checksum_address(self.contract))
        if self.anchor_tx is not None:
            set_("anchor_tx", _hex32(self.anchor_tx, "anchor_tx"))
        for party in ("anchorer", "provider"):
            address, did = _party(getattr(self, party), getattr(self, f"{party}_did"), party, self.chain_id)
            set_(party, address)
            set_(f"{party}_did", did)

    def anchored(
        self, *, chain_id: int, contract: str, anchor_tx: str, anchor_block: int,
        anchorer: str | None = None, provider: str | None = None,
    ) -> ProofDocument:
        """Return a copy in state "anchored" with the given on-chain location and parties (DIDs derived)."""
        return dataclasses.replace(
            self,
            state="anchored",
            chain_id=chain_id,
            contract=contract,
            anchor_tx=anchor_tx,
            anchor_block=anchor_block,
            anchorer=anchorer if anchorer is not None else self.anchorer,
            anchorer_did=None,
            provider=provider if provider is not None else self.provider,
            provider_did=None,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the document as a JSON-ready dict."""
        data = dataclasses.asdict(self)
        for name in ("leaf_encoding", "values", "proof"):
            data[name] = list(data[name])
        return data

    def to_json(self) -> str:
        """Return the document as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> ProofDocument:
        """Build from a parsed JSON object; raise ProofMalformed naming the bad field."""
        if not isinstance(data, dict):
            raise ProofMalformed(f"proof document must be a JSON object, got {type(data).__name__}")
        data = {**dict.fromkeys(OPTIONAL_FIELDS), **data}
        if missing := sorted(_FIELD_TYPES.keys() - data.keys()):
            raise ProofMalformed(f"proof document is missing field(s): {', '.join(missing)}")
        if extra := sorted(data.keys() - _FIELD_TYPES.keys()):
            raise ProofMalformed(f"proof document has unknown field(s): {', '.join(extra)}")
        for name, types in _FIELD_TYPES.items():
            value = data[name]
            if not isinstance(value, types) or isinstance(value, bool):
                wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
                raise ProofMalformed(f"{name} must be {wanted}, got {json.dumps(value)[:80]}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str | bytes) -> ProofDocument:
        """Parse JSON text; raise ProofMalformed with a clear reason."""
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise ProofMalformed(f"proof document is not valid JSON: {exc}") from exc
        return cls.from_dict(data)


def verify_offline(doc: ProofDocument) -> None:
    """Check that `doc.values` hash to `doc.leaf` and `doc.proof` leads to `doc.root`.

    Returns None on success; raises ProofInvalid with the reason otherwise.
    Says nothing about whether the root was anchored on-chain.
    """
    leaf = leaf_hash(doc.leaf_encoding, doc.values)
    if leaf != bytes32(doc.leaf):
        raise ProofInvalid(f"leaf {doc.leaf} is not the hash of the values (0x{leaf.hex()})")
    root = process_proof(leaf, [bytes32(p) for p in doc.proof])
    if root != bytes32(doc.root):
        raise ProofInvalid(f"proof leads to 0x{root.hex()}, not to root {doc.root}")


class Batch(NamedTuple):
    """A sealed batch: the tree, its root, and one proof document per key."""

    tree: StandardMerkleTree
    root: str
    proofs: dict[str, ProofDocument]

    @classmethod
    def seal(
        cls, receipts: Sequence[Receipt], *, chain_id: int | None = None, contract: str | None = None
    ) -> Batch:
        """Build the tree over `receipts`; proofs keyed by receipt_id, state "accepted"."""
        ids = [r.receipt_id for r in receipts]
        if len(set(ids)) != len(ids):
            raise NotaryError("duplicate receipt_id in batch")
        values = [r.leaf_values() for r in receipts]
        return _seal("receipt", ids, values, chain_id, contract)

    @classmethod
    def seal_assets(
        cls,
        assets: Sequence[tuple[str, int]],
        *,
        chain_id: int | None = None,
        contract: str | None = None,
    ) -> Batch:
        """Build the tree over (content_hash, size) pairs; proofs keyed by content hash."""
        values = [asset_leaf_values(h, size) for h, size in assets]
        keys = [v[0] for v in values]
        if len(set(keys)) != len(keys):
            raise NotaryError("duplicate content hash in batch")
        return _seal("asset", keys, values, chain_id, contract)


seal = Batch.seal
seal_assets = Batch.seal_assets


def _seal(
    kind: str, keys: list[str], values: list[list[Any]], chain_id: int | None, contract: str | None
) -> Batch:
    tree = StandardMerkleTree.of(values, KINDS[kind])
    root = tree.root
    proofs: dict[str, ProofDocument] = {}
    for index, (key, value) in enumerate(zip(keys, tree.values)):
        proofs[key] = _trusted(
            kind=kind,
            root=root,
            leaf_encoding=tree.leaf_encoding,
            values=tuple(value),
            leaf=tree.leaf_at(index),
            proof=tuple(tree.get_proof(index)),
            chain_id=chain_id,
            contract=None if contract is None else to_checksum_address(contract),
        )
    return Batch(tree, root, proofs)


def _trusted(**fields: Any) -> ProofDocument:
    """Build a document from values this module just computed, skipping re-validation."""
    doc = object.__new__(ProofDocument)
    defaults = {"format": FORMAT, "state": "accepted", "anchor_tx": None, "anchor_block": None,
                **dict.fromkeys(OPTIONAL_FIELDS)}
    for name, value in {**defaults, **fields}.items():
        object.__setattr__(doc, name, value)
    return doc


def _check_header(fmt: Any, kind: Any, state: Any, encoding: tuple[Any, ...]) -> None:
    if fmt != FORMAT:
        raise ProofMalformed(f"format must be {FORMAT!r}, got {fmt!r:.80}")
    if kind not in KINDS:
        raise ProofMalformed(f"kind must be one of {sorted(KINDS)}, got {kind!r:.80}")
    if state not in STATES:
        raise ProofMalformed(f"state must be one of {list(STATES)}, got {state!r:.80}")
    if encoding != KINDS[kind]:
        raise ProofMalformed(f"leaf_encoding for kind {kind!r} must be {list(KINDS[kind])}")


def _check_chain_fields(doc: ProofDocument) -> None:
    if doc.chain_id is not None and (not _is_int(doc.chain_id) or doc.chain_id <= 0):
        raise ProofMalformed(f"chain_id must be a positive integer, got {doc.chain_id!r:.80}")
    if doc.contract is not None:
        if not is_address(doc.contract):
            raise ProofMalformed(f"contract must be a 20-byte 0x address, got {doc.contract!r:.80}")
        body = doc.contract[2:]
        if body not in (body.lower(), body.upper()) and not is_checksum_address(doc.contract):
            raise ProofMalformed(f"contract {doc.contract} has a bad EIP-55 checksum")
    if doc.anchor_block is not None and (not _is_int(doc.anchor_block) or doc.anchor_block < 0):
        raise ProofMalformed(f"anchor_block must be a non-negative integer, got {doc.anchor_block!r:.80}")
    chain = (doc.chain_id, doc.contract, doc.anchor_tx, doc.anchor_block)
    if doc.state == "anchored" and None in chain:
        raise ProofMalformed("an anchored proof needs chain_id, contract, anchor_tx and anchor_block")
    if doc.state == "accepted" and (doc.anchor_tx, doc.anchor_block) != (None, None):
        raise ProofMalformed("an accepted proof must have null anchor_tx and anchor_block")


def did_pkh(chain_id: int, address: str) -> str:
    """CAIP-10 DID of an account: ``did:pkh:eip155:<chainId>:<checksummed address>``."""
    return f"did:pkh:eip155:{chain_id}:{to_checksum_address(address)}"


def _party(address: Any, did: Any, name: str, chain_id: int | None) -> tuple[str | None, str | None]:
    """Checksummed address and its DID (derived when the chain id is known); a DID that disagrees is malformed."""
    if address is None:
        if did is not None:
            raise ProofMalformed(f"{name}_did is set but {name} is null")
        return None, None
    if not is_address(address):
        raise ProofMalformed(f"{name} must be a 20-byte 0x address, got {address!r:.80}")
    body = address[2:]
    if body not in (body.lower(), body.upper()) and not is_checksum_address(address):
        raise ProofMalformed(f"{name} {address} has a bad EIP-55 checksum")
    expected = None if chain_id is None else did_pkh(chain_id, address)
    if did is not None and (not isinstance(did, str) or did.lower() != (expected or "").lower()):
        raise ProofMalformed(f"{name}_did {did!r:.120} is not {expected or 'derivable without chain_id'}")
    return to_checksum_address(address), expected


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _hex32(value: Any, name: str) -> str:
    return "0x" + bytes32(value, name).hex()
