"""The notary's journal: each sealed batch's receipts in a file outside the database, written before anchoring.

``<journal_dir>/<root>.jsonl``: a header line (format, root, leaf count, chain, contract, ledger id,
batch id, when sealed), then one receipt per line in leaf order; mode 0600, written atomically and
fsync'd. It is what ``tds gateway reconcile`` rebuilds the used counts from if the database is lost.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from notary.errors import NotaryError
from notary.receipts import Receipt

JOURNAL_FORMAT = "tds-journal-v1"


def journal_dir(gateway_dir: Path) -> Path:
    """Where a gateway's notary journals its sealed batches."""
    return gateway_dir / "journal"


def journal_path(directory: Path, root: str) -> Path:
    """The journal file of one batch."""
    return directory / f"{root.lower()}.jsonl"


def write_journal(directory: Path, root: str, receipts: Sequence[Receipt], **header: Any) -> Path:
    """Write one batch's journal file atomically (temp file, fsync, rename, fsync of the directory), mode 0600."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = journal_path(directory, root)
    head = {"format": JOURNAL_FORMAT, "root": root.lower(), "leaf_count": len(receipts), **header,
            "sealed_at": int(time.time())}
    text = json.dumps(head, sort_keys=True) + "\n" + "".join(r.to_json() + "\n" for r in receipts)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def read_journal(path: Path) -> tuple[dict[str, Any], list[Receipt]]:
    """(header, receipts in leaf order) of a journal file; NotaryError if it is not one."""
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        head = json.loads(lines[0]) if lines else None
    except (OSError, ValueError) as exc:
        raise NotaryError(f"{path}: not a readable journal file ({exc})") from exc
    if not isinstance(head, dict) or head.get("format") != JOURNAL_FORMAT or not isinstance(head.get("root"), str):
        raise NotaryError(f"{path}: not a {JOURNAL_FORMAT} file (bad header line)")
    return head, [Receipt.from_json(line) for line in lines[1:]]
