"""Compute-to-data benchmark: jobs through the real gateway vs. the same algorithm run directly, side by side.

The gateway runs as ``tds gateway serve`` does (``gateway.server.serve``: uvicorn, one process, its
``compute_workers`` job threads, the notary as ONE separate process sealing and anchoring the receipts),
started here as ``python -m bench.compute --serve`` on a fresh anvil devnet (``bench.devspace``). The
consumer is ``client.sdk.GatewayClient`` over real HTTP on 127.0.0.1 with one bearer session (``POST
/session``); every call is still checked (member, grant, compute-only policy, on-chain approval, bundle
hash, sandbox available, one use taken with the job's access record). A job's time is submit (``POST
/compute/jobs``) -> long polls ``GET /compute/jobs/{id}?wait=20`` (the gateway answers when the job
ended; what the SDK's ``wait_job`` does) -> ``GET .../result`` (hash checked); the lag between the job's
end and the answer is measured and printed as "poll lag".

The algorithm (the same bundle everywhere, standard library only) sums one column of a CSV
(``id,region,income``) and writes ``{"sum", "rows"}``; every result is checked against the known sum.
Kinds, alternated (A B C ...; on the tiny input after one uncounted warm-up of each), medians over the runs:

- job:     the full job through the gateway (decrypt the input into scratch, unpack, sandbox, output
           check, evidence, receipt; see ``gateway.jobs``);
- direct:  ``/usr/bin/python3 -I -S main.py`` with the same env (TDS_INPUT, TDS_PARAMS, TDS_OUTPUT) on
           a plaintext copy of the input: no sandbox, no gateway;
- sandbox: ``compute.sandbox.run`` directly on the plaintext copy, with the limits the gateway would set
           (``gateway.jobs._limits``): the sandbox's cost alone (cgroup, bubblewrap, the runner process);
- decrypt: (large input only) ``gateway.jobs._decrypt`` of the stored asset into the gateway's scratch
           root, in this process: the job's decryption step alone.

Figures: ``job_overhead_ms_p50`` = p50(job) - p50(direct) on a ~3.5 KiB CSV over ``--samples`` runs;
``jobs_per_s``: 2 concurrent submitters (own client and session each) over a bounded number of small
jobs (20, ``--quick`` 8), median over ``--repeats``; ``aggregate_1gib_s`` vs ``aggregate_1gib_direct_s``
on a generated CSV of ``--gib`` GiB (a repeated block; ``--quick``: 0.125 GiB, said as ``gib`` in the
JSON; the key names keep "1gib"), ``ratio_1gib`` = job / direct; ``register_1gib_s``: registering that
file (hash, encrypt into the store, on-chain registration and policy), timed once, not in the ratio.
A job's parts come from its database row (created/started/finished, the sandbox's wall time).

The bench raises the gateway's compute ceilings (``GatewaySettings.compute_max_*``) and the manifest's
resources so the large job fits, turns the per-client and per-address rate limits off, and checks free
space first: the plaintext and the encrypted copy go to the temp dir, the gateway decrypts a job's input
into /dev/shm when it exists (``gateway.jobs._scratch_root``). When /dev/shm is too small the gateway's
``compute_scratch_dir`` is set to its own directory (on disk), said in the
figures and the JSON (``scratch``); when the temp dir is too small the large-input figures are skipped
and say so. Everything is deleted at the end; anvil and the gateway are stopped even on error.
Last line: JSON.

    .venv/bin/python -m bench.compute [--quick] [--repeats 3] [--samples 30] [--jobs 20] [--gib 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from bench.devspace import start_space
from bench.gateway import ServerProcess
from chain.devspace import free_port
from domain.types import Policy

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python -m bench.compute"
PYTHON = "/usr/bin/python3"
GIB = 1 << 30
MIB = 1 << 20
SESSION_TTL_S = 6 * 3600
POLICY_MAX_COUNT = 100_000
LIMIT_S = 3600.0  # compute ceilings and manifest cpu/wall for this run (the large job must fit)
MEMORY_MB = 512
TARGETS = {"job_overhead_ms_p50": ("<=", 100.0), "ratio_1gib": ("<=", 1.3)}
ACTIVE = ("queued", "running")
LONG_POLL_S = 20.0  # GET /compute/jobs/{id}?wait=: the gateway answers once the job ended (at most 30 s)

ALGORITHM = """\
import json, os
p = json.load(open(os.environ["TDS_PARAMS"]))
col = int(p.get("column", 2))
total = rows = 0
with open(os.environ["TDS_INPUT"], "rb") as f:
    f.readline()  # header
    for line in f:
        total += int(line.split(b",")[col])
        rows += 1
