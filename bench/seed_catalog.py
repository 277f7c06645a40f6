"""Catalog benchmark: seed N (10,000) assets on a gateway, then time GET /catalog pages over loopback HTTP.

Seeding (:func:`seed_catalog`) makes what ``tds asset register`` / ``tds service register`` /
``tds algorithm register`` make, in bulk: for each asset a small file encrypted into the gateway's
store (datasets), an OpenAPI description and backend config (services) or a packed bundle
(algorithms), its metadata document (whose SHA-256 goes on-chain), a real ``registerAsset``
transaction and, but for algorithms, a real ``setPolicy``. What is skipped is only the waiting:
transactions are signed locally with consecutive nonces, sent in JSON-RPC batches without waiting
for receipts, and mined ``--per-block`` at a time (anvil's automine off, ``evm_mine``), as a busy
permissioned chain packs them; at the end the chain's AssetRegistered and PolicySet events are
counted (each of the N must be there, and every receipt's status is implied by its event). The mix:
80 % datasets, 12 % services, 8 % algorithms; purposes, jurisdictions (some policies listing none:
any), price models (free, prepaid, pay-after-use, subscription), compute-only and titles drawn from
small vocabularies with a fixed seed, so filters and keywords have something to do.

Measuring: the gateway runs as ``tds gateway serve`` does (``gateway.server.serve``, one process, its
notary process, rate limits off) in its own process; an httpx keep-alive client on 127.0.0.1 asks
for four pages: the first page (no parameters), a filtered page
(``kind=dataset&purpose=research&jurisdiction=DE&price_model=prepaid``), a keyword search
(``q=weather``) and a deep page (``page=450``). Each is timed (medians over ``--samples``) in four
situations: warm (same head, page cached), right after a new block that changes nothing in the
catalog (``evm_mine``: what anchoring transactions do every few seconds), uncached (a page the
index has not answered yet: ``per_page`` varies, so the search runs over all N entries), and right
after a new registration (the catalog changed: refresh with events, new snapshot, search). The
server builds the index in its housekeeping thread once it started and keeps it at the head; the
first request, sent as soon as /health answers, waits for that build (timed once). Beside HTTP, the same index
is built in this process to show its own costs (rebuild, an empty refresh, memory). The devnet's
anvil writes its whole state to disk every 2 s (``chain.devnet``: ``--state-interval 2``) and answers
nothing while it does, which at 10,000 assets takes tens to hundreds of ms: a request that needs the
node then waits. The waits after a mined block are jittered so those pauses fall on samples at random
(the p95s show them); a thread asks the node for its block number every 50 ms meanwhile, and the
``*_node_answering`` rows repeat the figures without the samples during which it did not answer. ``--baseline``
also times what the catalog did before the index (every asset and policy read per head: AssetRegistry
logs plus getAsset, getPolicy and PolicySet logs per asset), once.

    .venv/bin/python -m bench.seed_catalog [--assets 10000] [--samples 30] [--per-block 150] [--baseline]

Prints the figures, the command to reproduce, and last a JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COMMAND = ".venv/bin/python -m bench.seed_catalog"
ROOT = Path(__file__).resolve().parents[1]
SUBJECTS = ("Weather", "Traffic", "Energy", "Health", "Retail", "Mobility", "Water", "Air quality", "Credit",
            "Census", "Soil", "Shipping")
PLACES = ("Berlin", "Paris", "Amsterdam", "Milan", "Lyon", "Hamburg", "Rotterdam", "Munich")
DETAILS = ("hourly readings", "daily totals", "monthly summary", "raw sensor feed", "cleaned panel",
           "anonymised records")
PURPOSES = ((), ("research",), ("research", "education"), ("commercial",), ("commercial", "marketing"))
JURISDICTIONS = ((), ("DE",), ("DE", "FR"), ("NL",), ("FR", "IT"))
DAY = 86_400
PAGES = {
    "first": {},
    "filtered": {"kind": "dataset", "purpose": "research", "jurisdiction": "DE", "price_model": "prepaid"},
    "keyword": {"q": "weather"},
    "deep": {"page": "450"},
}


# ---- seeding --------------------------------------------------------------------------------------------


@dataclass
class Seeded:
    """What :func:`seed_catalog` made and how long each part took."""

    assets: int
    kinds: dict[str, int]
    transactions: int
    blocks: int
    prepare_s: float
    send_s: float
    verify_s: float
    total_s: float
    asset_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON view (without the ids)."""
        return {k: v for k, v in self.__dict__.items() if k != "asset_ids"}


