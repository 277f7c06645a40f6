"""domain.terms: the usage-terms rules (edges of window, count, price, purpose, jurisdiction, liveness),
and a scan proving they have one implementation."""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from domain import terms
from domain.terms import Refusal, Term
from domain.types import GrantRequest, Liveness, Policy, PriceModel

ROOT = Path(__file__).resolve().parents[3]
ASSET = "0x" + "aa" * 32
GRANT = "0x" + "bb" * 32
T0 = 1_800_000_000  # 2027-01-15 08:00:00 UTC


def request(not_before: int = T0, not_after: int = T0 + 100, max_count: int = 5, price: int = 0,
            deadline: int = T0 + 1000, epoch: int = 0) -> GrantRequest:
    return GrantRequest(ASSET, "0x" + "22" * 20, "research", not_before, not_after, max_count, price, 1, deadline,
                        epoch)


# ---- window ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clocks", "verdict"),
    [
        ((T0 - 1,), Liveness.NOT_YET_VALID),
        ((T0,), Liveness.LIVE),  # exactly at not_before: started
        ((T0 + 99,), Liveness.LIVE),
        ((T0 + 100,), Liveness.EXPIRED),  # exactly at not_after: over
        ((T0 + 50, T0 - 1), Liveness.NOT_YET_VALID),  # one clock before: not started
        ((T0 + 50, T0 + 100), Liveness.EXPIRED),  # one clock at the end: over
        ((T0 - 1, T0 + 100), Liveness.EXPIRED),  # over beats not started (fail closed)
        ((T0 + 99.5, T0), Liveness.LIVE),  # fractional gateway clocks
    ],
)
def test_window_is_half_open_and_fail_closed_on_every_clock(clocks: tuple[float, ...], verdict: Liveness) -> None:
    assert terms.window_verdict(T0, T0 + 100, *clocks) == verdict


def test_window_needs_a_clock() -> None:
    with pytest.raises(ValueError, match="at least one clock"):
        terms.window_verdict(T0, T0 + 100)


def test_an_empty_window_has_no_instant() -> None:
    assert terms.window_empty(T0, T0) and terms.window_empty(T0 + 1, T0)
    assert not terms.window_empty(T0, T0 + 1)


@pytest.mark.parametrize(
    ("inner", "outer", "within"),
    [
        ((T0, T0 + 100), (T0, T0 + 100), True),  # the policy's own bounds
        ((T0 - 1, T0 + 100), (T0, T0 + 100), False),
        ((T0, T0 + 101), (T0, T0 + 100), False),
        ((0, 2**32 - 1), (0, 0), True),  # a policy's not_after 0: unbounded
        ((T0, 2**32 - 1), (T0 + 1, 0), False),
    ],
)
def test_a_grant_window_must_lie_within_the_policy_window(inner: tuple[int, int], outer: tuple[int, int],
                                                          within: bool) -> None:
    policy = Policy(not_before=outer[0], not_after=outer[1])
    assert terms.window_within(request(*inner), policy) is within


# ---- count --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "cap", "allowed"),
                         [(0, 0, False), (1, 0, True), (2**24 - 1, 0, True), (0, 5, False), (1, 5, True),
                          (5, 5, True), (6, 5, False)])
def test_a_grant_count_is_one_to_the_policy_cap(count: int, cap: int, allowed: bool) -> None:
    assert terms.count_allowed(count, cap) is allowed


@pytest.mark.parametrize(("used", "max_count", "left"), [(0, 5, 5), (4, 5, 1), (5, 5, 0), (7, 5, 0)])
def test_count_left_never_goes_below_zero(used: int, max_count: int, left: int) -> None:
    assert terms.count_left(used, max_count) == left


# ---- purpose and jurisdiction -------------------------------------------------------------------------------


