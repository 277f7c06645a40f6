"""The policy monitor: a running delivery's grant re-judged at every new head block, so it stops within one block.

An access is decided once (:mod:`gateway.access`), but a large stream outlives the block it was
decided at: a grant revoked, a consumer suspended, an asset deactivated or a window that ends while
the bytes go out must stop that stream, not only the next request. The stream asks
:meth:`PolicyMonitor.check` before every chunk. The call costs a clock read and a comparison while
the head has not moved: the head comes from ``ChainView.head`` with ``max_age_s`` set to the head
poll interval (one shared, single-flight node read per interval for every stream together), and the
chain is asked again only for a newer block (block-keyed, cached reads). The window is judged at the
gateway's clock on every call, since an idle chain's block time stands still.

Because the stream calls in before each chunk, a consumer reading slowly does not stretch the
interval: the first call after a pause reads a head at most ``head_poll_interval_s`` old.

Fail closed, but not on a hiccup: the stream is stopped when the chain could not be read for
longer than ``max_chain_staleness_s`` (the bound beyond which the gateway refuses new accesses); a
shorter outage leaves it running, and after a failed read the node is asked again at most once per
poll interval (not once per chunk).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from chain.errors import ChainError
from domain import terms
from domain.types import GrantRequest, Liveness, ParticipantStatus, Role
from gateway.errors import ChainNotReady
from gateway.policy import grant_liveness

if TYPE_CHECKING:
    from gateway.service import Gateway

_CHAIN_FAILURES = (ChainError, ChainNotReady)
"""What a chain read raises when the chain cannot be vouched for (the view's ChainUnavailable / ChainStale)."""


class PolicyMonitor:
    """Whether one running delivery may go on: :meth:`check` gives None while it may, else why not.

    ``start_block`` is the block the access was decided at (nothing is re-read for it). Once a
    reason is found it is kept: every later call returns it without reading anything.
    """

    def __init__(self, gw: Gateway, grant_id: str, request: GrantRequest | None, consumer: str, asset_id: str,
                 start_block: int, *, clock: Callable[[], float] = time.time) -> None:
        self.view = gw.view
        self.grant_id = grant_id
        self.request = request
        self.consumer = consumer.lower()
        self.asset_id = asset_id
        self.checked_block = start_block  # the newest block every rule was judged at
        self.reason: str | None = None
        self._poll_s = gw.settings.head_poll_interval_s
        self._max_unreachable_s = gw.settings.max_chain_staleness_s
        self._clock = clock
        self._last_good = clock()  # the access was just decided on a good head read
        self._retry_at = 0.0  # after a failed read, the chain is not asked again before this
        self._failure = ""

    def check(self) -> str | None:
        """None while the grant still holds, else a reason such as ``grant 0x.. was revoked at block 123``."""
        if self.reason is None:
            now = self._clock()
            self.reason = self._window(now) or self._chain(now)
        return self.reason

    def _window(self, now: float) -> str | None:
        """The grant's window at the gateway's clock (the chain's clock is judged per block by UsageGrants)."""
        if self.request is None:
            return None
        verdict = terms.window_verdict(self.request.not_before, self.request.not_after, now)
        if verdict == Liveness.LIVE:
            return None
        return f"{terms.liveness_reason(self.grant_id, verdict, self.request)} (gateway clock)"

    def _chain(self, now: float) -> str | None:
        if now < self._retry_at:
            return self._unreachable(now)
        try:
            head = self.view.head(max_age_s=self._poll_s)
            if head.number > self.checked_block:
                reason = self._judge(head.number, now)
                if reason is not None:
                    return reason
                self.checked_block = head.number
        except _CHAIN_FAILURES as exc:
            self._retry_at, self._failure = now + self._poll_s, str(exc)
            return self._unreachable(now)
        self._last_good = now
        return None

    def _judge(self, block: int, now: float) -> str | None:
        """Every rule at ``block``: the grant live (existence, revocation, window on both clocks), the
        consumer an active member holding the consumer role, the asset still active."""
        verdict = grant_liveness(self.view, self.grant_id, self.request, block, now)
        if verdict != Liveness.LIVE:
            return f"{terms.liveness_reason(self.grant_id, verdict, self.request)} at block {block}"
        member = self.view.participant(self.consumer, block)
        if member.status != ParticipantStatus.ACTIVE:
            state = "not a participant" if member.status == ParticipantStatus.NONE else member.status.name.lower()
            return f"consumer {self.consumer} is {state} at block {block}"
        if Role.CONSUMER not in member.roles:
            return f"consumer {self.consumer} no longer holds the consumer role at block {block}"
        asset = self.view.asset(self.asset_id, block)
        if asset is None or not asset.active:
            return f"asset {self.asset_id} is {'unknown' if asset is None else 'deactivated'} at block {block}"
        return None

    def _unreachable(self, now: float) -> str | None:
        down = now - self._last_good
        if down <= self._max_unreachable_s:
            return None
        return (f"chain unreachable for {down:.0f} s (bound {self._max_unreachable_s:g} s, last judged at block "
                f"{self.checked_block}): {self._failure}")
