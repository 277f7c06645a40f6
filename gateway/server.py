"""Serving the gateway with uvicorn: one process, or several worker processes sharing DB and store.

Each worker builds its own :class:`gateway.service.Gateway` (chain view, caches, head reads are per
process and stay correct: caches are keyed by block number, every request reads a fresh head).
What must be shared is shared through the database (single-use nonces, usage counters, access
records) or derived from the master key (session tokens verify in every worker).

    serve(settings, workers=4)        # what ``tds gateway serve --workers 4`` should call
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from gateway.settings import GatewaySettings

SETTINGS_ENV = "TDS_GATEWAY_SERVE_SETTINGS"  # settings handed to worker processes (JSON, no secrets)


def serve(settings: GatewaySettings, workers: int = 1, log_level: str = "warning", app: Any = None) -> None:
    """Serve until interrupted; ``app`` (single process only) defaults to ``create_app(settings)``."""
    import uvicorn

    options = uvicorn_options(settings, log_level)
    if workers <= 1:
        if app is None:
            from gateway.app import create_app

            app = create_app(settings)
        uvicorn.run(app, **options)
        return
    if app is not None:
        raise ValueError("several workers build their own app: pass settings, not an app")
    os.environ[SETTINGS_ENV] = settings_to_env(settings)
    uvicorn.run("gateway.server:app_from_env", factory=True, workers=workers, **options)


def uvicorn_options(settings: GatewaySettings, log_level: str = "warning") -> dict[str, Any]:
    """Loopback host/port, the fastest installed HTTP parser and event loop, access log only when verbose."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": log_level,
        "access_log": log_level in ("info", "debug", "trace"),
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
    }


def settings_to_env(settings: GatewaySettings) -> str:
    """The settings as one JSON string (for worker processes)."""
    return json.dumps({"home": str(settings.home), **settings.to_json()})


def settings_from_env(raw: str | None = None) -> GatewaySettings:
    """Settings handed down by :func:`serve`, else ``GatewaySettings.load()`` (env and config.json)."""
    raw = os.environ.get(SETTINGS_ENV) if raw is None else raw
    if not raw:
        return GatewaySettings.load()
    data = json.loads(raw)
    return GatewaySettings(home=Path(data.pop("home")), **data)


def app_from_env() -> Any:
    """uvicorn factory for worker processes: ``gateway.server:app_from_env``."""
    from gateway.app import create_app

    return create_app(settings_from_env())
