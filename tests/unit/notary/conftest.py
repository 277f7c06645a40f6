"""Fixtures for notary tests: a bridge to the real @openzeppelin/merkle-tree."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
OZ_PACKAGE = REPO / "node_modules" / "@openzeppelin" / "merkle-tree"

_JS = r"""
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
let input = '';
process.stdin.on('data', c => (input += c));
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  const out = {};
  if (req.op === 'of') {
    const t = StandardMerkleTree.of(req.values, req.encoding);
    out.root = t.root;
    out.proofs = req.values.map((_, i) => t.getProof(i));
    out.dump = t.dump();
  } else if (req.op === 'load') {
    const t = StandardMerkleTree.load(req.dump);
    out.root = t.root;
    out.verified = req.dump.values.map((_, i) => t.verify(i, t.getProof(i)));
  } else if (req.op === 'verify') {
    out.ok = StandardMerkleTree.verify(req.root, req.encoding, req.value, req.proof);
  }
  process.stdout.write(JSON.stringify(out));
});
"""


class OZ:
    """Runs requests through the JavaScript @openzeppelin/merkle-tree."""

    def __call__(self, **request: Any) -> dict[str, Any]:
        """Send one request (op=of|load|verify) and return the parsed reply."""
        done = subprocess.run(
            ["node", "-e", _JS],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"node failed: {done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result


@pytest.fixture(scope="session")
def oz() -> OZ:
    """The reference implementation; skips if node or the npm package is missing."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: cannot cross-check against @openzeppelin/merkle-tree")
    if not OZ_PACKAGE.is_dir():
        pytest.skip(f"{OZ_PACKAGE} missing: run `npm ci` to cross-check against OpenZeppelin")
    return OZ()
