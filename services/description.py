"""A service's description: an OpenAPI 3 document, validated, and the operations it declares.

The registered bytes are the document as the provider supplied it (its SHA-256 is the asset id, as
for any asset); :meth:`ServiceDescription.match` says whether a call's method and path are declared.
Path templates follow OpenAPI: ``{name}`` stands for one non-empty path segment (or part of one).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from services.errors import DescriptionInvalid

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_DESCRIPTION_BYTES = 1 << 20
MEDIA_TYPE = "application/vnd.oai.openapi+json"
_TEMPLATE = re.compile(r"\{[^{}/]+\}")


@dataclass(frozen=True)
class Operation:
    """One declared operation: method, path template, and the header parameters it declares."""

    method: str  # upper case
    template: str
    operation_id: str | None
    headers: frozenset[str] = field(default_factory=frozenset)  # declared `in: header` parameters, lower case


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    template: str
    literal_segments: int
    operations: dict[str, Operation]


class ServiceDescription:
    """A validated OpenAPI 3 document and its routes."""

    def __init__(self, raw: bytes, document: dict[str, Any]) -> None:
        self.raw = raw
        self.document = document
        self.sha256 = "0x" + hashlib.sha256(raw).hexdigest()
        self._routes = _routes(document)

    @classmethod
    def parse(cls, raw: bytes) -> "ServiceDescription":
        """Validate ``raw`` as an OpenAPI 3 JSON document (DescriptionInvalid naming the first problem)."""
        if len(raw) > MAX_DESCRIPTION_BYTES:
            raise DescriptionInvalid(f"the description is {len(raw)} bytes; at most {MAX_DESCRIPTION_BYTES}")
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise DescriptionInvalid(f"the description is not JSON: {exc}") from None
        if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
            raise DescriptionInvalid("the description must be an OpenAPI 3 document (a JSON object with "
                                     "\"openapi\": \"3.0.x\" or \"3.1.x\")")
        from openapi_spec_validator import validate  # imported on use: it loads its schemas (~0.2 s)

        try:
            validate(document)
        except Exception as exc:  # noqa: BLE001 - the validator's errors have several types
            message = str(getattr(exc, "message", exc)).splitlines()[0][:300]
            raise DescriptionInvalid(f"the description is not valid OpenAPI 3: {message}") from None
        description = cls(raw, document)
        if not description._routes:
            raise DescriptionInvalid("the description declares no operation under \"paths\"")
        return description

    @property
    def title(self) -> str:
        """``info.title``."""
        return str(self.document.get("info", {}).get("title", ""))

    @property
    def version(self) -> str:
        """``info.version``."""
        return str(self.document.get("info", {}).get("version", ""))

    def operations(self) -> list[Operation]:
        """Every declared operation."""
        return [op for route in self._routes for op in route.operations.values()]

    def match(self, method: str, segments: list[str]) -> Operation | None:
        """The declared operation for ``method`` on the path of (percent-decoded) ``segments``, else None.

        A literal path wins over a templated one (OpenAPI: "concrete paths are matched first").
        """
        path = "/" + "/".join(segments)
        for route in self._routes:
            if route.pattern.fullmatch(path):
                return route.operations.get(method.upper())
        return None

    def declares_path(self, segments: list[str]) -> bool:
        """Whether any operation is declared on this path (for 405 vs 404)."""
        path = "/" + "/".join(segments)
        return any(route.pattern.fullmatch(path) for route in self._routes)


def _routes(document: dict[str, Any]) -> list[_Route]:
    routes = []
    for template, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict) or not template.startswith("/"):
            continue
        shared = _header_params(item.get("parameters"))
        operations = {}
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                headers = shared | _header_params(op.get("parameters"))
                operations[method.upper()] = Operation(method.upper(), template, op.get("operationId"),
                                                       frozenset(headers))
        if operations:
            routes.append(_Route(_pattern(template), template, _literals(template), operations))
    routes.sort(key=lambda r: (-r.literal_segments, -len(r.template)))
    return routes


def _header_params(params: Any) -> set[str]:
    return {str(p["name"]).lower() for p in params or [] if isinstance(p, dict) and p.get("in") == "header"
            and isinstance(p.get("name"), str)}


def _pattern(template: str) -> re.Pattern[str]:
    parts, last = [], 0
    for m in _TEMPLATE.finditer(template):
        parts.append(re.escape(template[last:m.start()]))
        parts.append(r"[^/]+")
        last = m.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts))


def _literals(template: str) -> int:
    return sum(1 for seg in template.strip("/").split("/") if seg and not _TEMPLATE.search(seg))


_PCHAR = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+", re.ASCII)
_FORBIDDEN_ESCAPES = re.compile(r"%(?:2[fF]|5[cC]|00|2[eE])", re.ASCII)


def split_raw_path(raw: str) -> list[str] | None:
    """The segments of a raw (still percent-encoded) service path, or None when it is not acceptable.

    Refused: empty segments (``//``), ``.`` and ``..`` (also encoded), encoded ``/``, ``\\`` and NUL,
    characters outside RFC 3986's ``pchar``. What is left cannot leave the backend's base path.
    """
    if not raw or len(raw) > 2048:
        return None
    segments = raw.split("/")
    for seg in segments:
        if not _PCHAR.fullmatch(seg) or _FORBIDDEN_ESCAPES.search(seg) or seg in (".", ".."):
            return None
    return segments


def decoded(segments: list[str]) -> list[str]:
    """The percent-decoded segments (for matching the description's templates)."""
    return [unquote(s) for s in segments]
