"""Access policy checks (gateway.policy) and the error table, against a fake chain view (no chain)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from chain.contracts import EscrowAccount
from chain.errors import ChainUnavailable
from domain.types import GrantRequest, Liveness, Participant, ParticipantStatus, PriceModel, Role
from chain.view import AssetState, PolicyState
from gateway.errors import (
    ERROR_TABLE,
    AssetInactive,
    ComputeOnly,
    EscrowMissing,
    GrantAssetMismatch,
    GrantExpired,
    GrantMissing,
    GrantNotYetValid,
    GrantNotYours,
    GrantRevoked,
    InvalidId,
    JurisdictionNotAllowed,
    NotFound,
    PurposeNotAllowed,
    StoredFileTampered,
    error_status,
)
from gateway.policy import FETCH_POLICY, AccessContext, AllOf, AnyOf, grant_id_of

PROVIDER = "0x" + "11" * 20
CONSUMER = "0x" + "22" * 20
ASSET = "0x" + "aa" * 32
GRANT = "0x" + "bb" * 32


@dataclass
class FakeGrants:
    """UsageGrants.pricingOf of past epochs."""

    pricing: dict[int, tuple[PriceModel, int, int, int]] = field(default_factory=dict)

    def pricing_of(self, asset_id: str, epoch: int, block: int) -> tuple[PriceModel, int, int, int]:
        return self.pricing.get(epoch, (PriceModel.FREE, 0, 0, 0))


@dataclass
class FakeView:
    """Just enough of ChainView for the checks."""

    live: Liveness = Liveness.LIVE
    asset_state: AssetState | None = field(default_factory=lambda: AssetState(ASSET, PROVIDER, 10, True))
    compute_only: bool = False
    purposes: tuple[str, ...] = ("research",)
    regions: tuple[str, ...] = ("DE",)
    model: PriceModel = PriceModel.FREE
    epoch: int = 1
    grants: FakeGrants = field(default_factory=FakeGrants)
    reads: list[tuple[Any, ...]] = field(default_factory=list)

    def asset(self, asset_id: str, block: int) -> AssetState | None:
        return self.asset_state

    def policy(self, asset_id: str, block: int) -> PolicyState:
        price = 0 if self.model is PriceModel.FREE else 3
        period = 30 if self.model is PriceModel.SUBSCRIPTION else 0
        return PolicyState(0, 0, 10, price, self.compute_only, True, False, False, self.epoch, int(self.model), 0,
                           period)

    def cached(self, key: tuple[Any, ...], block: int, read: Any) -> Any:
        self.reads.append((key, block))
        return read()

    def liveness(self, grant_id: str, block: int) -> Liveness:
        return self.live

    def purpose_allowed(self, asset_id: str, purpose: str, block: int) -> bool:
        return purpose in self.purposes

    def jurisdiction_allowed(self, asset_id: str, region: str, block: int) -> bool:
        return region in self.regions


@dataclass
class FakeSettlement:
    """Settlement.accountOf; ``down``: the node does not answer."""

    account: EscrowAccount | None = None
    down: bool = False
    asked: list[tuple[str, Any]] = field(default_factory=list)

    def account_of(self, grant_id: str, block: Any = "latest") -> EscrowAccount | None:
        self.asked.append((grant_id, block))
        if self.down:
            raise ChainUnavailable("chain unavailable: ConnectionError")
        return self.account


def escrow(model: PriceModel = PriceModel.PREPAID, locked: int = 15, released: bool = False,
           units: int = 0) -> EscrowAccount:
    return EscrowAccount(GRANT, CONSUMER, model, 0, 0, units, 3, locked, 30 if model == PriceModel.SUBSCRIPTION else 0,
                         False, released, ASSET)


def ctx(view: FakeView | None = None, consumer: str = CONSUMER, region: str = "DE", asset: str = ASSET,
        purpose: str | None = None, request_asset: str = ASSET, with_grant: bool = True,
        settlement: FakeSettlement | None = None, epoch: int = 1) -> AccessContext:
    caller = Participant(consumer, Role.CONSUMER, ParticipantStatus.ACTIVE, region, 0, "0x" + "00" * 32)
    req = GrantRequest(request_asset, CONSUMER, "research", 0, 2**31, 5, 0, 1, 2**31, epoch)
    return AccessContext(view or FakeView(), 7, caller, asset, PROVIDER, GRANT if with_grant else None,
                         req if with_grant else None, purpose,
                         settlement=settlement or FakeSettlement())  # type: ignore[arg-type]


def test_a_live_matching_grant_passes() -> None:
    FETCH_POLICY(ctx())


@pytest.mark.parametrize(
    ("context", "error"),
    [
        (ctx(with_grant=False), GrantMissing),
        (ctx(consumer="0x" + "33" * 20), GrantNotYours),
        (ctx(request_asset="0x" + "cc" * 32), GrantAssetMismatch),
        (ctx(FakeView(live=Liveness.REVOKED)), GrantRevoked),
        (ctx(FakeView(live=Liveness.EXPIRED)), GrantExpired),
        (ctx(FakeView(live=Liveness.NOT_YET_VALID)), GrantNotYetValid),
        (ctx(FakeView(live=Liveness.UNKNOWN)), GrantMissing),
        (ctx(purpose="marketing"), PurposeNotAllowed),
        (ctx(FakeView(purposes=())), PurposeNotAllowed),
        (ctx(region="FR"), JurisdictionNotAllowed),
        (ctx(FakeView(compute_only=True)), ComputeOnly),
        (ctx(FakeView(asset_state=None)), NotFound),
        (ctx(FakeView(asset_state=AssetState(ASSET, "0x" + "44" * 20, 1, True))), NotFound),
        (ctx(FakeView(asset_state=AssetState(ASSET, PROVIDER, 1, False))), AssetInactive),
    ],
)
def test_each_rule_raises_its_precise_error(context: AccessContext, error: type[Exception]) -> None:
    with pytest.raises(error):
        FETCH_POLICY(context)


@pytest.mark.parametrize("model", [PriceModel.PREPAID, PriceModel.SUBSCRIPTION])
@pytest.mark.parametrize(
    ("account", "why"),
    [
        (None, "has no escrow account"),
        (escrow(released=True), "was released"),
        (escrow(locked=0), "is empty"),
    ],
)
def test_a_locked_grant_without_its_escrow_is_not_served(model: PriceModel, account: EscrowAccount | None,
                                                         why: str) -> None:
    if account is not None:
        account = EscrowAccount(**{**account.__dict__, "price_model": model,
                                   "period": 30 if model == PriceModel.SUBSCRIPTION else 0})
    settlement = FakeSettlement(account)
    view = FakeView(model=model)
    with pytest.raises(EscrowMissing, match=why) as caught:
        FETCH_POLICY(ctx(view, settlement=settlement))
    assert error_status(caught.value) == (402, "escrow_missing") and "(block 7)" in str(caught.value)
    assert settlement.asked == [(GRANT, 7)]  # read at the decision's block
    assert (("escrow", GRANT), 7) in view.reads  # through the view's block-keyed, fail-closed reads


@pytest.mark.parametrize("model", [PriceModel.PREPAID, PriceModel.SUBSCRIPTION])
def test_a_funded_locked_grant_is_served(model: PriceModel) -> None:
    FETCH_POLICY(ctx(FakeView(model=model), settlement=FakeSettlement(escrow(model))))


@pytest.mark.parametrize("model", [PriceModel.FREE, PriceModel.PAY_AFTER_USE])
def test_grants_that_lock_nothing_are_not_asked_about_escrow(model: PriceModel) -> None:
    settlement = FakeSettlement(None, down=True)
    FETCH_POLICY(ctx(FakeView(model=model), settlement=settlement))
    assert settlement.asked == []


def test_the_grants_own_policy_epoch_decides_not_the_current_one() -> None:
    """A grant issued under a prepaid epoch stays prepaid after the policy became free (and vice versa)."""
    view = FakeView(model=PriceModel.FREE, epoch=2, grants=FakeGrants({1: (PriceModel.PREPAID, 0, 0, 3)}))
    with pytest.raises(EscrowMissing):
        FETCH_POLICY(ctx(view, settlement=FakeSettlement(None), epoch=1))
    assert (("pricing", ASSET, 1), 7) in view.reads
    paid_now = FakeView(model=PriceModel.PREPAID, epoch=2)  # epoch 1 was free (FakeGrants' default)
    FETCH_POLICY(ctx(paid_now, settlement=FakeSettlement(None), epoch=1))


def test_the_escrow_check_fails_closed_when_the_chain_does_not_answer() -> None:
    with pytest.raises(ChainUnavailable):
        FETCH_POLICY(ctx(FakeView(model=PriceModel.PREPAID), settlement=FakeSettlement(escrow(), down=True)))


def test_all_of_and_any_of_compose() -> None:
    calls: list[str] = []

    def ok(_c: Any) -> None:
        calls.append("ok")

    def no(_c: Any) -> None:
        raise GrantRevoked("no")

    with pytest.raises(GrantRevoked):
        AllOf([ok, no, ok])(ctx())
    assert calls == ["ok"]
    AnyOf([no, ok])(ctx())
    with pytest.raises(GrantRevoked):
        AnyOf([no, no])(ctx())


def test_error_table_statuses_and_codes() -> None:
    assert error_status(GrantRevoked("x")) == (403, "grant_revoked")
    assert error_status(InvalidId("invalid asset id '../etc'")) == (422, "invalid_id")
    assert error_status(StoredFileTampered(ASSET, "tag")) == (503, "stored_file_tampered")
    assert error_status(RuntimeError("boom")) == (500, "internal_error")
    codes = [code for _status, code in ERROR_TABLE.values()]
    assert all(code.islower() and " " not in code for code in codes)
    from gateway.errors import AcceptanceInvalid, DepositTooSmall, PolicyChanged

    assert error_status(DepositTooSmall("x")) == (402, "deposit_too_small")
    assert error_status(EscrowMissing("x")) == (402, "escrow_missing")
    assert error_status(PolicyChanged("x")) == (409, "policy_changed")
    assert error_status(AcceptanceInvalid("x"))[0] == 500


def test_grant_id_is_the_eip712_digest() -> None:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    from chain.eip712 import grant_typed_data

    req = GrantRequest(ASSET, Account.create().address, "research", 1, 2, 3, 0, 4, 5, 1)
    contract = "0x" + "55" * 20
    signable = encode_typed_data(full_message=grant_typed_data(31337, contract, req))
    acct = Account.create()
    signed = acct.sign_message(signable)
    assert grant_id_of(31337, contract, req) == "0x" + bytes(signed.message_hash).hex()
