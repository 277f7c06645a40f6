"""Compute-to-data at the gateway: algorithms registered as assets, jobs checked like a fetch, run in the
sandbox (``compute.sandbox``) next to the data, and only their checked result released.

One job, in order (nothing runs before step 4, and a refusal writes a deny record and changes nothing):

1. the caller is a consumer (signed call or session) naming an asset, an algorithm, parameters and, for
   a ``dp_aggregate`` algorithm, an epsilon;
2. the grant is checked exactly as for a fetch, but the asset's policy must be compute-only
   (``gateway.policy.COMPUTE_POLICY``); the asset's provider must have approved the algorithm on-chain
   (ComputePolicies) at the caller's block; the algorithm's bundle must be in this gateway's store and
   match its hash; a sandbox must be available;
3. one use is taken and the job's epsilon reserved from the grant's budget (ComputePolicies'
   ``privacyBudget``) in one transaction with the job's open access record (``Database.submit_job``);
4. a worker thread decrypts the input into a private scratch directory (tmpfs when the machine has
   one), unpacks the bundle, runs it in a fresh sandbox under the manifest's limits (clamped to the
   gateway's) while another thread hashes the input (it must be the asset id, or nothing is released
   and an incident is recorded), checks the output's kind and size, adds Laplace noise to a private result
   (``compute.privacy``) and keeps the released bytes for the consumer until the retention ends;
5. the job's evidence (``notary.jobs``) becomes its receipt's content hash. A job that never ran
   (cancelled while queued, the gateway failing before the sandbox) gives its use back; a job that
   released no private result gives its epsilon back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anchoring.ledger import receipt_id_of
from compute import bundle as bundles
from compute import output as outputs
from compute import privacy, sandbox
from compute.errors import BundleInvalid, ManifestInvalid, OutputRejected, SandboxUnavailable
from compute.manifest import Manifest, Resources
from domain.ids import parse_bytes32
from domain.terms import human_time
from gateway import registration
from gateway.access import FetchAttempt, choose_grant, record_refusal
from gateway.auth import Caller
from gateway.db import JOB_ACTIVE, ComputeJob
from gateway.errors import (
    REPORTED_ERRORS,
    AlgorithmNotApproved,
    AlgorithmUnknown,
    CountExhausted,
    JobParamsInvalid,
    PrivacyBudgetExhausted,
    SandboxUnavailableError,
)
from gateway.policy import COMPUTE_POLICY, AccessContext
from gateway.registration import Registration
from gateway.service import Gateway
from notary.jobs import job_evidence

log = logging.getLogger("tds.gateway.jobs")
EMPTY_SHA256 = "0x" + hashlib.sha256(b"").hexdigest()
MAX_PARAMS_BYTES = 8192
STALE_S = 30.0


# ---- provider: algorithms ------------------------------------------------------------------------------


def register_algorithm(gw: Gateway, path: Path, manifest: Path | None = None, *, title: str | None = None,
                       description: str | None = None) -> tuple[Registration, Manifest]:
    """Pack ``path`` (a directory with tds-algorithm.json, or one .py file with ``manifest``) into its
    bundle, store it (encrypted) and register it on-chain as an algorithm asset (its SHA-256 is the id)."""
    raw, parsed = bundles.pack(path, manifest)
    with tempfile.TemporaryDirectory(prefix="tds-alg-") as tmp:
        file = Path(tmp) / f"{parsed.name[:40].replace('/', '_')}.tar"
        file.write_bytes(raw)
        reg = registration.register_asset(
            file, gw.assets_tx(), gw.grants_tx(), gw.store, gw.metadata, gw.settings.base_url,
            title=title or parsed.name, description=description or parsed.description or None,
            metadata_extra={"kind": "algorithm", "mediaType": "application/x-tar", "manifest": parsed.to_json()})
    gw.catalog_changed()
    return reg, parsed


def algorithm_manifest(gw: Gateway, algorithm_id: str) -> Manifest:
    """The manifest of an algorithm this gateway holds (its bundle verified against its hash)."""
    return bundles.read_manifest(algorithm_bundle(gw, algorithm_id))


def algorithm_bundle(gw: Gateway, algorithm_id: str) -> bytes:
    """An algorithm's bundle from this gateway's store, verified against its id (AlgorithmUnknown if absent)."""
    if not gw.store.has(algorithm_id):
        raise AlgorithmUnknown(f"algorithm {algorithm_id} is not held by this gateway "
                               "(its author registers it here with `tds algorithm register`)")
    reader = gw.store.open_range(algorithm_id, expected_sha256=bytes.fromhex(algorithm_id[2:]))
    try:
        return b"".join(reader)
    finally:
        reader.close()


# ---- consumer: submitting a job ------------------------------------------------------------------------


@dataclass
class JobRequest:
    """What a consumer asks for (the body of POST /compute/jobs)."""

    asset_id: str
    algorithm_id: str
    params: dict[str, Any]
    epsilon: float | None = None
    grant: str | None = None
    purpose: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> "JobRequest":
        """Validate the body; JobParamsInvalid / InvalidId say what is wrong."""
        if not isinstance(data, dict):
            raise JobParamsInvalid('the body must be a JSON object: {"asset_id", "algorithm", "params", ...}')
        unknown = set(data) - {"asset_id", "algorithm", "params", "epsilon", "grant", "purpose"}
        if unknown:
            raise JobParamsInvalid(f"unknown field(s): {', '.join(sorted(unknown))[:200]}")
        params = data.get("params", {})
        if not isinstance(params, dict) or len(params) > 32:
            raise JobParamsInvalid("params must be an object of at most 32 plain values")
        for key, value in params.items():
            if not isinstance(key, str) or not 0 < len(key) <= 64 or \
                    not (value is None or isinstance(value, (str, int, float, bool))):
                raise JobParamsInvalid(f"params.{str(key)[:64]} must be a string, number, boolean or null")
        if len(json.dumps(params, ensure_ascii=False)) > MAX_PARAMS_BYTES:
            raise JobParamsInvalid(f"params are longer than {MAX_PARAMS_BYTES} characters as JSON")
        epsilon = data.get("epsilon")
        if epsilon is not None and (isinstance(epsilon, bool) or not isinstance(epsilon, (int, float))):
            raise JobParamsInvalid("epsilon must be a number")
        purpose = data.get("purpose")
        if purpose is not None and (not isinstance(purpose, str) or not 0 < len(purpose) <= 200):
            raise JobParamsInvalid("purpose must be a string of 1 to 200 characters")
        grant = data.get("grant")
        return cls(parse_bytes32(str(data.get("asset_id", "")), "asset id"),
                   parse_bytes32(str(data.get("algorithm", "")), "algorithm id"), params,
                   None if epsilon is None else float(epsilon),
                   parse_bytes32(str(grant), "grant id") if grant is not None else None, purpose)


def submit_job(gw: Gateway, runner: "JobRunner", caller: Caller, req: JobRequest) -> ComputeJob:
    """Check and queue a job (steps 1-3 of the module docstring); a refusal writes its deny record."""
    attempt = FetchAttempt("POST", "/compute/jobs", req.asset_id, req.grant, req.purpose)
    attempt.consumer, attempt.block = caller.address.lower(), caller.block
    try:
        return _submit(gw, runner, caller, req, attempt)
    except REPORTED_ERRORS as exc:
        record_refusal(gw, attempt, exc)
        raise


def _submit(gw: Gateway, runner: "JobRunner", caller: Caller, req: JobRequest, attempt: FetchAttempt) -> ComputeJob:
    request, grant_id = choose_grant(gw, attempt, caller)
    ctx = AccessContext(gw.view, caller.block, caller.participant, req.asset_id, gw.provider_address,
                        grant_id, request, attempt.purpose, settlement=gw.settlement)
    COMPUTE_POLICY(ctx)
    assert request is not None and grant_id is not None
    policies = gw.compute_policies
    if not policies.is_approved(req.asset_id, req.algorithm_id, caller.block):
        raise AlgorithmNotApproved(f"algorithm {req.algorithm_id} is not approved for asset {req.asset_id} by its "
                                   "provider (`tds compute approve ASSET ALGO`)")
    try:
        manifest = bundles.read_manifest(algorithm_bundle(gw, req.algorithm_id))
    except (BundleInvalid, ManifestInvalid) as exc:
        raise AlgorithmUnknown(f"algorithm {req.algorithm_id}'s bundle is unusable: {exc}") from None
    micros = budget = 0
    if manifest.private:
        if req.epsilon is None:
            raise JobParamsInvalid(f"{manifest.name} releases a differentially private result: give an epsilon")
        try:
            micros = privacy.epsilon_micros(req.epsilon)
        except ValueError as exc:
            raise JobParamsInvalid(str(exc)) from None
        budget = policies.budget(req.asset_id, caller.block)
        if budget == 0:
            raise PrivacyBudgetExhausted(f"asset {req.asset_id} has no privacy budget: its provider sets one with "
                                         "`tds compute budget ASSET EPSILON`")
    elif req.epsilon not in (None, 0, 0.0):
        raise JobParamsInvalid(f"{manifest.name} releases an exact {manifest.output_kind} result: it takes no epsilon")
    try:
        sandbox.bwrap()
    except SandboxUnavailable as exc:
        raise SandboxUnavailableError(str(exc)) from None
    job_id = secrets.token_hex(16)
    params_json = json.dumps(req.params, sort_keys=True, separators=(",", ":"))
    purpose = attempt.declared or request.purpose
    access = {**attempt.record(purpose), "decision": "allow", "code": "ok", "grant_id": grant_id,
              "streaming": True, "checkpoint_at": time.time()}
    job = {"job_id": job_id, "grant_id": grant_id, "consumer": caller.address.lower(), "asset_id": req.asset_id,
           "algorithm_id": req.algorithm_id, "params_json": params_json,
           "params_sha256": "0x" + hashlib.sha256(params_json.encode()).hexdigest(), "epsilon_micros": micros,
           "output_kind": manifest.output_kind}
    access_id, short = gw.db.submit_job(grant_id, request.max_count, access, job, micros, budget)
    if access_id is None:
        if short == "budget":
            left = max(0, budget - gw.db.privacy_spent(grant_id)) / privacy.MICROS
            raise PrivacyBudgetExhausted(f"grant {grant_id} has epsilon {left:g} left of {budget / privacy.MICROS:g}; "
                                         f"this job asks for {micros / privacy.MICROS:g}")
        raise CountExhausted(f"grant {grant_id} has used all {request.max_count} jobs")
    runner.enqueue(job_id)
    row = gw.db.job(job_id)
    assert row is not None
    return row


def receipt_of(gw: Gateway, job: ComputeJob) -> str:
    """The receipt id of a job's access record."""
    return receipt_id_of(job.access_id, gw.db.ledger.of(job.access_id))


