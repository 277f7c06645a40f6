"""What every command needs: the data dir, settings, keystore, a lazily connected chain."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chain.client import Chain
from chain.keys import Keystore
from chain.settings import ChainSettings

DEMO_ACCOUNTS = ("operator", "provider", "consumer", "auditor")
DEFAULT_GATEWAY_URL = "http://127.0.0.1:8700"


@dataclass
class CliContext:
    """Per-invocation state shared by commands (built once in the root group)."""

    home: Path
    account_name: str | None
    settings: ChainSettings
    keystore: Keystore
    _chain: Chain | None = field(default=None, repr=False)

    @classmethod
    def create(cls, home: Path, account_name: str | None) -> "CliContext":
        """Context for ``home`` (TDS_HOME / --home)."""
        settings = ChainSettings.load(home)
        return cls(home, account_name, settings, Keystore(settings.keystore_dir))

    def chain(self) -> Chain:
        """Connect once; raises ChainUnavailable / DeploymentMissing / WrongChain."""
        if self._chain is None:
            self._chain = Chain.connect(self.settings)
        return self._chain

    def account_for(self, default: str) -> Any:
        """The signing account: ``--as NAME`` or the role's default name."""
        return self.keystore.account(self.account_name or default)

    def resolve_address(self, value: str) -> str:
        """An address, or the name of an account in the keystore."""
        if value.startswith("0x"):
            return value
        return self.keystore.address(value)

    def config(self) -> dict[str, Any]:
        """The whole config.json (empty when absent)."""
        path = self.home / "config.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def gateway_url(self) -> str:
        """Public base URL of this provider's gateway (used in metadata URIs and by clients)."""
        return str(self.config().get("gateway", {}).get("public_url", DEFAULT_GATEWAY_URL))
