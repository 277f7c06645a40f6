"""The house's rules, read from the code: which package may import which, no circles, and no web3 outside chain/.

Packages are rooms on floors; an import is an arrow and arrows only point down (see README, "Layout"):

    cli, bench                      the tools (nothing imports them; tests may)
    gateway, audit                  the connector and the auditor's index
    anchoring, client, settlement,  the notary service; the consumer SDK; settlement runs and payouts;
    services                        data services (descriptions, backend configs, what crosses to backends)
    chain, vault                    the only web3 user; the encrypted store
    domain, notary, config          pure: value types, ids, terms, ODRL; hashing, trees, receipts, proofs;
                                    the one settings reader and the schema migration runner (anyone may
                                    import config)

Every import statement counts, also inside functions (a lazy import is still an arrow) and under
``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "domain", "notary", "chain", "vault", "anchoring", "client", "settlement", "services", "gateway",
            "audit", "cli", "bench")
TOOLS = {"cli", "bench", "tests", "scripts"}
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "notary": set(),
    "chain": {"domain", "notary"},  # notary is pure too (chain.logs checksums addresses with notary.abi)
    "vault": {"domain"},
    "config": set(),
    "anchoring": {"chain", "domain", "notary"},
    "client": {"chain", "domain"},
    "settlement": {"anchoring", "chain", "domain", "notary"},  # config: anyone may import it
    "audit": {"chain", "domain", "notary", "vault"},
    "services": {"domain", "notary"},  # descriptions, backend configs, proxy hygiene: no chain, no HTTP server
    "gateway": {"anchoring", "chain", "domain", "notary", "services", "vault"},
    "cli": set(PACKAGES) - {"cli", "bench"},
    "bench": set(PACKAGES) - {"cli", "bench"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in a file, wherever it stands."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names
                    if f"{node.module}.{a.name}" in MODULES]
    return out


def _top(module: str) -> str:
    return module.split(".")[0]


def test_every_arrow_points_down() -> None:
    wrong = []
    for module, path in MODULES.items():
        room = _top(module)
        for line, target in _imports(path):
            top = _top(target)
            if (top in PACKAGES or top in TOOLS) and top not in (room, "config") and top not in ALLOWED[room]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {room} imports {target}")
    assert not wrong, "imports against the house's direction:\n" + "\n".join(wrong)


def test_the_client_takes_only_signing_from_chain() -> None:
    wrong = [f"{path.relative_to(ROOT)}:{line}: {target}" for module, path in MODULES.items()
             if _top(module) == "client" for line, target in _imports(path)
             if _top(target) == "chain" and target != "chain.eip712"]
    assert not wrong, wrong


def test_no_circle_of_imports() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        for _line, target in _imports(path):
            while target and target not in MODULES:  # `from a.b import name` -> a.b
                target = target.rpartition(".")[0]
            if target and target != module and not module.startswith(target + "."):
                graph[module].add(target)
    circles, state, stack = [], dict.fromkeys(MODULES, 0), []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state[n] == 1:
                circles.append(" -> ".join(stack[stack.index(n):] + [n]))
            elif state[n] == 0:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(MODULES):
        if state[m] == 0:
            visit(m)
    assert not circles, "circles of imports:\n" + "\n".join(circles)


WEB3_USE = re.compile(r"^\s*(from|import)\s+web3\b|\.w3\b(?!\.org)|eth_account\._|\bmake_request\(", re.M)


def test_only_chain_uses_web3() -> None:
    wrong = []
    for module, path in MODULES.items():
        if _top(module) == "chain":
            continue
        for n, text in enumerate(path.read_text().splitlines(), 1):
            if WEB3_USE.search(text):
                wrong.append(f"{path.relative_to(ROOT)}:{n}: {text.strip()}")
    assert not wrong, "web3 used outside chain/:\n" + "\n".join(wrong)


@pytest.mark.parametrize("package", ["notary", "domain", "config"])
def test_pure_packages_import_nothing_of_tds(package: str) -> None:
    wrong = [f"{path.relative_to(ROOT)}:{line}: {target}" for module, path in MODULES.items()
             if _top(module) == package for line, target in _imports(path)
             if _top(target) in PACKAGES and _top(target) != package]
    assert not wrong, wrong


def test_the_largest_package_holds_at_most_a_quarter_of_the_lines() -> None:
    lines = {pkg: sum(len(p.read_text().splitlines()) for m, p in MODULES.items() if _top(m) == pkg)
             for pkg in PACKAGES}
    total = sum(lines.values())
    biggest = max(lines, key=lambda k: lines[k])
    assert lines[biggest] <= total / 4, f"{biggest} holds {lines[biggest]} of {total} lines"


ID_REGEX = re.compile(r"\[0-9a-fA-F\]\{(40|64|130)\}|len\([^)]*\) == (42|66|132)\b")
ID_PARSERS = {"domain/ids.py", "notary/abi.py",  # notary keeps its own: it imports nothing of TDS
              "vault/keys.py"}  # a master key in hex is a secret's format, not an id


def test_one_id_parser() -> None:
    """Ids, addresses and signatures are parsed in domain.ids (and notary's own twin) only."""
    wrong = [f"{path.relative_to(ROOT)}:{n}: {text.strip()}" for module, path in MODULES.items()
             if path.relative_to(ROOT).as_posix() not in ID_PARSERS
             for n, text in enumerate(path.read_text().splitlines(), 1) if ID_REGEX.search(text)]
    assert not wrong, "id patterns outside domain.ids:\n" + "\n".join(wrong)
