"""Reading what survives a lost database, without a chain: journal files, receipts exports, their checks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from anchoring.errors import RecoveryRefused
from anchoring.journal import read_journal, write_journal
from anchoring.recovery import RecoveredBatch, check_unique, export_batches, journal_batches, known_roots, recover
from notary.proofs import seal
from notary.receipts import Receipt

CHAIN_ID = 31337
GRANT = "0x" + "ab" * 32
ASSET = "0x" + "cd" * 32
CONSUMER = "0x" + "12" * 20


def receipt(n: int, decision: str = "allow") -> Receipt:
    return Receipt(receipt_id=f"rcpt-aaaa-{n}", grant_id=GRANT, asset_id=ASSET, consumer=CONSUMER,
                   purpose="research", decision=decision, byte_count=10, timestamp=1_700_000_000 + n,
                   content_hash=ASSET)


def anchored(*batches: list[Receipt]) -> dict[str, dict[str, Any]]:
    """The chain's view: root -> its RootAnchored event."""
    out = {}
    for n, receipts in enumerate(batches):
        root = seal(receipts).root.lower()
        out[root] = {"root": root, "leaf_count": len(receipts), "tx": "0x" + f"{n:02x}" * 32, "block": n + 1}
    return out


def journal(directory: Path, receipts: list[Receipt], **header: Any) -> Path:
    return write_journal(directory, seal(receipts).root, receipts, chain_id=CHAIN_ID, **header)


def export(path: Path, sealed: list[Receipt], pending: Sequence[Receipt] = ()) -> Path:
    """An auditor's receipts file: the sealed receipts with their proofs, the pending ones without."""
    proofs = seal(sealed).proofs
    lines = [{"receipt": r.to_dict(), "proof": proofs[r.receipt_id].to_dict()} for r in sealed]
    lines += [{"receipt": r.to_dict(), "proof": None} for r in pending]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_journal_batches_that_rebuild_to_their_root(tmp_path: Path) -> None:
    first, second = [receipt(1), receipt(2, "deny")], [receipt(3)]
    journal(tmp_path, first)
    journal(tmp_path, second)
    chain = anchored(first)  # the second was sealed but never anchored: still recovered
    batches = journal_batches(tmp_path, set(), chain, chain_id=CHAIN_ID)
    assert {b.root: list(b.receipts) for b in batches} == {seal(first).root.lower(): first,
                                                          seal(second).root.lower(): second}
    assert journal_batches(tmp_path, {b.root for b in batches}, chain, chain_id=CHAIN_ID) == []  # known: left out
    assert journal_batches(tmp_path / "none", set(), chain, chain_id=CHAIN_ID) == []


def test_a_journal_that_does_not_rebuild_to_its_root_is_refused(tmp_path: Path) -> None:
    receipts = [receipt(1), receipt(2)]
    path = journal(tmp_path, receipts)
    head, _ = read_journal(path)
    altered = receipt(2, "deny")
    path.write_text(json.dumps(head) + "\n" + receipts[0].to_json() + "\n" + altered.to_json() + "\n")
    with pytest.raises(RecoveryRefused, match="does not rebuild to its root"):
        journal_batches(tmp_path, set(), anchored(receipts), chain_id=CHAIN_ID)


def test_a_journal_that_does_not_match_the_chain_or_is_unreadable_is_refused(tmp_path: Path) -> None:
    receipts = [receipt(1), receipt(2)]
    journal(tmp_path, receipts)
    chain = anchored(receipts)
    next(iter(chain.values()))["leaf_count"] = 3
    with pytest.raises(RecoveryRefused, match="does not match the chain"):
        journal_batches(tmp_path, set(), chain, chain_id=CHAIN_ID)
    with pytest.raises(RecoveryRefused, match="is of chain 31337, not 1"):
        journal_batches(tmp_path, set(), anchored(receipts), chain_id=1)
    (tmp_path / "junk.jsonl").write_text("not json\n")
    with pytest.raises(RecoveryRefused, match="unreadable"):
        journal_batches(tmp_path, set(), anchored(receipts), chain_id=CHAIN_ID)