with open(os.environ["TDS_OUTPUT"], "w") as out:
    json.dump({"sum": total, "rows": rows}, out)
"""
PARAMS = {"column": 2}


# ---- inputs ----------------------------------------------------------------------------------------------------


def csv_rows(n: int, seed: int, start: int = 0) -> tuple[bytes, int]:
    """``n`` rows ``id,region,income`` (no header) and the sum of their incomes."""
    rnd = random.Random(seed)
    incomes = [rnd.randint(20000, 120000) for _ in range(n)]
    text = "".join(f"person-{start + i:09d},{rnd.choice(('north', 'south', 'east', 'west'))},{v}\n"
                   for i, v in enumerate(incomes))
    return text.encode(), sum(incomes)


HEADER = b"id,region,income\n"


def write_tiny(path: Path, rows: int = 120) -> dict[str, int]:
    """A few KiB of CSV; returns its expected result."""
    body, total = csv_rows(rows, seed=7)
    path.write_bytes(HEADER + body)
    return {"sum": total, "rows": rows}


def write_large(path: Path, size: int) -> dict[str, int]:
    """A CSV of at least ``size`` bytes: one ~4 MiB block of rows written again and again (fast)."""
    block, block_sum = csv_rows(4 * MIB // 32, seed=11)
    block_rows = block.count(b"\n")
    blocks = max(1, -(-(size - len(HEADER)) // len(block)))
    with open(path, "wb") as f:
        f.write(HEADER)
        for _ in range(blocks):
            f.write(block)
    return {"sum": block_sum * blocks, "rows": block_rows * blocks}


def write_algorithm(directory: Path) -> Path:
    """The column-sum algorithm as a bundle directory (main.py + tds-algorithm.json)."""
    directory.mkdir()
    (directory / "main.py").write_text(ALGORITHM)
    manifest = {"name": "bench column sum", "entry": "main.py", "output": {"kind": "json", "max_bytes": 4096},
                "resources": {"cpu_s": LIMIT_S, "wall_s": LIMIT_S, "memory_mb": MEMORY_MB, "pids": 16}}
    (directory / "tds-algorithm.json").write_text(json.dumps(manifest))
    return directory


# ---- disk ------------------------------------------------------------------------------------------------------


def plan_space(size: int, workdir: Path) -> dict[str, Any]:
    """Where the large input can go: the temp dir holds the plaintext and the encrypted copy (and, without
    a usable /dev/shm, the job's decrypted copy); /dev/shm holds the job's (and the decrypt kind's) copy."""
    margin = 256 * MIB
    tmp_free = shutil.disk_usage(workdir).free
    shm = Path("/dev/shm")
    shm_used = shm.is_dir() and os.access(shm, os.W_OK)  # what gateway.jobs._scratch_root picks
    shm_free = shutil.disk_usage(shm).free if shm_used else 0
    plan: dict[str, Any] = {"tmp_dir": str(workdir.parent), "tmp_free_gib": round(tmp_free / GIB, 2),
                            "shm_free_gib": round(shm_free / GIB, 2) if shm_used else None, "fallback": False}
    need_shm = int(size * 1.02) + margin
    if shm_used and shm_free >= need_shm:
        plan["scratch"] = "/dev/shm"
        need_tmp = 2 * int(size * 1.02) + margin
    else:
        plan["fallback"] = shm_used  # /dev/shm exists but is too small: point the gateway at its own dir
        plan["scratch"] = "gateway dir (disk)"
        need_tmp = 3 * int(size * 1.02) + margin
        if shm_used:
            print(f"note: /dev/shm has {shm_free / GIB:.2f} GiB free, the job needs {need_shm / GIB:.2f} GiB there: "
                  "the gateway's compute_scratch_dir is its own directory (disk) for this run", flush=True)
    plan["large_ok"] = tmp_free >= need_tmp
    if not plan["large_ok"]:
        print(f"!! {workdir.parent} has {tmp_free / GIB:.2f} GiB free, the large-input figures need "
              f"{need_tmp / GIB:.2f} GiB: they are SKIPPED", flush=True)
    return plan


# ---- the server process ----------------------------------------------------------------------------------------


def serve_main() -> None:
    """Entry point of the server process: ``gateway.server.serve`` with the settings from the environment."""
    from gateway.server import serve
    from gateway.settings import GatewaySettings

    serve(GatewaySettings.load(), workers=1)


class Server(ServerProcess):
    """The gateway (and its notary process) in its own process group (``bench.gateway.ServerProcess``'s
    readiness and stop; the command is this module's ``--serve``)."""

    def __init__(self, settings: Any, rpc_url: str, log: Path) -> None:
        env = {**os.environ, **settings.to_env(), "TDS_RPC_URL": rpc_url}
        with open(log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "bench.compute", "--serve"], env=env, cwd=ROOT,
                                         stdout=err, stderr=err, start_new_session=True)
        self.url = f"http://127.0.0.1:{settings.port}"
        self.workers = 1
        self.log = log

    def stop(self) -> None:
        from bench.devspace import stop_group

        stop_group(self.proc)  # its own group: the notary process goes with it


# ---- one run of each kind ----------------------------------------------------------------------------------------


def run_direct(alg: Path, data: Path, params: Path, work: Path) -> tuple[float, dict[str, Any]]:
    """``python3 -I -S main.py`` on the plaintext, with the sandbox's env (paths outside)."""
    out = work / "direct-result.json"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8", "TDS_INPUT": str(data),
           "TDS_PARAMS": str(params), "TDS_OUTPUT": str(out), "PYTHONDONTWRITEBYTECODE": "1"}
    t0 = time.perf_counter()
    subprocess.run([PYTHON, "-I", "-S", str(alg / "main.py")], env=env, cwd=work, check=True, timeout=LIMIT_S,
                   stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    result = json.loads(out.read_text())
    out.unlink()
    return elapsed, result


def run_sandbox(alg: Path, data: Path, limits: Any, work: Path) -> tuple[float, dict[str, Any]]:
    """``compute.sandbox.run`` on the plaintext (bubblewrap, the runner, rlimits; no gateway)."""
    from compute import sandbox

    t0 = time.perf_counter()
    outcome = sandbox.run(alg, "main.py", data, dict(PARAMS), limits, scratch=work)
    elapsed = time.perf_counter() - t0
    if outcome.state != "succeeded" or outcome.output is None:
        raise RuntimeError(f"sandbox run {outcome.state}: {outcome.problem}; log: {outcome.log_tail[-300:]}")
    return elapsed, json.loads(outcome.output)


def run_decrypt(gw: Any, asset: str, root: Path) -> float:
    """``gateway.jobs._decrypt`` of the stored asset into a fresh directory under the scratch root."""
    from gateway.jobs import _decrypt

    d = Path(tempfile.mkdtemp(prefix="tds-bench-decrypt-", dir=root))
    try:
        t0 = time.perf_counter()
        _decrypt(gw, asset, d / "input")
        return time.perf_counter() - t0
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_job(client: Any, db: Any, asset: str, alg: str, grant: str, timeout_s: float) -> dict[str, Any]:
    """One job over HTTP: submit, poll until it ended, fetch the result; its parts from its database row."""
    wall0 = time.time()
    t0 = time.perf_counter()
    view = client.submit_job(asset, alg, dict(PARAMS), grant_id=grant)
    t_sub = time.perf_counter()
    job_id, state, polls = view["job_id"], view["state"], 0
    poll_s: list[float] = []
    while state in ACTIVE:
        elapsed = time.perf_counter() - t0
        if elapsed > timeout_s:
            raise TimeoutError(f"job {job_id} still {state} after {timeout_s:g} s")
        tp = time.perf_counter()
        view = client.job(job_id, wait_s=min(LONG_POLL_S, max(0.001, timeout_s - elapsed)))
        poll_s.append(time.perf_counter() - tp)
        state = view["state"]
        polls += 1
    t_done, wall_done = time.perf_counter(), time.time()
    if state != "succeeded":
        raise RuntimeError(f"job {job_id} {state}: {view.get('problem')}; log: {client.job(job_id, logs=True)['log']}")
    body = client.job_result(job_id)
    t1 = time.perf_counter()
    row = db.job(job_id)
    assert row is not None and row.started_at is not None and row.finished_at is not None
    return {"total_s": t1 - t0, "result": json.loads(body), "polls": polls,
            "poll_rtt_s": statistics.median(poll_s) if poll_s else 0.0,  # one long poll (lasts until the end)
            "submit_s": t_sub - t0,  # POST /compute/jobs answered
            "accepted_s": row.created_at - wall0,  # from the POST until the job's row was written (checks)
            "queue_s": row.started_at - row.created_at,
            "run_s": row.finished_at - row.started_at,  # in the gateway: scratch, decrypt, unpack, sandbox, finish
            "sandbox_wall_s": row.wall_ms / 1000,  # the gateway's own measure of the sandbox's run
            "poll_lag_s": wall_done - row.finished_at,
            "fetch_s": t1 - t_done, "cgroup": row.sandbox or "none"}


def _check(kind: str, got: dict[str, Any], expected: dict[str, int]) -> None:
    if got != expected:
        raise RuntimeError(f"{kind}: wrong result {got}, expected {expected}")


def _med(values: list[float]) -> float:
    return statistics.median(values)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


# ---- the bench ------------------------------------------------------------------------------------------------


class Bench:
    """One run: a data space, the gateway process, a tiny and a large compute-only asset, the kinds side by side."""

    def __init__(self, args: Any) -> None:
        self.args = args
        self.quick = bool(args.quick)
        self.gib = float(args.gib) if args.gib is not None else (0.125 if self.quick else 1.0)
        self.size = int(self.gib * GIB)
        self.repeats = args.repeats or (1 if self.quick else 3)
        self.samples = args.samples or (10 if self.quick else 30)
        self.jobs = args.jobs or (8 if self.quick else 20)
        self.submitters = 2
        self.chain_up = True

    def run(self) -> dict[str, Any]:
        from client.sdk import GatewayClient
        from gateway.jobs import _limits, _scratch_root, register_algorithm
        from gateway.service import Gateway, register_asset
        from gateway.settings import GatewaySettings
        from compute import sandbox
        from compute.manifest import parse

        work = Path(tempfile.mkdtemp(prefix="tds-bench-compute-"))
        server: Server | None = None
        try:
            plan = self.plan = plan_space(self.size, work)
            sandbox.check_available()
            with start_space() as space:
                try:
                    settings = GatewaySettings(
                        home=space.home, port=free_port(), session_ttl_s=SESSION_TTL_S, rate_limit_per_client="",
                        rate_limit_per_address="", compute_max_cpu_s=LIMIT_S, compute_max_wall_s=LIMIT_S,
                        compute_max_memory_mb=MEMORY_MB, compute_workers=2,
                        compute_scratch_dir="gateway/compute/scratch" if plan["fallback"] else "")
                    self.settings = settings
                    gw = Gateway.open(settings, space.chain.settings, chain=space.chain,
                                      provider=space.keystore.account("provider"))  # bench-side: registers, reads
                    self.gw = gw
                    self.scratch_root = _scratch_root(gw)  # where the server decrypts, with these settings
                    alg_dir = write_algorithm(work / "alg")
                    manifest = parse((alg_dir / "tds-algorithm.json").read_text())
                    limits = _limits(gw, manifest)
                    params = work / "params.json"
                    params.write_text(json.dumps(PARAMS))
                    policy = Policy(compute_only=True, auto_approve=True, max_count=POLICY_MAX_COUNT,
                                    purposes=("bench",))
                    algorithm = register_algorithm(gw, alg_dir)[0].asset_id
                    tiny = work / "tiny.csv"
                    tiny_expected = write_tiny(tiny)
                    tiny_asset = register_asset(gw, tiny, policy, title="bench tiny CSV").asset_id
                    gw.compute_tx().set_approval(tiny_asset, algorithm, True)
                    large: dict[str, Any] | None = None
                    if plan["large_ok"]:
                        large = self._large(gw, work, policy, algorithm)
                    server = Server(settings, space.devnet.rpc_url, space.home / "server.log")
                    server.wait_ready()
                    consumer = space.keystore.account("consumer")
                    print(f"cores: {os.cpu_count()}; gateway: 1 process (pid {server.proc.pid}), compute_workers "
                          f"{settings.compute_workers}, notary pid {server.notary_pid()}; sandbox limits cpu "
                          f"{limits.cpu_s:g} s, wall {limits.wall_s:g} s, memory {limits.memory_bytes >> 20} MiB; "
                          f"scratch: {plan['scratch']}; {self.samples} tiny samples, {self.repeats} repeats, "
                          f"{self.jobs} jobs x {self.submitters} submitters; large input {self.gib:g} GiB",
                          flush=True)
                    need_tiny = self.samples + 2 + self.jobs * (self.repeats + 1) + 10
                    clients = [GatewayClient(settings.base_url, consumer, session=True)
                               for _ in range(self.submitters)]
                    try:
                        grant = clients[0].request_grant(tiny_asset, "bench", max_count=need_tiny)["grant_id"]
                        for c in clients:
                            c.open_session(ttl_s=SESSION_TTL_S)
                        if large is not None:
                            large["grant"] = clients[0].request_grant(large["asset"], "bench",
                                                                      max_count=self.repeats + 2)["grant_id"]
                        tiny_fig = self._tiny(clients[0], alg_dir, algorithm, tiny, tiny_asset, tiny_expected,
                                              grant, params, limits, work)
                        tput = self._throughput(clients, algorithm, tiny_asset, tiny_expected, grant)
                        large_fig = self._large_runs(clients[0], alg_dir, algorithm, large, params, limits, work) \
                            if large is not None else None
                    finally:
                        for c in clients:
                            c.close()
                finally:
                    self._chain_check(space)
                    if server is not None:
                        server.stop()
                        if server.proc.returncode not in (0, -signal.SIGTERM, None):
                            tail = server.log.read_text(errors="replace").splitlines()[-10:]
                            print(f"note: the gateway process exited with {server.proc.returncode}; its log ends:\n  "
                                  + "\n  ".join(tail), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return self._summary(tiny_fig, tput, large_fig, large)

    def _chain_check(self, space: Any) -> None:
        """Whether anvil still runs (it is part of every job's checks); say so, with its log's end, when not."""
        try:
            self.chain_up = bool(space.devnet.status().running)
        except Exception:  # noqa: BLE001 - reporting only
            self.chain_up = False
        if not self.chain_up:
            log = space.devnet.directory / "anvil.log"
            tail = log.read_text(errors="replace").splitlines()[-10:] if log.exists() else ["(no log)"]
            print("!! the devnet (anvil) is not running any more (jobs are refused with chain_unavailable); "
                  "anvil.log ends:\n  " + "\n  ".join(tail), flush=True)

    # ---- setup of the large input ----

    def _large(self, gw: Any, work: Path, policy: Policy, algorithm: str) -> dict[str, Any]:
        from gateway.service import register_asset

        path = work / "large.csv"
        t0 = time.perf_counter()
        expected = write_large(path, self.size)
        written = time.perf_counter() - t0
        size = path.stat().st_size
        print(f"large input: {size / GIB:.3f} GiB ({expected['rows']} rows) written in {written:.1f} s; "
              "registering it (hash, encrypt into the store, register + policy on-chain)...", flush=True)
        t0 = time.perf_counter()
        asset = register_asset(gw, path, policy, title=f"bench {self.gib:g} GiB CSV").asset_id
        register_s = time.perf_counter() - t0
        gw.compute_tx().set_approval(asset, algorithm, True)
        print(f"register_1gib_s: {register_s:.2f} s ({size / MIB / register_s:.0f} MiB/s), not in the ratio",
              flush=True)
        return {"path": path, "asset": asset, "expected": expected, "bytes": size, "register_s": register_s}

    # ---- tiny input: the overhead ----

    def _tiny(self, client: Any, alg_dir: Path, algorithm: str, data: Path, asset: str, expected: dict[str, int],
              grant: str, params: Path, limits: Any, work: Path) -> dict[str, Any]:
        db = self.gw.db
        kinds: dict[str, Callable[[], tuple[float, dict[str, Any] | None, dict[str, Any]]]] = {
            "job": lambda: self._job_kind(client, db, asset, algorithm, grant, 60.0),
            "direct": lambda: (*run_direct(alg_dir, data, params, work), {}),
            "sandbox": lambda: (*run_sandbox(alg_dir, data, limits, work), {})}
        for kind, fn in kinds.items():  # warm-up, not counted
            _check(kind, fn()[1] or {}, expected)
        times: dict[str, list[float]] = {k: [] for k in kinds}
        parts: list[dict[str, Any]] = []
        for _ in range(self.samples):
            for kind, fn in kinds.items():
                seconds, result, detail = fn()
                _check(kind, result or {}, expected)
                times[kind].append(seconds)
                if detail:
                    parts.append(detail)
        ms = {k: [1000 * t for t in v] for k, v in times.items()}
        fig = {k: {"p50_ms": _med(v), "p90_ms": _pct(v, 0.9), "min_ms": min(v), "max_ms": max(v)}
               for k, v in ms.items()}
        breakdown = {key: 1000 * _med([p[key] for p in parts]) for key in
                     ("submit_s", "accepted_s", "queue_s", "run_s", "sandbox_wall_s", "poll_lag_s", "fetch_s",
                      "poll_rtt_s")}
        breakdown["in_gateway_not_sandbox"] = 1000 * _med([p["run_s"] - p["sandbox_wall_s"] for p in parts])
        polls = _med([p["polls"] for p in parts])
        print(f"\ntiny input ({data.stat().st_size} bytes CSV), {self.samples} samples each, alternating "
              "job/direct/sandbox:", flush=True)
        for kind, label in (("job", "job through the gateway"), ("direct", "direct python3 -I -S"),
                            ("sandbox", "sandbox.run only")):
            f = fig[kind]
            print(f"  {label:26s} p50 {f['p50_ms']:8.1f} ms  p90 {f['p90_ms']:8.1f} ms  "
                  f"({f['min_ms']:.1f}..{f['max_ms']:.1f})", flush=True)
        b = breakdown
        print(f"  job parts (medians): POST answered {b['submit_s']:.1f} ms (row written after "
              f"{b['accepted_s']:.1f} ms), queued {b['queue_s']:.1f} ms, running in the gateway {b['run_s']:.1f} ms "
              f"(sandbox wall {b['sandbox_wall_s']:.1f} ms; scratch + decrypt + unpack + checks + evidence "
              f"{b['in_gateway_not_sandbox']:.1f} ms), poll lag {b['poll_lag_s']:.1f} ms ({polls:g} polls of "
              f"{b['poll_rtt_s']:.1f} ms each), "
              f"result fetch {b['fetch_s']:.1f} ms; sandbox cgroup: {parts[0]['cgroup']}", flush=True)
        return {"fig": fig, "breakdown": breakdown, "polls": polls, "bytes": data.stat().st_size,
                "cgroup": parts[0]["cgroup"]}

    def _job_kind(self, client: Any, db: Any, asset: str, algorithm: str, grant: str,
                  timeout_s: float) -> tuple[float, dict[str, Any], dict[str, Any]]:
        detail = run_job(client, db, asset, algorithm, grant, timeout_s)
        return detail["total_s"], detail.pop("result"), detail

    # ---- small jobs, 2 submitters ----

    def _throughput(self, clients: list[Any], algorithm: str, asset: str, expected: dict[str, int],
                    grant: str) -> dict[str, Any]:
        db = self.gw.db
        rates: list[float] = []
        failures: list[str] = []
        for _ in range(self.repeats):
            left = [self.jobs]
            done = [0]
            lock = threading.Lock()
            start = threading.Barrier(len(clients))

            def submitter(client: Any) -> None:
                start.wait()
                while True:
                    with lock:
                        if left[0] <= 0:
                            return
                        left[0] -= 1
                    try:
                        got = run_job(client, db, asset, algorithm, grant, 120.0)["result"]
                        _check("job", got, expected)
                        with lock:
                            done[0] += 1
                    except Exception as exc:  # noqa: BLE001 - counted and shown, the run goes on
                        with lock:
                            failures.append(f"{type(exc).__name__}: {str(exc)[:200]}")

            threads = [threading.Thread(target=submitter, args=(c,), name=f"submitter-{i}")
                       for i, c in enumerate(clients)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=600)
            elapsed = time.perf_counter() - t0
            rates.append(done[0] / elapsed)
        rate = _med(rates)
        spread = f"{min(rates):.2f}..{max(rates):.2f}"
        print(f"\nsmall jobs, {self.submitters} concurrent submitters, {self.jobs} jobs per run, {self.repeats} "
              f"run(s): {rate:.2f} jobs/s ({spread}), {len(failures)} failed", flush=True)
        for f in failures[:5]:
            print(f"  !! {f}", flush=True)
        return {"jobs_per_s": rate, "runs": rates, "failures": len(failures)}

    # ---- large input ----

    def _large_runs(self, client: Any, alg_dir: Path, algorithm: str, large: dict[str, Any], params: Path,
                    limits: Any, work: Path) -> dict[str, Any]:
        db, path, expected = self.gw.db, large["path"], large["expected"]
        times: dict[str, list[float]] = {"job": [], "direct": [], "sandbox": [], "decrypt": []}
        parts: list[dict[str, Any]] = []
        print(f"\nlarge input ({large['bytes'] / GIB:.3f} GiB), {self.repeats} round(s) of job/direct/sandbox/decrypt:",
              flush=True)
        for i in range(self.repeats):
            detail = run_job(client, db, large["asset"], algorithm, large["grant"], LIMIT_S + 300)
            _check("job", detail.pop("result"), expected)
            times["job"].append(detail["total_s"])
            parts.append(detail)
            seconds, result = run_direct(alg_dir, path, params, work)
            _check("direct", result, expected)
            times["direct"].append(seconds)
            seconds, result = run_sandbox(alg_dir, path, limits, work)
            _check("sandbox", result, expected)
            times["sandbox"].append(seconds)
            times["decrypt"].append(run_decrypt(self.gw, large["asset"], self.scratch_root))
            print(f"  round {i + 1}: job {times['job'][-1]:.2f} s (in the gateway {detail['run_s']:.2f} s, of which "
                  f"sandbox {detail['sandbox_wall_s']:.2f} s; poll lag {detail['poll_lag_s'] * 1000:.0f} ms, "
                  f"{detail['polls']} polls of {detail['poll_rtt_s'] * 1000:.1f} ms), "
                  f"direct {times['direct'][-1]:.2f} s, "
                  f"sandbox.run {times['sandbox'][-1]:.2f} s, decrypt {times['decrypt'][-1]:.2f} s", flush=True)
        med = {k: _med(v) for k, v in times.items()}
        breakdown = {key: _med([p[key] for p in parts]) for key in
                     ("submit_s", "queue_s", "run_s", "sandbox_wall_s", "poll_lag_s", "fetch_s", "poll_rtt_s")}
        breakdown["in_gateway_not_sandbox_s"] = _med([p["run_s"] - p["sandbox_wall_s"] for p in parts])
        mib = large["bytes"] / MIB
        print(f"  medians: job {med['job']:.2f} s, direct {med['direct']:.2f} s ({mib / med['direct']:.0f} MiB/s), "
              f"sandbox.run {med['sandbox']:.2f} s, decrypt alone {med['decrypt']:.2f} s "
              f"({mib / med['decrypt']:.0f} MiB/s); in the job: {breakdown['in_gateway_not_sandbox_s']:.2f} s in the "
              f"gateway outside the sandbox (scratch, decrypt, unpack, checks, evidence)", flush=True)
        return {"med": med, "runs": times, "breakdown": breakdown}

    # ---- summary ----

    def _summary(self, tiny: dict[str, Any], tput: dict[str, Any], large_fig: dict[str, Any] | None,
                 large: dict[str, Any] | None) -> dict[str, Any]:
        r = lambda x, n=3: None if x is None else round(x, n)  # noqa: E731
        f = tiny["fig"]
        out: dict[str, Any] = {
            "job_overhead_ms_p50": r(f["job"]["p50_ms"] - f["direct"]["p50_ms"], 1),
            "job_p50_ms": r(f["job"]["p50_ms"], 1), "job_p90_ms": r(f["job"]["p90_ms"], 1),
            "direct_p50_ms": r(f["direct"]["p50_ms"], 1), "sandbox_p50_ms": r(f["sandbox"]["p50_ms"], 1),
            "sandbox_overhead_ms_p50": r(f["sandbox"]["p50_ms"] - f["direct"]["p50_ms"], 1),
            "gateway_overhead_ms_p50": r(f["job"]["p50_ms"] - f["sandbox"]["p50_ms"], 1),
            "job_parts_ms_p50": {k.removesuffix("_s"): r(v, 1) for k, v in tiny["breakdown"].items()},
            "polls_p50": tiny["polls"], "tiny_bytes": tiny["bytes"],
            "jobs_per_s": r(tput["jobs_per_s"], 2), "jobs_per_s_runs": [r(x, 2) for x in tput["runs"]],
            "job_failures": tput["failures"], "submitters": self.submitters, "jobs": self.jobs,
        }
        if large_fig is not None and large is not None:
            m = large_fig["med"]
            out.update({
                "aggregate_1gib_s": r(m["job"]), "aggregate_1gib_direct_s": r(m["direct"]),
                "aggregate_1gib_sandbox_s": r(m["sandbox"]), "decrypt_1gib_s": r(m["decrypt"]),
                "ratio_1gib": r(m["job"] / m["direct"]),
                "aggregate_1gib_parts_s": {k.removesuffix("_s"): r(v) for k, v in large_fig["breakdown"].items()},
                "aggregate_1gib_runs_s": {k: [r(x) for x in v] for k, v in large_fig["runs"].items()},
                "register_1gib_s": r(large["register_s"]), "large_bytes": large["bytes"],
                "large_rows": large["expected"]["rows"]})
        else:
            out.update({"aggregate_1gib_s": None, "aggregate_1gib_direct_s": None, "ratio_1gib": None,
                        "register_1gib_s": None, "large_skipped": "not enough free space in the temp dir"})
        met = {}
        for key, (op, bound) in TARGETS.items():
            value = out.get(key)
            met[key] = value is not None and (value <= bound if op == "<=" else value >= bound)
        out.update({"targets": {k: f"{op} {b:g}" for k, (op, b) in TARGETS.items()}, "met": met,
                    "gib": self.gib, "quick": self.quick, "samples": self.samples, "repeats": self.repeats,
                    "cores": os.cpu_count(), "compute_workers": self.settings.compute_workers,
                    "scratch": self.plan["scratch"], "tmp_free_gib": self.plan["tmp_free_gib"],
                    "shm_free_gib": self.plan["shm_free_gib"], "sandbox_cgroup": tiny["cgroup"],
                    "poll": f"long poll, wait={LONG_POLL_S:g} s",
                    "auth": "bearer session",
                    "chain_up_at_end": self.chain_up, "notary": "process"})
        return out


def _report(s: dict[str, Any], argv: list[str], run_s: float) -> None:
    print(f"\n== compute-to-data, {s['cores']} cores (figures are noisy: other work may share this machine), "
          f"gateway 1 process, compute_workers {s['compute_workers']}, scratch {s['scratch']}, "
          f"sandbox cgroup {s['sandbox_cgroup']} ==")
    print(f"tiny job: {s['job_p50_ms']} ms p50 through the gateway vs {s['direct_p50_ms']} ms direct "
          f"(sandbox.run alone {s['sandbox_p50_ms']} ms): job_overhead_ms_p50 {s['job_overhead_ms_p50']} "
          f"= sandbox {s['sandbox_overhead_ms_p50']} + gateway {s['gateway_overhead_ms_p50']}")
    print(f"jobs_per_s: {s['jobs_per_s']} with {s['submitters']} submitters ({s['jobs']} jobs per run, "
          f"{s['job_failures']} failed)")
    if s.get("ratio_1gib") is not None:
        print(f"aggregate over {s['gib']:g} GiB: {s['aggregate_1gib_s']} s as a job vs "
              f"{s['aggregate_1gib_direct_s']} s direct (sandbox.run {s['aggregate_1gib_sandbox_s']} s, decrypt alone "
              f"{s['decrypt_1gib_s']} s): "
              f"ratio_1gib {s['ratio_1gib']}; register_1gib_s {s['register_1gib_s']} (not in the ratio)")
    else:
        print(f"aggregate: SKIPPED ({s.get('large_skipped')})")
    if s["quick"] or s["gib"] != 1.0:
        print(f"note: the large input is {s['gib']:g} GiB, not 1 GiB (key names keep '1gib')")
    for key, ok in s["met"].items():
        print(f"target {key} {s['targets'][key]}: {s.get(key)} -> {'met' if ok else 'missed'}")
    print(f"bench ran {run_s:.0f} s")
    print(f"reproduce: {' '.join([COMMAND, *argv])}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 10 tiny samples, 1 repeat, 8 jobs, 0.125 GiB large input")
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs of the throughput and large-input figures, median (default 3, quick 1)")
    parser.add_argument("--samples", type=int, default=None, help="tiny-job samples per kind (default 30, quick 10)")
    parser.add_argument("--jobs", type=int, default=None, help="small jobs per throughput run (default 20, quick 8)")
    parser.add_argument("--gib", type=float, default=None, help="large input size in GiB (default 1.0, quick 0.125)")
    args = parser.parse_args()
    if args.serve:
        serve_main()
        return
    if args.gib is not None and not 0 < args.gib <= 64:
        parser.error("--gib must be in (0, 64]")
    def stop(signum: int, _frame: Any) -> None:  # unwind: the finally blocks stop the gateway and anvil
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # also when started in the background (SIGINT ignored by default there)
    started = time.monotonic()
    try:
        summary = Bench(args).run()
    except Exception as exc:  # the gateway and anvil are stopped by then; the last line is still JSON
        traceback.print_exc()
        print(f"reproduce: {' '.join([COMMAND, *sys.argv[1:]])}", flush=True)
        print(json.dumps({"error": f"{type(exc).__name__}: {str(exc)[:500]}",
                          "bench_s": round(time.monotonic() - started, 1)}))
        sys.exit(1)
    run_s = time.monotonic() - started
    summary["bench_s"] = round(run_s, 1)
    _report(summary, sys.argv[1:], run_s)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
