"""``tds service register|list|show|secret`` (provider) and ``tds consumer call`` (consumer)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cli.commands_asset import _owner, _policy, asset_id_arg
from cli.commands_gateway import _gateway, client_call, consumer, consumer_client
from cli.context import CliContext
from cli.errors import CliFailure, NotFound
from cli.help import Group
from cli.lang import term, tr
from cli.output import emit_json, kv, table

pass_cli = click.make_pass_decorator(CliContext)


def register(root: click.Group) -> None:
    """Attach ``service`` to ``tds`` (``consumer call`` attaches itself to the consumer group)."""
    root.add_command(service)


def _header(value: str) -> tuple[str, str]:
    name, sep, text = value.partition(":")
    if not sep or not name.strip():
        raise click.BadParameter(tr("{value!r}: expected 'Name: value' or 'Name: env:VARIABLE'", value=value),
                                 param_hint="--backend-header")
    return name.strip(), text.strip()


@click.group(cls=Group)
def service() -> None:
    """Data services: APIs registered as assets, every call checked, metered and proven by the gateway."""


@service.command("register")
@click.argument("description_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--backend", required=True, help="Base URL of the API (kept in the gateway's config, never on-chain).")
@click.option("--backend-header", "headers", multiple=True,
              help="Header sent to the backend on every call, 'Name: value' or 'Name: env:VAR' (repeatable).")
@click.option("--secret-env", default=None,
              help="Environment variable holding the HMAC key the backend verifies calls with "
                   "(default: a random key kept in the gateway's config; `tds service secret ID` prints it).")
@click.option("--rate", default="", help="Calls per grant and period, e.g. 60/minute (default: none).")
@click.option("--timeout", "timeout_s", type=float, default=10.0, show_default=True, help="Backend timeout (s).")
@click.option("--max-response-bytes", type=int, default=16 << 20, show_default=True)
@click.option("--title", default=None, help="Title (default: the description's info.title).")
@click.option("--description", default=None, help="Free-text description.")
@click.option("--owner", "owners", multiple=True, help="Revenue owner ADDRESS:BPS (repeatable; sum 10000).")
@click.option("--version-of", default=None, callback=lambda _c, _p, v: asset_id_arg(v) if v else None,
              help="Register as a new version of this service.")
@click.option("--policy", required=True, help="Usage policy (JSON text or file); max_count counts calls.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def register_service(c: CliContext, description_file: Path, backend: str, headers: tuple[str, ...],
                     secret_env: str | None, rate: str, timeout_s: float, max_response_bytes: int,
                     title: str | None, description: str | None, owners: tuple[str, ...], version_of: str | None,
                     policy: str, as_json: bool) -> None:
    """Register an API: DESCRIPTION_FILE (OpenAPI 3 JSON, validated) is hashed and registered on-chain; the
    backend URL, its credentials and limits stay in this gateway's configuration.

    Calls then go to `/services/<id>/<path>` on the gateway, for the paths and methods the description declares.
    """
    from gateway.service import register_service as do_register
    from services.registry import ServiceConfig, new_secret

    if not description_file.is_file():
        raise CliFailure(tr("cannot read {file}: no such file", file=description_file), 1)
    parsed_owners = [_owner(o) for o in owners]
    config = ServiceConfig(backend=backend, headers=dict(_header(h) for h in headers),
                           secret=f"env:{secret_env}" if secret_env else new_secret(), timeout_s=timeout_s,
                           max_response_bytes=max_response_bytes, rate=rate)
    gw = _gateway(c)
    reg = do_register(gw, description_file, config, _policy(policy),  # type: ignore[arg-type]
                      title=title, description=description,
                      owners=tuple(c.resolve_address(a, param_hint="--owner") for a, _ in parsed_owners),
                      shares_bps=tuple(b for _, b in parsed_owners), previous_version=version_of)
    endpoint = f"{gw.settings.base_url.rstrip('/')}/services/{reg.asset_id}"
    data = {**reg.to_json(), "endpoint": endpoint + "/", "description_url": endpoint, **config.public()}
    data.pop("headers", None)
    emit_json(data) if as_json else kv(tr("service registered"), data)


@service.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def list_services(c: CliContext, as_json: bool) -> None:
    """The services this gateway serves (title, backend, rate)."""
    from gateway.registration import MetadataStore
    from gateway.settings import GatewaySettings
    from services.registry import ServiceRegistry

    settings = GatewaySettings.load(c.home)
    registry = ServiceRegistry(settings.gateway_dir)
    meta = MetadataStore(settings.gateway_dir / "metadata")
    rows = []
    for asset_id in registry.ids():
        config = registry.config(asset_id)
        assert config is not None
        rows.append({"asset_id": asset_id, "title": (meta.get(asset_id) or {}).get("title", ""),
                     "backend": config.backend, "rate": config.rate or "none", "timeout_s": config.timeout_s})
    if as_json:
        emit_json({"services": rows})
    else:
        table(["title", "service", "backend", "rate"],
              [[r["title"], r["asset_id"], r["backend"], tr("none") if r["rate"] == "none" else r["rate"]]
               for r in rows],
              title=tr("services"))


@service.command("show")
@click.argument("asset_id", callback=lambda _c, _p, v: asset_id_arg(v))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def show_service(c: CliContext, asset_id: str, as_json: bool) -> None:
    """A service's configuration (credential values and the secret are not shown) and declared operations."""
    from gateway.settings import GatewaySettings
    from services.registry import ServiceRegistry

    registry = ServiceRegistry(GatewaySettings.load(c.home).gateway_dir)
    config, desc = registry.config(asset_id), registry.description(asset_id)
    if config is None or desc is None:
        raise NotFound(tr("{asset_id} is not a service of this gateway (`tds service list`)", asset_id=asset_id))
    ops = [f"{o.method} {o.template}" for o in desc.operations()]
    data = {"asset_id": asset_id, "title": desc.title, "version": desc.version, **config.public(), "operations": ops}
    emit_json(data) if as_json else kv(tr("service"), {**data, "operations": ", ".join(ops),
                                                       "headers": ", ".join(config.headers) or tr("none")})


