"""The policy monitor of a running stream (gateway.monitor), against a fake chain view and a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from chain.errors import ChainUnavailable
from chain.view import AssetState, Head
from domain.types import GrantRequest, Liveness, Participant, ParticipantStatus, Role
from gateway.monitor import PolicyMonitor
from gateway.settings import GatewaySettings

PROVIDER = "0x" + "11" * 20
CONSUMER = "0x" + "22" * 20
ASSET = "0x" + "aa" * 32
GRANT = "0x" + "bb" * 32
T0 = 1_700_000_000.0


@dataclass
class Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeView:
    """Head, liveness, participant and asset per block; ``down``: every read fails as the node would."""

    clock: Clock
    number: int = 10
    revoked_at: int | None = None
    suspended_at: int | None = None
    deactivated_at: int | None = None
    down: bool = False
    head_reads: int = 0
    reads: list[tuple[str, int]] = field(default_factory=list)

    def head(self, max_age_s: float = 0.0) -> Head:
        self.head_reads += 1
        if self.down:
            raise ChainUnavailable("chain unavailable: ConnectionError")
        return Head(self.number, None, self.clock.now)

    def liveness(self, grant_id: str, block: int) -> Liveness:
        self.reads.append(("live", block))
        return Liveness.REVOKED if self.revoked_at is not None and block >= self.revoked_at else Liveness.LIVE

    def participant(self, address: str, block: int) -> Participant:
        self.reads.append(("member", block))
        status = ParticipantStatus.SUSPENDED if self.suspended_at is not None and block >= self.suspended_at \
            else ParticipantStatus.ACTIVE
        return Participant(address, Role.CONSUMER, status, "DE", 0, "0x" + "00" * 32)

    def asset(self, asset_id: str, block: int) -> AssetState:
        self.reads.append(("asset", block))
        return AssetState(asset_id, PROVIDER, 10, not (self.deactivated_at is not None and block >= self.deactivated_at))


def monitor(not_after: float = T0 + 3600, staleness_s: float = 5.0) -> tuple[PolicyMonitor, FakeView, Clock]:
    clock = Clock()
    view = FakeView(clock)
    settings = GatewaySettings(head_poll_interval_s=0.2, max_chain_staleness_s=staleness_s)
    request = GrantRequest(ASSET, CONSUMER, "research", int(T0) - 60, int(not_after), 5, 0, 1, int(T0) + 600, 1)
    gw: Any = SimpleNamespace(view=view, settings=settings)
    return PolicyMonitor(gw, GRANT, request, CONSUMER, ASSET, view.number, clock=clock), view, clock


def test_nothing_is_read_again_while_the_head_stays_put() -> None:
    mon, view, _clock = monitor()
    for _ in range(1000):
        assert mon.check() is None
    assert view.reads == []  # the start block was judged by the access itself


def test_a_revocation_in_a_new_block_stops_the_stream_and_the_reason_sticks() -> None:
    mon, view, _clock = monitor()
    view.number, view.revoked_at = 11, 11
    assert mon.check() == f"grant {GRANT} was revoked at block 11"
    reads = view.head_reads
    assert mon.check() == f"grant {GRANT} was revoked at block 11"
    assert view.head_reads == reads  # once stopped, nothing is read


def test_a_new_block_with_everything_in_order_is_judged_once() -> None:
    mon, view, _clock = monitor()
    view.number = 12
    assert mon.check() is None and mon.check() is None
    assert view.reads == [("live", 12), ("member", 12), ("asset", 12)]
    assert mon.checked_block == 12


def test_a_suspended_consumer_and_a_deactivated_asset_stop_it() -> None:
    mon, view, _clock = monitor()
    view.number, view.suspended_at = 11, 11
    assert mon.check() == f"consumer {CONSUMER} is suspended at block 11"
    mon, view, _clock = monitor()
    view.number, view.deactivated_at = 11, 11
    assert mon.check() == f"asset {ASSET} is deactivated at block 11"


def test_the_window_ends_by_the_gateway_clock_on_an_idle_chain() -> None:
    mon, view, clock = monitor(not_after=T0 + 3)
    assert mon.check() is None
    clock.now = T0 + 3  # no new block: the chain's clock stands still
    reason = mon.check()
    assert reason is not None and reason.startswith(f"grant {GRANT} has expired") and reason.endswith("(gateway clock)")
    assert view.reads == []


def test_a_short_outage_does_not_stop_it_and_failed_reads_are_not_retried_per_chunk() -> None:
    mon, view, clock = monitor(staleness_s=5.0)
    view.down = True
    assert mon.check() is None  # one failed read, the last good one is recent
    reads = view.head_reads
    for _ in range(1000):
        assert mon.check() is None
    assert view.head_reads == reads  # no node read per chunk while it is down
    clock.now += 0.3
    assert mon.check() is None and view.head_reads == reads + 1  # retried after the poll interval
    view.down = False
    clock.now += 0.3
    assert mon.check() is None  # recovered


def test_a_chain_unreadable_beyond_the_bound_stops_it() -> None:
    mon, view, clock = monitor(staleness_s=5.0)
    view.down = True
    clock.now += 4.0
    assert mon.check() is None
    clock.now += 1.5  # 5.5 s since the last good read
    reason = mon.check()
    assert reason is not None and reason.startswith("chain unreachable for 6 s (bound 5 s, last judged at block 10)")
    assert "ConnectionError" in reason
