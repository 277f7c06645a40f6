"""The evidence of one compute job, and the digest a job receipt anchors.

A job receipt is an ordinary receipt (same leaf encoding): its ``content_hash`` is the SHA-256 of the
job's evidence document, the canonical JSON (sorted keys, no spaces, UTF-8) of::

    {"v": "tds-job/1", "job": "<job id>", "grant": "0x...", "consumer": "0x...", "asset": "0x...",
     "algorithm": "0x...", "input_sha256": "0x...", "params_sha256": "0x...", "output_sha256": "0x...",
     "epsilon_micros": 500000, "state": "succeeded", "exit_status": 0, "cpu_ms": 93, "bytes_out": 214,
     "started": 1764780000, "finished": 1764780001}

``epsilon_micros`` is the differential-privacy budget the job spent, in millionths (0 for a job that
released nothing private), so an auditor adds a grant's jobs up exactly; ``output_sha256`` is the
SHA-256 of the result as released (of nothing when none was); times are unix seconds.
"""

from __future__ import annotations

from typing import Any

from notary.calls import evidence_digest

JOB_EVIDENCE_VERSION = "tds-job/1"
JOB_STATES = ("succeeded", "failed", "timed_out", "cancelled")


def job_evidence(*, job: str, grant: str, consumer: str, asset: str, algorithm: str, input_sha256: str,
                 params_sha256: str, output_sha256: str, epsilon_micros: int, state: str, exit_status: int | None,
                 cpu_ms: int, bytes_out: int, started: int, finished: int) -> dict[str, Any]:
    """The evidence document of one finished job."""
    if state not in JOB_STATES:
        raise ValueError(f"a job's evidence is written when it ends ({', '.join(JOB_STATES)}), not {state!r}")
    return {"v": JOB_EVIDENCE_VERSION, "job": job, "grant": grant.lower(), "consumer": consumer.lower(),
            "asset": asset.lower(), "algorithm": algorithm.lower(), "input_sha256": input_sha256.lower(),
            "params_sha256": params_sha256.lower(), "output_sha256": output_sha256.lower(),
            "epsilon_micros": int(epsilon_micros), "state": state,
            "exit_status": None if exit_status is None else int(exit_status), "cpu_ms": int(cpu_ms),
            "bytes_out": int(bytes_out), "started": int(started), "finished": int(finished)}


__all__ = ["JOB_EVIDENCE_VERSION", "JOB_STATES", "evidence_digest", "job_evidence"]
