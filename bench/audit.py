"""Benchmark: one asset's history from a 100,000-event index, and indexing rate from a real anvil.

Run from the repository root:  .venv/bin/python -m bench.audit [--events N] [--per-block K]
Prints the figures, the command to reproduce, and last a JSON line with
``asset_history_ms_100k`` and ``index_events_per_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__" and sys.path and os.path.basename(sys.path[0]) == "bench":
    sys.path[0] = os.path.dirname(sys.path[0])  # keep this file from shadowing the `audit` package

from sqlalchemy import insert  # noqa: E402

from audit.db import (  # noqa: E402
    AssetRow, BlockRow, EventRow, GrantRow, IndexDb, LineageRow, PolicyRow, RevenueRow, RevocationRow,
    SettlementRow,
)
from audit.indexer import Indexer  # noqa: E402
from audit.queries import asset_history  # noqa: E402
from chain.logs import RpcLogSource  # noqa: E402

COMMAND = ".venv/bin/python -m bench.audit"
TOTAL_EVENTS = 100_000
QUERIES = 50


# ---- asset_history_ms_100k -----------------------------------------------------------------


class _Synth:
    """Rows for a synthetic index, each event also in the generic ``events`` table."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.rows: dict[Any, list[dict[str, Any]]] = {}
        self.block = 0

    def h(self) -> str:
        return "0x" + self.rng.randbytes(32).hex()

    def a(self) -> str:
        return "0x" + self.rng.randbytes(20).hex()

    def add(self, model: Any, name: str, row: dict[str, Any]) -> None:
        self.block += 1
        where = {"block_number": self.block, "tx_hash": self.h(), "log_index": 0, "timestamp": 1_700_000_000 + self.block}
        self.rows.setdefault(model, []).append({**where, **row})
        self.rows.setdefault(EventRow, []).append({**where, "block_hash": self.h(), "contract": "X", "name": name,
                                                    "args": "{}"})
        self.rows.setdefault(BlockRow, []).append({"number": self.block, "hash": self.h(),
                                                    "timestamp": where["timestamp"]})

    def asset(self, asset_id: str, parents: list[str]) -> None:
        self.add(AssetRow, "AssetRegistered", {"asset_id": asset_id, "provider": self.a(), "size": 1,
                                               "metadata_hash": self.h(), "metadata_uri": "u", "owners": "[]",
                                               "shares_bps": "[]"})
        for p in parents:  # lineage rows come from the same event, not a separate one
            block = self.block
            self.rows.setdefault(LineageRow, []).append({"block_number": block, "tx_hash": self.h(), "log_index": 0,
                                                         "timestamp": 0, "child_id": asset_id, "parent_id": p})

    def grant(self, grant_id: str, asset_id: str) -> None:
        self.add(GrantRow, "GrantIssued", {"grant_id": grant_id, "asset_id": asset_id, "consumer": self.a(),
                                           "purpose": "research", "not_before": 0, "not_after": 2**32 - 1,
                                           "max_count": 5, "price_per_access": "5", "nonce": "1", "deadline": 0,
                                           "signature": "0x" + "ab" * 65})

    def count(self) -> int:
        return len(self.rows.get(EventRow, []))


def build_index(db: IndexDb, total: int = TOTAL_EVENTS) -> str:
    """Fill ``db`` with ``total`` events; return the asset whose history is timed (a busy one)."""
    s = _Synth()
    target = s.h()
    ancestors = [s.h() for _ in range(3)]
    for i, a in enumerate(ancestors):
        s.asset(a, ancestors[i - 1:i] if i else [])
    s.asset(target, [ancestors[-1]])
    for _ in range(5):
        s.asset(s.h(), [target])
    s.add(PolicyRow, "PolicySet", {"asset_id": target, "epoch": 1, "not_before": 0, "not_after": 0, "max_count": 5,
                                   "price_per_access": "5", "compute_only": False, "auto_approve": True,
                                   "purposes": "[]", "jurisdictions": "[]"})
    for i in range(30):
        gid = s.h()
        s.grant(gid, target)
        if i % 6 == 0:
            s.add(RevocationRow, "GrantRevoked", {"grant_id": gid, "asset_id": target, "by": s.a()})
        if i % 3 == 0:
            s.add(SettlementRow, "UsageSettled", {"grant_id": gid, "asset_id": target, "consumer": s.a(), "units": 2,
                                                  "amount": "10", "receipts_root": s.h(), "period_start": 0,
                                                  "period_end": 86_400})
    assets = [s.h() for _ in range(10_000)]
    while s.count() < total:  # the bulk: other assets, their grants, revocations, settlements, payments
        kind = s.rng.random()
        if kind < 0.1:
            s.asset(s.h(), [])
        elif kind < 0.6:
            s.grant(s.h(), assets[s.rng.randrange(len(assets))])
        elif kind < 0.7:
            s.add(RevocationRow, "GrantRevoked", {"grant_id": s.h(), "asset_id": assets[s.rng.randrange(10_000)],
                                                  "by": s.a()})
        elif kind < 0.85:
            s.add(SettlementRow, "UsageSettled", {"grant_id": s.h(), "asset_id": assets[s.rng.randrange(10_000)],
                                                  "consumer": s.a(), "units": 1, "amount": "5", "receipts_root": s.h(),
                                                  "period_start": 0, "period_end": 86_400})
        else:
            s.add(RevenueRow, "RevenuePaid", {"grant_id": s.h(), "owner": s.a(), "amount": "5"})
    with db.transaction() as session:
        for model, rows in s.rows.items():
            for i in range(0, len(rows), 20_000):
                session.execute(insert(model.__table__), rows[i:i + 20_000])
    return target


