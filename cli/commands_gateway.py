"""``tds gateway serve``, ``tds grant list|approve|deny|revoke`` (provider), ``tds consumer ...`` (consumer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from cli.context import CliContext
from cli.errors import EXIT_ENVIRONMENT, EXIT_MISMATCH, CliFailure, exit_code_for_status, explain_code
from cli.help import Group
from cli.lang import N_, term, tr
from cli.output import emit_json, err, kv, table, when, window
from client.sdk import GatewayClient, GatewayClientError, IntegrityError
from gateway.db import GrantState
from gateway.settings import GatewaySettings

pass_cli = click.make_pass_decorator(CliContext)


def register(root: click.Group) -> None:
    """Attach the gateway, grant and consumer groups to ``tds``."""
    root.add_command(gateway_group)
    root.add_command(grant)
    root.add_command(consumer)


def _settings(c: CliContext) -> GatewaySettings:
    return GatewaySettings.load(c.home)


def _gateway(c: CliContext, settings: GatewaySettings | None = None) -> Any:
    from gateway.service import Gateway

    settings = settings or _settings(c)
    return Gateway.open(settings, c.settings, chain=c.chain(), provider=c.account_for(settings.provider_account))


# ---- provider: the gateway process ------------------------------------------------------------------------


@click.group("gateway", cls=Group)
def gateway_group() -> None:
    """The provider's gateway (HTTP API on 127.0.0.1)."""


