"""The gateway's HTTP app: ``create_app(settings)`` builds it (no side effects at import).

The factory only: middlewares, exception handlers (``gateway.api.errors``, over the one error table
``gateway.errors.ERROR_TABLE``), the routers of ``gateway.api`` and the lifespan (worker threads,
the head/nonce housekeeping thread and, with ``notary_mode="thread"``, the notary). Tests and the
CLI may pass an already-open :class:`gateway.service.Gateway`; tests swap the routes' dependencies
(``gateway.api.deps``) with ``app.dependency_overrides``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from anchoring.notary import Notary
from anchoring.worker import NotaryWorker
from chain.errors import ChainError
from gateway.api import catalog, compute, console, data, grants, meta, provider, receipts, services, sessions
from gateway.api.errors import install_error_handlers
from gateway.api.middleware import BodyLimit, ClientLimit, LastResort
from gateway.api.openapi import openapi_document
from gateway.errors import GatewayError
from gateway.jobs import JobRunner
from gateway.ratelimit import RateLimits, RefusalCounter
from gateway.reconcile import install_ledger_guard
from gateway.service import Gateway
from gateway.settings import GatewaySettings

log = logging.getLogger("tds.gateway")
ROUTERS = (meta.router, catalog.router, grants.router, sessions.router, data.router, services.router,
           compute.router, receipts.router, provider.router)
"""Every router, in the order the app (and its OpenAPI document) lists their routes."""


def create_app(
    settings: GatewaySettings,
    gateway: Gateway | None = None,
    **open_kwargs: Any,
) -> FastAPI:
    """Build the gateway app; opens a :class:`Gateway` from ``settings`` unless one is given.

    ``open_kwargs`` go to :meth:`Gateway.open` (``chain_settings``, ``chain``, ``store``, ``db``,
    ``provider``).
    """
    gw = gateway or Gateway.open(settings, **open_kwargs)
    app = FastAPI(
        title="TDS Gateway",
        version="1",
        description="Serves a provider's assets to consumers holding a live on-chain grant. "
        "Consumer calls are EIP-712 signed (see GET /eip712); errors are `{error: {code, message}}`.",
        lifespan=_lifespan(gw, settings),
    )
    app.state.gateway = gw
    app.state.settings = settings
    app.state.limits = RateLimits.from_settings(settings)
    app.state.refusals = RefusalCounter()
    app.state.notary = gw.notary()
    app.state.jobs = JobRunner(gw)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    install_ledger_guard(app, gw)  # nothing served until the database holds every anchored receipts root
    app.add_middleware(ClientLimit, limits=app.state.limits, refusals=app.state.refusals)
    app.add_middleware(LastResort)  # outermost: whatever escapes the rest answers JSON
    install_error_handlers(app)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    for router in ROUTERS:
        app.include_router(router)
    console.mount(app)  # the web console under /console (pages and static files; not in the OpenAPI document)
    _run_notary_in_lifespan(app, app.state.notary, settings)
    return app


def _lifespan(gw: Gateway, settings: GatewaySettings) -> Any:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.worker_threads > 0:  # sync routes run on this many threads (anyio's default: 40)
            import anyio.to_thread

            anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        stop = threading.Event()
        thread = threading.Thread(target=_housekeeping, args=(gw, stop, _app.state.jobs), name="tds-gateway-head",
                                  daemon=True)
        thread.start()
        try:
            _app.state.jobs.recover()
        except Exception:  # noqa: BLE001 - a failed recovery leaves them to the next start
            log.exception("could not recover the jobs a stopped gateway left")
        yield
        stop.set()
        thread.join(timeout=5)
        _app.state.jobs.close()
        backend = getattr(_app.state, "backend_http", None)  # the services' outbound pool (gateway.api.services)
        if backend is not None:
            await backend.close()

    return lifespan


def _housekeeping(gw: Gateway, stop: threading.Event, jobs: JobRunner) -> None:
    """Keep the head view and the catalog index warm (for /health and catalog reads: the index is built
    here after start and follows the head, so catalog requests seldom wait for a node read), forget
    expired nonces and delete job results whose retention ended (every minute)."""
    last_prune = 0.0
    while not stop.wait(gw.settings.head_poll_interval_s):
        try:
            head = gw.view.head()
        except (GatewayError, ChainError) as exc:  # the view fails closed with chain.errors' ChainUnavailable/Stale
            log.warning("chain view: %s", exc)
        else:
            _follow_catalog(gw, head.number)
        if time.time() - last_prune > 60:
            last_prune = time.time()
            try:
                gw.db.prune_nonces(int(time.time()) - gw.settings.clock_skew_s - 1)
            except Exception:  # noqa: BLE001 - housekeeping must not die
                log.exception("nonce pruning failed")
            try:
                jobs.sweep()
            except Exception:  # noqa: BLE001
                log.exception("deleting expired job results failed")


def _follow_catalog(gw: Gateway, block: int) -> None:
    """Bring the catalog index to ``block`` (requests still refresh it themselves when it lags theirs)."""
    try:
        gw.catalog_index.at(block)
        gw.catalog_index.rescan()  # files changed beside the gateway's own registrations (at most every 10 s)
    except (GatewayError, ChainError) as exc:
        log.warning("catalog index: %s", exc)
    except Exception:  # noqa: BLE001 - housekeeping must not die
        log.exception("catalog index refresh failed")


def _run_notary_in_lifespan(app: FastAPI, notary: Notary, settings: GatewaySettings) -> None:
    """With ``notary_mode="thread"`` (embedded use, tests): the notary (seal on size or time, then anchor)
    starts with the app and stops (after its step) with it. ``tds gateway serve`` runs it as a separate
    process (``anchoring.process``), out of the serving process's GIL."""
    if settings.notary_mode != "thread" or not settings.notary_enabled or notary.anchors is None \
            or notary.anchors.sender is None:
        return
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        worker = NotaryWorker(notary, settings.notary_batch_size, settings.notary_interval_s)
        a.state.notary_worker = worker
        worker.start()
        try:
            async with inner(a) as state:
                yield state
        finally:
            worker.stop()

    app.router.lifespan_context = lifespan
