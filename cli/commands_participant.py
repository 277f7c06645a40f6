"""``tds participant onboard|suspend|reinstate|list|show``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from domain.types import ParticipantStatus, Role, did_pkh
from cli.context import CliContext, bytes32_arg
from cli.errors import NotFound
from cli.help import Group
from cli.lang import N_, term, tr
from cli.output import emit_json, kv, table, when

if TYPE_CHECKING:
    from chain.contracts import ParticipantsClient

pass_cli = click.make_pass_decorator(CliContext)


def _client(c: CliContext, signer: bool = True) -> ParticipantsClient:
    from chain.contracts import ParticipantsClient

    chain = c.chain()
    return ParticipantsClient(chain, chain.sender(c.account_for("operator")) if signer else None)


@click.group(cls=Group)
def participant() -> None:
    """Members of the data space (operator commands)."""


@participant.command("onboard")
@click.argument("who")
@click.option("--roles", required=True, help="Comma separated: provider, consumer, auditor.")
@click.option("--jurisdiction", required=True, help="ISO 3166-1 alpha-2 code, e.g. DE.")
@click.option("--credential", "credential_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Verifiable credential / DID document file; its SHA-256 is recorded.")
@click.option("--credential-hash", default=None, help="Or the credential's hash (0x + 64 hex).",
              callback=lambda _c, _p, v: None if v is None else bytes32_arg(v, N_("a credential hash")))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def onboard(c: CliContext, who: str, roles: str, jurisdiction: str, credential_file: Path | None,
            credential_hash: str | None, as_json: bool) -> None:
    """Onboard WHO (an address or a keystore account name)."""
    try:
        role = Role.parse(roles)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--roles") from exc
    if len(jurisdiction) != 2 or not jurisdiction.isalpha():
        raise click.BadParameter(tr("expected an ISO 3166-1 alpha-2 code such as DE"), param_hint="--jurisdiction")
    if credential_file is not None and credential_hash is not None:
        raise click.UsageError(tr("give --credential FILE or --credential-hash HEX, not both"))
    if credential_file is not None:
        credential_hash = "0x" + hashlib.sha256(credential_file.read_bytes()).hexdigest()
    if credential_hash is None:
        raise click.UsageError(tr("give --credential FILE or --credential-hash HEX"))
    address = c.resolve_address(who, param_hint="WHO")
    client = _client(c)
    receipt = client.onboard(address, role, jurisdiction, credential_hash)
    result = {"address": address, "did": did_pkh(client.chain.chain_id, address), "roles": role.names(),
              "jurisdiction": jurisdiction.upper(), "tx": receipt["transactionHash"].to_0x_hex(),
              "block": receipt["blockNumber"], "gas_used": receipt["gasUsed"]}
    emit_json(result) if as_json else kv(tr("participant onboarded"),
                                         {**result, "roles": [term(r) for r in role.names()]})


_DONE = {"suspend": N_("participant suspended"), "reinstate": N_("participant reinstated")}


def _status_change(c: CliContext, who: str, action: str) -> None:
    address = c.resolve_address(who, param_hint="WHO")
    client = _client(c)
    receipt = getattr(client, action)(address)
    kv(tr(_DONE[action]),
       {"address": address, "tx": receipt["transactionHash"].to_0x_hex(), "block": receipt["blockNumber"]})


@participant.command("suspend")
@click.argument("who")
@pass_cli
def suspend(c: CliContext, who: str) -> None:
    """Suspend WHO: every contract and gateway refuses it from the next block."""
    _status_change(c, who, "suspend")


@participant.command("reinstate")
@click.argument("who")
@pass_cli
def reinstate(c: CliContext, who: str) -> None:
    """Reinstate a suspended WHO."""
    _status_change(c, who, "reinstate")


@participant.command("show")
@click.argument("who")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def show(c: CliContext, who: str, as_json: bool) -> None:
    """One participant's record."""
    client = _client(c, signer=False)
    p = client.get(c.resolve_address(who, param_hint="WHO"))
    if p.status == ParticipantStatus.NONE:
        raise NotFound(tr("{address} is not a participant", address=p.address))
    data = {**p.to_json(), "did": did_pkh(client.chain.chain_id, p.address)}
    if as_json:
        emit_json(data)
        return
    kv(tr("participant {did}", did=data["did"]), {**data, "status": term(str(data["status"])),
                                                  "roles": [term(r) for r in p.roles.names()],
                                                  "onboarded_at": when(p.onboarded_at, zero=tr("never"))})


@participant.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def list_participants(c: CliContext, as_json: bool) -> None:
    """Every onboarded participant and its current status."""
    client = _client(c, signer=False)
    rows = client.list()
    if as_json:
        emit_json([{**p.to_json(), "did": did_pkh(client.chain.chain_id, p.address)} for p in rows])
        return
    table(["participant", "roles", "jurisdiction", "status", "onboarded"],
          [[did_pkh(client.chain.chain_id, p.address), ", ".join(term(r) for r in p.roles.names()), p.jurisdiction,
            term(p.status.name.lower()), when(p.onboarded_at, zero=tr("never"))] for p in rows])

