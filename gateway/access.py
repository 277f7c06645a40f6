"""Data access: choose the grant, run the checks, use one count atomically, open the verified stream.

Order matters: every check (and opening the stored object, which authenticates its header and
first chunk) happens before the count is used, so a refusal changes nothing but the access log.

This module is the one writer of a data access's records (``anchoring.ledger.AccessRecord``): the
allow record, committed with the count (:func:`authorize_fetch`), and the deny record of an
identified participant's refusal (:func:`record_refusal`). Both carry the effective purpose: the
declared one, else the purpose of the grant (the one chosen for an allow, the one the request named
for a deny), so the notary reads it from the record.
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

from domain.errors import InvalidId
from domain.ids import parse_bytes32
from domain.terms import count_left
from domain.types import GrantRequest, Liveness
from anchoring.ledger import receipt_id_of
from gateway.auth import Caller
from gateway.db import GrantState, ServiceCall
from gateway.errors import (
    CallRateLimited,
    CountExhausted,
    RateLimited,
    GrantMissing,
    RangeInvalid,
    RangeNotSatisfiable,
    REPORTED_ERRORS,
    StoredFileTampered,
    error_status,
)
from gateway.monitor import PolicyMonitor
from gateway.policy import FETCH_POLICY, AccessContext
from gateway.ratelimit import Limit
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
    monitor: PolicyMonitor | None = None  # re-judges the grant while streaming (stops the stream within a block)

    @property
    def body(self) -> bytes | None:
        """The whole (already verified) body when it was small enough to read up front, else None."""
        return self.first if self.end - self.start <= SMALL_BODY else None

    def chunks(self, gw: Gateway) -> Iterator[bytes]:
        """The plaintext chunks; a chunk failing authentication aborts the stream and logs an incident.

        A chunk counts as delivered once the server asks for the next one (it was handed to the
        connection); the access record gets the count at each ``Checkpoint`` and when the stream
        ends, fails or is cut (client gone: the generator is closed), so the receipt says what went out.

        With a ``monitor``, every chunk after the first goes out only while the grant still holds: when
        it no longer does (revoked, consumer suspended, window ended, chain unreadable too long) the
        stream ends there, short of its Content-Length, with a ``stream_stopped`` incident naming why.
        The access record keeps its "ok" (the access was allowed) and gets the bytes delivered.
        """
        delivered = 0
        checkpoint = Checkpoint()
        try:
            yield self.first
            delivered += len(self.first)
            for chunk in self.reader:
                if self.monitor is not None and (reason := self.monitor.check()) is not None:
                    self._stopped(gw, reason, delivered)
                    return
                if self.access_id is not None and checkpoint.due(delivered):
                    gw.db.checkpoint_delivery(self.access_id, delivered)
                    checkpoint.mark(delivered)
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

    def _stopped(self, gw: Gateway, reason: str, delivered: int) -> None:
        """Say why a running stream was stopped by its monitor: a warning and an incident for the provider."""
        detail = f"{reason}: delivery {self.receipt_id} stopped after {delivered} of {self.end - self.start} bytes"
        log.warning("stream stopped: %s", detail)
        try:
            gw.db.record_incident("stream_stopped", self.asset_id, detail)
        except Exception:  # noqa: BLE001 - the stream stops all the same; the access record gets its bytes
            log.exception("could not record the stopped stream of access %s", self.access_id)

    def _finish(self, gw: Gateway, delivered: int) -> None:
        try:
            gw.db.finish_delivery(self.access_id, delivered)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - the record stays "streaming": sealed after the grace period
            log.exception("could not record the bytes delivered for access %s", self.access_id)
        if delivered < self.end - self.start:
            log.warning("delivery %s cut after %s of %s bytes", self.receipt_id, delivered, self.end - self.start)


@dataclass
class FetchAttempt:
    """One data request as its access record tells it: filled in along the access path.

    ``grant`` is the ``?grant=`` value as sent; ``purpose`` the declared purpose (None: the grant's);
    ``consumer`` and ``block`` are known once the caller is identified, ``grant_purpose`` once the
    access path has looked up the grant it names.
    """

    method: str
    path: str
    asset_id: str
    grant: str | None = None
    purpose: str | None = None
    consumer: str | None = None
    block: int | None = None
    grant_purpose: str | None = None

    def record(self, purpose: str | None) -> dict[str, Any]:
        """The access record fields this attempt fills, with the effective ``purpose`` ("" for none)."""
        return {"method": self.method, "path": self.path[:512], "purpose": purpose or "", "asset_id": self.asset_id,
                "consumer": self.consumer, "block": self.block}

    @property
    def declared(self) -> str:
        """The declared purpose as recorded ("" for none)."""
        return (self.purpose or "")[:200]


def authorize_fetch(gw: Gateway, attempt: FetchAttempt, caller: Caller, range_header: str | None) -> Delivery:
    """Decide one data access by ``caller`` and write its access record (this module is its one writer).

    The allow record is committed in the same transaction that uses the count, before this returns,
    so no byte is sent without a stored record; a refusal writes the deny record and raises.
    """
    attempt.consumer, attempt.block = caller.address.lower(), caller.block
    try:
        return _authorize(gw, attempt, caller, range_header)
    except REPORTED_ERRORS as exc:
        record_refusal(gw, attempt, exc)
        raise


def record_refusal(gw: Gateway, attempt: FetchAttempt, exc: BaseException) -> None:
    """Write the deny record of an identified participant's refused attempt (``attempt.consumer`` set).

    Its grant is the one the request named (none when it named none or a malformed one); its purpose
    the declared one, else that grant's (see :func:`grant_purpose`).
    """
    grant_id = _maybe_id(attempt.grant)
    purpose = attempt.declared or (grant_purpose(gw, attempt, grant_id) if grant_id else None)
    gw.db.record_access(decision="deny", code=refusal_code(exc), grant_id=grant_id, **attempt.record(purpose))


def grant_purpose(gw: Gateway, attempt: FetchAttempt, grant_id: str) -> str | None:
    """The purpose of the grant an attempt named: the one its access path already read, else that of its
    grant request row, else of the chain's request (best effort: a failing read gives None)."""
    if attempt.grant_purpose is not None:
        return attempt.grant_purpose
    try:
        return _named_grant(gw, grant_id)[1]
    except Exception:  # noqa: BLE001 - the refusal is recorded all the same, without the grant's purpose
        log.warning("no purpose for grant %s in the refusal record of %s", grant_id, attempt.path[:512])
        return None


def _authorize(gw: Gateway, attempt: FetchAttempt, caller: Caller, range_header: str | None) -> Delivery:
    asset_id = attempt.asset_id
    request, grant_id = choose_grant(gw, attempt, caller)
    ctx = AccessContext(gw.view, caller.block, caller.participant, asset_id, gw.provider_address,
                        grant_id, request, attempt.purpose, settlement=gw.settlement)
    FETCH_POLICY(ctx)
    assert request is not None and grant_id is not None
    reader, first, start, end, size = _open(gw, asset_id, range_header)
    streamed = end - start > SMALL_BODY  # a small body goes out in one piece: delivered when handed over
    access = {
        **attempt.record(attempt.declared or request.purpose), "decision": "allow", "code": "ok",
        "grant_id": grant_id, "content_hash": asset_id, "bytes": 0 if streamed else end - start,
        "requested": end - start, "streaming": streamed, "checkpoint_at": time.time() if streamed else None}
    access_id = gw.db.consume(grant_id, request.max_count, access)
    if access_id is None:
        reader.close()
        raise CountExhausted(f"grant {grant_id} has used all {request.max_count} accesses")
    partial = (start, end) != (0, size)
    receipt = receipt_id_of(access_id, gw.db.ledger.of(access_id)) if access_id else None
    if not (streamed and access_id):
        return Delivery(asset_id, grant_id, asset_id, size, start, end, partial, first, reader, receipt)
    monitor = PolicyMonitor(gw, grant_id, request, caller.address, asset_id, caller.block)
    return Delivery(asset_id, grant_id, asset_id, size, start, end, partial, first, reader, receipt, access_id,
                    monitor)


def _maybe_id(value: str | None) -> str | None:
    try:
        return parse_bytes32(value) if value else None
    except InvalidId:
        return None


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
CHECKPOINT_S = 30.0


class Checkpoint:
    """When a delivery in flight (a file stream, a service answer) writes its byte count to its access record:
    every ``CHECKPOINT_BYTES`` delivered or ``CHECKPOINT_S`` seconds, whichever comes first. The time bound
    keeps a slow stream from looking abandoned to the notary (``delivery_grace_s``, 120 s by default)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.at = time.monotonic()

    def due(self, delivered: int) -> bool:
        """Whether ``delivered`` bytes should be written now."""
        return delivered - self.bytes >= CHECKPOINT_BYTES or time.monotonic() - self.at >= CHECKPOINT_S

    def mark(self, delivered: int) -> None:
        """``delivered`` bytes were just written."""
        self.bytes, self.at = delivered, time.monotonic()


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


def choose_grant(gw: Gateway, attempt: FetchAttempt, caller: Caller) -> tuple[GrantRequest | None, str | None]:
    if attempt.grant is not None:
        grant_id = parse_bytes32(attempt.grant, "grant id")
        request, attempt.grant_purpose = _named_grant(gw, grant_id)
        if request is None or gw.grant_id(request) != grant_id:
            raise GrantMissing(f"no issued grant {grant_id}")
        return request, grant_id
    ids = gw.db.issued_grants(caller.address, attempt.asset_id, [s for s in _ISSUED])  # (request, stored grant id)
    if not ids:
        ids = [(r, gw.grant_id(r)) for r in gw.view.issued_for(attempt.asset_id, caller.address)]
    if not ids:
        return None, None
    ids.reverse()  # newest first
    for request, gid in ids:
        if gw.view.liveness(gid, caller.block) == Liveness.LIVE and count_left(gw.db.used(gid), request.max_count):
            return request, gid
    return ids[0]


def _named_grant(gw: Gateway, grant_id: str) -> tuple[GrantRequest | None, str | None]:
    """The issued request of a named grant (its row when issued or revoked, else the chain's) and the
    grant's purpose (its row's whatever its state, else the chain request's)."""
    row = gw.db.grant_request(grant_id)
    request = row.request() if row is not None and row.state in _ISSUED else gw.view.request_of(grant_id)
    purpose = row.purpose if row is not None else request.purpose if request is not None else None
    return request, purpose


_ISSUED = (GrantState.ISSUED.value, GrantState.REVOKED.value)


def refusal_code(exc: BaseException) -> str:
    """The machine code recorded for a refusal."""
    return error_status(exc)[1]


# ---- service calls ---------------------------------------------------------------------------------------


@dataclass
class CallTicket:
    """An authorized service call: one use taken, its record open (``streaming``) until :func:`finish_call`."""

    asset_id: str
    grant_id: str
    request: GrantRequest
    purpose: str
    access_id: int
    receipt_id: str


def authorize_call(gw: Gateway, attempt: FetchAttempt, caller: Caller, rate: Limit | None = None) -> CallTicket:
    """Decide one service call exactly like a fetch (member, grant live at this block and by the clock,
    escrow, purpose, jurisdiction), then the service's per-grant rate, then take one use atomically with
    its access record. Nothing reaches the backend before this returns; a refusal writes a deny record.

    The record stays open (``streaming``: the notary does not seal it) until :func:`finish_call` writes
    the call's evidence; a gateway that dies in between leaves it to be sealed after the delivery grace.
    """
    attempt.consumer, attempt.block = caller.address.lower(), caller.block
    try:
        request, grant_id = choose_grant(gw, attempt, caller)
        ctx = AccessContext(gw.view, caller.block, caller.participant, attempt.asset_id, gw.provider_address,
                            grant_id, request, attempt.purpose, settlement=gw.settlement)
        FETCH_POLICY(ctx)
        assert request is not None and grant_id is not None
        if rate is not None and rate.enabled:
            try:
                rate.hit(grant_id, f"grant {grant_id}")
            except RateLimited as exc:
                raise CallRateLimited(str(exc).replace("too many requests", "too many calls", 1),
                                      **exc.detail) from None
        purpose = attempt.declared or request.purpose
        access = {**attempt.record(purpose), "decision": "allow", "code": "ok", "grant_id": grant_id,
                  "streaming": True, "checkpoint_at": time.time()}
        access_id = gw.db.consume(grant_id, request.max_count, access)
        if access_id is None:
            raise CountExhausted(f"grant {grant_id} has used all {request.max_count} calls")
    except REPORTED_ERRORS as exc:
        record_refusal(gw, attempt, exc)
        raise
    return CallTicket(attempt.asset_id, grant_id, request, purpose, access_id,
                      receipt_id_of(access_id, gw.db.ledger.of(access_id)))


def finish_call(gw: Gateway, ticket: CallTicket, call: ServiceCall, failure: str | None = None) -> str:
    """Close a call's record with its evidence (see :meth:`gateway.db.Database.finish_call`): a backend
    failure (``failure`` = its code) is a deny and gives the use back. Returns the receipt's content hash."""
    call.access_id = ticket.access_id
    return gw.db.finish_call(ticket.access_id, ticket.grant_id, call, failure)
