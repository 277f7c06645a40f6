"""StandardMerkleTree: same roots, proofs and dumps as @openzeppelin/merkle-tree."""

from __future__ import annotations

import math
import random

import pytest
from eth_abi import encode as abi_encode

from notary.abi import checksum_address, leaf_encoder, python_values
from notary.errors import LeafEncodingError, LeafNotFound, ProofMalformed, TreeError
from notary.merkle import StandardMerkleTree

MIXED = ["address", "uint256", "bytes32", "bool", "string", "int64", "bytes", "uint8[]"]
STATIC = ["bytes32", "address", "uint8", "uint64", "uint256", "bool", "int128", "bytes4"]


def _rng_hex(rng: random.Random, n: int) -> str:
    return "0x" + rng.randbytes(n).hex()


def mixed_values(count: int, seed: int = 1) -> list[list[object]]:
    rng = random.Random(seed)
    return [
        [
            _rng_hex(rng, 20),
            rng.getrandbits(256),
            _rng_hex(rng, 32),
            rng.random() < 0.5,
            f"purpose-{i}-é",
            rng.randint(-(2**63), 2**63 - 1),
            _rng_hex(rng, rng.randint(0, 70)),
            [rng.randint(0, 255) for _ in range(rng.randint(0, 3))],
        ]
        for i in range(count)
    ]


def static_values(count: int, seed: int = 2) -> list[list[object]]:
    rng = random.Random(seed)
    return [
        [
            _rng_hex(rng, 32),
            checksum_address(_rng_hex(rng, 20)),
            rng.randint(0, 255),
            rng.getrandbits(64),
            str(rng.getrandbits(256)),
            rng.random() < 0.5,
            rng.randint(-(2**127), 2**127 - 1),
            _rng_hex(rng, 4),
        ]
        for _ in range(count)
    ]


@pytest.mark.parametrize("count", [1, 2, 3, 7, 100])
@pytest.mark.parametrize("encoding,make", [(MIXED, mixed_values), (STATIC, static_values)])
def test_root_proofs_and_dump_match_openzeppelin(oz, count, encoding, make) -> None:
    tree = StandardMerkleTree.of(make(count), encoding)
    ref = oz(op="of", values=tree.values, encoding=encoding)
    assert tree.root == ref["root"]
    assert [tree.get_proof(i) for i in range(count)] == ref["proofs"]
    assert tree.dump() == ref["dump"]


def test_python_dump_loads_and_verifies_in_javascript(oz) -> None:
    tree = StandardMerkleTree.of(static_values(50), STATIC)
    ref = oz(op="load", dump=tree.dump())
    assert ref["root"] == tree.root
    assert all(ref["verified"])


def test_javascript_dump_loads_in_python(oz) -> None:
    values = StandardMerkleTree.of(mixed_values(9), MIXED).values
    ref = oz(op="of", values=values, encoding=MIXED)
    loaded = StandardMerkleTree.load(ref["dump"])
    assert loaded.root == ref["root"]
    assert loaded.get_proof(values[4]) == ref["proofs"][4]


def test_proof_verifies_in_javascript_and_python(oz) -> None:
    tree = StandardMerkleTree.of(static_values(7), STATIC)
    value, proof = tree.values[3], tree.get_proof(3)
    assert StandardMerkleTree.verify(tree.root, STATIC, value, proof)
    assert oz(op="verify", root=tree.root, encoding=STATIC, value=value, proof=proof)["ok"]


def test_proof_length_is_ceil_log2() -> None:
    tree = StandardMerkleTree.of(static_values(1000), STATIC)
    assert {len(tree.get_proof(i)) for i in range(1000)} <= {9, 10}
    assert max(len(tree.get_proof(i)) for i in range(1000)) == math.ceil(math.log2(1000))


def test_static_fast_path_is_byte_identical_to_eth_abi() -> None:
    encode = leaf_encoder(tuple(STATIC))
    for value in static_values(300, seed=7):
        canon, encoded = encode(value)
        assert encoded == abi_encode(STATIC, python_values(STATIC, canon))


def test_mixed_case_and_raw_forms_give_same_leaf() -> None:
    tree = StandardMerkleTree.of(static_values(3), STATIC)
    value = list(tree.values[1])
    value[0] = value[0].upper().replace("0X", "0x")
    value[1] = "0x" + value[1][2:].lower()
    value[2] = int(value[2])
    value[7] = bytes.fromhex(value[7][2:])
    assert tree.get_proof(value) == tree.get_proof(1)