def job_view(gw: Gateway, job: ComputeJob, logs: bool = False) -> dict[str, Any]:
    """What the consumer sees of its job (never the input; the log tail only when asked)."""
    def when(ts: float | None) -> str | None:
        return None if ts is None else human_time(int(ts))

    view: dict[str, Any] = {
        "job_id": job.job_id, "state": job.state, "asset_id": job.asset_id, "algorithm_id": job.algorithm_id,
        "grant_id": job.grant_id, "receipt_id": receipt_of(gw, job), "params": json.loads(job.params_json),
        "epsilon": job.epsilon_micros / privacy.MICROS, "exit_status": job.exit_status,
        "resources": {"cpu_s": job.cpu_ms / 1000, "max_rss_mb": round(job.max_rss_kb / 1024, 1),
                      "wall_s": job.wall_ms / 1000, "sandbox_cgroup": job.sandbox or None},
        "output": {"kind": job.output_kind, "bytes": job.bytes_out, "sha256": job.output_sha256,
                   "available": job.state == "succeeded" and not job.result_expired(), "expires": when(job.result_expires_at)},
        "problem": job.problem or None, "created": when(job.created_at), "started": when(job.started_at),
        "finished": when(job.finished_at)}
    if logs:
        view["log"] = job.log_tail
    return view


