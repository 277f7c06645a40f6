"""Settlement periods: ``[start, end)`` in unix seconds, read from what people type.

Accepted: ``2026-12-01`` (that UTC day), ``2026-12`` (that UTC month), ``START/END`` with ISO 8601 dates
or date-times (UTC unless an offset is given; END may be ``now``), and ``today`` / ``yesterday``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from domain.terms import human_time
from settlement.errors import PeriodInvalid


@dataclass(frozen=True)
class Period:
    """A settlement period ``[start, end)`` (unix seconds)."""

    start: int
    end: int

    def describe(self) -> str:
        """``2026-12-01 00:00:00 UTC .. 2026-12-02 00:00:00 UTC``."""
        return f"{human_time(self.start)} .. {human_time(self.end)}"

    def to_json(self) -> dict[str, object]:
        """JSON view with dates beside the seconds."""
        return {"start": self.start, "end": self.end, "from": human_time(self.start), "to": human_time(self.end)}


def parse_instant(text: str, now: int) -> int:
    """Unix seconds of a date, a date-time (UTC unless an offset is given) or ``now``."""
    text = text.strip()
    if text == "now":
        return now
    try:
        if len(text) == 10:
            return int(datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC).timestamp())
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PeriodInvalid(f"{text!r} is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM[:SS][+HH:MM])") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def parse_period(text: str, now: int) -> Period:
    """The period ``text`` names (see the module doc); its end may not be after ``now``."""
    text = text.strip()
    today = datetime.fromtimestamp(now, UTC).date()
    if text in ("today", "yesterday"):
        day = today if text == "today" else today - timedelta(days=1)
        start = int(datetime.combine(day, datetime.min.time(), UTC).timestamp())
        period = Period(start, min(start + 86_400, now))
    elif "/" in text:
        left, _, right = text.partition("/")
        period = Period(parse_instant(left, now), parse_instant(right, now))
    elif len(text) == 7 and text[4] == "-":
        try:
            year, month = int(text[:4]), int(text[5:])
            first = datetime(year, month, 1, tzinfo=UTC)
        except ValueError as exc:
            raise PeriodInvalid(f"{text!r} is not a month (YYYY-MM)") from exc
        days = calendar.monthrange(year, month)[1]
        period = Period(int(first.timestamp()), int((first + timedelta(days=days)).timestamp()))
    else:
        start = parse_instant(text, now)
        if len(text) != 10:
            raise PeriodInvalid(f"{text!r}: give a day (YYYY-MM-DD), a month (YYYY-MM) or START/END")
        period = Period(start, start + 86_400)
    if period.end <= period.start:
        raise PeriodInvalid(f"the period {period.describe()} is empty: its end must be after its start")
    if period.end > now:
        raise PeriodInvalid(f"the period ends {human_time(period.end)}, after the chain's time "
                            f"{human_time(now)}: settle a period that is over (or end it at `now`)")
    if period.start < 0 or period.end >= 2**32:
        raise PeriodInvalid("the period must lie between 1970 and 2106")
    return period
