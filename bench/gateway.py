"""Gateway benchmark: authorized fetches vs. a no-check baseline, side by side on the same server stack.

The gateway runs as its own process (``gateway.server``: real uvicorn, the real app plus one extra
``/baseline/{id}`` route that serves the same decrypted bytes the same way with no checks). The
load comes from other processes on loopback: ``wrk`` when installed (one thread, fixed headers),
else an asyncio keep-alive HTTP/1.1 client in a second Python process. Baseline and authorized
runs alternate, each bounded in time; figures are medians over the repeats.

"authorized" = a bearer session token (``POST /session`` once, then ``Authorization: Bearer``; every
check still runs per request: membership, grant liveness, window, purpose, region, count, access
record). "signed" = an EIP-712 signature and single-use nonce on every request (pre-signed before
timing; always the Python generator, as wrk cannot send a new nonce per request), next to its own
baseline. The last line is JSON.

    .venv/bin/python -m bench.gateway [--quick] [--skip-1gib] [--workers N] [--generator python]
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
from pathlib import Path
from typing import Any

from bench.devspace import _free_port, start_space
from chain.devnet import rpc
from chain.types import Policy

SMALL = 1 << 20  # same rule as gateway.access.SMALL_BODY: read whole, then one response body

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

        from gateway.auth import sign_call

        s = job["sign"]
        account = Account.from_key(s["key"])
        job["headers_list"] = [sign_call(account, s["chain_id"], s["contract"], "GET", job["target"], ttl_s=280)
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
    """uvicorn factory: the gateway app from env settings, plus the no-check ``/baseline/{id}`` route."""
    from fastapi.responses import Response, StreamingResponse

    from gateway.server import app_from_env

    app = app_from_env()
    gw = app.state.gateway

    def baseline(asset_id: str) -> Response:
        reader = gw.store.open_range(asset_id.lower())
        headers = {"Content-Length": str(reader.length)}
        if reader.length <= SMALL:  # same strategy as the real route: small bodies in one piece
            return Response(b"".join(reader), media_type="application/octet-stream", headers=headers)
        return StreamingResponse(reader, media_type="application/octet-stream", headers=headers)

    app.add_api_route("/baseline/{asset_id}", baseline, methods=["GET"], include_in_schema=False)
    return app


def serve_main(workers: int) -> None:
    """Entry point of the server process (settings come from the environment)."""
    import uvicorn

    from gateway.server import settings_from_env, uvicorn_options

    settings = settings_from_env()
    uvicorn.run("bench.gateway:bench_app", factory=True, workers=workers if workers > 1 else None,
                **uvicorn_options(settings))


class ServerProcess:
    """The gateway in its own process group (stopped by its pid when done)."""

    def __init__(self, settings: Any, rpc_url: str, workers: int) -> None:
        from gateway.server import SETTINGS_ENV, settings_to_env

        env = {**os.environ, SETTINGS_ENV: settings_to_env(settings), "TDS_HOME": str(settings.home),
               "TDS_RPC_URL": rpc_url}
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.gateway", "--serve", "--workers", str(workers)],
                                     env=env, start_new_session=True)
        self.url = f"http://127.0.0.1:{settings.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gateway process exited")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("gateway did not become ready")

    def pids(self) -> list[int]:
        """The serving processes (the workers under a uvicorn supervisor, else the process itself)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        kids = [int(p) for p in children.read_text().split()] if children.exists() else []
        return [k for k in kids if _cmdline(k).find("multiprocessing") >= 0] or [self.proc.pid]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
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


# ---- the measurement -------------------------------------------------------------------------------------------


