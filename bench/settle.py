"""Benchmark: the gas of the value loop (escrow locks, settlement, release, disputes) and the wall time of
a settlement run over many grants, on fresh anvil devnets; optionally Ocean Protocol's Escrow beside it.

Run from the repository root:  .venv/bin/python -m bench.settle [--grants N] [--quick] [--no-ocean]

1. **Gas** (from the receipts' ``gasUsed``; deterministic up to a few gas of signature zero bytes), one
   devnet: settling one prepaid grant of a provider-owned asset (steady state: the provider already has
   earnings; the first-earnings figure beside it), the cost of each extra owner, the escrow lock (a prepaid
   ``issueGrant`` minus a free one of the same request shape), ``release``, a dispute opened and ruled
   with a refund, one ``settle`` of 200 grants, and a pay-after-use grant (signed statement, token
   ``transferFrom``). Printed with the issue's targets.
2. **Settlement run**, a second devnet: N prepaid grants (one consumer, one provider-owned asset), one
   allowed access record per grant written to a real ledger database, sealed and anchored by the real
   notary (``anchoring.notary.Notary``); then one run timed alone: the period's usage read from the ledger
   (``settlement.usage.period_usage``), ``Settler.plan`` and ``Settler.execute`` (the usage root anchored
   on behalf of the provider, ``settle`` in batches of 200, each checking the root on-chain). Setup time
   is reported apart.
3. **Ocean** (when the devDependency ``@oceanprotocol/contracts`` is installed): its Escrow (ABI and
   bytecode from the package) with its FactoryRouter (for the OPC fee it charges on claims), deployed on
   the first devnet with our SettlementToken: deposit, authorize, createLock, claimLock (with its default
   0.1% OPC fee, and with the fee set to 0), claimLocks, cancelExpiredLock.

Prints the figures, the command to reproduce them, and last a JSON line. ``--quick`` (N = 200): a smoke
test of the whole bench in about 30 s. The default N = 10,000 takes about 3 minutes on two cores: ~40 s
of gas figures and traces, ~75 s of setup (10,000 ``issueGrant`` transactions, mined 250 to a block), and
the timed run (~80 s).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if __name__ == "__main__" and sys.path and os.path.basename(sys.path[0]) == "bench":
    sys.path[0] = os.path.dirname(sys.path[0])

from sqlalchemy import insert  # noqa: E402

from anchoring.ledger import AccessRecord, open_engine  # noqa: E402
from anchoring.notary import Notary  # noqa: E402
from anchoring.schema import upgrade_database  # noqa: E402
from chain.client import Chain  # noqa: E402
from chain.contracts import (  # noqa: E402
    AnchorsClient,
    AssetsClient,
    Claim,
    DisputesClient,
    GrantsClient,
    SettlementClient,
    Split,
    TokenClient,
)
from chain.deploy import ContractDeployment  # noqa: E402
from chain.devnet import Devnet, rpc  # noqa: E402
from chain.devspace import free_port, provision  # noqa: E402
from chain.eip712 import UsageStatement, grant_id, sign_acceptance, sign_grant_request  # noqa: E402
from chain.keys import Keystore  # noqa: E402
from chain.settings import ChainSettings  # noqa: E402
from chain.tx import TxSender  # noqa: E402
from domain.types import GrantRequest, Policy, PriceModel, Role  # noqa: E402
from settlement.periods import Period  # noqa: E402
from settlement.run import DEFAULT_BATCH_SIZE, Settler  # noqa: E402
from settlement.usage import period_usage  # noqa: E402

COMMAND = ".venv/bin/python -m bench.settle"
DEFAULT_GRANTS = 10_000
QUICK_GRANTS = 200
BATCHED = 200  # grants in the batched settle() of the gas part (the Settler's default batch size)
PRICE = 10**16  # 0.01 token (18 decimals) per use
COUNT = 5  # maxCount of each grant: a prepaid lock is COUNT x PRICE
URI = "http://127.0.0.1:8700/assets/0x" + "ab" * 32
OCEAN_PACKAGE = Path(__file__).resolve().parent.parent / "node_modules" / "@oceanprotocol" / "contracts"
OCEAN_BATCH = 50  # locks claimed in one claimLocks (its lookups scan every open lock: cost grows with the batch)
PROOF = b"\x01" * 32  # the job proof a payee passes with a claim (emitted, not checked)

TARGETS: dict[str, tuple[float, str]] = {
    "gas_settle_one_owner": (80_000, "gas"),
    "gas_per_extra_owner": (30_000, "gas"),
    "gas_per_settled_grant_batched": (25_000, "gas"),
    "settle_10000_grants_s": (600, "s"),
}
MEMBERS = {"provider": (Role.PROVIDER, "DE"), "consumer": (Role.CONSUMER, "DE")}
EXTRA = ("coowner", "owner3", "collector")


# ---- a devnet with TDS deployed ---------------------------------------------------------------------------


@dataclass
class Space:
    """A running devnet, its keys, and helpers for the value loop (assets, policies, grants, anchors)."""

    home: Path
    devnet: Devnet
    chain: Chain
    keystore: Keystore
    start: int = 0  # period start for settle calls (before any grant's use)
    nonce: int = 0
    senders: dict[str, TxSender] = field(default_factory=dict)

    def close(self) -> None:
        """Stop anvil and delete the temp dir."""
        self.devnet.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> "Space":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def address(self, name: str) -> str:
        """A keystore address."""
        return self.keystore.address(name)

    def sender(self, name: str) -> TxSender:
        """The (cached) tx sender of ``name``: one nonce counter per key (drop it from ``senders`` after
        sending with that key another way: a new one reads the nonce from the node)."""
        if name not in self.senders:
            self.senders[name] = self.chain.sender(self.keystore.account(name))
        return self.senders[name]

    def now(self) -> int:
        """The head block's timestamp."""
        return int(self.chain.head_reader().latest().timestamp)

    def mine(self, seconds: int = 0) -> None:
        """Advance the clock by ``seconds`` and mine a block."""
        if seconds:
            rpc(self.chain.settings.rpc_url, "evm_increaseTime", [seconds])
        rpc(self.chain.settings.rpc_url, "evm_mine", [])

    def fund(self, consumer: str, amount: int) -> None:
        """Mint ``amount`` to ``consumer`` and deposit it all into Settlement."""
        TokenClient(self.chain, self.sender("operator")).mint(self.address(consumer), amount)
        TokenClient(self.chain, self.sender(consumer)).approve(self.chain.address("Settlement"), amount)
        SettlementClient(self.chain, self.sender(consumer)).deposit(amount)

    def asset(self, label: str, owners: tuple[str, ...] = (), shares: tuple[int, ...] = ()) -> str:
        """Register an asset of the provider (a fresh content hash per call); returns its id."""
        asset_id = "0x" + hashlib.sha256(f"{label}-{secrets.token_hex(8)}".encode()).hexdigest()
        AssetsClient(self.chain, self.sender("provider")).register(
            asset_id, 1 << 20, "0x" + "11" * 32, URI, [], [self.address(o) for o in owners], list(shares))
        return asset_id

    def policy(self, asset_id: str, model: PriceModel, price: int = PRICE) -> None:
        """Set the asset's policy (COUNT uses a grant at most)."""
        GrantsClient(self.chain, self.sender("provider")).set_policy(
            asset_id, Policy(max_count=COUNT, price_per_access=price, price_model=model))

    def request(self, asset_id: str, price: int = PRICE, consumer: str = "consumer") -> GrantRequest:
        """A fresh request for the asset's current policy epoch (a new nonce each time)."""
        state = GrantsClient(self.chain).policy_state(asset_id)
        assert state is not None, f"asset {asset_id} has no policy"
        self.nonce += 1
        now = self.now()
        return GrantRequest(asset_id, self.address(consumer), "research", now - 60, now + 30 * 86_400, COUNT,
                            price, self.nonce, now + 3_600, state.epoch)

    def issue(self, request: GrantRequest) -> tuple[str, int]:
        """Issue a grant with both signatures (the provider sends it); returns (grant id, gas used)."""
        contract = self.chain.address("UsageGrants")
        gid = grant_id(self.chain.chain_id, contract, request)
        signature = sign_grant_request(self.keystore.account("consumer"), self.chain.chain_id, contract, request)
        acceptance = sign_acceptance(self.keystore.account("provider"), self.chain.chain_id, contract, gid)
        issued, receipt = GrantsClient(self.chain, self.sender("provider")).issue(request, signature, acceptance)
        assert issued == gid
        return gid, int(receipt["gasUsed"])

    def grant(self, asset_id: str, price: int = PRICE) -> str:
        """Issue one grant on the asset; returns its id."""
        return self.issue(self.request(asset_id, price))[0]

    def settle(self, claims: list[Claim], splits: list[Split]) -> Any:
        """Anchor a fresh receipts root over the claims' units (the provider) and settle ``claims`` for the
        period [start, head]; returns the settle transaction's receipt."""
        root = "0x" + secrets.token_hex(32)
        AnchorsClient(self.chain, self.sender("provider")).anchor(root, sum(c.units for c in claims),
                                                                  AnchorsClient.KIND_RECEIPTS)
        return SettlementClient(self.chain, self.sender("provider")).settle(self.start, self.now(), root, claims,
                                                                            splits)


