"""Typed clients for the TDS contracts: Python values in, frozen value types out.

Writes need a :class:`chain.tx.TxSender`; reads do not. Custom errors surface as
``chain.errors.revert_class(<ErrorName>)`` exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.types import TxReceipt

from chain.client import Chain, guarded
from chain.errors import ChainError
from chain.tx import TxSender
from domain.types import (
    Asset,
    Grant,
    GrantRequest,
    GrantStatus,
    Liveness,
    Participant,
    ParticipantStatus,
    Policy,
    PriceModel,
    Role,
)

ZERO32 = "0x" + "00" * 32


def b32(value: str) -> bytes:
    """A 0x-prefixed 32-byte hex string as bytes (strict)."""
    text = value[2:] if value.startswith("0x") else value
    raw = bytes.fromhex(text)
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes of hex, got {len(raw)}: {value!r}")
    return raw


def hex32(value: bytes) -> str:
    """bytes32 as 0x hex."""
    return "0x" + bytes(value).hex()


def jurisdiction_code(jurisdiction: str) -> bytes:
    """A jurisdiction as the contracts' ``bytes2``: upper case, cut or NUL-padded to two bytes."""
    return jurisdiction.upper().encode()[:2].ljust(2, b"\0")


@dataclass(frozen=True)
class AssetState:
    """An asset's on-chain state as AssetRegistry.getAsset holds it (what access checks need)."""

    asset_id: str
    provider: str
    size: int
    active: bool


@dataclass(frozen=True)
class PolicyState:
    """An asset's current on-chain policy flags, UsageGrants.getPolicy's fields in order
    (purposes and jurisdictions are judged by view calls)."""

    not_before: int
    not_after: int
    max_count: int
    price_per_access: int
    compute_only: bool
    auto_approve: bool
    any_purpose: bool
    any_jurisdiction: bool
    epoch: int
    price_model: int = 0
    free_uses: int = 0
    period: int = 0


class _Client:
    contract_name = ""

    def __init__(self, chain: Chain, sender: TxSender | None = None) -> None:
        self.chain = chain
        self.sender = sender
        self.contract = chain.contract(self.contract_name)

    def _send(self, fn: Any, dry_run: bool = False) -> TxReceipt:
        """Send ``fn``; with ``dry_run`` only estimate it (raises the decoded revert, sends nothing)."""
        if self.sender is None:
            raise ChainError(f"{self.contract_name}: a signing account is needed for this operation")
        if dry_run:
            self.sender.estimate(fn)
            return {}  # type: ignore[return-value]
        return self.sender.transact(fn)

    def receipt_events(self, receipt: TxReceipt, event: str) -> list[Any]:
        """This contract's ``event`` logs in a transaction receipt (other contracts' logs are skipped)."""
        from web3.logs import DISCARD

        return list(self.contract.events[event]().process_receipt(receipt, errors=DISCARD))

    def _logs(self, event: str, from_block: int | None = None, **filters: Any) -> list[Any]:
        start = self.chain.deployment.deploy_block if from_block is None else from_block
        ev = self.contract.events[event]()
        return guarded(
            lambda: list(ev.get_logs(from_block=start, to_block="latest", argument_filters=filters or None)),
            self.chain.settings.rpc_url,
        )


class ParticipantsClient(_Client):
    """ParticipantRegistry: onboarding, suspension, membership."""

    contract_name = "ParticipantRegistry"

    def onboard(self, address: str, roles: Role, jurisdiction: str, credential_hash: str) -> TxReceipt:
        """Onboard a participant (operator)."""
        code = jurisdiction.upper().encode()
        return self._send(
            self.contract.functions.onboard(Web3.to_checksum_address(address), int(roles), code, b32(credential_hash))
        )

    def suspend(self, address: str) -> TxReceipt:
        """Suspend a participant (operator)."""
        return self._send(self.contract.functions.suspend(Web3.to_checksum_address(address)))

    def reinstate(self, address: str) -> TxReceipt:
        """Reinstate a suspended participant (operator)."""
        return self._send(self.contract.functions.reinstate(Web3.to_checksum_address(address)))

    def get(self, address: str, block: int | str = "latest") -> Participant:
        """The participant's record (status NONE when unknown)."""
        address = Web3.to_checksum_address(address)
        roles, status, jurisdiction, onboarded_at, cred = self.chain.call(
            self.contract.functions.getParticipant(address), block
        )
        return Participant(
            address, Role(roles), ParticipantStatus(status), jurisdiction.decode(errors="replace").strip("\0"),
            onboarded_at, hex32(cred),
        )

    def list(self) -> list[Participant]:
        """Every onboarded participant, current state."""
        seen = dict.fromkeys(str(log["args"]["account"]) for log in self._logs("ParticipantOnboarded"))
        return [self.get(a) for a in seen]


