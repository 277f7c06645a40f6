"""Gateway benchmark: authorized fetches vs. no-check baselines, side by side on the same server stack.

The gateway runs as in deployment: ``gateway.server.serve`` (real uvicorn, 1..N worker processes)
with its notary as ONE separate process sealing and anchoring the access receipts the runs
produce (batch 1000 or every 5 s, one anchor transaction per batch), so anchoring load is present
but not in the serving process. The app gets two extra routes: ``/baseline/{id}`` serves the same
stored object the same way (decrypt AES-GCM + SHA-256 while streaming, same 1 MiB chunks, same
StreamingResponse path) with no checks: authorized/baseline is the cost of the checks alone;
``/plain/{id}`` serves a plaintext copy from disk in the same chunks through the same path, with no
decryption or hashing: authorized/plain is the cost of checks + decryption (10 MiB rows only: at
1 KiB decryption costs microseconds). The load comes from other processes on loopback: ``wrk``
(one thread, fixed headers; ``scripts/bench-setup`` installs it when missing), else, with a warning
in the figures and ``generator_note`` in the JSON, an asyncio keep-alive HTTP/1.1 client in a second
Python process (itself the bottleneck above ~1,000 rps). Which generator ran is printed in the
header, on every row and in the JSON (``generator``, ``generator_version``). Kinds alternate, each
run bounded in time; figures are medians over the repeats.
Each worker count gets a fresh gateway (and notary) process.

"authorized" = a bearer session token (``POST /session`` once, then ``Authorization: Bearer``; every
check still runs per request: membership, grant liveness, window, purpose, region, count, access
record). "signed" = an EIP-712 signature and single-use nonce on every request (pre-signed before
timing; always the Python generator, as wrk cannot send a new nonce per request), next to its own
baseline (first worker count only). Peak RSS while streaming 1 GiB is taken from a fresh gateway
process that served nothing before; the long-lived process's figure is printed next to it. The
last line is JSON (headline figures: the first worker count; the others under ``workers_<n>``).

    .venv/bin/python -m bench.gateway [--quick] [--skip-1gib] [--workers 1,2] [--generator auto|wrk|python] [--no-setup]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.devspace import start_space
from chain.devspace import free_port
from chain.devnet import rpc
from domain.types import Policy

SMALL = 1 << 20  # same rule as gateway.access.SMALL_BODY: read whole, then one response body
BENCH_FACTORY = "bench.gateway:bench_app"

# ---- Python load generator (a second process) ---------------------------------------------------------


async def _load(job: dict[str, Any]) -> dict[str, Any]:
    """C keep-alive connections, each sending requests back to back until the deadline (or headers run out)."""
    host, port, target, conc = job["host"], job["port"], job["target"], job["concurrency"]
    pool: list[dict[str, str]] = list(reversed(job["headers_list"])) if job.get("headers_list") else []
    fixed = job.get("headers", {})
    latencies: list[float] = []
    counts = {"bytes": 0, "errors": 0, "statuses": {}}

    def request_bytes(headers: dict[str, str]) -> bytes:
        lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    fixed_request = request_bytes(fixed)

    async def worker(deadline: float) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                if job.get("headers_list"):
                    if not pool:
                        return
                    raw = request_bytes(pool.pop())
                else:
                    raw = fixed_request
                t0 = time.perf_counter()
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                left = length
                while left:
                    chunk = await reader.read(min(left, 1 << 20))
                    if not chunk:
                        raise ConnectionError("server closed mid-body")
                    left -= len(chunk)
                latencies.append(time.perf_counter() - t0)
                counts["bytes"] += length
                counts["statuses"][status] = counts["statuses"].get(status, 0) + 1
                if status != 200:
                    counts["errors"] += 1
        finally:
            writer.close()

    start = time.perf_counter()
    deadline = start + job["duration_s"]
    await asyncio.gather(*(worker(deadline) for _ in range(conc)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    n = len(latencies)
    return {"n": n, "errors": counts["errors"], "statuses": counts["statuses"], "seconds": elapsed,
            "bytes": counts["bytes"], "rps": n / elapsed,
            "p50_ms": 1000 * latencies[n // 2] if n else None,
            "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))] if n else None, "generator": "python"}


def load_main() -> None:
    """Entry point of the load process: a JSON job on stdin, a JSON result on stdout."""
    job = json.loads(sys.stdin.read())
    if job.get("sign"):  # pre-sign one request per nonce before timing
        from eth_account import Account

        from chain.eip712 import GatewayDomain, sign_call

        s = job["sign"]
        account = Account.from_key(s["key"])
        domain = GatewayDomain.from_json(s["domain"])
        job["headers_list"] = [sign_call(account, domain, "GET", job["target"], ttl_s=280)
                               for _ in range(s["n"])]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_load(job))))


def run_python_load(job: dict[str, Any]) -> dict[str, Any]:
    """One bounded load run from a second Python process."""
    proc = subprocess.run([sys.executable, "-m", "bench.gateway", "--load"], input=json.dumps(job),
                          capture_output=True, text=True, check=True, timeout=job["duration_s"] + 300)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


_WRK_LUA = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "errors": %d, "status_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write + e.status + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(job: dict[str, Any], script: Path) -> dict[str, Any]:
    """One bounded wrk run (1 thread, C connections, fixed headers)."""
    cmd = ["wrk", "-t1", f"-c{job['concurrency']}", f"-d{max(1, round(job['duration_s']))}s", "--timeout", "30s",
           "-s", str(script)]
    for k, v in job.get("headers", {}).items():
        cmd += ["-H", f"{k}: {v}"]
    cmd.append(f"http://{job['host']}:{job['port']}{job['target']}")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=job["duration_s"] + 60)
    raw = json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])
    seconds = raw["duration_us"] / 1e6
    return {"n": raw["requests"], "errors": raw["errors"], "seconds": seconds, "bytes": raw["bytes"],
            "rps": raw["requests"] / seconds, "p50_ms": raw["p50_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
            "generator": "wrk"}


# ---- the server process ---------------------------------------------------------------------------------------


def bench_app() -> Any:
    """uvicorn factory: the gateway app from env settings, plus the no-check ``/baseline`` and ``/plain`` routes."""
    from fastapi.responses import Response, StreamingResponse

    from domain.ids import parse_bytes32
    from gateway.server import app_from_env

    app = app_from_env()
    gw = app.state.gateway
    plain_dir = gw.settings.home / "plain"

    def baseline(asset_id: str) -> Response:
        reader = gw.store.open_range(parse_bytes32(asset_id))  # decrypts and hashes, as the real route
        headers = {"Content-Length": str(reader.length)}
        if reader.length <= SMALL:  # same strategy as the real route: small bodies in one piece
            return Response(b"".join(reader), media_type="application/octet-stream", headers=headers)
        return StreamingResponse(reader, media_type="application/octet-stream", headers=headers)

    def plain(asset_id: str) -> Response:
        path = plain_dir / parse_bytes32(asset_id)
        size = path.stat().st_size
        headers = {"Content-Length": str(size)}
        if size <= SMALL:
            return Response(path.read_bytes(), media_type="application/octet-stream", headers=headers)
        return StreamingResponse(_file_chunks(path, gw.store.chunk_size), media_type="application/octet-stream",
                                 headers=headers)

    app.add_api_route("/baseline/{asset_id}", baseline, methods=["GET"], include_in_schema=False)
    app.add_api_route("/plain/{asset_id}", plain, methods=["GET"], include_in_schema=False)
    return app


def _file_chunks(path: Path, chunk_size: int) -> Any:
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            yield chunk


def serve_main(workers: int, notary: bool) -> None:
    """Entry point of the server process: ``gateway.server.serve`` (and its notary process) with the bench app."""
    from gateway.server import serve
    from gateway.settings import GatewaySettings

    settings = GatewaySettings.load()  # as ServerProcess handed them down
    serve(settings if notary else replace(settings, notary_mode="off"), workers=workers, factory=BENCH_FACTORY)


class ServerProcess:
    """The gateway (and its notary process) in its own process group, stopped by SIGTERM to its pid."""

    def __init__(self, settings: Any, rpc_url: str, workers: int, notary: bool = True) -> None:
        env = {**os.environ, **settings.to_env(), "TDS_RPC_URL": rpc_url}
        cmd = [sys.executable, "-m", "bench.gateway", "--serve", "--workers", str(workers)]
        self.proc = subprocess.Popen(cmd + ([] if notary else ["--no-notary"]), env=env, start_new_session=True)
        self.url = f"http://127.0.0.1:{settings.port}"
        self.workers = workers

    def wait_ready(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gateway process exited")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200 and len(self.pids()) >= self.workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("gateway did not become ready")

    def _children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def pids(self) -> list[int]:
        """The serving processes (the workers under a uvicorn supervisor, else the process itself)."""
        kids = [k for k in self._children() if "spawn_main" in _cmdline(k)]
        return kids if self.workers > 1 else [self.proc.pid]

    def notary_pid(self) -> int | None:
        """The notary process (a child of the serving process), if running."""
        return next((k for k in self._children() if "anchoring.process" in _cmdline(k)), None)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _mib(pids: list[int], field: str) -> float:
    return round(max(_status_kib(pid, field) for pid in pids) / 1024, 1)


# ---- the measurement -------------------------------------------------------------------------------------------


def main() -> None:
    """Set up a space, then per worker count a gateway (+ notary) process; measure; print the JSON summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--skip-1gib", action="store_true", help="skip the 1 GiB streaming memory figure")
    parser.add_argument("--workers", default="1,2", help="gateway worker counts, one fresh gateway each (default 1,2)")
    parser.add_argument("--no-notary", action="store_true", help="no notary process (diagnostics only)")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator; auto = wrk, installed by scripts/bench-setup when missing")
    parser.add_argument("--no-setup", action="store_true", help="do not try to install wrk when it is missing")
    parser.add_argument("--repeats", type=int, default=None, help="runs per figure (median; default 3)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per run (default 5, quick 2)")
    parser.add_argument("--skip-signed", action="store_true", help="skip the signed-per-request figures")
    args = parser.parse_args()
    if args.load:
        load_main()
        return
    if args.serve:
        serve_main(int(args.workers), notary=not args.no_notary)
        return

    generator, note = choose_generator(args.generator, setup=not args.no_setup)
    bench = Bench(args, generator)
    try:
        summary = bench.run()
    finally:
        bench.script.unlink(missing_ok=True)
    summary.update({"generator_version": generator_version(generator), "generator_note": note})
    print(json.dumps(summary))