def _policy(rng: random.Random) -> Any:
    from domain.types import Policy, PriceModel

    roll = rng.random()
    model, price, period, free = PriceModel.FREE, 0, 0, 0
    if roll >= 0.4:
        model = PriceModel.PREPAID if roll < 0.65 else PriceModel.PAY_AFTER_USE if roll < 0.8 else \
            PriceModel.SUBSCRIPTION
        price = rng.choice((1, 5, 10, 25, 100))
        period = 30 * DAY if model is PriceModel.SUBSCRIPTION else 0
        free = rng.choice((0, 0, 2)) if model is not PriceModel.SUBSCRIPTION else 0
    return Policy(max_count=rng.choice((0, 10, 100)), price_per_access=price, compute_only=rng.random() < 0.1,
                  auto_approve=rng.random() < 0.7, purposes=rng.choice(PURPOSES),
                  jurisdictions=rng.choice(JURISDICTIONS), price_model=model, free_uses=free, period=period)


def _title(rng: random.Random, i: int) -> tuple[str, str]:
    return (f"{rng.choice(SUBJECTS)} {rng.choice(PLACES)} #{i}",
            f"{rng.choice(DETAILS)} of {rng.choice(PLACES)}, {2015 + i % 10}")


@dataclass(frozen=True)
class _Plan:
    """One asset to make, drawn in order from the seeded generator (so a run is reproducible)."""

    i: int
    kind: str
    title: str
    description: str
    policy: Any  # None for algorithms
    rate: str


def _plan(rng: random.Random, i: int) -> _Plan:
    roll = rng.random()
    kind = "service" if roll < 0.12 else "algorithm" if roll < 0.20 else "dataset"
    title, description = _title(rng, i)
    return _Plan(i, kind, title, description, None if kind == "algorithm" else _policy(rng),
                 rng.choice(("", "60/minute")))