class AssetsClient(_Client):
    """AssetRegistry: content-addressed assets with metadata, lineage, owners and versions."""

    contract_name = "AssetRegistry"

    def register(
        self,
        content_hash: str,
        size: int,
        metadata_hash: str,
        metadata_uri: str,
        parents: list[str] | tuple[str, ...] = (),
        owners: list[str] | tuple[str, ...] = (),
        shares_bps: list[int] | tuple[int, ...] = (),
        dry_run: bool = False,
    ) -> TxReceipt:
        """Register an asset (active provider)."""
        fn = self.contract.functions.registerAsset(
            b32(content_hash), size, b32(metadata_hash), metadata_uri,
            [b32(p) for p in parents], [Web3.to_checksum_address(o) for o in owners], list(shares_bps),
        )
        return self._send(fn, dry_run)

    def register_version(
        self, previous_id: str, content_hash: str, size: int, metadata_hash: str, metadata_uri: str,
        dry_run: bool = False,
    ) -> TxReceipt:
        """Register a new version of an asset (its provider)."""
        fn = self.contract.functions.registerVersion(
            b32(previous_id), b32(content_hash), size, b32(metadata_hash), metadata_uri
        )
        return self._send(fn, dry_run)

    def deactivate(self, asset_id: str) -> TxReceipt:
        """Deactivate an asset (its provider)."""
        return self._send(self.contract.functions.deactivate(b32(asset_id)))

    def get(self, asset_id: str) -> Asset | None:
        """The asset (state + registration event), or None if unknown."""
        provider, size, version, active, metadata_hash, _owners_hash, previous, _parents_hash = self.chain.call(
            self.contract.functions.getAsset(b32(asset_id))
        )
        if int(provider, 16) == 0:
            return None
        logs = self._logs("AssetRegistered", assetId=b32(asset_id))
        if not logs:
            raise ChainError(f"asset {asset_id} has state but no AssetRegistered event")
        return _asset_from(logs[0], size, version, active, metadata_hash, previous)

    def state(self, asset_id: str, block: int | str = "latest") -> AssetState | None:
        """The asset's state at ``block`` (one view call, no logs), or None if unknown."""
        provider, size, _version, active, *_rest = self.chain.call(
            self.contract.functions.getAsset(b32(asset_id)), block)
        if int(provider, 16) == 0:
            return None
        return AssetState(asset_id, Web3.to_checksum_address(provider), int(size), bool(active))

    def provider_of(self, asset_id: str) -> str | None:
        """The asset's provider (one view call, no logs), or None if unknown."""
        provider = self.chain.call(self.contract.functions.getAsset(b32(asset_id)))[0]
        return None if int(provider, 16) == 0 else str(provider)

    def list(self, provider: str | None = None) -> list[Asset]:
        """Every registered asset (optionally of one provider), in registration order."""
        filters = {"provider": Web3.to_checksum_address(provider)} if provider else {}
        out = []
        for log in self._logs("AssetRegistered", **filters):
            state = self.chain.call(self.contract.functions.getAsset(log["args"]["assetId"]))
            out.append(_asset_from(log, state[1], state[2], state[3], state[4], state[6]))
        return out

    def versions(self, asset_id: str) -> list[Asset]:
        """The version chain containing ``asset_id``, oldest first."""
        first = self.get(asset_id)
        if first is None:
            return []
        chain_back = [first]
        while chain_back[0].previous_version:
            prev = self.get(chain_back[0].previous_version)
            if prev is None:
                break
            chain_back.insert(0, prev)
        current = chain_back[-1]
        while True:
            nxt = self._logs("AssetVersionRegistered", previousId=b32(current.asset_id))
            if not nxt:
                return chain_back
            found = self.get(hex32(nxt[0]["args"]["assetId"]))
            if found is None:
                return chain_back
            chain_back.append(found)
            current = found


