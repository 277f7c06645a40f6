"""Entry point of ``tds``: global options, command groups, error-to-exit-code translation."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from chain.errors import ChainError, ContractRevert
from cli.context import CliContext
from cli.errors import EXIT_USAGE, CliFailure, describe_revert, exit_code_for, exit_code_for_status
from cli.output import err
from gateway.errors import GatewayError
from notary.errors import NotaryError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(path_type=Path), envvar="TDS_HOME", default=".tds", show_default=True,
              help="Data dir: config, keystores, deployments, devnet state, gateway store.")
@click.option("--as", "account", metavar="NAME", envvar="TDS_ACCOUNT", default=None,
              help="Keystore account to sign with (default: the command's role, e.g. operator, provider).")
@click.pass_context
def cli(ctx: click.Context, home: Path, account: str | None) -> None:
    """TDS: a trusted data space on a permissioned EVM chain."""
    ctx.obj = CliContext.create(home, account)


def _register() -> None:
    from cli import commands_asset, commands_chain, commands_participant

    cli.add_command(commands_chain.init)
    cli.add_command(commands_chain.chain_group)
    cli.add_command(commands_chain.deploy)
    cli.add_command(commands_participant.participant)
    cli.add_command(commands_asset.asset)
    from cli import commands_audit
    cli.add_command(commands_audit.audit)
    try:
        from cli import commands_gateway
    except ImportError:  # the gateway commands need the gateway package's optional parts
        return
    commands_gateway.register(cli)
    from cli import commands_notary

    commands_notary.register(cli)


_register()


def main(argv: list[str] | None = None) -> int:
    """Run ``tds``; translate domain errors into a one-line message and an exit code."""
    try:
        cli.main(args=argv, prog_name="tds", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        err.print("aborted")
        return 1
    except CliFailure as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except GatewayError as exc:
        from gateway.errors import error_status

        status, code = error_status(exc)
        err.print(f"[red]error:[/red] {code}: {exc}", highlight=False)
        return exit_code_for_status(status)
    except (ChainError, NotaryError, OSError) as exc:
        err.print(f"[red]error:[/red] {_describe(exc)}", highlight=False)
        if os.environ.get("TDS_DEBUG"):
            raise
        return exit_code_for(exc)
    return 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ContractRevert):
        return describe_revert(exc)
    name = type(exc).__name__
    text = str(exc)
    return text if name in text else f"{name}: {text}"


if __name__ == "__main__":
    sys.exit(main())
