"""The operator's and auditor's console (``tds console serve``) over a real index of a real devnet, on loopback.

``console_story(space)`` registers data products through the CLI whose title, description and purposes are
attacks on the page (script tags, attribute breakers), issues and revokes a digital contract, anchors a receipts
root (the console, given no receipts, must say none were verified), and indexes. ``serve_console`` runs the
console's app under uvicorn on a free port, as ``tds console serve`` does (the follower thread included unless
told otherwise); the returned :class:`Served` knows its base URL and stops cleanly.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import uvicorn

from chain.contracts import AnchorsClient
from chain.devspace import free_port
from chain.eip712 import sign_acceptance, sign_grant_request
from chain.keys import Keystore
from chain.settings import ChainSettings
from cli.main import main as tds_main
from console.audit_follow import Follower
from console.audit_pages import AuditConsole, create_app
from console.audit_serve import open_console
from domain.types import GrantRequest
from gateway.settings import GatewaySettings
from tests.integration.conftest import Space

XSS_TITLE = "<script>alert('title')</script> Weather \"quoted\" & co"
XSS_DESCRIPTION = "<img src=x onerror=alert('description')> hourly readings"
XSS_PURPOSE = "<svg onload=alert('purpose')>"
SCRIPTS = ("<script>alert", "<img src=x", "<svg onload")


@dataclass
class Story:
    """What the console should show."""

    weather: str  # title, description and a purpose are attacks
    derived: str  # derived from weather, a plain title
    grant: str  # on weather, purpose XSS_PURPOSE, revoked
    provider: str
    consumer: str
    root: str  # an anchored receipts root whose receipts nobody supplies


def _json_of(space: Space, *args: str) -> Any:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = tds_main(["--home", str(space.home), *args, "--json"])
    assert code == 0, f"tds {' '.join(args)} exited {code}"
    return json.loads(buf.getvalue())


def console_story(space: Space, tmp: Path) -> Story:
    """Register, grant, revoke, anchor; then index (the space's other tests may add more)."""
    weather_file = tmp / "weather.csv"
    weather_file.write_bytes(b"hour,temp\n" + os.urandom(24).hex().encode())
    policy = json.dumps({"purposes": ["research", XSS_PURPOSE], "jurisdictions": ["DE"], "max_count": 5})
    weather = _json_of(space, "asset", "register", str(weather_file), "--title", XSS_TITLE, "--description",
                       XSS_DESCRIPTION, "--policy", policy)["asset_id"]
    derived_file = tmp / "daily.csv"
    derived_file.write_bytes(b"day,temp\n" + os.urandom(24).hex().encode())
    derived = _json_of(space, "asset", "register", str(derived_file), "--title", "Daily means 日均值",
                       "--parent", weather)["asset_id"]
    chain = space.chain()
    keys = Keystore(space.settings.keystore_dir)
    consumer, provider = keys.account("consumer"), keys.account("provider")
    _, _, grants = space.clients("provider")
    state = grants.policy_state(weather)
    assert state is not None
    now = int(time.time())
    req = GrantRequest(weather, consumer.address, XSS_PURPOSE, now - 60, now + 7 * 86400, 3, 0,
                       int.from_bytes(os.urandom(8), "big"), now + 3600, state.epoch)
    usage_grants = chain.address("UsageGrants")
    sig = sign_grant_request(consumer, chain.chain_id, usage_grants, req)
    grant, _ = grants.issue(req, sig, sign_acceptance(provider, chain.chain_id, usage_grants, grants.hash_request(req)))
    grants.revoke(req)
    root = "0x" + os.urandom(32).hex()
    AnchorsClient(chain, chain.sender(provider)).anchor(root, 2, AnchorsClient.KIND_RECEIPTS)
    _json_of(space, "audit", "index")
    return Story(weather, derived, grant, provider.address, consumer.address, root)


@dataclass
class Served:
    """A console served by uvicorn on loopback."""

    console: AuditConsole
    follower: Follower | None
    server: uvicorn.Server
    thread: threading.Thread
    port: int

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the server and the follower."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        if self.follower is not None:
            self.follower.stop()


def serve_console(space: Space, follow: bool = True, rpc_url: str | None = None, max_lag: int = 10,
                  poll_s: float = 0.5, db_url: str | None = None) -> Served:
    """``tds console serve`` in a thread: the space's index (``db_url``: another one), its follower (unless
    ``follow`` is off), and the chain watched at ``rpc_url`` (default: the space's node; a dead port makes the
    chain unreadable)."""
    settings = space.settings if rpc_url is None else replace(space.settings, rpc_url=rpc_url)
    console, follower = open_console(space.home, settings, max_lag=max_lag, poll_s=poll_s, db_url=db_url,
                                     metadata_dir=GatewaySettings.load(space.home).gateway_dir / "metadata")
    if follow:
        follower.run_once()
        follower.start()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(console), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn-console", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console did not start")
        time.sleep(0.02)
    return Served(console, follower if follow else None, server, thread, port)


@contextlib.contextmanager
def served(space: Space, **options: Any) -> Iterator[Served]:
    """:func:`serve_console` for the length of a ``with`` block."""
    s = serve_console(space, **options)
    try:
        yield s
    finally:
        s.stop()


def index_copy(space: Space, path: Path) -> str:
    """A copy of the space's audit index as it stands (nobody follows the chain into it): its URL."""
    import sqlite3

    source = sqlite3.connect(space.home / "audit.db")
    target = sqlite3.connect(path)
    with target:
        source.backup(target)
    source.close()
    target.close()
    return f"sqlite:///{path}"


def dead_rpc_url() -> str:
    """A loopback URL where no node listens."""
    return f"http://127.0.0.1:{free_port()}"


def chain_settings(space: Space) -> ChainSettings:
    """The space's chain settings (no environment)."""
    return ChainSettings.load(space.home, env={})
