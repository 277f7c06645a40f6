"""Compute-to-data from the command line.

- ``tds algorithm register|list|show``: an algorithm's author packs its code and manifest into a bundle,
  registered on-chain by its SHA-256 and stored at the gateway that holds the data;
- ``tds compute approve|reject|budget|policy|jobs``: the data's provider approves algorithms on a
  compute-only asset, sets its per-grant epsilon budget, and sees the jobs its gateway ran;
- ``tds consumer compute|job|result|cancel``: a consumer runs an approved algorithm under its grant and
  gets its job's state, log tail and released result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from cli.commands_asset import asset_id_arg
from cli.commands_gateway import _gateway, client_call, consumer, consumer_client
from cli.context import CliContext
from cli.errors import CliFailure, NotFound
from cli.help import Group
from cli.lang import N_, term, tr
from cli.output import emit_json, kv, table, titled

pass_cli = click.make_pass_decorator(CliContext)


def register(root: click.Group) -> None:
    """Attach ``algorithm`` and ``compute`` to ``tds`` (the consumer commands attach to its group)."""
    root.add_command(algorithm)
    root.add_command(compute)


def _id(_c: Any, _p: Any, value: str) -> str:
    return asset_id_arg(value)


def _param(value: str) -> tuple[str, Any]:
    """``k=v``: v read as JSON when it is a number, boolean or null, else kept as text."""
    key, sep, text = value.partition("=")
    if not sep or not key:
        raise click.BadParameter(tr("{value!r}: expected NAME=VALUE", value=value), param_hint="--param")
    try:
        parsed = json.loads(text)
    except ValueError:
        return key, text
    return key, parsed if parsed is None or isinstance(parsed, (bool, int, float)) else text


def _meta(c: CliContext) -> Any:
    from gateway.registration import MetadataStore
    from gateway.settings import GatewaySettings

    return MetadataStore(GatewaySettings.load(c.home).gateway_dir / "metadata")


def _title(meta: Any, asset_id: str) -> str:
    return str((meta.get(asset_id) or {}).get("title") or "")


def _manifest_rows(manifest: Any) -> dict[str, Any]:
    r = manifest.resources
    rows: dict[str, Any] = {"name": manifest.name, "entry": manifest.entry, "output": manifest.output_kind,
                            "max output": tr("{n} bytes", n=manifest.max_output_bytes),
                            "resources": tr("cpu {cpu:g} s, memory {memory} MB, {pids} processes, wall {wall:g} s",
                                            cpu=r.cpu_s, memory=r.memory_mb, pids=r.pids, wall=r.wall_s)}
    if manifest.private:
        rows["private values"] = ", ".join(tr("{name} (sensitivity {sensitivity:g})", name=k, sensitivity=v)
                                           for k, v in manifest.dp_values.items())
    if manifest.description:
        rows["description"] = manifest.description
    return rows


# ---- algorithm authors ---------------------------------------------------------------------------------------


@click.group(cls=Group)
def algorithm() -> None:
    """Algorithms for compute-to-data: code registered as an asset by its SHA-256, run next to the data."""


@algorithm.command("register")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="tds-algorithm.json for a single .py file (a directory carries its own).")
@click.option("--title", default=None, help="Title (default: the manifest's name).")
@click.option("--description", default=None, help="Free-text description (default: the manifest's).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def register_algorithm(c: CliContext, path: Path, manifest: Path | None, title: str | None,
                       description: str | None, as_json: bool) -> None:
    """Pack PATH (a directory with tds-algorithm.json, or a .py file with --manifest) into a deterministic
    bundle, store it at this gateway and register it on-chain; its id is the bundle's SHA-256.

    The data's provider then reviews it (`tds algorithm show ID --code`) and approves it on an asset
    (`tds compute approve ASSET ID`). Signs with --as (the author; a participant with the provider role).
    """
    from gateway.jobs import register_algorithm as do_register

    gw = _gateway(c)
    reg, parsed = do_register(gw, path, manifest, title=title, description=description)
    data = {**reg.to_json(), "algorithm_id": reg.asset_id, **_manifest_rows(parsed)}
    emit_json({**reg.to_json(), "algorithm_id": reg.asset_id, "manifest": parsed.to_json()}) if as_json \
        else kv(tr("algorithm registered"), data)


@algorithm.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def list_algorithms(c: CliContext, as_json: bool) -> None:
    """The algorithms this gateway holds (title, output kind, id)."""
    meta = _meta(c)
    rows = []
    for asset_id in meta.ids():
        doc = meta.get(asset_id) or {}
        if doc.get("kind") != "algorithm":
            continue
        m = doc.get("manifest") or {}
        rows.append({"algorithm_id": asset_id, "title": doc.get("title", ""),
                     "output": (m.get("output") or {}).get("kind", ""), "entry": m.get("entry", "")})
    if as_json:
        emit_json({"algorithms": rows})
    else:
        table(["title", "output", "algorithm id"], [[r["title"], r["output"], r["algorithm_id"]] for r in rows],
              title=tr("algorithms"))


@algorithm.command("show")
@click.argument("algorithm_id", callback=_id)
@click.option("--code", is_flag=True, help="Also print the bundle's files and its entry point's source.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def show_algorithm(c: CliContext, algorithm_id: str, code: bool, as_json: bool) -> None:
    """An algorithm's manifest (verified against its hash), for review before approving it."""
    from compute.bundle import members, read_manifest
    from compute.errors import BundleInvalid, ManifestInvalid
    from gateway.errors import AlgorithmUnknown
    from gateway.jobs import algorithm_bundle

    gw = _gateway(c)
    try:
        raw = algorithm_bundle(gw, algorithm_id)
        manifest = read_manifest(raw)
    except AlgorithmUnknown as exc:
        raise NotFound(str(exc)) from None
    except (BundleInvalid, ManifestInvalid) as exc:
        raise CliFailure(tr("{algorithm_id}'s bundle is unusable: {error}", algorithm_id=algorithm_id, error=exc),
                         1) from None
    files = members(raw)
    if as_json:
        doc: dict[str, Any] = {"algorithm_id": algorithm_id, "title": _title(gw.metadata, algorithm_id),
                               "manifest": manifest.to_json(), "files": {k: len(v) for k, v in files.items()}}
        if code:
            doc["entry_source"] = files[manifest.entry].decode("utf-8", "replace")
        emit_json(doc)
        return
    kv(tr("algorithm"), {"algorithm": titled(algorithm_id, _title(gw.metadata, algorithm_id)),
                         **_manifest_rows(manifest),
                         "files": ", ".join(f"{k} ({tr('{n} bytes', n=len(v))})" for k, v in sorted(files.items()))})
    if code:
        click.echo(f"\n--- {manifest.entry} ---")
        click.echo(files[manifest.entry].decode("utf-8", "replace"))


