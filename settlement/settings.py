"""Settlement settings: the token a new deployment settles in, the royalty and claim window it starts
with, and how many grants a settle transaction carries.

``TDS_SETTLEMENT_*`` over config.json's ``"settlement"`` section over these defaults (:mod:`config.reader`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chain.deploy import DEFAULT_CLAIM_WINDOW_S, DEFAULT_ROYALTY_BPS
from config.reader import read
from settlement.run import DEFAULT_BATCH_SIZE

ENV_PREFIX = "TDS_SETTLEMENT_"


@dataclass(frozen=True)
class SettlementSettings:
    """How this space settles."""

    home: Path
    token: str = "devnet"  # devnet | credits | 0x address of an ERC-20 (read by `tds deploy`)
    royalty_bps: int = DEFAULT_ROYALTY_BPS  # a derived asset's share passed to its parents' owners
    claim_window_s: int = DEFAULT_CLAIM_WINDOW_S  # after a grant's end, anyone may release its lock
    batch_size: int = DEFAULT_BATCH_SIZE  # grants per settle transaction

    @classmethod
    def load(cls, home: str | Path | None = None, env: Mapping[str, str] | None = None) -> "SettlementSettings":
        """``TDS_SETTLEMENT_TOKEN``, ``TDS_SETTLEMENT_ROYALTY_BPS``, ... over config.json over defaults."""
        return read(cls, "settlement", ENV_PREFIX, home, env)
