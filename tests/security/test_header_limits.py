"""Request heads are bounded while they arrive: 431 beyond the configured size or count.

The attack: one 8 MiB header, 64 MiB headers (each +50 MiB of worker memory) or 20,000 headers, all
of which were served; the HTTP parser buffers whatever arrives before the app sees anything.

What must hold: beyond ``max_header_bytes`` (16 KiB) or ``max_headers`` (100) the gateway answers
``431 headers_too_large`` (JSON, then closes), before the head is buffered in full: the serving
process does not grow by the header's size. Heads within the bounds are served as before. This
holds in-process and for ``tds gateway serve --workers 2`` (worker processes), with bounds from
``TDS_GATEWAY_MAX_HEADER_BYTES`` / ``TDS_GATEWAY_MAX_HEADERS``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chain.devspace import free_port
from domain.types import Policy
from tests.security.conftest import ROOT, GatewayEnv

pytestmark = pytest.mark.integration

MiB = 1 << 20


def _exchange(port: int, head: bytes | memoryview, timeout: float = 20) -> tuple[int, dict[str, str], bytes]:
    """Send a raw request head, read the answer to the end: (status, headers, body); status 0 if none."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        view = memoryview(head)
        try:
            for i in range(0, len(view), 256 * 1024):
                s.sendall(view[i:i + 256 * 1024])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: what did it answer?
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    if not data:
        return 0, {}, b""
    top, _, body = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _head(path: str = "/health", headers: list[tuple[str, str]] | None = None, big: int = 0) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *(f"{k}: {v}" for k, v in headers or [])]
    head = ("\r\n".join(lines) + "\r\n").encode()
    if big:
        head += b"X-Big: " + b"a" * big + b"\r\n"
    return head + b"\r\n"


def _refused_431(answer: tuple[int, dict[str, str], bytes], what: str) -> None:
    status, headers, body = answer
    assert status == 431, (status, body[:200])
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    error = json.loads(body)["error"]
    assert error["code"] == "headers_too_large" and what in error["message"]


def _kib(pid: int | str, field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text()).group(1))  # type: ignore[union-attr]


def _reset_peak(pid: int | str) -> None:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError as exc:
        pytest.skip(f"cannot reset the peak RSS of {pid} ({exc}): memory is not measurable here")


def test_heads_within_the_bounds_are_served(gw_env: GatewayEnv) -> None:
    port = gw_env.settings.port
    status, _, body = _exchange(port, _head(headers=[(f"X-H{i}", "v" * 100) for i in range(98)]))  # 100 headers
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert _exchange(port, _head(big=15 * 1024))[0] == 200  # a 15 KiB header in a 16 KiB head
    reg = gw_env.new_asset(Policy(purposes=("research",), jurisdictions=("DE",), max_count=3), size=100)
    with gw_env.client("consumer") as c:  # an ordinary client's signed calls are not affected
        c.request_grant(reg.asset_id, "research", max_count=3)
        assert c.fetch(reg.asset_id, gw_env.home / "ok.bin").size == 100


def test_too_many_headers(gw_env: GatewayEnv) -> None:
    port = gw_env.settings.port
    _refused_431(_exchange(port, _head(headers=[(f"X-H{i}", "v") for i in range(99)])), "more than 100 request headers")
    _refused_431(_exchange(port, _head(headers=[(f"X-H{i}", "v") for i in range(20_000)])), "more than 100")
    assert httpx.get(gw_env.url + "/health").status_code == 200


def test_one_huge_header_is_refused_without_being_buffered(gw_env: GatewayEnv) -> None:
    port = gw_env.settings.port
    _refused_431(_exchange(port, _head(big=17 * 1024)), "exceeds 16384 bytes")
    head = _head(big=8 * MiB)
    _reset_peak("self")  # the server runs in this process: its peak RSS from here on
    rss = _kib("self", "VmRSS")
    _refused_431(_exchange(port, head), "exceeds 16384 bytes")
    grown = _kib("self", "VmHWM") - rss
    assert grown < 3 * 1024, f"serving process grew by {grown} KiB for an 8 MiB header"
    _refused_431(_exchange(port, b"GET /" + b"a" * (32 * 1024) + b" HTTP/1.1\r\n\r\n"), "exceeds")  # URL counts too
    assert httpx.get(gw_env.url + "/health").status_code == 200


@pytest.fixture(scope="module")
def served_workers(gw_env: GatewayEnv) -> Iterator[tuple[int, list[int]]]:
    """``tds gateway serve --workers 2 --no-notary`` with an 8 KiB / 20-header bound: (port, worker pids)."""
    port = free_port()
    env = {**os.environ, "TDS_RPC_URL": gw_env.devnet.rpc_url, "TDS_GATEWAY_MAX_HEADER_BYTES": "8192",
           "TDS_GATEWAY_MAX_HEADERS": "20"}
    log = gw_env.home / "serve-workers.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "--home", str(gw_env.home), "gateway", "serve",
                                 "--port", str(port), "--workers", "2", "--no-notary"], cwd=ROOT, env=env,
                                start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            workers = _descendants(proc.pid)
            try:
                if len(workers) >= 2 and httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError(f"gateway serve did not come up: {log.read_text()[-2000:]}")
        yield port, workers
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _descendants(pid: int) -> list[int]:
    """Worker processes under ``pid`` (uvicorn's supervisor spawns them; multiprocessing adds a tracker)."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"spawn_main" in cmd:
            found.append(int(child))
    return found


def test_worker_processes_enforce_the_configured_bounds(served_workers: tuple[int, list[int]]) -> None:
    port, workers = served_workers
    assert _exchange(port, _head(headers=[(f"X-H{i}", "v") for i in range(18)]))[0] == 200  # 20 headers
    _refused_431(_exchange(port, _head(headers=[(f"X-H{i}", "v") for i in range(19)])), "more than 20")
    _refused_431(_exchange(port, _head(big=9 * 1024)), "exceeds 8192 bytes")
    head = _head(big=16 * MiB)
    for pid in workers:
        _reset_peak(pid)
    before = {pid: _kib(pid, "VmRSS") for pid in workers}
    for _ in range(2):  # whichever worker accepts it
        _refused_431(_exchange(port, head), "exceeds 8192 bytes")
    grown = max(_kib(pid, "VmHWM") - before[pid] for pid in workers)
    assert grown < 3 * 1024, f"a worker grew by {grown} KiB for a 16 MiB header"