def open_space(prefix: str) -> Space:
    """Start anvil on a free loopback port in a temp dir, deploy TDS, onboard provider and consumer."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    settings = replace(ChainSettings(home=home), rpc_url=f"http://127.0.0.1:{free_port()}")
    devnet, chain, keystore = provision(settings, MEMBERS, EXTRA)
    space = Space(home, devnet, chain, keystore)
    space.start = space.now() - 120
    return space


# ---- 1. gas ---------------------------------------------------------------------------------------------


def measure_gas(space: Space) -> tuple[dict[str, int], dict[str, Any]]:
    """Every gas figure of the value loop on ``space`` (see the module doc), and the receipts of the
    settle transactions with a target (for :func:`trace_breakdown`)."""
    s = space
    gas: dict[str, int] = {}
    traced: dict[str, Any] = {}
    s.fund("consumer", 10**24)
    solo = s.asset("solo")  # provider-owned: no owners listed, the provider is paid
    s.policy(solo, PriceModel.PREPAID)
    free = s.asset("free")
    s.policy(free, PriceModel.FREE, price=0)

    # the lock: the same request shape on a free and a prepaid policy (second of each: nothing first-time)
    for _ in range(2):
        _gid, gas["gas_issue_free"] = s.issue(s.request(free, price=0))
        _gid, gas["gas_issue_prepaid"] = s.issue(s.request(solo))
    gas["gas_lock"] = gas["gas_issue_prepaid"] - gas["gas_issue_free"]

    # settle one grant, one owner (the provider): first earnings, then steady state
    solo_split = [Split(solo, (), (), ())]
    first, second = s.grant(solo), s.grant(solo)
    gas["gas_settle_one_owner_first"] = int(s.settle([Claim(first, 1, 0)], solo_split)["gasUsed"])
    traced["one"] = s.settle([Claim(second, 1, 0)], solo_split)
    gas["gas_settle_one_owner"] = int(traced["one"]["gasUsed"])
    gas["gas_claim"] = gas["gas_settle_one_owner"]  # the claim against the lock is the settle() itself

    # owners by shares: 1 listed owner vs 3 (every owner has earnings before the measured settle)
    for owners, shares in ((("provider",), (10_000,)), (("provider", "coowner", "owner3"), (4_000, 3_000, 3_000))):
        asset = s.asset(f"owners-{len(owners)}", owners, shares)
        s.policy(asset, PriceModel.PREPAID)
        split = [Split(asset, tuple(s.address(o) for o in owners), shares, ())]
        prime, measured = s.grant(asset), s.grant(asset)
        s.settle([Claim(prime, 1, 0)], split)
        traced[f"owners{len(owners)}"] = s.settle([Claim(measured, 1, 0)], split)
    gas["gas_settle_1_listed_owner"] = int(traced["owners1"]["gasUsed"])
    gas["gas_settle_3_owners"] = int(traced["owners3"]["gasUsed"])
    gas["gas_per_extra_owner"] = (gas["gas_settle_3_owners"] - gas["gas_settle_1_listed_owner"]) // 2

    # one settle() of BATCHED grants of the provider-owned asset (steady state)
    batch = [s.grant(solo) for _ in range(BATCHED)]
    traced["batch"] = s.settle([Claim(g, 1, 0) for g in batch], solo_split)
    used = int(traced["batch"]["gasUsed"])
    gas[f"gas_settle_{BATCHED}_grants"] = used
    gas["gas_per_settled_grant_batched"] = used // BATCHED
    gas["gas_marginal_settled_grant"] = (used - gas["gas_settle_one_owner"]) // (BATCHED - 1)

    # release: the provider returns the rest of a revoked grant's lock (after one settled use)
    request = s.request(solo)
    released, _ = s.issue(request)
    s.settle([Claim(released, 1, 0)], solo_split)
    GrantsClient(s.chain, s.sender("provider")).revoke(request)
    gas["gas_release"] = int(SettlementClient(s.chain, s.sender("provider")).release(released)["gasUsed"])

    # disputes: the consumer opens one on a grant (freezes it), the operator rules a refund from the lock
    request = s.request(solo)
    s.issue(request)
    disputes = DisputesClient(s.chain, s.sender("consumer"))
    dispute_id, receipt = disputes.open(request, "grant", 0, "0x" + "e1" * 32, "ipfs://evidence")
    gas["gas_dispute_open"] = int(receipt["gasUsed"])
    gas["gas_rule"] = int(DisputesClient(s.chain, s.sender("operator")).rule(dispute_id, "refund", PRICE)["gasUsed"])
    dispute_id, _receipt = disputes.open(request, "grant", 0, "0x" + "e2" * 32, "ipfs://evidence-2")
    gas["gas_rule_upheld"] = int(DisputesClient(s.chain, s.sender("operator")).rule(dispute_id, "upheld", 0)["gasUsed"])

    # pay after use: the consumer's signed statement, the amount pulled from its wallet (transferFrom)
    gas["gas_settle_pay_after_use"] = _pay_after_use(s)
    return gas, traced


def _pay_after_use(s: Space) -> int:
    """Settle one pay-after-use grant (steady: the provider has earnings, the consumer holds tokens)."""
    asset = s.asset("pay-after-use")
    s.policy(asset, PriceModel.PAY_AFTER_USE)
    settlement = s.chain.address("Settlement")
    TokenClient(s.chain, s.sender("operator")).mint(s.address("consumer"), 10**22)
    TokenClient(s.chain, s.sender("consumer")).approve(settlement, 10**21)
    split = [Split(asset, (), (), ())]
    used = 0
    for _ in range(2):  # the second is measured (the first settles the asset's first pull)
        gid = s.grant(asset)
        root = "0x" + secrets.token_hex(32)
        AnchorsClient(s.chain, s.sender("provider")).anchor(root, 1, AnchorsClient.KIND_RECEIPTS)
        end = s.now()
        statement = UsageStatement(gid, s.start, end, 1, PRICE, root)
        signature = statement.sign(s.keystore.account("consumer"), s.chain.chain_id, settlement)
        receipt = SettlementClient(s.chain, s.sender("provider")).settle(
            s.start, end, root, [Claim(gid, 1, 0, signature)], split)
        used = int(receipt["gasUsed"])
    return used


CALLS = frozenset({"CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"})


def trace_breakdown(chain: Chain, receipt: Any) -> dict[str, list[int]]:
    """Where a transaction's gas goes, by kind: ``{kind: [gas, count]}``, summing to its gasUsed.

    Anvil keeps no steps of mined transactions, so the same call is replayed with ``debug_traceCall`` on
    the state before its block (one transaction per block on the devnet: the same pre-state). Steps of
    the top frame are grouped (storage reads cold/warm, writes by cost, events, hashing, the rest);
    external calls count whole (the callee's steps included); ``intrinsic`` is 21,000 plus calldata.
    """
    tx = chain.rpc_request("eth_getTransactionByHash", [receipt["transactionHash"].to_0x_hex()])["result"]
    call = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]}
    options = {"disableStack": True, "disableMemory": True, "disableStorage": True, "enableReturnData": False}
    trace: Any = rpc(chain.settings.rpc_url, "debug_traceCall", [call, hex(int(receipt["blockNumber"]) - 1), options],
                     timeout=600)
    steps = trace["structLogs"]
    out: dict[str, list[int]] = {}

    def add(kind: str, gas: int) -> None:
        entry = out.setdefault(kind, [0, 0])
        entry[0] += gas
        entry[1] += 1

    add("intrinsic (21,000 + calldata)", int(tx["gas"], 16) - int(steps[0]["gas"]))
    call_gas: int | None = None
    for step in steps:
        if step["depth"] != 1:
            continue
        if call_gas is not None:
            add("external calls (whole)", call_gas - int(step["gas"]))
            call_gas = None
        op, cost = step["op"], int(step["gasCost"])
        if op in CALLS:
            call_gas = int(step["gas"])
        elif op == "SLOAD":
            add("SLOAD cold (2,100)" if cost >= 2_100 else "SLOAD warm (100)", cost)
        elif op == "SSTORE":
            add({22_100: "SSTORE new slot (22,100)", 20_000: "SSTORE new slot, warm (20,000)",
                 5_000: "SSTORE rewrite (5,000)", 2_900: "SSTORE rewrite, read before (2,900)"}.get(
                cost, "SSTORE again in the tx (100)"), cost)
        elif op.startswith("LOG"):
            add("events (LOG)", cost)
        elif op == "KECCAK256":
            add("KECCAK256 (mapping slots, hashes)", cost)
        else:
            add("other opcodes (ABI decoding, checks, memory)", cost)
    refund = sum(v[0] for v in out.values()) - int(receipt["gasUsed"])
    if refund:
        out["refund (or replay difference)"] = [-refund, 1]
    return out


def combine(parts: Mapping[str, dict[str, list[int]]], weights: Mapping[str, float]) -> dict[str, list[float]]:
    """A weighted sum of breakdowns (``{"b": 1, "a": -1}``: b minus a; ``{"a": 1 / n}``: a per item)."""
    out: dict[str, list[float]] = {}
    for name, weight in weights.items():
        for kind, (gas, count) in parts[name].items():
            entry = out.setdefault(kind, [0.0, 0.0])
            entry[0] += weight * gas
            entry[1] += weight * count
    return out


# ---- 2. a settlement run over N grants ------------------------------------------------------------------


@dataclass
class RunFigures:
    """What the timed settlement run measured."""

    grants: int
    setup: dict[str, float]
    usage_s: float
    plan_s: float
    execute_s: float
    transactions: int
    settle_transactions: int
    gas_total: int
    settled: int

    @property
    def run_s(self) -> float:
        """The whole run: ledger read, plan, execute."""
        return self.usage_s + self.plan_s + self.execute_s


def _issue_many(space: Space, asset_id: str, n: int, progress: Callable[[str], None]) -> list[str]:
    """Issue ``n`` prepaid grants on ``asset_id``: the first through the TxSender (its estimate sizes the
    rest), the others signed locally with consecutive nonces, sent in JSON-RPC batches of ISSUE_CHUNK and
    mined as one block each (automine off meanwhile: one block per grant makes anvil slow down as its
    chain grows, to ~10 grants/s by 10,000); every receipt is checked (status 1: grant and lock exist)."""
    s = space
    chain = s.chain
    contract = chain.address("UsageGrants")
    grants = chain.contract("UsageGrants")
    consumer, provider = s.keystore.account("consumer"), s.keystore.account("provider")
    state = GrantsClient(chain).policy_state(asset_id)
    assert state is not None
    now = s.now()

    def call(i: int) -> tuple[str, Any]:
        request = GrantRequest(asset_id, consumer.address, "research", now - 60, now + 30 * 86_400, COUNT, PRICE,
                               10_000_000 + i, now + 24 * 3_600, state.epoch)
        gid = grant_id(chain.chain_id, contract, request)
        signature = sign_grant_request(consumer, chain.chain_id, contract, request)
        acceptance = sign_acceptance(provider, chain.chain_id, contract, gid)
        return gid, grants.functions.issueGrant(request.as_tuple(), bytes.fromhex(signature[2:]),
                                                bytes.fromhex(acceptance[2:]))

    first, fn = call(0)
    sender = s.sender("provider")
    gas_limit = int(sender.estimate(fn) * 1.5)
    sender.transact(fn)
    s.senders.pop("provider")  # the bulk sends below move the provider's nonce past this sender's counter
    ids, hashes = [first], []
    nonce = chain.transaction_count(provider.address, "pending")
    fees = {"maxFeePerGas": 1_000 * 10**9, "maxPriorityFeePerGas": 10**9}  # far above the devnet's base fee
    url = chain.settings.rpc_url
    t0 = time.perf_counter()
    rpc(url, "evm_setAutomine", [False])  # one block per chunk, not one per grant: a smaller chain to keep
    try:
        for lo in range(1, n, ISSUE_CHUNK):
            raws = []
            for i in range(lo, min(n, lo + ISSUE_CHUNK)):
                gid, fn = call(i)
                tx = {"to": contract, "data": fn._encode_transaction_data(), "value": 0, "gas": gas_limit,
                      "nonce": nonce, "chainId": chain.chain_id, "type": 2, **fees}
                nonce += 1
                raws.append(("eth_sendRawTransaction",
                             ["0x" + provider.sign_transaction(tx).raw_transaction.hex()]))
                ids.append(gid)
            chunk = []
            for answer in chain.rpc_batch(raws):
                if "error" in answer:
                    raise SystemExit(f"issueGrant refused by the node: {answer['error']}")
                chunk.append(str(answer["result"]))
            rpc(url, "evm_mine", [], timeout=60)
            _await_receipts(chain, chunk)
            hashes += chunk
            if len(ids) % 1_000 < ISSUE_CHUNK or len(ids) == n:
                rate = len(ids) / (time.perf_counter() - t0)
                progress(f"  issued {len(ids):,}/{n:,} grants ({rate:,.0f}/s)")
    finally:
        rpc(url, "evm_setAutomine", [True])
    return ids


ISSUE_CHUNK = 250
"""Signed issueGrant transactions per JSON-RPC batch and block (250 x ~180,000 gas: under the 60M limit)."""


def _await_receipts(chain: Chain, hashes: list[str], timeout_s: float = 120.0) -> None:
    """Wait until every transaction of ``hashes`` is mined (bounded) and check each succeeded."""
    deadline = time.monotonic() + timeout_s
    pending = list(hashes)
    while pending:
        answers = []
        for lo in range(0, len(pending), 500):
            answers += chain.rpc_batch([("eth_getTransactionReceipt", [h]) for h in pending[lo:lo + 500]])
        failed = [h for h, a in zip(pending, answers) if a.get("result") and a["result"]["status"] != "0x1"]
        if failed:
            raise SystemExit(f"{len(failed)} issueGrant transactions reverted (first {failed[0]})")
        pending = [h for h, a in zip(pending, answers) if not a.get("result")]
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"{len(pending)} issueGrant transactions not mined within {timeout_s:.0f} s")
        if pending:
            time.sleep(0.05)


def _write_uses(engine: Any, consumer: str, asset_id: str, grant_ids: Iterable[str]) -> float:
    """One allowed access record per grant, as the gateway writes it when it serves; returns the time of
    the first record."""
    at = time.time()
    rows = [{"at": at + i * 1e-6, "decision": "allow", "code": "ok", "method": "GET",
             "path": f"/assets/{asset_id}/data", "consumer": consumer, "asset_id": asset_id, "grant_id": gid,
             "purpose": "research", "bytes": 1_024, "content_hash": asset_id, "requested": 1_024}
            for i, gid in enumerate(grant_ids)]
    with engine.begin() as conn:
        conn.execute(insert(AccessRecord), rows)
    return at


def measure_run(n: int, progress: Callable[[str], None]) -> RunFigures:
    """Set up ``n`` prepaid grants with one anchored use each on a fresh devnet, then time one run."""
    setup: dict[str, float] = {}
    t = time.perf_counter()
    with open_space("tds-bench-settle-run-") as s:
        setup["devnet_s"] = time.perf_counter() - t
        t = time.perf_counter()
        s.fund("consumer", n * COUNT * PRICE)
        asset = s.asset("run")
        s.policy(asset, PriceModel.PREPAID)
        grant_ids = _issue_many(s, asset, n, progress)
        setup["issue_s"] = time.perf_counter() - t

        t = time.perf_counter()
        url = f"sqlite:///{s.home / 'ledger.sqlite'}"
        engine = open_engine(url)
        upgrade_database(engine)
        first_use = _write_uses(engine, s.address("consumer"), asset, grant_ids)
        setup["ledger_s"] = time.perf_counter() - t
        t = time.perf_counter()
        notary = Notary(engine, AnchorsClient(s.chain, s.sender("provider")), chain_id=s.chain.chain_id,
                        contract=s.chain.address("AnchorRegistry"), provider=s.address("provider"))
        sealed = notary.seal_all()
        anchored = notary.anchor_sealed()
        setup["notary_s"] = time.perf_counter() - t
        progress(f"  notary: {len(sealed)} batch(es) sealed, {len(anchored)} anchored")
        time.sleep(max(0.0, first_use + n * 1e-6 + 1.05 - time.time()))  # every use before the period's end
        s.mine()
        period = Period(int(first_use) - 1, s.now())

        settler = Settler(s.chain, s.sender("provider"), DEFAULT_BATCH_SIZE)
        t0 = time.perf_counter()
        usage = period_usage(engine, period)
        t1 = time.perf_counter()
        plan = settler.plan(usage)
        t2 = time.perf_counter()
        result = settler.execute(plan)
        t3 = time.perf_counter()

        roots = {b.root for b in plan.batches}
        settled_roots = {x["receipts_root"] for x in result.settled}
        problems = []
        if len(result.settled) != n or len(plan.claims) != n:
            problems.append(f"{len(result.settled)} of {n} grants settled ({len(plan.claims)} planned)")
        if settled_roots != roots or any(AnchorsClient(s.chain).get(s.address("provider"), r) is None for r in roots):
            problems.append("a settled root is not the anchored usage root")
        if problems:
            raise SystemExit("settlement run incomplete: " + "; ".join(problems))
        engine.dispose()
        sent_anchors = sum(1 for a in result.anchored if a["sent"])
        return RunFigures(n, setup, t1 - t0, t2 - t1, t3 - t2, len(result.transactions) + sent_anchors,
                          len(result.transactions), sum(x["gas_used"] for x in result.transactions),
                          len(result.settled))


# ---- 3. Ocean Protocol's Escrow ---------------------------------------------------------------------------


def _artifact(relative: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((OCEAN_PACKAGE / "artifacts" / relative).read_text())
    return data


def measure_ocean(space: Space) -> tuple[dict[str, int], str]:
    """Ocean's Escrow flow on ``space`` with the SettlementToken: (gas by name, note); no figures and the
    reason when the package is missing or the flow fails."""
    try:
        version = json.loads((OCEAN_PACKAGE / "package.json").read_text())["version"]
        escrow_art = _artifact("contracts/escrow/Escrow.sol/Escrow.json")
        router_art = _artifact("contracts/pools/FactoryRouter.sol/FactoryRouter.json")
    except (OSError, KeyError, ValueError):
        return {}, ("@oceanprotocol/contracts is not installed (run `npm ci`: it is a devDependency) "
                    "or ships no Escrow artifact")
    try:
        return _ocean_flow(space, escrow_art, router_art), f"@oceanprotocol/contracts {version}"
    except Exception as exc:  # a third-party contract: report why, keep our figures
        return {}, f"the Escrow flow failed: {type(exc).__name__}: {exc}"


def _deploy(chain: Chain, sender: TxSender, name: str, artifact: dict[str, Any], *args: Any) -> Any:
    """Deploy a foreign artifact and add it to this process's view of the deployment (``chain.contract``)."""
    receipt = sender.deploy(artifact["abi"], artifact["bytecode"], *args)
    chain.deployment.contracts[name] = ContractDeployment(str(receipt["contractAddress"]), artifact["abi"],
                                                          receipt["transactionHash"].to_0x_hex(),
                                                          int(receipt["blockNumber"]))
    return chain.contract(name)


def _ocean_flow(s: Space, escrow_art: dict[str, Any], router_art: dict[str, Any]) -> dict[str, int]:
    operator, consumer, provider = s.sender("operator"), s.sender("consumer"), s.sender("provider")
    token_address = s.chain.address("SettlementToken")
    token = TokenClient(s.chain, operator)
    collector = s.address("collector")
    # FactoryRouter(owner, oceanToken, bpoolTemplate, opcCollector, preCreatedPools): our token as its
    # "Ocean token" (an approved base token: the lower OPC fee); the pool template is never used here
    router_c = _deploy(s.chain, operator, "OceanFactoryRouter", router_art, operator.address, token_address,
                       collector, collector, [])
    escrow = _deploy(s.chain, operator, "OceanEscrow", escrow_art, router_c.address, collector)
    fee = int(router_c.functions.getOPCFee(token_address).call())

    def gas_of(sender: TxSender, fn: Any) -> int:
        return int(sender.transact(fn)["gasUsed"])

    n = OCEAN_BATCH
    token.mint(consumer.address, 10**24)
    TokenClient(s.chain, consumer).approve(escrow.address, 10**23)
    gas: dict[str, int] = {}
    gas["ocean_deposit_first"] = gas_of(consumer, escrow.functions.deposit(token_address, 10**20))
    gas["ocean_deposit"] = gas_of(consumer, escrow.functions.deposit(token_address, 10**20))
    gas["ocean_authorize"] = gas_of(consumer, escrow.functions.authorize(
        token_address, provider.address, 10**22, 86_400, 10 * n))
    jobs = iter(range(1, 10 * n))
    lock = COUNT * PRICE

    def create(job: int, expiry: int = 3_600) -> int:
        return gas_of(provider, escrow.functions.createLock(job, token_address, consumer.address, lock, expiry))

    def claim(job: int) -> int:  # one use's price claimed; the rest of the lock goes back to the payer
        return gas_of(provider, escrow.functions.claimLock(job, token_address, consumer.address, PRICE, PROOF))

    job = next(jobs)
    gas["ocean_create_lock"] = create(job)
    gas["ocean_claim_lock_first"] = claim(job)
    job = next(jobs)
    create(job)
    gas["ocean_claim_lock"] = claim(job)
    # a batch: n locks created one by one (each scans the open locks for its job id), claimed in one tx
    batch = [next(jobs) for _ in range(n)]
    created = [create(x) for x in batch]
    gas[f"ocean_create_lock_{n}th_open"] = created[-1]
    used = gas_of(provider, escrow.functions.claimLocks(
        batch, [token_address] * n, [consumer.address] * n, [PRICE] * n, [PROOF] * n))
    gas[f"ocean_claim_locks_{n}"] = used
    gas["ocean_claim_per_lock_batched"] = used // n
    # an expired lock cancelled (what is left of the escrow back to the payer)
    job = next(jobs)
    create(job, expiry=60)
    s.mine(120)
    gas["ocean_cancel_expired_lock"] = gas_of(consumer, escrow.functions.cancelExpiredLock(
        job, token_address, consumer.address, provider.address))
    gas["ocean_opc_fee_ppm"] = fee // 10**12
    # the same steady claim without the OPC fee (no fee transfer to the collector), as TDS charges none
    consume, provider_fee = router_c.functions.getOPCConsumeFee().call(), router_c.functions.getOPCProviderFee().call()
    operator.transact(router_c.functions.updateOPCFee(0, 0, consume, provider_fee))
    job = next(jobs)
    create(job)
    gas["ocean_claim_lock_no_fee"] = claim(job)
    return gas


# ---- report -----------------------------------------------------------------------------------------------


def verdict(name: str, value: float | None) -> str:
    """``target <= T: met`` / ``MISSED`` for a figure with a target; empty otherwise."""
    if name not in TARGETS or value is None:
        return ""
    target, unit = TARGETS[name]
    met = value <= target
    return f"target <= {target:,.0f} {unit}: {'met' if met else 'MISSED'}"


BREAKDOWN_COLUMNS = {  # figure with a target: (column title, weights over the traced receipts)
    "gas_settle_one_owner": ("one grant", {"one": 1.0}),
    "gas_per_extra_owner": ("per extra owner", {"owners3": 0.5, "owners1": -0.5}),
    "gas_per_settled_grant_batched": (f"per grant, {BATCHED} in one", {"batch": 1.0 / BATCHED}),
}


def print_breakdown(parts: Mapping[str, dict[str, list[int]]]) -> dict[str, dict[str, list[float]]]:
    """Print where the gas of each targeted figure goes (columns of :data:`BREAKDOWN_COLUMNS`)."""
    columns = {name: combine(parts, weights) for name, (_title, weights) in BREAKDOWN_COLUMNS.items()}
    kinds = sorted({k for c in columns.values() for k in c}, key=lambda k: -max(abs(c.get(k, [0, 0])[0])
                                                                             for c in columns.values()))
    print("\nwhere the gas goes (debug_traceCall replay of the same calls; gas, and count of operations)")
    print(f"  {'':<46}" + "".join(f"{BREAKDOWN_COLUMNS[n][0]:>24}" for n in columns))
    for kind in kinds:
        cells = []
        for column in columns.values():
            gas, count = column.get(kind, [0.0, 0.0])
            cells.append(f"{gas:>12,.0f} ({count:>5.1f}x)" if round(gas) or round(count, 1) else f"{'-':>24}")
        print(f"  {kind:<46}" + "".join(f"{c:>24}" for c in cells))
    print(f"  {'total':<46}" + "".join(f"{sum(v[0] for v in c.values()):>12,.0f}{'':>12}" for c in columns.values()))
    return columns


def limited_by(column: dict[str, list[float]], top: int = 4) -> str:
    """The largest kinds of a breakdown column, as one line."""
    ranked = sorted(column.items(), key=lambda kv: -kv[1][0])[:top]
    total = sum(v[0] for v in column.values()) or 1.0
    return "; ".join(f"{kind} {gas:,.0f} ({gas / total:.0%})" for kind, (gas, _n) in ranked)


WHY = {
    "gas_settle_one_owner": (
        "settle() of one grant pays, besides the intrinsic 21,000: three registry calls (requireActive, payoutOf, "
        "getAnchor: cold accounts and slots), the grant's Account (3 cold slots read, 2 rewritten: settledUntil/"
        "units, locked), the owner's earnings slot, and the UsageSettled and RevenuePaid events"),
    "gas_per_extra_owner": (
        "each extra owner: its earnings slot (cold read, rewrite), a RevenuePaid event, and its address and "
        "share in the calldata and in the owners hash checked against AssetRegistry"),
    "gas_per_settled_grant_batched": (
        "in a batch the registry calls, the root check and the intrinsic gas are shared; per grant remain its "
        "Account's storage (3 cold slots read, 2 rewritten), two events (UsageSettled, RevenuePaid: LOG4 with "
        "3 indexed topics each), its ~200 bytes of calldata and its ABI decoding and checks"),
}


def report(gas: dict[str, int], columns: dict[str, dict[str, list[float]]], run: RunFigures | None,
           ocean: dict[str, int], ocean_note: str, grants: int, command: str = COMMAND) -> dict[str, Any]:
    """Print the figures (with targets and what limits a missed one) and return the JSON document."""
    figures: dict[str, Any] = dict(gas)
    print("\ngas used (receipts' gasUsed, fresh anvil devnet, solc 0.8.37 optimizer 200 runs, cancun)")
    for name, value in gas.items():
        note = verdict(name, value)
        print(f"  {name:<38}{value:>12,}  {note}")
        if note.endswith("MISSED"):
            print(f"    what it pays for: {WHY.get(name, '')}")
            if name in columns:
                print(f"    largest parts (traced): {limited_by(columns[name])}")
    if gas.get("gas_claim") == gas.get("gas_settle_one_owner"):
        print("  gas_claim equals gas_settle_one_owner: a prepaid claim against its lock is the settle() "
              "itself (no separate claim transaction)")
    key = f"settle_{grants}_grants_s"
    figures["settle_10000_grants_s"] = None
    if run is not None:
        figures.update({
            "grants": run.grants, key: round(run.run_s, 2),
            "settle_run_usage_s": round(run.usage_s, 2), "settle_run_plan_s": round(run.plan_s, 2),
            "settle_run_execute_s": round(run.execute_s, 2), "settle_run_transactions": run.transactions,
            "settle_run_settle_transactions": run.settle_transactions, "settle_run_gas": run.gas_total,
            "settle_run_gas_per_grant": run.gas_total // max(1, run.settled),
            "setup_s": round(sum(run.setup.values()), 1),
            **{f"setup_{k}": round(v, 1) for k, v in run.setup.items()},
        })
        print(f"\nsettlement run over {run.grants:,} prepaid grants (one anchored use each), batch size "
              f"{DEFAULT_BATCH_SIZE}")
        print(f"  run (ledger read + plan + execute)    {run.run_s:>10.2f} s  "
              f"{verdict('settle_10000_grants_s', run.run_s) if run.grants == 10_000 else ''}")
        print(f"    ledger read (period_usage)          {run.usage_s:>10.2f} s")
        print(f"    plan                                {run.plan_s:>10.2f} s")
        print(f"    execute                             {run.execute_s:>10.2f} s")
        print(f"  transactions                          {run.transactions:>10}  ({run.settle_transactions} settle, "
              f"{run.transactions - run.settle_transactions} usage-root anchor; none when the usage root is a "
              "notary batch root already anchored)")
        print(f"  gas of the settle transactions        {run.gas_total:>10,}  "
              f"({run.gas_total // max(1, run.settled):,} per grant)")
        print(f"  setup (not timed in the run)          {sum(run.setup.values()):>10.1f} s  "
              + ", ".join(f"{k.removesuffix('_s')} {v:.1f} s" for k, v in run.setup.items()))
        if run.grants != 10_000:
            print(f"  (settle_10000_grants_s needs the full run: {COMMAND} --grants 10000)")
    if ocean:
        print(f"\nOcean Protocol Escrow ({ocean_note}), same devnet and token (OPC fee on claims: "
              f"{ocean.get('ocean_opc_fee_ppm', 0) / 10_000:g}% of the amount, paid to the collector)")
        for key_, label, ours in OCEAN_PAIRS:
            if key_ in ocean:
                beside = f"ours {ours}: {gas[ours]:,}" if ours in gas else ""
                print(f"  {label:<72}{ocean[key_]:>10,}  {beside}")
        figures.update(ocean)
    else:
        print(f"\nocean: not measured: {ocean_note}")
        figures["ocean"] = f"not measured: {ocean_note}"
    print(f"\nreproduce: {command}")
    return figures


OCEAN_PAIRS = [  # (key, label, our counterpart)
    ("ocean_deposit_first", "deposit (the payer's first)", ""),
    ("ocean_deposit", "deposit (steady)", ""),
    ("ocean_authorize", "authorize (payee limits; TDS: the consumer's signed request)", ""),
    ("ocean_create_lock", "createLock (1 open lock; a whole tx, ours the lock's share of issueGrant)", "gas_lock"),
    (f"ocean_create_lock_{OCEAN_BATCH}th_open", f"createLock ({OCEAN_BATCH} open locks: scans them all)", "gas_lock"),
    ("ocean_claim_lock_first", "claimLock (the payee's first funds)", "gas_settle_one_owner_first"),
    ("ocean_claim_lock", "claimLock (steady; OPC fee transferred)", "gas_claim"),
    ("ocean_claim_lock_no_fee", "claimLock (steady, OPC fee set to 0)", "gas_claim"),
    (f"ocean_claim_locks_{OCEAN_BATCH}", f"claimLocks of {OCEAN_BATCH} (one tx)", ""),
    ("ocean_claim_per_lock_batched", f"  per lock", "gas_per_settled_grant_batched"),
    ("ocean_cancel_expired_lock", "cancelExpiredLock (the payer's lock back)", "gas_release"),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.settle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--grants", type=int, default=DEFAULT_GRANTS,
                        help=f"grants in the timed settlement run (default {DEFAULT_GRANTS:,})")
    parser.add_argument("--quick", action="store_true", help=f"smoke test: {QUICK_GRANTS} grants")
    parser.add_argument("--no-ocean", action="store_true", help="skip Ocean Protocol's Escrow")
    parser.add_argument("--no-run", action="store_true", help="gas figures only")
    args = parser.parse_args(argv)
    if args.quick:
        args.grants = QUICK_GRANTS
    if not 1 <= args.grants <= 100_000:
        parser.error("--grants must be between 1 and 100000")
    return args


def command_of(args: argparse.Namespace) -> str:
    """The command line that reproduces a run with ``args``."""
    flags = [f"--grants {args.grants}"] + [f"--{name.replace('_', '-')}" for name in ("no_ocean", "no_run")
                                           if getattr(args, name)]
    return " ".join([COMMAND, *flags])


def main(argv: list[str] | None = None) -> None:
    """Measure, print, and print the JSON line last."""
    args = parse_args(argv)

    def progress(line: str) -> None:
        print(line, flush=True)

    progress("gas: starting a devnet ...")
    with open_space("tds-bench-settle-gas-") as space:
        gas, traced = measure_gas(space)
        parts = {name: trace_breakdown(space.chain, receipt) for name, receipt in traced.items()}
        ocean, note = ({}, "skipped (--no-ocean)") if args.no_ocean else measure_ocean(space)
    columns = print_breakdown(parts)
    run = None
    if not args.no_run:
        progress(f"\nrun: setting up {args.grants:,} prepaid grants with one anchored use each ...")
        run = measure_run(args.grants, progress)
    figures = report(gas, columns, run, ocean, note, args.grants, command_of(args))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