# ---- providers -----------------------------------------------------------------------------------------------


@click.group(cls=Group)
def compute() -> None:
    """Compute-to-data on your assets: approve algorithms, set the privacy budget, see the jobs."""


def _set_approval(c: CliContext, asset_id: str, algorithm_id: str, approved: bool, as_json: bool) -> None:
    gw = _gateway(c)
    meta = gw.metadata
    if gw.compute_policies.is_approved(asset_id, algorithm_id) == approved:
        message = N_("{algorithm} is already approved on {asset}: nothing to change (`tds compute policy ASSET` "
                     "lists the approvals)") if approved else \
            N_("{algorithm} is already not approved on {asset}: nothing to change (`tds compute policy ASSET` lists "
               "the approvals)")
        raise CliFailure(tr(message, algorithm=titled(algorithm_id, _title(meta, algorithm_id)),
                            asset=titled(asset_id, _title(meta, asset_id))), 1)
    receipt = gw.compute_tx().set_approval(asset_id, algorithm_id, approved)
    data = {"asset": titled(asset_id, _title(meta, asset_id)),
            "algorithm": titled(algorithm_id, _title(meta, algorithm_id)), "approved": approved,
            "tx": receipt["transactionHash"].to_0x_hex(), "block": receipt["blockNumber"]}
    note = N_("jobs already submitted keep running; new ones are refused")
    if not approved:
        data["note"] = note
    if as_json:
        emit_json(data)
    else:
        kv(tr("algorithm approved") if approved else tr("algorithm rejected"),
           {**data, "note": tr(note)} if "note" in data else data)


@compute.command("approve")
@click.argument("asset_id", callback=_id)
@click.argument("algorithm_id", callback=_id)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def approve(c: CliContext, asset_id: str, algorithm_id: str, as_json: bool) -> None:
    """Allow ALGORITHM_ID to run on your compute-only ASSET_ID (on-chain; review it first with
    `tds algorithm show ID --code`)."""
    _set_approval(c, asset_id, algorithm_id, True, as_json)


@compute.command("reject")
@click.argument("asset_id", callback=_id)
@click.argument("algorithm_id", callback=_id)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def reject(c: CliContext, asset_id: str, algorithm_id: str, as_json: bool) -> None:
    """Withdraw an approval: ALGORITHM_ID may no longer run on ASSET_ID (jobs already submitted finish)."""
    _set_approval(c, asset_id, algorithm_id, False, as_json)