def _write(gw: Any, plan: _Plan, work: Path) -> tuple[str, int, dict[str, Any]]:
    """Write ``plan``'s asset locally as registration does (stored file, or service config, or bundle);
    returns (asset id, size, metadata document)."""
    from compute.bundle import pack
    from gateway.registration import metadata_document
    from services.description import MEDIA_TYPE, ServiceDescription
    from services.registry import ServiceConfig

    i, title, description, provider = plan.i, plan.title, plan.description, gw.provider_address
    if plan.kind == "service":
        doc = {"openapi": "3.1.0", "info": {"title": title, "version": f"1.0.{i}"},
               "paths": {"/score/{id}": {"get": {"operationId": "score", "parameters": [
                   {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                   "responses": {"200": {"description": "ok"}}}}}}
        raw = json.dumps(doc).encode()
        parsed = ServiceDescription.parse(raw)
        gw.services.put(parsed.sha256, parsed, ServiceConfig(backend="http://127.0.0.1:9/", secret="00" * 16,
                                                             rate=plan.rate))
        endpoint = f"{gw.settings.base_url}/services/{parsed.sha256}"
        meta = {**metadata_document(work / "api.json", parsed.sha256, len(raw), title, description, provider),
                "kind": "service", "mediaType": MEDIA_TYPE, "endpointURL": endpoint + "/",
                "endpointDescription": endpoint, "serviceVersion": doc["info"]["version"]}
        return parsed.sha256, len(raw), meta
    if plan.kind == "algorithm":
        folder = work / f"alg-{i}"
        folder.mkdir()
        (folder / "main.py").write_text(f"print({i})\n")
        (folder / "tds-algorithm.json").write_text(json.dumps({
            "name": title, "entry": "main.py", "output": {"kind": "json", "max_bytes": 1024},
            "resources": {"cpu_s": 5, "wall_s": 10, "memory_mb": 256, "pids": 16}}))
        bundle, manifest = pack(folder)
        asset_id = "0x" + hashlib.sha256(bundle).hexdigest()
        gw.store.put_bytes(asset_id, bundle)
        meta = {**metadata_document(work / "alg.tar", asset_id, len(bundle), title, description, provider),
                "kind": "algorithm", "mediaType": "application/x-tar", "manifest": manifest.to_json()}
        return asset_id, len(bundle), meta
    data = f"{title}\n{description}\n{i}\n".encode()
    asset_id = "0x" + hashlib.sha256(data).hexdigest()
    gw.store.put_bytes(asset_id, data)
    name = work / f"{title.split(' #')[0].lower().replace(' ', '-')}-{i}.csv"
    return asset_id, len(data), metadata_document(name, asset_id, len(data), title, description, provider)


class _Calldata:
    """registerAsset / setPolicy calldata encoded with eth-abi straight from the ABI (web3's encoder costs
    ~1.5 ms a call, which is most of seeding's CPU)."""

    def __init__(self, chain: Any) -> None:
        from eth_utils import function_abi_to_4byte_selector, get_abi_input_types

        from chain.contracts import AssetsClient, GrantsClient

        self.assets, self.grants = AssetsClient(chain).contract, GrantsClient(chain).contract
        self._fns = {}
        for contract, name in ((self.assets, "registerAsset"), (self.grants, "setPolicy")):
            abi = next(e for e in contract.abi if e.get("type") == "function" and e["name"] == name)
            self._fns[name] = (function_abi_to_4byte_selector(abi), get_abi_input_types(abi))

    def _encode(self, name: str, *args: Any) -> str:
        from eth_abi import encode

        selector, types = self._fns[name]
        return "0x" + (selector + encode(types, args)).hex()

    def register(self, asset_id: str, size: int, metadata_hash: str, uri: str) -> str:
        """registerAsset(id, size, metadata hash, uri, no parents, the provider as sole owner)."""
        return self._encode("registerAsset", bytes.fromhex(asset_id[2:]), size, bytes.fromhex(metadata_hash[2:]),
                            uri, [], [], [])

    def set_policy(self, asset_id: str, p: Any) -> str:
        """setPolicy as chain.contracts.GrantsClient.set_policy sends it."""
        terms = (p.not_before, p.not_after, p.max_count, p.price_per_access, p.compute_only, p.auto_approve,
                 False, False, 0, int(p.price_model), p.free_uses, p.period)
        return self._encode("setPolicy", bytes.fromhex(asset_id[2:]), terms, list(p.purposes),
                            [j.encode() for j in p.jurisdictions])


def seed_catalog(gw: Any, count: int, *, per_block: int = 150, seed: int = 7, threads: int = 8,
                 progress: Callable[[str], None] = lambda _: None) -> Seeded:
    """Register ``count`` assets of mixed kinds and policies on ``gw``'s provider, as fast as honestly
    possible (see the module docstring): local files written as registration writes them (``threads`` at
    a time), real transactions, no waiting per receipt. Needs an anvil devnet (``evm_setAutomine``,
    ``evm_mine``)."""
    from concurrent.futures import ThreadPoolExecutor

    from chain.devnet import rpc
    from chain.logs import RpcLogSource
    from gateway.registration import canonical_json

    started = time.perf_counter()
    rng = random.Random(seed)
    plans = [_plan(rng, i) for i in range(count)]
    account, chain = gw.provider, gw.chain
    calldata = _Calldata(chain)
    base = chain.base_fee() or 0
    fees = {"maxFeePerGas": 4 * base + 10**9, "maxPriorityFeePerGas": 10**9, "chainId": chain.chain_id, "value": 0}
    nonce = chain.transaction_count(account.address)
    kinds: dict[str, int] = {}
    raws: list[str] = []
    ids: list[str] = []
    with tempfile.TemporaryDirectory(prefix="tds-seed-") as tmp, ThreadPoolExecutor(threads) as pool:
        written = pool.map(lambda plan: _write(gw, plan, Path(tmp)), plans)
        for plan, (asset_id, size, meta) in zip(plans, written):
            kinds[plan.kind] = kinds.get(plan.kind, 0) + 1
            metadata_hash = "0x" + hashlib.sha256(canonical_json(meta)).hexdigest()
            txs = [(calldata.assets.address, calldata.register(asset_id, size, metadata_hash,
                                                               f"{gw.settings.base_url}/assets/{asset_id}"))]
            if plan.policy is not None:
                txs.append((calldata.grants.address, calldata.set_policy(asset_id, plan.policy)))
            for to, data in txs:
                signed = account.sign_transaction({**fees, "to": to, "data": data, "gas": 400_000, "nonce": nonce})
                raws.append("0x" + bytes(signed.raw_transaction).hex())
                nonce += 1
            gw.metadata.put(asset_id, meta)  # before its block is mined (registration writes it right after)
            ids.append(asset_id)
            if (plan.i + 1) % 1000 == 0:
                progress(f"prepared and signed {plan.i + 1:,} assets ({time.perf_counter() - started:.0f} s)")
    prepared = time.perf_counter()
    blocks = 0
    rpc(chain.settings.rpc_url, "evm_setAutomine", [False])
    try:
        for start in range(0, len(raws), per_block):
            answers = chain.rpc_batch([("eth_sendRawTransaction", [raw]) for raw in raws[start:start + per_block]])
            refused = [a["error"] for a in answers if "error" in a]
            if refused:
                raise SystemExit(f"the node refused {len(refused)} transactions, first: {refused[0]}")
            rpc(chain.settings.rpc_url, "evm_mine", [])
            blocks += 1
    finally:
        rpc(chain.settings.rpc_url, "evm_setAutomine", [True])
    sent = time.perf_counter()
    source = RpcLogSource(chain, only=[("AssetRegistry", "AssetRegistered"), ("UsageGrants", "PolicySet")])
    events = source.events(source.start_block, chain.block_number())
    registered = {e.args["assetId"] for e in events if e.name == "AssetRegistered"}
    policies = sum(1 for e in events if e.name == "PolicySet")
    if not set(ids) <= registered or policies < count - kinds.get("algorithm", 0):
        raise SystemExit(f"seeding failed: {len(set(ids) & registered)} of {count} registered, {policies} policies")
    done = time.perf_counter()
    return Seeded(count, kinds, len(raws), blocks, round(prepared - started, 2), round(sent - prepared, 2),
                  round(done - sent, 2), round(done - started, 2), ids)


# ---- the server process ------------------------------------------------------------------------------------


def serve_main() -> None:
    """Entry point of the server process: ``gateway.server.serve`` with the settings from the environment."""
    from gateway.server import serve
    from gateway.settings import GatewaySettings

    serve(GatewaySettings.load(), workers=1)


class Server:
    """The gateway (and its notary process) in its own process group."""

    def __init__(self, settings: Any, rpc_url: str, log: Path) -> None:
        env = {**os.environ, **settings.to_env(), "TDS_RPC_URL": rpc_url}
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "bench.seed_catalog", "--serve"], env=env, cwd=ROOT,
                                         stdout=out, stderr=out, start_new_session=True)
        self.url = f"http://127.0.0.1:{settings.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        """Until GET /health answers 200."""
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the gateway process exited (see its log)")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the gateway did not become ready")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to its group after 30 s."""
        from bench.devspace import stop_group

        stop_group(self.proc)


