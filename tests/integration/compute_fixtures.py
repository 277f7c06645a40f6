"""Compute-to-data test environment: the gateway environment plus a per-person dataset registered
compute-only, and helpers to register and approve algorithms (real bundles, real ComputePolicies)."""

from __future__ import annotations

import json
import random
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from domain.types import Policy
from gateway.jobs import register_algorithm
from tests.integration.gateway_fixtures import GatewayEnv

COMPUTE_POLICY = Policy(compute_only=True, auto_approve=True, max_count=50)

AGGREGATE = """
import csv, json, os
p = json.load(open(os.environ["TDS_PARAMS"]))
col, hi = p.get("column", "income"), float(p.get("clamp", 200000))
total = n = 0
for row in csv.DictReader(open(os.environ["TDS_INPUT"], newline="")):
    total += min(max(float(row[col]), 0.0), hi)
    n += 1
json.dump({"total": total, "count": n}, open(os.environ["TDS_OUTPUT"], "w"))
"""


def people_csv(rows: int = 200, seed: int = 7) -> bytes:
    """Per-person records (name, region, income): the raw rows must never leave."""
    rnd = random.Random(seed)
    lines = ["name,region,income"]
    for i in range(rows):
        lines.append(f"person-{i:04d},{rnd.choice(['north', 'south'])},{rnd.randint(20000, 120000)}")
    return ("\n".join(lines) + "\n").encode()


@dataclass
class ComputeEnv:
    """A gateway with a compute-only dataset of per-person rows."""

    gw: GatewayEnv
    dataset: str
    raw: bytes
    made: int = 0
    approved: list[str] = field(default_factory=list)

    def algorithm(self, code: str, kind: str = "json", *, values: dict[str, float] | None = None,
                  max_bytes: int = 65536, resources: dict[str, Any] | None = None) -> str:
        """Register an algorithm (a fresh bundle, so a fresh id) and return its id."""
        self.made += 1
        d = self.gw.home / f"alg-{self.made}"
        d.mkdir()
        (d / "main.py").write_text(textwrap.dedent(code) + f"\n# variant {self.made}\n")
        output: dict[str, Any] = {"kind": kind, "max_bytes": max_bytes}
        if values is not None:
            output["values"] = {k: {"sensitivity": v} for k, v in values.items()}
        manifest = {"name": f"algorithm {self.made}", "entry": "main.py", "output": output,
                    "resources": resources or {"cpu_s": 5, "wall_s": 10, "memory_mb": 256, "pids": 16}}
        (d / "tds-algorithm.json").write_text(json.dumps(manifest))
        reg, _ = register_algorithm(self.gw.gateway, d)
        return reg.asset_id

    def approve(self, algorithm_id: str, asset_id: str | None = None) -> None:
        """The provider approves an algorithm on the dataset (or ``asset_id``)."""
        self.gw.gateway.compute_tx().set_approval(asset_id or self.dataset, algorithm_id, True)

    def approved_algorithm(self, code: str, kind: str = "json", **kw: Any) -> str:
        """Register and approve."""
        algorithm = self.algorithm(code, kind, **kw)
        self.approve(algorithm)
        return algorithm

    def grant(self, who: str = "consumer", max_count: int = 10, asset_id: str | None = None) -> str:
        """A live compute grant of ``who`` on the dataset."""
        with self.gw.client(who) as c:
            return str(c.request_grant(asset_id or self.dataset, "research", max_count=max_count)["grant_id"])


@pytest.fixture(scope="module")
def compute_env(gw_env: GatewayEnv) -> Iterator[ComputeEnv]:
    """The module's gateway with a compute-only per-person dataset and an epsilon budget of 1.0 per grant."""
    raw = people_csv()
    reg = gw_env.new_asset(COMPUTE_POLICY, data=raw)
    gw_env.gateway.compute_tx().set_budget(reg.asset_id, 1_000_000)
    yield ComputeEnv(gw_env, reg.asset_id, raw)