SETUP_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench-setup"
PYTHON_CAVEAT = ("the Python load generator is itself the bottleneck above ~1,000 rps on 2 cores: "
                 "rps figures are lower bounds of the gateway's")


def choose_generator(wanted: str, setup: bool = True) -> tuple[str, str | None]:
    """The load generator to use (``wrk`` or ``python``) and a note for the figures when it is not wrk.

    ``auto``/``wrk`` install wrk through ``scripts/bench-setup`` when it is missing (unless ``setup``
    is false); ``wrk`` then fails if it is still missing, ``auto`` falls back to Python and says so.
    """
    if wanted == "python":
        return "python", f"python generator chosen (--generator python); {PYTHON_CAVEAT}"
    if shutil.which("wrk") is None and setup:
        print(f"wrk not found: running {SETUP_SCRIPT.relative_to(SETUP_SCRIPT.parent.parent)}", flush=True)
        subprocess.run([str(SETUP_SCRIPT)], check=False, timeout=600)
    if shutil.which("wrk") is not None:
        return "wrk", None
    fix = "install it with ./scripts/bench-setup (Debian: apt-get install -y wrk)"
    if wanted == "wrk":
        raise SystemExit(f"wrk is not installed: {fix}, or pass --generator python")
    note = f"wrk is not installed ({fix}); measured with the Python generator: {PYTHON_CAVEAT}"
    print(f"WARNING: {note}", flush=True)
    return "python", note