# ---- measuring -------------------------------------------------------------------------------------------


def _timed(http: Any, params: dict[str, str], spans: list[tuple[float, float]] | None = None
           ) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    resp = http.get("/catalog", params=params)
    t1 = time.perf_counter()
    if resp.status_code != 200:
        raise RuntimeError(f"GET /catalog {params}: {resp.status_code} {resp.text[:300]}")
    if spans is not None:
        spans.append((t0, t1))
    return (t1 - t0) * 1000, resp.json()


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2), "n": len(ordered)}


def _settle(rpc_url: str, wait_s: float) -> None:
    """Mine an empty block and wait ``wait_s`` (at least the gateway's head poll interval, so the next
    catalog request is checked at that block)."""
    from chain.devnet import rpc

    rpc(rpc_url, "evm_mine", [])
    time.sleep(wait_s)


class NodeWatch:
    """Asks the node for eth_blockNumber every 50 ms in a thread and keeps (start, end) of each answer that
    took over 50 ms: when the node itself was not answering."""

    def __init__(self, rpc_url: str) -> None:
        import threading

        self.rpc_url = rpc_url
        self.slow: list[tuple[float, float]] = []
        self.probes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="node-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from chain.devnet import rpc

        while not self._stop.wait(0.05):
            t0 = time.perf_counter()
            try:
                rpc(self.rpc_url, "eth_blockNumber", [])
            except Exception:  # noqa: BLE001 - a failed probe is a slow one
                pass
            t1 = time.perf_counter()
            self.probes += 1
            if t1 - t0 > 0.05:
                self.slow.append((t0, t1))

    def stalled(self, start: float, end: float) -> bool:
        """Whether a slow answer of the node overlapped [start, end] (perf_counter seconds)."""
        return any(a < end and b > start for a, b in self.slow)

    def stop(self) -> None:
        """Stop probing."""
        self._stop.set()
        self._thread.join(timeout=5)