def bench_history(queries: int = QUERIES) -> tuple[float, int]:
    """Median ms of ``asset_history`` over ``queries`` runs, and the number of events in the index."""
    with tempfile.TemporaryDirectory() as tmp:
        db = IndexDb.open(f"sqlite:///{Path(tmp) / 'audit.db'}")
        target = build_index(db)
        with db.session() as s:
            events = s.query(EventRow).count()
        times = []
        for _ in range(queries):
            with db.session() as s:
                t0 = time.perf_counter()
                h = asset_history(s, target)
                times.append((time.perf_counter() - t0) * 1000)
        assert len(h.grants) == 30 and len(h.ancestors) == 3 and len(h.descendants) == 5
        db.dispose()
    return statistics.median(times), events


# ---- index_events_per_s --------------------------------------------------------------------


def bench_index(events: int, per_block: int) -> tuple[float, int, int, float]:
    """Start anvil, anchor ``events`` roots (``per_block`` txs per block), time a full index from empty."""
    from dataclasses import replace

    from chain.devnet import rpc
    from chain.devspace import free_port, provision
    from chain.settings import ChainSettings
    from domain.types import Role

    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(ChainSettings(home=Path(tmp) / "home"), rpc_url=f"http://127.0.0.1:{free_port()}")
        devnet, chain, keystore = provision(settings, {"provider": (Role.PROVIDER, "DE")})
        try:
            t0 = time.perf_counter()
            _anchor_many(chain, keystore.account("provider"), events, per_block, rpc)
            generate_s = time.perf_counter() - t0
            db = IndexDb.open(f"sqlite:///{Path(tmp) / 'audit.db'}")
            source = RpcLogSource(chain)
            indexer = Indexer(db, source, start_block=source.start_block)
            t0 = time.perf_counter()
            run = indexer.run_once()
            elapsed = time.perf_counter() - t0
            blocks = run.to_block - run.from_block + 1
            db.dispose()
        finally:
            devnet.stop()
    return run.events / elapsed, run.events, blocks, generate_s


def _anchor_many(chain: Any, account: Any, count: int, per_block: int, rpc: Any) -> None:
    """Sign ``count`` anchorRoot txs with consecutive nonces and send them without waiting for receipts."""
    from chain.contracts import AnchorsClient

    nonce = chain.transaction_count(account.address)
    base = chain.base_fee() or 0
    template = {"from": account.address, "to": chain.address("AnchorRegistry"), "value": 0, "gas": 90_000,
                "maxFeePerGas": 4 * base + 10**9, "maxPriorityFeePerGas": 10**9, "nonce": nonce,
                "chainId": chain.chain_id, "data": AnchorsClient(chain).anchor_calldata("0x" + "01" * 32, 4, 1)}
    selector_and_head = template["data"][:10]
    tail = template["data"][10 + 64:]
    rpc(chain.settings.rpc_url, "evm_setAutomine", [False])
    try:
        for i in range(count):
            data = selector_and_head + os.urandom(32).hex() + tail
            signed = account.sign_transaction({**template, "data": data, "nonce": nonce + i})
            chain.send_raw_transaction(signed.raw_transaction)
            if (i + 1) % per_block == 0:
                rpc(chain.settings.rpc_url, "evm_mine", [])
        rpc(chain.settings.rpc_url, "evm_mine", [])
    finally:
        rpc(chain.settings.rpc_url, "evm_setAutomine", [True])
    last = chain.transaction_receipt(signed.hash.to_0x_hex())
    if last is None or last["status"] != 1:
        raise SystemExit("the generated anchorRoot transactions reverted")


def main() -> None:
    """Run both benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000, help="anchorRoot txs to index (default 5000)")
    parser.add_argument("--per-block", type=int, default=100, help="txs per mined block (default 100)")
    args = parser.parse_args()
    history_ms, indexed = bench_history()
    rate, events, blocks, generate_s = bench_index(args.events, args.per_block)
    figures = {"asset_history_ms_100k": round(history_ms, 2), "index_events_per_s": round(rate)}
    print(f"asset_history (30 grants, 3 ancestors, 5 descendants) from an index of {indexed:,} events: "
          f"{history_ms:.2f} ms median of {QUERIES} (target <= 50 ms)")
    print(f"index from empty: {events:,} events in {blocks:,} blocks ({args.per_block} txs/block, generated in "
          f"{generate_s:.1f} s): {rate:,.0f} events/s (target >= 5,000)")
    print(f"reproduce: {COMMAND} --events {args.events} --per-block {args.per_block}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
