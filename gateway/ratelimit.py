"""Rate limits and refusal counters of one gateway worker process.

Three limits, each a ``limits`` rate string from the settings ("" = off), counted in memory with a
sliding window counter (O(1) per key, no burst at window edges):

- per client IP (``rate_limit_per_client``): every request, before any parsing (ASGI middleware);
- per address (``rate_limit_per_address``): every authenticated call, checked right after the
  caller is verified and before anything is recorded;
- per consumer on ``POST /grants`` (``rate_limit_grants_per_consumer``): an auto-approved grant is
  an on-chain transaction the provider pays for, so this one is tight.

Each worker process counts on its own: with N workers a client may get up to N times the limit.
A refused request answers 429 ``rate_limited`` with ``Retry-After`` and changes nothing.

:class:`RefusalCounter` counts what is refused without a record: requests that never authenticated
(no access record, no receipt, no transaction for them) and rate-limited ones. ``GET /health``
shows the counts; a warning line is logged at most once per ``log_every_s``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from gateway.errors import RateLimited

log = logging.getLogger("tds.gateway.refusals")


def parse_limit(setting: str, name: str) -> list[RateLimitItem]:
    """The rate limit items of a setting ("" = none); ValueError naming the setting if malformed."""
    if not setting.strip() or setting.strip().lower() in ("off", "0", "none"):
        return []
    try:
        return list(parse_many(setting))
    except ValueError as exc:
        raise ValueError(f"{name}: {setting!r} is not a rate limit: use e.g. '100/second' or "
                         f"'10/second;300/minute', or '' for none") from exc


class Limit:
    """One named limit (possibly several windows) over in-memory counters; no-op when empty."""

    def __init__(self, name: str, items: list[RateLimitItem], limiter: SlidingWindowCounterRateLimiter,
                 clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.items = items
        self._limiter = limiter
        self._clock = clock

    @property
    def enabled(self) -> bool:
        """Whether anything is limited."""
        return bool(self.items)

    def hit(self, key: str, what: str) -> None:
        """Count one request of ``key``; RateLimited (with ``retry_after``) once over any window."""
        for item in self.items:
            if not self._limiter.hit(item, self.name, key):
                reset = self._limiter.get_window_stats(item, self.name, key).reset_time
                retry = max(1, math.ceil(reset - self._clock()))
                raise RateLimited(f"too many requests from {what}: at most {item} (retry in {retry} s)",
                                  retry_after=retry)


class RateLimits:
    """The gateway's three limits, built from its settings."""

    def __init__(self, per_client: str = "", per_address: str = "", grants_per_consumer: str = "") -> None:
        limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.client = Limit("client", parse_limit(per_client, "rate_limit_per_client"), limiter)
        self.address = Limit("address", parse_limit(per_address, "rate_limit_per_address"), limiter)
        self.grants = Limit("grants", parse_limit(grants_per_consumer, "rate_limit_grants_per_consumer"), limiter)

    @classmethod
    def from_settings(cls, settings: object) -> "RateLimits":
        """From ``GatewaySettings`` (``rate_limit_*``)."""
        return cls(getattr(settings, "rate_limit_per_client", ""), getattr(settings, "rate_limit_per_address", ""),
                   getattr(settings, "rate_limit_grants_per_consumer", ""))


class RefusalCounter:
    """Thread-safe counts of refusals that leave no record, with a rate-limited log line."""

    def __init__(self, log_every_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._every = log_every_s
        self._last_log = -math.inf
        self._since_log = 0
        self.unauthenticated = 0
        self.rate_limited = 0

    def count(self, kind: str, status: int, code: str, method: str, path: str, client: str) -> None:
        """Count one refusal (``kind``: "unauthenticated" or "rate_limited"); log a summary now and then."""
        with self._lock:
            setattr(self, kind, getattr(self, kind) + 1)
            self._since_log += 1
            now = self._clock()
            if now - self._last_log < self._every:
                return
            n, self._since_log, self._last_log = self._since_log, 0, now
            totals = f"{self.unauthenticated} unauthenticated, {self.rate_limited} rate-limited in total"
        log.warning("refused %d request(s) without a record since the last report (%s); latest: %d %s %s %s from %s",
                    n, totals, status, code, method, path[:120], client)

    def snapshot(self) -> dict[str, int]:
        """The counts so far (this process)."""
        with self._lock:
            return {"unauthenticated": self.unauthenticated, "rate_limited": self.rate_limited}
