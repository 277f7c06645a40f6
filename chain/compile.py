"""Compile the TDS contracts with py-solc-x driving the npm solcjs compiler (offline).

The output (ABI + bytecode per contract) is cached under ``.cache/contracts/`` keyed by the
SHA-256 of every source, the compiler version, the OpenZeppelin version and the settings,
so a second compile of unchanged sources costs a file read.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

from chain.errors import CompileError

PROJECT_ROOT = Path(os.environ.get("TDS_PROJECT_ROOT", Path(__file__).resolve().parents[1]))
SOLC_VERSION = "0.8.37"
COMPILER_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "viaIR": False,
}
CONTRACT_NAMES = (
    "ParticipantRegistry",
    "AssetRegistry",
    "ComputePolicies",
    "UsageGrants",
    "AnchorRegistry",
    "SettlementToken",
    "Settlement",
)


@dataclass(frozen=True)
class CompiledContract:
    """ABI and creation bytecode of one contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def _sources(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted((root / "contracts").rglob("*.sol"))}


def _oz_version(root: Path) -> str:
    pkg = root / "node_modules" / "@openzeppelin" / "contracts" / "package.json"
    if not pkg.exists():
        raise CompileError(f"{pkg} is missing: run ./scripts/bootstrap (npm ci)")
    return str(json.loads(pkg.read_text())["version"])


def cache_key(root: Path = PROJECT_ROOT) -> str:
    """SHA-256 over sources, compiler version, OpenZeppelin version and settings."""
    h = hashlib.sha256()
    for name, path in _sources(root).items():
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(json.dumps([SOLC_VERSION, _oz_version(root), COMPILER_SETTINGS], sort_keys=True).encode())
    return h.hexdigest()


def compile_contracts(root: Path = PROJECT_ROOT, use_cache: bool = True) -> dict[str, CompiledContract]:
    """Compile every contract under ``contracts/`` (or load the cached result)."""
    key = cache_key(root)
    cache_file = root / ".cache" / "contracts" / f"{key}.json"
    if use_cache and cache_file.exists():
        return _from_json(json.loads(cache_file.read_text()))
    output = _run_solc(root)
    contracts = {
        name: {"abi": data["abi"], "bytecode": "0x" + data["evm"]["bytecode"]["object"]}
        for source, by_name in output["contracts"].items()
        if source.startswith("contracts/")
        for name, data in by_name.items()
    }
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=cache_file.parent, delete=False) as tmp:
        json.dump(contracts, tmp)
    os.replace(tmp.name, cache_file)
    return _from_json(contracts)


def _run_solc(root: Path) -> dict[str, Any]:
    wrapper = Path(__file__).with_name("solcjs.js")
    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": path.read_text()} for name, path in _sources(root).items()},
        "settings": {
            **COMPILER_SETTINGS,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    try:
        output = solcx.compile_standard(standard_input, solc_binary=wrapper, base_path=str(root))
    except SolcError as exc:
        raise CompileError(str(exc)) from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e["formattedMessage"] for e in errors))
    return dict(output)


def _from_json(data: dict[str, Any]) -> dict[str, CompiledContract]:
    return {name: CompiledContract(name, c["abi"], c["bytecode"]) for name, c in data.items()}


def all_abis(contracts: dict[str, CompiledContract]) -> list[dict[str, Any]]:
    """Every ABI entry of every contract (used to decode custom errors by selector)."""
    return [entry for c in contracts.values() for entry in c.abi]