def _asset_from(log: Any, size: int, version: int, active: bool, metadata_hash: bytes, previous: bytes) -> Asset:
    args = log["args"]
    prev = hex32(previous)
    return Asset(
        asset_id=hex32(args["assetId"]),
        provider=str(args["provider"]),
        size=int(size),
        version=int(version),
        active=bool(active),
        metadata_hash=hex32(metadata_hash),
        metadata_uri=str(args["metadataURI"]),
        parents=tuple(hex32(p) for p in args["parents"]),
        owners=tuple(str(o) for o in args["owners"]),
        shares_bps=tuple(int(s) for s in args["sharesBps"]),
        previous_version=None if prev == ZERO32 else prev,
        tx=log["transactionHash"].to_0x_hex(),
        block=int(log["blockNumber"]),
    )


class GrantsClient(_Client):
    """UsageGrants: policies, consent-carrying grants, revocation, liveness."""

    contract_name = "UsageGrants"

    def set_policy(self, asset_id: str, policy: Policy) -> TxReceipt:
        """Set an asset's usage policy (its provider)."""
        fn = self.contract.functions.setPolicy(
            b32(asset_id),
            (
                policy.not_before, policy.not_after, policy.max_count, policy.price_per_access,
                policy.compute_only, policy.auto_approve, False, False, 0,
                int(policy.price_model), policy.free_uses, policy.period,
            ),
            list(policy.purposes),
            [j.upper().encode() for j in policy.jurisdictions],
        )
        return self._send(fn)

    def get_policy(self, asset_id: str) -> Policy | None:
        """The asset's current policy (purposes and jurisdictions from its PolicySet event), or None."""
        state = self.chain.call(self.contract.functions.getPolicy(b32(asset_id)))
        epoch = int(state[8])
        if epoch == 0:
            return None
        logs = [log for log in self._logs("PolicySet", assetId=b32(asset_id)) if log["args"]["epoch"] == epoch]
        args = logs[-1]["args"] if logs else {"purposes": [], "jurisdictions": []}
        return Policy(
            not_before=state[0], not_after=state[1], max_count=state[2], price_per_access=state[3],
            compute_only=state[4], auto_approve=state[5],
            purposes=tuple(args["purposes"]),
            jurisdictions=tuple(j.decode() for j in args["jurisdictions"]),
            epoch=epoch,
            price_model=PriceModel(int(state[9])), free_uses=int(state[10]), period=int(state[11]),
        )

    def pricing_of(self, asset_id: str, epoch: int, block: int | str = "latest") -> tuple[PriceModel, int, int, int]:
        """(price model, free uses, period, price) of the asset's policy at ``epoch`` (UsageGrants.pricingOf)."""
        model, free_uses, period, price = self.chain.call(
            self.contract.functions.pricingOf(b32(asset_id), epoch), block)
        return PriceModel(int(model)), int(free_uses), int(period), int(price)

    def policy_state(self, asset_id: str, block: int | str = "latest") -> PolicyState | None:
        """The asset's policy flags at ``block`` (one view call, no logs), or None if it has no policy."""
        state = self.chain.call(self.contract.functions.getPolicy(b32(asset_id)), block)
        return None if int(state[8]) == 0 else PolicyState(*state)

    def purpose_allowed(self, asset_id: str, purpose: str, block: int | str = "latest") -> bool:
        """UsageGrants.isPurposeAllowed at ``block``."""
        return bool(self.chain.call(self.contract.functions.isPurposeAllowed(b32(asset_id), purpose), block))

    def jurisdiction_allowed(self, asset_id: str, jurisdiction: str, block: int | str = "latest") -> bool:
        """UsageGrants.isJurisdictionAllowed at ``block`` (``jurisdiction`` as :func:`jurisdiction_code` reads it)."""
        fn = self.contract.functions.isJurisdictionAllowed(b32(asset_id), jurisdiction_code(jurisdiction))
        return bool(self.chain.call(fn, block))

    def hash_request(self, request: GrantRequest) -> str:
        """The grant id the contract will assign to ``request`` (EIP-712 digest)."""
        return hex32(self.chain.call(self.contract.functions.hashGrantRequest(request.as_tuple())))

    def issue(self, request: GrantRequest, signature: str, acceptance: str) -> tuple[str, TxReceipt]:
        """Put the agreement on-chain (the asset's provider): the consumer-signed request and the provider's
        EIP-712 acceptance (``chain.eip712.sign_acceptance``). Returns (grant id, receipt)."""
        fn = self.contract.functions.issueGrant(
            request.as_tuple(), bytes.fromhex(signature[2:]), bytes.fromhex(acceptance[2:]))
        receipt = self._send(fn)
        events = self.receipt_events(receipt, "GrantIssued")
        return hex32(events[0]["args"]["grantId"]), receipt

    def revoke(self, request: GrantRequest) -> TxReceipt:
        """Revoke the grant issued for ``request`` (the asset's provider); effective from the next block."""
        return self._send(self.contract.functions.revokeGrant(request.as_tuple()))

    def request_of(self, grant_id: str) -> GrantRequest | None:
        """The signed request of an issued grant, rebuilt from its GrantIssued event."""
        logs = self._logs("GrantIssued", grantId=b32(grant_id))
        return GrantRequest.from_event(logs[0]["args"]) if logs else None

    def get(self, grant_id: str, block: int | str = "latest") -> Grant | None:
        """A grant's on-chain state, or None if unknown."""
        consumer, nb, na, count, status = self.chain.call(self.contract.functions.getGrant(b32(grant_id)), block)
        if status == GrantStatus.NONE:
            return None
        return Grant(grant_id, str(consumer), nb, na, count, GrantStatus(status))

    def liveness(self, grant_id: str, block: int | str = "latest") -> Liveness:
        """Whether the grant is live at ``block`` and why not."""
        return Liveness(self.chain.call(self.contract.functions.liveness(b32(grant_id)), block))

    def acceptance_of(self, grant_id: str) -> dict[str, Any] | None:
        """The provider's acceptance of a grant (GrantAccepted: provider, policy epoch, signature), or None."""
        logs = self._logs("GrantAccepted", grantId=b32(grant_id))
        if not logs:
            return None
        args = logs[0]["args"]
        return {"provider": str(args["provider"]), "policy_epoch": int(args["policyEpoch"]),
                "signature": "0x" + bytes(args["signature"]).hex()}

    def bind_settlement(self, settlement: str) -> TxReceipt:
        """Bind the Settlement contract (operator, once)."""
        return self._send(self.contract.functions.bindSettlement(Web3.to_checksum_address(settlement)))

    def issued(self, **filters: Any) -> list[Any]:
        """GrantIssued events (filter by assetId=bytes, consumer=address, grantId=bytes)."""
        return self._logs("GrantIssued", **filters)

    def requests_issued(self, asset_id: str, consumer: str) -> list[GrantRequest]:
        """The signed requests of every grant issued for (asset, consumer), oldest first (reads events)."""
        logs = self.issued(assetId=b32(asset_id), consumer=Web3.to_checksum_address(consumer))
        return [GrantRequest.from_event(log["args"]) for log in logs]