def measure(url: str, rpc_url: str, samples: int, register: Callable[[int], None], head_wait_s: float
            ) -> dict[str, Any]:
    """Medians (ms) of each page in each situation (see the module docstring)."""
    import httpx

    out: dict[str, Any] = {}
    jitter = random.Random(11)  # waits that do not keep step with anything periodic in the node
    watch = NodeWatch(rpc_url)
    spans: dict[str, dict[str, list[tuple[float, float]]]] = {"new_block": {p: [] for p in PAGES},
                                                              "new_registration": {p: [] for p in PAGES}}
    with httpx.Client(base_url=url, timeout=120) as http:
        first, doc = _timed(http, {})  # right after /health answered: waits for the index the server builds
        out["first_request_after_start_ms"] = round(first, 1)
        out["total_items"] = doc["hydra:totalItems"]
        counts = {}
        for name, params in PAGES.items():
            counts[name] = _timed(http, params)[1]["hydra:totalItems"]
        out["matches"] = counts
        situations: dict[str, dict[str, list[float]]] = {s: {p: [] for p in PAGES} for s in
                                                          ("warm", "new_block", "uncached", "new_registration")}
        for n in range(samples):
            for name, params in PAGES.items():
                situations["warm"][name].append(_timed(http, params)[0])
                situations["uncached"][name].append(_timed(http, {**params, "per_page": str(21 + n % 79)})[0])
                _settle(rpc_url, head_wait_s + jitter.uniform(0, 1))
                situations["new_block"][name].append(_timed(http, params, spans["new_block"][name])[0])
        for n in range(min(samples, 10)):
            for name, params in PAGES.items():
                register(n * len(PAGES) + len(situations["new_registration"][name]))
                time.sleep(head_wait_s + jitter.uniform(0, 1))
                situations["new_registration"][name].append(
                    _timed(http, params, spans["new_registration"][name])[0])
    watch.stop()
    out["node_stalls"] = {"probes": watch.probes, "over_50ms": len(watch.slow),
                          "max_ms": round(max(((b - a) * 1000 for a, b in watch.slow), default=0.0), 1)}
    for situation, pages in situations.items():
        out[situation] = {name: _stats(v) for name, v in pages.items()}
    for situation, by_page in spans.items():  # the same samples, without those the node stalled under
        out[f"{situation}_node_answering"] = {
            name: _stats([ms for ms, span in zip(situations[situation][name], by_page[name])
                          if not watch.stalled(*span)]) for name in PAGES}
    return out


def measure_in_process(gw: Any, rpc_url: str) -> dict[str, Any]:
    """The index's own costs, in this process: a rebuild from every event, an empty refresh, memory."""
    from chain.devnet import rpc
    from gateway.catalog_index import CatalogIndex

    rss0 = _rss_mib()
    index = CatalogIndex(gw)
    t0 = time.perf_counter()
    snapshot = index.at(gw.chain.block_number())
    rebuild_s = time.perf_counter() - t0
    rss1 = _rss_mib()
    refresh_ms = []
    for _ in range(10):
        rpc(rpc_url, "evm_mine", [])
        t0 = time.perf_counter()
        index.at(gw.chain.block_number())
        refresh_ms.append((time.perf_counter() - t0) * 1000)
    return {"entries": len(snapshot.entries), "events": index.stats.events, "rebuild_s": round(rebuild_s, 2),
            "empty_refresh_ms_p50": round(statistics.median(refresh_ms), 2),
            "rss_growth_mib": round(rss1 - rss0, 1)}


def measure_baseline(gw: Any) -> dict[str, Any]:
    """What every new head cost before the index: every asset and policy read again (as the catalog did)."""
    t0 = time.perf_counter()
    listed = 0
    for asset in gw.view.assets.list(provider=gw.provider_address):
        if asset.active and (gw.store.has(asset.asset_id) or gw.services.has(asset.asset_id)):
            gw.view.grants.get_policy(asset.asset_id)
            gw.metadata.get(asset.asset_id)
            listed += 1
    return {"full_read_s": round(time.perf_counter() - t0, 2), "assets": listed}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- the run -------------------------------------------------------------------------------------------------


