"""Compute-to-data: POST /compute/jobs (submit), GET /compute/jobs/{job_id} (state, resources, log tail),
GET /compute/jobs/{job_id}/result (the released result) and POST /compute/jobs/{job_id}/cancel.

A job is the consumer's own: any other caller gets 404 for it, as if it did not exist. The flow and
what is checked before anything runs: ``gateway.jobs``.
"""

from __future__ import annotations

import json
import re
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from domain.ids import BYTES32_PATTERN
from gateway.api.deps import ConsumerCall, GatewayDep, signed_body
from gateway.api.openapi import ERRORS, SIGNED_OR_SESSION
from gateway.auth import Caller
from gateway.db import ComputeJob
from gateway.errors import JobNotFound, MalformedJson, ResultExpired, ResultNotReady
from gateway.jobs import JobRequest, JobRunner, job_view, receipt_of, result_path, submit_job
from gateway.service import Gateway

router = APIRouter(tags=["compute"])
JOB_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_WAIT_S = 30.0
_JOB_ID = re.compile(JOB_ID_PATTERN[1:-1])
_HEX32 = {"type": "string", "pattern": BYTES32_PATTERN}
_JOB_SCHEMA = {"type": "object", "required": ["asset_id", "algorithm"], "additionalProperties": False, "properties": {
    "asset_id": _HEX32, "algorithm": _HEX32, "grant": _HEX32,
    "params": {"type": "object", "maxProperties": 16, "propertyNames": {"minLength": 1, "maxLength": 64},
               "additionalProperties": {"type": ["string", "number", "boolean", "null"], "maxLength": 128}},
    "epsilon": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
    "purpose": {"type": "string", "minLength": 1, "maxLength": 200}}}
_MEDIA = {"dp_aggregate": "application/json", "csv": "text/csv",
          "text": "text/plain; charset=utf-8", "json": "application/json"}


def runner_of(request: Request) -> JobRunner:
    """The app's job runner (``gateway.app`` makes one per process)."""
    return request.app.state.jobs  # type: ignore[no-any-return]


Runner = Annotated[JobRunner, Depends(runner_of)]


async def job_id_param(job_id: Annotated[str, Path(description="a job id",
                                                   json_schema_extra={"pattern": JOB_ID_PATTERN})]) -> str:
    """The path's job id; a malformed one names no job."""
    if not _JOB_ID.fullmatch(job_id):
        raise JobNotFound(f"no job {job_id[:40]!r}")
    return job_id


JobId = Annotated[str, Depends(job_id_param)]


@router.post("/compute/jobs", status_code=202, responses=ERRORS,
             openapi_extra={**SIGNED_OR_SESSION, "requestBody": {"required": True, "content": {
                 "application/json": {"schema": _JOB_SCHEMA}}}})
def post_job(gw: GatewayDep, runner: Runner, caller: ConsumerCall,
             body: Annotated[bytes, Depends(signed_body)]) -> dict[str, Any]:
    """Submit a job: run an approved algorithm on a compute-only asset under your live grant (uses one count;
    a differentially private algorithm spends ``epsilon`` of the grant's budget). Answers 202 with the job."""
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise MalformedJson(f"the body is not JSON: {exc}") from None
    job = submit_job(gw, runner, caller, JobRequest.from_json(data))
    return job_view(gw, job)


@router.get("/compute/jobs/{job_id}", responses=ERRORS, openapi_extra=SIGNED_OR_SESSION)
def get_job(job_id: JobId, gw: GatewayDep, runner: Runner, caller: ConsumerCall,
            logs: Annotated[bool, Query(description="include the log's tail (stdout and stderr)")] = False,
            wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S, description="answer once the job ended, or after "
                                         "this many seconds (long polling; 0: at once)")] = 0,
            ) -> dict[str, Any]:
    """Your job's state, exit status, resource use and result's hash (never the input). With ``wait``, the
    answer comes when the job ends (or the wait is over), so a client need not poll."""
    job = _own(gw, caller, job_id)
    if wait > 0 and not job.ended:
        job = runner.wait_ended(job_id, wait) or job
    return job_view(gw, job, logs)


@router.get("/compute/jobs/{job_id}/result", responses={**ERRORS, 200: {"description": "the released result",
            "content": {"application/json": {"schema": {"type": "object"}}}}}, openapi_extra=SIGNED_OR_SESSION)
def get_result(job_id: JobId, gw: GatewayDep, caller: ConsumerCall) -> Response:
    """The result your job released (X-Content-SHA256 is the hash in its receipt's evidence)."""
    job = _own(gw, caller, job_id)
    if job.state != "succeeded" or job.output_sha256 is None:
        raise ResultNotReady(f"job {job_id} is {job.state}: it has no result"
                             + (f" ({job.problem})" if job.problem else ""))
    path = result_path(gw, job_id)
    if job.result_expired():
        path.unlink(missing_ok=True)  # the housekeeping sweep would within a minute
    if not path.exists():
        raise ResultExpired(f"job {job_id}'s result was deleted after {gw.settings.compute_result_retention_s:g} s; "
                            "run the job again")
    return Response(path.read_bytes(), media_type=_MEDIA.get(job.output_kind, "application/octet-stream"),
                    headers={"X-Content-SHA256": job.output_sha256, "Cache-Control": "no-store",
                             "X-TDS-Receipt": receipt_of(gw, job)})


@router.post("/compute/jobs/{job_id}/cancel", responses=ERRORS, openapi_extra=SIGNED_OR_SESSION)
def cancel_job(job_id: JobId, gw: GatewayDep, runner: Runner, caller: ConsumerCall) -> dict[str, Any]:
    """Stop your queued or running job (a queued one is not charged)."""
    job = _own(gw, caller, job_id)
    if not job.ended:
        runner.cancel(job_id)
    for _ in range(50):  # answer with the state it reached, within a few seconds
        job = _own(gw, caller, job_id)
        if job.ended:
            break
        time.sleep(0.1)
    return job_view(gw, job)


def _own(gw: Gateway, caller: Caller, job_id: str) -> ComputeJob:
    job = gw.db.job(job_id)
    if job is None or job.consumer != caller.address.lower():
        raise JobNotFound(f"no job {job_id} for {caller.address}")
    return job
