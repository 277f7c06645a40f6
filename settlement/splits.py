"""Who is paid for an asset: its registered owners and shares, and its parents (lineage), as Settlement
checks them against AssetRegistry's hashes.

A new version keeps the owners and parents of the asset it replaces (AssetRegistry inherits both
hashes), so they are read from the first version's registration. Settlement verifies every split it is
given, parents included, so a batch carries the whole ancestry of each settled asset.
"""

from __future__ import annotations

from collections.abc import Iterable

from chain.contracts import AssetsClient, Split
from domain.types import Asset
from settlement.errors import LineageTooDeep, SettlementError

MAX_SPLITS = 512
"""Splits one batch may carry (an ancestry larger than this is refused, not truncated)."""


class SplitBook:
    """Builds the split list of a settle call: each asset once, parents before their use by index."""

    def __init__(self, assets: AssetsClient) -> None:
        self.assets = assets
        self._records: dict[str, Asset] = {}

    def record(self, asset_id: str) -> Asset:
        """The registration that carries the asset's owners and parents (the first version's)."""
        asset_id = asset_id.lower()
        if asset_id not in self._records:
            asset = self.assets.get(asset_id)
            if asset is None:
                raise SettlementError(f"asset {asset_id} is not registered on this chain")
            first = asset
            seen = {asset_id}
            while first.previous_version:
                previous = self.assets.get(first.previous_version)
                if previous is None or previous.asset_id in seen:
                    raise SettlementError(f"the version chain of asset {asset_id} is broken at {first.previous_version}")
                seen.add(previous.asset_id)
                first = previous
            self._records[asset_id] = Asset(**{**asset.__dict__, "owners": first.owners,
                                               "shares_bps": first.shares_bps, "parents": first.parents})
        return self._records[asset_id]

    def splits_for(self, asset_ids: Iterable[str]) -> tuple[list[Split], dict[str, int]]:
        """(splits, index of each asset) covering ``asset_ids`` and all their ancestors."""
        order: list[str] = []
        index: dict[str, int] = {}

        def visit(asset_id: str, path: tuple[str, ...]) -> None:
            if asset_id in index:
                return
            if asset_id in path:
                raise SettlementError(f"asset {asset_id} is its own ancestor")
            index[asset_id] = len(order)
            order.append(asset_id)
            if len(order) > MAX_SPLITS:
                raise LineageTooDeep(f"the ancestry of the settled assets has more than {MAX_SPLITS} assets: "
                                     "settle fewer grants per batch (--batch-size)")
            for parent in self.record(asset_id).parents:
                visit(parent.lower(), (*path, asset_id))

        for asset_id in asset_ids:
            visit(asset_id.lower(), ())
        splits = []
        for asset_id in order:
            asset = self.record(asset_id)
            splits.append(Split(asset_id, tuple(asset.owners), tuple(asset.shares_bps),
                                tuple(index[p.lower()] for p in asset.parents)))
        return splits, index
