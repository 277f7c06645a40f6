"""Entry point of ``tds``: global options, command groups, error-to-exit-code translation.

Start-up is lazy: ``tds --help`` and ``tds --version`` import no command module, and a command
imports only the modules it needs (web3, FastAPI and SQLModel load with the commands that use them).

Language: ``--lang en|zh``, else ``TDS_LANG``, ``LC_ALL``, ``LC_MESSAGES``, ``LANGUAGE``, ``LANG``; English by
default. :func:`main` resolves it for each invocation (:mod:`cli.lang`); help is translated as it is
formatted (:mod:`cli.help`), ``--json`` output never.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from chain.errors import ChainError, ContractRevert
from cli import lang
from cli.errors import EXIT_USAGE, CliFailure, describe_code, describe_revert, explain, exit_code_for, \
    exit_code_for_status
from cli.help import Group, short_help
from cli.lang import tr
from gateway.errors import REPORTED_ERRORS
from notary.errors import NotaryError
from services.errors import ServiceError

# Root commands a module defines on its own: loading one of them imports that module only.
_OWN_MODULE = {
    "init": ("cli.commands_chain", "init"),
    "chain": ("cli.commands_chain", "chain_group"),
    "deploy": ("cli.commands_chain", "deploy"),
    "participant": ("cli.commands_participant", "participant"),
    "console": ("cli.commands_console", "console"),
}
# What `tds --help` lists without importing anything (a unit test checks it against the commands).
# Every other name loads all commands, since several modules add subcommands to each other's groups.
SUMMARIES = {
    "algorithm": "Algorithms for compute-to-data: code registered as an asset by its SHA-256, run next to the data.",
    "asset": "Data assets: content-addressed, anchored on-chain, stored encrypted at the gateway.",
    "audit": "Auditor: rebuild histories from chain events, check proofs, receipts and files, export reports.",
    "chain": "The embedded anvil devnet (state kept in <home>/devnet).",
    "compute": "Compute-to-data on your assets: approve algorithms, set the privacy budget, see the jobs.",
    "console": "The web console for operators and auditors (over the audit index), in 中文 and English.",
    "consumer": "Consumer side: browse a gateway's catalog, request grants, fetch data (signs with your key).",
    "deploy": "Compile and deploy every TDS contract; the signer becomes the operator.",
    "dispute": "Disputes (争议仲裁): a party opens one with evidence, the operator (or arbitrator) rules.",
    "escrow": "Prepaid escrow: deposit, see balances and locks, withdraw the free part, release ended grants.",
    "gateway": "The provider's gateway (HTTP API on 127.0.0.1).",
    "grant": "Grant requests at this provider's gateway: list, approve, deny, revoke.",
    "init": "Create the data dir: config, encrypted keystores, the gateway master key.",
    "participant": "Members of the data space (operator commands).",
    "service": "Data services: APIs registered as assets, every call checked, metered and proven by the gateway.",
    "settle": "Settlement: price anchored use per period and pay the owners (provider), statements, earnings.",
    "token": "The space's settlement token (devnet token or credits 积分): mint (operator), balances.",
}


class LazyGroup(Group):
    """The root group: imports a command's module when the command is used, not at start-up."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._all_loaded = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every root command name (loaded or not)."""
        return sorted(set(SUMMARIES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing its module on first use."""
        if cmd_name not in self.commands:
            # in English: click fixes some texts when a command is built (a FILE metavar), and the
            # commands outlive this invocation (tests run many in one process)
            with lang.speaking("en"):
                if cmd_name in _OWN_MODULE:
                    module, attribute = _OWN_MODULE[cmd_name]
                    self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
                else:
                    self.load_all()
        return self.commands.get(cmd_name)

    def load_all(self) -> None:
        """Import and attach every command module (idempotent)."""
        if self._all_loaded:
            return
        self._all_loaded = True
        from cli import commands_asset, commands_audit, commands_chain, commands_participant

        self.add_command(commands_chain.init)
        self.add_command(commands_chain.chain_group)
        self.add_command(commands_chain.deploy)
        self.add_command(commands_participant.participant)
        self.add_command(commands_asset.asset)
        self.add_command(commands_audit.audit)
        from cli import commands_console

        self.add_command(commands_console.console)
        try:
            from cli import commands_gateway
        except ImportError:  # the gateway commands need the gateway package's optional parts
            return
        commands_gateway.register(self)
        from cli import commands_notary, commands_settle

        commands_notary.register(self)
        commands_settle.register(self)
        from cli import commands_service

        commands_service.register(self)
        from cli import commands_compute

        commands_compute.register(self)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``: loaded commands' own help, the others' summaries (as click does)."""
        names = [n for n in self.list_commands(ctx) if n not in self.commands or not self.commands[n].hidden]
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = [(n, self.commands[n].get_short_help_str(limit) if n in self.commands
                 else short_help(SUMMARIES[n], limit)) for n in names]
        with formatter.section(tr("Commands")):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "--version", package_name="tds", prog_name="tds", message="%(prog)s %(version)s")
@click.option("--home", type=click.Path(path_type=Path), envvar="TDS_HOME", default=".tds", show_default=True,
              help="Data dir: config, keystores, deployments, devnet state, gateway store.")
@click.option("--as", "account", metavar="NAME", envvar="TDS_ACCOUNT", default=None,
              help="Keystore account to sign with (default: the command's role, e.g. operator, provider).")
@click.option("--lang", type=click.Choice(lang.LANGS), default=None, expose_value=False, is_eager=True,
              callback=lambda _c, _p, v: v and lang.use(v),
              help="Language of help and messages (default: TDS_LANG, LC_ALL, LC_MESSAGES, LANGUAGE, LANG; "
                   "else English). --json output is never translated.")
@click.pass_context
def cli(ctx: click.Context, home: Path, account: str | None) -> None:
    """TDS: a trusted data space on a permissioned EVM chain."""
    from cli.context import CliContext

    ctx.obj = CliContext.create(home, account)


def main(argv: list[str] | None = None) -> int:
    """Run ``tds``; translate domain errors into a one-line message and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    lang.hook_click()
    token = lang.use(lang.resolve(args, os.environ))
    try:
        return _run(args)
    finally:
        lang.restore(token)


def _run(args: list[str]) -> int:
    from rich.markup import escape

    from cli.output import err

    error = tr("error:")
    try:
        code = cli.main(args=args, prog_name="tds", standalone_mode=False)
        if isinstance(code, int) and not isinstance(code, bool):  # click returns a raised Exit's code here
            return code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        err.print(tr("aborted"))
        return 1
    except CliFailure as exc:
        err.print(f"[red]{error}[/red] {escape(exc.message)}", highlight=False)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except REPORTED_ERRORS as exc:
        from gateway.errors import error_status

        status, code = error_status(exc)
        err.print(f"[red]{error}[/red] {escape(describe_code(code, str(exc)))}", highlight=False)
        return exit_code_for_status(status)
    except ServiceError as exc:
        err.print(f"[red]{error}[/red] {escape(explain(exc, str(exc)))}", highlight=False)
        return EXIT_USAGE
    except (ChainError, NotaryError, OSError) as exc:
        err.print(f"[red]{error}[/red] {escape(_describe(exc))}", highlight=False)
        if os.environ.get("TDS_DEBUG"):
            raise
        return exit_code_for(exc)
    return 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ContractRevert):
        return describe_revert(exc)
    text = str(exc)
    if isinstance(exc, (ChainError, NotaryError)):
        return explain(exc, text)  # written for people already; a class name would only be noise
    name = type(exc).__name__
    return explain(exc, text if name in text else f"{name}: {text}")


if __name__ == "__main__":
    sys.exit(main())