def test_purposes_and_jurisdictions_listed_or_any() -> None:
    assert terms.purpose_allowed((), "anything") and terms.purpose_allowed([], "")
    assert terms.purpose_allowed(("research", "teaching"), "teaching")
    assert not terms.purpose_allowed(("research",), "Research")  # purposes are exact strings
    assert terms.jurisdiction_allowed((), "US")
    assert terms.jurisdiction_allowed(("DE", "FR"), "fr")  # ISO codes: any case
    assert not terms.jurisdiction_allowed(("DE",), "AT")


def test_purpose_and_jurisdiction_refusals_say_why() -> None:
    assert terms.purpose_refusal(ASSET, "ads", True) is None
    assert terms.purpose_refusal(ASSET, "ads", False) == Refusal(
        Term.PURPOSE, f"purpose 'ads' is not allowed for asset {ASSET}")
    assert terms.purpose_refusal(ASSET, "ads", False, issued=True) == Refusal(
        Term.PURPOSE, f"purpose 'ads' is no longer allowed for asset {ASSET}")
    assert terms.declared_purpose_refusal(GRANT, "research", None) is None
    assert terms.declared_purpose_refusal(GRANT, "research", "research") is None
    assert terms.declared_purpose_refusal(GRANT, "research", "ads") == Refusal(
        Term.PURPOSE, f"grant {GRANT} is for purpose 'research', not 'ads'")
    assert terms.jurisdiction_refusal(ASSET, "US", True) is None
    assert terms.jurisdiction_refusal(ASSET, "US", False) == Refusal(
        Term.JURISDICTION, f"consumers in 'US' may not use asset {ASSET}")
    assert terms.jurisdiction_refusal(ASSET, "US", False, access=True) == Refusal(
        Term.JURISDICTION, f"consumers in 'US' may not access asset {ASSET}")


# ---- issuance -----------------------------------------------------------------------------------------


POLICY = Policy(not_before=T0 - 1000, not_after=T0 + 1000, max_count=5, price_per_access=3,
                price_model=PriceModel.PREPAID)


@pytest.mark.parametrize(
    ("req", "clocks", "term", "message"),
    [
        (request(deadline=T0 - 1, price=2, epoch=1), (T0 - 5, T0), Term.EPOCH,  # first: a new offer fixes the rest
         "the asset's policy changed (epoch 0 is current, the request agrees to epoch 1): fetch the offer again "
         "and sign a new request"),
        (request(deadline=T0 - 1, price=3), (T0 - 5, T0), Term.DEADLINE,  # passed by the later clock
         "grant request deadline 2027-01-15 07:59:59 UTC has passed (now 2027-01-15 08:00:00 UTC): "
         "sign a new request"),
        (request(T0, T0, price=3), (T0 - 10, T0 - 10), Term.WINDOW,
         "window 2027-01-15 08:00:00 UTC .. 2027-01-15 08:00:00 UTC is empty"),
        (request(price=3), (T0 - 10, T0 + 100), Term.WINDOW,  # over by the gateway's clock only
         "window ends at 2027-01-15 08:01:40 UTC, which has passed (now 2027-01-15 08:01:40 UTC)"),
        (request(T0 - 1001, price=3), (T0, T0), Term.WINDOW, f"window must lie within [{T0 - 1000}, {T0 + 1000}]"),
        (request(max_count=6, price=3), (T0, T0), Term.COUNT, "max_count must be 1..5"),
        (request(max_count=0, price=3), (T0, T0), Term.COUNT, "max_count must be 1..5"),
        (request(price=2), (T0, T0), Term.PRICE, "price_per_access must be 3"),
    ],
)
def test_issuance_refusals_in_order(req: GrantRequest, clocks: tuple[int, int], term: Term, message: str) -> None:
    assert terms.issuance_refusal(req, POLICY, *clocks) == Refusal(term, message)


