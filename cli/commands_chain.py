"""``tds init``, ``tds chain up|down|status``, ``tds deploy``."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import click

from chain.client import deploy_to
from chain.devnet import Devnet
from chain.types import did_pkh
from cli.context import DEFAULT_GATEWAY_URL, DEMO_ACCOUNTS, CliContext
from cli.errors import EXIT_ENVIRONMENT, CliFailure
from cli.output import emit_json, kv, out, table
from gateway.store import MasterKey

pass_cli = click.make_pass_decorator(CliContext)


def _devnet(c: CliContext) -> Devnet:
    port = urlparse(c.settings.rpc_url).port or 8545
    return Devnet(c.settings.devnet_dir, port=port)


@click.command()
@click.option("--rpc-url", default=None, help="JSON-RPC URL of the chain (default: the embedded devnet).")
@click.option("--chain-id", type=int, default=None, help="Refuse any node whose chain id differs.")
@click.option("--poa", is_flag=True, help="The chain is Besu QBFT/Clique (POA extraData).")
@click.option("--gateway-url", default=DEFAULT_GATEWAY_URL, show_default=True, help="This provider's gateway URL.")
@click.option("--accounts", default=",".join(DEMO_ACCOUNTS), show_default=True,
              help="Keystore accounts to create (comma separated names).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def init(c: CliContext, rpc_url: str | None, chain_id: int | None, poa: bool, gateway_url: str, accounts: str,
         as_json: bool) -> None:
    """Create the data dir: config, encrypted keystores, the gateway master key."""
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
    config.setdefault("gateway", {}).setdefault("public_url", gateway_url)
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    names = [n.strip() for n in accounts.split(",") if n.strip()]
    created = {name: c.keystore.create(name) for name in names}
    key_path = c.home / "gateway" / "master.key"
    if not key_path.exists():
        key_path.parent.mkdir(parents=True, exist_ok=True)
        MasterKey.generate(key_path)
    if as_json:
        emit_json({"home": str(c.home), "accounts": created, "config": config})
        return
    kv(f"initialised {c.home}", {name: addr for name, addr in created.items()})
    out.print(f"keystores: {c.keystore.directory} (encrypted; passphrase from $TDS_KEYSTORE_PASSWORD "
              f"or {c.keystore.directory / '.passphrase'})", highlight=False)


@click.group("chain")
def chain_group() -> None:
    """The embedded anvil devnet (state kept in <home>/devnet)."""


@chain_group.command("up")
@click.option("--fund/--no-fund", default=True, help="Give the keystore accounts devnet ether.")
@pass_cli
def chain_up(c: CliContext, fund: bool) -> None:
    """Start the devnet on 127.0.0.1 (idempotent); a restart keeps the chain."""
    devnet = _devnet(c)
    status = devnet.start()
    if fund:
        for name in c.keystore.names():
            devnet.fund(c.keystore.address(name))
    kv("devnet up", {"rpc": status.rpc_url, "chain id": status.chain_id, "block": status.block, "pid": devnet.pid()})


@chain_group.command("down")
@pass_cli
def chain_down(c: CliContext) -> None:
    """Stop the devnet (its state is saved)."""
    stopped = _devnet(c).stop()
    out.print("devnet stopped" if stopped else "devnet was not running")


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
        kv("chain", data)
    if not status.running:
        raise CliFailure(f"no node at {status.rpc_url}: run `tds chain up`", EXIT_ENVIRONMENT)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def deploy(c: CliContext, as_json: bool) -> None:
    """Compile and deploy every TDS contract; the signer becomes the operator."""
    deployment, path = deploy_to(c.settings, lambda: c.account_for("operator"))
    if as_json:
        emit_json({"file": str(path), "chain_id": deployment.chain_id,
                   "contracts": {n: {"address": d.address, "tx": d.tx, "block": d.block}
                                 for n, d in deployment.contracts.items()}})
        return
    table(["contract", "address", "block", "tx"],
          [[n, d.address, d.block, d.tx] for n, d in deployment.contracts.items()],
          title=f"deployed on chain {deployment.chain_id} -> {path}")
    out.print(f"operator: {did_pkh(deployment.chain_id, deployment.deployer)}", highlight=False)
