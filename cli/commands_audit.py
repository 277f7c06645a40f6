"""``tds audit index|asset|participant|grant|statement|disputes|check|report|verify-proof``: the auditor's commands.

Wiring and printing only: the work is in :mod:`audit`. Queries refresh the index from the chain
first when the node answers, and otherwise answer from the index as it stands (with a warning).
"""

from __future__ import annotations

import functools
import json
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from audit.check import FileCheck, run_check
from audit.db import IndexDb, database_url
from audit.errors import AuditError, IndexMismatch, IndexUnavailable, NotIndexed
from audit.indexer import Indexer, IndexRun, index_until_stable
from audit.queries import (
    AssetHistory, DisputeEntry, GrantHistory, JobEntry, ParticipantHistory, Statement, asset_history, dispute,
    disputes, epsilon_text, grant_history, index_chain_id, participant_history, statement,
)
from audit.receipts import ReceiptEntry, load_receipts
from audit.report import TokenInfo, amount_text, render_html, report_data
from chain.logs import RpcLogSource
from audit.verify import verify_proof_text
from chain.errors import ChainError
from cli.context import CliContext
from cli.errors import EXIT_ENVIRONMENT, EXIT_ERROR, CliFailure, Mismatch, NotFound, explain
from cli.help import Group
from cli.lang import current, term, tr
from domain.ids import is_bytes32
from cli.output import did, emit_json, err, kv, out, table, titled, when, window, write_text

pass_cli = click.make_pass_decorator(CliContext)
F = TypeVar("F", bound=Callable[..., Any])


def _audit_errors(fn: F) -> F:
    """Translate audit errors into exit codes (5 not indexed, 3 index unusable, 1 bad input)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NotIndexed as exc:
            raise NotFound(explain(exc, str(exc))) from exc
        except (IndexUnavailable, IndexMismatch) as exc:
            raise CliFailure(explain(exc, str(exc)), EXIT_ENVIRONMENT) from exc
        except AuditError as exc:
            raise CliFailure(explain(exc, str(exc)), EXIT_ERROR) from exc

    return wrapper  # type: ignore[return-value]


def _id32(value: str, what: str) -> str:
    text = value.lower()
    if not is_bytes32(text):
        raise click.BadParameter(tr("{value!r} is not a {what} (0x + 64 hex)", value=value, what=term(what)))
    return text


def _db(c: CliContext) -> IndexDb:
    return IndexDb.open(database_url(c.home))


def _indexer(c: CliContext, db: IndexDb) -> Indexer:
    source = RpcLogSource(c.chain())
    return Indexer(db, source, start_block=source.start_block)


def _refreshed(c: CliContext, refresh: bool) -> IndexDb:
    """The index, brought up to the chain's head when the node answers."""
    db = _db(c)
    if refresh:
        try:
            index_until_stable(_indexer(c, db))
        except ChainError as exc:
            err.print(f"[yellow]{tr('warning:')}[/yellow] "
                      f"{tr('answering from the index as it stands ({error})', error=exc)}", highlight=False)
    return db


def _receipts(path: Path | None) -> list[ReceiptEntry] | None:
    return None if path is None else load_receipts(path)


refresh_option = click.option("--refresh/--no-refresh", default=True, show_default=True,
                              help="Index new blocks first (when the node answers).")