@compute.command("budget")
@click.argument("asset_id", callback=_id)
@click.argument("epsilon", type=float)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def budget(c: CliContext, asset_id: str, epsilon: float, as_json: bool) -> None:
    """Set the differential-privacy budget of every grant on ASSET_ID: the epsilon its jobs may spend in
    total (0: no private results at all)."""
    from compute import privacy

    try:
        micros = 0 if epsilon == 0 else privacy.epsilon_micros(epsilon)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="EPSILON") from None
    gw = _gateway(c)
    receipt = gw.compute_tx().set_budget(asset_id, micros)
    data = {"asset": titled(asset_id, _title(gw.metadata, asset_id)), "epsilon per grant": micros / privacy.MICROS,
            "block": receipt["blockNumber"]}
    emit_json(data) if as_json else kv(tr("privacy budget set"), data)


@compute.command("policy")
@click.argument("asset_id", callback=_id)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def policy(c: CliContext, asset_id: str, as_json: bool) -> None:
    """An asset's compute policy on-chain: approved algorithms (with their history) and its budget."""
    from compute import privacy

    gw = _gateway(c)
    client = gw.compute_policies
    events = client.approvals(asset_id)
    current: dict[str, bool] = {}
    for e in events:
        current[e["algorithm_id"].lower()] = e["approved"]
    rows = [{"algorithm_id": alg, "title": _title(gw.metadata, alg), "approved": ok} for alg, ok in current.items()]
    data = {"asset_id": asset_id, "title": _title(gw.metadata, asset_id),
            "epsilon_per_grant": client.budget(asset_id) / privacy.MICROS, "algorithms": rows}
    if as_json:
        emit_json(data)
        return
    kv(tr("compute policy"), {"asset": titled(asset_id, data["title"]), "epsilon per grant": data["epsilon_per_grant"],
                              "approved": sum(1 for r in rows if r["approved"]) or tr("none (no algorithm may run)")})
    if rows:
        table(["title", "approved", "algorithm id"], [[r["title"], r["approved"], r["algorithm_id"]] for r in rows])