def generator_version(generator: str) -> str:
    """``wrk 4.1.0 ...`` or ``python 3.11.2 asyncio`` (the JSON's ``generator_version``)."""
    if generator != "wrk":
        return f"python {sys.version.split()[0]} asyncio"
    proc = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False, timeout=10)
    return ((proc.stdout or proc.stderr).splitlines() or ["wrk"])[0].strip()


class Bench:
    """One benchmark run: a data space, assets and grants, then one gateway process per worker count."""

    def __init__(self, args: Any, generator: str) -> None:
        self.args = args
        self.generator = generator
        self.duration = args.duration or (2.0 if args.quick else 5.0)
        self.repeats = args.repeats or 3
        self.worker_counts = [int(w) for w in str(args.workers).split(",") if w.strip()]
        self.script = Path(tempfile.mkstemp(suffix=".lua")[1])
        self.script.write_text(_WRK_LUA)

    def run(self) -> dict[str, Any]:
        from client.sdk import GatewayClient
        from gateway.service import Gateway
        from gateway.settings import GatewaySettings

        with start_space() as space:
            self.space = space
            self.settings = GatewaySettings(home=space.home, port=free_port())
            self.gw = Gateway.open(self.settings, space.chain.settings, chain=space.chain,
                                   provider=space.keystore.account("provider"))  # bench-side: register, revoke
            consumer = space.keystore.account("consumer")
            self.client = GatewayClient(self.settings.base_url, consumer)
            self.session = GatewayClient(self.settings.base_url, consumer, session=True)
            self.signer = {"key": consumer.key.hex(), "domain": self.gw.domain.to_json()}
            print(f"load generator: {generator_version(self.generator)} (signed rows: python); "
                  f"gateway workers: {self.worker_counts}; "
                  f"notary: {'off' if self.args.no_notary else 'separate process'}; {self.duration:g} s per run, "
                  f"median of {self.repeats}", flush=True)
            with self._server(self.worker_counts[0]) as server:  # grants are issued by the gateway itself
                self._setup_assets()
            summary: dict[str, Any] = {}
            long_lived: dict[str, Any] = {}
            for i, workers in enumerate(self.worker_counts):
                with self._server(workers) as server:
                    row = self._workers_row(server, signed=i == 0 and not self.args.skip_signed)
                    if i == 0:
                        long_lived = self._long_lived(server)
                        row["revocation_blocks"] = self._revocation_blocks()
                if i == 0:
                    summary.update(row)
                else:
                    summary[f"workers_{workers}"] = row
            peak = None if self.args.skip_1gib else self._fresh_peak_rss()
        summary.update({"peak_rss_mib_1gib": peak, **long_lived, "generator": self.generator,
                        "workers": self.worker_counts[0], "notary": "off" if self.args.no_notary else "process",
                        "run_s": self.duration, "repeats": self.repeats})
        return summary

    # ---- setup ----

    def _server(self, workers: int) -> Any:
        bench = self

        class Running:
            def __enter__(self) -> ServerProcess:
                self.server = ServerProcess(bench.settings, bench.space.devnet.rpc_url, workers,
                                            notary=not bench.args.no_notary)
                try:
                    self.server.wait_ready()
                except BaseException:
                    self.server.stop()
                    raise
                return self.server

            def __exit__(self, *exc: object) -> None:
                self.server.stop()

        return Running()

    def _setup_assets(self) -> None:
        from gateway.service import register_asset

        policy = Policy(purposes=("bench",))
        plain = self.space.home / "plain"
        plain.mkdir()
        sizes = [("1kib", 1024), ("10mib", 10 * 2**20)] + ([] if self.args.skip_1gib else [("1gib", 2**30)])
        self.assets: dict[str, str] = {}
        for label, size in sizes:
            path = self.space.home / f"{label}.bin"
            with open(path, "wb") as f:
                for _ in range(max(1, size // 2**20)):
                    f.write(os.urandom(min(size, 2**20)))
            asset_id = register_asset(self.gw, path, policy).asset_id
            self.client.request_grant(asset_id, "bench", max_count=2**24 - 1 if label != "1gib" else 10)
            self.assets[label] = asset_id
            if label == "1gib":
                path.unlink()
            else:
                path.rename(plain / asset_id)
        self.revoke_asset = register_asset(self.gw, self._write("revoke.bin", 64), policy).asset_id
        self.session.open_session()

    def _write(self, name: str, size: int) -> Path:
        path = self.space.home / name
        path.write_bytes(os.urandom(size))
        return path

    # ---- load ----

    def _run(self, job: dict[str, Any], generator: str | None = None) -> dict[str, Any]:
        if (generator or self.generator) == "wrk":
            return run_wrk(job, self.script)
        return run_python_load(job)

    def _workers_row(self, server: ServerProcess, signed: bool) -> dict[str, Any]:
        workers = server.workers
        print(f"-- gateway workers: {workers} (serving pids {server.pids()}, notary pid {server.notary_pid()})",
              flush=True)
        base = {"host": "127.0.0.1", "port": self.settings.port}
        before = self._notary_state()
        token = lambda: self.session.auth_headers("GET", "/")  # noqa: E731 - renewed before it expires
        figures: dict[str, dict[str, Any]] = {}
        for label, conc in (("1kib", 1), ("1kib", 50), ("10mib", 1), ("10mib", 50)):
            a = self.assets[label]
            kinds = {"baseline": (f"/baseline/{a}", dict), "authorized": (f"/assets/{a}/data", token)}
            if label == "10mib":
                kinds = {"plain": (f"/plain/{a}", dict), **kinds}
            _side_by_side(figures, kinds, label, conc, base, self.duration, self.repeats, self._run)
        if signed:
            for conc in (1, 50):
                n = int(self.duration * (400 if conc == 1 else 900)) + 50  # more pre-signed than a run can use
                signer = {"sign": {**self.signer, "n": n}}
                kinds = {"baseline_py": (f"/baseline/{self.assets['1kib']}", dict),
                         "signed": (f"/assets/{self.assets['1kib']}/data", dict)}
                _side_by_side(figures, kinds, "1kib", conc, base, self.duration, self.repeats,
                              lambda j: run_python_load({**j, **(signer if "/data" in j["target"] else {})}))
        after = self._notary_state()
        print(f"notary (separate process): {after['anchored'] - before['anchored']} batches anchored, "
              f"{after['sealed_receipts'] - before['sealed_receipts']} receipts sealed during the runs; "
              f"{after['pending']} pending at the end", flush=True)
        return _row(figures, signed)

    def _notary_state(self) -> dict[str, int]:
        with self.gw.db.engine.connect() as conn:
            def one(sql: str) -> int:
                try:
                    return int(conn.exec_driver_sql(sql).scalar() or 0)
                except Exception:  # noqa: BLE001 - tables not created yet
                    return 0

            return {"anchored": one("SELECT count(*) FROM notary_batches WHERE state = 'anchored'"),
                    "sealed_receipts": one("SELECT count(*) FROM notary_batch_members"),
                    "pending": one("SELECT count(*) FROM access_records r LEFT JOIN notary_batch_members m "
                                   "ON m.access_id = r.id WHERE m.access_id IS NULL")}

    # ---- memory ----

    def _stream_1gib(self, server: ServerProcess) -> tuple[float, float, float]:
        """(RSS before, peak RSS during, MiB/s) of the serving process(es) streaming 1 GiB (VmHWM reset first)."""
        pids = server.pids()
        for pid in pids:
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak-RSS high-water mark
        before = _mib(pids, "VmRSS")
        target = f"/assets/{self.assets['1gib']}/data"
        res = run_python_load({"host": "127.0.0.1", "port": self.settings.port, "target": target,
                               "headers_list": [self.client.signed_headers("GET", target)], "concurrency": 1,
                               "duration_s": 600})
        assert res["statuses"] == {"200": 1} or res["statuses"] == {200: 1}, res
        return before, _mib(pids, "VmHWM"), res["bytes"] / res["seconds"] / 2**20

    def _long_lived(self, server: ServerProcess) -> dict[str, Any]:
        """RSS of the process that served every run above (and of its notary), printed for transparency."""
        pids, notary = server.pids(), server.notary_pid()
        figures: dict[str, Any] = {"rss_mib_long_lived": _mib(pids, "VmRSS"),
                                   "hwm_mib_long_lived": _mib(pids, "VmHWM")}
        if notary is not None:
            figures["rss_mib_notary"] = _mib([notary], "VmRSS")
        if not self.args.skip_1gib:
            before, peak, speed = self._stream_1gib(server)
            figures["peak_rss_mib_1gib_long_lived"] = peak
            print(f"1 GiB stream, long-lived process: {speed:.0f} MiB/s, RSS {before:.0f} -> peak {peak:.0f} MiB",
                  flush=True)
        print(f"long-lived serving process: RSS {figures['rss_mib_long_lived']} MiB, "
              f"high-water {figures['hwm_mib_long_lived']} MiB; notary process RSS {figures.get('rss_mib_notary')} MiB",
              flush=True)
        return figures

    def _fresh_peak_rss(self) -> float:
        """Peak RSS of a fresh gateway process (1 worker, nothing served before) streaming 1 GiB."""
        with self._server(1) as server:
            before, peak, speed = self._stream_1gib(server)
        print(f"1 GiB stream, fresh process: {speed:.0f} MiB/s, RSS {before:.0f} -> peak {peak:.0f} MiB", flush=True)
        return peak

    # ---- revocation ----

    def _revocation_blocks(self) -> int:
        """Blocks mined after the revoke tx's block until the gateway first refuses (0: at once)."""
        from client.sdk import GatewayClientError
        from gateway.service import revoke_grant

        grant = self.session.request_grant(self.revoke_asset, "bench", max_count=100)["grant_id"]
        out = self.space.home / "revoke.out"
        self.session.fetch(self.revoke_asset, out)
        revoke_grant(self.gw, grant)  # mined in this process: the gateway learns it from the chain only
        revoke_block = self.gw.chain.block_number()
        for _ in range(10):
            try:
                self.session.fetch(self.revoke_asset, out)
            except GatewayClientError as exc:
                assert exc.code == "grant_revoked", exc
                blocks = self.gw.chain.block_number() - revoke_block
                print(f"revocation: refused {blocks} block(s) after the revoke block", flush=True)
                return blocks
            rpc(self.space.devnet.rpc_url, "evm_mine")
        return 99


def _row(figures: dict[str, dict[str, Any]], signed: bool) -> dict[str, Any]:
    """The summary figures of one worker count."""

    def overhead(kind: str, base_kind: str, label: str, conc: int) -> float:
        a, b = figures[f"{kind}_{label}_c{conc}"]["rps"], figures[f"{base_kind}_{label}_c{conc}"]["rps"]
        return round(1 - a / b, 3)

    row: dict[str, Any] = {
        "overhead_10mib": overhead("authorized", "baseline", "10mib", 50),
        "overhead_10mib_c1": overhead("authorized", "baseline", "10mib", 1),
        "overhead_10mib_vs_plain": overhead("authorized", "plain", "10mib", 50),
        "overhead_10mib_vs_plain_c1": overhead("authorized", "plain", "10mib", 1),
        "decrypt_cost_10mib": overhead("baseline", "plain", "10mib", 50),
        "overhead_1kib": overhead("authorized", "baseline", "1kib", 50),
        "overhead_1kib_c1": overhead("authorized", "baseline", "1kib", 1),
        "rps_1kib_c50": round(figures["authorized_1kib_c50"]["rps"], 1),
        "rps_1kib_c50_baseline": round(figures["baseline_1kib_c50"]["rps"], 1),
        "rps_1kib_c1": round(figures["authorized_1kib_c1"]["rps"], 1),
        "p99_ms_1kib_c1": round(figures["authorized_1kib_c1"]["p99_ms"], 2),
        "p50_ms_1kib_c1": round(figures["authorized_1kib_c1"]["p50_ms"], 2),
        "p99_ms_1kib_c50": round(figures["authorized_1kib_c50"]["p99_ms"], 2),
        "mib_s_10mib_c50": round(figures["authorized_10mib_c50"]["mib_s"], 1),
        "errors": sum(f["errors"] for f in figures.values()),
    }
    if signed:
        row.update({
            "rps_1kib_c50_signed": round(figures["signed_1kib_c50"]["rps"], 1),
            "rps_1kib_c50_baseline_py": round(figures["baseline_py_1kib_c50"]["rps"], 1),
            "overhead_1kib_signed": overhead("signed", "baseline_py", "1kib", 50),
            "p99_ms_1kib_c1_signed": round(figures["signed_1kib_c1"]["p99_ms"], 2),
        })
    return row


def _side_by_side(figures: dict[str, dict[str, Any]], kinds: dict[str, Any], label: str, conc: int,
                  base: dict[str, Any], duration: float, repeats: int, run: Any) -> None:
    """Alternate the kinds (A B A B ...) after a short warm-up of each; keep the medians."""
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    for kind, (target, headers) in kinds.items():
        run({**base, "target": target, "headers": headers(), "concurrency": conc, "duration_s": 1})
    for _ in range(repeats):
        for kind, (target, headers) in kinds.items():
            runs[kind].append(run({**base, "target": target, "headers": headers(), "concurrency": conc,
                                   "duration_s": duration}))
    for kind, results in runs.items():
        med = {key: statistics.median(r[key] for r in results) for key in ("rps", "p50_ms", "p99_ms")}
        errors = sum(r["errors"] for r in results)
        mib_s = statistics.median(r["bytes"] / r["seconds"] / 2**20 for r in results)
        figures[f"{kind}_{label}_c{conc}"] = {**med, "errors": errors, "mib_s": mib_s}
        spread = f"{min(r['rps'] for r in results):.0f}..{max(r['rps'] for r in results):.0f}"
        print(f"{kind:11s} {label:5s} c={conc:<3d} rps={med['rps']:8.1f} ({spread}) MiB/s={mib_s:8.1f} "
              f"p50={med['p50_ms']:7.2f} ms p99={med['p99_ms']:7.2f} ms err={errors} "
              f"[{results[0]['generator']}]", flush=True)
        if errors:
            print(f"  !! {kind} {label} c={conc}: {errors} non-200 responses", flush=True)


if __name__ == "__main__":
    main()
