"""``tds console serve``: the web console for operators and auditors over the audit index, in 中文 and English.

Wiring and printing only: the pages are :mod:`console.audit_pages`, the serving and following :mod:`console.audit_serve`.
"""

from __future__ import annotations

from pathlib import Path

import click

from audit.errors import AuditError
from audit.receipts import load_receipts
from cli.context import CliContext
from cli.errors import EXIT_ENVIRONMENT, EXIT_USAGE, CliFailure
from cli.help import Group
from cli.output import err

pass_cli = click.make_pass_decorator(CliContext)


@click.group("console", cls=Group)
def console() -> None:
    """The web console for operators and auditors (over the audit index), in 中文 and English."""


@console.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8790, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--receipts", "receipts_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A gateway's receipts export (tds audit receipts -o FILE) for the findings.")
@click.option("--max-lag", type=click.IntRange(0, 1_000_000), default=10, show_default=True,
              help="Blocks the index may trail the chain before the pages say it is behind.")
@click.option("--poll", "poll_s", type=click.FloatRange(0.1, 600), default=1.0, show_default=True,
              help="Seconds between index updates.")
@click.option("--log-level", default="warning", show_default=True, help="uvicorn's log level.")
@pass_cli
def serve(c: CliContext, host: str, port: int, receipts_file: Path | None, max_lag: int, poll_s: float,
          log_level: str) -> None:
    """Index the chain, keep the index current and serve the console on loopback until interrupted."""
    from console.audit_serve import NotLoopback, check_loopback, open_console
    from console.audit_serve import serve as serve_http

    c.require_home()
    try:
        check_loopback(host)
    except NotLoopback as exc:
        raise CliFailure(str(exc), EXIT_USAGE) from exc
    try:
        receipts = load_receipts(receipts_file) if receipts_file else []
        console_, follower = open_console(c.home, c.settings, receipts, max_lag, poll_s,
                                          metadata_dir=c.metadata_dir())
    except AuditError as exc:
        raise CliFailure(str(exc), EXIT_ENVIRONMENT) from exc
    run = follower.run_once()
    if run is None:
        err.print(f"[yellow]warning:[/yellow] the chain cannot be read ({follower.state.last_error}): serving the "
                  "index as it stands; the pages say so", highlight=False)
    else:
        err.print(f"indexed blocks {run.from_block}..{run.to_block}: {run.events} events", highlight=False)

    if port == 0:
        from chain.devspace import free_port

        port = free_port()
    shown = f"[{host}]" if ":" in host else host
    err.print(f"console on http://{shown}:{port}/console/ (chain {console_.chain_id}; Ctrl-C stops)", highlight=False)
    serve_http(console_, follower, host, port, log_level)
