"""The gateway's domain operations, shared by the HTTP app and the ``tds`` CLI (no printing).

``Gateway.open(settings)`` wires chain, view, store, database and the provider's signing key;
provider-side functions (register assets, set policies, decide and revoke grants) and the
consumer-facing grant submission live here, outside the HTTP layer.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount

from chain.client import Chain
from anchoring.notary import Notary
from chain.contracts import AnchorsClient, AssetsClient, ComputeClient, GrantsClient, SettlementClient
from chain.eip712 import GatewayDomain, recover_grant_signer, sign_acceptance, signature_problem
from chain.errors import ChainError, ChainUnavailable, ContractRevert
from chain.keys import Keystore
from chain.settings import ChainSettings
from domain import terms
from domain.types import GrantRequest, Policy, PriceModel
from gateway.auth import Authenticator, Caller, SessionKeys
from chain.view import ChainView
from gateway.db import Database, GrantRequestRow, GrantState
from gateway.errors import (
    AcceptanceInvalid,
    AccessDenied,
    AssetInactive,
    BadSignature,
    ChainUnavailableError,
    DepositTooSmall,
    GatewayError,
    GrantAlreadyRevoked,
    GrantExists,
    GrantMissing,
    GrantNotPending,
    GrantNotYours,
    GrantTermsInvalid,
    JurisdictionNotAllowed,
    NotFound,
    NonCanonicalSignature,
    NotMember,
    ParticipantSuspended,
    PolicyChanged,
    PurposeNotAllowed,
    RequestExpired,
)
from gateway import registration
from gateway.catalog_index import CatalogIndex
from gateway.policy import AccessContext, asset_served, grant_id_of
from gateway.registration import MetadataStore, Registration
from notary.errors import FileUnreadable
from services.description import MEDIA_TYPE, ServiceDescription
from services.registry import ServiceConfig, ServiceRegistry
from vault.store import MASTER_KEY_ENV, EncryptedStore, MasterKey
from gateway.settings import GatewaySettings


@dataclass
class Gateway:
    """Everything a provider's gateway needs, built once (no globals)."""

    settings: GatewaySettings
    chain: Chain
    db: Database
    store: EncryptedStore
    provider_address: str
    provider: LocalAccount | None = None  # None: read-only (cannot issue or revoke)
    view: ChainView = field(init=False)
    auth: Authenticator = field(init=False)
    metadata: MetadataStore = field(init=False)
    services: ServiceRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.metadata = MetadataStore(self.settings.gateway_dir / "metadata")
        self.services = ServiceRegistry(self.settings.gateway_dir)
        self.view = ChainView(self.chain, self.settings.max_chain_staleness_s, self.settings.max_block_age_s)
        self.auth = Authenticator(
            self.domain, self.view, self.db, self.settings.max_request_ttl_s, self.settings.clock_skew_s,
            sessions=SessionKeys.for_gateway(self.store.derive_key, self.domain),
        )
        self._grants_tx: GrantsClient | None = None
        self._settlement: SettlementClient | None = None
        self._catalog_index: CatalogIndex | None = None
        self._catalog_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        settings: GatewaySettings,
        chain_settings: ChainSettings | None = None,
        *,
        chain: Chain | None = None,
        store: EncryptedStore | None = None,
        db: Database | None = None,
        provider: LocalAccount | None = None,
    ) -> "Gateway":
        """Connect to the chain, open store, database and the provider's keystore entry."""
        chain_settings = chain_settings or ChainSettings.load(settings.home)
        chain = chain or _connect(chain_settings)
        if provider is None:
            provider = Keystore(chain_settings.keystore_dir).account(settings.provider_account)
        store = store or EncryptedStore(settings.store_path, load_master_key(settings))
        db = db or Database.connect(settings.database_url)
        return cls(settings, chain, db, store, str(provider.address), provider)

    @property
    def chain_id(self) -> int:
        """The chain id."""
        return self.chain.chain_id

    @property
    def domain(self) -> GatewayDomain:
        """What every signed call to this gateway binds (chain, UsageGrants, provider, gateway id)."""
        return GatewayDomain.named(self.chain_id, self.usage_grants, self.provider_address,
                                   self.settings.gateway_name)

    @property
    def usage_grants(self) -> str:
        """The UsageGrants address (also the EIP-712 verifyingContract of both domains)."""
        return self.chain.address("UsageGrants")

    def grants_tx(self) -> GrantsClient:
        """A UsageGrants client that signs as the provider."""
        if self.provider is None:
            raise GatewayError("this gateway has no provider key: it cannot issue or revoke grants")
        if self._grants_tx is None:
            self._grants_tx = GrantsClient(self.chain, self.chain.sender(self.provider))
        return self._grants_tx

    @property
    def settlement(self) -> SettlementClient:
        """A read-only Settlement client (deposits and escrow accounts; read through ``view.cached``)."""
        if self._settlement is None:
            self._settlement = SettlementClient(self.chain)
        return self._settlement

    @property
    def compute_policies(self) -> ComputeClient:
        """A read-only ComputePolicies client (approved algorithms, privacy budgets)."""
        client = getattr(self, "_compute", None)
        if client is None:
            client = self._compute = ComputeClient(self.chain)
        return client

    def catalog_changed(self) -> None:
        """This gateway registered an asset or changed a policy: its catalog index (if built) refreshes on the next
        request (``CatalogIndex.touch``)."""
        if self._catalog_index is not None:
            self._catalog_index.touch()

    @property
    def catalog_index(self) -> CatalogIndex:
        """This gateway's catalog rows for search, kept current from chain events (built on first use)."""
        with self._catalog_lock:
            if self._catalog_index is None:
                self._catalog_index = CatalogIndex(self)
            return self._catalog_index

    def compute_tx(self) -> ComputeClient:
        """A ComputePolicies client that signs as the provider (approve, reject, set budgets)."""
        if self.provider is None:
            raise GatewayError("this gateway has no provider key: it cannot approve algorithms")
        return ComputeClient(self.chain, self.grants_tx().sender)

    def assets_tx(self) -> AssetsClient:
        """An AssetRegistry client that signs as the provider."""
        if self.provider is None:
            raise GatewayError("this gateway has no provider key: it cannot register assets")
        return AssetsClient(self.chain, self.chain.sender(self.provider))

    def anchors_tx(self) -> AnchorsClient:
        """An AnchorRegistry client that signs as the provider (shares the grants client's nonce tracking)."""
        if self.provider is None:
            raise GatewayError("this gateway has no provider key: it cannot anchor roots")
        return AnchorsClient(self.chain, self.grants_tx().sender)

    def notary(self) -> Notary:
        """This gateway's notary, in this process: its database, AnchorRegistry signed by the provider key
        (sharing the grants client's nonce tracking; read-only without a key)."""
        anchors = self.anchors_tx() if self.provider is not None else AnchorsClient(self.chain)
        ns = self.settings.notary()
        return Notary(self.db.engine, anchors, chain_id=self.chain_id, contract=self.chain.address("AnchorRegistry"),
                      batch_size=ns.batch_size, provider=self.provider_address, journal_dir=ns.journal_dir,
                      delivery_grace_s=ns.delivery_grace_s)

    def grant_id(self, request: GrantRequest) -> str:
        """The id UsageGrants gives ``request`` (computed locally)."""
        return grant_id_of(self.chain_id, self.usage_grants, request)