@service.command("secret")
@click.argument("asset_id", callback=lambda _c, _p, v: asset_id_arg(v))
@pass_cli
def show_secret(c: CliContext, asset_id: str) -> None:
    """Print the HMAC key a service's backend verifies X-TDS-Gateway-Signature with (give it to the backend)."""
    from gateway.settings import GatewaySettings
    from services.registry import ServiceRegistry

    config = ServiceRegistry(GatewaySettings.load(c.home).gateway_dir).config(asset_id)
    if config is None:
        raise NotFound(tr("{asset_id} is not a service of this gateway (`tds service list`)", asset_id=asset_id))
    if config.secret.startswith("env:"):
        raise CliFailure(tr("the key is read from the environment variable {variable} of the gateway",
                            variable=config.secret[4:]), 1)
    click.echo(config.secret)


@consumer.command("call")
@click.argument("service_id", callback=lambda _c, _p, v: asset_id_arg(v))
@click.argument("path")
@click.option("-X", "--method", default=None, help="HTTP method (default: GET, or POST with --data).")
@click.option("--data", default=None, help="Request body: text, or @FILE (@- for stdin).")
@click.option("-H", "--header", "headers", multiple=True, help="'Name: value' sent to the service (repeatable).")
@click.option("--grant", "grant_id", default=None, help="Use this grant (default: your live grant for the service).")
@click.option("--purpose", default=None, help="Declared purpose of this call (default: the grant's).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the answer's body here (default: stdout).")
@click.option("--json", "as_json", is_flag=True, help="Print status, receipt and hashes as JSON (body to -o).")
@pass_cli
def call(c: CliContext, service_id: str, path: str, method: str | None, data: str | None, headers: tuple[str, ...],
         grant_id: str | None, purpose: str | None, output: Path | None, as_json: bool) -> None:
    """Call PATH of a service under your live grant (one use). Prints the answer; the receipt id and the
    answer's SHA-256 go to stderr (or --json). Exit 0 for a 2xx answer, 5 for the service's 4xx."""
    body = None
    if data is not None:
        body = (sys.stdin.buffer.read() if data == "@-" else Path(data[1:]).read_bytes() if data.startswith("@")
                else data.encode())
    sent = dict(_header(h) for h in headers)
    if body is not None and not any(k.lower() == "content-type" for k in sent):
        sent["Content-Type"] = "application/json"
    with consumer_client(c) as client:
        result = client_call(lambda: client.call(service_id, path, method or ("POST" if body is not None else "GET"),
                                                 body=body, headers=sent, grant_id=grant_id, purpose=purpose))
    summary = {"status": result.status, "receipt_id": result.receipt_id, "grant_id": result.grant_id,
               "response_sha256": result.sha256, "bytes": len(result.body),
               "evidence_sha256": result.evidence_sha256}
    if output is not None:
        output.write_bytes(result.body)
    if as_json:
        if output is None:
            summary["body"] = result.body.decode("utf-8", "replace")
        emit_json(summary)
    else:
        if output is None:
            click.echo(result.body.decode("utf-8", "replace"))
        click.echo(tr("{status} · receipt {receipt_id} · answer sha256 {sha256}", status=result.status,
                      receipt_id=result.receipt_id, sha256=result.sha256), err=True)
    if result.status >= 400:
        raise click.exceptions.Exit(5)