def test_issuance_accepts_terms_at_their_edges() -> None:
    edge = request(T0 - 1000, T0 + 1000, max_count=5, price=3, deadline=T0)
    assert terms.issuance_refusal(edge, POLICY, T0, T0) is None  # deadline == now; window == the policy's
    assert terms.issuance_refusal(request(T0 + 10, price=3), POLICY, T0, T0) is None  # may start later
    unbounded = Policy()
    assert terms.issuance_refusal(request(0, 2**32 - 1, max_count=2**24 - 1), unbounded, T0, T0) is None
    assert terms.issuance_refusal(request(0, 2**32 - 1, max_count=0), unbounded, T0, T0) == Refusal(
        Term.COUNT, "max_count must be 1..any")
    late = Policy(not_before=T0)
    assert terms.issuance_refusal(request(T0 - 1), late, T0, T0) == Refusal(
        Term.WINDOW, f"window must lie within [{T0}, unbounded]")


# ---- escrow ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    released: bool = False
    locked: int = 15
    units: int = 0


@pytest.mark.parametrize(
    ("model", "period", "req", "lock"),
    [
        (PriceModel.FREE, 0, request(), 0),
        (PriceModel.PAY_AFTER_USE, 0, request(price=3), 0),  # paid from the wallet per period: nothing locked
        (PriceModel.PREPAID, 0, request(max_count=5, price=3), 15),
        (PriceModel.SUBSCRIPTION, 30, request(T0, T0 + 100, price=7), 4 * 7),  # 4 started periods of 30 s
        (PriceModel.SUBSCRIPTION, 100, request(T0, T0 + 100, price=7), 7),  # exactly one period
        (PriceModel.SUBSCRIPTION, 99, request(T0, T0 + 100, price=7), 14),
    ],
)
def test_the_escrow_lock_is_what_usage_grants_locks(model: PriceModel, period: int, req: GrantRequest,
                                                     lock: int) -> None:
    assert terms.escrow_lock(req, model, period) == lock


def test_subscription_periods_are_started_periods_capped_by_the_window() -> None:
    window = request(T0, T0 + 100)
    assert terms.subscription_periods(window, 30) == 4
    assert terms.subscription_periods(window, 30, T0) == 0 and terms.subscription_periods(window, 30, T0 + 1) == 1
    assert terms.subscription_periods(window, 30, T0 + 61) == 3
    assert terms.subscription_periods(window, 30, T0 + 10_000) == 4  # capped by the window's end
    assert terms.subscription_periods(window, 0) == 0


@pytest.mark.parametrize(
    ("model", "account", "message"),
    [
        (PriceModel.FREE, None, None),
        (PriceModel.PAY_AFTER_USE, None, None),  # nothing is locked for it: nothing to check
        (PriceModel.PREPAID, Account(), None),
        (PriceModel.PREPAID, None, f"grant {GRANT} is prepaid but has no escrow account in Settlement: it is not "
                                   "served"),
        (PriceModel.SUBSCRIPTION, Account(released=True), f"the escrow of grant {GRANT} was released to the "
                                                          "consumer: the grant is no longer paid for "
                                                          "(request a new grant)"),
        (PriceModel.PREPAID, Account(locked=0, units=2), f"the escrow of grant {GRANT} is empty (refunded or "
                                                         "claimed): the rest of the grant is not paid for "
                                                         "(request a new grant)"),
        (PriceModel.PREPAID, Account(locked=0, units=5), None),  # every use charged (and used)
        (PriceModel.SUBSCRIPTION, Account(locked=0, units=3), f"the escrow of grant {GRANT} is empty (refunded or "
                                                              "claimed): the rest of the grant is not paid for "
                                                              "(request a new grant)"),
        (PriceModel.SUBSCRIPTION, Account(locked=0, units=4), None),  # the last period charged: still paid for
    ],
)
def test_escrow_refusals(model: PriceModel, account: Account | None, message: str | None) -> None:
    refusal = terms.escrow_refusal(GRANT, model, request(T0, T0 + 100, max_count=5, price=3), 30, account)
    assert refusal == (None if message is None else Refusal(Term.ESCROW, message))


