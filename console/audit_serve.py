"""``tds console serve``: open the audit index of a home, follow the chain into it, serve the pages on loopback.

    console, follower = open_console(home, ChainSettings.load(home))
    follower.run_once()              # index up to the head first (as `tds audit index` does)
    serve(console, follower, "127.0.0.1", 8790)

The chain may be down at start: the console still opens (its pages say the index is cut off from the chain) and
the follower connects once the node answers. Only loopback addresses are served: the pages hold nothing secret,
but an operator's console is not a public site (put a reverse proxy with authentication in front to share it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from audit.db import IndexDb, database_url
from audit.receipts import ReceiptEntry
from audit.report import TokenInfo
from chain.client import Chain
from chain.errors import ChainError
from chain.settings import ChainSettings
from console.audit_data import DEFAULT_MAX_LAG, ChainWatch, Titles, meta_value
from console.audit_follow import Follower
from console.audit_pages import AuditConsole, create_app, site_of

DEFAULT_PORT = 8790


class NotLoopback(ValueError):
    """The console was asked to listen on an address other than loopback."""


def check_loopback(host: str) -> str:
    """``host`` when it is a loopback address (``127.0.0.1``, ``::1``, ``localhost``); else NotLoopback."""
    if host == "localhost":
        return host
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise NotLoopback(f"{host} is not a loopback address: the console serves 127.0.0.1 or ::1 only")


def open_console(home: Path, settings: ChainSettings, receipts: Sequence[ReceiptEntry] = (),
                 max_lag: int = DEFAULT_MAX_LAG, poll_s: float = 1.0,
                 connect: Callable[[ChainSettings], Chain] = Chain.connect,
                 db_url: str | None = None, metadata_dir: Path | None = None) -> tuple[AuditConsole, Follower]:
    """The console of ``home``'s audit index (``db_url``: another index) and its follower (neither started); titles
    come from the metadata documents in ``metadata_dir`` (the home's gateway's, which the caller knows). The
    deployment's contract addresses and the settlement token come from the node when it answers, else from the
    deployment file of the chain the index was built for."""
    db = IndexDb.open(db_url or database_url(home))
    chain: Chain | None
    try:
        chain = connect(settings)
    except ChainError:
        chain = None
    with db.session() as s:
        indexed_chain = meta_value(s, "chain_id")
    chain_id = chain.chain_id if chain else (int(indexed_chain) if indexed_chain else settings.chain_id)
    if chain is not None:
        contracts = {name: chain.address(name) for name in chain.deployment.contracts}
    else:
        contracts = site_of(settings.deployment_file(chain_id) if chain_id is not None else None)
    console = AuditConsole(db, ChainWatch(settings.rpc_url, timeout_s=min(2.0, settings.rpc_timeout_s)),
                           Titles(metadata_dir, db.session), chain_id=chain_id, rpc_url=settings.rpc_url,
                           contracts=contracts, receipts=tuple(receipts), token=_token(chain), max_lag=max_lag)
    first = chain

    def connected() -> Chain:
        nonlocal first
        if first is not None:
            made, first = first, None
            return made
        return connect(settings)

    return console, Follower(db, connected, poll_s)


def _token(chain: Chain | None) -> TokenInfo | None:
    if chain is None:
        return None
    from chain.contracts import TokenClient

    try:
        tokens = TokenClient(chain)
        return TokenInfo(tokens.symbol(), tokens.decimals(), tokens.address)
    except Exception:  # noqa: BLE001 - no token, or one without symbol(): amounts in base units
        return None


def serve(console: AuditConsole, follower: Follower, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          log_level: str = "warning", started: Callable[[Any], None] | None = None) -> None:
    """Serve the console with uvicorn until interrupted, following the chain on a background thread."""
    import uvicorn

    config = uvicorn.Config(create_app(console), host=check_loopback(host), port=port, log_level=log_level,
                            lifespan="off", server_header=False)
    server = uvicorn.Server(config)
    if started is not None:
        started(server)
    follower.start()
    try:
        server.run()
    finally:
        follower.stop()
        console.db.dispose()