def _connect(chain_settings: ChainSettings) -> Chain:
    try:
        return Chain.connect(chain_settings)
    except ChainUnavailable as exc:
        raise ChainUnavailableError(str(exc)) from exc


def load_master_key(settings: GatewaySettings) -> MasterKey:
    """From ``TDS_GATEWAY_MASTER_KEY``, else the key file (created on first use, mode 0600)."""
    if os.environ.get(MASTER_KEY_ENV):
        return MasterKey.from_env()
    path = settings.master_key_path
    return MasterKey.from_file(path) if path.exists() else MasterKey.generate(path)


# ---- provider: assets and policies --------------------------------------------------------------


def register_asset(
    gw: Gateway,
    path: str | Path,
    policy: Policy,
    *,
    title: str | None = None,
    description: str | None = None,
    parents: tuple[str, ...] = (),
    owners: tuple[str, ...] = (),
    shares_bps: tuple[int, ...] = (),
    previous_version: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Registration:
    """Hash, store encrypted, register on-chain and set the policy (see :mod:`gateway.registration`)."""
    try:
        return registration.register_asset(
            Path(path), gw.assets_tx(), gw.grants_tx(), gw.store, gw.metadata, gw.settings.base_url,
            title=title, description=description, parents=parents, owners=owners, shares_bps=shares_bps,
            previous_version=previous_version, policy=policy, progress=progress,
        )
    finally:
        gw.catalog_changed()


def register_service(
    gw: Gateway,
    description_path: str | Path,
    config: ServiceConfig,
    policy: Policy,
    *,
    title: str | None = None,
    description: str | None = None,
    owners: tuple[str, ...] = (),
    shares_bps: tuple[int, ...] = (),
    previous_version: str | None = None,
) -> Registration:
    """Register an API as a service asset: its OpenAPI 3 description (validated; its SHA-256 is the asset id)
    goes on-chain like any asset, the backend's URL, credentials and limits into this gateway's service
    configuration (never on-chain). Nothing is left behind when the description, the config or the chain
    refuses."""
    path = Path(description_path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileUnreadable(str(path), exc.strerror or str(exc)) from None
    parsed = ServiceDescription.parse(raw)
    config.validate()
    asset_id = parsed.sha256
    known = gw.services.has(asset_id)
    if not known:
        gw.services.put(asset_id, parsed, config)
    endpoint = f"{gw.settings.base_url.rstrip('/')}/services/{asset_id}"
    try:
        return registration.register_asset(
            path, gw.assets_tx(), gw.grants_tx(), None, gw.metadata, gw.settings.base_url,
            title=title or parsed.title or None, description=description, owners=owners, shares_bps=shares_bps,
            previous_version=previous_version, policy=policy,
            metadata_extra={"kind": "service", "mediaType": MEDIA_TYPE, "endpointURL": endpoint + "/",
                            "endpointDescription": endpoint, "serviceVersion": parsed.version})
    except BaseException:
        if not known:
            gw.services.remove(asset_id)
        raise
    finally:
        gw.catalog_changed()


def set_policy(gw: Gateway, asset_id: str, policy: Policy) -> str:
    """Replace an asset's usage policy; returns the tx hash."""
    try:
        return str(gw.grants_tx().set_policy(asset_id, policy)["transactionHash"].to_0x_hex())
    finally:
        gw.catalog_changed()


# ---- consumer: grant requests (called by POST /grants) ----------------------------------------------


def submit_grant_request(gw: Gateway, caller: Caller, request: GrantRequest, signature: str) -> GrantRequestRow:
    """Check a consumer-signed request against the asset's policy; auto-issue or keep it pending.

    A prepaid or subscription request is refused (DepositTooSmall, nothing stored or sent) while the
    consumer's free deposit does not cover its lock, whether it would be issued now or wait for approval.
    """
    if request.consumer.lower() != caller.address.lower():
        raise GrantNotYours("request.consumer must be the address that signs the call")
    problem = signature_problem(signature)  # what UsageGrants (OpenZeppelin ECDSA) would refuse
    if problem is not None:
        raise NonCanonicalSignature(f"the grant request signature is not canonical: {problem}")
    try:
        signer = recover_grant_signer(gw.chain_id, gw.usage_grants, request, signature)
    except Exception as exc:  # malformed signature bytes
        raise BadSignature("grant request signature cannot be recovered") from exc
    if signer.lower() != request.consumer.lower():
        raise BadSignature("grant request is not signed by request.consumer (see GET /eip712 grantRequest)")
    block = caller.block
    ctx = AccessContext(gw.view, block, caller.participant, request.asset_id, gw.provider_address)
    asset_served(ctx)
    _check_terms(gw, request, caller, block)
    grant_id = gw.grant_id(request)
    policy = gw.view.policy(request.asset_id, block)
    assert policy is not None
    check_deposit(gw, request, block)  # before any row: a refused request leaves nothing behind
    state = GrantState.APPROVED if policy.auto_approve else GrantState.PENDING
    if not gw.db.add_grant_request(grant_id, request, signature, state):
        existing = gw.db.grant_request(grant_id)
        # a request the chain refused may be submitted again: with the signature it carries now
        if existing is None or not gw.db.transition(grant_id, (GrantState.FAILED,), state, signature=signature):
            raise GrantExists(f"grant request {grant_id} exists ({existing.state if existing else 'unknown'})",
                              grant_id=grant_id)
    if state == GrantState.APPROVED:
        _issue(gw, grant_id)
    row = gw.db.grant_request(grant_id)
    assert row is not None
    return row


def _check_terms(gw: Gateway, r: GrantRequest, caller: Caller, block: int) -> None:
    """The request's terms against the asset's policy at ``block`` (domain.terms), on both clocks."""
    policy = gw.view.policy(r.asset_id, block)
    if policy is None:
        raise NotFound(f"asset {r.asset_id} has no usage policy")
    refusal = terms.issuance_refusal(r, policy, gw.view.block_time(block), int(time.time()))
    if refusal is None:
        allowed = gw.view.purpose_allowed(r.asset_id, r.purpose, block)
        refusal = terms.purpose_refusal(r.asset_id, r.purpose, allowed)
    if refusal is None:
        region = caller.participant.jurisdiction
        allowed = gw.view.jurisdiction_allowed(r.asset_id, region, block)
        refusal = terms.jurisdiction_refusal(r.asset_id, region, allowed)
    if refusal is not None:
        raise _TERM_ERRORS.get(refusal.term, GrantTermsInvalid)(refusal.message)


def check_deposit(gw: Gateway, request: GrantRequest, block: int | None = None) -> None:
    """Refuse (DepositTooSmall) a prepaid or subscription request whose consumer's free deposit in
    Settlement at ``block`` (default: the head) is smaller than the lock UsageGrants would take
    (``domain.terms.escrow_lock``); free and pay-after-use requests lock nothing and pass."""
    block = gw.view.head().number if block is None else block
    policy = gw.view.policy(request.asset_id, block)
    if policy is None:
        raise NotFound(f"asset {request.asset_id} has no usage policy")
    needed = terms.escrow_lock(request, PriceModel(policy.price_model), policy.period)
    if not needed:
        return
    consumer = request.consumer
    available = gw.view.cached(("deposit", consumer.lower()), block,
                               lambda: gw.settlement.deposit_of(consumer, block))
    if available < needed:
        raise deposit_too_small(request, PriceModel(policy.price_model), needed, available)


def deposit_too_small(request: GrantRequest, model: PriceModel, needed: int, available: int) -> DepositTooSmall:
    """The refusal of a grant whose lock the consumer's free deposit does not cover, naming the fix."""
    what = (f"{request.max_count} uses x {request.price_per_access}" if model is PriceModel.PREPAID
            else f"every started period of the window x {request.price_per_access}")
    short = needed - available
    return DepositTooSmall(
        f"this {model.label} grant locks {needed} ({what}; base units of the settlement token) from your free "
        f"deposit in Settlement, which holds {available}: deposit at least {short} more "
        f"(`tds escrow deposit base:{short}`), then request the grant again",
        needed=needed, available=available, missing=short)


_TERM_ERRORS: dict[terms.Term, type[GatewayError]] = {
    terms.Term.EPOCH: PolicyChanged,
    terms.Term.DEADLINE: RequestExpired,
    terms.Term.PURPOSE: PurposeNotAllowed,
    terms.Term.JURISDICTION: JurisdictionNotAllowed,
}
"""The gateway error of a refused term (every other term: GrantTermsInvalid)."""


_REVERTS: dict[str, type[GatewayError]] = {
    "GrantPurposeNotAllowed": PurposeNotAllowed,
    "GrantJurisdictionNotAllowed": JurisdictionNotAllowed,
    "GrantWindowInvalid": GrantTermsInvalid,
    "GrantCountInvalid": GrantTermsInvalid,
    "GrantPriceMismatch": GrantTermsInvalid,
    "GrantRequestExpired": RequestExpired,
    "GrantInvalidSignature": BadSignature,
    "GrantAlreadyIssued": GrantExists,
    "GrantUnknown": GrantMissing,
    "GrantAlreadyRevoked": GrantAlreadyRevoked,
    "ParticipantNotActive": ParticipantSuspended,
    "ParticipantUnknown": NotMember,
    "ParticipantMissingRole": NotMember,
    "AssetInactive": AssetInactive,
    "AssetUnknown": NotFound,
    "GrantPolicyMissing": NotFound,
    "GrantPolicyChanged": PolicyChanged,
    "GrantInvalidAcceptance": AcceptanceInvalid,
    "EscrowDepositTooSmall": DepositTooSmall,
}


def translate_revert(exc: ContractRevert, request: GrantRequest | None = None,
                     model: PriceModel | None = None) -> GatewayError:
    """The gateway error for a UsageGrants/registry/Settlement revert, its message naming the fix."""
    args = exc.error_args
    if exc.error_name == "EscrowDepositTooSmall" and request is not None and model is not None:
        return deposit_too_small(request, model, int(args["needed"]), int(args["available"]))
    if exc.error_name == "GrantPolicyChanged":
        return PolicyChanged(f"the asset's policy changed (epoch {args.get('current')} is current, the request "
                             f"agrees to epoch {args.get('requested')}): fetch the offer again and sign a new request")
    if exc.error_name == "GrantInvalidAcceptance":
        return AcceptanceInvalid(f"UsageGrants refused this gateway's acceptance signature ({exc}): the gateway's "
                                 "provider key is not the asset's provider, or the gateway signs for another "
                                 "UsageGrants deployment; check provider_account and the deployment file")
    return _REVERTS.get(exc.error_name, AccessDenied)(f"refused on-chain: {exc}")


def _issue(gw: Gateway, grant_id: str) -> None:
    """Put an APPROVED request on-chain with the provider's EIP-712 acceptance (ISSUED, else FAILED)."""
    row = gw.db.grant_request(grant_id)
    assert row is not None
    request = row.request()
    try:
        grants = gw.grants_tx()
        assert gw.provider is not None  # grants_tx() refuses a gateway without a provider key
        acceptance = sign_acceptance(gw.provider, gw.chain_id, gw.usage_grants, grant_id)
        issued_id, receipt = grants.issue(request, row.signature, acceptance)
    except ContractRevert as exc:
        gw.db.transition(grant_id, (GrantState.APPROVED,), GrantState.FAILED, reason=str(exc))
        raise translate_revert(exc, request, _price_model(gw, request)) from exc
    except ChainError as exc:
        gw.db.transition(grant_id, (GrantState.APPROVED,), GrantState.FAILED, reason=str(exc))
        raise ChainUnavailableError(f"could not put the grant on-chain: {exc}") from exc
    assert issued_id == grant_id, "local EIP-712 digest differs from the contract's"
    gw.db.transition(grant_id, (GrantState.APPROVED,), GrantState.ISSUED, tx=receipt["transactionHash"].to_0x_hex())


# ---- provider: deciding and revoking grants ------------------------------------------------------------


def list_grant_requests(gw: Gateway, state: GrantState | None = None) -> list[GrantRequestRow]:
    """Grant requests known to this gateway, oldest first."""
    return gw.db.grant_requests(state=state)


def _price_model(gw: Gateway, request: GrantRequest) -> PriceModel:
    """The price model of the policy epoch ``request`` agrees to (best effort, for messages: FREE if unread)."""
    try:
        return gw.view.grants.pricing_of(request.asset_id, request.policy_epoch)[0]
    except Exception:  # noqa: BLE001 - only a message depends on it
        return PriceModel.FREE


def approve_grant(gw: Gateway, grant_id: str) -> GrantRequestRow:
    """Approve a pending request: the provider puts the grant on-chain with the consumer's signature
    and its own acceptance. A prepaid or subscription request whose consumer has not deposited its lock
    stays pending (DepositTooSmall): approve it again once the deposit is there."""
    grant_id = grant_id.lower()
    row = gw.db.grant_request(grant_id)
    if row is None:
        raise NotFound(f"no grant request {grant_id}")
    if row.state in (GrantState.PENDING.value, GrantState.FAILED.value):
        check_deposit(gw, row.request())
    if not gw.db.transition(grant_id, (GrantState.PENDING, GrantState.FAILED), GrantState.APPROVED):
        raise GrantNotPending(f"grant request {grant_id} is not pending")
    _issue(gw, grant_id)
    row = gw.db.grant_request(grant_id)
    assert row is not None
    return row


def deny_grant(gw: Gateway, grant_id: str, reason: str = "") -> GrantRequestRow:
    """Deny a pending request (nothing goes on-chain)."""
    grant_id = grant_id.lower()
    if gw.db.grant_request(grant_id) is None:
        raise NotFound(f"no grant request {grant_id}")
    if not gw.db.transition(grant_id, (GrantState.PENDING,), GrantState.DENIED, reason=reason or "denied"):
        raise GrantNotPending(f"grant request {grant_id} is not pending")
    row = gw.db.grant_request(grant_id)
    assert row is not None
    return row


def revoke_grant(gw: Gateway, grant_id: str) -> str:
    """Revoke an issued grant on-chain (effective from the next block); returns the tx hash."""
    grant_id = grant_id.lower()
    row = gw.db.grant_request(grant_id)
    request = row.request() if row is not None else gw.view.request_of(grant_id)
    if request is None:
        raise NotFound(f"no issued grant {grant_id}")
    try:
        receipt = gw.grants_tx().revoke(request)
    except ContractRevert as exc:
        raise translate_revert(exc) from exc
    if row is not None:
        gw.db.transition(grant_id, (GrantState.ISSUED,), GrantState.REVOKED, reason="revoked by provider")
    return str(receipt["transactionHash"].to_0x_hex())