# ---- liveness -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "revoked_at", "state"),
    [(T0 - 1, None, Liveness.NOT_YET_VALID), (T0, None, Liveness.LIVE), (T0 + 100, None, Liveness.EXPIRED),
     (T0 + 10, T0 + 10, Liveness.REVOKED), (T0 + 9, T0 + 10, Liveness.LIVE), (T0 - 5, T0 - 10, Liveness.REVOKED),
     (T0 + 200, T0 + 10, Liveness.REVOKED)],
)
def test_grant_state_at_a_time(at: int, revoked_at: int | None, state: Liveness) -> None:
    assert terms.grant_state(request(), at, revoked_at) == state


def test_liveness_reasons_name_the_window_bound_that_decided() -> None:
    req = request()
    assert terms.liveness_reason(GRANT, Liveness.EXPIRED, req) == (
        f"grant {GRANT} has expired: its window ended at 2027-01-15 08:01:40 UTC")
    assert terms.liveness_reason(GRANT, Liveness.NOT_YET_VALID, req) == (
        f"grant {GRANT} is not valid yet: its window starts at 2027-01-15 08:00:00 UTC")
    assert terms.liveness_reason(GRANT, Liveness.REVOKED, req) == f"grant {GRANT} was revoked"
    assert terms.liveness_reason(GRANT, Liveness.UNKNOWN) == f"grant {GRANT} is not on-chain"
    assert terms.liveness_reason(GRANT, Liveness.EXPIRED) == f"grant {GRANT} has expired"


def test_human_time() -> None:
    assert terms.human_time(0) == "1970-01-01 00:00:00 UTC"
    assert terms.human_time(T0 + 100) == "2027-01-15 08:01:40 UTC"


# ---- one implementation ------------------------------------------------------------------------------------

_ORDERED = {"not_before", "not_after", "max_count"}  # compared with < <= > >= only by domain.terms
_LISTS = {"purposes", "jurisdictions"}  # a policy's lists (``p.purposes``), searched with `in` only by domain.terms
_NOT_YET: Counter[str] = Counter()  # places still judging a term themselves (none left; keep it so)


def _name(node: ast.expr) -> str | None:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None


def _rule_sites(tree: ast.AST) -> int:
    sites = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        ordered = any(isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) for op in node.ops)
        member = any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops)
        if ordered and any(_name(x) in _ORDERED for x in (node.left, *node.comparators)):
            sites += 1
        elif member and any(isinstance(x, ast.Attribute) and x.attr in _LISTS for x in node.comparators):
            sites += 1
    return sites


def _python_files() -> list[Path]:
    skip = {"tests", "node_modules"}
    return [p for p in ROOT.rglob("*.py")
            if not any(part.startswith(".") or part in skip for part in p.relative_to(ROOT).parts)]


def test_the_terms_rules_have_one_implementation() -> None:
    found = Counter({str(p.relative_to(ROOT)): _rule_sites(ast.parse(p.read_text(encoding="utf-8")))
                     for p in _python_files()})
    assert found["domain/terms.py"] > 0  # the scan sees the rules where they are
    others = {path: n for path, n in found.items() if n and path != "domain/terms.py"}
    assert all(n <= _NOT_YET[path] for path, n in others.items()), (
        f"window/count/purpose/jurisdiction judged outside domain.terms: {others}")
    gone = {path for path in _NOT_YET if found[path] < _NOT_YET[path]}
    assert not gone, f"lower the count in _NOT_YET for {gone}: fewer places judge terms themselves"


def test_the_old_copies_are_gone() -> None:
    for module in ("gateway/policy.py", "gateway/service.py", "audit/queries.py"):
        text = (ROOT / module).read_text(encoding="utf-8")
        assert "def window_verdict" not in text and "def human_time" not in text and "strftime" not in text, module
