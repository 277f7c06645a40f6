"""The gateway's configuration of its services: where each backend is and how to call it.

``<gateway dir>/services.json`` (mode 0600) maps a service's asset id to its :class:`ServiceConfig`;
``<gateway dir>/services/<asset id>.json`` holds the registered description bytes (public: the
catalog links them). Neither goes on-chain; the backend URL, its credentials and the HMAC secret are
never shown to consumers. A credential or secret written as ``env:NAME`` is read from the gateway's
environment when a call is made, so the file need not hold it.

The file is re-read when it changes, so ``tds service register`` takes effect on a running gateway.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from services.description import ServiceDescription
from services.errors import ServiceConfigInvalid

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 16 << 20
_HEADER_NAME = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
RESERVED_HEADERS = ("host", "content-length", "transfer-encoding", "connection", "x-tds-")


@dataclass(frozen=True)
class ServiceConfig:
    """How the gateway calls one service's backend."""

    backend: str  # base URL; a call to PATH goes to backend + PATH
    headers: dict[str, str] = field(default_factory=dict)  # sent to the backend on every call (credentials)
    secret: str = ""  # HMAC key of X-TDS-Gateway-Signature: hex, or env:NAME
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    rate: str = ""  # calls per grant and period, a `limits` string such as "60/minute" ("" = none)

    def validate(self) -> "ServiceConfig":
        """This config, or ServiceConfigInvalid naming what to fix."""
        url = httpx.URL(self.backend)
        if url.scheme not in ("http", "https") or not url.host:
            raise ServiceConfigInvalid(f"--backend must be an http(s) URL with a host, got {self.backend[:200]!r}")
        if url.query or url.fragment or url.userinfo:
            raise ServiceConfigInvalid("--backend must not carry a query, a fragment or user:password@ "
                                       "(put credentials in --backend-header)")
        for name, value in self.headers.items():
            low = name.lower()
            if not name or set(name) - _HEADER_NAME or any(low == r or (r.endswith("-") and low.startswith(r))
                                                           for r in RESERVED_HEADERS):
                raise ServiceConfigInvalid(f"backend header {name!r} cannot be set (a reserved or invalid name)")
            if any(c in value for c in "\r\n\0"):
                raise ServiceConfigInvalid(f"backend header {name!r} has a line break in its value")
        if not 0 < self.timeout_s <= 600:
            raise ServiceConfigInvalid("the backend timeout must be in (0, 600] seconds")
        if not 0 < self.max_response_bytes <= 1 << 40:
            raise ServiceConfigInvalid("max_response_bytes must be positive")
        if self.rate:
            from limits import parse_many

            try:
                parse_many(self.rate)
            except ValueError:
                raise ServiceConfigInvalid(f"--rate {self.rate!r} is not a rate: use e.g. '60/minute' or "
                                           "'5/second;100/hour'") from None
        return self

    def secret_bytes(self) -> bytes:
        """The HMAC key: the UTF-8 bytes of the secret's text (ServiceConfigInvalid when an env:NAME secret is
        not set or empty)."""
        value = _resolve(self.secret, "the HMAC secret")
        if not value:
            raise ServiceConfigInvalid("the service has no HMAC secret: register it again with --secret-env")
        return value.encode()

    def backend_headers(self) -> dict[str, str]:
        """The configured headers with env:NAME values read from the environment."""
        return {name: _resolve(value, f"header {name}") for name, value in self.headers.items()}

    def public(self) -> dict[str, Any]:
        """What may be shown to the provider's operator: everything but credential values and the secret."""
        return {"backend": self.backend, "headers": sorted(self.headers), "timeout_s": self.timeout_s,
                "max_response_bytes": self.max_response_bytes, "rate": self.rate,
                "secret": self.secret if self.secret.startswith("env:") else "(stored)"}


def _resolve(value: str, what: str) -> str:
    if not value.startswith("env:"):
        return value
    name = value[4:]
    found = os.environ.get(name)
    if found is None:
        raise ServiceConfigInvalid(f"{what} is read from the environment variable {name}, which is not set "
                                   "in the gateway's environment")
    return found


def new_secret() -> str:
    """A fresh HMAC key (hex)."""
    return secrets.token_hex(32)


class ServiceRegistry:
    """The services of one gateway: configs (re-read on change) and descriptions (parsed once each)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / "services.json"
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._configs: dict[str, ServiceConfig] = {}
        self._descriptions: dict[str, ServiceDescription] = {}

    def _load(self) -> dict[str, ServiceConfig]:
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return self._configs
        with self._lock:
            if stamp is None:
                configs: dict[str, ServiceConfig] = {}
            else:
                data = json.loads(self.path.read_text())
                configs = {k: ServiceConfig(**v) for k, v in data.get("services", {}).items()}
            self._configs, self._stamp = configs, stamp
        return configs

    def ids(self) -> list[str]:
        """The asset ids of the configured services."""
        return sorted(self._load())

    def has(self, asset_id: str) -> bool:
        """Whether ``asset_id`` is one of this gateway's services."""
        return asset_id.lower() in self._load()

    def config(self, asset_id: str) -> ServiceConfig | None:
        """The config of a service, or None."""
        return self._load().get(asset_id.lower())

    def description(self, asset_id: str) -> ServiceDescription | None:
        """The parsed description of a service, or None."""
        asset_id = asset_id.lower()
        found = self._descriptions.get(asset_id)
        if found is None and self.has(asset_id):
            path = self.description_path(asset_id)
            if path.exists():
                found = ServiceDescription(path.read_bytes(), json.loads(path.read_bytes()))
                self._descriptions[asset_id] = found
        return found

    def description_path(self, asset_id: str) -> Path:
        """Where a service's description bytes are kept."""
        return self.directory / "services" / f"{asset_id.lower()}.json"

    def put(self, asset_id: str, description: ServiceDescription, config: ServiceConfig) -> None:
        """Add or replace a service (description file, then the config entry; both written atomically)."""
        config.validate()
        asset_id = asset_id.lower()
        _atomic_write(self.description_path(asset_id), description.raw, 0o644)
        with self._lock:
            data = json.loads(self.path.read_text()) if self.path.exists() else {"version": 1, "services": {}}
            data["services"][asset_id] = asdict(config)
            _atomic_write(self.path, json.dumps(data, indent=2, sort_keys=True).encode(), 0o600)
            self._stamp = None

    def remove(self, asset_id: str) -> None:
        """Forget a service (its registration on-chain stays)."""
        asset_id = asset_id.lower()
        with self._lock:
            if self.path.exists():
                data = json.loads(self.path.read_text())
                if data.get("services", {}).pop(asset_id, None) is not None:
                    _atomic_write(self.path, json.dumps(data, indent=2, sort_keys=True).encode(), 0o600)
            self._stamp = None
        self.description_path(asset_id).unlink(missing_ok=True)
        self._descriptions.pop(asset_id, None)


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
