"""The notary's background worker: seal on size or time, anchor what is sealed, one process at a time (lease)."""

from __future__ import annotations

import logging
import threading
import time

from anchoring.notary import Notary, holder_id

log = logging.getLogger("tds.notary")

MAX_BATCHES_PER_TICK = 20
FULL_SCAN_S = 60.0
"""How often the worker rescans every access record for stragglers (ids committed out of order)."""


class NotaryWorker:
    """A thread that seals on size (``batch_size`` pending) or on time (oldest pending ``interval_s`` old)
    and anchors every sealed batch; chain errors are logged and retried on the next tick."""

    def __init__(self, notary: Notary, batch_size: int, interval_s: float) -> None:
        self.notary = notary
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.poll_s = min(max(interval_s / 5, 0.05), 1.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_full = 0.0
        self.holder = holder_id()
        self.lease_s = max(30.0, 3 * interval_s)

    def start(self) -> None:
        """Start the thread (daemon)."""
        self._thread = threading.Thread(target=self._run, name="tds-notary", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop after its current step and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            self.notary.release(self.holder)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            log.warning("could not release the notary lease")

    @property
    def alive(self) -> bool:
        """Whether the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the worker must outlive a bad tick (chain down, db busy)
                log.exception("notary tick failed; retrying")

    def tick(self, now: float | None = None) -> None:
        """One step, if this process holds the lease: seal what is due, then anchor what is sealed."""
        if not self.notary.lease(self.holder, self.lease_s):
            return
        now = time.time() if now is None else now
        fast = now - self._last_full < FULL_SCAN_S
        if not fast:
            self._last_full = now
        count, oldest = self.notary.pending(fast=fast)
        for _ in range(MAX_BATCHES_PER_TICK):  # under a flood, still anchor between rounds
            due = count >= self.batch_size or (count and oldest is not None and now - oldest >= self.interval_s)
            if not due or self.notary.seal_pending(self.batch_size, fast=fast) is None:
                break
            count, oldest = self.notary.pending(fast=fast)
        self.notary.anchor_sealed()