@gateway_group.command("serve")
@click.option("--port", type=int, default=None, help="Port (default: config / TDS_GATEWAY_PORT / 8700).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="HTTP worker processes (they share the database and the store).")
@click.option("--no-notary", is_flag=True,
              help="Start no notary process (run `tds gateway notary` elsewhere, or `tds gateway anchor`).")
@click.option("--log-level", default="warning", show_default=True)
@pass_cli
def serve(c: CliContext, port: int | None, workers: int, no_notary: bool, log_level: str) -> None:
    """Serve the gateway until interrupted, with one notary process that seals and anchors receipts."""
    from gateway.app import create_app
    from gateway.server import serve as serve_http

    settings = _serve_settings(c, port=port, notary_mode="off" if no_notary else None)
    gw = _gateway(c, settings)  # fail early (chain, keystore, store) with an exit code
    running = {"process": N_("notary process"), "thread": N_("notary thread in each worker")}.get(
        settings.notary_mode if settings.notary_enabled else "off", N_("no notary"))
    err.print(tr("gateway for {provider} on http://{host}:{port} (chain {chain_id}, store {store}, {workers} "
                 "worker(s), {notary})", provider=gw.provider_address, host=settings.host, port=settings.port,
                 chain_id=gw.chain_id, store=settings.store_path, workers=workers, notary=tr(running)),
              highlight=False)
    app = create_app(settings, gw) if workers == 1 else None
    serve_http(settings, workers=workers, log_level=log_level, app=app)


@gateway_group.command("notary")
@click.option("--log-level", default="info", show_default=True)
@pass_cli
def notary(c: CliContext, log_level: str) -> None:
    """Run the notary in the foreground (seal receipts on size or time, anchor the roots) until interrupted.

    For gateways served with `--no-notary`; several notaries on one database are safe (one holds the lease).
    """
    import logging

    from anchoring.notary import Notary
    from anchoring.process import run_notary

    settings = _serve_settings(c).notary()
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s notary %(levelname)s %(message)s")
    notary = Notary.open(settings, chain=c.chain(), account=c.account_for(settings.account))
    err.print(tr("notary for {provider} (batch {batch}, every {interval:g} s)", provider=notary.provider,
                 batch=settings.batch_size, interval=settings.interval_s), highlight=False)
    run_notary(settings, notary)


@gateway_group.command("reconcile")
@click.option("--receipts", "receipts_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An auditor's receipts export (`tds audit receipts -o FILE`); may be repeated.")
@click.option("--journal", "journal", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The notary journal directory (default: <home>/gateway/journal).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def reconcile_cmd(c: CliContext, receipts_files: tuple[Path, ...], journal: Path | None, as_json: bool) -> None:
    """After losing the gateway database: rebuild used counts and receipts from the anchored receipts.

    Every receipts root this gateway anchored must be rebuilt from the notary journal or the files
    given, or nothing changes. Used counts only grow; signed calls that may predate the reconcile are
    refused until they could no longer verify (sign again).
    """
    from gateway.reconcile import ReconcileRefused, reconcile

    try:
        report = reconcile(_gateway(c), receipts_files, journal)
    except ReconcileRefused as exc:
        raise CliFailure(tr("reconcile refused: {error}", error=exc), EXIT_MISMATCH) from exc
    if as_json:
        emit_json(report.to_json())
        return
    restored = sum(b["receipts"] for b in report.restored)
    floor = when(report.replay_floor)  # always set by a reconcile (now + request TTL + clock skew)
    kv(tr("gateway ledger reconciled"), {
        "anchored roots": report.anchored_roots, "already in the database": report.known_roots,
        "batches restored": len(report.restored), "receipts restored": restored,
        "grants whose used count grew": len(report.used), "ledger id": report.ledger_id,
        "signed calls refused if expiring by": floor})
    if report.used:
        table(["grant id", "used before", "used now"], [[g, b, a] for g, (b, a) in report.used.items()])
    for note in report.skipped:
        err.print(tr("note: {note}", note=note), highlight=False)


def _serve_settings(c: CliContext, port: int | None = None, notary_mode: str | None = None) -> GatewaySettings:
    """Settings for processes started from here: child processes sign with the same account (``--as``)."""
    import dataclasses

    settings = _settings(c)
    changes: dict[str, Any] = {}
    if port is not None:
        changes["port"] = port
    if notary_mode is not None:
        changes["notary_mode"] = notary_mode
    if c.account_name:
        changes["provider_account"] = c.account_name
    return dataclasses.replace(settings, **changes)


# ---- provider: deciding on grants ---------------------------------------------------------------------------


@click.group(cls=Group)
def grant() -> None:
    """Grant requests at this provider's gateway: list, approve, deny, revoke."""


@grant.command("list")
@click.option("--state", type=click.Choice([s.value for s in GrantState]), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def grant_list(c: CliContext, state: str | None, as_json: bool) -> None:
    """Grant requests, oldest first."""
    from gateway.service import list_grant_requests

    rows = list_grant_requests(_gateway(c), GrantState(state) if state else None)
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    table(["grant id", "state", "asset", "consumer", "purpose", "count", "window"],
          [[r.grant_id, term(str(r.state)), (d := r.to_json()["request"])["asset_id"], d["consumer"], d["purpose"],
            d["max_count"] or tr("unlimited"), window(int(d["not_before"]), int(d["not_after"]))] for r in rows])


@grant.command("approve")
@click.argument("grant_id")
@pass_cli
def grant_approve(c: CliContext, grant_id: str) -> None:
    """Approve a pending request: the grant goes on-chain with the consumer's signature."""
    from gateway.service import approve_grant

    row = approve_grant(_gateway(c), grant_id)
    kv(tr("grant issued"), {"grant_id": row.grant_id, "state": term(str(row.state)), "tx": row.tx})


@grant.command("deny")
@click.argument("grant_id")
@click.option("--reason", default="", help="Told to the consumer.")
@pass_cli
def grant_deny(c: CliContext, grant_id: str, reason: str) -> None:
    """Deny a pending request (nothing goes on-chain)."""
    from gateway.service import deny_grant

    row = deny_grant(_gateway(c), grant_id, reason)
    kv(tr("grant denied"), {"grant_id": row.grant_id, "state": term(str(row.state)), "reason": row.reason})


@grant.command("revoke")
@click.argument("grant_id")
@pass_cli
def grant_revoke(c: CliContext, grant_id: str) -> None:
    """Revoke an issued grant; gateways refuse it from the next block."""
    from gateway.service import revoke_grant

    tx = revoke_grant(_gateway(c), grant_id)
    receipt = c.chain().transaction_receipt(tx)  # mined: revoke_grant waited for it
    kv(tr("grant revoked"), {"grant_id": grant_id.lower(), "tx": tx,
                         "block": None if receipt is None else receipt["blockNumber"]})


# ---- consumer ------------------------------------------------------------------------------------------------------


@click.group(cls=Group)
@click.option("--gateway", "gateway_url", default=None, help="Gateway URL (default: config gateway.public_url).")
@click.pass_context
def consumer(ctx: click.Context, gateway_url: str | None) -> None:
    """Consumer side: browse a gateway's catalog, request grants, fetch data (signs with your key)."""
    c: CliContext = ctx.obj
    ctx.meta["gateway_url"] = gateway_url or c.gateway_url()


def consumer_client(c: CliContext) -> GatewayClient:
    """A client of the `consumer --gateway` URL signing as the consumer (``--as`` or ``consumer``)."""
    url = click.get_current_context().meta["gateway_url"]
    return GatewayClient(url, c.account_for("consumer"))


def client_call(fn: Callable[[], Any]) -> Any:
    """Run a consumer/auditor call to a gateway; refusals and transport failures become exit codes."""
    import httpx

    try:
        return fn()
    except IntegrityError as exc:
        raise CliFailure(f"{exc.code}: {explain_code(exc.code, str(exc))}", EXIT_MISMATCH) from exc
    except GatewayClientError as exc:
        raise CliFailure(tr("refused by the gateway: {error}", error=explain_code(exc.code, str(exc))),
                         exit_code_for_status(exc.status)) from exc
    except (httpx.TransportError, OSError) as exc:
        raise CliFailure(tr("cannot reach the gateway: {error}", error=exc or type(exc).__name__),
                         EXIT_ENVIRONMENT) from exc


@consumer.command("catalog")
@click.option("--json", "as_json", is_flag=True, help="Print the DCAT JSON-LD.")
@pass_cli
def catalog(c: CliContext, as_json: bool) -> None:
    """The gateway's catalog (DCAT 3 with ODRL offers)."""
    with consumer_client(c) as client:
        doc = client_call(client.catalog)
    if as_json:
        emit_json(doc)
        return
    rows = []
    for ds in doc.get("dcat:dataset", []):
        offer = (ds.get("odrl:hasPolicy") or [{}])[0]
        size = ds.get("dcat:byteSize", "")
        size = size.get("@value", size) if isinstance(size, dict) else size
        rows.append([ds.get("@id", "").rsplit(":", 1)[-1], ds.get("dct:title", ""), size,
                     _summarise_offer(offer)])
    table(["asset id", "title", "bytes", "offer"], rows, title=doc.get("dct:title"))


def _summarise_offer(offer: dict[str, Any]) -> str:
    parts = []
    for perm in offer.get("odrl:permission", []):
        parts.append(str(perm.get("odrl:action", {}).get("@id", perm.get("odrl:action", ""))))
        for con in perm.get("odrl:constraint", []):
            right = con.get("odrl:rightOperand")
            if isinstance(right, dict):
                right = right.get("@value", right.get("@id", right))
            if isinstance(right, list):
                right = ", ".join(str(r) for r in right)
            left = str(con.get("odrl:leftOperand", "")).removeprefix("odrl:")
            op = str(con.get("odrl:operator", {}).get("@id", "")).removeprefix("odrl:")
            parts.append(f"{term(left)} {tr(_OPERATORS[op]) if op in _OPERATORS else op} {right}")
    if any(perm.get("odrl:duty") for perm in offer.get("odrl:permission", [])):
        parts.append(_offer_price(offer))
    return "; ".join(term(str(p).removeprefix("odrl:")) for p in parts) or tr("none")


def _offer_price(offer: dict[str, Any]) -> str:
    """The price terms of an offer with a compensate duty, as ``tds asset show`` prints a policy's."""
    from cli.commands_asset import price_summary
    from domain.odrl import policy_of

    try:
        return price_summary(policy_of(offer))
    except (KeyError, TypeError, ValueError, IndexError):
        return tr("price terms unreadable")


_OPERATORS = {"eq": "=", "lt": "<", "lteq": "<=", "gt": ">", "gteq": ">=", "isAnyOf": N_("any of")}


def _grant_view(result: dict[str, Any]) -> dict[str, Any]:
    """A gateway's grant answer for people: the signed request flattened, dates, uses of max."""
    req = result.get("request") or {}
    view = {k: v for k, v in result.items() if k not in ("request", "used", "max_count")}
    if "used" in result:
        view["uses"] = tr("{used} of {max}", used=result["used"], max=result.get("max_count") or tr("unlimited"))
    for key in ("state", "liveness"):
        if isinstance(view.get(key), str):
            view[key] = term(view[key])
    if req:
        view.update({"asset": req.get("asset_id"), "consumer": req.get("consumer"), "purpose": req.get("purpose"),
                     "window": window(int(req.get("not_before") or 0), int(req.get("not_after") or 0)),
                     "price per access": req.get("price_per_access"),
                     "policy epoch": req.get("policy_epoch")})
    return view


@consumer.command("request")
@click.argument("asset_id")
@click.option("--purpose", required=True, help="Purpose of use (must be allowed by the asset's policy).")
@click.option("--count", "max_count", type=int, default=None, help="Accesses wanted (default: the policy cap).")
@click.option("--days", type=float, default=1.0, show_default=True, help="Validity wanted.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def request(c: CliContext, asset_id: str, purpose: str, max_count: int | None, days: float, as_json: bool) -> None:
    """Sign an EIP-712 grant request and send it; prints the grant id and state (issued or pending)."""
    with consumer_client(c) as client:
        result = client_call(
            lambda: client.request_grant(asset_id, purpose, max_count=max_count, duration_s=int(days * 86400)))
    title = tr("grant {state}", state=term(str(result.get("state"))))
    emit_json(result) if as_json else kv(title, _grant_view(result))


@consumer.command("grant")
@click.argument("grant_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def grant_state(c: CliContext, grant_id: str, as_json: bool) -> None:
    """A grant's state as the gateway sees it (on-chain liveness, uses left)."""
    with consumer_client(c) as client:
        result = client_call(lambda: client.grant(grant_id))
    emit_json(result) if as_json else kv(tr("grant"), _grant_view(result))


@consumer.command("fetch")
@click.argument("asset_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--grant", "grant_id", default=None, help="Use this grant (default: any live grant of yours).")
@click.option("--purpose", default=None, help="Only use a grant for this purpose.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def fetch(c: CliContext, asset_id: str, output: Path, grant_id: str | None, purpose: str | None,
          as_json: bool) -> None:
    """Download an asset under a live grant; the SHA-256 of the bytes must equal the asset id."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    with consumer_client(c) as client, Progress("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                                         console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(tr("fetching {asset}…", asset=asset_id[:10]), total=None)
        result = client_call(lambda: client.fetch(
            asset_id, output, grant_id=grant_id, purpose=purpose,
            progress=lambda done, total: bar.update(task, completed=done, total=total or None)))
    data = {"asset_id": asset_id.lower(), "file": str(result.path), "bytes": result.size,
            "sha256": result.sha256, "verified": True, "grant_id": result.grant_id,
            "receipt_id": result.receipt_id}
    emit_json(data) if as_json else kv(tr("fetched and verified"), data)

