"""Gateway benchmark: authorized fetches vs. a no-check baseline on the same server stack.

The server (real uvicorn, the real app plus one extra ``/baseline/{id}`` route that streams the same
decrypted bytes with no checks) runs in this process; the load comes from a second process with an
async httpx client (requests pre-signed before timing). Bounded loops; the last line is JSON.

    .venv/bin/python -m bench.gateway [--quick] [--skip-1gib]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.devspace import _free_port, start_space
from chain.devnet import rpc
from chain.types import Policy


# ---- load generator (second process) ------------------------------------------------------------------


async def _load(url: str, targets: list[tuple[str, dict[str, str]]], concurrency: int) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    nbytes = 0
    errors = 0
    queue = list(reversed(targets))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:

        async def worker() -> None:
            nonlocal nbytes, errors
            while queue:
                target, headers = queue.pop()
                t0 = time.perf_counter()
                async with client.stream("GET", target, headers=headers) as resp:
                    async for chunk in resp.aiter_raw(1 << 20):
                        nbytes += len(chunk)
                    if resp.status_code != 200:
                        errors += 1
                latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "n": len(latencies), "errors": errors, "seconds": elapsed, "bytes": nbytes,
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def load_main() -> None:
    """Entry point of the load process: a JSON job on stdin, a JSON result on stdout."""
    from eth_account import Account

    from gateway.auth import sign_call

    job = json.loads(sys.stdin.read())
    account = Account.from_key(job["key"])
    targets = []
    for _ in range(job["n"]):
        headers = {}
        if job["signed"]:
            headers = sign_call(account, job["chain_id"], job["contract"], "GET", job["target"], ttl_s=280)
        targets.append((job["target"], headers))
    print(json.dumps(asyncio.run(_load(job["url"], targets, job["concurrency"]))))


def run_load(job: dict[str, Any]) -> dict[str, Any]:
    """Run one load job in a second process."""
    proc = subprocess.run([sys.executable, "-m", "bench.gateway", "--load"], input=json.dumps(job),
                          capture_output=True, text=True, check=True)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# ---- server side ---------------------------------------------------------------------------------------------


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _serve(app: Any, port: int) -> Any:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server


def _add_baseline(app: Any, gw: Any) -> None:
    from fastapi.responses import StreamingResponse

    def baseline(asset_id: str) -> StreamingResponse:
        reader = gw.store.open_range(asset_id.lower())
        return StreamingResponse(reader, media_type="application/octet-stream",
                                 headers={"Content-Length": str(reader.length)})

    app.add_api_route("/baseline/{asset_id}", baseline, methods=["GET"], include_in_schema=False)


def main() -> None:  # noqa: PLR0915 - a linear script
    """Set up a space and a gateway, measure, print figures and the JSON summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--skip-1gib", action="store_true", help="skip the 1 GiB streaming memory figure")
    args = parser.parse_args()
    if args.load:
        load_main()
        return

    from gateway.app import create_app
    from gateway.client import GatewayClient
    from gateway.service import Gateway, register_asset, revoke_grant
    from gateway.settings import GatewaySettings

    scale = 0.25 if args.quick else 1.0
    with start_space() as space:
        settings = GatewaySettings(home=space.home, port=_free_port())
        gw = Gateway.open(settings, space.chain.settings, chain=space.chain,
                          provider=space.keystore.account("provider"))
        app = create_app(settings, gw)
        _add_baseline(app, gw)
        server = _serve(app, settings.port)
        url = f"http://127.0.0.1:{settings.port}"
        consumer = space.keystore.account("consumer")
        client = GatewayClient(url, consumer)
        policy = Policy(purposes=("bench",))
        assets = {}
        for label, size in (("1kib", 1024), ("10mib", 10 * 2**20)):
            path = space.home / f"{label}.bin"
            path.write_bytes(os.urandom(size))
            asset_id = register_asset(gw, path, policy).asset_id
            client.request_grant(asset_id, "bench", max_count=2**24 - 1)
            assets[label] = asset_id
        base_job = {"url": url, "key": consumer.key.hex(), "chain_id": gw.chain_id, "contract": gw.usage_grants}
        plan = [("1kib", 1, 500), ("1kib", 50, 3000), ("10mib", 1, 30), ("10mib", 50, 150)]
        figures: dict[str, dict[str, Any]] = {}
        for label, conc, n in plan:
            n = max(10, int(n * scale))
            for kind, signed, target in (("baseline", False, f"/baseline/{assets[label]}"),
                                         ("authorized", True, f"/assets/{assets[label]}/data")):
                run_load({**base_job, "n": min(n, 50), "concurrency": conc, "signed": signed, "target": target})
                res = run_load({**base_job, "n": n, "concurrency": conc, "signed": signed, "target": target})
                figures[f"{kind}_{label}_c{conc}"] = res
                print(f"{kind:10s} {label:5s} c={conc:<3d} n={res['n']:<5d} err={res['errors']} "
                      f"rps={res['rps']:8.1f} MiB/s={res['bytes'] / res['seconds'] / 2**20:8.1f} "
                      f"p50={res['p50_ms']:7.2f} ms p99={res['p99_ms']:7.2f} ms", flush=True)

        def overhead(label: str, conc: int) -> float:
            a, b = figures[f"authorized_{label}_c{conc}"]["rps"], figures[f"baseline_{label}_c{conc}"]["rps"]
            return round(1 - a / b, 3)

        peak = None
        if not args.skip_1gib:
            path = space.home / "1gib.bin"
            with open(path, "wb") as f:
                for _ in range(1024):
                    f.write(os.urandom(2**20))
            big = register_asset(gw, path, policy).asset_id
            client.request_grant(big, "bench", max_count=10)
            path.unlink()
            before, peak_box = _rss_mib(), [0.0]
            done = threading.Event()

            def sample() -> None:
                while not done.wait(0.02):
                    peak_box[0] = max(peak_box[0], _rss_mib())

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            res = run_load({**base_job, "n": 1, "concurrency": 1, "signed": True, "target": f"/assets/{big}/data"})
            done.set()
            sampler.join()
            peak = round(peak_box[0], 1)
            print(f"1 GiB stream: {res['bytes'] / res['seconds'] / 2**20:.0f} MiB/s, server RSS {before:.0f} -> "
                  f"peak {peak:.0f} MiB", flush=True)

        revocation_blocks = _revocation_blocks(space, client, gw, revoke_grant, register_asset, policy)
        print(f"revocation: refused {revocation_blocks} block(s) after the revoke block", flush=True)
        server.should_exit = True
        summary = {
            "overhead_10mib": overhead("10mib", 50),
            "overhead_10mib_c1": overhead("10mib", 1),
            "overhead_1kib": overhead("1kib", 50),
            "overhead_1kib_c1": overhead("1kib", 1),
            "rps_1kib_c50": round(figures["authorized_1kib_c50"]["rps"], 1),
            "rps_1kib_c50_baseline": round(figures["baseline_1kib_c50"]["rps"], 1),
            "p99_ms_1kib_c1": round(figures["authorized_1kib_c1"]["p99_ms"], 2),
            "p50_ms_1kib_c1": round(figures["authorized_1kib_c1"]["p50_ms"], 2),
            "peak_rss_mib_1gib": peak,
            "revocation_blocks": revocation_blocks,
        }
        print(json.dumps(summary))


def _revocation_blocks(space: Any, client: Any, gw: Any, revoke: Any, register: Any, policy: Policy) -> int:
    """Blocks mined after the revoke tx's block until the gateway first refuses (0: at once)."""
    from gateway.client import GatewayClientError

    path = space.home / "revoke.bin"
    path.write_bytes(os.urandom(64))
    asset_id = register(gw, path, policy).asset_id
    grant = client.request_grant(asset_id, "bench", max_count=100)["grant_id"]
    out = space.home / "revoke.out"
    client.fetch(asset_id, out)
    revoke(gw, grant)
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
