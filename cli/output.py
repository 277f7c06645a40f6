"""Printing: tables and key/value blocks for people, ``--json`` for scripts, errors on stderr.

Values meant for people go through :func:`human`: ``None`` prints as "—", booleans as yes/no, lists
joined with ", " ("none" when empty), mappings as ``key value`` pairs; dates go through :func:`when`
(ISO 8601 UTC, ``2026-12-02 16:20:05 UTC``) and participants through :func:`did`. Tables never
break an id: columns whose cells are single tokens (hashes, DIDs, addresses) are not wrapped, prose
wraps between words only, and the table is printed as wide as it needs to be (a narrow terminal
wraps the line, the id stays whole for copy and paste); piped, every row is one line.

In Chinese (``--lang zh``) the words, column headers and keys are translated (:mod:`cli.lang`) and
dates read ``2026年12月2日 16:20:05 UTC``; ids, hashes, DIDs and paths never change, nor does ``--json``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from cli.lang import current, tr
from domain.types import did_pkh

# Piped output is not wrapped at 80 columns: ids and hashes stay on one line for scripts and logs.
out = Console(width=None if sys.stdout.isatty() else 200, soft_wrap=not sys.stdout.isatty())
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200, soft_wrap=True)

NONE = "—"
_MAX_UNIX = 2**63  # larger "open ended" bounds (e.g. 2**64-1) are no date


def emit_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def when(ts: int | None, zero: str | None = None) -> str:
    """A unix time as ``2026-12-02 16:20:05 UTC``; ``zero`` (already in the current language; default
    "open") for 0/None (an open bound)."""
    zero = tr("open") if zero is None else zero
    if not ts:
        return zero
    if ts >= _MAX_UNIX or ts >= 253402300800:  # past 9999-12-31: an unbounded end
        return zero
    if current() != "en":
        import i18n

        return i18n.format_datetime(ts, current(), open_text=zero)
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def window(not_before: int | None, not_after: int | None) -> str:
    """A validity window for people: ``from 2026-12-02 16:20:05 UTC until open``."""
    return tr("from {start} until {end}", start=when(not_before), end=when(not_after))


def did(chain_id: int | None, address: str | None) -> str:
    """A participant as ``did:pkh:eip155:<chainId>:<address>`` (the address alone when the chain is unknown)."""
    if not address:
        return NONE
    return did_pkh(chain_id, address) if chain_id is not None else address


def titled(asset_id: str, title: str | None) -> str:
    """An asset for people: ``0xd7b1… (Weather)``; the hash alone when no title is known."""
    return f"{asset_id} ({title})" if title and title != asset_id else asset_id


def write_text(path: Path, text: str) -> int:
    """Write ``text`` as UTF-8; returns the number of bytes written (not characters)."""
    data = text.encode("utf-8")
    path.write_bytes(data)
    return len(data)


def human(value: Any) -> str:
    """One value as a person reads it (no Python reprs)."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return tr("yes") if value else tr("no")
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(human(v) for v in value) if value else tr("none")
    if isinstance(value, Mapping):
        return "; ".join(f"{k} {human(v)}" for k, v in value.items()) if value else tr("none")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def label(key: str) -> str:
    """A key or column name for people: underscores read as spaces, in the current language."""
    return tr(key.replace("_", " "))


def kv(title: str, rows: Mapping[str, Any], names: bool = False) -> None:
    """A titled key/value block (keys with underscores read as words, translated; ``names``: the keys are
    names such as account names, printed as they are)."""
    out.print(f"[bold]{title}[/bold]", highlight=False)
    labels = {key: key if names else label(key) for key in rows}
    width = max((cell_len(v) for v in labels.values()), default=0)  # display width: 中文 takes two columns
    for key, value in rows.items():
        text = labels[key]
        out.print(f"  {text}{' ' * (width - cell_len(text))}  {human(value)}", highlight=False, soft_wrap=True,
                  markup=False)


def _words(cell: str) -> list[str]:
    """What a prose cell may not break: words; in Chinese, also each CJK character with its punctuation."""
    if current() == "en":
        return cell.split()
    from cli.help import tokens

    return [t for t in tokens(cell) if not t.isspace()]


def _is_token(cell: str) -> bool:
    return bool(cell) and not any(ch.isspace() for ch in cell)


def table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    """A table; id columns (one token per cell) never wrap."""
    cells = [[human(v) for v in r] for r in rows]
    columns = [label(c) for c in columns]
    t = Table(title=title, show_lines=False)
    fixed = 0  # width the unbreakable columns take; every other column gets at least 24
    for i, c in enumerate(columns):
        longest = max([cell_len(c), *(cell_len(r[i]) for r in cells)])
        if cells and all(_is_token(r[i]) for r in cells):
            t.add_column(c, no_wrap=True, min_width=longest)
            fixed += longest + 3
        else:  # prose wraps between words, never inside one (a DID in a sentence stays whole)
            word = max((cell_len(w) for r in cells for w in _words(r[i])), default=1)
            t.add_column(c, overflow="fold", min_width=word)
            fixed += max(min(longest, 24), word) + 3
    for r in cells:
        t.add_row(*r)
    natural = Measurement.get(out, out.options.update(width=10**4), t).maximum
    # on a terminal: as wide as the ids need; piped: one line per row (grep-able), whatever the width
    width = max(out.width, min(natural, fixed + 1)) if out.is_terminal else max(out.width, natural)
    saved = out._width  # rich caps print(width=) at the console's width: widen the console for this table
    out.width = width
    try:
        out.print(t, crop=False, highlight=False, markup=False)
    finally:
        out._width = saved


@contextmanager
def byte_progress(description: str, total: int, enabled: bool = True) -> Iterator[Any]:
    """A progress bar over bytes; yields a callback(bytes_done). Hidden for small files or when disabled."""
    if not enabled or total < 64 * 1024 * 1024 or not err.is_terminal:
        yield None
        return
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=err, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda done: progress.update(task, completed=done)
