"""What leaves a job: its one output, checked against the manifest's kind and size before release."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from compute.errors import OutputRejected
from compute.manifest import Manifest


def check(manifest: Manifest, data: bytes) -> Any:
    """Validate ``data`` as the manifest's output kind; return it parsed (json, dp_aggregate) or as text.

    Raises :class:`OutputRejected` (code ``output_too_large`` or ``output_wrong_kind``) saying why.
    """
    if len(data) > manifest.max_output_bytes:
        raise OutputRejected(f"the output is {len(data)} bytes; the manifest declares at most "
                             f"{manifest.max_output_bytes}", "output_too_large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OutputRejected(f"the output is not UTF-8 text, so not {manifest.output_kind}",
                             "output_wrong_kind") from None
    kind = manifest.output_kind
    if kind == "text":
        if "\x00" in text:
            raise OutputRejected("the output holds NUL bytes: not text", "output_wrong_kind")
        return text
    if kind == "csv":
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        except csv.Error as exc:
            raise OutputRejected(f"the output is not CSV: {exc}", "output_wrong_kind") from None
        if not rows:
            raise OutputRejected("the CSV output is empty", "output_wrong_kind")
        return text
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise OutputRejected(f"the output is not JSON: {exc}", "output_wrong_kind") from None
    if kind == "json":
        return value
    if not isinstance(value, dict) or set(value) != set(manifest.dp_values):
        got = ", ".join(sorted(value)) if isinstance(value, dict) else type(value).__name__
        raise OutputRejected(f"a dp_aggregate output is an object of exactly the declared values "
                             f"({', '.join(sorted(manifest.dp_values))}), not {got[:200]}", "output_wrong_kind")
    for key, number in value.items():
        if not isinstance(number, (int, float)) or isinstance(number, bool) or not math.isfinite(number):
            raise OutputRejected(f"dp_aggregate value {key} is not a finite number", "output_wrong_kind")
    return value
