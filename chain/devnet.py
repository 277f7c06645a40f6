"""The embedded devnet: an anvil node on 127.0.0.1 whose state persists in the data dir.

This module (and the tests) are the only places that use anvil-specific RPC methods
(``anvil_setBalance``); everything else speaks standard Ethereum JSON-RPC.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from chain.compile import PROJECT_ROOT
from chain.errors import ChainError, ChainUnavailable
from chain.settings import DEVNET_CHAIN_ID


def anvil_binary(root: Path = PROJECT_ROOT) -> Path:
    """The anvil executable installed by ``npm ci`` (platform package, else the npm shim)."""
    candidates = [
        root / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
        root / "node_modules" / "@foundry-rs" / "anvil-linux-arm64" / "bin" / "anvil",
        root / "node_modules" / "@foundry-rs" / "anvil-darwin-arm64" / "bin" / "anvil",
        root / "node_modules" / ".bin" / "anvil",
    ]
    for path in candidates:
        if path.exists():
            return path
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise ChainError("anvil is not installed: run ./scripts/bootstrap (npm ci), or put Foundry's anvil on PATH")


def rpc(url: str, method: str, params: list[object] | None = None, timeout: float = 2.0) -> object:
    """One raw JSON-RPC call (used for liveness checks and anvil-only methods)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = json.loads(resp.read())
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise ChainUnavailable(f"no Ethereum node at {url}: run `tds chain up`") from exc
    if "error" in data:
        raise ChainError(f"{method}: {data['error'].get('message')}")
    return data["result"]


@dataclass(frozen=True)
class DevnetStatus:
    """What `tds chain status` reports."""

    running: bool
    pid: int | None
    rpc_url: str
    chain_id: int | None
    block: int | None


class Devnet:
    """Start, stop and inspect the local anvil devnet kept under ``<home>/devnet``."""

    def __init__(self, directory: Path, port: int = 8545, chain_id: int = DEVNET_CHAIN_ID) -> None:
        self.directory = Path(directory)
        self.port = port
        self.chain_id = chain_id

    @property
    def rpc_url(self) -> str:
        """JSON-RPC URL on loopback."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def _pid_file(self) -> Path:
        return self.directory / "anvil.pid"

    @property
    def state_file(self) -> Path:
        """anvil's persisted chain state (loaded at start, dumped periodically and at exit)."""
        return self.directory / "state.json"

    def pid(self) -> int | None:
        """PID of the running anvil, if its pid file points at a live process."""
        try:
            pid = int(self._pid_file.read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None
        return pid

    def start(self, timeout: float = 20.0) -> DevnetStatus:
        """Start anvil (idempotent) and wait until it answers JSON-RPC."""
        if self.pid() is not None:
            return self.status()
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            str(anvil_binary()),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--accounts", "0",
            "--state", str(self.state_file),
            "--state-interval", "2",
            "--gas-limit", "60000000",
        ]
        with open(self.directory / "anvil.log", "ab") as log:
            proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ChainError(f"anvil exited with {proc.returncode}; see {self.directory / 'anvil.log'}")
            try:
                rpc(self.rpc_url, "eth_chainId", timeout=0.5)
                return self.status()
            except ChainUnavailable:
                time.sleep(0.05)
        self.stop()
        raise ChainError(f"anvil did not answer on {self.rpc_url} within {timeout:.0f} s")

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop anvil (it writes its state on exit). Returns False when it was not running."""
        pid = self.pid()
        if pid is None:
            self._pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            _reap(pid)
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
        self._pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> DevnetStatus:
        """Whether anvil runs, and its chain id and block height when it does."""
        pid = self.pid()
        try:
            chain_id = int(str(rpc(self.rpc_url, "eth_chainId", timeout=1.0)), 16)
            block = int(str(rpc(self.rpc_url, "eth_blockNumber", timeout=1.0)), 16)
        except ChainError:
            return DevnetStatus(False, pid, self.rpc_url, None, None)
        return DevnetStatus(True, pid, self.rpc_url, chain_id, block)

    def fund(self, address: str, wei: int = 10**24) -> None:
        """Give an account ether (anvil only: devnet accounts pay gas with it)."""
        rpc(self.rpc_url, "anvil_setBalance", [address, hex(wei)])


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
