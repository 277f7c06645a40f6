"""Notary wiring: ``tds gateway anchor``, ``tds asset anchor-folder``, ``tds audit proof|receipts``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from chain.contracts import AnchorsClient
from cli.context import CliContext
from cli.output import emit_json, kv, table
from gateway.client import GatewayClient

pass_cli = click.make_pass_decorator(CliContext)


def register(root: click.Group) -> None:
    """Attach the notary commands to the gateway, asset and audit groups."""
    groups = {name: cmd for name, cmd in root.commands.items() if isinstance(cmd, click.Group)}
    groups["gateway"].add_command(anchor_now)
    groups["asset"].add_command(anchor_folder)
    groups["audit"].add_command(proof)
    groups["audit"].add_command(receipts)


@click.command("anchor")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def anchor_now(c: CliContext, as_json: bool) -> None:
    """Seal every pending access receipt into Merkle batches and anchor them now (the gateway also does
    this by itself on size or time)."""
    from cli.commands_gateway import _gateway
    from gateway.anchoring import Notary

    notary = Notary.for_gateway(_gateway(c))
    sealed, anchored = notary.seal_all(), notary.anchor_sealed()
    rows = [{"root": a.root, "tx": a.anchor_tx, "block": a.anchor_block, "sent": a.sent} for a in anchored]
    if as_json:
        emit_json({"sealed": [s.__dict__ for s in sealed], "anchored": rows})
        return
    kv("notary", {"batches sealed": len(sealed), "receipts sealed": sum(s.leaf_count for s in sealed),
                  "roots anchored": len(anchored)})
    if rows:
        table(["root", "tx", "block"], [[r["root"], r["tx"], r["block"]] for r in rows])


@click.command("anchor-folder")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write one proof document per file here (<name>.proof.json).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def anchor_folder(c: CliContext, directory: Path, out_dir: Path | None, as_json: bool) -> None:
    """Anchor the SHA-256 of every file in DIRECTORY under one Merkle root, in ONE transaction."""
    from gateway.anchoring import anchor_assets, folder_assets

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
        kv("folder anchored" if done.sent else "already anchored (nothing sent)", data)


def _gateway_get(c: CliContext, gateway_url: str | None, path: str) -> Any:
    from cli.commands_gateway import client_call

    with GatewayClient(gateway_url or c.gateway_url(), c.account_for("auditor")) as client:
        return client_call(lambda: client.get_signed(path))


@click.command("proof")
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
        kv(f"proof ({doc.get('state')})", {"receipt": receipt_id, "root": doc.get("root"), "file": str(output)})


@click.command("receipts")
@click.option("--gateway", "gateway_url", default=None, help="Gateway URL (default: config gateway.public_url).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_cli
def receipts(c: CliContext, gateway_url: str | None, output: Path) -> None:
    """Export every receipt with its proof (JSON lines) from a gateway, for `tds audit check --receipts`."""
    text = _gateway_get(c, gateway_url, "/receipts/export").text
    output.write_text(text)
    kv("receipts exported", {"file": str(output), "receipts": sum(1 for line in text.splitlines() if line.strip())})
