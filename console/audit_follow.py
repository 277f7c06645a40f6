"""Keep the audit index current while the console serves it: one background thread, as ``tds audit index --follow``.

The node may be down when the console starts, or go away later: the follower connects when it can, indexes up to
the head every ``poll_s`` seconds, and remembers the last error (the pages say the index is behind or cut off;
they are computed from the index and the chain's head, not from this thread's opinion).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from audit.db import IndexDb
from audit.errors import AuditError
from audit.indexer import Indexer, IndexRun, index_until_stable
from chain.client import Chain
from chain.errors import ChainError
from chain.logs import RpcLogSource

log = logging.getLogger("tds.console")


@dataclass
class FollowState:
    """What the follower last did: its last run and error, and when."""

    last_run: IndexRun | None = None
    last_error: str | None = None
    last_ok_at: float = 0.0


class Follower:
    """Indexes the chain into ``db`` every ``poll_s`` seconds on a daemon thread until :meth:`stop`."""

    def __init__(self, db: IndexDb, connect: Callable[[], Chain], poll_s: float = 1.0) -> None:
        self.db = db
        self._connect = connect
        self.poll_s = poll_s
        self.state = FollowState()
        self._indexer: Indexer | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> IndexRun | None:
        """One indexing pass (connecting first if needed); None when the chain or the index failed."""
        try:
            if self._indexer is None:
                source = RpcLogSource(self._connect())
                self._indexer = Indexer(self.db, source, start_block=source.start_block)
            run = index_until_stable(self._indexer)
        except (ChainError, AuditError) as exc:
            self._indexer = None if isinstance(exc, ChainError) else self._indexer
            if str(exc) != self.state.last_error:
                log.warning("audit index not updated: %s", exc)
            self.state.last_error = str(exc)
            return None
        self.state.last_run, self.state.last_error, self.state.last_ok_at = run, None, time.time()
        return run

    def start(self) -> None:
        """Follow the chain on a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="tds-console-index", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.poll_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop following (waits for the current pass)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
