"""OpenZeppelin `StandardMerkleTree`, byte-for-byte compatible with
`@openzeppelin/merkle-tree` (v1, dump format "standard-v1").

- leaf = keccak256(keccak256(abi.encode(leafEncoding, value)))
- leaves sorted by hash, then stored at the end of a 2n-1 node array in
  reverse order; node i has children 2i+1 and 2i+2; node 0 is the root
- internal node = keccak256(sorted(a, b) concatenated)

So a proof from here verifies on-chain with OpenZeppelin `MerkleProof.verify`
and off-chain with `StandardMerkleTree.verify` in JavaScript. Values are kept
in canonical JSON form (see `notary.abi`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from notary._keccak import hasher
from notary.abi import Json, is_bytes32, leaf_encoder
from notary.errors import LeafEncodingError, LeafNotFound, ProofMalformed, TreeError



def bytes32(value: Any, what: str = "value") -> bytes:
    """Parse a 0x-prefixed 32-byte hex string (or 32 raw bytes); raise ProofMalformed."""
    if isinstance(value, (bytes, bytearray)) and len(value) == 32:
        return bytes(value)
    if is_bytes32(value):
        return bytes.fromhex(value[2:])
    raise ProofMalformed(f"{what} must be 0x followed by 64 hex digits, got {value!r:.80}")


def leaf_hash(leaf_encoding: Sequence[str], value: Sequence[Any]) -> bytes:
    """Return the OpenZeppelin standard leaf hash of `value` (32 bytes)."""
    _, encoded = leaf_encoder(tuple(leaf_encoding))(value)
    keccak = hasher()
    return keccak(keccak(encoded))


def node_hash(a: bytes, b: bytes) -> bytes:
    """Return keccak256 of the two nodes concatenated in ascending order."""
    return hasher()(a + b if a <= b else b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Fold `proof` onto `leaf` and return the implied root."""
    keccak = hasher()
    node = leaf
    for sibling in proof:
        node = keccak(node + sibling if node <= sibling else sibling + node)
    return node


class StandardMerkleTree:
    """A Merkle tree over ABI-encoded values; build with `of` or `load`."""

    __slots__ = ("_tree", "_values", "_tree_index", "_leaf_encoding", "_lookup")

    def __init__(
        self,
        tree: list[bytes],
        values: list[list[Json]],
        tree_index: list[int],
        leaf_encoding: tuple[str, ...],
    ) -> None:
        """Wrap prepared parts; use `of` or `load` rather than calling this."""
        self._tree = tree
        self._values = values
        self._tree_index = tree_index
        self._leaf_encoding = leaf_encoding
        self._lookup: dict[bytes, int] | None = None

    @classmethod
    def of(
        cls, values: Sequence[Sequence[Any]], leaf_encoding: Sequence[str]
    ) -> StandardMerkleTree:
        """Build a tree from `values`, each a list matching `leaf_encoding`.

        Raises LeafEncodingError for a value that does not fit, TreeError if empty.
        """
        encoding = _encoding_tuple(leaf_encoding)
        if not values:
            raise TreeError("expected a non-zero number of leaves")
        encode = leaf_encoder(encoding)
        keccak = hasher()
        canon: list[list[Json]] = []
        hashes: list[bytes] = []
        for value in values:
            json_value, encoded = encode(value)
            canon.append(json_value)
            hashes.append(keccak(keccak(encoded)))
        order = sorted(range(len(hashes)), key=hashes.__getitem__)
        tree = _build([hashes[i] for i in order], keccak)
        tree_index = [0] * len(values)
        last = len(tree) - 1
        for leaf_index, value_index in enumerate(order):
            tree_index[value_index] = last - leaf_index
        return cls(tree, canon, tree_index, encoding)

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> StandardMerkleTree:
        """Rebuild a tree from `dump()` output (ours or JavaScript's) and validate it.

        Raises TreeError if the dump is malformed or its hashes do not add up.
        """
        if not isinstance(data, Mapping) or data.get("format") != "standard-v1":
            raise TreeError(f"unknown tree format {getattr(data, 'get', dict().get)('format')!r}")
        if not isinstance(data.get("leafEncoding"), list):
            raise TreeError("expected leafEncoding to be a list of ABI types")
        encoding = _encoding_tuple(data["leafEncoding"])
        tree = _load_nodes(data.get("tree"))
        values, tree_index = _load_values(data.get("values"), len(tree))
        encode = leaf_encoder(encoding)
        keccak = hasher()
        canon: list[list[Json]] = []
        for i, (value, index) in enumerate(zip(values, tree_index)):
            try:
                json_value, encoded = encode(value)
            except LeafEncodingError as exc:
                raise TreeError(f"value {i}: {exc.reason}") from exc
            if keccak(keccak(encoded)) != tree[index]:
                raise TreeError(f"value {i} does not hash to tree node {index}")
            canon.append(json_value)
        _check_nodes(tree, keccak)
        return cls(tree, canon, tree_index, encoding)

    @staticmethod
    def verify(
        root: str | bytes, leaf_encoding: Sequence[str], value: Sequence[Any], proof: Sequence[str]
    ) -> bool:
        """Return True if `proof` links `value` to `root`.

        Raises ProofMalformed for a root or proof node that is not bytes32 hex,
        LeafEncodingError if `value` does not fit `leaf_encoding`.
        """
        expected = bytes32(root, "root")
        nodes = [bytes32(p, f"proof[{i}]") for i, p in enumerate(proof)]
        leaf = leaf_hash(_encoding_tuple(leaf_encoding), value)
        return process_proof(leaf, nodes) == expected

    @property
    def root(self) -> str:
        """The root as 0x-prefixed bytes32 hex."""
        return "0x" + self._tree[0].hex()

    @property
    def leaf_encoding(self) -> tuple[str, ...]:
        """The ABI types of each value."""
        return self._leaf_encoding

    @property
    def values(self) -> list[list[Json]]:
        """The values in insertion order, in canonical JSON form (a copy)."""
        return [list(v) for v in self._values]

    def __len__(self) -> int:
        """Number of values (leaves)."""
        return len(self._values)

    def leaf_hash(self, value: Sequence[Any]) -> str:
        """Return the leaf hash of `value` as 0x hex (whether or not it is in the tree)."""
        return "0x" + leaf_hash(self._leaf_encoding, value).hex()

    def leaf_at(self, index: int) -> str:
        """Return the leaf hash of the value at `index`, as 0x hex."""
        return "0x" + self._tree[self._tree_index[self._check_index(index)]].hex()

    def _check_index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int):
            raise LeafNotFound(f"index must be an integer, got {index!r:.80}")
        if not 0 <= index < len(self._values):
            raise LeafNotFound(f"index {index} out of bounds")
        return index

    def index_of(self, value: Sequence[Any]) -> int:
        """Return the value index of `value`; raise LeafNotFound if absent."""
        if self._lookup is None:
            self._lookup = {self._tree[t]: i for i, t in enumerate(self._tree_index)}
        index = self._lookup.get(leaf_hash(self._leaf_encoding, value))
        if index is None:
            raise LeafNotFound("leaf is not in tree")
        return index

    def get_proof(self, index_or_value: int | Sequence[Any]) -> list[str]:
        """Return the proof (0x hex siblings, leaf to root) for a value or its index."""
        if isinstance(index_or_value, int) and not isinstance(index_or_value, bool):
            index = self._check_index(index_or_value)
        else:
            index = self.index_of(index_or_value)
        return ["0x" + node.hex() for node in self._proof_nodes(self._tree_index[index])]

    def _proof_nodes(self, node: int) -> list[bytes]:
        tree = self._tree
        proof = []
        while node > 0:
            proof.append(tree[node + 1 if node % 2 else node - 1])
            node = (node - 1) // 2
        return proof

    def dump(self) -> dict[str, Any]:
        """Return the tree as `@openzeppelin/merkle-tree` `dump()` does (JSON-ready)."""
        return {
            "format": "standard-v1",
            "leafEncoding": list(self._leaf_encoding),
            "tree": ["0x" + node.hex() for node in self._tree],
            "values": [
                {"value": list(v), "treeIndex": t} for v, t in zip(self._values, self._tree_index)
            ],
        }