@consumer.command("prove-call")
@click.argument("receipt_id")
@click.option("--answer", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The answer's body as received (`tds consumer call ... -o FILE`).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the receipt's proof document here (tds audit verify-proof reads it).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def prove_call(c: CliContext, receipt_id: str, answer: Path, output: Path | None, as_json: bool) -> None:
    """Prove which answer a call got: the answer's SHA-256 is in the call's evidence, the evidence's SHA-256
    is the content hash of the receipt, and the receipt's proof verifies against a root anchored on-chain by
    the provider. Exit 6 when any link fails."""
    from audit.verify import verify_proof
    from cli.errors import Mismatch
    from notary.calls import evidence_digest, sha256_hex
    from notary.proofs import ProofDocument

    body = answer.read_bytes()
    with consumer_client(c) as client:
        doc = client_call(lambda: client.receipt(receipt_id))
        if doc.get("call") is None:
            raise CliFailure(tr("{receipt_id} is not the receipt of a service call", receipt_id=receipt_id), 1)
        if doc["state"] != "anchored":
            raise CliFailure(tr("{receipt_id} is {state}, not anchored yet: ask the provider to anchor (`tds gateway "
                                "anchor`) or wait for the notary, then run this again", receipt_id=receipt_id,
                                state=term(str(doc["state"]), "receipt")), 1)
        proof = client_call(lambda: client.proof(receipt_id))
    evidence = doc["call"]
    got = sha256_hex(body)
    checks = {"answer_sha256": got, "evidence_response_sha256": evidence["response_sha256"],
              "evidence_sha256": evidence_digest(evidence), "receipt_content_hash": doc["receipt"]["content_hash"],
              "leaf_content_hash": proof["values"][8]}
    if got != evidence["response_sha256"]:
        raise Mismatch(tr("the answer in {file} hashes to {got}, the call's evidence says {expected}", file=answer,
                          got=got, expected=evidence["response_sha256"]))
    if not checks["evidence_sha256"] == checks["receipt_content_hash"] == checks["leaf_content_hash"]:
        raise Mismatch(tr("the call's evidence does not hash to the receipt's content hash"))
    verdict = verify_proof(ProofDocument.from_dict(proof), c.chain())
    if not verdict.valid:
        raise Mismatch(tr("the receipt's proof does not verify: {reason}", reason=verdict.reason))
    if output is not None:
        output.write_text(json.dumps(proof, indent=2))
    data = {"receipt_id": receipt_id, "proven": True, **checks, "status": evidence["status"],
            "target": f"{evidence['method']} {evidence['target']}", "anchor_tx": doc.get("anchor_tx"),
            "anchor_block": doc.get("anchor_block")}
    emit_json(data) if as_json else kv(tr("answer proven"), data)
