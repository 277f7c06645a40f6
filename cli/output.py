"""Printing: tables and key/value blocks for people, ``--json`` for scripts, errors on stderr."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any, Iterator

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

# Piped output is not wrapped at 80 columns: ids and hashes stay on one line for scripts and logs.
out = Console(width=None if sys.stdout.isatty() else 200, soft_wrap=not sys.stdout.isatty())
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200, soft_wrap=True)


def emit_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def kv(title: str, rows: dict[str, Any]) -> None:
    """A titled key/value block."""
    out.print(f"[bold]{title}[/bold]")
    width = max((len(k) for k in rows), default=0)
    for key, value in rows.items():
        out.print(f"  {key.ljust(width)}  {value}", highlight=False, soft_wrap=True)


def table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    """A table."""
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[str(v) for v in r])
    out.print(t)


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
