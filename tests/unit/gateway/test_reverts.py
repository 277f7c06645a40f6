"""gateway.service.translate_revert: the new UsageGrants/Settlement reverts become errors naming the fix."""

from __future__ import annotations

from chain.errors import revert_class
from domain.types import GrantRequest, PriceModel
from gateway.errors import AcceptanceInvalid, AccessDenied, DepositTooSmall, PolicyChanged, error_status
from gateway.service import translate_revert

REQUEST = GrantRequest("0x" + "aa" * 32, "0x" + "22" * 20, "research", 0, 100, 4, 7, 1, 2**31, 3)


def revert(name: str, **args: object) -> object:
    return revert_class(name)(name, args)


def test_a_deposit_too_small_at_issue_says_how_much_and_how() -> None:
    exc = translate_revert(revert("EscrowDepositTooSmall", consumer=REQUEST.consumer, needed=28, available=20),
                           REQUEST, PriceModel.PREPAID)
    assert isinstance(exc, DepositTooSmall) and error_status(exc) == (402, "deposit_too_small")
    assert "locks 28 (4 uses x 7" in str(exc) and "holds 20" in str(exc)
    assert "`tds escrow deposit base:8`" in str(exc) and exc.detail == {"needed": 28, "available": 20, "missing": 8}


def test_a_changed_policy_and_a_refused_acceptance() -> None:
    changed = translate_revert(revert("GrantPolicyChanged", requested=3, current=4))
    assert isinstance(changed, PolicyChanged) and error_status(changed) == (409, "policy_changed")
    assert "epoch 4 is current" in str(changed) and "sign a new request" in str(changed)
    refused = translate_revert(revert("GrantInvalidAcceptance", provider="0x" + "11" * 20))
    assert isinstance(refused, AcceptanceInvalid) and error_status(refused) == (500, "acceptance_invalid")
    assert "provider_account" in str(refused)


def test_unknown_reverts_stay_access_denied() -> None:
    assert type(translate_revert(revert("SomethingElse"))) is AccessDenied
