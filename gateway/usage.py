"""Use of this gateway's assets over time: allowed accesses bucketed by UTC day, ISO week or month.

What the charts show (the console's asset page: uses per day; the provider's page: uses, bytes and
revenue per asset and period). Revenue is the price per use each consumer signed in its grant request
(``pricePerAccess``, token base units) times its allowed uses: what settlement will price, before it ran.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

PERIODS = ("day", "week", "month")
_DEFAULT_SPAN = {"day": 30, "week": 12, "month": 12}


@dataclass
class Bucket:
    """One period: its first moment (UTC, unix seconds), uses, bytes delivered, revenue (base units)."""

    start: int
    uses: int = 0
    bytes: int = 0
    revenue: int = 0

    def to_json(self) -> dict[str, int | str]:
        """JSON view (revenue as a decimal string: uint96 amounts exceed JavaScript's safe integers)."""
        return {"start": self.start, "uses": self.uses, "bytes": self.bytes, "revenue": str(self.revenue)}


@dataclass
class AssetUsage:
    """One asset's buckets, oldest first, and its totals over them."""

    asset_id: str
    buckets: list[Bucket] = field(default_factory=list)

    @property
    def uses(self) -> int:
        return sum(b.uses for b in self.buckets)

    @property
    def revenue(self) -> int:
        return sum(b.revenue for b in self.buckets)


def period_start(ts: float, period: str) -> int:
    """The first moment (UTC) of the day, ISO week (Monday) or month holding ``ts``."""
    d = dt.datetime.fromtimestamp(ts, dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        d -= dt.timedelta(days=d.weekday())
    elif period == "month":
        d = d.replace(day=1)
    elif period != "day":
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    return int(d.timestamp())


def _next(start: int, period: str) -> int:
    d = dt.datetime.fromtimestamp(start, dt.timezone.utc)
    if period == "day":
        return int((d + dt.timedelta(days=1)).timestamp())
    if period == "week":
        return int((d + dt.timedelta(days=7)).timestamp())
    return int((d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1)).timestamp())


def span_start(period: str, count: int | None = None, now: float | None = None) -> int:
    """The first moment of the oldest of the last ``count`` periods (today's included)."""
    start = period_start(time.time() if now is None else now, period)
    for _ in range((count or _DEFAULT_SPAN[period]) - 1):
        d = dt.datetime.fromtimestamp(start - 1, dt.timezone.utc)
        start = period_start(d.timestamp(), period)
    return start


def usage_by_asset(rows: Iterable[tuple[float, str, str, int]], period: str, since: int,
                   prices: Mapping[str, int], assets: Iterable[str] = (), now: float | None = None) -> list[AssetUsage]:
    """Bucket ``(time, asset, grant, bytes)`` rows into every period from ``since`` to now, per asset (assets
    without use listed in ``assets`` get empty buckets), ordered by uses, most used first."""
    starts = [since]
    end = period_start(time.time() if now is None else now, period)
    while starts[-1] < end:
        starts.append(_next(starts[-1], period))
    per: dict[str, dict[int, Bucket]] = defaultdict(dict)
    for asset in assets:
        per[asset.lower()]
    for at, asset, grant, nbytes in rows:
        if at < since:
            continue
        bucket = per[asset].setdefault(period_start(at, period), Bucket(period_start(at, period)))
        bucket.uses += 1
        bucket.bytes += nbytes
        bucket.revenue += prices.get(grant, 0)
    out = [AssetUsage(a, [b.get(s) or Bucket(s) for s in starts]) for a, b in per.items()]
    return sorted(out, key=lambda u: (-u.uses, u.asset_id))


def agreed_prices(request_rows: Iterable[tuple[str, str]]) -> dict[str, int]:
    """grant id -> the price per use its consumer signed, from ``(grant id, request JSON)`` rows."""
    prices = {}
    for grant_id, request_json in request_rows:
        try:
            prices[grant_id] = int(json.loads(request_json).get("price_per_access", 0))
        except (ValueError, TypeError, AttributeError):
            prices[grant_id] = 0
    return prices
