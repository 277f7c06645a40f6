"""Use per asset and period (the console's charts): UTC buckets, empty periods kept, revenue at the signed price."""

from __future__ import annotations

import datetime as dt

from gateway import usage


def _ts(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.timezone.utc).timestamp()


def test_periods_start_at_utc_midnight_monday_and_the_first_of_the_month() -> None:
    t = _ts(2026, 12, 3, 15, 30)  # a Thursday
    assert usage.period_start(t, "day") == _ts(2026, 12, 3)
    assert usage.period_start(t, "week") == _ts(2026, 11, 30)
    assert usage.period_start(t, "month") == _ts(2026, 12, 1)
    assert usage.span_start("month", 3, now=t) == _ts(2026, 10, 1)
    assert usage.span_start("day", 1, now=t) == _ts(2026, 12, 3)


def test_uses_bytes_and_revenue_per_asset_and_day() -> None:
    now = _ts(2026, 12, 3, 12)
    since = usage.span_start("day", 3, now=now)
    rows = [(_ts(2026, 12, 1, 9), "0xa", "0xg1", 100), (_ts(2026, 12, 3, 1), "0xa", "0xg1", 50),
            (_ts(2026, 12, 3, 2), "0xa", "0xg2", 5), (_ts(2026, 11, 20), "0xa", "0xg1", 999)]
    out = usage.usage_by_asset(rows, "day", since, {"0xg1": 7, "0xg2": 10**30}, assets=["0xB"], now=now)
    assert [u.asset_id for u in out] == ["0xa", "0xb"]  # most used first; an unused asset has empty buckets
    a = out[0]
    assert [b.start for b in a.buckets] == [_ts(2026, 12, 1), _ts(2026, 12, 2), _ts(2026, 12, 3)]
    assert [b.uses for b in a.buckets] == [1, 0, 2] and [b.bytes for b in a.buckets] == [100, 0, 55]
    assert a.revenue == 7 + 7 + 10**30 and a.buckets[2].to_json()["revenue"] == str(7 + 10**30)
    assert out[1].uses == 0 and len(out[1].buckets) == 3


def test_agreed_prices_read_the_signed_requests() -> None:
    rows = [("0xg1", '{"price_per_access": 12}'), ("0xg2", "{}"), ("0xg3", "not json")]
    assert usage.agreed_prices(rows) == {"0xg1": 12, "0xg2": 0, "0xg3": 0}