def result_path(gw: Gateway, job_id: str) -> Path:
    """Where a job's released result is kept (0600) until the retention ends."""
    return gw.settings.gateway_dir / "compute" / "results" / job_id


# ---- running jobs ---------------------------------------------------------------------------------------


class JobRunner:
    """Runs queued jobs on ``compute_workers`` threads of this process."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.pool = ThreadPoolExecutor(max_workers=max(1, gw.settings.compute_workers),
                                       thread_name_prefix="tds-job")
        self.cancels: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._ended = threading.Condition()
        self._generation = 0  # bumped (under _ended) each time a job of this process ends
        self._swept = 0.0

    def enqueue(self, job_id: str) -> None:
        """Queue a submitted job."""
        with self._lock:
            self.cancels[job_id] = threading.Event()
        self.pool.submit(self._safe_run, job_id)

    def cancel(self, job_id: str) -> None:
        """Stop a queued or running job (here, or in whichever process runs it, through the database). A
        queued job ends at once, cancelled and not charged: no worker starts a job once its cancel is asked."""
        self.gw.db.request_cancel(job_id)
        job = self.gw.db.job(job_id)
        if job is not None and job.state == "queued":
            self._finish(job, "cancelled", problem="cancelled before it started", ran=False, states=("queued",))
        with self._lock:
            event = self.cancels.get(job_id)
        if event is not None:
            event.set()

    def wait_ended(self, job_id: str, timeout_s: float) -> ComputeJob | None:
        """The job once it is no longer queued or running, or as it is after ``timeout_s``. Woken when a job
        of this process ends; a job run by another process is seen within half a second."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._ended:
                generation = self._generation
            job = self.gw.db.job(job_id)
            left = deadline - time.monotonic()
            if job is None or job.ended or left <= 0:
                return job
            with self._ended:
                if self._generation == generation:
                    self._ended.wait(min(left, 0.5))

    def recover(self) -> int:
        """At start: jobs a stopped gateway left end as failed (a queued one is not charged). A running job
        is left when its record's checkpoint is older than ``STALE_S`` (its runner ticks every few seconds:
        another live worker's jobs are not touched), a queued one when it waited over an hour."""
        count = 0
        now = time.time()
        left = []
        for job in self.gw.db.jobs(state="running"):
            rec = self.gw.db.accesses(id=job.access_id)
            if not rec or (rec[0].checkpoint_at or 0) < now - STALE_S:
                left.append(job)
        left += [j for j in self.gw.db.jobs(state="queued") if j.created_at < now - 3600]
        for job in left:
            self._finish(job, "failed", problem="the gateway stopped before the job ended; submit it again",
                         ran=job.state == "running")
            count += 1
        return count

    def close(self) -> None:
        """Cancel what runs and stop the threads."""
        with self._lock:
            for event in self.cancels.values():
                event.set()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def sweep(self) -> int:
        """Delete results whose retention ended; returns how many."""
        removed = 0
        now = time.time()
        for job in self.gw.db.jobs(state="succeeded"):
            if job.result_expired(now):
                path = result_path(self.gw, job.job_id)
                if path.exists():
                    path.unlink()
                    removed += 1
        return removed

    def _safe_run(self, job_id: str) -> None:
        try:
            self._run(job_id)
        except Exception:  # noqa: BLE001 - a job's failure must never take the worker down
            log.exception("job %s failed in the gateway", job_id)
            job = self.gw.db.job(job_id)
            if job is not None and not job.ended:
                self._finish(job, "failed", problem="the gateway failed while running the job",
                             ran=job.state == "running")
        finally:
            with self._lock:
                self.cancels.pop(job_id, None)
            if time.monotonic() - self._swept > 60:
                self._swept = time.monotonic()
                self.sweep()

    def _run(self, job_id: str) -> None:
        gw = self.gw
        job = gw.db.job(job_id)
        if job is None:
            return
        if not gw.db.start_job(job_id):
            self._finish(job, "cancelled", problem="cancelled before it started", ran=False)
            return
        job = gw.db.job(job_id)
        assert job is not None
        cancel = self.cancels.get(job_id) or threading.Event()
        scratch = Path(tempfile.mkdtemp(prefix="tds-job-", dir=_scratch_root(gw)))
        try:
            os.chmod(scratch, 0o700)
            raw = algorithm_bundle(gw, job.algorithm_id)
            manifest = bundles.unpack(raw, scratch / "alg")
            data = scratch / "input"
            _decrypt(gw, job.asset_id, data)
            input_hash = _InputHash(data)  # the whole file's SHA-256, on another core while the job runs
            limits = _limits(gw, manifest)

            def tick() -> None:
                gw.db.checkpoint_delivery(job.access_id, 0)  # not sealed as abandoned while it runs
                if gw.db.cancel_requested(job_id):
                    cancel.set()

            outcome = sandbox.run(scratch / "alg", manifest.entry, data, json.loads(job.params_json), limits,
                                  scratch=scratch, cancel=cancel, on_tick=tick)
            digest = input_hash.result()
            if digest != job.asset_id.lower():
                gw.db.record_incident("stored_file_tampered", job.asset_id,
                                      f"job {job_id}: the decrypted input hashes to {digest}, not to the asset id")
                raise RuntimeError(f"the stored input does not match asset {job.asset_id} (an incident is "
                                   "recorded); nothing was released")
        except Exception as exc:  # noqa: BLE001 - the store, the bundle or the sandbox failed: not charged
            log.warning("job %s could not run: %s", job_id, exc)
            self._finish(job, "failed", problem=f"the gateway could not run the job: {str(exc)[:300]}", ran=False)
            return
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        released: bytes | None = None
        problem = outcome.problem
        state = outcome.state
        if state == "succeeded" and outcome.output is not None:
            try:
                value = outputs.check(manifest, outcome.output)
                if manifest.private:
                    doc = privacy.release(manifest, value, job.epsilon_micros)
                    released = json.dumps(doc, sort_keys=True).encode()
                else:
                    released = outcome.output
            except OutputRejected as exc:
                state, problem = "failed", f"{exc.code}: {exc}"
        self._finish(job, state, problem=problem, ran=True, outcome=outcome, released=released)

    def _finish(self, job: ComputeJob, state: str, *, problem: str | None, ran: bool,
                outcome: sandbox.Outcome | None = None, released: bytes | None = None,
                states: tuple[str, ...] = JOB_ACTIVE) -> None:
        gw = self.gw
        now = time.time()
        digest = EMPTY_SHA256 if released is None else "0x" + hashlib.sha256(released).hexdigest()
        expires = None
        if released is not None:
            path = result_path(gw, job.job_id)
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(released)
            expires = now + gw.settings.compute_result_retention_s
        cpu_ms = int(round((outcome.cpu_s if outcome else 0) * 1000))
        values = {"state": state, "problem": (problem or "")[:500], "exit_status": outcome.exit_code if outcome else None,
                  "cpu_ms": cpu_ms, "max_rss_kb": outcome.max_rss_kb if outcome else 0,
                  "wall_ms": int((outcome.wall_s if outcome else 0) * 1000),
                  "bytes_out": len(released or b""), "output_sha256": digest if released is not None else None,
                  "log_tail": outcome.log_tail if outcome else "", "sandbox": outcome.cgroup if outcome else "",
                  "result_expires_at": expires,
                  "finished_at": now}  # the evidence's ``finished`` is int(now): the row must say the same
        private = job.epsilon_micros > 0 and released is not None
        evidence = evidence_of(ComputeJob(**{**job.model_dump(), **values}))  # the row as finish_job writes it
        if gw.db.finish_job(job.job_id, values, evidence, ran=ran, released=private, states=states) is None \
                and released is not None:
            result_path(gw, job.job_id).unlink(missing_ok=True)  # another finisher came first
        with self._ended:
            self._generation += 1
            self._ended.notify_all()


