"""The consumer SDK is light: a consumer imports it next to its own code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_importing_the_client_loads_no_server_side_part() -> None:
    """A consumer imports the SDK next to its own code: no SQL, no gateway, no web3 node client."""
    probe = ("import sys, client, client.sdk; "
             "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('sqlmodel', 'sqlalchemy', 'gateway', 'web3', 'fastapi', 'anchoring', 'vault'))))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == []
