"""Data-service benchmark: calls through the gateway vs. the same backend called directly, side by side.

The backend is ``examples/credit_api.py --secret-env`` (stdlib ThreadingHTTPServer, HTTP/1.1 keep-alive,
every call HMAC-verified, TCP_NODELAY on its connections); ``GET /scores/{company}`` answers ~1 KiB of
JSON. The gateway runs as
``tds gateway serve`` would (``gateway.server.serve``: uvicorn, ``--workers`` processes) with its notary
as ONE separate process sealing and anchoring the receipts (batch 1000 or every 5 s, one anchor tx per
batch), started through ``bench.gateway.ServerProcess`` (whose app adds the no-check ``/baseline/{id}``
route of ``bench.gateway``). The load generator is ``wrk`` (1 thread, fixed headers; installed by
``scripts/bench-setup`` when missing, ``apt-get install -y wrk`` with an ``apt-get update`` retry), else
the Python keep-alive generator of ``bench.gateway`` in a second process, said on every row and in the
JSON (``load_generator``).

- direct: wrk -> backend, with gateway-signed headers (HMAC made by the bench for a timestamp in the
  middle of the run, so the backend verifies exactly as for a proxied call);
- gateway: wrk -> ``/services/{id}/scores/{company}`` -> backend, authenticated by one bearer session
  (``POST /session`` once; signed calls are single-use, wrk cannot replay them); every check still runs
  per call (member, grant liveness, window, purpose, region, count, access record + call evidence);
- fetch: ``GET /assets/{id}/data`` of a 1 KiB object with the same session vs ``/baseline/{id}`` (same
  decrypt + hash + response path, no checks), as ``bench.gateway`` measures it;
- sustained: ``--sustain-s`` at 50 connections through the gateway, then the wait until every receipt of
  the run (allow and deny) is in an anchored batch; the figure counts only if all are (``all_anchored``).

Latency (p50/p99) at 1 connection, calls/s at 50; kinds alternate (A B A B ...), after a 1 s warm-up each,
figures are medians over ``--repeats``. The bench raises ``session_ttl_s`` and turns the per-client and
per-address rate limits off (``GatewaySettings``), and grants 10,000,000 uses. Last line: JSON.

    .venv/bin/python -m bench.services [--quick] [--duration 10] [--sustain-s 60] [--workers 1] [--repeats 3]
        [--generator auto|wrk|python] [--no-setup]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from bench.devspace import start_space
from bench.gateway import _WRK_LUA, ServerProcess, choose_generator, generator_version, run_python_load, run_wrk
from chain.devspace import free_port
from domain.types import Policy, did_pkh

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ".venv/bin/python -m bench.services"
SECRET_ENV = "TDS_BENCH_BACKEND_SECRET"
COMPANY = "91310000MA1FL0001X"
MAX_COUNT = 10_000_000  # < 2**24 (Policy.validate): more than any run here can use
SESSION_TTL_S = 6 * 3600
TARGETS = {"added_p50_ms_c1": ("<=", 1.0), "ratio_vs_direct_c50": (">=", 0.5),
           "sustained_calls_per_s_with_evidence": (">=", 1300.0), "fetch_ratio_vs_baseline_c50": (">=", 0.5)}


# ---- processes -------------------------------------------------------------------------------------------------


class Backend:
    """``examples/credit_api.py --secret-env`` on 127.0.0.1, in its own process group."""

    def __init__(self, secret: str, log: Path) -> None:
        self.port = free_port()
        env = {**os.environ, SECRET_ENV: secret}
        cmd = [sys.executable, str(ROOT / "examples" / "credit_api.py"), "--port", str(self.port),
               "--secret-env", SECRET_ENV]
        self.log = log
        with open(log, "wb") as err:  # wrk closing mid-answer at a run's end: BrokenPipe tracebacks go here
            self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def exceptions(self) -> dict[str, int]:
        """The exceptions the backend logged, by type (BrokenPipe, ConnectionReset: wrk hung up at a direct
        run's end)."""
        found: dict[str, int] = {}
        for line in self.log.read_text(errors="replace").splitlines() if self.log.exists() else []:
            if line and not line.startswith(" ") and line.split(":", 1)[0].endswith(("Error", "Exception")):
                name = line.split(":", 1)[0]
                found[name] = found.get(name, 0) + 1
        return found

    def wait_ready(self, timeout: float = 20) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the backend process exited")
            try:
                httpx.get(f"{self.url}/scores/{COMPANY}", timeout=1)  # 401 unsigned: it is up
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the backend did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- the measurement -------------------------------------------------------------------------------------------


Kind = tuple[int, str, Callable[[float], dict[str, str]]]  # port, target, headers for a run of `duration` s


class Bench:
    """One run: a data space, a backend, one gateway (+ notary) process; points, then the sustained run."""

    def __init__(self, args: Any, generator: str) -> None:
        self.args = args
        self.generator = generator
        self.duration = args.duration or (3.0 if args.quick else 10.0)
        self.sustain_s = args.sustain_s or (5.0 if args.quick else 60.0)
        self.repeats = args.repeats or (1 if args.quick else 3)
        self.workers = int(args.workers)
        self.script = Path(tempfile.mkstemp(suffix=".lua")[1])
        self.script.write_text(_WRK_LUA)
        self.secret = os.urandom(32).hex()
        self.backend_exceptions: dict[str, int] = {}
        self.chain_up = True

    # ---- load ----

    def _run(self, port: int, target: str, headers: dict[str, str], conc: int, duration: float) -> dict[str, Any]:
        job = {"host": "127.0.0.1", "port": port, "target": target, "headers": headers, "concurrency": conc,
               "duration_s": duration}
        return run_wrk(job, self.script) if self.generator == "wrk" else run_python_load(job)

    def _point(self, figures: dict[str, dict[str, Any]], kinds: dict[str, Kind], conc: int) -> None:
        """Alternate the kinds (A B A B ...) after a 1 s warm-up of each; keep the medians."""
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        for port, target, headers in kinds.values():
            self._run(port, target, headers(1), conc, 1)
        for _ in range(self.repeats):
            for kind, (port, target, headers) in kinds.items():
                runs[kind].append(self._run(port, target, headers(self.duration), conc, self.duration))
        for kind, results in runs.items():
            med = {key: statistics.median(r[key] for r in results) for key in ("rps", "p50_ms", "p99_ms")}
            errors = sum(r["errors"] for r in results)
            figures[f"{kind}_c{conc}"] = {**med, "errors": errors, "n": sum(r["n"] for r in results)}
            spread = f"{min(r['rps'] for r in results):.0f}..{max(r['rps'] for r in results):.0f}"
            print(f"{kind:15s} c={conc:<3d} rps={med['rps']:8.1f} ({spread}) p50={med['p50_ms']:7.3f} ms "
                  f"p99={med['p99_ms']:7.3f} ms err={errors} [{results[0]['generator']}]", flush=True)
            if errors:
                print(f"  !! {kind} c={conc}: {errors} errors / non-2xx answers", flush=True)

    # ---- setup ----

    def run(self) -> dict[str, Any]:
        from client.sdk import GatewayClient
        from gateway.service import Gateway, register_asset, register_service
        from gateway.settings import GatewaySettings
        from services.registry import ServiceConfig

        backend: Backend | None = None
        server: ServerProcess | None = None
        with start_space() as space:
            try:
                self.space = space
                self.settings = GatewaySettings(home=space.home, port=free_port(), session_ttl_s=SESSION_TTL_S,
                                                rate_limit_per_client="", rate_limit_per_address="")
                gw = Gateway.open(self.settings, space.chain.settings, chain=space.chain,
                                  provider=space.keystore.account("provider"))  # bench-side: registers
                self.gw = gw
                consumer = space.keystore.account("consumer")
                backend = Backend(self.secret, space.home / "backend.log")
                backend.wait_ready()
                server = ServerProcess(self.settings, space.devnet.rpc_url, self.workers, notary=True)
                server.wait_ready()
                print(f"cores: {os.cpu_count()}; load generator: {generator_version(self.generator)}; gateway "
                      f"workers: {self.workers} (serving pids {server.pids()}, notary pid {server.notary_pid()}); "
                      f"{self.duration:g} s per run, median of {self.repeats}; sustained {self.sustain_s:g} s",
                      flush=True)
                policy = Policy(purposes=("bench",))
                doc = json.loads((ROOT / "examples" / "credit-api.openapi.json").read_text())
                desc = space.home / "credit-api.openapi.json"
                desc.write_text(json.dumps(doc, indent=1))
                config = ServiceConfig(backend=backend.url, secret=self.secret, timeout_s=10.0)
                service = register_service(gw, desc, config, policy, title="credit API (bench)").asset_id
                blob = space.home / "1kib.bin"
                blob.write_bytes(os.urandom(1024))
                asset = register_asset(gw, blob, policy).asset_id
                with GatewayClient(self.settings.base_url, consumer, session=True) as client:
                    grant = client.request_grant(service, "bench", max_count=MAX_COUNT)["grant_id"]
                    client.request_grant(asset, "bench", max_count=MAX_COUNT)
                    session = client.open_session(ttl_s=SESSION_TTL_S)
                    first = client.call(service, f"/scores/{COMPANY}")  # sanity: one call end to end
                    assert first.status == 200 and first.json()["score"] == 742, first
                    client.fetch(asset, space.home / "1kib.out")
                print(f"session expires in {session['expires_in']} s; one call answered {len(first.body)} bytes "
                      f"of JSON (receipt {first.receipt_id})", flush=True)
                bearer = {"Authorization": f"Bearer {session['token']}"}
                did = did_pkh(gw.chain_id, consumer.address)
                direct_target = f"/scores/{COMPANY}"

                def direct_headers(duration: float) -> dict[str, str]:
                    """Gateway-signed headers valid for the whole run (the backend allows 60 s of skew)."""
                    from services.proxy import sign_backend_call

                    return sign_backend_call(self.secret.encode(), "GET", direct_target, consumer_did=did,
                                             grant_id=grant, receipt_id=first.receipt_id, purpose="bench",
                                             body=b"", now=time.time() + min(duration / 2, 50))

                if self.duration > 100:
                    print("  note: direct runs over 100 s outlive their backend signature (60 s skew)", flush=True)
                kinds: dict[str, Kind] = {
                    "direct": (backend.port, direct_target, direct_headers),
                    "gateway": (self.settings.port, f"/services/{service}{direct_target}", lambda _d: bearer)}
                fetch_kinds: dict[str, Kind] = {
                    "fetch_baseline": (self.settings.port, f"/baseline/{asset}", lambda _d: {}),
                    "fetch": (self.settings.port, f"/assets/{asset}/data", lambda _d: bearer)}
                figures: dict[str, dict[str, Any]] = {}
                for conc in (1, 50):
                    self._point(figures, kinds, conc)
                for conc in (1, 50):
                    self._point(figures, fetch_kinds, conc)
                sustained = self._sustained(kinds["gateway"])
                pids = {"serving": server.pids(), "notary": server.notary_pid()}
                self.chain_up = space.devnet.status().running
                if not self.chain_up:
                    log = space.devnet.directory / "anvil.log"
                    tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else ["(no log)"]
                    print("!! the devnet (anvil) is not running any more: figures after it stopped are refusals;"
                          " anvil.log ends:\n  " + "\n  ".join(tail), flush=True)
                self.backend_exceptions = backend.exceptions()
                if self.backend_exceptions:
                    print("backend exceptions logged (BrokenPipe, ConnectionReset: wrk hanging up at the direct "
                          f"runs' ends): "
                          f"{self.backend_exceptions}", flush=True)
            finally:
                if server is not None:
                    server.stop()
                if backend is not None:
                    backend.stop()
        return self._summary(figures, sustained, pids)

    # ---- sustained with evidence ----

    def _ledger(self, start: int) -> dict[str, int]:
        """Records after ``start``: all, allowed, and not (yet) in an anchored batch; the last record id."""
        sql = ("SELECT count(*), coalesce(sum(CASE WHEN r.decision = 'allow' THEN 1 ELSE 0 END), 0), "
               "coalesce(sum(CASE WHEN b.state IS NULL OR b.state <> 'anchored' THEN 1 ELSE 0 END), 0), "
               "coalesce(max(r.id), 0), coalesce(sum(CASE WHEN r.streaming THEN 1 ELSE 0 END), 0), "
               "coalesce(sum(CASE WHEN m.access_id IS NULL THEN 1 ELSE 0 END), 0) FROM access_records r "
               "LEFT JOIN notary_batch_members m ON m.access_id = r.id "
               "LEFT JOIN notary_batches b ON b.id = m.batch_id WHERE r.id > ?")
        with self.gw.db.engine.connect() as conn:
            total, allowed, unanchored, last, open_, unsealed = conn.exec_driver_sql(sql, (start,)).one()
        return {"records": int(total), "allowed": int(allowed), "unanchored": int(unanchored), "last": int(last),
                "open": int(open_), "unsealed": int(unsealed)}

    def _sustained(self, kind: Kind) -> dict[str, Any]:
        port, target, headers = kind
        start = self._ledger(0)["last"]
        print(f"sustained: {self.sustain_s:g} s at c=50 through the gateway, then waiting for every receipt to be "
              "anchored", flush=True)
        res = self._run(port, target, headers(self.sustain_s), 50, self.sustain_s)
        ended = time.monotonic()
        at_end = self._ledger(start)
        limit = 180 + 2 * self.sustain_s  # bounded; a record left open is sealed after the 120 s delivery grace
        now = at_end
        sealed_s: float | None = None  # when every record was in a batch (sealed), anchored or not
        while now["unanchored"] and time.monotonic() - ended < limit:
            time.sleep(0.5)
            now = self._ledger(start)
            if sealed_s is None and now["unsealed"] == 0:
                sealed_s = time.monotonic() - ended
        catch_up = time.monotonic() - ended
        good = res["n"] - res["errors"]  # 2xx answers: each has an allow record
        all_anchored = now["unanchored"] == 0 and good > 0 and now["allowed"] >= good
        batches = self._batches()
        left = "all anchored" if all_anchored else f"{now['unanchored']} STILL NOT ANCHORED"
        print(f"sustained c=50: {good / res['seconds']:.1f} good calls/s over {res['seconds']:.1f} s ({res['n']} "
              f"calls, {res['errors']} errors) [{res['generator']}]; "
              f"receipts: {now['records']} ({now['allowed']} allowed), "
              f"{at_end['unanchored']} not anchored when the load stopped ({at_end['unsealed']} not sealed, "
              f"{at_end['open']} calls still open), "
              f"{left} "
              f"{catch_up:.1f} s later; {batches['anchored']} anchored batches in all", flush=True)
        return {"rps": good / res["seconds"], "n": res["n"], "good": good, "errors": res["errors"],
                "seconds": res["seconds"],
                "p50_ms": res["p50_ms"], "p99_ms": res["p99_ms"], "records": now["records"],
                "allowed": now["allowed"], "unanchored_at_end": at_end["unanchored"],
                "unanchored": now["unanchored"], "catch_up_s": catch_up, "open_at_end": at_end["open"],
                "unsealed_at_end": at_end["unsealed"], "sealed_after_s": sealed_s, "all_anchored": all_anchored,
                "generator": res["generator"], **batches}

    def _batches(self) -> dict[str, int]:
        with self.gw.db.engine.connect() as conn:
            n, leaves = conn.exec_driver_sql("SELECT count(*), coalesce(sum(leaf_count), 0) FROM notary_batches "
                                             "WHERE state = 'anchored'").one()
        return {"anchored": int(n), "anchored_leaves": int(leaves)}

    # ---- summary ----

    def _summary(self, f: dict[str, dict[str, Any]], s: dict[str, Any], pids: dict[str, Any]) -> dict[str, Any]:
        r = lambda x, n=3: None if x is None else round(x, n)  # noqa: E731
        sustained = r(s["rps"], 1)
        out: dict[str, Any] = {
            "added_p50_ms_c1": r(f["gateway_c1"]["p50_ms"] - f["direct_c1"]["p50_ms"]),
            "added_p99_ms_c1": r(f["gateway_c1"]["p99_ms"] - f["direct_c1"]["p99_ms"]),
            "p50_ms_c1": r(f["gateway_c1"]["p50_ms"]), "p99_ms_c1": r(f["gateway_c1"]["p99_ms"]),
            "direct_p50_ms_c1": r(f["direct_c1"]["p50_ms"]), "direct_p99_ms_c1": r(f["direct_c1"]["p99_ms"]),
            "calls_per_s_c1": r(f["gateway_c1"]["rps"], 1), "direct_calls_per_s_c1": r(f["direct_c1"]["rps"], 1),
            "calls_per_s_c50": r(f["gateway_c50"]["rps"], 1),
            "direct_calls_per_s_c50": r(f["direct_c50"]["rps"], 1),
            "ratio_vs_direct_c50": r(f["gateway_c50"]["rps"] / f["direct_c50"]["rps"]),
            "p99_ms_c50": r(f["gateway_c50"]["p99_ms"]), "direct_p99_ms_c50": r(f["direct_c50"]["p99_ms"]),
            "sustained_calls_per_s_with_evidence": sustained if s["all_anchored"] else None,
            "sustained_calls_per_s": sustained, "sustain_s": self.sustain_s, "sustained_calls": s["n"],
            "sustained_errors": s["errors"], "chain_up_at_end": self.chain_up, "sustained_receipts": s["records"],
            "sustained_allowed": s["allowed"], "unanchored_when_load_stopped": s["unanchored_at_end"],
            "anchor_catch_up_s": r(s["catch_up_s"], 1), "sealed_after_s": r(s["sealed_after_s"], 1),
            "open_calls_when_load_stopped": s["open_at_end"], "unsealed_when_load_stopped": s["unsealed_at_end"],
            "all_anchored": s["all_anchored"],
            "unanchored_left": s["unanchored"], "anchored_batches": s["anchored"],
            "fetch_added_p50_ms_c1": r(f["fetch_c1"]["p50_ms"] - f["fetch_baseline_c1"]["p50_ms"]),
            "fetch_added_p99_ms_c1": r(f["fetch_c1"]["p99_ms"] - f["fetch_baseline_c1"]["p99_ms"]),
            "fetch_p50_ms_c1": r(f["fetch_c1"]["p50_ms"]), "fetch_p99_ms_c1": r(f["fetch_c1"]["p99_ms"]),
            "fetch_per_s_c50": r(f["fetch_c50"]["rps"], 1),
            "fetch_baseline_per_s_c50": r(f["fetch_baseline_c50"]["rps"], 1),
            "fetch_ratio_vs_baseline_c50": r(f["fetch_c50"]["rps"] / f["fetch_baseline_c50"]["rps"]),
            "errors": sum(x["errors"] for x in f.values()) + s["errors"],
        }
        met = {}
        for key, (op, bound) in TARGETS.items():
            value = out[key]
            met[key] = value is not None and (value <= bound if op == "<=" else value >= bound)
        out.update({"targets": {k: f"{op} {b:g}" for k, (op, b) in TARGETS.items()}, "met": met,
                    "cores": os.cpu_count(), "load_generator": self.generator,
                    "load_generator_version": generator_version(self.generator), "workers": self.workers,
                    "notary": "process", "run_s": self.duration, "repeats": self.repeats,
                    "answer": "GET /scores/{company}, ~1 KiB JSON", "pids": pids,
                    "backend": "examples/credit_api.py",
                    "backend_exceptions": self.backend_exceptions})
        return out


def _report(summary: dict[str, Any], note: str | None, argv: list[str]) -> None:
    s = summary
    gen = s["load_generator"]
    print(f"\n== data services, {s['cores']} cores (figures are noisy: other work may share this machine), "
          f"gateway workers {s['workers']}, notary in its own process, load generator: {gen} ==")
    print(f"1 client  [{gen}]: added p50 {s['added_p50_ms_c1']} ms, added p99 {s['added_p99_ms_c1']} ms "
          f"(gateway p50/p99 {s['p50_ms_c1']}/{s['p99_ms_c1']} ms, direct {s['direct_p50_ms_c1']}/"
          f"{s['direct_p99_ms_c1']} ms)")
    print(f"50 clients [{gen}]: {s['calls_per_s_c50']} calls/s through the gateway vs {s['direct_calls_per_s_c50']} "
          f"direct: ratio {s['ratio_vs_direct_c50']}")
    print(f"sustained [{gen}]: {s['sustained_calls_per_s']} calls/s over {s['sustain_s']:g} s at c=50, receipts "
          f"{'all anchored' if s['all_anchored'] else 'NOT all anchored'} {s['anchor_catch_up_s']} s after the "
          f"load stopped ({s['unanchored_when_load_stopped']} were pending then) -> "
          f"sustained_calls_per_s_with_evidence {s['sustained_calls_per_s_with_evidence']}")
    print(f"1 KiB fetch [{gen}]: {s['fetch_per_s_c50']} /s at c=50 vs no-check baseline "
          f"{s['fetch_baseline_per_s_c50']}: ratio {s['fetch_ratio_vs_baseline_c50']}; added p50/p99 at c=1 "
          f"{s['fetch_added_p50_ms_c1']}/{s['fetch_added_p99_ms_c1']} ms")
    for key, ok in s["met"].items():
        print(f"target {key} {s['targets'][key]}: {s.get(key)} -> {'met' if ok else 'NOT met'}")
    if note:
        print(f"note: {note}")
    print(f"reproduce: {' '.join([COMMAND, *argv])}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s points, one repeat, 5 s sustained")
    parser.add_argument("--duration", type=float, default=None, help="seconds per run (default 10, quick 3)")
    parser.add_argument("--sustain-s", type=float, default=None, help="sustained run (default 60, quick 5)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per figure, median (default 3, quick 1)")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes (default 1)")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator; auto = wrk, installed by scripts/bench-setup when missing")
    parser.add_argument("--no-setup", action="store_true", help="do not try to install wrk when it is missing")
    args = parser.parse_args()
    generator, note = choose_generator(args.generator, setup=not args.no_setup)
    bench = Bench(args, generator)
    try:
        summary = bench.run()
    finally:
        bench.script.unlink(missing_ok=True)
    summary["generator_note"] = note
    _report(summary, note, sys.argv[1:])
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