def evidence_of(job: ComputeJob) -> dict[str, Any]:
    """A finished job's evidence document, rebuilt from its row (its SHA-256 is the receipt's content hash)."""
    released = job.output_sha256 is not None
    return job_evidence(
        job=job.job_id, grant=job.grant_id, consumer=job.consumer, asset=job.asset_id, algorithm=job.algorithm_id,
        input_sha256=job.asset_id, params_sha256=job.params_sha256,
        output_sha256=job.output_sha256 or EMPTY_SHA256,
        epsilon_micros=job.epsilon_micros if released and job.epsilon_micros else 0, state=job.state,
        exit_status=job.exit_status, cpu_ms=job.cpu_ms, bytes_out=job.bytes_out,
        started=int(job.started_at or job.created_at), finished=int(job.finished_at or job.created_at))


def _limits(gw: Gateway, manifest: Manifest) -> sandbox.Limits:
    s = gw.settings
    r = manifest.resources.clamped(Resources(s.compute_max_cpu_s, s.compute_max_memory_mb, s.compute_max_pids,
                                             s.compute_max_wall_s))
    return sandbox.Limits(cpu_s=r.cpu_s, memory_bytes=r.memory_mb << 20, pids=r.pids, wall_s=r.wall_s,
                          output_bytes=manifest.max_output_bytes)


