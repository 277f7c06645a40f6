"""uvicorn's httptools protocol with a bound on the request head, enforced while the bytes arrive.

httptools buffers a header until it is complete, so a client could make a worker hold any amount
of memory (an 8 MiB header, or 20,000 small ones) before the app sees anything. This protocol
counts the request line and headers as they are parsed (size and number) and the raw bytes of a
head that has not completed yet; beyond ``max_header_bytes`` or ``max_headers`` it answers
``431 headers_too_large`` (JSON, ``Connection: close``) and drops the connection, so at most one
read (<= 256 KiB) beyond the bound is ever held.

``HeaderLimitedProtocol.for_limits(...)`` gives a subclass with its own bounds (an in-process
server, tests); worker processes spawned by uvicorn get the module-level class, configured by
``configure(...)`` in the worker (``gateway.server.app_from_env``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

DEFAULT_MAX_HEADER_BYTES = 16 * 1024
DEFAULT_MAX_HEADERS = 100
LINGER_S = 2.0
"""After a 431, how long the connection keeps reading (and discarding) before it closes."""


class _HeadTooLarge(Exception):
    """Raised inside a parser callback to stop parsing."""


class HeaderLimitedProtocol(HttpToolsProtocol):
    """HttpToolsProtocol refusing request heads over ``max_header_bytes`` / ``max_headers`` with 431."""

    max_header_bytes = DEFAULT_MAX_HEADER_BYTES
    max_headers = DEFAULT_MAX_HEADERS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between the end of one message and the end of the next one's headers
        self._head_bytes = 0  # request line + headers parsed so far
        self._head_count = 0
        self._raw_head = 0  # raw bytes received while the head is incomplete
        self._heads_done = 0
        self._refusal: str | None = None
        self._linger: asyncio.TimerHandle | None = None

    @classmethod
    def configure(cls, max_header_bytes: int, max_headers: int) -> None:
        """Set this class's bounds (a worker process configures the module-level class once)."""
        cls.max_header_bytes, cls.max_headers = int(max_header_bytes), int(max_headers)

    @classmethod
    def for_limits(cls, max_header_bytes: int, max_headers: int) -> type["HeaderLimitedProtocol"]:
        """A subclass with its own bounds (for servers in this process)."""
        return type("HeaderLimitedProtocol", (cls,), {"max_header_bytes": int(max_header_bytes),
                                                      "max_headers": int(max_headers)})

    # ---- parser callbacks ------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_head, self._head_bytes, self._head_count = True, 0, 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._add(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._add(len(name) + len(value) + 4, 1)  # "name: value\r\n"
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head, self._raw_head = False, 0
        self._heads_done += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head, self._raw_head = True, 0
        super().on_message_complete()

    # ---- transport -------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return
        started_in_head, heads_before = self._in_head, self._heads_done
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse()
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if started_in_head and self._in_head and heads_before == self._heads_done:
            self._raw_head += len(data)  # a head still incomplete: httptools holds these bytes
            if self._raw_head > self.max_header_bytes:
                self._refusal = f"request head exceeds {self.max_header_bytes} bytes"
                self._refuse()

    def _add(self, size: int, count: int) -> None:
        self._head_bytes += size
        self._head_count += count
        if self._head_count > self.max_headers:
            self._refusal = f"more than {self.max_headers} request headers"
        elif self._head_bytes > self.max_header_bytes:
            self._refusal = f"request head exceeds {self.max_header_bytes} bytes"
        if self._refusal is not None:
            raise _HeadTooLarge(self._refusal)

    def _refuse(self) -> None:
        """431 JSON, then a lingering close: stop sending, discard what still arrives, close soon.

        Closing at once would reset a connection whose client is still sending its head, and the
        reset can destroy the 431 before the client reads it. If a response is already under way on
        this connection (pipelining), the connection is just closed.
        """
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()
            return
        body = json.dumps({"error": {"code": "headers_too_large", "message":
                                     f"{self._refusal}: send fewer or smaller headers"}}).encode()
        self.transport.write(b"".join([
            STATUS_LINE[431], b"content-type: application/json\r\n",
            b"content-length: ", str(len(body)).encode(), b"\r\n", b"connection: close\r\n\r\n", body]))
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._linger = self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def eof_received(self) -> bool | None:
        if self._refusal is not None:
            self.transport.close()  # the client is done sending: nothing left to linger for
        return None
