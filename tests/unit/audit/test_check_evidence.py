"""`tds audit check` on evidence: for whom a receipts root was anchored, duplicate receipt ids, nothing verified.

A receipts root is evidence only when anchored for the provider of its receipts' asset (by it or by a notary
key it registered: ``RootAnchored`` names both); another provider's anchor of the same root is ignored (a
warning), never an error; two different receipts never share an id; a check that verified no receipt
against anchored roots never passes for clean.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from audit.check import run_check
from audit.db import IndexDb
from audit.indexer import Indexer
from audit.receipts import ReceiptEntry
from notary.proofs import seal
from notary.receipts import Receipt
from tests.unit.audit.conftest import CLEAN, CONSUMER, G1, PROVIDER, SyntheticChain, anchor, small_space

OTHER = "0x" + "44" * 20  # another provider (or anyone but CLEAN's provider)
NOTARY = "0x" + "66" * 20


@pytest.fixture
def indexed(indexer: Indexer, chain: SyntheticChain, db: IndexDb) -> IndexDb:
    small_space(chain)
    indexer.run_once()
    return db


def _receipts(chain: SyntheticChain, *ids: str) -> list[Receipt]:
    at = chain.timestamp(chain.head()) + 1
    return [Receipt(rid, G1, CLEAN, CONSUMER, "research", "deny", 0, at + i, "0x" + "cd" * 32)
            for i, rid in enumerate(ids)]


def _anchor_as(chain: SyntheticChain, indexer: Indexer, provider: str, receipts: list[Receipt],
               anchorer: str | None = None, leaves: int | None = None) -> list[ReceiptEntry]:
    """Anchor the receipts' root for ``provider`` (sent by ``anchorer``, default the provider itself)."""
    batch = seal(receipts, chain_id=31337, contract="0x" + "55" * 20)
    anchor(chain, batch.root, leaves or len(receipts), provider=provider, anchorer=anchorer)
    indexer.run_once()
    return [ReceiptEntry(r, batch.proofs[r.receipt_id]) for r in receipts]


def test_a_root_anchored_by_another_party_is_an_error_naming_both(indexed: IndexDb, chain: SyntheticChain,
                                                                   indexer: Indexer) -> None:
    forged = _anchor_as(chain, indexer, OTHER, _receipts(chain, "f1", "f2"))
    with indexed.session() as s:
        report = run_check(s, forged, chain_id=31337)
    wrong = [f for f in report.findings if f.code == "receipt_wrong_anchorer"]
    assert not report.ok and len(wrong) == 1 and wrong[0].severity == "error"
    message = wrong[0].message.lower()
    assert OTHER in message and PROVIDER in message and f"did:pkh:eip155:31337:{OTHER}" in message
    assert "nor a notary key it registered" in message
    assert report.counted["verified_receipts"] == 0


def test_a_root_anchored_by_the_providers_notary_key_is_evidence(indexed: IndexDb, chain: SyntheticChain,
                                                                  indexer: Indexer) -> None:
    entries = _anchor_as(chain, indexer, PROVIDER, _receipts(chain, "n1", "n2"), anchorer=NOTARY)
    other_key = _anchor_as(chain, indexer, OTHER, _receipts(chain, "o1"), anchorer=NOTARY)
    with indexed.session() as s:
        report = run_check(s, entries)  # no chain needed: the event names the provider
        other = run_check(s, other_key)
    assert report.ok and report.counted["verified_receipts"] == 2, [f.line() for f in report.findings]
    assert [f.code for f in other.findings if f.severity == "error"] == ["receipt_wrong_anchorer"]
    wrong = next(f for f in other.findings if f.code == "receipt_wrong_anchorer")
    assert f"{NOTARY}, a notary key of {OTHER}" in wrong.message.lower(), wrong.message


def test_a_squatters_anchor_of_the_providers_root_is_ignored_with_a_warning(
        indexed: IndexDb, chain: SyntheticChain, indexer: Indexer) -> None:
    receipts = _receipts(chain, "s1", "s2", "s3")
    squatted = _anchor_as(chain, indexer, OTHER, receipts, leaves=99)  # first, with a bogus leaf count
    with indexed.session() as s:
        only_squatter = run_check(s, squatted, chain_id=31337)
    assert [f.code for f in only_squatter.findings if f.severity == "error"] == ["receipt_wrong_anchorer"]
    entries = _anchor_as(chain, indexer, PROVIDER, receipts)  # the provider anchors the same root after
    with indexed.session() as s:
        report = run_check(s, entries, chain_id=31337)
    assert report.ok and report.counted["verified_receipts"] == 3, [f.line() for f in report.findings]
    codes = [f.code for f in report.findings]
    assert "root_mismatch" not in codes and "receipt_wrong_anchorer" not in codes
    other = next(f for f in report.findings if f.code == "root_anchored_by_other")
    assert other.severity == "warning" and OTHER in other.message.lower() and "ignored" in other.message


def test_two_different_receipts_with_one_id_are_an_error(indexed: IndexDb, chain: SyntheticChain,
                                                          indexer: Indexer) -> None:
    first = _anchor_as(chain, indexer, PROVIDER, _receipts(chain, "rcpt-1"))
    again = _anchor_as(chain, indexer, PROVIDER, [replace(first[0].receipt, byte_count=7, timestamp=first[0]
                                                          .receipt.timestamp + 9)])
    with indexed.session() as s:
        dup = run_check(s, [*first, *again])
        same_twice = run_check(s, [*first, first[0]])
    found = [f for f in dup.findings if f.code == "duplicate_receipt_id"]
    assert not dup.ok and len(found) == 1 and found[0].subject == "receipt rcpt-1"
    assert "two different receipts share this id" in found[0].message and "UTC" in found[0].message
    assert same_twice.ok and "duplicate_receipt" in {f.code for f in same_twice.findings}  # the same one: a warning


def test_nothing_verified_against_anchored_roots_is_never_clean(indexed: IndexDb, chain: SyntheticChain,
                                                                indexer: Indexer) -> None:
    _anchor_as(chain, indexer, PROVIDER, _receipts(chain, "x1"))
    anchor(chain, "0x" + "ab" * 32, 3)
    indexer.run_once()
    with indexed.session() as s:
        report = run_check(s, ())
        unrelated = run_check(s, [ReceiptEntry(r, None) for r in _receipts(chain, "pending")])
    for r in (report, unrelated):
        codes = [f.code for f in r.findings]
        assert "no_receipts_verified" in codes and r.counted["verified_receipts"] == 0, codes
    warning = next(f for f in report.findings if f.code == "no_receipts_verified")
    assert "0 receipts were verified" in warning.message and "--receipts" in warning.message