@compute.command("jobs")
@click.option("--asset", "asset_id", default=None, callback=lambda _c, _p, v: asset_id_arg(v) if v else None)
@click.option("--state", type=click.Choice(["queued", "running", "succeeded", "failed", "cancelled", "timed_out"]),
              default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def jobs(c: CliContext, asset_id: str | None, state: str | None, as_json: bool) -> None:
    """The jobs this gateway ran or runs, oldest first (consumer, algorithm, state, epsilon, CPU, bytes out)."""
    from gateway.jobs import job_view

    gw = _gateway(c)
    filters = {k: v for k, v in (("asset_id", asset_id), ("state", state)) if v}
    views = [{**job_view(gw, j), "consumer": j.consumer} for j in gw.db.jobs(**filters)]
    if as_json:
        emit_json({"jobs": views})
        return
    table(["created", "job", "consumer", "algorithm", "state", "epsilon", "cpu s", "bytes out"],
          [[v["created"], v["job_id"], v["consumer"], _title(gw.metadata, v["algorithm_id"]) or v["algorithm_id"],
            term(v["state"]), v["epsilon"], v["resources"]["cpu_s"], v["output"]["bytes"]] for v in views],
          title=tr("jobs"))


# ---- consumers -----------------------------------------------------------------------------------------------


def _job_rows(job: dict[str, Any]) -> dict[str, Any]:
    res, out = job.get("resources") or {}, job.get("output") or {}
    rows = {"job": job["job_id"], "state": term(job["state"]), "asset": job["asset_id"],
            "algorithm": job["algorithm_id"], "grant": job["grant_id"], "receipt": job["receipt_id"],
            "params": job.get("params") or tr("none"), "epsilon": job.get("epsilon"),
            "exit status": job.get("exit_status"), "cpu": tr("{n:g} s", n=res.get("cpu_s", 0)),
            "memory": tr("{n:g} MB", n=res.get("max_rss_mb", 0)), "wall": tr("{n:g} s", n=res.get("wall_s", 0)),
            "output": f"{out.get('kind')} · {tr('{n} bytes', n=out.get('bytes') or 0)}"
                      + (f" · sha256 {out['sha256']}" if out.get("sha256") else ""),
            "result kept until": out.get("expires"), "created": job.get("created"), "finished": job.get("finished")}
    if job.get("problem"):
        rows["problem"] = job["problem"]
    return rows


def _show_job(job: dict[str, Any], as_json: bool, title: str = "job") -> None:
    if as_json:
        emit_json(job)
        return
    kv(f"{term(title)} {term(job['state'])}", _job_rows(job))
    if job.get("log"):
        click.echo(tr("--- log (stderr tail) ---"), err=True)
        click.echo(job["log"].rstrip("\n"), err=True)


def _save_result(client: Any, job: dict[str, Any], output: Path | None) -> int:
    body = client_call(lambda: client.job_result(job["job_id"]))
    if output is None:
        sys.stdout.write(body.decode("utf-8", "replace").rstrip("\n") + "\n")
    else:
        output.write_bytes(body)
    return len(body)


_ENDED_EXIT = {"succeeded": 0, "cancelled": 1, "failed": 5, "timed_out": 5}


@consumer.command("compute")
@click.argument("asset_id", callback=_id)
@click.argument("algorithm_id", callback=_id)
@click.option("--param", "params", multiple=True, help="Parameter NAME=VALUE for the algorithm (repeatable).")
@click.option("--epsilon", type=float, default=None,
              help="Epsilon this job spends of the grant's budget (differentially private algorithms).")
@click.option("--grant", "grant_id", default=None, help="Use this grant (default: your live grant on the asset).")
@click.option("--purpose", default=None, help="Declared purpose (default: the grant's).")
@click.option("--wait", is_flag=True, help="Wait for the job to end; print (or save) its result.")
@click.option("--timeout", "timeout_s", type=float, default=900.0, show_default=True, help="How long --wait waits (s).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --wait: write the result here (default: stdout).")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@pass_cli
def compute_job(c: CliContext, asset_id: str, algorithm_id: str, params: tuple[str, ...], epsilon: float | None,
                grant_id: str | None, purpose: str | None, wait: bool, timeout_s: float, output: Path | None,
                as_json: bool) -> None:
    """Run an approved algorithm on a compute-only asset under your grant (one use). Only its checked
    result leaves the provider's gateway, never the data. Without --wait, prints the job id to follow with
    `tds consumer job ID`. Exit 0 when the job succeeded (or was queued), 5 when it failed or timed out."""
    if output is not None and not wait:
        raise click.UsageError(tr("-o/--output needs --wait (or fetch later with `tds consumer result JOB -o FILE`)"))
    parsed = dict(_param(p) for p in params)
    with consumer_client(c) as client:
        job = client_call(lambda: client.submit_job(asset_id, algorithm_id, parsed, epsilon=epsilon,
                                                    grant_id=grant_id, purpose=purpose))
        if not wait:
            _show_job(job, as_json, "job")
            return
        try:
            job = client_call(lambda: client.wait_job(job["job_id"], timeout_s=timeout_s))
        except TimeoutError as exc:
            raise CliFailure(tr("{error}; follow it with `tds consumer job {job_id}`", error=exc, job_id=job["job_id"]),
                             1) from None
        if job["state"] != "succeeded":
            job = client_call(lambda: client.job(job["job_id"], logs=True))
            _show_job(job, as_json)
            raise click.exceptions.Exit(_ENDED_EXIT.get(job["state"], 5))
        if as_json:
            if output is not None:
                extra: dict[str, Any] = {"saved": str(output), "bytes_saved": _save_result(client, job, output)}
            else:
                extra = {"result": client_call(lambda: client.job_result(job["job_id"])).decode("utf-8", "replace")}
            emit_json({**job, **extra})
            return
        kv(tr("job succeeded"), _job_rows(job))
        _save_result(client, job, output)
        if output is not None:
            click.echo(tr("result saved to {file}", file=output), err=True)


@consumer.command("job")
@click.argument("job_id")
@click.option("--logs", is_flag=True, help="Include the algorithm's log (the tail of its stderr).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save the released result here (a succeeded job).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def job_state(c: CliContext, job_id: str, logs: bool, output: Path | None, as_json: bool) -> None:
    """A job of yours: state, exit status, CPU, memory, bytes out, receipt; --logs adds the log tail."""
    with consumer_client(c) as client:
        job = client_call(lambda: client.job(job_id, logs=logs))
        _show_job(job, as_json)
        if output is not None:
            if job["state"] != "succeeded":
                raise CliFailure(tr("job {job_id} is {state}: there is no result to save", job_id=job_id,
                                    state=term(job["state"])), 1)
            size = _save_result(client, job, output)
            click.echo(tr("result saved to {file} ({n} bytes)", file=output, n=size), err=True)


@consumer.command("cancel")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def cancel(c: CliContext, job_id: str, as_json: bool) -> None:
    """Cancel a queued or running job of yours (a job cancelled before it started gives its use back)."""
    with consumer_client(c) as client:
        job = client_call(lambda: client.cancel_job(job_id))
    _show_job(job, as_json)