def test_an_export_skips_pending_lines_and_roots_it_cannot_rebuild(tmp_path: Path) -> None:
    sealed, other, partial = [receipt(1), receipt(2)], [receipt(3)], [receipt(4), receipt(5)]
    export(tmp_path / "a.jsonl", sealed, pending=[receipt(6), receipt(7)])
    batches, skipped = export_batches(tmp_path / "a.jsonl", set(), anchored(sealed))
    assert [(b.root, list(b.receipts)) for b in batches] == [(seal(sealed).root.lower(), sealed)]
    assert skipped == [f"{tmp_path / 'a.jsonl'}: 2 receipt(s) without a proof (pending when exported)"]

    export(tmp_path / "b.jsonl", other)
    batches, skipped = export_batches(tmp_path / "b.jsonl", set(), anchored(sealed))
    assert batches == [] and "is not anchored by this gateway (1 receipts)" in skipped[0]

    proofs = seal(partial).proofs  # one of the two receipts only: it does not rebuild the root
    (tmp_path / "c.jsonl").write_text(json.dumps({"receipt": partial[0].to_dict(),
                                                  "proof": proofs[partial[0].receipt_id].to_dict()}) + "\n")
    batches, skipped = export_batches(tmp_path / "c.jsonl", set(), anchored(partial))
    assert batches == [] and "1 of its 2 receipts, they do not rebuild the root" in skipped[0]


def test_an_export_that_is_not_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"receipt": {}}\n')
    with pytest.raises(RecoveryRefused, match="bad.jsonl:1: not a receipts file line"):
        export_batches(tmp_path / "bad.jsonl", set(), {})
    with pytest.raises(RecoveryRefused, match="cannot read receipts file"):
        export_batches(tmp_path / "absent.jsonl", set(), {})


def test_recover_finds_every_anchored_root_or_refuses_with_the_missing_ones(tmp_path: Path) -> None:
    from_journal, from_export, lost = [receipt(1)], [receipt(2), receipt(3)], [receipt(4)]
    journal(tmp_path / "journal", from_journal)
    export(tmp_path / "export.jsonl", from_export, pending=[receipt(5)])
    chain = anchored(from_journal, from_export)
    found = recover(chain, set(), tmp_path / "journal", [tmp_path / "export.jsonl"], chain_id=CHAIN_ID)
    assert set(found.batches) == set(chain)
    assert found.batches[seal(from_journal).root.lower()].source == str(tmp_path / "journal" /
                                                                          f"{seal(from_journal).root.lower()}.jsonl")
    assert len(found.skipped) == 1

    chain = anchored(from_journal, from_export, lost)
    with pytest.raises(RecoveryRefused, match="1 anchored receipts root") as refused:
        recover(chain, set(), tmp_path / "journal", [tmp_path / "export.jsonl"], chain_id=CHAIN_ID)
    assert refused.value.missing == (seal(lost).root.lower(),)
    known = {seal(lost).root.lower()}  # the database still has it: nothing missing
    assert set(recover(chain, known, tmp_path / "journal", [tmp_path / "export.jsonl"],
                       chain_id=CHAIN_ID).batches) == set(chain) - known


def test_a_receipt_id_in_two_batches_is_refused(tmp_path: Path) -> None:
    first, second = [receipt(1), receipt(2)], [receipt(2), receipt(3)]
    journal(tmp_path / "journal", first)
    export(tmp_path / "export.jsonl", second)
    with pytest.raises(RecoveryRefused, match="receipt rcpt-aaaa-2 is in two batches"):
        recover(anchored(first, second), set(), tmp_path / "journal", [tmp_path / "export.jsonl"], chain_id=CHAIN_ID)
    check_unique([RecoveredBatch("0x01", (receipt(1),), "a"), RecoveredBatch("0x02", (receipt(2),), "b")])


def test_known_roots_of_an_empty_database(tmp_path: Path) -> None:
    assert known_roots(create_engine(f"sqlite:///{tmp_path / 'gw.db'}")) == set()