def _encoding_tuple(leaf_encoding: Sequence[str]) -> tuple[str, ...]:
    if isinstance(leaf_encoding, str) or not all(isinstance(t, str) for t in leaf_encoding):
        raise LeafEncodingError("leaf encoding must be a list of ABI type names")
    return tuple(leaf_encoding)


def _build(leaves: list[bytes], keccak: Any) -> list[bytes]:
    """Lay sorted leaves out as OpenZeppelin does and hash the internal nodes."""
    n = len(leaves)
    tree: list[bytes] = [b""] * (n - 1) + leaves[::-1]
    for i in range(n - 2, -1, -1):
        a = tree[2 * i + 1]
        b = tree[2 * i + 2]
        tree[i] = keccak(a + b if a <= b else b + a)
    return tree


def _load_nodes(raw: Any) -> list[bytes]:
    if not isinstance(raw, list) or not raw or len(raw) % 2 == 0:
        raise TreeError("expected tree to be a non-empty list of 2n-1 nodes")
    try:
        return [bytes32(node, f"tree[{i}]") for i, node in enumerate(raw)]
    except ProofMalformed as exc:
        raise TreeError(exc.reason) from exc


def _load_values(raw: Any, tree_size: int) -> tuple[list[Any], list[int]]:
    leaves = (tree_size + 1) // 2
    if not isinstance(raw, list) or len(raw) != leaves:
        raise TreeError(f"expected values to be a list of {leaves} entries")
    values, indices = [], []
    for i, entry in enumerate(raw):
        index = entry.get("treeIndex") if isinstance(entry, dict) else None
        if not isinstance(index, int) or isinstance(index, bool):
            raise TreeError(f"values[{i}] must be an object with an integer treeIndex")
        if not tree_size - leaves <= index < tree_size:
            raise TreeError(f"values[{i}].treeIndex {index} is not a leaf position")
        values.append(entry.get("value"))
        indices.append(index)
    if len(set(indices)) != len(indices):
        raise TreeError("two values share a treeIndex")
    return values, indices


def _check_nodes(tree: list[bytes], keccak: Any) -> None:
    for i in range(len(tree) // 2 - 1, -1, -1):
        a, b = tree[2 * i + 1], tree[2 * i + 2]
        if tree[i] != keccak(a + b if a <= b else b + a):
            raise TreeError(f"tree node {i} is not the hash of its children")