receipts_option = click.option("--receipts", "receipts_file", type=click.Path(dir_okay=False, path_type=Path),
                               default=None, help="Receipts file (JSON lines: receipt + proof) to count anchored use.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group(cls=Group)
def audit() -> None:
    """Auditor: rebuild histories from chain events, check proofs, receipts and files, export reports."""


@audit.command("index")
@click.option("--follow", is_flag=True, help="Keep following new blocks until interrupted.")
@click.option("--poll", "poll_s", type=float, default=1.0, show_default=True, help="Seconds between polls.")
@json_option
@pass_cli
@_audit_errors
def index_cmd(c: CliContext, follow: bool, poll_s: float, as_json: bool) -> None:
    """Index the TDS contracts' events into the audit database (SQLite in the home, or TDS_AUDIT_DB_URL)."""
    db = _db(c)
    indexer = _indexer(c, db)
    run = index_until_stable(indexer)
    _print_run(run, as_json)
    if follow:
        stop = threading.Event()
        try:
            while not stop.is_set():
                stop.wait(poll_s)
                run = index_until_stable(indexer)
                if run.events or run.rolled_back_to is not None:
                    _print_run(run, as_json)
        except KeyboardInterrupt:
            stop.set()


def _print_run(run: IndexRun, as_json: bool) -> None:
    if as_json:
        emit_json(run.to_json())
        return
    if run.rolled_back_to is not None:
        out.print(tr("reorg: rolled back to block {block}", block=run.rolled_back_to), highlight=False)
    out.print(tr("indexed blocks {start}..{end}: {n} events", start=run.from_block, end=run.to_block, n=run.events),
              highlight=False)


@audit.command("asset")
@click.argument("asset_id", callback=lambda _c, _p, v: _id32(v, "asset id"))
@receipts_option
@refresh_option
@json_option
@pass_cli
@_audit_errors
def asset_cmd(c: CliContext, asset_id: str, receipts_file: Path | None, refresh: bool, as_json: bool) -> None:
    """An asset's whole history: registration, versions, lineage up and down, grants, use, settlements, its compute
    policy (approved algorithms, privacy budget) and, with --receipts, the compute jobs on it."""
    receipts = _receipts(receipts_file)
    with _refreshed(c, refresh).session() as s:
        history = asset_history(s, asset_id, receipts)
    if as_json:
        emit_json(history.to_json())
        return
    _print_asset(history, _title_of(c))


def _title_of(c: CliContext) -> Callable[[str], str | None]:
    from cli.commands_asset import title_lookup

    return title_lookup(c)


def _print_asset(h: AssetHistory, title_of: Callable[[str], str | None]) -> None:
    a = h.asset

    def name(asset_id: str) -> str:
        return titled(asset_id, title_of(asset_id))

    kv(tr("asset {asset}", asset=name(a.asset_id)), {
        "provider": did(h.chain_id, a.provider), "size": tr("{n:,} bytes", n=a.size), "version": a.version,
        "active": a.active, "metadata": a.metadata_uri,
        "owners": ", ".join(f"{did(h.chain_id, o)} {s / 100:g} %" for o, s in zip(a.owners, a.shares_bps))
        or f"{did(h.chain_id, a.provider)} 100 %",
        "registered": tr("{time}, block {block}, tx {tx}", time=when(a.registered.timestamp),
                         block=a.registered.block, tx=a.registered.tx),
        "deactivated": when(a.deactivated.timestamp) if a.deactivated else False,
        "versions": " -> ".join(f"v{v.version} {name(v.asset_id)}" for v in h.versions),
        "parents": [name(p) for p in h.parents], "derived": [name(x) for x in h.children],
        "ancestors": len({e.parent for e in h.ancestors}), "descendants": len({e.child for e in h.descendants}),
    })
    if h.grants:
        table(["grant", "consumer", "purpose", "window", "max", "settled", "anchored uses", "revoked"],
              [[g.grant_id, did(h.chain_id, g.consumer), g.purpose, window(g.not_before, g.not_after),
                g.max_count or tr("unlimited"), g.settled_count, g.anchored_accesses,
                when(g.revoked.at.timestamp) if g.revoked else False] for g in h.grants], title=tr("grants"))
    _print_compute(h, name)
    _print_jobs(h.jobs, h.chain_id, name)
    _print_timeline(h.timeline, name)


def _print_compute(h: AssetHistory, name: Callable[[str], str]) -> None:
    """The asset's compute policy as it stands: approved algorithms and the per-grant privacy budget."""
    if not (h.approvals or h.budgets or h.jobs):
        return
    state: dict[str, bool] = {}
    for a in h.approvals:
        state[a.algorithm_id] = a.approved
    budget = h.budgets[-1] if h.budgets else None
    kv(tr("compute"), {
        "approved algorithms": [name(g) for g, ok in state.items() if ok] or tr("none"),
        "withdrawn approvals": [name(g) for g, ok in state.items() if not ok] or False,
        "privacy budget": tr("epsilon {epsilon} per grant (set {time}, block {block})",
                             epsilon=epsilon_text(budget.epsilon_micros), time=when(budget.at.timestamp),
                             block=budget.at.block) if budget else tr("none set (no differentially private release)"),
        "jobs": len(h.jobs) if h.jobs else tr("none in the receipts supplied (--receipts FILE with job evidence)"),
    })


def _print_jobs(jobs: tuple[JobEntry, ...], chain_id: int | None, name: Callable[[str], str]) -> None:
    """One line per compute job: when, who, which algorithm, how it ended, the epsilon it spent."""
    if not jobs:
        return

    def state(j: JobEntry) -> str:
        if not j.evidence_matches:
            return tr("{state} (evidence does not match its receipt)", state=term(j.state))
        note = tr(" (never ran, not charged)") if j.decision == "deny" else ""
        return term(j.state) + note + (tr(" (algorithm not approved then)") if j.approved is False else "")

    table(["submitted", "consumer", "algorithm", "state", "epsilon spent", "grant", "job"],
          [[when(j.submitted), did(chain_id, j.consumer), name(j.algorithm_id), state(j),
            epsilon_text(j.epsilon_micros), j.grant_id, j.job_id] for j in jobs], title=tr("compute jobs"))


def _print_timeline(timeline: Any, name: Callable[[str], str] | None = None) -> None:
    def ref(t: Any) -> str:
        return name(t.ref) if name is not None and t.kind in ("algorithm_approved", "algorithm_rejected") else t.ref

    table(["time", "block", "event", "what", "ref"],
          [[when(t.at.timestamp), t.at.block, term(t.kind.replace("_", " "), "event"), t.summary, ref(t)]
           for t in timeline],
          title=tr("timeline"))


@audit.command("participant")
@click.argument("address")
@refresh_option
@json_option
@pass_cli
@_audit_errors
def participant_cmd(c: CliContext, address: str, refresh: bool, as_json: bool) -> None:
    """A participant's history: membership, assets, grants, revocations, anchors, payments (ADDRESS or account name)."""
    address = c.resolve_address(address)
    with _refreshed(c, refresh).session() as s:
        history = participant_history(s, address)
    if as_json:
        emit_json(history.to_json())
        return
    _print_participant(history)


def _print_participant(h: ParticipantHistory) -> None:
    kv(tr("participant {did}", did=did(h.chain_id, h.address)), {
        "address": h.address, "status": term(h.status), "roles": [term(r) for r in h.roles],
        "jurisdiction": h.jurisdiction,
        "credential": h.credential_hash, "assets provided": len(h.assets_provided),
        "grants as consumer": len(h.grants_as_consumer), "revocations made": len(h.revocations_made),
        "roots anchored": len(h.anchors), "revenue received": h.revenue_total,
    })
    _print_timeline(h.timeline)


@audit.command("grant")
@click.argument("grant_id", callback=lambda _c, _p, v: _id32(v, "grant id"))
@receipts_option
@refresh_option
@json_option
@pass_cli
@_audit_errors
def grant_cmd(c: CliContext, grant_id: str, receipts_file: Path | None, refresh: bool, as_json: bool) -> None:
    """A grant's history: the consumer's signed request, issuance, revocation, settlements, anchored use."""
    receipts = _receipts(receipts_file)
    with _refreshed(c, refresh).session() as s:
        history = grant_history(s, grant_id, receipts)
    if as_json:
        emit_json(history.to_json())
        return
    _print_grant(history, _title_of(c))


def _print_grant(h: GrantHistory, title_of: Callable[[str], str | None]) -> None:
    g = h.grant
    kv(tr("grant {grant_id}", grant_id=g.grant_id), {
        "asset": titled(g.asset_id, title_of(g.asset_id)), "consumer": did(h.chain_id, g.consumer),
        "purpose": g.purpose, "window": window(g.not_before, g.not_after),
        "max count": g.max_count or tr("unlimited"), "price": g.price_per_access,
        "signature": g.signature, "issued": tr("{time}, block {block}, tx {tx}", time=when(g.issued.timestamp),
                                               block=g.issued.block, tx=g.issued.tx),
        "revoked": tr("{time}, block {block}, by {who}", time=when(g.revoked.at.timestamp), block=g.revoked.at.block,
                      who=did(h.chain_id, g.revoked.by)) if g.revoked else False,
        "state": term(h.state_at_head.replace("_", " ")), "settled": g.settled_count,
        "anchored uses": g.anchored_accesses, "policy epoch": g.policy_epoch,
        "accepted": tr("{time} by {who}", time=when(g.acceptance.at.timestamp),
                       who=did(h.chain_id, g.acceptance.provider)) if g.acceptance else False,
        "acceptance": g.acceptance.signature if g.acceptance else False,
        "escrow": tr("{model}, {locked} locked, {released} released", model=term(g.escrow.price_model),
                     locked=g.escrow.locked, released=g.escrow.released) if g.escrow else tr("none (free)"),
        "charged": g.settled_amount, "refunded": sum(r.amount for r in g.refunds),
        "disputes": ", ".join(f"#{d.dispute_id} {term(d.status, 'dispute')}" for d in h.disputes) or False,
        "compute jobs": tr("{n}, epsilon {epsilon} spent", n=len(h.jobs),
                           epsilon=epsilon_text(sum(j.epsilon_micros for j in h.jobs if j.evidence_matches)))
                        if h.jobs else False,
    })

    def name(asset_id: str) -> str:
        return titled(asset_id, title_of(asset_id))

    _print_jobs(h.jobs, h.chain_id, name)
    _print_timeline(h.timeline)


def _instant(value: str | None, what: str, end: bool = False) -> int | None:
    """Unix seconds of a DATE option: YYYY-MM-DD (UTC; as ``--to`` the whole day counts), an ISO 8601
    date-time (UTC unless it names an offset) or unix seconds."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + (timedelta(days=1) if end else timedelta())
            return int(datetime.combine(day, datetime.min.time(), timezone.utc).timestamp())
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(tr("{value!r} is not a date: give YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][+HH:MM] or unix "
                                    "seconds", value=value), param_hint=what) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def _token(c: CliContext) -> TokenInfo | None:
    """The settlement token's symbol and decimals, when the node answers."""
    from chain.contracts import TokenClient

    try:
        tokens = TokenClient(c.chain())
        return TokenInfo(tokens.symbol(), tokens.decimals(), tokens.address)
    except Exception:  # noqa: BLE001 - no node, no deployment, a token without symbol(): amounts in base units
        return None


@audit.command("statement")
@click.argument("participant")
@click.option("--from", "from_date", metavar="DATE", default=None,
              help="Start (YYYY-MM-DD or ISO 8601, UTC): settled periods starting then or later, escrow moves since.")
@click.option("--to", "to_date", metavar="DATE", default=None,
              help="End, exclusive (a YYYY-MM-DD includes that day).")
@refresh_option
@json_option
@pass_cli
@_audit_errors
def statement_cmd(c: CliContext, participant: str, from_date: str | None, to_date: str | None, refresh: bool,
                  as_json: bool) -> None:
    """What PARTICIPANT (address or account name) paid and earned per asset and settled period, with the receipts
    root behind each line, and its escrow: deposits, locks, releases, refunds, withdrawals."""
    start, end = _instant(from_date, "--from"), _instant(to_date, "--to", end=True)
    if start is not None and end is not None and end <= start:
        raise click.BadParameter(tr("--to must be after --from"), param_hint="--to")
    address = c.resolve_address(participant)
    with _refreshed(c, refresh).session() as s:
        result = statement(s, address, start, end)
    if as_json:
        emit_json(result.to_json())
        return
    _print_statement(result, _token(c), _title_of(c))


def _print_statement(st: Statement, token: TokenInfo | None, title_of: Callable[[str], str | None]) -> None:
    def money(v: int) -> str:
        return amount_text(v, token)

    beginning = tr("the beginning")
    span = tr("{start} to {end}", start=when(st.period_start, beginning) if st.period_start is not None else beginning,
              end=when(st.period_end) if st.period_end is not None else tr("now"))
    kv(tr("statement of {did}", did=did(st.chain_id, st.participant)), {
        "period": span, "paid": money(st.totals["paid"]), "earned (shares)": money(st.totals["earned_shares"]),
        "earned (royalties)": money(st.totals["earned_royalties"]), "deposited": money(st.totals["deposit"]),
        "locked": money(st.totals["lock"]), "released": money(st.totals["release"]),
        "refunded to you": money(st.totals["refund"]), "refunds from your earnings": money(st.totals["refund_charged"]),
        "withdrawn (deposit)": money(st.totals["withdraw_deposit"]),
        "withdrawn (earnings)": money(st.totals["withdraw_earnings"]),
    })
    if st.lines:
        table(["asset", "period", "paid", "units (free)", "earned shares", "earned royalties", "receipts root"],
              [[titled(x.asset_id, title_of(x.asset_id)), f"{when(x.period_start)} .. {when(x.period_end)}",
                money(x.paid), f"{x.units} ({x.free_units})", money(x.earned_shares), money(x.earned_royalties),
                "\n".join(x.receipts_roots)] for x in st.lines], title=tr("per asset and period"))
    else:
        out.print(tr("no settled periods in this span"), highlight=False)
    if st.escrow:
        table(["time", "block", "what", "amount", "grant"],
              [[when(m.at.timestamp), m.at.block, term(m.kind.replace("_", " "), "event"), money(m.amount),
                m.grant_id or ""] for m in st.escrow], title=tr("escrow"))


@audit.command("disputes")
@click.argument("dispute_id", type=int, required=False)
@click.option("--grant", "grant_id", default=None, help="Only the disputes of this grant (0x + 64 hex).")
@click.option("--open", "only_open", is_flag=True, help="Only disputes not ruled yet.")
@refresh_option
@json_option
@pass_cli
@_audit_errors
def disputes_cmd(c: CliContext, dispute_id: int | None, grant_id: str | None, only_open: bool, refresh: bool,
                 as_json: bool) -> None:
    """Every dispute (争议) from the chain: grant, subject, who opened it, evidence, status, ruling, refund; with
    DISPUTE_ID one dispute in full."""
    grant = _id32(grant_id, "grant id") if grant_id else None
    with _refreshed(c, refresh).session() as s:
        if dispute_id is not None:
            one = dispute(s, dispute_id)
            if as_json:
                emit_json(one.to_json())
            else:
                _print_dispute(one, _token(c))
            return
        found = disputes(s, grant, "open" if only_open else None)
    if as_json:
        emit_json([d.to_json() for d in found])
        return
    if not found:
        out.print(tr("no disputes"), highlight=False)
        return
    token = _token(c)
    table(["id", "grant", "on", "opened", "by", "status", "ruling", "refund"],
          [[d.dispute_id, d.grant_id, term(d.subject), when(d.opened.timestamp), did(d.chain_id, d.opened_by),
            term(d.status, "dispute"), term(d.ruling or ""), amount_text(d.refund, token) if d.ruling else ""]
           for d in found],
          title=tr("disputes"))


def _print_dispute(d: DisputeEntry, token: TokenInfo | None) -> None:
    kv(tr("dispute {dispute_id}", dispute_id=d.dispute_id), {
        "grant": d.grant_id, "asset": d.asset_id or tr("not indexed"), "consumer": did(d.chain_id, d.consumer or ""),
        "provider": did(d.chain_id, d.provider or ""), "subject": term(d.subject),
        "period end": when(d.period_end) if d.period_end else False,
        "opened": tr("{time}, block {block}, by {who}", time=when(d.opened.timestamp), block=d.opened.block,
                     who=did(d.chain_id, d.opened_by)),
        "status": term(d.status, "dispute"), "ruling": term(d.ruling) if d.ruling else False,
        "refund": amount_text(d.refund, token) if d.ruled else False,
        "ruled": tr("{time}, block {block}, by {who}", time=when(d.ruled.timestamp), block=d.ruled.block,
                    who=did(d.chain_id, d.ruled_by or "")) if d.ruled else False,
    })
    table(["time", "party", "evidence hash", "evidence"],
          [[when(e.at.timestamp), did(d.chain_id, e.party), e.evidence_hash, e.evidence_uri or ""]
           for e in d.evidence], title=tr("evidence"))


@audit.command("check")
@receipts_option
@click.option("--store", "store_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Gateway store to check against on-chain hashes (default: the gateway's store_dir, if present).")
@click.option("--master-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The store's master key file (default: the gateway's master_key_file).")
@refresh_option
@json_option
@pass_cli
@_audit_errors
def check_cmd(c: CliContext, receipts_file: Path | None, store_dir: Path | None, master_key: Path | None,
              refresh: bool, as_json: bool) -> None:
    """Does everything add up? Grants behind accesses, use within maxCount, roots, settlements, signatures, compute
    jobs (evidence, approved algorithms, privacy budgets), stored files. Exit 6 if not."""
    receipts = _receipts(receipts_file) or []
    file_check = _file_check(c, store_dir, master_key)
    usage_grants = _usage_grants(c)
    title_of = _title_of(c)
    with _refreshed(c, refresh).session() as s:
        report = run_check(s, receipts, file_check, index_chain_id(s), usage_grants, title_of)
    if as_json:
        emit_json(report.to_json())
    else:
        for f in report.findings:
            out.print(f.line(), highlight=False, soft_wrap=True)
        counted = ", ".join(f"{v} {term(k.replace('_', ' '))}" for k, v in report.counted.items())
        warnings = sum(f.severity == "warning" for f in report.findings)
        notes = sum(f.severity == "info" for f in report.findings)
        if notes:
            counted += tr(" ({n} note(s): INFO lines say what was not checked)", n=notes)
        verdict = tr("FAILED") if not report.ok else tr("no errors, {n} warning(s)", n=warnings) if warnings \
            else tr("clean")
        err.print(tr("{verdict}: checked {counted}", verdict=verdict, counted=counted), highlight=False)
    if not report.ok:
        errors = sum(f.severity == "error" for f in report.findings)
        raise Mismatch(tr("audit check failed: {n} finding(s) do not add up", n=errors))


def _usage_grants(c: CliContext) -> str | None:
    """The UsageGrants address (the grants' EIP-712 domain), when the deployment can be read."""
    try:
        return c.chain().address("UsageGrants")
    except Exception:  # noqa: BLE001 - no node or no deployment: the check says the signatures went unchecked
        return None


def _file_check(c: CliContext, store_dir: Path | None, master_key: Path | None) -> FileCheck | None:
    from gateway.settings import GatewaySettings

    gateway = GatewaySettings.load(c.home)  # where this home's gateway keeps its store and key
    store_dir = store_dir or gateway.store_path
    if not store_dir.is_dir():
        return None
    from vault.store import EncryptedStore, MasterKey  # the CLI may use the vault; audit reads no key itself

    store = EncryptedStore(store_dir, MasterKey.from_file(master_key or gateway.master_key_path))

    def check(asset_id: str) -> bool | None:
        if not store.has(asset_id):
            return None
        return store.verify(asset_id, bytes.fromhex(asset_id[2:]))

    return check


@audit.command("report")
@click.argument("asset_id", callback=lambda _c, _p, v: _id32(v, "asset id"))
@click.option("--format", "fmt", type=click.Choice(["html", "json"]), default="html", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of stdout.")
@receipts_option
@refresh_option
@pass_cli
@_audit_errors
def report_cmd(c: CliContext, asset_id: str, fmt: str, output: Path | None, receipts_file: Path | None,
               refresh: bool) -> None:
    """An asset's audit report: a self-contained HTML page (timeline, lineage graph, grants as signed ODRL
    agreements, money next to use, settlements, disputes, proofs) or JSON."""
    receipts = _receipts(receipts_file)
    chain_id = _chain_id(c)
    title_of = _title_of(c)
    token = _token(c)
    with _refreshed(c, refresh).session() as s:
        if fmt == "html":
            text = render_html(s, asset_id, receipts, chain_id, title_of, token, lang=current())  # --lang / locale
        else:
            text = json.dumps(report_data(s, asset_id, receipts, chain_id, title_of, token), indent=2,
                              ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        size = write_text(output, text)
        err.print(tr("wrote {file} ({n:,} bytes)", file=output, n=size), highlight=False)


def _chain_id(c: CliContext) -> int | None:
    try:
        return c.chain().chain_id
    except ChainError:
        return None


@audit.command("verify-proof")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_cli
@_audit_errors
def verify_proof_cmd(c: CliContext, file: Path, as_json: bool) -> None:
    """Verify a proof document offline, against AnchorRegistry on-chain, and its anchoring tx. Exit 6 if invalid."""
    try:
        text = file.read_bytes()
    except OSError as exc:
        raise NotFound(tr("cannot read proof file {file}: {error}", file=file, error=exc.strerror)) from exc
    verdict = verify_proof_text(text, c.chain())
    if as_json:
        emit_json(verdict.to_json())
        if not verdict.valid:
            raise Mismatch(f"{verdict.reason}")
        return
    for check in verdict.checks:
        out.print(f"ok  {check}", highlight=False, soft_wrap=True)
    if not verdict.valid:
        raise Mismatch(f"{verdict.reason}")
    out.print(tr("valid: the proof holds offline and on-chain"), highlight=False)
