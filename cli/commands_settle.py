"""Money commands: ``tds settle`` (runs, statements, earnings), ``tds escrow`` (deposits, locks),
``tds token`` (the settlement token or credits), ``tds dispute`` (争议仲裁), and the consumer's
``tds consumer sign-statements``.

Amounts are typed and printed in token units (``12.5``; ``base:N`` for base units) with the token's
symbol; dates as dates; assets with their titles where this home's gateway knows them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

import click

from cli.commands_asset import title_lookup
from cli.context import CliContext, bytes32_arg
from cli.errors import EXIT_NOT_FOUND, EXIT_REJECTED, CliFailure
from cli.help import Command, Group
from cli.lang import N_, current, speaking, term, tr
from cli.output import did, emit_json, kv, out, table, titled, when

pass_cli = click.make_pass_decorator(CliContext)


def register(root: click.Group) -> None:
    """Attach settle, escrow, token and dispute, and ``consumer sign-statements``."""
    root.add_command(settle)
    root.add_command(escrow)
    root.add_command(token)
    root.add_command(dispute)
    consumer = root.commands.get("consumer")
    if isinstance(consumer, click.Group):
        consumer.add_command(sign_statements)


# ---- shared ---------------------------------------------------------------------------------------------


def _money(c: CliContext) -> Any:
    from chain.contracts import TokenClient
    from settlement.money import Money

    tokens = TokenClient(c.chain())
    return Money(tokens.symbol(), tokens.decimals())


def _amount(c: CliContext, text: str, param: str) -> int:
    try:
        return int(_money(c).parse(text))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=param) from exc


def _sender(c: CliContext, role: str) -> Any:
    return c.chain().sender(c.account_for(role))


def _tx(receipt: Any) -> str:
    return str(receipt["transactionHash"].to_0x_hex())


def _titles(c: CliContext) -> Callable[[str], str]:
    title_of = title_lookup(c)
    return lambda asset_id: titled(asset_id, title_of(asset_id))


# ---- tds settle -----------------------------------------------------------------------------------------


@click.group("settle", cls=Group)
def settle() -> None:
    """Settlement: price anchored use per period and pay the owners (provider), statements, earnings."""


def _period(c: CliContext, text: str | None) -> Any:
    from settlement.errors import PeriodInvalid
    from settlement.periods import parse_period

    now = _chain_time(c)
    try:
        return parse_period(text or "yesterday", now)
    except PeriodInvalid as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from exc


def _chain_time(c: CliContext) -> int:
    return int(c.chain().head_reader().latest().timestamp)


def _settler(c: CliContext, batch_size: int | None) -> Any:
    from settlement.run import Settler
    from settlement.settings import SettlementSettings

    size = batch_size or SettlementSettings.load(c.home).batch_size
    return Settler(c.chain(), _sender(c, "provider"), size)


def _usage(c: CliContext, period: Any) -> Any:
    from anchoring.ledger import open_engine
    from gateway.settings import GatewaySettings
    from settlement.usage import period_usage

    engine = open_engine(GatewaySettings.load(c.home).notary().database_url)
    return period_usage(engine, period)


@settle.command("run")
@click.option("--period", "period_text", metavar="PERIOD", default=None,
              help="2026-12-01 (a UTC day), 2026-12 (a month), START/END (ISO dates or date-times; END may be "
                   "`now`), today or yesterday (the default).")
@click.option("--statements", "statements_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="Signed pay-after-use statements (from `tds consumer sign-statements`).")
@click.option("--batch-size", type=click.IntRange(1, 1000), default=None,
              help="Grants per settle transaction (default: settings, 200).")
@click.option("--dry-run", is_flag=True, help="Show what would be settled; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def settle_run(c: CliContext, period_text: str | None, statements_file: Path | None, batch_size: int | None,
               dry_run: bool, as_json: bool) -> None:
    """Settle one period of this provider's paid grants from its gateway's anchored receipts.

    Units come from the allowed receipts anchored on behalf of the provider; the usage root over them is
    anchored and recorded with each settlement; owners are paid by their shares, and a derived asset
    passes the space's royalty up its lineage. A period already settled is skipped; a disputed grant waits
    for the ruling; a pay-after-use grant waits for its consumer's signed statement.
    """
    from settlement.periods import Period
    from settlement.statements import read_statements

    settler = _settler(c, batch_size)
    statements = {}
    if statements_file is not None:
        entries = read_statements(statements_file, c.chain().chain_id, settler.settlement.contract.address)
        statements = {e.statement.grant_id: e for e in entries}
    if period_text is None and statements:  # settle what the consumers signed: the statements' period
        ends = {e.statement.period_end for e in statements.values()}
        if len(ends) != 1:
            raise click.UsageError(tr("the statements end at different times: give --period"))
        period = Period(min(e.statement.period_start for e in statements.values()), ends.pop())
    else:
        period = _period(c, period_text)
    plan = settler.plan(_usage(c, period), statements)
    result = None if dry_run or not plan.batches else settler.execute(plan)
    _print_run(c, plan, result, as_json)


def _print_run(c: CliContext, plan: Any, result: Any, as_json: bool) -> None:
    money, name = _money(c), _titles(c)
    if as_json:
        emit_json({"period": plan.period.to_json(), "claims": [x.to_json() for x in plan.claims],
                   "roots": [{"root": b.root, "leaves": b.leaf_count} for b in plan.batches],
                   "waiting": [{"grant_id": w.grant_id, "reason": w.reason, "detail": w.detail} for w in plan.waiting],
                   "sent": result is not None,
                   "transactions": result.transactions if result else [],
                   "anchored": result.anchored if result else [],
                   "payouts": [{**p, "amount": str(p["amount"])} for p in result.payouts] if result else []})
        return
    sent = tr("settled") if result is not None else tr("to settle (dry run)") if plan.batches \
        else tr("nothing to settle")
    out.print(tr("period {period}: {n} grant(s) {what}", period=plan.period.describe(), n=len(plan.claims), what=sent),
              highlight=False)
    if plan.claims:
        table(["grant", "asset", "model", "units", "free", "amount"],
              [[x.grant_id, name(x.asset_id), term(x.model.label), x.units, x.free_units, money.format(x.amount)]
               for x in plan.claims])
    if result is not None:
        if result.anchored:
            table(["usage root", "receipts", "anchor tx"], [[a["root"], a["leaves"], a["tx"]] for a in result.anchored])
        totals: dict[tuple[str, str], int] = {}
        for p in result.payouts:
            kind = tr("share") if p["depth"] == 0 else tr("royalty (lineage step {depth})", depth=p["depth"])
            totals[(p["owner"], kind)] = totals.get((p["owner"], kind), 0) + p["amount"]
        if totals:
            table(["paid to", "as", "amount"],
                  [[did(c.chain().chain_id, o), kind, money.format(v)] for (o, kind), v in sorted(totals.items())],
                  title=tr("payouts"))
        gas = sum(t["gas_used"] for t in result.transactions)
        out.print(tr("{n} settle transaction(s), {gas:,} gas", n=len(result.transactions), gas=gas), highlight=False)
    for w in plan.waiting:
        if w.reason != "free":
            out.print(tr("not settled: {grant_id}: {detail}", grant_id=w.grant_id, detail=w.detail), highlight=False)


@settle.command("statements")
@click.option("--period", "period_text", metavar="PERIOD", default=None,
              help="The period (as for `tds settle run`; default yesterday). `START/now` is fixed at the "
                   "chain's time when written, and `tds settle run --statements` settles that period.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Statements file to write (send each consumer its entries).")
@pass_cli
def settle_statements(c: CliContext, period_text: str | None, output: Path) -> None:
    """Write the pay-after-use statements of a period for the consumers to sign (先用后付)."""
    from settlement.statements import write_statements

    period = _period(c, period_text)
    settler = _settler(c, None)
    plan = settler.plan(_usage(c, period), {})
    entries = [w.statement for w in plan.waiting if w.statement is not None]
    n = write_statements(output, c.chain().chain_id, settler.settlement.contract.address, entries)
    money = _money(c)
    if entries:
        table(["grant", "consumer", "units", "amount", "usage root"],
              [[e.statement.grant_id, did(c.chain().chain_id, e.consumer), e.statement.units,
                money.format(e.statement.amount), e.statement.receipts_root] for e in entries])
    out.print(tr("{n} statement(s) for {period} -> {file}", n=n, period=period.describe(), file=output),
              highlight=False)


@settle.command("statement")
@click.argument("participant")
@click.option("--period", "period_text", metavar="PERIOD", default=None,
              help="Only this period (as for `tds settle run`); default: everything.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def settle_statement(ctx: click.Context, participant: str, period_text: str | None, as_json: bool) -> None:
    """What PARTICIPANT paid and earned, per asset and period, with the receipts roots behind each line
    (from the audit index, brought up to date first; the same as `tds audit statement`)."""
    from cli.commands_audit import statement_cmd

    c = ctx.find_object(CliContext)
    period = _period(c, period_text) if period_text else None
    ctx.invoke(statement_cmd, participant=participant, from_date=str(period.start) if period else None,
               to_date=str(period.end) if period else None, refresh=True, as_json=as_json)


@settle.command("withdraw")
@click.argument("amount")
@pass_cli
def settle_withdraw(c: CliContext, amount: str) -> None:
    """Withdraw AMOUNT of your earnings (token units, e.g. 12.5) to your wallet."""
    from chain.contracts import SettlementClient

    value = _amount(c, amount, "AMOUNT")
    receipt = SettlementClient(c.chain(), _sender(c, "provider")).withdraw(value)
    out.print(tr("withdrew {amount} of earnings (tx {tx})", amount=_money(c).format(value), tx=_tx(receipt)),
              highlight=False)


@settle.command("royalty")
@click.argument("bps", type=click.IntRange(0, 10_000))
@pass_cli
def settle_royalty(c: CliContext, bps: int) -> None:
    """Set the royalty (basis points) a derived asset passes to its parents' owners (operator)."""
    from chain.contracts import SettlementClient

    receipt = SettlementClient(c.chain(), _sender(c, "operator")).set_royalty(bps)
    out.print(tr("royalty set to {percent:g} % (tx {tx})", percent=bps / 100, tx=_tx(receipt)), highlight=False)


