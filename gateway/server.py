"""Serving the gateway with uvicorn: one process, or several worker processes sharing DB and store,
plus (``notary_mode="process"``, the default) ONE separate notary process that seals and anchors.

Each worker builds its own :class:`gateway.service.Gateway` (chain view, caches, head reads are per
process and stay correct: caches are keyed by block number, every request reads a fresh head).
What must be shared is shared through the database (single-use nonces, usage counters, access
records) or derived from the master key (session tokens verify in every worker). The notary
process (:mod:`anchoring.process`, with the notary's settings only: no store, no master key) reads the
access records the workers commit; it is stopped when serving stops (SIGTERM, SIGINT), after its
current step.

    serve(settings, workers=4)        # what ``tds gateway serve --workers 4`` calls
"""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
from typing import Any

from gateway.settings import GatewaySettings

APP_FACTORY = "gateway.server:app_from_env"


def serve(
    settings: GatewaySettings,
    workers: int = 1,
    log_level: str = "warning",
    app: Any = None,
    factory: str = APP_FACTORY,
) -> None:
    """Serve until SIGTERM/SIGINT, with the notary process when ``settings.notary_mode == "process"``.

    ``app`` (single process only) defaults to ``create_app(settings)``; ``factory`` is the uvicorn
    app factory (``module:function``) worker processes call, with the settings in the environment
    (``TDS_GATEWAY_*``, read back by the one settings reader).
    """
    import uvicorn

    if app is not None and workers > 1:
        raise ValueError("several workers build their own app: pass settings, not an app")
    options = uvicorn_options(settings, log_level, in_process=workers <= 1)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if main else None  # uvicorn re-raises it
    notary = None
    try:
        if workers > 1:
            from gateway.service import load_master_key

            load_master_key(settings)  # create it here, once, rather than racing in the workers
        notary = _start_notary(settings, log_level)
        if app is None and workers <= 1 and factory == APP_FACTORY:
            from gateway.app import create_app

            app = create_app(settings)
        if app is not None:
            uvicorn.run(app, **options)
        else:
            handed = settings.to_env()  # worker processes read them back (no secrets in them)
            before = {k: os.environ.get(k) for k in handed}
            os.environ.update(handed)
            try:
                uvicorn.run(factory, factory=True, workers=workers if workers > 1 else None, **options)
            finally:
                for k, v in before.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        if notary is not None:
            notary.stop()


def _start_notary(settings: GatewaySettings, log_level: str) -> Any:
    if settings.notary_mode != "process" or not settings.notary_enabled:
        return None
    from anchoring.process import NotaryProcess

    return NotaryProcess.start(settings.notary(), log_level)


def _exit_on_sigterm(_sig: int, _frame: Any) -> None:
    raise SystemExit(0)  # a graceful stop: unwind (and stop the notary) instead of dying on the spot


def uvicorn_options(
    settings: GatewaySettings, log_level: str = "warning", in_process: bool = True
) -> dict[str, Any]:
    """Loopback host/port, the HTTP protocol and proxy trust (:func:`http_options`), the fastest event
    loop installed, access log only when verbose."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": log_level,
        "access_log": log_level in ("info", "debug", "trace"),
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        **http_options(settings, in_process),
    }


def http_options(settings: GatewaySettings, in_process: bool = True) -> dict[str, Any]:
    """uvicorn options bounding request heads (``max_header_bytes``, ``max_headers``: 431 beyond them)
    and naming the proxies trusted for X-Forwarded-For (``trusted_proxies``; none by default).

    With httptools, :class:`gateway.httpprotocol.HeaderLimitedProtocol` (``in_process``: a subclass
    with these bounds; otherwise the module-level class, which worker processes configure in
    :func:`app_from_env`). With h11, its incomplete-event bound caps the head's size.
    """
    options: dict[str, Any]
    if importlib.util.find_spec("httptools"):
        from gateway.httpprotocol import HeaderLimitedProtocol

        http = (HeaderLimitedProtocol.for_limits(settings.max_header_bytes, settings.max_headers) if in_process
                else HeaderLimitedProtocol)
        options = {"http": http}
    else:
        options = {"http": "h11", "h11_max_incomplete_event_size": settings.max_header_bytes}
    proxies = settings.trusted_proxies.strip()
    return {**options, "proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None}


def app_from_env() -> Any:
    """uvicorn factory for worker processes: ``gateway.server:app_from_env``."""
    from gateway.app import create_app

    settings = GatewaySettings.load()  # what serve() put in the environment
    if importlib.util.find_spec("httptools"):
        from gateway.httpprotocol import HeaderLimitedProtocol

        HeaderLimitedProtocol.configure(settings.max_header_bytes, settings.max_headers)  # this worker's bounds
    return create_app(settings)