def main() -> None:  # noqa: PLR0915 - a linear script
    """Set up a space and a gateway process, measure, print figures and the JSON summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer repeats")
    parser.add_argument("--skip-1gib", action="store_true", help="skip the 1 GiB streaming memory figure")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes (default 1)")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--repeats", type=int, default=None, help="runs per figure (median; default 3, quick 3)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per run (default 5, quick 2)")
    parser.add_argument("--skip-signed", action="store_true", help="skip the signed-per-request figures")
    args = parser.parse_args()
    if args.load:
        load_main()
        return
    if args.serve:
        serve_main(args.workers)
        return

    from gateway.client import GatewayClient
    from gateway.service import Gateway, register_asset, revoke_grant
    from gateway.settings import GatewaySettings

    wrk = shutil.which("wrk") if args.generator in ("auto", "wrk") else None
    if args.generator == "wrk" and wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk), use --generator python")
    generator = "wrk" if wrk else "python"
    duration = args.duration or (2.0 if args.quick else 5.0)
    repeats = args.repeats or 3
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(_WRK_LUA)

    with start_space() as space:
        settings = GatewaySettings(home=space.home, port=_free_port())
        gw = Gateway.open(settings, space.chain.settings, chain=space.chain,
                          provider=space.keystore.account("provider"))  # bench-side: register, revoke
        server = ServerProcess(settings, space.devnet.rpc_url, args.workers)
        try:
            server.wait_ready()
            summary = _measure(args, space, gw, server, generator, duration, repeats, script,
                               GatewayClient, register_asset, revoke_grant)
        finally:
            server.stop()
            script.unlink(missing_ok=True)
    print(json.dumps(summary))


def _measure(args: Any, space: Any, gw: Any, server: Any, generator: str, duration: float, repeats: int,
             script: Path, client_cls: Any, register: Any, revoke: Any) -> dict[str, Any]:  # noqa: PLR0913
    consumer = space.keystore.account("consumer")
    client = client_cls(server.url, consumer)
    session_client = client_cls(server.url, consumer, session=True)
    policy = Policy(purposes=("bench",))
    assets = {}
    for label, size in (("1kib", 1024), ("10mib", 10 * 2**20)):
        path = space.home / f"{label}.bin"
        path.write_bytes(os.urandom(size))
        asset_id = register(gw, path, policy).asset_id
        client.request_grant(asset_id, "bench", max_count=2**24 - 1)
        assets[label] = asset_id
    session_client.open_session()
    base = {"host": "127.0.0.1", "port": gw.settings.port}
    signer = {"key": consumer.key.hex(), "chain_id": gw.chain_id, "contract": gw.usage_grants}

    def run(job: dict[str, Any], gen: str) -> dict[str, Any]:
        return run_wrk(job, script) if gen == "wrk" else run_python_load(job)

    def fresh_token() -> dict[str, str]:
        return session_client.auth_headers("GET", "/")  # renewed before it expires

    print(f"generator: {generator} (signed rows: python); gateway workers: {args.workers}; "
          f"{duration:g} s per run, median of {repeats}", flush=True)
    figures: dict[str, dict[str, Any]] = {}
    plan = [("1kib", 1), ("1kib", 50), ("10mib", 1), ("10mib", 50)]
    for label, conc in plan:
        kinds = {"baseline": (f"/baseline/{assets[label]}", lambda: {}),
                 "authorized": (f"/assets/{assets[label]}/data", fresh_token)}
        _side_by_side(figures, kinds, label, conc, base, duration, repeats, lambda j: run(j, generator))
    if not args.skip_signed:
        for conc in (1, 50):
            n = int(duration * (400 if conc == 1 else 900)) + 50  # more pre-signed requests than a run can use
            kinds = {"baseline_py": (f"/baseline/{assets['1kib']}", lambda: {}),
                     "signed": (f"/assets/{assets['1kib']}/data", lambda: {})}
            _side_by_side(figures, kinds, "1kib", conc, base, duration, repeats,
                          lambda j: run_python_load({**j, **({"sign": {**signer, "n": n}}
                                                             if "/data" in j["target"] else {})}))

    def overhead(kind: str, base_kind: str, label: str, conc: int) -> float:
        a, b = figures[f"{kind}_{label}_c{conc}"]["rps"], figures[f"{base_kind}_{label}_c{conc}"]["rps"]
        return round(1 - a / b, 3)

    peak = None if args.skip_1gib else _peak_rss_1gib(space, gw, server, client, register, policy, base)
    revocation_blocks = _revocation_blocks(space, session_client, gw, revoke, register, policy)
    print(f"revocation: refused {revocation_blocks} block(s) after the revoke block", flush=True)
    summary: dict[str, Any] = {
        "overhead_10mib": overhead("authorized", "baseline", "10mib", 50),
        "overhead_10mib_c1": overhead("authorized", "baseline", "10mib", 1),
        "overhead_1kib": overhead("authorized", "baseline", "1kib", 50),
        "overhead_1kib_c1": overhead("authorized", "baseline", "1kib", 1),
        "rps_1kib_c50": round(figures["authorized_1kib_c50"]["rps"], 1),
        "rps_1kib_c50_baseline": round(figures["baseline_1kib_c50"]["rps"], 1),
        "p99_ms_1kib_c1": round(figures["authorized_1kib_c1"]["p99_ms"], 2),
        "p50_ms_1kib_c1": round(figures["authorized_1kib_c1"]["p50_ms"], 2),
        "p99_ms_1kib_c50": round(figures["authorized_1kib_c50"]["p99_ms"], 2),
    }
    if not args.skip_signed:
        summary.update({
            "rps_1kib_c50_signed": round(figures["signed_1kib_c50"]["rps"], 1),
            "rps_1kib_c50_baseline_py": round(figures["baseline_py_1kib_c50"]["rps"], 1),
            "overhead_1kib_signed": overhead("signed", "baseline_py", "1kib", 50),
            "p99_ms_1kib_c1_signed": round(figures["signed_1kib_c1"]["p99_ms"], 2),
        })
    summary.update({"peak_rss_mib_1gib": peak, "revocation_blocks": revocation_blocks,
                    "generator": generator, "workers": args.workers, "run_s": duration, "repeats": repeats})
    return summary


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
        figures[f"{kind}_{label}_c{conc}"] = {**med, "errors": errors}
        spread = f"{min(r['rps'] for r in results):.0f}..{max(r['rps'] for r in results):.0f}"
        print(f"{kind:11s} {label:5s} c={conc:<3d} rps={med['rps']:8.1f} ({spread}) MiB/s={mib_s:8.1f} "
              f"p50={med['p50_ms']:7.2f} ms p99={med['p99_ms']:7.2f} ms err={errors} "
              f"[{results[0]['generator']}]", flush=True)
        if errors:
            print(f"  !! {kind} {label} c={conc}: {errors} non-200 responses", flush=True)


def _peak_rss_1gib(space: Any, gw: Any, server: Any, client: Any, register: Any, policy: Policy,
                   base: dict[str, Any]) -> float:
    """Peak RSS (VmHWM, reset before the stream) of the serving process(es) while streaming 1 GiB."""
    path = space.home / "1gib.bin"
    with open(path, "wb") as f:
        for _ in range(1024):
            f.write(os.urandom(2**20))
    big = register(gw, path, policy).asset_id
    client.request_grant(big, "bench", max_count=10)
    path.unlink()
    pids = server.pids()
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak-RSS high-water mark
    before = max(_status_kib(pid, "VmRSS") for pid in pids) / 1024
    headers = client.signed_headers("GET", f"/assets/{big}/data")
    res = run_python_load({**base, "target": f"/assets/{big}/data", "headers_list": [headers], "concurrency": 1,
                           "duration_s": 600})
    peak = max(_status_kib(pid, "VmHWM") for pid in pids) / 1024
    print(f"1 GiB stream: {res['bytes'] / res['seconds'] / 2**20:.0f} MiB/s (status {res['statuses']}), "
          f"server RSS {before:.0f} -> peak {peak:.0f} MiB", flush=True)
    return round(peak, 1)


def _revocation_blocks(space: Any, client: Any, gw: Any, revoke: Any, register: Any, policy: Policy) -> int:
    """Blocks mined after the revoke tx's block until the gateway first refuses (0: at once)."""
    from gateway.client import GatewayClientError

    path = space.home / "revoke.bin"
    path.write_bytes(os.urandom(64))
    asset_id = register(gw, path, policy).asset_id
    grant = client.request_grant(asset_id, "bench", max_count=100)["grant_id"]
    out = space.home / "revoke.out"
    client.fetch(asset_id, out)
    revoke(gw, grant)  # mined in its own process: the gateway process learns it from the chain only
    revoke_block = gw.chain.w3.eth.block_number
    for _ in range(10):
        try:
            client.fetch(asset_id, out)
        except GatewayClientError as exc:
            assert exc.code == "grant_revoked", exc
            return int(gw.chain.w3.eth.block_number - revoke_block)
        rpc(space.devnet.rpc_url, "evm_mine")
    return 99


if __name__ == "__main__":
    main()