# ---- tds escrow -----------------------------------------------------------------------------------------


@click.group("escrow", cls=Group)
def escrow() -> None:
    """Prepaid escrow: deposit, see balances and locks, withdraw the free part, release ended grants."""


@escrow.command("deposit")
@click.argument("amount")
@pass_cli
def escrow_deposit(c: CliContext, amount: str) -> None:
    """Deposit AMOUNT (token units) so that prepaid grants can lock it (approves, then deposits)."""
    from chain.contracts import SettlementClient, TokenClient

    value = _amount(c, amount, "AMOUNT")
    sender = _sender(c, "consumer")
    settlement = SettlementClient(c.chain(), sender)
    tokens = TokenClient(c.chain(), sender)
    balance = tokens.balance_of(sender.address)
    if balance < value:
        raise CliFailure(tr("your wallet holds {balance}, less than {amount}: get tokens first (the operator mints: "
                            "`tds token mint`)", balance=_money(c).format(balance), amount=_money(c).format(value)),
                         EXIT_REJECTED)
    tokens.approve(settlement.contract.address, value)
    receipt = settlement.deposit(value)
    out.print(tr("deposited {amount}; free deposit now {deposit} (tx {tx})", amount=_money(c).format(value),
                 deposit=_money(c).format(settlement.deposit_of(sender.address)), tx=_tx(receipt)), highlight=False)


