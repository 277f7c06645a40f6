"""The embedded devnet: an anvil node on 127.0.0.1 whose state persists in the data dir.

This module (and the tests) are the only places that use anvil-specific RPC methods
(``anvil_setBalance``); everything else speaks standard Ethereum JSON-RPC.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from chain.errors import ChainError, ChainUnavailable, DevnetError
from chain.settings import DEVNET_CHAIN_ID


def anvil_binary(root: Path | None = None) -> Path:
    """The anvil executable installed by ``npm ci`` (platform package, else the npm shim)."""
    if root is None:
        from chain.compile import PROJECT_ROOT

        root = PROJECT_ROOT
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
        """PID of the running anvil, if its pid file points at a live anvil process."""
        try:
            pid = int(self._pid_file.read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None
        return pid if _is_anvil(pid) else None

    def start(self, timeout: float = 20.0) -> DevnetStatus:
        """Start anvil (idempotent) and wait until it answers JSON-RPC.

        Raises DevnetError when another process holds the port, when anvil exits, or when the node
        answering on the port is not the anvil this data dir started.
        """
        running = self.pid()
        if running is not None:
            return self._check_ours(running)
        holder = _port_holder(self.port)
        if holder is not None:
            raise DevnetError(
                f"port {self.port} on 127.0.0.1 is already in use by {holder}, not by this data dir's devnet "
                f"({self.directory}): stop that process, or use another port "
                f"(`tds init --rpc-url http://127.0.0.1:PORT` or TDS_RPC_URL)")
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
        log_path = self.directory / "anvil.log"
        with open(log_path, "ab") as log:
            log_start = log.tell()
            proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._pid_file.unlink(missing_ok=True)
                raise DevnetError(f"anvil exited with {proc.returncode}: {_log_reason(log_path, log_start)} "
                                  f"(see {log_path})")
            try:
                rpc(self.rpc_url, "eth_chainId", timeout=0.5)
            except ChainUnavailable:
                time.sleep(0.05)
                continue
            if proc.poll() is not None:
                continue  # another node answered while anvil failed: report anvil's reason above
            try:
                return self._check_ours(proc.pid, proc)
            except DevnetError:
                self.stop()
                raise
        self.stop()
        raise DevnetError(f"anvil did not answer on {self.rpc_url} within {timeout:.0f} s (see {log_path})")

    def _check_ours(self, pid: int, proc: subprocess.Popen[bytes] | None = None) -> DevnetStatus:
        """The status, once sure the node answering on the port is anvil ``pid`` (or its child)."""
        status = self.status()
        alive = proc.poll() is None if proc is not None else _alive(pid)
        listeners = _listener_pids(self.port)
        ours = not listeners or all(_descends_from(p, pid) for p in listeners)
        if status.running and alive and ours:
            return status
        who = _describe_pids(listeners)
        if not alive:
            raise DevnetError(f"anvil (pid {pid}) exited, and {who} answers on {self.rpc_url} instead")
        if not ours:
            raise DevnetError(f"{who} answers on {self.rpc_url}, not this data dir's anvil (pid {pid}): "
                              "stop that process, or use another port")
        raise DevnetError(f"anvil (pid {pid}) runs but does not answer on {self.rpc_url}: "
                          "run `tds chain down`, then `tds chain up`")

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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_anvil(pid: int) -> bool:
    """False when /proc says ``pid`` is some other program (a stale pid file whose pid was reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the pid file
    return b"anvil" in cmdline


def _port_holder(port: int) -> str | None:
    """Who listens on 127.0.0.1:``port`` (a short description), or None when the port is free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        if sock.connect_ex(("127.0.0.1", port)) != 0:
            return None
    who = _describe_pids(_listener_pids(port))
    try:
        chain_id = int(str(rpc(f"http://127.0.0.1:{port}", "eth_chainId", timeout=1.0)), 16)
    except ChainError:
        return who
    return f"{who}, an Ethereum node of chain {chain_id}"


def _listener_pids(port: int) -> set[int] | None:
    """PIDs holding a listening TCP socket on ``port`` (Linux /proc); None when /proc cannot tell.

    A listener whose process cannot be read (another user's) counts as pid 0.
    """
    inodes = set()
    try:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                        inodes.add(f"socket:[{parts[9]}]")
    except OSError:
        return None
    pids, seen = set(), set()
    for proc_dir in Path("/proc").iterdir() if inodes else ():
        if not proc_dir.name.isdigit():
            continue
        try:
            found = inodes.intersection(os.readlink(fd) for fd in (proc_dir / "fd").iterdir())
        except OSError:
            continue
        if found:
            pids.add(int(proc_dir.name))
            seen |= found
    return pids | ({0} if inodes - seen else set())


def _descends_from(pid: int, ancestor: int) -> bool:
    """``pid`` is ``ancestor`` or one of its descendants (the npm shim starts anvil as a child)."""
    for _ in range(16):
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid <= 1:
            return False
    return False


def _describe_pids(pids: set[int] | None) -> str:
    """"pid 123 (anvil)", or "another process" when /proc cannot say."""
    named = [f"pid {p} ({_program(p)})" for p in sorted(pids or ()) if p]
    if 0 in (pids or ()):
        named.append("a process of another user")
    return ", ".join(named) or "another process"


def _program(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() or "?"
    except OSError:
        return "?"


def _log_reason(log_path: Path, start: int) -> str:
    """The most telling line anvil wrote since ``start`` (e.g. "Address already in use")."""
    try:
        with open(log_path, "rb") as f:
            f.seek(start)
            lines = [ln.strip() for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no log"
    for line in reversed(lines):
        if "error" in line.lower() or "in use" in line.lower():
            return line[:300]
    return lines[-1][:300] if lines else "no output"


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
