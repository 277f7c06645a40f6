"""Unit tests of settlement/: periods as people type them, amounts, statements files, splits, usage roots."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_account import Account

from chain.eip712 import UsageStatement
from domain.types import Asset
from notary.merkle import StandardMerkleTree
from notary.receipts import RECEIPT_LEAF_ENCODING, Receipt
from settlement.errors import LineageTooDeep, PeriodInvalid, StatementInvalid
from settlement.money import Money
from settlement.periods import Period, parse_period
from settlement.splits import SplitBook
from settlement.statements import SignedStatement, check_units, read_statements, sign_statements, write_statements
from settlement.usage import usage_root

NOW = int(datetime(2026, 12, 3, 10, 30, tzinfo=UTC).timestamp())
DAY = 86_400


def ts(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp())  # type: ignore[misc]


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-01", Period(ts(2026, 12, 1), ts(2026, 12, 2))),
    ("2026-11", Period(ts(2026, 11, 1), ts(2026, 12, 1))),
    ("yesterday", Period(ts(2026, 12, 2), ts(2026, 12, 3))),
    ("today", Period(ts(2026, 12, 3), NOW)),
    ("2026-12-02T06:00/now", Period(ts(2026, 12, 2, 6), NOW)),
    ("2026-12-02T06:00+08:00/2026-12-02T08:00+08:00", Period(ts(2026, 12, 1, 22), ts(2026, 12, 2, 0))),
])
def test_periods_read_as_people_write_them(text: str, expected: Period) -> None:
    assert parse_period(text, NOW) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("2026-12-03", "after the chain's time"),
    ("2026-12", "after the chain's time"),
    ("2026-12-02/2026-12-01", "is empty"),
    ("last week", "not a date"),
    ("2026-13", "not a month"),
    ("2026-12-01T10:00", "give a day"),
])
def test_bad_periods_name_the_fix(text: str, message: str) -> None:
    with pytest.raises(PeriodInvalid, match=message):
        parse_period(text, NOW)


def test_period_describes_itself_with_dates() -> None:
    assert Period(ts(2026, 12, 1), ts(2026, 12, 2)).describe() == "2026-12-01 00:00:00 UTC .. 2026-12-02 00:00:00 UTC"


def test_money_formats_and_parses_token_units() -> None:
    tdst, points = Money("TDST", 18), Money("TDSC", 0)
    assert tdst.format(12_500_000_000_000_000_000) == "12.5 TDST"
    assert tdst.format(0) == "0 TDST" and tdst.format(5 * 10**18) == "5 TDST"
    assert points.format(1234) == "1,234 TDSC"
    assert tdst.parse("12.5") == 12_500_000_000_000_000_000 and tdst.parse("base:7") == 7
    assert points.parse("40 TDSC") == 40
    for bad in ("1.5", "-3", "ten"):
        with pytest.raises(ValueError):
            points.parse(bad)


def _receipt(n: int, grant: str = "0x" + "ab" * 32) -> Receipt:
    return Receipt(f"rcpt-0badcafe-{n}", grant, "0x" + "cd" * 32, "0x" + "11" * 20, "research", "allow", 10,
                   1_700_000_000 + n, "0x" + "cd" * 32)


def test_usage_root_is_the_standard_tree_of_the_receipts_whatever_their_order() -> None:
    receipts = [_receipt(n) for n in (3, 1, 2)]
    root, count = usage_root(receipts)
    tree = StandardMerkleTree.of([r.leaf_values() for r in sorted(receipts, key=lambda r: r.receipt_id)],
                                 RECEIPT_LEAF_ENCODING)
    assert (root, count) == (tree.root, 3)
    assert usage_root(reversed(receipts)) == (root, 3)
    assert usage_root(receipts[:2])[0] != root
    with pytest.raises(ValueError):
        usage_root([])


def test_statements_round_trip_and_only_the_consumers_signature_counts(tmp_path: Path) -> None:
    consumer, other = Account.create(), Account.create()
    settlement = "0x" + "5e" * 20
    statement = UsageStatement("0x" + "ab" * 32, 100, 200, 3, 700, "0x" + "cd" * 32)
    entry = SignedStatement(statement, consumer.address, "0x" + "ef" * 32)
    path = tmp_path / "st.json"
    assert write_statements(path, 31337, settlement, [entry]) == 1
    [read] = read_statements(path, 31337, settlement)
    assert read == entry
    with pytest.raises(StatementInvalid, match="not signed"):
        read.verify(31337, settlement)
    [untouched] = sign_statements([read], other, 31337, settlement)
    assert untouched.signature is None
    [signed] = sign_statements([read], consumer, 31337, settlement)
    signed.verify(31337, settlement)
    forged = SignedStatement(statement, consumer.address, entry.asset_id, statement.sign(other, 31337, settlement))
    with pytest.raises(StatementInvalid, match="not by its consumer"):
        forged.verify(31337, settlement)
    with pytest.raises(StatementInvalid, match="not this chain"):
        read_statements(path, 1, settlement)
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(StatementInvalid, match="not a TDS statements file"):
        read_statements(path, 31337, settlement)


class FakeAssets:
    """AssetsClient.get over a dict."""

    def __init__(self, assets: dict[str, Asset]) -> None:
        self.assets = assets

    def get(self, asset_id: str) -> Asset | None:
        return self.assets.get(asset_id)


def _asset(asset_id: str, parents: tuple[str, ...] = (), owners: tuple[str, ...] = (), shares: tuple[int, ...] = (),
           previous: str | None = None) -> Asset:
    return Asset(asset_id, "0x" + "01" * 20, 1, 1, True, "0x" + "00" * 32, "", parents, owners, shares, previous,
                 "0x", 1)


def test_splits_carry_the_whole_ancestry_once_and_versions_inherit_owners_and_parents() -> None:
    a, b, c, d, d2 = ("0x" + ch * 64 for ch in "abcde")
    owner = "0x" + "22" * 20
    book = SplitBook(FakeAssets({  # type: ignore[arg-type]
        a: _asset(a, owners=(owner,), shares=(10_000,)), b: _asset(b, parents=(a,)), c: _asset(c, parents=(a, b)),
        d: _asset(d, parents=(c,)), d2: _asset(d2, previous=d),
    }))
    splits, index = book.splits_for([d2, b])
    assert [s.asset_id for s in splits] == [d2, c, a, b]
    assert splits[index[d2]].parents == (index[c],)  # the version's parents are the first version's
    assert splits[index[c]].parents == (index[a], index[b])
    assert splits[index[a]].owners == (owner,) and splits[index[b]].owners == ()


def test_an_ancestry_too_large_for_a_batch_is_refused_not_cut() -> None:
    ids = ["0x" + f"{n:064x}" for n in range(600)]
    assets = {ids[0]: _asset(ids[0])}
    for n in range(1, 600):
        assets[ids[n]] = _asset(ids[n], parents=(ids[n - 1],))
    with pytest.raises(LineageTooDeep, match="--batch-size"):
        SplitBook(FakeAssets(assets)).splits_for([ids[-1]])  # type: ignore[arg-type]


def test_a_consumer_counts_a_statements_units_from_its_own_proven_receipts() -> None:
    grant = "0x" + "ab" * 32
    consumer = "0x" + "11" * 20
    base = 1_700_000_000
    statement = UsageStatement(grant, base, base + 100, 3, 2_100, "0x" + "cd" * 32)
    entry = SignedStatement(statement, consumer, "0x" + "cd" * 32)

    def doc(r: Receipt, state: str = "anchored") -> dict[str, object]:
        return {"receipt": r.to_dict(), "state": state}

    three = [_receipt(n) for n in (1, 2, 3)]
    denied = Receipt("rcpt-0badcafe-4", grant, "0x" + "cd" * 32, consumer, "research", "deny", 0, base + 4, "0x" + "00" * 32)
    late = _receipt(100)  # at the period's end: the next period's
    other_grant = _receipt(5, grant="0x" + "ef" * 32)
    check = check_units(entry, [doc(r) for r in [*three, denied, late, other_grant]], lambda r: True)
    assert (check.ok, check.proven, check.pending, check.problem()) == (True, 3, 0, None)

    # a statement claiming more than the receipts prove is not to be signed, and says why
    more = SignedStatement(UsageStatement(grant, base, base + 100, 4, 2_800, "0x" + "cd" * 32), consumer, entry.asset_id)
    check = check_units(more, [doc(r) for r in three], lambda r: True)
    assert not check.ok and "claims 4 use(s), your anchored receipts prove 3" in str(check.problem())

    # not anchored yet, or a proof that does not verify (for that receipt), does not count
    forged = three[2].receipt_id
    check = check_units(entry, [doc(three[0]), doc(three[1], "pending"), doc(three[2])],
                        lambda r: r.receipt_id != forged)
    assert (check.ok, check.proven, check.pending, check.unproven) == (False, 1, 1, (forged,))
    problem = str(check.problem())
    assert "1 more not anchored yet" in problem and f"1 whose proof does not verify ({forged})" in problem

    # billing fewer uses than proven may be signed; a document that is not a receipt is never counted
    fewer = SignedStatement(UsageStatement(grant, base, base + 100, 2, 1_400, "0x" + "cd" * 32), consumer, entry.asset_id)
    assert check_units(fewer, [doc(r) for r in three], lambda r: True).ok
    garbage = check_units(entry, [{"receipt": {"receipt_id": "x"}, "state": "anchored"}, *map(doc, three[:2])],
                          lambda r: True)
    assert (garbage.ok, garbage.proven, garbage.unproven) == (False, 2, ("x",))
