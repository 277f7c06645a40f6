"""A fail-closed view of the chain: the head block, and per-block cached reads (the gateway decides on it).

Every access uses a head block number read from the node after the access arrived (concurrent
requests share one read: single flight); grant liveness, participant and asset state are cached
per block number only, so a revocation mined in block N is seen by the first request that
arrives after block N exists. If the node does not answer, or the head block is older than the
configured bound, reads raise ``ChainUnavailable`` / ``ChainStale`` (HTTP 503), and the next
successful read recovers by itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from chain.client import Chain
from chain.contracts import AssetsClient, AssetState, GrantsClient, ParticipantsClient, PolicyState, jurisdiction_code
from chain.errors import ChainError, ChainStale, ChainUnavailable, ContractRevert, is_node_failure
from domain.types import Grant, GrantRequest, Liveness, Participant, Policy

T = TypeVar("T")
__all__ = ["AssetState", "ChainView", "Head", "PolicyState"]  # with the chain.contracts states its reads return


@dataclass(frozen=True)
class Head:
    """The latest block as last read, and when (wall clock) it was read."""

    number: int
    timestamp: int | None
    read_at: float


class ChainView:
    """Head tracking and block-keyed caches over the TDS contracts (read-only)."""

    def __init__(
        self,
        chain: Chain,
        max_staleness_s: float = 30.0,
        max_block_age_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chain = chain
        self.participants = ParticipantsClient(chain)
        self.assets = AssetsClient(chain)
        self.grants = GrantsClient(chain)
        self.max_staleness_s = max_staleness_s
        self.max_block_age_s = max_block_age_s
        self._clock = clock
        self._head: Head | None = None
        self._failed_at = 0.0  # a failed read invalidates the cached head until the next success
        self._cache_block = -1
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._inflight: dict[tuple[Any, ...], threading.Event] = {}
        self._requests: dict[str, GrantRequest] = {}
        self._lock = threading.Lock()
        # single-flight head reads: generation numbers of reads started / finished, last outcome
        self._reads = threading.Condition()
        self._started_gen = 0
        self._done_gen = 0
        self._reading = False
        self._outcome: Head | str = "no head read yet"
        self._heads = chain.head_reader()

    # ---- head ----------------------------------------------------------------

    def head(self, max_age_s: float = 0.0) -> Head:
        """The head block, from a node read that started after this call (or at most ``max_age_s`` before it).

        Concurrent callers share reads (single flight): a caller waits for the next read to start
        and finish rather than sending its own, so N simultaneous requests cost about two reads,
        and none of them sees a head older than its own arrival (revocations stay effective at once).
        """
        last = self._head
        now = self._clock()
        fresh_enough = last is not None and max_age_s > 0 and now - last.read_at <= max_age_s
        if fresh_enough and self._failed_at < last.read_at:  # type: ignore[union-attr]
            return self._check_age(last, now)  # type: ignore[arg-type]
        return self._check_age(self._shared_read(), self._clock())

    def _shared_read(self) -> Head:
        with self._reads:
            wanted = self._started_gen + 1  # the first read that starts after we arrived
            while self._done_gen < wanted:
                if not self._reading:
                    self._reading = True
                    self._started_gen += 1
                    gen = self._started_gen
                    break
                self._reads.wait()
            else:
                return self._result(self._outcome)
        outcome: Head | str = "chain unavailable: head read failed"
        started = self._clock()
        try:
            outcome = self._read_head(started)
        except ChainUnavailable as exc:
            outcome = str(exc)
        finally:
            self._publish(gen, started, outcome)
        return self._result(outcome)

    def _publish(self, gen: int, started: float, outcome: Head | str) -> None:
        with self._reads:
            if isinstance(outcome, Head):
                with self._lock:
                    if self._head is None or outcome.read_at >= self._head.read_at:
                        self._head = outcome
            else:
                self._failed_at = started
            self._outcome, self._done_gen, self._reading = outcome, gen, False
            self._reads.notify_all()

    @staticmethod
    def _result(outcome: Head | str) -> Head:
        if isinstance(outcome, str):
            raise ChainUnavailable(outcome)  # a fresh exception per caller (threads share the outcome)
        return outcome

    def last_head(self) -> Head | None:
        """The last head read successfully (no node call)."""
        return self._head

    def _read_head(self, now: float) -> Head:
        if self.max_block_age_s is None:
            return Head(self._guard(self._heads.number), None, now)
        stamp = self._guard(self._heads.latest)
        return Head(stamp.number, stamp.timestamp, now)

    def _check_age(self, head: Head, now: float) -> Head:
        if now - head.read_at > self.max_staleness_s:
            raise ChainStale(f"last good read of the chain is {now - head.read_at:.0f} s old")
        if self.max_block_age_s is not None and head.timestamp is not None:
            age = now - head.timestamp
            if age > self.max_block_age_s:
                raise ChainStale(f"head block {head.number} is {age:.0f} s old (bound {self.max_block_age_s:.0f} s)")
        return head

    # ---- block-keyed reads -------------------------------------------------------

    def liveness(self, grant_id: str, block: int) -> Liveness:
        """UsageGrants.liveness at ``block``."""
        return self._cached(("live", grant_id), block, lambda: self.grants.liveness(grant_id, block))

    def block_time(self, block: int) -> int:
        """The timestamp (unix s) of block ``block`` (cached per block; one node read per new block)."""
        head = self._head
        if head is not None and head.number == block and head.timestamp is not None:
            return head.timestamp
        return self._cached(("time",), block, lambda: self._heads.timestamp_of(block))

    def grant(self, grant_id: str, block: int) -> Grant | None:
        """A grant's on-chain state at ``block``."""
        return self._cached(("grant", grant_id), block, lambda: self.grants.get(grant_id, block))

    def participant(self, address: str, block: int) -> Participant:
        """A participant record at ``block`` (status NONE when unknown)."""
        return self._cached(("member", address.lower()), block, lambda: self.participants.get(address, block))

    def asset(self, asset_id: str, block: int) -> AssetState | None:
        """An asset's state at ``block`` (None when unknown)."""
        return self._cached(("asset", asset_id), block, lambda: self.assets.state(asset_id, block))

    def policy(self, asset_id: str, block: int) -> PolicyState | None:
        """An asset's policy flags at ``block`` (None when it has no policy)."""
        return self._cached(("policy", asset_id), block, lambda: self.grants.policy_state(asset_id, block))

    def full_policy(self, asset_id: str, block: int) -> Policy | None:
        """The policy with its purposes and jurisdictions (reads events; for catalog and grant checks)."""
        return self._cached(("fullpolicy", asset_id), block, lambda: self.grants.get_policy(asset_id))

    def purpose_allowed(self, asset_id: str, purpose: str, block: int) -> bool:
        """UsageGrants.isPurposeAllowed at ``block``."""
        return self._cached(("purpose", asset_id, purpose), block,
                            lambda: self.grants.purpose_allowed(asset_id, purpose, block))

    def jurisdiction_allowed(self, asset_id: str, jurisdiction: str, block: int) -> bool:
        """UsageGrants.isJurisdictionAllowed at ``block``."""
        return self._cached(("region", asset_id, jurisdiction_code(jurisdiction)), block,
                            lambda: self.grants.jurisdiction_allowed(asset_id, jurisdiction, block))

    def request_of(self, grant_id: str) -> GrantRequest | None:
        """The signed request of an issued grant (from its GrantIssued event; immutable once found)."""
        found = self._requests.get(grant_id)
        if found is None:
            found = self._guard(lambda: self.grants.request_of(grant_id))
            if found is not None:
                self._requests[grant_id] = found
        return found

    def issued_for(self, asset_id: str, consumer: str) -> list[GrantRequest]:
        """Requests of every grant issued for (asset, consumer), oldest first (reads events)."""
        return self._guard(lambda: self.grants.requests_issued(asset_id, consumer))

    def cached(self, key: tuple[Any, ...], block: int, read: Callable[[], T]) -> T:
        """Cache any read per block number (for callers composing their own reads)."""
        return self._cached(key, block, read)

    def _cached(self, key: tuple[Any, ...], block: int, read: Callable[[], T]) -> T:
        """Per-block cache with single flight: when a new block empties the cache, concurrent
        requests for the same key wait for one node read instead of each sending their own."""
        while True:
            with self._lock:
                if block > self._cache_block:
                    self._cache_block = block
                    self._cache = {}
                    self._inflight = {}
                if block != self._cache_block:  # an older block than the cache's: read, don't cache
                    return self._guard(read)
                if key in self._cache:
                    return self._cache[key]  # type: ignore[no-any-return]
                waiting = self._inflight.get(key)
                if waiting is None:
                    mine = self._inflight[key] = threading.Event()
                    break
            waiting.wait(timeout=30)  # then look again (the reader may have failed: read ourselves)
        try:
            value = self._guard(read)
            with self._lock:
                if block == self._cache_block:
                    self._cache[key] = value
            return value
        finally:
            with self._lock:
                if self._inflight.get(key) is mine:
                    del self._inflight[key]
            mine.set()

    def _guard(self, read: Callable[[], T]) -> T:
        try:
            return read()
        except ContractRevert:
            raise
        except ChainError as exc:
            raise ChainUnavailable(f"chain unavailable: {exc}") from exc
        except Exception as exc:
            if is_node_failure(exc):  # transport failures, malformed answers, a node that misbehaves
                raise ChainUnavailable(f"chain unavailable: {type(exc).__name__}") from exc
            raise
