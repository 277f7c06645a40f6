"""The notary in its own process: seal receipts on size or time and anchor them, away from request serving.

The process opens the ledger's database, the chain and the anchoring key, nothing else: no gateway,
no encrypted store, no master key (its settings are :class:`anchoring.settings.NotarySettings`).

Sealing builds Merkle trees in Python (holding the GIL) and every anchor transaction mines a block;
inside a serving process both show up as request latency. So ``tds gateway serve`` starts ONE
notary process next to its HTTP worker(s) and stops it when it stops (:class:`NotaryProcess`).
The durability rules are those of :mod:`anchoring.notary` whatever process runs them: access
records are committed by the serving process before its response; a batch is committed before its
anchor transaction is sent; anchoring reads the chain first, so it happens once. The database lease
keeps a second notary (another ``serve``, a ``tds gateway notary``, a ``notary_mode="thread"`` app)
from doing the same work twice; a lease whose holder is a dead process of this host is taken over at
once (a restarted notary anchors without waiting for the lease to expire). The restart backoff
starts over after a healthy run (:class:`Backoff`).

    run_notary(settings)                        # foreground until SIGTERM/SIGINT: ``tds gateway notary``
    proc = NotaryProcess.start(settings)        # a child process (what ``serve`` does)

(``settings`` is a :class:`NotarySettings`; a gateway's is ``GatewaySettings.notary()``.)
    proc.stop()
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from anchoring.errors import NotaryServiceError, NotaryUnavailable
from anchoring.notary import Notary
from anchoring.settings import NotarySettings
from anchoring.worker import NotaryWorker
from chain.errors import ChainError

log = logging.getLogger("tds.notary")

PARENT_POLL_S = 0.5
RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
HEALTHY_RUN_S = 60.0
"""A notary process that ran this long before dying was healthy: the next restart starts the backoff over."""


class Backoff:
    """Restart delays: growing along RESTART_BACKOFF_S while the process keeps dying young, reset after a
    healthy run (so one crash a day never costs 30 s)."""

    def __init__(self, delays: tuple[float, ...] = RESTART_BACKOFF_S, healthy_s: float = HEALTHY_RUN_S) -> None:
        self.delays = delays
        self.healthy_s = healthy_s
        self.failures = 0

    def after_exit(self, ran_s: float) -> float:
        """The delay before the next start, given how long the process that just died ran."""
        if ran_s >= self.healthy_s:
            self.failures = 0
        delay = self.delays[min(self.failures, len(self.delays) - 1)]
        self.failures += 1
        return delay


def run_notary(
    settings: NotarySettings,
    notary: Notary | None = None,
    stop: threading.Event | None = None,
    parent_pid: int | None = None,
) -> None:
    """Run the notary worker until ``stop`` is set, SIGTERM/SIGINT arrives, or ``parent_pid`` is gone.

    Returns after the worker's current step (a step is never cut between sealing and recording an
    anchor except by a hard kill, which the next run heals from the chain).
    """
    if not settings.enabled:
        raise NotaryUnavailable("notary_interval_s is 0: the notary is disabled")
    notary = notary or Notary.open(settings)
    if notary.anchors is None or notary.anchors.sender is None:
        raise NotaryUnavailable(f"the keystore has no account {settings.account!r}: the notary cannot anchor")
    stop = stop or threading.Event()
    _stop_on_signals(stop)
    worker = NotaryWorker(notary, settings.batch_size, settings.interval_s)
    worker.start()
    log.info("notary running (pid %s, batch %s, interval %s s)", os.getpid(), settings.batch_size,
             settings.interval_s)
    try:
        while not stop.wait(PARENT_POLL_S):
            if parent_pid is not None and os.getppid() != parent_pid:
                log.warning("the serving process %s is gone: stopping", parent_pid)
                break
            if not worker.alive:  # pragma: no cover - the worker catches everything per tick
                raise NotaryUnavailable("the notary thread died")
    finally:
        worker.stop()


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _sig, _frame: stop.set())


class NotaryProcess:
    """One notary child process, restarted (with backoff) if it dies while its owner serves."""

    def __init__(self, settings: NotarySettings, log_level: str = "warning") -> None:
        self.settings = settings
        self.log_level = log_level
        self.proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._started_at = 0.0

    @classmethod
    def start(cls, settings: NotarySettings, log_level: str = "warning") -> NotaryProcess:
        """Spawn the notary process (settings handed down as ``TDS_NOTARY_*`` in its environment, no secrets)."""
        self = cls(settings, log_level)
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="tds-notary-watch", daemon=True)
        self._watcher.start()
        return self

    @property
    def pid(self) -> int | None:
        """The current child's pid."""
        return self.proc.pid if self.proc is not None else None

    def _spawn(self) -> None:
        env = {**os.environ, **self.settings.to_env()}  # read back by NotarySettings.load()
        cmd = [sys.executable, "-m", "anchoring.process", "--parent", str(os.getpid()),
               "--log-level", self.log_level]
        with self._lock:
            if not self._stopping.is_set():
                self.proc = subprocess.Popen(cmd, env=env)
                self._started_at = time.monotonic()

    def _watch(self) -> None:
        backoff = Backoff()
        while not self._stopping.is_set():
            proc = self.proc
            if proc is None:
                return
            code = proc.wait()  # reaped: its pid is free, so the next notary takes its lease over at once
            if self._stopping.is_set():
                return
            delay = backoff.after_exit(time.monotonic() - self._started_at)
            log.error("notary process %s exited with %s; restarting in %s s", proc.pid, code, delay)
            if self._stopping.wait(delay):
                return
            self._spawn()

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM the child, wait up to ``timeout`` (it finishes its step), then SIGKILL; its exit code."""
        with self._lock:
            self._stopping.set()
            proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("notary process %s did not stop within %s s: killing it", proc.pid, timeout)
                proc.kill()
                proc.wait()
        return proc.returncode


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child: ``python -m anchoring.process --parent PID`` (settings in the environment)."""
    parser = argparse.ArgumentParser(prog="python -m anchoring.process")
    parser.add_argument("--parent", type=int, default=None, help="stop when this process is gone")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s notary %(levelname)s %(message)s")
    try:
        run_notary(NotarySettings.load(), parent_pid=args.parent)
    except (NotaryServiceError, ChainError, ValueError) as exc:
        log.error("notary: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
