"""Notary wiring: ``tds gateway anchor|notary-key``, ``tds asset anchor-folder``, ``tds audit proof|receipts``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from chain.contracts import AnchorsClient
from cli.context import CliContext
from cli.help import Command, Group
from cli.lang import term, tr
from cli.output import emit_json, kv, table
from client.sdk import GatewayClient

pass_cli = click.make_pass_decorator(CliContext)


def register(root: click.Group) -> None:
    """Attach the notary commands to the gateway, asset and audit groups."""
    groups = {name: cmd for name, cmd in root.commands.items() if isinstance(cmd, click.Group)}
    groups["gateway"].add_command(anchor_now)
    groups["gateway"].add_command(notary_key)
    groups["asset"].add_command(anchor_folder)
    groups["audit"].add_command(proof)
    groups["audit"].add_command(receipts)


@click.command("anchor", cls=Command)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def anchor_now(c: CliContext, as_json: bool) -> None:
    """Seal every pending access receipt into Merkle batches and anchor them now (the gateway also does
    this by itself on size or time)."""
    from cli.commands_gateway import _gateway

    notary = _gateway(c).notary()
    sealed, anchored = notary.seal_all(), notary.anchor_sealed()
    rows = [{"root": a.root, "tx": a.anchor_tx, "block": a.anchor_block, "sent": a.sent} for a in anchored]
    if as_json:
        emit_json({"sealed": [s.__dict__ for s in sealed], "anchored": rows})
        return
    kv(tr("notary"), {"batches sealed": len(sealed), "receipts sealed": sum(s.leaf_count for s in sealed),
                  "roots anchored": len(anchored)})
    if rows:
        table(["root", "tx", "block"], [[r["root"], r["tx"], r["block"]] for r in rows])


@click.group("notary-key", cls=Group)
def notary_key() -> None:
    """Provider: keys that may anchor your gateway's receipts roots (AnchorRegistry notary keys).

    A key is bound to the provider that registers it for ever; removing it stops new anchors only,
    so the roots it anchored stay valid evidence. Signs as --as (default provider).
    """


def _notary_tx(c: CliContext, address: str, action: str) -> None:
    from notary.proofs import did_pkh

    chain = c.chain()
    notary = c.resolve_address(address, "ADDRESS")
    account = c.account_for("provider")
    anchors = AnchorsClient(chain, chain.sender(account))
    send = anchors.register_notary if action == "add" else anchors.revoke_notary
    receipt = send(notary)
    kv(tr("notary key registered") if action == "add" else tr("notary key revoked (its past anchors stay valid)"), {
        "notary key": f"{notary} ({did_pkh(chain.chain_id, notary)})",
        "provider": f"{account.address} ({did_pkh(chain.chain_id, account.address)})",
        "tx": receipt["transactionHash"].to_0x_hex(), "block": int(receipt["blockNumber"]),
    })


@notary_key.command("add")
@click.argument("address")
@pass_cli
def notary_key_add(c: CliContext, address: str) -> None:
    """Register ADDRESS (0x address or keystore account name) as a notary key of the provider."""
    _notary_tx(c, address, "add")


@notary_key.command("remove")
@click.argument("address")
@pass_cli
def notary_key_remove(c: CliContext, address: str) -> None:
    """Revoke the provider's notary key ADDRESS: it can anchor no more roots."""
    _notary_tx(c, address, "remove")


@notary_key.command("show")
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def notary_key_show(c: CliContext, address: str, as_json: bool) -> None:
    """Whose notary key ADDRESS is, and whether it may still anchor (exit 5 if it is none)."""
    from cli.errors import NotFound

    chain = c.chain()
    notary = c.resolve_address(address, "ADDRESS")
    provider, active = AnchorsClient(chain).notary_of(notary)
    if provider is None:
        raise NotFound(tr("{address} is not a notary key of any provider: register it with `tds gateway notary-key "
                          "add`", address=notary))
    data = {"notary": notary, "provider": provider, "active": active}
    if as_json:
        emit_json(data)
    else:
        kv(tr("notary key {address}", address=notary),
           {"provider": provider, "state": tr("active") if active else tr("revoked")})


@click.command("anchor-folder", cls=Command)
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write one proof document per file here (<name>.proof.json).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def anchor_folder(c: CliContext, directory: Path, out_dir: Path | None, as_json: bool) -> None:
    """Anchor the SHA-256 of every file in DIRECTORY under one Merkle root, in ONE transaction."""
    from anchoring.folder import anchor_assets, folder_assets

    chain = c.chain()
    files = folder_assets(directory)
    done = anchor_assets(AnchorsClient(chain, chain.sender(c.account_for("provider"))), list(files.values()))
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for path, (digest, _) in files.items():
            (out_dir / f"{path.name}.proof.json").write_text(done.proofs[digest.lower()].to_json())
    data = {"root": done.root, "files": len(files), "tx": done.anchor_tx, "block": done.anchor_block,
            "sent": done.sent, "gas_used": done.gas_used}
    if as_json:
        emit_json({**data, "proofs": {str(p): d for p, (d, _) in files.items()}})
    else:
        kv(tr("folder anchored") if done.sent else tr("already anchored (nothing sent)"), data)


def _gateway_get(c: CliContext, gateway_url: str | None, path: str) -> Any:
    from cli.commands_gateway import client_call

    with GatewayClient(gateway_url or c.gateway_url(), c.account_for("auditor")) as client:
        return client_call(lambda: client.get_signed(path))


@click.command("proof", cls=Command)
@click.argument("receipt_id")
@click.option("--gateway", "gateway_url", default=None, help="Gateway URL (default: config gateway.public_url).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the proof document here (default: print it).")
@pass_cli
def proof(c: CliContext, receipt_id: str, gateway_url: str | None, output: Path | None) -> None:
    """Fetch a receipt's proof document from the gateway (signed as --as, default auditor)."""
    doc = _gateway_get(c, gateway_url, f"/receipts/{receipt_id}/proof").json()
    text = json.dumps(doc, indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n")
        kv(tr("proof ({state})", state=term(str(doc.get("state")), "receipt")),
           {"receipt": receipt_id, "root": doc.get("root"), "file": str(output)})


@click.command("receipts", cls=Command)
@click.option("--gateway", "gateway_url", default=None, help="Gateway URL (default: config gateway.public_url).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_cli
def receipts(c: CliContext, gateway_url: str | None, output: Path) -> None:
    """Export every receipt with its proof (JSON lines) from a gateway, for `tds audit check --receipts`."""
    text = _gateway_get(c, gateway_url, "/receipts/export").text
    output.write_text(text)
    kv(tr("receipts exported"), {"file": str(output), "receipts": sum(1 for line in text.splitlines() if line.strip())})