def test_forged_proof_is_rejected() -> None:
    tree = StandardMerkleTree.of(static_values(7), STATIC)
    proof = tree.get_proof(2)
    forged = proof[:-1] + ["0x" + "00" * 32]
    assert not StandardMerkleTree.verify(tree.root, STATIC, tree.values[2], forged)
    assert not StandardMerkleTree.verify(tree.root, STATIC, tree.values[2], proof[:-1])
    assert not StandardMerkleTree.verify(tree.root, STATIC, tree.values[2], tree.get_proof(3))


def test_wrong_root_is_rejected() -> None:
    tree = StandardMerkleTree.of(static_values(7), STATIC)
    other = StandardMerkleTree.of(static_values(7, seed=99), STATIC)
    assert not StandardMerkleTree.verify(other.root, STATIC, tree.values[0], tree.get_proof(0))


def test_wrong_values_are_rejected() -> None:
    tree = StandardMerkleTree.of(static_values(7), STATIC)
    value = list(tree.values[0])
    value[3] = str(int(value[3]) ^ 1)
    assert not StandardMerkleTree.verify(tree.root, STATIC, value, tree.get_proof(0))
    with pytest.raises(LeafNotFound):
        tree.get_proof(value)


def test_malformed_proof_nodes_raise() -> None:
    tree = StandardMerkleTree.of(static_values(3), STATIC)
    with pytest.raises(ProofMalformed, match=r"proof\[0\]"):
        StandardMerkleTree.verify(tree.root, STATIC, tree.values[0], ["0x1234"])
    with pytest.raises(ProofMalformed, match="root"):
        StandardMerkleTree.verify("0xzz", STATIC, tree.values[0], tree.get_proof(0))


@pytest.mark.parametrize(
    "encoding,value,match",
    [
        (["uint8"], [256], "out of range"),
        (["uint8"], [-1], "out of range"),
        (["uint64"], [True], "expected an int"),
        (["int8"], [-129], "out of range"),
        (["bytes32"], ["0x1234"], "exactly 32 bytes"),
        (["bytes32"], ["0x" + "zz" * 32], "not hex"),
        (["address"], ["0x1234"], "20-byte"),
        (["address"], ["0x" + "aB" * 20], "checksum"),
        (["bool"], [1], "true or false"),
        (["string"], [b"x"], "expected a string"),
        (["uint8", "bool"], [1], "list of 2 items"),
        (["tuple"], [1], "unsupported"),
        (["uint7"], [1], "unsupported"),
    ],
)
def test_values_not_fitting_the_encoding_raise(encoding, value, match) -> None:
    with pytest.raises(LeafEncodingError, match=match):
        StandardMerkleTree.of([value], encoding)


def test_empty_tree_and_bad_index_raise() -> None:
    with pytest.raises(TreeError, match="non-zero"):
        StandardMerkleTree.of([], ["uint8"])
    tree = StandardMerkleTree.of([[1], [2]], ["uint8"])
    with pytest.raises(LeafNotFound, match="out of bounds"):
        tree.get_proof(2)


def test_duplicate_values_prove_like_openzeppelin(oz) -> None:
    values = [["1"], ["2"], ["1"]]
    tree = StandardMerkleTree.of(values, ["uint8"])
    ref = oz(op="of", values=values, encoding=["uint8"])
    assert tree.dump() == ref["dump"]
    assert StandardMerkleTree.verify(tree.root, ["uint8"], ["1"], tree.get_proof(["1"]))


def test_load_round_trips_and_rejects_tampering() -> None:
    tree = StandardMerkleTree.of(static_values(5), STATIC)
    dump = tree.dump()
    assert StandardMerkleTree.load(dump).dump() == dump
    bad_node = {**dump, "tree": [dump["tree"][0][:-1] + "0"] + dump["tree"][1:]}
    if bad_node["tree"][0] == dump["tree"][0]:
        bad_node["tree"][0] = dump["tree"][0][:-1] + "1"
    with pytest.raises(TreeError, match="node 0"):
        StandardMerkleTree.load(bad_node)
    swapped = {**dump, "values": [dict(v) for v in dump["values"]]}
    swapped["values"][0]["treeIndex"], swapped["values"][1]["treeIndex"] = (
        swapped["values"][1]["treeIndex"],
        swapped["values"][0]["treeIndex"],
    )
    with pytest.raises(TreeError, match="does not hash"):
        StandardMerkleTree.load(swapped)
    with pytest.raises(TreeError, match="format"):
        StandardMerkleTree.load({**dump, "format": "simple-v1"})
