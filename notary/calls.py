"""The evidence of one service call, and the digest a call receipt anchors.

A call receipt is an ordinary receipt (same leaf encoding): its ``content_hash`` is the SHA-256 of
the call's evidence document, the canonical JSON (sorted keys, no spaces, UTF-8) of::

    {"v": "tds-call/1", "method": "GET", "target": "/score/42?x=1",
     "request_sha256": "0x...", "status": 200, "response_sha256": "0x...", "bytes": 1024}

``target`` is the path and query sent to the service (without the gateway's ``/services/<id>``
prefix); ``request_sha256`` and ``response_sha256`` are SHA-256 of the request and response bodies
as sent. A consumer holding the answer proves which answer it received: rebuild the document with
the answer's SHA-256, hash it, and show that digest is the ``content_hash`` of an anchored receipt.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

CALL_EVIDENCE_VERSION = "tds-call/1"
EMPTY_SHA256 = "0x" + hashlib.sha256(b"").hexdigest()


def call_evidence(method: str, target: str, request_sha256: str, status: int, response_sha256: str,
                  byte_count: int) -> dict[str, Any]:
    """The evidence document of one call."""
    return {"v": CALL_EVIDENCE_VERSION, "method": method.upper(), "target": target,
            "request_sha256": request_sha256.lower(), "status": int(status),
            "response_sha256": response_sha256.lower(), "bytes": int(byte_count)}


def evidence_digest(evidence: dict[str, Any]) -> str:
    """SHA-256 (0x hex) of the canonical JSON of an evidence document: a call receipt's content hash."""
    data = json.dumps(evidence, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return "0x" + hashlib.sha256(data).hexdigest()


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 0x hex."""
    return "0x" + hashlib.sha256(data).hexdigest()
