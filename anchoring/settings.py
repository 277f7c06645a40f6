"""What the notary needs to run, and nothing more: the ledger's database, the anchoring key, the pace.

The gateway derives these from its own settings (``GatewaySettings.notary()``) and hands them to the
notary process as ``TDS_NOTARY_*`` environment variables (:meth:`NotarySettings.to_env`), which the
process reads back with the one settings reader (:meth:`NotarySettings.load`, also over the
``"notary"`` section of config.json); no secret is in them (the keystore passphrase stays where the
keystore reads it). There is no store, no master key and no gateway here: the notary reads access
records and anchors roots.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from config.reader import read, to_env

ENV_PREFIX = "TDS_NOTARY_"


@dataclass(frozen=True)
class NotarySettings:
    """One gateway's notary: where its ledger is, which account anchors, how often, where it journals."""

    home: Path  # the TDS home: chain settings, deployments and the keystore are read from it
    database_url: str
    account: str = "provider"  # keystore name of the anchoring key (the provider's)
    batch_size: int = 1000
    interval_s: float = 5.0  # 0: disabled
    delivery_grace_s: float = 120.0
    journal_dir: Path | None = None

    @property
    def enabled(self) -> bool:
        """Whether the notary seals and anchors on its own."""
        return self.interval_s > 0

    @classmethod
    def load(cls, home: str | Path | None = None, env: Mapping[str, str] | None = None) -> NotarySettings:
        """``TDS_NOTARY_*`` (``TDS_NOTARY_DATABASE_URL`` at least) over config.json's ``"notary"`` section."""
        return read(cls, "notary", ENV_PREFIX, home, env)

    def to_env(self) -> dict[str, str]:
        """The environment variables :meth:`load` reads back as these settings (for the notary process)."""
        return to_env(self, ENV_PREFIX)
