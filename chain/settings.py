"""Chain settings: where the node is, which chain id to expect, where TDS keeps its files.

Read by the one settings reader (:mod:`config.reader`): environment variables (``TDS_*``) over
``<home>/config.json`` over defaults, so the same code runs on the embedded anvil devnet and on a multi-node permissioned chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from config.reader import DEFAULT_HOME, read

ENV_PREFIX = "TDS_"
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
    def load(cls, home: str | Path | None = None, env: Mapping[str, str] | None = None) -> "ChainSettings":
        """Settings from env (``TDS_HOME``, ``TDS_RPC_URL``, ``TDS_CHAIN_ID``, ``TDS_POA``, ``TDS_<FIELD>``) over
        config.json's ``"chain"`` section over defaults (:func:`config.reader.read`)."""
        return read(cls, "chain", ENV_PREFIX, home, env)

    def to_json(self) -> dict[str, object]:
        """The settings as stored in config.json (home excluded)."""
        data = asdict(self)
        data.pop("home")
        return data