def run(count: int, samples: int, per_block: int, baseline: bool) -> dict[str, Any]:
    """Seed a fresh devnet's gateway, serve it, measure; everything is stopped and deleted at the end."""
    import shutil

    from bench.devspace import start_space
    from chain.devspace import free_port
    from domain.types import Policy
    from gateway.service import Gateway, register_asset
    from gateway.settings import GatewaySettings

    figures: dict[str, Any] = {"assets": count}
    with start_space() as space:
        settings = GatewaySettings(home=space.home, port=free_port(), rate_limit_per_client="",
                                   rate_limit_per_address="")
        gw = Gateway.open(settings, space.chain.settings, chain=space.chain,
                          provider=space.keystore.account("provider"))
        seeded = seed_catalog(gw, count, per_block=per_block, progress=lambda m: print(m, flush=True))
        figures["seeding"] = seeded.to_json()
        print(f"seeded {count:,} assets ({seeded.kinds}) in {seeded.total_s:.1f} s: prepare+sign "
              f"{seeded.prepare_s:.1f} s, send+mine {seeded.send_s:.1f} s ({seeded.transactions:,} txs in "
              f"{seeded.blocks} blocks), verify {seeded.verify_s:.1f} s", flush=True)
        figures["in_process"] = measure_in_process(gw, space.devnet.rpc_url)
        print(f"index in process: {figures['in_process']}", flush=True)
        if baseline:
            figures["baseline"] = measure_baseline(gw)
            print(f"before the index, every new head re-read: {figures['baseline']}", flush=True)
        work = Path(tempfile.mkdtemp(prefix="tds-seed-reg-"))
        server = Server(settings, space.devnet.rpc_url, space.home / "server.log")
        try:
            server.wait_ready()

            def register(n: int) -> None:
                path = work / f"late-{n}.csv"
                path.write_bytes(f"weather late {n} {os.urandom(8).hex()}\n".encode())
                register_asset(gw, path, Policy(purposes=("research",), jurisdictions=("DE",)),
                               title=f"Weather late {n}")

            figures["http"] = measure(server.url, space.devnet.rpc_url, samples, register,
                                      settings.head_poll_interval_s + 0.1)
        except BaseException:
            for log in (space.home / "server.log", space.devnet.directory / "anvil.log"):
                print(f"{log.name} (tail):\n" + (log.read_text()[-2000:] if log.exists() else "(none)"), flush=True)
            raise
        finally:
            server.stop()
            shutil.rmtree(work, ignore_errors=True)
    return figures


def report(figures: dict[str, Any]) -> None:
    """The figures for people."""
    http = figures["http"]
    print(f"\nGET /catalog over loopback HTTP, {http['total_items']:,} items (matches: {http['matches']}); "
          f"first request right after start (the index is being built): {http['first_request_after_start_ms']:.0f} ms")
    print(f"{'situation':<31}" + "".join(f"{name:>28}" for name in PAGES))
    for situation in ("warm", "new_block", "new_block_node_answering", "uncached", "new_registration",
                      "new_registration_node_answering"):
        row = http[situation]
        print(f"{situation[:30]:<31}" + "".join(
            f"{row[n]['p50_ms']:>9.1f} (p95 {row[n]['p95_ms']:>5.1f}, n {row[n]['n']:>2})" if row[n]["n"] else
            f"{'-':>28}" for n in PAGES))
    print("(ms; new_block: an empty block mined before each; uncached: a per_page the index has not answered; "
          "new_registration: an asset registered before each; *_node_answering: the same samples less those "
          "during which the node did not answer for over 50 ms)")
    stalls = http["node_stalls"]
    print(f"the node itself (eth_blockNumber every 50 ms meanwhile): {stalls['over_50ms']} of {stalls['probes']} "
          f"answers took over 50 ms, the longest {stalls['max_ms']} ms (anvil writes its whole state to disk every "
          "2 s, --state-interval 2, and answers nothing meanwhile)")


def main() -> None:
    """Seed, measure, print; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--assets", type=int, default=10_000, help="assets to seed (default 10000)")
    parser.add_argument("--samples", type=int, default=30, help="samples per page and situation (default 30)")
    parser.add_argument("--per-block", type=int, default=150, help="transactions per mined block (default 150)")
    parser.add_argument("--baseline", action="store_true", help="also time the catalog's old full read, once")
    args = parser.parse_args()
    if args.serve:
        serve_main()
        return
    started = time.monotonic()
    try:
        figures = run(args.assets, args.samples, args.per_block, args.baseline)
    except BaseException as exc:
        print(f"reproduce: {' '.join([COMMAND, *sys.argv[1:]])}", flush=True)
        print(json.dumps({"error": f"{type(exc).__name__}: {str(exc)[:500]}",
                          "bench_s": round(time.monotonic() - started, 1)}))
        sys.exit(1)
    report(figures)
    print(f"reproduce: {' '.join([COMMAND, *sys.argv[1:]])}", flush=True)
    figures["bench_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
