"""A throwaway data space for benchmarks: fresh anvil on a free loopback port, keys, contracts, members."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from chain.client import Chain
from chain.devnet import Devnet
from chain.devspace import free_port, provision
from chain.keys import Keystore
from chain.settings import ChainSettings
from domain.types import Role

MEMBERS = {"provider": (Role.PROVIDER, "DE"), "consumer": (Role.CONSUMER, "DE"), "auditor": (Role.AUDITOR, "FR")}


@dataclass
class DevSpace:
    """A running devnet with TDS deployed and demo members onboarded."""

    home: Path
    devnet: Devnet
    chain: Chain
    keystore: Keystore

    def close(self) -> None:
        """Stop anvil and delete the temp dir."""
        self.devnet.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> "DevSpace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stop_group(proc: "subprocess.Popen[bytes]", timeout_s: float = 30) -> None:
    """Stop a server started with ``start_new_session=True``: SIGTERM, then SIGKILL to its whole process group
    (its notary process goes with it) after ``timeout_s``."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def start_space(extra_accounts: tuple[str, ...] = ()) -> DevSpace:
    """Start anvil in a temp dir, create and fund keys, deploy, onboard provider/consumer/auditor."""
    home = Path(tempfile.mkdtemp(prefix="tds-bench-"))
    settings = replace(ChainSettings(home=home), rpc_url=f"http://127.0.0.1:{free_port()}")
    devnet, chain, keystore = provision(settings, MEMBERS, extra_accounts)
    return DevSpace(home, devnet, chain, keystore)
