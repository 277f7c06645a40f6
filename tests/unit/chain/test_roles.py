"""The Python role bits (domain.types.Role) are the contracts' role bits.

No chain here: the Solidity compiler's AST of `contracts/libraries/Roles.sol` and of
ParticipantRegistry gives each constant's value, evaluated from its literal or from the
constant it names (`ROLE_PROVIDER = Roles.PROVIDER`, `ALL = PROVIDER | CONSUMER | AUDITOR`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import solcx

from chain.compile import COMPILER_SETTINGS, PROJECT_ROOT
from domain.types import Role

SOURCES = ("contracts/libraries/Roles.sol", "contracts/ParticipantRegistry.sol")


def _nodes(node: Any) -> list[dict[str, Any]]:
    """Every AST node under `node`, depth first."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "nodeType" in node:
            found.append(node)
        for value in node.values():
            found.extend(_nodes(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_nodes(value))
    return found


@pytest.fixture(scope="module")
def constants() -> dict[str, int]:
    """`Contract.NAME` -> value of every constant declared in the compiled SOURCES."""
    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": (PROJECT_ROOT / name).read_text()} for name in SOURCES},
        "settings": {**COMPILER_SETTINGS, "outputSelection": {"*": {"": ["ast"]}}},
    }
    wrapper = Path(PROJECT_ROOT / "chain" / "solcjs.js")
    output = solcx.compile_standard(standard_input, solc_binary=wrapper, base_path=str(PROJECT_ROOT))
    by_id: dict[int, dict[str, Any]] = {}
    owner: dict[int, str] = {}
    for source in output["sources"].values():
        for contract in _nodes(source["ast"]):
            if contract["nodeType"] == "ContractDefinition":
                for node in contract["nodes"]:
                    owner[node["id"]] = contract["name"]
        by_id.update({n["id"]: n for n in _nodes(source["ast"])})

    def value(expr: dict[str, Any]) -> int:
        kind = expr["nodeType"]
        if kind == "Literal":
            return int(expr["value"].replace("_", ""), 0)
        if kind in ("Identifier", "MemberAccess"):
            return value(by_id[expr["referencedDeclaration"]]["value"])
        if kind == "BinaryOperation" and expr["operator"] == "|":
            return value(expr["leftExpression"]) | value(expr["rightExpression"])
        raise AssertionError(f"cannot evaluate a {kind} constant")

    return {f"{owner[n['id']]}.{n['name']}": value(n["value"]) for n in by_id.values()
            if n["nodeType"] == "VariableDeclaration" and n.get("constant") and n["id"] in owner
            and n["value"]["nodeType"] != "FunctionCall"}


def test_python_roles_are_the_roles_library(constants: dict[str, int]) -> None:
    assert {name: constants[f"Roles.{name}"] for name in Role.__members__} == {r.name: r.value for r in Role}
    assert constants["Roles.ALL"] == int(Role.PROVIDER | Role.CONSUMER | Role.AUDITOR)


def test_participant_registry_getters_are_the_roles_library(constants: dict[str, int]) -> None:
    for role in Role:
        assert constants[f"ParticipantRegistry.ROLE_{role.name}"] == role.value