@escrow.command("withdraw")
@click.argument("amount")
@pass_cli
def escrow_withdraw(c: CliContext, amount: str) -> None:
    """Withdraw AMOUNT of your free (unlocked) deposit."""
    from chain.contracts import SettlementClient

    value = _amount(c, amount, "AMOUNT")
    receipt = SettlementClient(c.chain(), _sender(c, "consumer")).withdraw_deposit(value)
    out.print(tr("withdrew {amount} of your deposit (tx {tx})", amount=_money(c).format(value), tx=_tx(receipt)),
              highlight=False)


@escrow.command("release")
@click.argument("grant_id")
@pass_cli
def escrow_release(c: CliContext, grant_id: str) -> None:
    """Return an ended grant's remaining lock to its consumer (its provider once revoked or expired;
    anyone once the claim window after its end has passed)."""
    from chain.contracts import SettlementClient

    grant_id = bytes32_arg(grant_id, N_("a grant id"), "GRANT_ID")
    settlement = SettlementClient(c.chain(), _sender(c, "provider"))
    before = settlement.account_of(grant_id)
    if before is None:
        raise CliFailure(tr("grant {grant_id} has no escrow (a free grant, or not issued)", grant_id=grant_id),
                         EXIT_NOT_FOUND)
    receipt = settlement.release(grant_id)
    out.print(tr("released {amount} to {consumer} (tx {tx})", amount=_money(c).format(before.locked),
                 consumer=did(c.chain().chain_id, before.consumer), tx=_tx(receipt)), highlight=False)