def _scratch_root(gw: Gateway) -> Path:
    """A private place for decrypted inputs: ``compute_scratch_dir`` when set, else /dev/shm (memory, never on
    disk) when it exists, else the gateway's own directory."""
    shm = Path("/dev/shm")
    if not gw.settings.compute_scratch_dir and shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    root = (gw.settings._resolve(gw.settings.compute_scratch_dir) if gw.settings.compute_scratch_dir
            else gw.settings.gateway_dir / "compute" / "scratch")
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


class _InputHash:
    """SHA-256 of a decrypted input, computed on a thread (hashlib releases the GIL on large blocks) while
    the sandbox runs: the job's result is released only if it equals the asset id."""

    def __init__(self, path: Path) -> None:
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._hash, args=(path,), name="tds-job-hash", daemon=True)
        self._thread.start()

    def _hash(self, path: Path) -> None:
        try:
            h = hashlib.sha256()
            with open(path, "rb", buffering=0) as fh:
                while block := fh.read(4 << 20):
                    h.update(block)
            self._digest = "0x" + h.hexdigest()
        except BaseException as exc:  # noqa: BLE001 - reported by result()
            self._error = exc

    def result(self) -> str:
        """The digest (0x hex), once the thread is done."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._digest is not None
        return self._digest


def _decrypt(gw: Gateway, asset_id: str, dest: Path) -> None:
    """The asset's plaintext into ``dest`` (0600). Every chunk is authenticated (GCM, bound to the asset id,
    its index and the authenticated header whose SHA-256 must be the asset id) before it is written; the
    whole file's SHA-256 is checked by :class:`_InputHash` while the job runs, before anything is released."""
    reader = gw.store.open_range(asset_id, expected_sha256=bytes.fromhex(asset_id[2:]), hash_full=False)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in reader:
                fh.write(chunk)
    finally:
        reader.close()
