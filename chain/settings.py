"""Chain settings: where the node is, which chain id to expect, where TDS keeps its files.

Read from environment variables (``TDS_*``) over ``<home>/config.json`` over defaults, so the
same code runs on the embedded anvil devnet and on a multi-node permissioned chain.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

DEFAULT_HOME = ".tds"
DEFAULT_RPC_URL = "http://127.0.0.1:8545"
DEVNET_CHAIN_ID = 31337


@dataclass(frozen=True)
class ChainSettings:
    """Connection and storage settings for one TDS participant's tools."""

    home: Path = field(default_factory=lambda: Path(DEFAULT_HOME))
    rpc_url: str = DEFAULT_RPC_URL
    chain_id: int | None = None  # None: take the node's; set it to refuse any other chain
    poa: bool = False  # Besu QBFT / Clique: extraData longer than 32 bytes
    rpc_timeout_s: float = 10.0
    poll_latency_s: float = 0.01
    receipt_timeout_s: float = 60.0

    @property
    def keystore_dir(self) -> Path:
        """Encrypted keystore files, one per account name."""
        return self.home / "keystore"

    @property
    def deployments_dir(self) -> Path:
        """One deployment file per chain id."""
        return self.home / "deployments"

    @property
    def devnet_dir(self) -> Path:
        """The embedded anvil devnet's state, pid and log."""
        return self.home / "devnet"

    def deployment_file(self, chain_id: int) -> Path:
        """Path of the deployment file for ``chain_id``."""
        return self.deployments_dir / f"{chain_id}.json"

    @classmethod
    def load(cls, home: str | Path | None = None, env: dict[str, str] | None = None) -> "ChainSettings":
        """Settings from env (``TDS_HOME``, ``TDS_RPC_URL``, ``TDS_CHAIN_ID``, ``TDS_POA``) and config.json."""
        env = dict(os.environ if env is None else env)
        home_path = Path(home or env.get("TDS_HOME") or DEFAULT_HOME)
        settings = cls(home=home_path)
        config = home_path / "config.json"
        if config.exists():
            data = json.loads(config.read_text())
            known = {k: v for k, v in data.get("chain", {}).items() if k in _FIELDS}
            settings = replace(settings, **known)
        overrides: dict[str, object] = {}
        if "TDS_RPC_URL" in env:
            overrides["rpc_url"] = env["TDS_RPC_URL"]
        if env.get("TDS_CHAIN_ID"):
            overrides["chain_id"] = int(env["TDS_CHAIN_ID"])
        if "TDS_POA" in env:
            overrides["poa"] = env["TDS_POA"].lower() in ("1", "true", "yes")
        return replace(settings, **overrides)

    def to_json(self) -> dict[str, object]:
        """The settings as stored in config.json (home excluded)."""
        data = asdict(self)
        data.pop("home")
        return data


_FIELDS = {"rpc_url", "chain_id", "poa", "rpc_timeout_s", "poll_latency_s", "receipt_timeout_s"}
