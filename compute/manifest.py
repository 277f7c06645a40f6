"""An algorithm's manifest, ``tds-algorithm.json`` at the root of its bundle::

    {"name": "mean income by region", "entry": "main.py",
     "inputs": ["data"],
     "output": {"kind": "dp_aggregate", "max_bytes": 4096,
                "values": {"mean_income": {"sensitivity": 500.0}, "count": {"sensitivity": 1}}},
     "resources": {"cpu_s": 10, "memory_mb": 256, "pids": 16, "wall_s": 30}}

``entry`` is a Python file of the bundle, run as ``python3 -I -S entry`` inside the sandbox (standard
library only). It reads the input at ``$TDS_INPUT``, its parameters (a JSON object) at ``$TDS_PARAMS``,
and writes its one output to ``$TDS_OUTPUT``. Output kinds: ``json``, ``csv``, ``text`` (released as
written, within ``max_bytes``) and ``dp_aggregate``: a JSON object of the declared ``values`` (numbers),
which the gateway releases with Laplace noise scaled to each value's declared L1 ``sensitivity`` and the
job's epsilon (:mod:`compute.privacy`). The sensitivity is part of what the provider approves: the
algorithm must clamp each person's contribution so that it holds.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from compute.errors import ManifestInvalid

MANIFEST_NAME = "tds-algorithm.json"
KINDS = ("json", "csv", "text", "dp_aggregate")
MAX_OUTPUT_BYTES = 64 << 20
_ENTRY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,99}\.py")
_VALUE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class Resources:
    """What one run may use; the gateway clamps each to its own maxima."""

    cpu_s: float = 10.0
    memory_mb: int = 256
    pids: int = 16
    wall_s: float = 30.0

    def clamped(self, ceiling: "Resources") -> "Resources":
        """Each limit, at most the ``ceiling``'s."""
        return Resources(min(self.cpu_s, ceiling.cpu_s), min(self.memory_mb, ceiling.memory_mb),
                         min(self.pids, ceiling.pids), min(self.wall_s, ceiling.wall_s))


@dataclass(frozen=True)
class Manifest:
    """A parsed, validated manifest."""

    name: str
    entry: str
    output_kind: str
    max_output_bytes: int
    resources: Resources = field(default_factory=Resources)
    dp_values: dict[str, float] = field(default_factory=dict)  # value name -> L1 sensitivity
    description: str = ""

    @property
    def private(self) -> bool:
        """Whether results are released through differential privacy (and spend epsilon)."""
        return self.output_kind == "dp_aggregate"

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON (the canonical shape :func:`parse` reads)."""
        output: dict[str, Any] = {"kind": self.output_kind, "max_bytes": self.max_output_bytes}
        if self.private:
            output["values"] = {k: {"sensitivity": v} for k, v in self.dp_values.items()}
        return {"name": self.name, "description": self.description, "entry": self.entry, "inputs": ["data"],
                "output": output, "resources": asdict(self.resources)}


def parse(raw: bytes | str | dict[str, Any]) -> Manifest:
    """Validate a manifest; raise :class:`ManifestInvalid` naming the field and what it must be."""
    if isinstance(raw, dict):
        data = raw
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ManifestInvalid(f"{MANIFEST_NAME} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ManifestInvalid(f"{MANIFEST_NAME} must be a JSON object")
    unknown = set(data) - {"name", "description", "entry", "inputs", "output", "resources"}
    if unknown:
        raise ManifestInvalid(f"{MANIFEST_NAME}: unknown field(s) {', '.join(sorted(unknown))}")
    name = _text(data.get("name"), "name", 200)
    description = _text(data.get("description", ""), "description", 2000, empty=True)
    entry = data.get("entry")
    if not isinstance(entry, str) or not _ENTRY.fullmatch(entry) or ".." in entry.split("/"):
        raise ManifestInvalid("entry must be the relative path of a .py file of the bundle, e.g. \"main.py\"")
    inputs = data.get("inputs", ["data"])
    if inputs != ["data"]:
        raise ManifestInvalid('inputs must be ["data"]: a job reads one asset')
    output = data.get("output")
    if not isinstance(output, dict):
        raise ManifestInvalid('output must be an object, e.g. {"kind": "json", "max_bytes": 65536}')
    kind = output.get("kind")
    if kind not in KINDS:
        raise ManifestInvalid(f"output.kind must be one of {', '.join(KINDS)}, not {kind!r:.40}")
    max_bytes = output.get("max_bytes", 65536)
    if not _int(max_bytes) or not 0 < max_bytes <= MAX_OUTPUT_BYTES:
        raise ManifestInvalid(f"output.max_bytes must be an integer in 1..{MAX_OUTPUT_BYTES}")
    values: dict[str, float] = {}
    if kind == "dp_aggregate":
        declared = output.get("values")
        if not isinstance(declared, dict) or not declared or len(declared) > 64:
            raise ManifestInvalid('a dp_aggregate output declares its values, e.g. '
                                  '{"values": {"total": {"sensitivity": 100}}} (1 to 64 of them)')
        for key, spec in declared.items():
            if not _VALUE.fullmatch(key):
                raise ManifestInvalid(f"output.values: {key!r:.40} is not a name (letters, digits, _)")
            sens = spec.get("sensitivity") if isinstance(spec, dict) else None
            if not isinstance(sens, (int, float)) or isinstance(sens, bool) or not math.isfinite(sens) or sens <= 0:
                raise ManifestInvalid(f"output.values.{key}.sensitivity must be a positive number")
            values[key] = float(sens)
    elif "values" in output:
        raise ManifestInvalid("output.values is only for kind dp_aggregate")
    res = data.get("resources", {})
    if not isinstance(res, dict) or set(res) - {"cpu_s", "memory_mb", "pids", "wall_s"}:
        raise ManifestInvalid("resources may set cpu_s, memory_mb, pids and wall_s only")
    defaults = Resources()
    resources = Resources(
        cpu_s=_positive(res.get("cpu_s", defaults.cpu_s), "resources.cpu_s"),
        memory_mb=int(_positive(res.get("memory_mb", defaults.memory_mb), "resources.memory_mb", integer=True)),
        pids=int(_positive(res.get("pids", defaults.pids), "resources.pids", integer=True)),
        wall_s=_positive(res.get("wall_s", defaults.wall_s), "resources.wall_s"))
    return Manifest(name, entry, kind, int(max_bytes), resources, values, description)


def _text(value: Any, name: str, limit: int, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()) or len(value) > limit:
        raise ManifestInvalid(f"{name} must be a {'' if empty else 'non-empty '}string of at most {limit} characters")
    return value


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive(value: Any, name: str, integer: bool = False) -> float:
    ok = _int(value) if integer else isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        raise ManifestInvalid(f"{name} must be a positive {'integer' if integer else 'number'}")
    return float(value)
