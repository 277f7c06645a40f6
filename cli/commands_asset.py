"""``tds asset register|list|show|versions|verify|deactivate|policy``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from domain.ids import is_bytes32
from domain.types import Asset, Policy, PriceModel
from cli.context import CliContext
from cli.errors import CliFailure, Mismatch, NotFound
from cli.help import Group
from cli.lang import tr
from cli.output import byte_progress, did, emit_json, kv, table, titled, window

if TYPE_CHECKING:
    from chain.contracts import AssetsClient, GrantsClient

pass_cli = click.make_pass_decorator(CliContext)


def asset_id_arg(value: str) -> str:
    """Validate an asset id: 0x + 64 hex (case-insensitive)."""
    text = value.lower()
    if not is_bytes32(text):
        raise click.BadParameter(tr("{value!r} is not an asset id (0x + 64 hex, the SHA-256 of the bytes)",
                                    value=value))
    return text


def _owner(value: str) -> tuple[str, int]:
    addr, sep, bps = value.partition(":")
    if not sep or not bps.isdigit():
        raise click.BadParameter(tr("{value!r}: expected ADDRESS:BPS, e.g. 0xabc...:7000", value=value))
    return addr, int(bps)


def _policy(value: str | None) -> Policy | None:
    if value is None:
        return None
    text = Path(value).read_text() if Path(value).is_file() else value
    try:
        return Policy.from_json(json.loads(text))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise click.BadParameter(tr("invalid policy: {error}", error=exc), param_hint="--policy") from exc


def _clients(c: CliContext, signer: bool) -> tuple[AssetsClient, GrantsClient]:
    from chain.contracts import AssetsClient, GrantsClient

    chain = c.chain()
    sender = chain.sender(c.account_for("provider")) if signer else None
    return AssetsClient(chain, sender), GrantsClient(chain, sender)


def _get(assets: AssetsClient, asset_id: str) -> Asset:
    found = assets.get(asset_id)
    if found is None:
        raise NotFound(tr("no asset {asset_id} on chain {chain_id}", asset_id=asset_id, chain_id=assets.chain.chain_id))
    return found


@click.group(cls=Group)
def asset() -> None:
    """Data assets: content-addressed, anchored on-chain, stored encrypted at the gateway."""


@asset.command("register")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--title", default=None, help="Title (default: the file name).")
@click.option("--description", default=None, help="Free-text description.")
@click.option("--parent", "parents", multiple=True, callback=lambda _c, _p, v: tuple(asset_id_arg(x) for x in v),
              help="Asset this one was derived from (repeatable): lineage.")
@click.option("--owner", "owners", multiple=True, help="Revenue owner ADDRESS:BPS (repeatable; sum 10000).")
@click.option("--version-of", default=None, callback=lambda _c, _p, v: asset_id_arg(v) if v else None,
              help="Register as a new version of this asset (owners carry over, and its policy unless --policy).")
@click.option("--policy", default=None, help="Usage policy: JSON text or a JSON file (see README).")
@click.option("--no-store", is_flag=True, help="Anchor the hash only; do not copy the file to the gateway store.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def register(c: CliContext, file: Path, title: str | None, description: str | None, parents: tuple[str, ...],
             owners: tuple[str, ...], version_of: str | None, policy: str | None, no_store: bool,
             as_json: bool) -> None:
    """Register FILE: SHA-256 -> asset id, encrypted copy in the gateway store, AssetRegistered on-chain.

    Registering bytes that are already registered is rejected (exit 4) and names the existing asset id.
    """
    from gateway.registration import MetadataStore, register_asset
    from gateway.service import load_master_key
    from gateway.settings import GatewaySettings
    from vault.store import EncryptedStore

    if not file.is_file():
        raise CliFailure(tr("cannot read {file}: no such file", file=file), 1)
    parsed_owners = [_owner(o) for o in owners]
    parsed_policy = _policy(policy)
    if version_of and (parents or owners):
        raise click.UsageError(tr("--version-of carries the previous version's owners; drop --owner/--parent"))
    assets, grants = _clients(c, signer=True)
    carried_from = None
    if version_of and parsed_policy is None:
        previous_policy = grants.get_policy(version_of)
        if previous_policy is not None:
            parsed_policy, carried_from = dataclasses.replace(previous_policy, epoch=0), version_of
    store = None
    gateway = GatewaySettings.load(c.home)
    if not no_store:
        store = EncryptedStore(gateway.store_path, load_master_key(gateway))
    with byte_progress(tr("hashing {name}", name=file.name), file.stat().st_size) as progress:
        reg = register_asset(
            file, assets, grants, store, MetadataStore(gateway.gateway_dir / "metadata"), gateway.base_url,
            title=title, description=description, parents=parents,
            owners=tuple(c.resolve_address(a, param_hint="--owner") for a, _ in parsed_owners),
            shares_bps=tuple(b for _, b in parsed_owners), previous_version=version_of,
            policy=parsed_policy, progress=progress,
        )
    data = reg.to_json() if carried_from is None else {**reg.to_json(), "policy_carried_from": carried_from}
    emit_json(data) if as_json else kv(tr("asset registered"), data)


def title_lookup(c: CliContext) -> Callable[[str], str | None]:
    """Asset id -> title from this home's gateway metadata (the provider's own assets); None when unknown."""
    from gateway.registration import MetadataStore

    directory = c.metadata_dir()
    if directory is None:
        return lambda _asset_id: None
    store = MetadataStore(directory)

    def title(asset_id: str) -> str | None:
        try:
            doc = store.get(asset_id.lower())
        except (OSError, ValueError):
            return None
        value = doc.get("title") if isinstance(doc, dict) else None
        return str(value) if value else None

    return title


def _seconds(value: int) -> str:
    """A period for people: ``30 d``, ``2 h``, ``90 s``."""
    for unit, size in ((tr("{n} d"), 86_400), (tr("{n} h"), 3_600), (tr("{n} min"), 60)):
        if value >= size and value % size == 0:
            return unit.format(n=value // size)
    return tr("{n} s", n=value)


def price_summary(policy: Policy) -> str:
    """How a policy charges, for people (amounts in the settlement token's base units)."""
    model, price = PriceModel(policy.price_model), policy.price_per_access
    if model is PriceModel.FREE:
        return tr("free") if not price else tr("price {price} per access (no price model: not a valid policy)",
                                                price=price)
    if model is PriceModel.PREPAID:
        text = tr("prepaid: {price} per use, the grant's count locked in escrow when issued", price=price)
    elif model is PriceModel.PAY_AFTER_USE:
        text = tr("pay after use: {price} per use, settled per period from a signed statement", price=price)
    else:
        text = tr("subscription: {price} per {period}, the grant's periods locked when issued", price=price,
                  period=_seconds(policy.period))
    if policy.free_uses:
        text += tr(", first {n} uses free", n=policy.free_uses)
    return text


def policy_summary(policy: Policy | None) -> str:
    """A policy in one line for people."""
    if policy is None:
        return tr("none (cannot be granted)")
    parts = [tr("epoch {epoch}", epoch=policy.epoch), window(policy.not_before, policy.not_after),
             tr("max {count} per grant", count=policy.max_count or tr("unlimited")), price_summary(policy),
             tr("purposes {purposes}", purposes=", ".join(policy.purposes) or tr("any")),
             tr("jurisdictions {jurisdictions}", jurisdictions=", ".join(policy.jurisdictions) or tr("any")),
             tr("approval {how}", how=tr("automatic") if policy.auto_approve else tr("by the provider"))]
    if policy.compute_only:
        parts.append(tr("compute only"))
    return "; ".join(parts)


def _print_assets(rows: list[Asset], as_json: bool) -> None:
    if as_json:
        emit_json([a.to_json() for a in rows])
        return
    c = click.get_current_context().find_object(CliContext)
    title_of = title_lookup(c) if c is not None else (lambda _a: None)
    chain_id = c.chain().chain_id if c is not None else None
    table(["asset id", "title", "bytes", "ver", "status", "provider", "block"],
          [[a.asset_id, title_of(a.asset_id), a.size, a.version, tr("active") if a.active else tr("inactive"),
            did(chain_id, a.provider), a.block] for a in rows])


@asset.command("list")
@click.option("--provider", default=None, help="Only this provider's assets (address or account name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def list_assets(c: CliContext, provider: str | None, as_json: bool) -> None:
    """Every registered asset."""
    assets, _ = _clients(c, signer=False)
    _print_assets(assets.list(c.resolve_address(provider, param_hint="--provider") if provider else None), as_json)


@asset.command("show")
@click.argument("asset_id", callback=lambda _c, _p, v: asset_id_arg(v))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def show(c: CliContext, asset_id: str, as_json: bool) -> None:
    """One asset: on-chain record, lineage, owners, policy."""
    assets, grants = _clients(c, signer=False)
    a = _get(assets, asset_id)
    policy = grants.get_policy(asset_id)
    data = {**a.to_json(), "policy": policy.to_json() if policy else None}
    if as_json:
        emit_json(data)
        return
    chain_id, title_of = assets.chain.chain_id, title_lookup(c)
    data["provider"] = did(chain_id, a.provider)
    data["owners"] = ", ".join(f"{did(chain_id, o)} {s / 100:g} %" for o, s in zip(a.owners, a.shares_bps)) \
        or f"{did(chain_id, a.provider)} 100 %"
    data["parents"] = [titled(p, title_of(p)) for p in a.parents]
    data["previous_version"] = titled(a.previous_version, title_of(a.previous_version)) if a.previous_version \
        else None
    data.pop("shares_bps")
    data["policy"] = policy_summary(policy)
    kv(tr("asset {asset}", asset=titled(asset_id, title_of(asset_id))), data)


@asset.command("versions")
@click.argument("asset_id", callback=lambda _c, _p, v: asset_id_arg(v))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def versions(c: CliContext, asset_id: str, as_json: bool) -> None:
    """The version chain an asset belongs to, oldest first."""
    assets, _ = _clients(c, signer=False)
    rows = assets.versions(asset_id)
    if not rows:
        raise NotFound(tr("no asset {asset_id}", asset_id=asset_id))
    _print_assets(rows, as_json)


@asset.command("verify")
@click.argument("asset_id", callback=lambda _c, _p, v: asset_id_arg(v))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def verify(c: CliContext, asset_id: str, file: Path, as_json: bool) -> None:
    """Does FILE match the asset's on-chain hash? Exit 0 if it does, 6 if not."""
    from notary.hashing import sha256_file

    assets, _ = _clients(c, signer=False)
    a = _get(assets, asset_id)
    with byte_progress(tr("hashing {name}", name=file.name), file.stat().st_size if file.exists() else 0) as progress:
        digest = "0x" + sha256_file(file, progress).hex()
    ok = digest == a.asset_id
    data = {"asset_id": a.asset_id, "file": str(file), "file_sha256": digest, "match": ok,
            "registered_block": a.block, "registered_tx": a.tx}
    emit_json(data) if as_json else kv(tr("match") if ok else tr("MISMATCH"), data)
    if not ok:
        raise Mismatch(tr("{file} does not match asset {asset_id}", file=file, asset_id=asset_id))


@asset.command("deactivate")
@click.argument("asset_id", callback=lambda _c, _p, v: asset_id_arg(v))
@pass_cli
def deactivate(c: CliContext, asset_id: str) -> None:
    """Deactivate an asset: no new grants."""
    assets, _ = _clients(c, signer=True)
    receipt = assets.deactivate(asset_id)
    kv(tr("asset deactivated"), {"asset_id": asset_id, "tx": receipt["transactionHash"].to_0x_hex()})


@asset.command("policy")
@click.argument("asset_id", callback=lambda _c, _p, v: asset_id_arg(v))
@click.argument("policy")
@pass_cli
def set_policy(c: CliContext, asset_id: str, policy: str) -> None:
    """Set (replace) an asset's usage policy from JSON text or a JSON file."""
    parsed = _policy(policy)
    assert parsed is not None
    _, grants = _clients(c, signer=True)
    receipt = grants.set_policy(asset_id, parsed)
    stored = grants.get_policy(asset_id) or parsed  # as the chain holds it, with the epoch it assigned
    kv(tr("policy set"), {"asset_id": asset_id, "tx": receipt["transactionHash"].to_0x_hex(),
                      "policy": policy_summary(stored)})

