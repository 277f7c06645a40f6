"""Data access: choose the grant, run the checks, use one count atomically, open the verified stream.

Order matters: every check (and opening the stored object, which authenticates its header and
first chunk) happens before the count is used, so a refusal changes nothing but the access log.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.responses import StreamingResponse

from domain.ids import parse_bytes32
from domain.types import GrantRequest, Liveness
from gateway.anchoring import receipt_id_of
from gateway.auth import Caller
from gateway.db import GrantState
from gateway.errors import (
    CountExhausted,
    GrantMissing,
    RangeInvalid,
    RangeNotSatisfiable,
    StoredFileTampered,
    error_status,
)
from gateway.policy import FETCH_POLICY, AccessContext
from gateway.service import Gateway
from vault.store import ObjectReader

log = logging.getLogger("tds.gateway.access")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.ASCII)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``Range: bytes=a-b`` (one range) as [start, end); None for the whole object."""
    if header is None:
        return None
    m = _RANGE.fullmatch(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        raise RangeInvalid(f"unsupported Range {_shown(header)}: use one 'bytes=a-b', 'bytes=a-' or 'bytes=-n' range")
    first, last = _position(m.group(1), size), _position(m.group(2), size)
    if first is None:  # a suffix: the last `last` bytes
        start, end = max(0, size - (last or 0)), size
    else:
        start = first
        end = min(size, last + 1) if last is not None else size
    if start >= end or start >= size:
        raise RangeNotSatisfiable(f"range {_shown(header)} is outside the {size}-byte object", size=size)
    return start, end


def _shown(header: str) -> str:
    return repr(header) if len(header) <= 80 else repr(header[:77] + "...")


def _position(digits: str, size: int) -> int | None:
    """A Range position; one beyond the object stands for "the object's end" (RFC 9110 clamps it),
    so a position with thousands of digits is never converted to an int."""
    if not digits:
        return None
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= len(str(size)) else size + 1


@dataclass
class Delivery:
    """An authorized access: what to send and how to account for it."""

    asset_id: str
    grant_id: str
    sha256: str  # "0x" + 64 hex digits: the object's SHA-256 (= the asset id), whatever the range
    size: int
    start: int
    end: int
    partial: bool
    first: bytes
    reader: ObjectReader
    receipt_id: str | None = None  # the notary receipt of this access (GET /receipts/{id}/proof)
    access_id: int | None = None  # its access record while streaming (bytes delivered are written back)

    @property
    def body(self) -> bytes | None:
        """The whole (already verified) body when it was small enough to read up front, else None."""
        return self.first if self.end - self.start <= SMALL_BODY else None

    def chunks(self, gw: Gateway) -> Iterator[bytes]:
        """The plaintext chunks; a chunk failing authentication aborts the stream and logs an incident.

        A chunk counts as delivered once the server asks for the next one (it was handed to the
        connection); the access record gets the count every ``CHECKPOINT_BYTES`` and when the stream
        ends, fails or is cut (client gone: the generator is closed), so the receipt says what went out.
        """
        delivered = checkpointed = 0
        try:
            yield self.first
            delivered += len(self.first)
            for chunk in self.reader:
                if self.access_id is not None and delivered - checkpointed >= CHECKPOINT_BYTES:
                    gw.db.checkpoint_delivery(self.access_id, delivered)
                    checkpointed = delivered
                yield chunk
                delivered += len(chunk)
        except StoredFileTampered as exc:
            log.error("incident: %s", exc)
            gw.db.record_incident("stored_file_tampered", self.asset_id,
                                  f"mid-stream after {delivered} of {self.end - self.start} bytes: {exc}")
            raise
        finally:
            self.reader.close()
            if self.access_id is not None:
                self._finish(gw, delivered)

    def _finish(self, gw: Gateway, delivered: int) -> None:
        try:
            gw.db.finish_delivery(self.access_id, delivered)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - the record stays "streaming": sealed after the grace period
            log.exception("could not record the bytes delivered for access %s", self.access_id)
        if delivered < self.end - self.start:
            log.warning("delivery %s cut after %s of %s bytes", self.receipt_id, delivered, self.end - self.start)


def authorize_fetch(
    gw: Gateway,
    caller: Caller,
    asset_id: str,
    grant_id: str | None,
    purpose: str | None,
    range_header: str | None,
    record: dict[str, Any] | None = None,
) -> Delivery:
    """Decide one data access; raises an ApiError (the route records the refusal).

    With ``record`` (access record fields), the allow record is committed in the same transaction
    that uses the count, before this returns, so no byte is sent without a stored record.
    """
    request, grant_id = _choose_grant(gw, caller, asset_id, grant_id)
    ctx = AccessContext(gw.view, caller.block, caller.participant, asset_id, gw.provider_address,
                        grant_id, request, purpose)
    FETCH_POLICY(ctx)
    assert request is not None and grant_id is not None
    reader, first, start, end, size = _open(gw, asset_id, range_header)
    streamed = end - start > SMALL_BODY  # a small body goes out in one piece: delivered when handed over
    access = None if record is None else {
        **record, "decision": "allow", "code": "ok", "grant_id": grant_id, "content_hash": asset_id,
        "bytes": 0 if streamed else end - start, "requested": end - start, "streaming": streamed,
        "checkpoint_at": time.time() if streamed else None}
    access_id = gw.db.consume(grant_id, request.max_count, access)
    if access_id is None:
        reader.close()
        raise CountExhausted(f"grant {grant_id} has used all {request.max_count} accesses")
    partial = (start, end) != (0, size)
    receipt = receipt_id_of(access_id, gw.db.ledger.of(access_id)) if access_id else None
    return Delivery(asset_id, grant_id, asset_id, size, start, end, partial, first, reader, receipt,
                    access_id if streamed and access_id else None)


class ClosingStream(StreamingResponse):
    """A StreamingResponse that closes its generator as soon as the response ends, however it ends.

    When the client goes away Starlette stops iterating but leaves the (sync) generator to the
    garbage collector, so a cut delivery's byte count would be written late or never.
    """

    def __init__(self, content: Iterator[bytes], **kwargs: Any) -> None:
        self._source = content
        super().__init__(content, **kwargs)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                try:
                    await anyio.to_thread.run_sync(close)
                except ValueError:  # pragma: no cover - still running in a worker thread: it ends by itself
                    pass


SMALL_BODY = 1 << 20
"""Ranges up to this size are read (and fully verified, hash included) before the count is used."""
CHECKPOINT_BYTES = 16 << 20
"""A streaming delivery writes its byte count to its access record at least this often."""


def _open(gw: Gateway, asset_id: str, range_header: str | None) -> tuple[ObjectReader, bytes, int, int, int]:
    expected = bytes.fromhex(asset_id[2:])  # the asset id is the registered SHA-256
    try:
        if range_header is None:  # the common case: one open gives the size too
            reader = gw.store.open_range(asset_id, expected_sha256=expected)
            start, end, size = 0, reader.stored.size, reader.stored.size
        else:
            size = gw.store.stat(asset_id).size
            start, end = parse_range(range_header, size) or (0, size)
            reader = gw.store.open_range(asset_id, start, end, expected_sha256=expected)
        try:
            first = next(reader, b"")
            if end - start <= SMALL_BODY:  # the whole body now: every check passes before a count is used
                first = b"".join([first, *reader])
        except BaseException:
            reader.close()
            raise
    except StoredFileTampered as exc:
        log.error("incident: %s", exc)
        gw.db.record_incident("stored_file_tampered", asset_id, str(exc))
        raise
    return reader, first, start, end, size


def _choose_grant(
    gw: Gateway, caller: Caller, asset_id: str, grant_id: str | None
) -> tuple[GrantRequest | None, str | None]:
    if grant_id is not None:
        grant_id = parse_bytes32(grant_id, "grant id")
        row = gw.db.grant_request(grant_id)
        request = row.request() if row is not None and row.state in _ISSUED else gw.view.request_of(grant_id)
        if request is None or gw.grant_id(request) != grant_id:
            raise GrantMissing(f"no issued grant {grant_id}")
        return request, grant_id
    ids = gw.db.issued_grants(caller.address, asset_id, [s for s in _ISSUED])  # (request, stored grant id)
    if not ids:
        ids = [(r, gw.grant_id(r)) for r in gw.view.issued_for(asset_id, caller.address)]
    if not ids:
        return None, None
    ids.reverse()  # newest first
    for request, gid in ids:
        if gw.view.liveness(gid, caller.block) == Liveness.LIVE and gw.db.used(gid) < request.max_count:
            return request, gid
    return ids[0]


_ISSUED = (GrantState.ISSUED.value, GrantState.REVOKED.value)


def refusal_code(exc: BaseException) -> str:
    """The machine code recorded for a refusal."""
    return error_status(exc)[1]
