"""Access policy checks (gateway.policy) and the error table, against a fake chain view (no chain)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from domain.types import GrantRequest, Liveness, Participant, ParticipantStatus, Role
from chain.view import AssetState, PolicyState
from gateway.errors import (
    ERROR_TABLE,
    AssetInactive,
    ComputeOnly,
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
class FakeView:
    """Just enough of ChainView for the checks."""

    live: Liveness = Liveness.LIVE
    asset_state: AssetState | None = field(default_factory=lambda: AssetState(ASSET, PROVIDER, 10, True))
    compute_only: bool = False
    purposes: tuple[str, ...] = ("research",)
    regions: tuple[str, ...] = ("DE",)

    def asset(self, asset_id: str, block: int) -> AssetState | None:
        return self.asset_state

    def policy(self, asset_id: str, block: int) -> PolicyState:
        return PolicyState(0, 0, 10, 0, self.compute_only, True, False, False, 1)

    def liveness(self, grant_id: str, block: int) -> Liveness:
        return self.live

    def purpose_allowed(self, asset_id: str, purpose: str, block: int) -> bool:
        return purpose in self.purposes

    def jurisdiction_allowed(self, asset_id: str, region: str, block: int) -> bool:
        return region in self.regions


def ctx(view: FakeView | None = None, consumer: str = CONSUMER, region: str = "DE", asset: str = ASSET,
        purpose: str | None = None, request_asset: str = ASSET, with_grant: bool = True) -> AccessContext:
    caller = Participant(consumer, Role.CONSUMER, ParticipantStatus.ACTIVE, region, 0, "0x" + "00" * 32)
    req = GrantRequest(request_asset, CONSUMER, "research", 0, 2**31, 5, 0, 1, 2**31)
    return AccessContext(view or FakeView(), 7, caller, asset, PROVIDER, GRANT if with_grant else None,
                         req if with_grant else None, purpose)  # type: ignore[arg-type]


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


def test_grant_id_is_the_eip712_digest() -> None:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    from chain.eip712 import grant_typed_data

    req = GrantRequest(ASSET, Account.create().address, "research", 1, 2, 3, 0, 4, 5)
    contract = "0x" + "55" * 20
    signable = encode_typed_data(full_message=grant_typed_data(31337, contract, req))
    acct = Account.create()
    signed = acct.sign_message(signable)
    assert grant_id_of(31337, contract, req) == "0x" + bytes(signed.message_hash).hex()