@escrow.command("show")
@click.argument("who", required=False)
@click.option("--grant", "grant_id", default=None, help="Show one grant's escrow account instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def escrow_show(c: CliContext, who: str | None, grant_id: str | None, as_json: bool) -> None:
    """Balances of WHO (default: you): wallet, free deposit, earnings; or one grant's account."""
    from chain.contracts import SettlementClient, TokenClient

    settlement, money = SettlementClient(c.chain()), _money(c)
    if grant_id:
        account = settlement.account_of(bytes32_arg(grant_id, N_("a grant id"), "--grant"))
        if account is None:
            raise CliFailure(tr("grant {grant_id} has no escrow (a free grant, or not issued)", grant_id=grant_id),
                             EXIT_NOT_FOUND)
        with speaking("en" if as_json else current()):  # the JSON's values are the same in every language
            data = {"grant": account.grant_id, "asset": _titles(c)(account.asset_id),
                    "consumer": did(c.chain().chain_id, account.consumer),
                    "price model": term(account.price_model.label),
                    "price": money.format(account.price), "locked": money.format(account.locked),
                    "units settled": account.units, "settled until": when(account.settled_until, tr("never")),
                    "disputed": account.frozen, "released": account.released}
        emit_json({k: str(v) for k, v in data.items()}) if as_json else kv(tr("escrow account"), data)
        return
    address = c.resolve_address(who, "WHO") if who else str(c.account_for(c.account_name or "consumer").address)
    wallet = TokenClient(c.chain()).balance_of(address)
    data = {"participant": did(c.chain().chain_id, address), "wallet": money.format(wallet),
            "free deposit": money.format(settlement.deposit_of(address)),
            "earnings": money.format(settlement.earnings_of(address))}
    if as_json:
        emit_json({"address": address, "wallet": str(wallet), "deposit": str(settlement.deposit_of(address)),
                   "earnings": str(settlement.earnings_of(address)), "symbol": money.symbol})
        return
    kv(tr("balances"), data)


# ---- tds token ------------------------------------------------------------------------------------------


@click.group("token", cls=Group)
def token() -> None:
    """The space's settlement token (devnet token or credits 积分): mint (operator), balances."""


@token.command("mint")
@click.argument("to")
@click.argument("amount")
@pass_cli
def token_mint(c: CliContext, to: str, amount: str) -> None:
    """Mint AMOUNT to TO (operator; with credits, TO must be a member)."""
    from chain.contracts import TokenClient

    address, value = c.resolve_address(to, "TO"), _amount(c, amount, "AMOUNT")
    tokens = TokenClient(c.chain(), _sender(c, "operator"))
    receipt = tokens.mint(address, value)
    out.print(tr("minted {amount} to {to} (tx {tx})", amount=_money(c).format(value),
                 to=did(c.chain().chain_id, address), tx=_tx(receipt)), highlight=False)


@token.command("balance")
@click.argument("who")
@pass_cli
def token_balance(c: CliContext, who: str) -> None:
    """WHO's wallet balance."""
    from chain.contracts import TokenClient

    address = c.resolve_address(who, "WHO")
    out.print(f"{did(c.chain().chain_id, address)}: {_money(c).format(TokenClient(c.chain()).balance_of(address))}",
              highlight=False)


# ---- tds dispute ----------------------------------------------------------------------------------------


@click.group("dispute", cls=Group)
def dispute() -> None:
    """Disputes (争议仲裁): a party opens one with evidence, the operator (or arbitrator) rules."""


def _evidence(path: Path | None, text: str | None) -> tuple[str, str]:
    """(hash, URI) of an evidence document: a file (SHA-256 of its bytes, file:// URI) or a note."""
    if path is not None:
        data = path.read_bytes()
        return "0x" + hashlib.sha256(data).hexdigest(), path.resolve().as_uri()
    if text:
        return "0x" + hashlib.sha256(text.encode()).hexdigest(), "data:text/plain;charset=utf-8," + text
    raise click.UsageError(tr("give the evidence: --evidence FILE or --note TEXT"))


@dispute.command("open")
@click.argument("grant_id")
@click.option("--about", type=click.Choice(["grant", "settlement"]), default="grant", show_default=True,
              help="The use itself, or a settled period.")
@click.option("--period-end", default=None, help="For a settlement: the settled period's end (date-time).")
@click.option("--evidence", "evidence_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="Evidence document (its SHA-256 goes on-chain).")
@click.option("--note", default=None, help="A short statement as evidence instead of a file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def dispute_open(c: CliContext, grant_id: str, about: str, period_end: str | None, evidence_file: Path | None,
                 note: str | None, as_json: bool) -> None:
    """Open a dispute on GRANT_ID (its consumer or its asset's provider); its settlement then waits."""
    from chain.contracts import DisputesClient, GrantsClient
    from settlement.periods import parse_instant

    grant_id = bytes32_arg(grant_id, N_("a grant id"), "GRANT_ID")
    digest, uri = _evidence(evidence_file, note)
    request = GrantsClient(c.chain()).request_of(grant_id)
    if request is None:
        raise CliFailure(tr("no grant {grant_id} was issued on this chain", grant_id=grant_id), EXIT_NOT_FOUND)
    end = parse_instant(period_end, _chain_time(c)) if period_end else 0
    disputes = DisputesClient(c.chain(), _sender(c, "consumer"))
    dispute_id, receipt = disputes.open(request, about, end, digest, uri)
    if as_json:
        emit_json({"dispute": dispute_id, "tx": _tx(receipt), "evidence_hash": digest})
        return
    out.print(tr("dispute {dispute_id} opened on grant {grant_id} (evidence {evidence}, tx {tx})",
                 dispute_id=dispute_id, grant_id=grant_id, evidence=digest, tx=_tx(receipt)), highlight=False)


@dispute.command("evidence")
@click.argument("dispute_id", type=click.IntRange(1))
@click.option("--evidence", "evidence_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="Evidence document.")
@click.option("--note", default=None, help="A short statement instead of a file.")
@pass_cli
def dispute_evidence(c: CliContext, dispute_id: int, evidence_file: Path | None, note: str | None) -> None:
    """Add evidence to an open dispute (a party or the arbiter)."""
    from chain.contracts import DisputesClient

    digest, uri = _evidence(evidence_file, note)
    receipt = DisputesClient(c.chain(), _sender(c, "consumer")).submit_evidence(dispute_id, digest, uri)
    out.print(tr("evidence {evidence} added to dispute {dispute_id} (tx {tx})", evidence=digest,
                 dispute_id=dispute_id, tx=_tx(receipt)), highlight=False)


@dispute.command("rule")
@click.argument("dispute_id", type=click.IntRange(1))
@click.option("--uphold", "ruling", flag_value="upheld", help="The grant or settlement stands.")
@click.option("--refund", "refund_text", default=None, metavar="AMOUNT",
              help="Refund AMOUNT (token units) to the consumer: from the grant's lock, then the provider's earnings.")
@pass_cli
def dispute_rule(c: CliContext, dispute_id: int, ruling: str | None, refund_text: str | None) -> None:
    """Rule a dispute (the operator, or the configured arbitrator's key): --uphold or --refund AMOUNT."""
    from chain.contracts import DisputesClient

    if (ruling is None) == (refund_text is None):
        raise click.UsageError(tr("give exactly one of --uphold and --refund AMOUNT"))
    refund = _amount(c, refund_text, "--refund") if refund_text else 0
    receipt = DisputesClient(c.chain(), _sender(c, "operator")).rule(dispute_id, "refund" if refund else "upheld",
                                                                    refund)
    verdict = tr("refund of {amount} to the consumer", amount=_money(c).format(refund)) if refund else tr("upheld")
    out.print(tr("dispute {dispute_id} ruled: {verdict} (tx {tx})", dispute_id=dispute_id, verdict=verdict,
                 tx=_tx(receipt)), highlight=False)


def _dispute_row(c: CliContext, d: Any) -> dict[str, Any]:
    return {"dispute": d.dispute_id, "grant": d.grant_id, "about": term(d.subject),
            "status": term(d.status, "dispute"),
            "opened by": did(c.chain().chain_id, d.opened_by), "opened": when(d.opened_at),
            "ruling": term(d.ruling) if d.status == "ruled" else "—",
            "refund": _money(c).format(d.refund) if d.status == "ruled" else "—", "evidence": d.evidence_hash}


@dispute.command("list")
@click.option("--open", "only_open", is_flag=True, help="Only open disputes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def dispute_list(c: CliContext, only_open: bool, as_json: bool) -> None:
    """Every dispute of the space, newest first."""
    from chain.contracts import DisputesClient

    disputes = DisputesClient(c.chain())
    records = [d for i in range(disputes.count(), 0, -1) if (d := disputes.get(i)) is not None]
    records = [d for d in records if d.status == "open"] if only_open else records
    if as_json:
        emit_json([{**d.__dict__, "refund": str(d.refund)} for d in records])
        return
    if not records:
        out.print(tr("no disputes"), highlight=False)
        return
    rows = [_dispute_row(c, d) for d in records]
    table(list(rows[0]), [list(r.values()) for r in rows])


@dispute.command("show")
@click.argument("dispute_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def dispute_show(c: CliContext, dispute_id: int, as_json: bool) -> None:
    """One dispute with its evidence trail."""
    from chain.contracts import DisputesClient

    disputes = DisputesClient(c.chain())
    d = disputes.get(dispute_id)
    if d is None:
        raise CliFailure(tr("no dispute {dispute_id} (there are {count})", dispute_id=dispute_id,
                            count=disputes.count()), EXIT_NOT_FOUND)
    evidence = [{"party": str(e["args"]["_party"]), "uri": str(e["args"]["_evidence"]), "block": int(e["blockNumber"])}
                for e in disputes.events("Evidence", _evidenceGroupID=dispute_id)]
    if as_json:
        emit_json({**d.__dict__, "refund": str(d.refund), "evidence": evidence})
        return
    kv(tr("dispute {dispute_id}", dispute_id=dispute_id), _dispute_row(c, d))
    if evidence:
        table(["party", "evidence", "block"], [[did(c.chain().chain_id, e["party"]), e["uri"], e["block"]]
                                               for e in evidence])


# ---- tds consumer sign-statements -----------------------------------------------------------------------


@click.command("sign-statements", cls=Command)
@click.argument("statements_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Where to write the signed statements.")
@click.option("--trust-units", is_flag=True,
              help="Sign without counting the units from your own receipts at the gateway (not advised).")
@pass_cli
def sign_statements(c: CliContext, statements_file: Path, output: Path, trust_units: bool) -> None:
    """Sign the pay-after-use statements addressed to you (EIP-712 UsageStatement) so they can be settled,
    and allow Settlement to take their total from your wallet (ERC-20 approve).

    First each statement's units are counted from your receipts at the provider's gateway (`--gateway`),
    each receipt's proof verified against the chain: if any statement charges more uses than your anchored
    receipts prove, nothing is signed, written or approved.
    """
    from chain.contracts import SettlementClient, TokenClient
    from settlement.statements import read_statements, write_statements
    from settlement.statements import sign_statements as sign

    account = c.account_for("consumer")
    address = SettlementClient(c.chain()).contract.address
    entries = read_statements(statements_file, c.chain().chain_id, address)
    mine = [e for e in entries if e.consumer.lower() == str(account.address).lower()]
    if not mine:
        raise CliFailure(tr("no statement in {file} is addressed to {address}", file=statements_file,
                            address=account.address), EXIT_NOT_FOUND)
    proven = {} if trust_units else _proven_units(c, mine)
    money = _money(c)
    table(["grant", "period", "units", "proven by your receipts", "amount"],
          [[e.statement.grant_id, f"{when(e.statement.period_start)} .. {when(e.statement.period_end)}",
            e.statement.units, tr("not checked") if trust_units else proven[e.statement.grant_id],
            money.format(e.statement.amount)] for e in mine], title=tr("you sign"))
    write_statements(output, c.chain().chain_id, address, sign(entries, account, c.chain().chain_id, address))
    total = sum(e.statement.amount for e in mine)
    tokens = TokenClient(c.chain(), c.chain().sender(account))
    allowance = tokens.allowance(str(account.address), address)
    tokens.approve(address, allowance + total)
    out.print(tr("signed {n} statement(s) -> {file}; Settlement may take {amount} from your wallet when they are "
                 "settled", n=len(mine), file=output, amount=money.format(total)), highlight=False)


def _proven_units(c: CliContext, mine: list[Any]) -> dict[str, int]:
    """grant id -> units your verified receipts prove; raises (nothing signed) when a statement disagrees."""
    from audit.receipts import ReceiptEntry
    from audit.verify import verify_proof
    from cli.commands_gateway import client_call, consumer_client
    from client.sdk import GatewayClientError
    from notary.errors import ProofMalformed
    from notary.proofs import ProofDocument
    from settlement.statements import check_units

    chain = c.chain()
    with consumer_client(c) as client:
        def receipts_of(grant_id: str) -> list[dict[str, Any]]:
            docs: list[dict[str, Any]] = []
            after: int | None = 0
            while after is not None:
                page = client.get_signed(f"/receipts?grant={grant_id}&after={after}&limit=1000").json()
                docs.extend(page["receipts"])
                after = page["next"]
            return docs

        def proves(receipt: Any) -> bool:  # a proof of this very receipt, anchored for the asset's provider
            try:
                doc = ProofDocument.from_json(client.get_signed(f"/receipts/{receipt.receipt_id}/proof").content)
            except (GatewayClientError, ProofMalformed):
                return False
            return ReceiptEntry(receipt, doc).proof_problem() is None and verify_proof(doc, chain).valid

        checks = [client_call(lambda e=e: check_units(e, receipts_of(e.statement.grant_id), proves)) for e in mine]
    problems = [p for p in (check.problem() for check in checks) if p]
    if problems:
        raise CliFailure(tr("not signed, nothing written or approved: {problems}. Ask the provider for the receipts "
                            "behind it (its statement must match what you used), or wait for the pending ones to be "
                            "anchored", problems="; ".join(problems)), EXIT_REJECTED)
    return {check.entry.statement.grant_id: check.proven for check in checks}
