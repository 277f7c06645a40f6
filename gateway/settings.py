"""Gateway settings: defaults, then ``<home>/config.json`` (section ``"gateway"``), then ``TDS_GATEWAY_*``
(read by the one reader, :mod:`config.reader`).

Paths that are not absolute are taken relative to the TDS home, so one home directory carries a
whole participant's setup (keystore, deployment files, gateway store, database).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from anchoring.journal import journal_dir
from anchoring.settings import NotarySettings
from config.reader import DEFAULT_HOME, read, to_env


ENV_PREFIX = "TDS_GATEWAY_"
NOTARY_MODES = ("process", "thread", "off")


@dataclass(frozen=True)
class GatewaySettings:
    """How one provider's gateway listens, stores, checks and fails closed."""

    home: Path = field(default_factory=lambda: Path(DEFAULT_HOME))
    host: str = "127.0.0.1"
    port: int = 8700
    public_url: str = ""  # how consumers reach this gateway (catalog links); default http://host:port
    # the name signed calls bind this gateway by (its id is keccak256 of it); default: the public URL.
    # Replicas behind one URL share it; no two gateways may (a call signed for one would be good at both)
    gateway_id: str = ""
    db_url: str = ""  # default sqlite:///<home>/gateway/gateway.db
    store_dir: str = "gateway/store"
    master_key_file: str = "gateway/master.key"
    provider_account: str = "provider"
    max_chain_staleness_s: float = 30.0  # refuse when the last good read of the head is older
    max_block_age_s: float | None = None  # refuse when the head block's timestamp is older (BFT chains)
    head_poll_interval_s: float = 1.0
    # a signed call or session call uses a head read that started at most this long before it arrived:
    # 0 = strict (reads are shared between concurrent requests, never older than the request)
    head_max_lag_s: float = 0.0
    worker_threads: int = 8  # threads running request handlers per worker process (0: anyio's default, 40)
    session_ttl_s: int = 300  # lifetime of a bearer session token from POST /session (at most)
    max_body_bytes: int = 64 * 1024
    max_request_ttl_s: int = 300  # a signed request may not expire further ahead than this
    # request head (request line + headers) bounds, enforced while the bytes arrive (431 beyond them)
    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    # rate limits in `limits` notation ("100/second", "10/second;300/minute"); "" = off. Counted in
    # memory per worker process (N workers allow up to N times as much). Per client IP: every request,
    # before anything else; per address: every authenticated call; per consumer: POST /grants (an
    # auto-approved grant is a transaction the provider pays for). Defaults only stop floods.
    rate_limit_per_client: str = "5000/second"
    rate_limit_per_address: str = "2000/second"
    rate_limit_grants_per_consumer: str = "30/minute"
    # proxies whose X-Forwarded-For names the client (comma-separated IPs, "*" = any); "" = none: the
    # client is the TCP peer, so a client cannot pick its own IP to dodge the per-client limit
    trusted_proxies: str = ""
    clock_skew_s: int = 30
    catalog_title: str = "TDS provider catalog"
    # the chain node the console's browser code asks (eth_call) when it checks a proof itself; default: the
    # gateway's own node URL. Set it when browsers reach the node by another address, or not at all ("off")
    console_rpc_url: str = ""
    notary_batch_size: int = 1000  # seal as soon as this many receipts are pending (one anchor tx per batch)
    notary_interval_s: float = 5.0  # ...or when the oldest pending receipt is this old; 0 disables the notary
    # a streamed delivery is sealed once it ended or was cut, or this long after its last checkpoint
    # (a gateway killed mid-stream): its receipt's byte count is then the last checkpoint's
    notary_delivery_grace_s: float = 120.0
    # compute-to-data (gateway.jobs): jobs run at once, how long results are kept, and the ceilings
    # every algorithm's declared resources are clamped to
    compute_workers: int = 2
    compute_result_retention_s: float = 86400.0
    compute_max_cpu_s: float = 600.0
    compute_max_wall_s: float = 900.0
    compute_max_memory_mb: int = 2048
    compute_max_pids: int = 64
    # where inputs are decrypted for a job: "" = /dev/shm (memory) when writable, else <gateway dir>/compute/scratch;
    # a path (relative to home) for inputs larger than /dev/shm
    compute_scratch_dir: str = ""
    # where the notary (seal on size/time, anchor) runs: "process" = one separate process started by
    # `tds gateway serve` / gateway.server.serve (the app runs none); "thread" = inside the app's
    # lifespan (embedded use, tests); "off" = nowhere (seal and anchor with `tds gateway anchor`)
    notary_mode: str = "process"

    def __post_init__(self) -> None:
        if self.notary_mode not in NOTARY_MODES:
            raise ValueError(f"notary_mode must be one of {', '.join(NOTARY_MODES)}, not {self.notary_mode!r}")

    @property
    def notary_enabled(self) -> bool:
        """Whether receipts are sealed and anchored automatically (in some process or thread)."""
        return self.notary_mode != "off" and self.notary_interval_s > 0

    def notary(self) -> NotarySettings:
        """What this gateway's notary needs (its database, the provider's key name, pace, journal)."""
        return NotarySettings(home=self.home, database_url=self.database_url, account=self.provider_account,
                              batch_size=self.notary_batch_size, interval_s=self.notary_interval_s,
                              delivery_grace_s=self.notary_delivery_grace_s, journal_dir=journal_dir(self.gateway_dir))

    @property
    def gateway_dir(self) -> Path:
        """Where the gateway's own files live by default."""
        return self.home / "gateway"

    @property
    def store_path(self) -> Path:
        """The encrypted store's root."""
        return self._resolve(self.store_dir)

    @property
    def master_key_path(self) -> Path:
        """The master key file (hex, mode 0600)."""
        return self._resolve(self.master_key_file)

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of the gateway database."""
        return self.db_url or f"sqlite:///{self.gateway_dir / 'gateway.db'}"

    @property
    def gateway_name(self) -> str:
        """What signed calls bind this gateway by: ``gateway_id``, else the public base URL."""
        return self.gateway_id.strip() or self.base_url

    @property
    def base_url(self) -> str:
        """The URL consumers use (``public_url`` or ``http://host:port``)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def _resolve(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.home / path

    @classmethod
    def load(cls, home: str | Path | None = None, env: Mapping[str, str] | None = None) -> "GatewaySettings":
        """Settings from env (``TDS_HOME``, ``TDS_GATEWAY_<FIELD>``) over config.json's ``"gateway"`` section
        over defaults (:func:`config.reader.read`)."""
        return read(cls, "gateway", ENV_PREFIX, home, env)

    def to_env(self) -> dict[str, str]:
        """The environment variables that :meth:`load` reads back as these settings (for worker processes)."""
        return to_env(self, ENV_PREFIX)

