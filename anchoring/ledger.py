"""The access ledger: one row per access decision, written by the gateway, read by the notary.

Every access decision (allow and deny) is an ``access_records`` row, committed before the response
is sent, with the purpose it was made for (the one the consumer declared, else its grant's). Its
receipt (:func:`receipt_of`) is derived from that row alone; its id is ``rcpt-<ledger id>-<access
record id>`` (:func:`receipt_id_of`, :func:`split_receipt_id`: the one formatter and parser), unique
across database lifetimes: every database has a ledger id (``ledger_epochs``, random, created with
the database), and a reconcile may start a new epoch (access records from its first id on carry the
new ledger id).

A streamed delivery's record starts with ``bytes = 0``, ``streaming = True`` and the requested size
in ``requested``; the stream brings ``bytes`` up to date at checkpoints and when it ends or is cut,
so the receipt's byte count is bytes delivered.

:func:`open_engine` opens the database these tables live in (the gateway's: SQLite in WAL mode,
created 0600, or PostgreSQL), for the gateway and the notary process alike.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel, col, create_engine, select

from anchoring.errors import ReceiptNotFound
from domain.ids import is_address, is_bytes32
from notary.receipts import DECISIONS, Receipt

HASH_LEN = 66
"""Length of a 0x-prefixed 32-byte hex value (column width)."""
ZERO32 = "0x" + "00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
NO_PURPOSE = "unspecified"
"""Purpose of a receipt whose access named none and has no known grant (e.g. an unsigned request)."""
RECEIPT_PREFIX = "rcpt-"
_RECEIPT_ID = re.compile(r"rcpt-([0-9a-f]{8})-([1-9][0-9]{0,18})\Z", re.ASCII)
RECEIPT_ID_PATTERN = "^" + _RECEIPT_ID.pattern.removesuffix(r"\Z") + "$"
"""The receipt id format as a JSON Schema pattern (the gateway's OpenAPI document)."""
_MAX_ACCESS_ID = 2**63 - 1


# ---- tables -------------------------------------------------------------------------------------------


class AccessRecord(SQLModel, table=True):
    """One access decision (allow or deny) with its reason code."""

    __tablename__ = "access_records"

    id: int | None = Field(default=None, primary_key=True)
    at: float = Field(default_factory=time.time, index=True)
    decision: str = Field(max_length=8)
    code: str = Field(max_length=40)
    method: str = Field(default="", max_length=8)
    path: str = Field(default="", max_length=512)
    consumer: str | None = Field(default=None, index=True, max_length=42)
    asset_id: str | None = Field(default=None, index=True, max_length=HASH_LEN)
    grant_id: str | None = Field(default=None, index=True, max_length=HASH_LEN)
    purpose: str | None = None
    bytes: int = Field(default=0, sa_type=BigInteger)  # bytes delivered (objects over 2 GiB)
    content_hash: str | None = Field(default=None, max_length=HASH_LEN)
    block: int | None = Field(default=None, sa_type=BigInteger)
    requested: int = Field(default=0, sa_type=BigInteger)  # bytes asked for (the range's length)
    streaming: bool = Field(default=False, index=True)  # True until the delivery ended or was cut
    checkpoint_at: float | None = None  # last time ``bytes`` was brought up to date while streaming


class LedgerEpoch(SQLModel, table=True):
    """A ledger id and the first access record id that carries it (one row per database, more after
    a reconcile that had to start a new epoch)."""

    __tablename__ = "ledger_epochs"

    ledger_id: str = Field(primary_key=True, max_length=16)
    first_access_id: int = Field(sa_type=BigInteger, unique=True)
    created_at: float = Field(default_factory=time.time)
    reconciled_at: float | None = None  # set by ``tds gateway reconcile`` (when it started)
    replay_floor: int = Field(default=0, sa_type=BigInteger)  # signed calls expiring at or before: refused


LEDGER_ID_HEX = 8
"""Length of a ledger id (hex digits, random)."""


def new_ledger_id() -> str:
    """A fresh random ledger id."""
    return secrets.token_hex(LEDGER_ID_HEX // 2)


class Ledger:
    """The ledger epochs of one database: which ledger id an access record id carries."""

    def __init__(self, epochs: list[tuple[int, str]]) -> None:
        self.epochs = epochs  # (first access id, ledger id), ascending

    @classmethod
    def load(cls, engine: Engine) -> "Ledger":
        """Read the epochs, creating the first (a random ledger id) in a new database (at the newest schema:
        :func:`anchoring.schema.upgrade_database`)."""
        with engine.begin() as conn:
            if not conn.execute(select(LedgerEpoch.ledger_id).limit(1)).first():
                insert_unless_exists(conn, LedgerEpoch, "first_access_id", ledger_id=new_ledger_id(),
                                     first_access_id=1, created_at=time.time())
            rows = conn.execute(select(LedgerEpoch.first_access_id, LedgerEpoch.ledger_id)
                                .order_by(col(LedgerEpoch.first_access_id))).all()
        return cls([(int(first), str(ledger)) for first, ledger in rows])

    @property
    def current(self) -> str:
        """The ledger id new access records carry."""
        return self.epochs[-1][1]

    def of(self, access_id: int) -> str:
        """The ledger id of an access record (the epoch it was written in)."""
        found = self.epochs[0][1]
        for first, ledger in self.epochs:
            if first > access_id:
                break
            found = ledger
        return found

    def ids(self) -> set[str]:
        """Every ledger id of this database."""
        return {ledger for _first, ledger in self.epochs}



# ---- receipts from access records ----------------------------------------------------------------------


def receipt_id_of(access_id: int, ledger: str) -> str:
    """The receipt id of an access record written under ``ledger`` (the one formatter)."""
    return f"{RECEIPT_PREFIX}{ledger}-{access_id}"


def split_receipt_id(receipt_id: str) -> tuple[str, int]:
    """(ledger id, access record id) of a receipt id; ReceiptNotFound unless ``rcpt-<ledger>-<n>``."""
    m = _RECEIPT_ID.match(receipt_id) if isinstance(receipt_id, str) else None
    if m is None or int(m.group(2)) > _MAX_ACCESS_ID:
        shown = receipt_id[:80] if isinstance(receipt_id, str) else type(receipt_id).__name__
        raise ReceiptNotFound(f"no receipt {shown!r}: receipt ids look like 'rcpt-<8 hex digits>-<n>'")
    return m.group(1), int(m.group(2))


def access_id_of(receipt_id: str, ledger: Ledger | None = None) -> int:
    """The access record id of a receipt id (of this database's ``ledger`` when given: ReceiptNotFound
    for a receipt id another database, or another epoch, handed out)."""
    ledger_id, access_id = split_receipt_id(receipt_id)
    if ledger is not None and ledger.of(access_id) != ledger_id:
        raise ReceiptNotFound(f"no receipt {receipt_id} in this gateway's ledger")
    return access_id


def receipt_of(record: AccessRecord, ledger: str = "00000000") -> Receipt:
    """The receipt of one access record; missing parts (unsigned or malformed requests) become zeros.

    The purpose is the one the gateway wrote down (the declared one, else the grant's); an access that
    has neither (an unsigned request) gets :data:`NO_PURPOSE`.
    """
    assert record.id is not None
    grant = _hex32_or_zero(record.grant_id)
    purpose = record.purpose or NO_PURPOSE
    consumer = record.consumer if is_address(record.consumer) else ZERO_ADDRESS
    return Receipt(
        receipt_id=receipt_id_of(record.id, ledger),
        grant_id=grant,
        asset_id=_hex32_or_zero(record.asset_id),
        consumer=consumer,
        purpose=purpose,
        decision=record.decision if record.decision in DECISIONS else "deny",
        byte_count=max(0, int(record.bytes or 0)),
        timestamp=int(record.at),
        content_hash=_hex32_or_zero(record.content_hash),
    )


def _hex32_or_zero(value: str | None) -> str:
    return value.lower() if is_bytes32(value) else ZERO32


# ---- the database ------------------------------------------------------------------------------------


def open_engine(url: str) -> Engine:
    """An engine for the database at ``url``: SQLite (file created 0600, WAL, busy timeout) or PostgreSQL."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            _private_file(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=64)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=32, max_overflow=32, pool_pre_ping=True)


def insert_unless_exists(conn: Connection, model: Any, key: str, **values: Any) -> None:
    """INSERT ... ON CONFLICT (key) DO NOTHING: race-free creation on SQLite and PostgreSQL."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    conn.execute(dialect_insert(model).values(**values).on_conflict_do_nothing(index_elements=[key]))


def _private_file(path: Path) -> None:
    """Create the SQLite file (and its directory) readable by its owner only; tighten an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists() and p.stat().st_mode & 0o077:
            p.chmod(0o600)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


LEDGER_TABLES = (AccessRecord, LedgerEpoch)
