"""``tds init``, ``tds chain up|down|status``, ``tds deploy``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import click

from domain.types import did_pkh
from cli.context import DEFAULT_GATEWAY_URL, DEMO_ACCOUNTS, CliContext
from cli.errors import EXIT_ENVIRONMENT, CliFailure
from cli.help import Command, Group
from cli.lang import tr
from cli.output import emit_json, kv, out, table

if TYPE_CHECKING:
    from chain.devnet import Devnet

pass_cli = click.make_pass_decorator(CliContext)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _devnet(c: CliContext) -> Devnet:
    from chain.devnet import Devnet

    port = urlparse(c.settings.rpc_url).port or 8545
    return Devnet(c.settings.devnet_dir, port=port)


def _gateway_url(value: str | None) -> str | None:
    """``--gateway-url``: an http(s) URL with a host."""
    if value is None:
        return None
    url = urlparse(value)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise click.BadParameter(tr("{value!r} is not a URL such as http://127.0.0.1:8700", value=value),
                                 param_hint="--gateway-url")
    try:
        url.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}", param_hint="--gateway-url") from exc
    return value.rstrip("/")


@click.command(cls=Command)
@click.option("--rpc-url", default=None, help="JSON-RPC URL of the chain (default: the embedded devnet).")
@click.option("--chain-id", type=int, default=None, help="Refuse any node whose chain id differs.")
@click.option("--poa", is_flag=True, help="The chain is Besu QBFT/Clique (POA extraData).")
@click.option("--gateway-url", default=None, callback=lambda _c, _p, v: _gateway_url(v),
              help=f"This provider's gateway URL (default {DEFAULT_GATEWAY_URL}). On loopback, "
                   "`tds gateway serve` listens on its port.")
@click.option("--accounts", default=",".join(DEMO_ACCOUNTS), show_default=True,
              help="Keystore accounts to create (comma separated names).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def init(c: CliContext, rpc_url: str | None, chain_id: int | None, poa: bool, gateway_url: str | None,
         accounts: str, as_json: bool) -> None:
    """Create the data dir: config, encrypted keystores, the gateway master key.

    Run again on an existing data dir, it keeps what is there, creates the accounts that are missing
    and applies the options given.
    """
    from vault.keys import MasterKey

    names = [n.strip() for n in accounts.split(",") if n.strip()]
    bad = [n for n in names if not n.isidentifier()]
    if bad:
        raise click.BadParameter(tr("{names}: account names are letters, digits and _ (e.g. consumer2)",
                                    names=", ".join(bad)), param_hint="--accounts")
    c.home.mkdir(parents=True, exist_ok=True)
    config_path = c.home / "config.json"
    config = json.loads(config_path.read_text()) if config_path.exists() else {}
    chain_cfg = config.setdefault("chain", {})
    if rpc_url:
        chain_cfg["rpc_url"] = rpc_url
    chain_cfg.setdefault("rpc_url", c.settings.rpc_url)
    if chain_id is not None:
        chain_cfg["chain_id"] = chain_id
    if poa:
        chain_cfg["poa"] = True
    gateway_cfg = config.setdefault("gateway", {})
    if gateway_url is not None:
        gateway_cfg["public_url"] = gateway_url
        url = urlparse(gateway_url)
        if url.hostname in LOOPBACK and url.port:  # served here: listen where the links point
            gateway_cfg["port"] = url.port
    gateway_cfg.setdefault("public_url", DEFAULT_GATEWAY_URL)
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    created = {name: c.keystore.create(name) for name in names}
    key_path = c.home / "gateway" / "master.key"
    if not key_path.exists():
        key_path.parent.mkdir(parents=True, exist_ok=True)
        MasterKey.generate(key_path)
    if as_json:
        emit_json({"home": str(c.home), "accounts": created, "config": config})
        return
    kv(tr("initialised {home}", home=c.home), {name: addr for name, addr in created.items()}, names=True)
    out.print(tr("keystores: {directory} (encrypted; passphrase from $TDS_KEYSTORE_PASSWORD or {file})",
                 directory=c.keystore.directory, file=c.keystore.directory / ".passphrase"), highlight=False)


@click.group("chain", cls=Group)
def chain_group() -> None:
    """The embedded anvil devnet (state kept in <home>/devnet)."""


@chain_group.command("up")
@click.option("--fund/--no-fund", default=True, help="Give the keystore accounts devnet ether.")
@pass_cli
def chain_up(c: CliContext, fund: bool) -> None:
    """Start the devnet on 127.0.0.1 (idempotent); a restart keeps the chain.

    Fails (exit 3) when another process holds the port: the chain answering there is not this data dir's.
    """
    host = urlparse(c.settings.rpc_url).hostname
    if host not in LOOPBACK:
        raise CliFailure(tr("the configured chain {url} is not the embedded devnet (127.0.0.1): `tds chain up` "
                            "starts only a local anvil; start that node yourself", url=c.settings.rpc_url),
                         EXIT_ENVIRONMENT)
    devnet = _devnet(c)
    status = devnet.start()
    if fund:
        for name in c.keystore.names():
            devnet.fund(c.keystore.address(name))
    kv(tr("devnet up"), {"rpc": status.rpc_url, "chain id": status.chain_id, "block": status.block, "pid": devnet.pid()})


@chain_group.command("down")
@pass_cli
def chain_down(c: CliContext) -> None:
    """Stop the devnet (its state is saved)."""
    stopped = _devnet(c).stop()
    out.print(tr("devnet stopped") if stopped else tr("devnet was not running"))


@chain_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def chain_status(c: CliContext, as_json: bool) -> None:
    """Is the chain reachable? Chain id, block, deployment."""
    status = _devnet(c).status()
    deployment = c.settings.deployment_file(status.chain_id) if status.chain_id else None
    data = {
        "running": status.running, "rpc_url": status.rpc_url, "chain_id": status.chain_id,
        "block": status.block, "pid": status.pid,
        "deployment": str(deployment) if deployment and deployment.exists() else None,
    }
    if as_json:
        emit_json(data)
    else:
        kv(tr("chain"), data)
    if not status.running:
        raise CliFailure(tr("no node at {url}: run `tds chain up`", url=status.rpc_url), EXIT_ENVIRONMENT)


@click.command(cls=Command)
@click.option("--force", is_flag=True,
              help="Deploy new contracts even if this chain has this data dir's (orphans them; the old file is kept).")
@click.option("--token", "token_kind", default=None, metavar="devnet|credits|ADDRESS",
              help="What money is settled in: a devnet token the operator mints, credits (积分: points only "
                   "members hold), or an existing ERC-20's address (default: settings, devnet).")
@click.option("--royalty-bps", type=click.IntRange(0, 10_000), default=None,
              help="Share (basis points) of a derived asset's revenue paid to its parents' owners (default 1000).")
@click.option("--claim-window", "claim_window_s", type=click.IntRange(0, 2**32 - 1), default=None,
              help="Seconds after a grant's end before anyone may release its escrow (default 7 days).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def deploy(c: CliContext, force: bool, token_kind: str | None, royalty_bps: int | None, claim_window_s: int | None,
           as_json: bool) -> None:
    """Compile and deploy every TDS contract; the signer becomes the operator.

    Refuses (exit 3) when the chain already has the contracts of this data dir's deployment file.
    """
    from chain.client import deploy_to
    from domain.ids import is_address
    from settlement.settings import SettlementSettings

    c.require_home()
    money = SettlementSettings.load(c.home)
    token_kind = token_kind or money.token
    if token_kind not in ("devnet", "credits") and not is_address(token_kind):
        raise click.BadParameter(tr("{token!r}: give devnet, credits or the 0x address of an ERC-20",
                                    token=token_kind), param_hint="--token")
    options = {"token": token_kind,
               "royalty_bps": money.royalty_bps if royalty_bps is None else royalty_bps,
               "claim_window_s": money.claim_window_s if claim_window_s is None else claim_window_s}
    deployment, path = deploy_to(c.settings, lambda: c.account_for("operator"), force=force, **options)
    if as_json:
        emit_json({"file": str(path), "chain_id": deployment.chain_id,
                   "contracts": {n: {"address": d.address, "tx": d.tx, "block": d.block}
                                 for n, d in deployment.contracts.items()}})
        return
    table(["contract", "address", "block", "tx"],
          [[n, d.address, d.block, d.tx] for n, d in deployment.contracts.items()],
          title=tr("deployed on chain {chain_id} -> {path}", chain_id=deployment.chain_id, path=path))
    out.print(tr("operator: {did}", did=did_pkh(deployment.chain_id, deployment.deployer)), highlight=False)