class AnchorsClient(_Client):
    """AnchorRegistry: Merkle roots, notary keys, on-chain inclusion and receipt checks."""

    contract_name = "AnchorRegistry"
    KIND_RECEIPTS = 1
    KIND_ASSETS = 2

    def anchor(self, root: str, leaf_count: int, kind: int) -> TxReceipt:
        """Anchor a root (receipts: an active provider or its notary key; assets: an active provider)."""
        return self._send(self.contract.functions.anchorRoot(b32(root), leaf_count, kind))

    def anchor_calldata(self, root: str, leaf_count: int, kind: int) -> str:
        """The calldata (0x hex) of ``anchorRoot(root, leaf_count, kind)``, for senders that sign in bulk."""
        return str(self.contract.encode_abi("anchorRoot", args=[b32(root), leaf_count, kind]))

    def register_notary(self, notary: str, dry_run: bool = False) -> TxReceipt:
        """Bind ``notary`` to the sending provider (for ever) so it may anchor receipts roots."""
        return self._send(self.contract.functions.registerNotary(Web3.to_checksum_address(notary)), dry_run)

    def revoke_notary(self, notary: str, dry_run: bool = False) -> TxReceipt:
        """Stop a notary key of the sending provider from anchoring (its past roots stay evidence)."""
        return self._send(self.contract.functions.revokeNotary(Web3.to_checksum_address(notary)), dry_run)

    def notary_of(self, notary: str) -> tuple[str | None, bool]:
        """(provider the key is bound to, or None if never registered; whether it may still anchor)."""
        provider, active = self.chain.call(self.contract.functions.notaryOf(Web3.to_checksum_address(notary)))
        return (None if int(provider, 16) == 0 else str(provider)), bool(active)

    def principal_of(self, caller: str, kind: int) -> str | None:
        """The provider on whose behalf ``caller`` anchors a root of ``kind`` now (itself if an active
        provider; for receipts, the provider of its active notary key), or None if it may not anchor."""
        provider = self.chain.call(self.contract.functions.principalOf(Web3.to_checksum_address(caller), kind))
        return None if int(provider, 16) == 0 else str(provider)

    def get(self, provider: str, root: str) -> dict[str, Any] | None:
        """The anchor of ``root`` made on behalf of ``provider`` (by it or its notary key), or None.

        ``{"provider", "anchorer", "block", "leaf_count", "kind"}``: anchorer is who sent it.
        """
        anchorer, block, leaves, kind = self.chain.call(
            self.contract.functions.getAnchor(Web3.to_checksum_address(provider), b32(root)))
        if int(anchorer, 16) == 0:
            return None
        return {"provider": Web3.to_checksum_address(provider), "anchorer": anchorer, "block": block,
                "leaf_count": leaves, "kind": kind}

    def verify_inclusion(self, provider: str, root: str, proof: list[str], leaf: str) -> bool:
        """On-chain check: ``leaf`` is under ``root`` and ``provider`` anchored ``root`` (any kind)."""
        return bool(self.chain.call(self.contract.functions.verifyInclusion(
            Web3.to_checksum_address(provider), b32(root), [b32(p) for p in proof], b32(leaf))))

    def verify_receipt(self, root: str, proof: list[str], values: list[Any] | tuple[Any, ...]) -> bool:
        """On-chain check of a receipt (its 9 leaf values, RECEIPT_LEAF_ENCODING order): under ``root``,
        anchored as receipts by the asset's provider or a notary key that provider registered."""
        rid, grant, asset, consumer, purpose, allowed, size, at, content = values
        fn = self.contract.functions.verifyReceipt(
            b32(root), [b32(p) for p in proof], b32(rid), b32(grant), b32(asset), Web3.to_checksum_address(consumer),
            b32(purpose), int(allowed), int(size), int(at), b32(content),
        )
        return bool(self.chain.call(fn))

    def notary_events(self, event: str = "NotaryRegistered", **filters: Any) -> list[dict[str, Any]]:
        """NotaryRegistered or NotaryRevoked events: ``{"notary", "provider", "tx", "block"}``, oldest first."""
        return [
            {"notary": str(log["args"]["notary"]), "provider": str(log["args"]["provider"]),
             "tx": log["transactionHash"].to_0x_hex(), "block": int(log["blockNumber"])}
            for log in self._logs(event, **filters)
        ]

    def anchored_by(self, provider: str, kind: int) -> list[dict[str, Any]]:
        """Every RootAnchored event of ``kind`` made on behalf of ``provider`` (sent by it or by its notary
        keys), oldest first (keys as in anchored_events)."""
        return self._anchored(kind=kind, provider=Web3.to_checksum_address(provider))

    def anchored_events(self, root: str, provider: str | None = None,
                        from_block: int | None = None) -> list[dict[str, Any]]:
        """RootAnchored events of ``root``, oldest first: of every provider that anchored it, or of ``provider``
        only (then at most one unless the chain is broken).

        Each: ``{"root", "provider", "anchorer", "tx": 0x hash, "block": int, "leaf_count": int, "kind": int}``.
        """
        filters: dict[str, Any] = {"root": b32(root)}
        if provider is not None:
            filters["provider"] = Web3.to_checksum_address(provider)
        return self._anchored(from_block, **filters)

    def _anchored(self, from_block: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        return [
            {"root": "0x" + bytes(log["args"]["root"]).hex(), "provider": str(log["args"]["provider"]),
             "anchorer": str(log["args"]["anchorer"]), "tx": log["transactionHash"].to_0x_hex(),
             "block": int(log["blockNumber"]), "leaf_count": int(log["args"]["leafCount"]),
             "kind": int(log["args"]["kind"])}
            for log in self._logs("RootAnchored", from_block=from_block, **filters)
        ]


TOKEN_CONTRACTS = ("SettlementToken", "CreditsToken", "ExternalToken")


class TokenClient(_Client):
    """The space's settlement ERC-20: the devnet SettlementToken, a CreditsToken (积分) or an external one."""

    contract_name = "SettlementToken"

    def __init__(self, chain: Chain, sender: TxSender | None = None) -> None:
        names = [n for n in TOKEN_CONTRACTS if n in chain.deployment.contracts]
        self.contract_name = names[0] if names else "SettlementToken"
        super().__init__(chain, sender)

    @property
    def address(self) -> str:
        """The token's address."""
        return str(self.contract.address)

    @property
    def credits(self) -> bool:
        """True for a members-only points token."""
        return self.contract_name == "CreditsToken"

    def mint(self, to: str, amount: int) -> TxReceipt:
        """Mint (operator)."""
        return self._send(self.contract.functions.mint(Web3.to_checksum_address(to), amount))

    def approve(self, spender: str, amount: int) -> TxReceipt:
        """Approve a spender."""
        return self._send(self.contract.functions.approve(Web3.to_checksum_address(spender), amount))

    def transfer(self, to: str, amount: int) -> TxReceipt:
        """Transfer."""
        return self._send(self.contract.functions.transfer(Web3.to_checksum_address(to), amount))

    def balance_of(self, owner: str, block: int | str = "latest") -> int:
        """Token balance."""
        return int(self.chain.call(self.contract.functions.balanceOf(Web3.to_checksum_address(owner)), block))

    def allowance(self, owner: str, spender: str) -> int:
        """Allowance."""
        fn = self.contract.functions.allowance(Web3.to_checksum_address(owner), Web3.to_checksum_address(spender))
        return int(self.chain.call(fn))

    def symbol(self) -> str:
        """Token symbol."""
        return str(self.chain.call(self.contract.functions.symbol()))

    def decimals(self) -> int:
        """Token decimals."""
        return int(self.chain.call(self.contract.functions.decimals()))


@dataclass(frozen=True)
class EscrowAccount:
    """A paid grant's money account in Settlement (ISettlement.Account)."""

    grant_id: str
    consumer: str
    price_model: PriceModel
    free_uses: int
    settled_until: int
    units: int
    price: int
    locked: int
    period: int
    frozen: bool
    released: bool
    asset_id: str


@dataclass(frozen=True)
class Claim:
    """One grant's usage in a settlement batch (ISettlement.Claim)."""

    grant_id: str
    units: int
    split: int
    statement: str = "0x"

    def as_tuple(self) -> tuple[Any, ...]:
        """ABI tuple."""
        return (b32(self.grant_id), self.units, self.split, bytes.fromhex(self.statement[2:]))


@dataclass(frozen=True)
class Split:
    """How one asset's revenue is paid (ISettlement.Split): owners, shares, parents as batch indices."""

    asset_id: str
    owners: tuple[str, ...]
    shares_bps: tuple[int, ...]
    parents: tuple[int, ...]

    def as_tuple(self) -> tuple[Any, ...]:
        """ABI tuple."""
        return (b32(self.asset_id), [Web3.to_checksum_address(o) for o in self.owners], list(self.shares_bps),
                list(self.parents))


class SettlementClient(_Client):
    """Settlement: deposits and escrow locks, settlement of anchored usage, payouts, withdrawals."""

    contract_name = "Settlement"

    def deposit(self, amount: int) -> TxReceipt:
        """Deposit into the sender's free deposit (approve the token first)."""
        return self._send(self.contract.functions.deposit(amount))

    def withdraw_deposit(self, amount: int) -> TxReceipt:
        """Withdraw from the sender's free deposit."""
        return self._send(self.contract.functions.withdrawDeposit(amount))

    def withdraw(self, amount: int) -> TxReceipt:
        """Withdraw the sender's earnings."""
        return self._send(self.contract.functions.withdraw(amount))

    def settle(self, period_start: int, period_end: int, receipts_root: str,
               claims: list[Claim] | tuple[Claim, ...], splits: list[Split] | tuple[Split, ...],
               dry_run: bool = False) -> TxReceipt:
        """Settle one period for a batch of the sender's grants (the assets' provider)."""
        fn = self.contract.functions.settle(period_start, period_end, b32(receipts_root),
                                            [c.as_tuple() for c in claims], [s.as_tuple() for s in splits])
        return self._send(fn, dry_run)

    def settle_calldata(self, period_start: int, period_end: int, receipts_root: str,
                        claims: list[Claim] | tuple[Claim, ...], splits: list[Split] | tuple[Split, ...]) -> str:
        """The settle call's calldata (for sizing batches)."""
        fn = self.contract.functions.settle(period_start, period_end, b32(receipts_root),
                                            [c.as_tuple() for c in claims], [s.as_tuple() for s in splits])
        return str(fn._encode_transaction_data())

    def release(self, grant_id: str) -> TxReceipt:
        """Return a grant's remaining lock to its consumer."""
        return self._send(self.contract.functions.release(b32(grant_id)))

    def set_royalty(self, royalty_bps: int) -> TxReceipt:
        """Set the lineage royalty (operator)."""
        return self._send(self.contract.functions.setRoyalty(royalty_bps))

    def account_of(self, grant_id: str, block: int | str = "latest") -> EscrowAccount | None:
        """A paid grant's account, or None (free grants have none)."""
        values = self.chain.call(self.contract.functions.accountOf(b32(grant_id)), block)
        if int(values[0], 16) == 0:
            return None
        (consumer, model, free_uses, settled_until, units, price, locked, period, frozen, released,
         asset_id) = values
        return EscrowAccount(grant_id, Web3.to_checksum_address(consumer), PriceModel(int(model)), int(free_uses),
                             int(settled_until), int(units), int(price), int(locked), int(period), bool(frozen),
                             bool(released), hex32(asset_id))

    def deposit_of(self, consumer: str, block: int | str = "latest") -> int:
        """A consumer's free deposit."""
        return int(self.chain.call(self.contract.functions.depositOf(Web3.to_checksum_address(consumer)), block))

    def earnings_of(self, owner: str, block: int | str = "latest") -> int:
        """An owner's withdrawable earnings."""
        return int(self.chain.call(self.contract.functions.earningsOf(Web3.to_checksum_address(owner)), block))

    def trial_used(self, asset_id: str, consumer: str) -> int:
        """Free-trial uses a consumer has had of an asset."""
        fn = self.contract.functions.trialUsed(b32(asset_id), Web3.to_checksum_address(consumer))
        return int(self.chain.call(fn))

    def royalty_bps(self) -> int:
        """The lineage royalty in basis points."""
        return int(self.chain.call(self.contract.functions.royaltyBps()))

    def claim_window(self) -> int:
        """Seconds after a grant's end before anyone may release its lock."""
        return int(self.chain.call(self.contract.functions.claimWindow()))

    def events(self, event: str, from_block: int | None = None, **filters: Any) -> list[Any]:
        """Settlement events (EscrowLocked, UsageSettled, RevenuePaid, EscrowReleased, Refunded, ...)."""
        return self._logs(event, from_block=from_block, **filters)


@dataclass(frozen=True)
class DisputeRecord:
    """A dispute (IDisputes.DisputeRecord)."""

    dispute_id: int
    grant_id: str
    consumer: str
    provider: str
    opened_by: str
    opened_at: int
    period_end: int
    subject: str  # "grant" | "settlement"
    status: str  # "open" | "ruled"
    ruling: str  # "refused" | "upheld" | "refund" (meaningful once ruled)
    refund: int
    evidence_hash: str


DISPUTE_SUBJECTS = ("grant", "settlement")
DISPUTE_STATUSES = ("none", "open", "ruled")
DISPUTE_RULINGS = ("refused", "upheld", "refund")


class DisputesClient(_Client):
    """Disputes: open, evidence, rulings (争议仲裁)."""

    contract_name = "Disputes"

    def open(self, request: GrantRequest, subject: str, period_end: int, evidence_hash: str,
             evidence_uri: str) -> tuple[int, TxReceipt]:
        """Open a dispute on the grant of ``request`` (its consumer or provider). Returns (id, receipt)."""
        fn = self.contract.functions.open(request.as_tuple(), DISPUTE_SUBJECTS.index(subject), period_end,
                                          b32(evidence_hash), evidence_uri)
        receipt = self._send(fn)
        events = self.receipt_events(receipt, "DisputeOpened")
        return int(events[0]["args"]["disputeId"]), receipt

    def submit_evidence(self, dispute_id: int, evidence_hash: str, evidence_uri: str) -> TxReceipt:
        """Add evidence to an open dispute."""
        return self._send(self.contract.functions.submitEvidence(dispute_id, b32(evidence_hash), evidence_uri))

    def rule(self, dispute_id: int, ruling: str, refund: int) -> TxReceipt:
        """Rule a dispute (the arbiter): ``upheld`` (refund 0) or ``refund``."""
        return self._send(self.contract.functions.rule(dispute_id, DISPUTE_RULINGS.index(ruling), refund))

    def set_arbitrator(self, arbitrator: str) -> TxReceipt:
        """Set the arbitrator contract (operator; the zero address: operators rule)."""
        return self._send(self.contract.functions.setArbitrator(Web3.to_checksum_address(arbitrator)))

    def bind_settlement(self, settlement: str) -> TxReceipt:
        """Bind Settlement (operator, once)."""
        return self._send(self.contract.functions.bindSettlement(Web3.to_checksum_address(settlement)))

    def get(self, dispute_id: int, block: int | str = "latest") -> DisputeRecord | None:
        """A dispute, or None if unknown."""
        (grant, consumer, provider, opened_by, opened_at, period_end, subject, status, ruling, refund,
         evidence) = self.chain.call(self.contract.functions.getDispute(dispute_id), block)
        if int(status) == 0:
            return None
        return DisputeRecord(dispute_id, hex32(grant), Web3.to_checksum_address(consumer),
                             Web3.to_checksum_address(provider), Web3.to_checksum_address(opened_by), int(opened_at),
                             int(period_end), DISPUTE_SUBJECTS[int(subject)], DISPUTE_STATUSES[int(status)],
                             DISPUTE_RULINGS[int(ruling)], int(refund), hex32(evidence))

    def open_dispute_of(self, grant_id: str, block: int | str = "latest") -> int:
        """The open dispute on a grant (0 when none)."""
        return int(self.chain.call(self.contract.functions.openDisputeOf(b32(grant_id)), block))

    def count(self) -> int:
        """Disputes opened so far."""
        return int(self.chain.call(self.contract.functions.disputeCount()))

    def arbitrator(self) -> str | None:
        """The arbitrator contract, or None when operators rule."""
        address = str(self.chain.call(self.contract.functions.arbitrator()))
        return None if int(address, 16) == 0 else Web3.to_checksum_address(address)

    def events(self, event: str, from_block: int | None = None, **filters: Any) -> list[Any]:
        """Disputes events (DisputeOpened, EvidenceSubmitted, Evidence, DisputeRuled, ...)."""
        return self._logs(event, from_block=from_block, **filters)


class ComputeClient(_Client):
    """ComputePolicies: algorithms approved to run on an asset (compute-to-data) and its privacy budget."""

    contract_name = "ComputePolicies"

    def set_approval(self, asset_id: str, algorithm_id: str, approved: bool, dry_run: bool = False) -> TxReceipt:
        """Approve (or withdraw the approval of) the algorithm asset ``algorithm_id`` on ``asset_id`` (its provider)."""
        fn = self.contract.functions.setAlgorithmApproval(b32(asset_id), b32(algorithm_id), bool(approved))
        return self._send(fn, dry_run)

    def set_budget(self, asset_id: str, epsilon_micros: int, dry_run: bool = False) -> TxReceipt:
        """Set the asset's per-grant differential-privacy epsilon budget in millionths (its provider; 0: none)."""
        return self._send(self.contract.functions.setPrivacyBudget(b32(asset_id), int(epsilon_micros)), dry_run)

    def is_approved(self, asset_id: str, algorithm_id: str, block: int | str = "latest") -> bool:
        """ComputePolicies.isApproved at ``block``."""
        return bool(self.chain.call(self.contract.functions.isApproved(b32(asset_id), b32(algorithm_id)), block))

    def budget(self, asset_id: str, block: int | str = "latest") -> int:
        """The asset's per-grant epsilon budget in millionths at ``block`` (0 if never set)."""
        return int(self.chain.call(self.contract.functions.privacyBudget(b32(asset_id)), block))

    def approvals(self, asset_id: str) -> list[dict[str, Any]]:
        """The asset's AlgorithmApproved/AlgorithmRejected events in chain order:
        ``{"algorithm_id", "approved": bool, "block": int, "tx": 0x hash}``."""
        logs = [(log, approved) for event, approved in (("AlgorithmApproved", True), ("AlgorithmRejected", False))
                for log in self._logs(event, assetId=b32(asset_id))]
        logs.sort(key=lambda item: (int(item[0]["blockNumber"]), int(item[0]["logIndex"])))
        return [{"algorithm_id": hex32(log["args"]["algorithmId"]), "approved": approved,
                 "block": int(log["blockNumber"]), "tx": log["transactionHash"].to_0x_hex()}
                for log, approved in logs]
