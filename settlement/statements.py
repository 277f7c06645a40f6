"""Pay-after-use (先用后付) statements: per grant and period, the units and amount the consumer signs.

The provider writes them (``tds settle statements``) from the anchored receipts; the consumer checks and
signs them (``tds consumer sign-statements``: EIP-712 ``UsageStatement`` in the Settlement domain); the
next ``tds settle run`` settles each signed one, and Settlement verifies the signature on-chain.

The consumer's check (:func:`check_units`) counts the units of each statement from its own receipts, as
the provider's gateway lists them, each with a proof the consumer verifies against the chain itself: a
statement charging more uses than those verified receipts prove is not signed (a receipt whose proof
fails, or one not anchored yet, proves nothing).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from chain.eip712 import UsageStatement, recover_signer, signature_problem
from notary.errors import ReceiptInvalid
from notary.receipts import Receipt
from settlement.errors import StatementInvalid

FORMAT = "tds-usage-statements-v1"


@dataclass(frozen=True)
class SignedStatement:
    """A statement, who must sign it, and the signature once signed."""

    statement: UsageStatement
    consumer: str
    asset_id: str
    signature: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON view (one entry of a statements file)."""
        return {**self.statement.to_json(), "consumer": self.consumer, "asset_id": self.asset_id,
                "signature": self.signature}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SignedStatement":
        """Inverse of :meth:`to_json`."""
        try:
            return cls(UsageStatement.from_json(data), str(data["consumer"]), str(data["asset_id"]).lower(),
                       data.get("signature") or None)
        except (KeyError, TypeError, ValueError) as exc:
            raise StatementInvalid(f"a statement entry is malformed ({exc}): write it with `tds settle statements`") from exc

    def verify(self, chain_id: int, settlement: str) -> None:
        """Raise StatementInvalid unless signed canonically by its consumer."""
        if not self.signature:
            raise StatementInvalid(f"the statement of grant {self.statement.grant_id} is not signed: "
                                   "the consumer signs it with `tds consumer sign-statements`")
        problem = signature_problem(self.signature)
        if problem is not None:
            raise StatementInvalid(f"the statement of grant {self.statement.grant_id}: {problem}")
        try:
            signer = recover_signer(self.statement.typed_data(chain_id, settlement), self.signature)
        except Exception as exc:  # malformed signature bytes
            raise StatementInvalid(f"the statement signature of grant {self.statement.grant_id} cannot be "
                                   "recovered") from exc
        if signer.lower() != self.consumer.lower():
            raise StatementInvalid(f"the statement of grant {self.statement.grant_id} is signed by {signer}, "
                                   f"not by its consumer {self.consumer}")


def write_statements(path: Path, chain_id: int, settlement: str, entries: Iterable[SignedStatement]) -> int:
    """Write a statements file; returns the number of entries."""
    items = [e.to_json() for e in entries]
    path.write_text(json.dumps({"format": FORMAT, "chain_id": chain_id, "settlement": settlement,
                                "statements": items}, indent=1) + "\n")
    return len(items)


def read_statements(path: Path, chain_id: int, settlement: str) -> list[SignedStatement]:
    """Read a statements file written for this chain's Settlement contract."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise StatementInvalid(f"cannot read statements file {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StatementInvalid(f"{path} is not a TDS statements file (write one with `tds settle statements`)")
    if int(data.get("chain_id", -1)) != chain_id or str(data.get("settlement", "")).lower() != settlement.lower():
        raise StatementInvalid(f"{path} is for chain {data.get('chain_id')} contract {data.get('settlement')}, "
                               f"not this chain's Settlement {settlement}")
    return [SignedStatement.from_json(item) for item in data.get("statements", [])]


def sign_statements(entries: Iterable[SignedStatement], account: LocalAccount, chain_id: int,
                    settlement: str) -> list[SignedStatement]:
    """Sign every statement addressed to ``account``; others are left as they are."""
    out = []
    for entry in entries:
        if entry.consumer.lower() == str(account.address).lower():
            entry = SignedStatement(entry.statement, entry.consumer, entry.asset_id,
                                    entry.statement.sign(account, chain_id, settlement))
        out.append(entry)
    return out


@dataclass(frozen=True)
class UnitsCheck:
    """A consumer's check of one statement against its own receipts: the allowed uses of the grant in the
    statement's period that the consumer holds a verified proof for (``proven``), those not anchored yet
    (``pending``), and the receipt ids whose proof did not verify (``unproven``)."""

    entry: SignedStatement
    proven: int
    pending: int
    unproven: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every use the statement charges for is one the consumer's anchored receipts prove (a
        provider may bill fewer; the consumer never signs for a use it cannot prove)."""
        return self.entry.statement.units <= self.proven

    def problem(self) -> str | None:
        """Why the consumer should not sign, in a sentence; None when it may."""
        if self.ok:
            return None
        s = self.entry.statement
        parts = [f"it claims {s.units} use(s), your anchored receipts prove {self.proven}"]
        if self.pending:
            parts.append(f"{self.pending} more not anchored yet")
        if self.unproven:
            parts.append(f"{len(self.unproven)} whose proof does not verify ({', '.join(self.unproven[:3])})")
        return f"the statement of grant {s.grant_id}: " + "; ".join(parts)


def check_units(entry: SignedStatement, receipts: Iterable[dict[str, Any]],
                proves: Callable[[Receipt], bool]) -> UnitsCheck:
    """Count what ``receipts`` (the gateway's receipt documents, ``GET /receipts?grant=``) prove for
    ``entry``: allowed uses of its grant by its consumer with a time in the statement's period, anchored,
    each with a proof ``proves(receipt)`` accepts (the caller fetches it and verifies, against the chain,
    that it proves this very receipt). A document that is not a receipt counts as unproven."""
    s = entry.statement
    proven = pending = 0
    unproven: list[str] = []
    for doc in receipts:
        try:
            r = Receipt.from_dict(doc.get("receipt"))
        except (ReceiptInvalid, TypeError, AttributeError):
            unproven.append(str((doc.get("receipt") or {}).get("receipt_id", "?")) if isinstance(doc, dict) else "?")
            continue
        if (r.grant_id.lower() != s.grant_id.lower() or r.decision != "allow"
                or r.consumer.lower() != entry.consumer.lower() or not s.period_start <= r.timestamp < s.period_end):
            continue
        if doc.get("state") != "anchored":
            pending += 1
        elif proves(r):
            proven += 1
        else:
            unproven.append(r.receipt_id)
    return UnitsCheck(entry, proven, pending, tuple(unproven))
