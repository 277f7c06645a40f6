"""Raw-ASGI middlewares around every route: the body limit (413), the per-client rate limit (429)
and the last resort (whatever escapes answers the JSON error, never a text 500)."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chain.errors import ChainStale, ChainUnavailable
from gateway.api.errors import translate_error
from gateway.errors import ApiError, BodyTooLarge, RateLimited, send_error
from gateway.ratelimit import RateLimits, RefusalCounter

log = logging.getLogger("tds.gateway")


class BodyLimit:
    """Refuse request bodies above ``limit`` bytes (Content-Length or streamed) with 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                await send_error(send, BodyTooLarge(f"body exceeds {self.limit} bytes"))
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(f"body exceeds {self.limit} bytes")
            return message

        await self.app(scope, limited, send)


class ClientLimit:
    """Per client IP rate limit (``rate_limit_per_client``), before anything else: 429 + Retry-After."""

    def __init__(self, app: ASGIApp, limits: RateLimits, refusals: RefusalCounter) -> None:
        self.app = app
        self.limit = limits.client
        self.refusals = refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.limit.enabled:
            client = (scope.get("client") or ("unknown", 0))[0]
            try:
                self.limit.hit(client, f"client {client}")
            except RateLimited as exc:
                self.refusals.count("rate_limited", 429, "rate_limited", scope.get("method", ""),
                                    scope.get("path", ""), client)
                await send_error(send, exc)
                return
        await self.app(scope, receive, send)


class LastResort:
    """Outermost: an exception no handler took answers the JSON error (500 ``internal_error``, or 503
    ``database_unavailable`` for a database failure) instead of escaping to the server, which would
    log it and then drop the keep-alive connection (or answer a text 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # noqa: BLE001 - the one place that must catch everything
            if started:
                raise  # the status line is out: nothing left but to cut the connection
            translated = translate_error(exc)
            if translated is exc and not isinstance(exc, (ApiError, ChainUnavailable, ChainStale)):
                log.error("unexpected error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
            await send_error(send, translated)
