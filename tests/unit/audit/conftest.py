"""A synthetic chain (blocks of decoded TDS events, reorgs on demand) and an in-memory index."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from audit.db import IndexDb
from audit.indexer import Indexer
from chain.logs import BlockRef, ChainEvent

T0 = 1_700_000_000
PROVIDER = "0x" + "11" * 20
CONSUMER = "0x" + "22" * 20
OPERATOR = "0x" + "33" * 20
OWNER2 = "0x" + "44" * 20


def h32(label: str) -> str:
    """A deterministic bytes32 from a label."""
    return "0x" + hashlib.sha256(label.encode()).hexdigest()


@dataclass
class SyntheticChain:
    """One event per block unless ``same_block`` is used; ``reorg`` replaces the top blocks."""

    blocks: list[BlockRef] = field(default_factory=list)
    events: list[ChainEvent] = field(default_factory=list)
    fork: int = 0
    _tx: Any = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.mine()  # block 0: genesis

    def identity(self) -> dict[str, str]:
        return {"chain_id": "31337", "registry": "0x" + "99" * 20}

    def head(self) -> int:
        return len(self.blocks) - 1

    def blocks_(self) -> None:  # pragma: no cover - name clash guard
        raise AttributeError

    def mine(self) -> BlockRef:
        n = len(self.blocks)
        ref = BlockRef(n, h32(f"block {n} fork {self.fork}"), T0 + 12 * n)
        self.blocks.append(ref)
        return ref

    def emit(self, contract: str, name: str, **args: Any) -> ChainEvent:
        ref = self.mine()
        tx = h32(f"tx {next(self._tx)} fork {self.fork}")
        e = ChainEvent(ref.number, ref.hash, tx, 0, contract, name, args)
        self.events.append(e)
        return e

    def reorg(self, depth: int) -> None:
        """Drop the last ``depth`` blocks and mine ``depth`` empty ones with new hashes."""
        self.fork += 1
        cut = len(self.blocks) - depth
        self.blocks = self.blocks[:cut]
        self.events = [e for e in self.events if e.block_number < cut]
        for _ in range(depth):
            self.mine()

    def timestamp(self, block: int) -> int:
        return self.blocks[block].timestamp

    # LogSource --------------------------------------------------------------
    def events_in(self, a: int, b: int) -> list[ChainEvent]:
        return [e for e in self.events if a <= e.block_number <= b]


class Source:
    """The LogSource view of a SyntheticChain."""

    def __init__(self, chain: SyntheticChain) -> None:
        self.chain = chain
        self.calls = 0

    def identity(self) -> dict[str, str]:
        return self.chain.identity()

    def head(self) -> int:
        return self.chain.head()

    def blocks(self, numbers: list[int]) -> dict[int, BlockRef]:
        return {n: self.chain.blocks[n] for n in numbers if n < len(self.chain.blocks)}

    def events(self, a: int, b: int) -> list[ChainEvent]:
        self.calls += 1
        return self.chain.events_in(a, b)


# ---- a small data space ------------------------------------------------------

def onboard(c: SyntheticChain, addr: str, roles: int, jur: str = "DE") -> None:
    c.emit("ParticipantRegistry", "ParticipantOnboarded", account=addr, roles=roles,
           jurisdiction="0x" + jur.encode().hex(), credentialHash=h32("cred"), by=OPERATOR)


def register(c: SyntheticChain, asset: str, parents: tuple[str, ...] = (), owners: tuple[str, ...] = (),
             shares: tuple[int, ...] = (), provider: str = PROVIDER) -> ChainEvent:
    return c.emit("AssetRegistry", "AssetRegistered", assetId=asset, provider=provider, size=100,
                  metadataHash=h32("meta " + asset), metadataURI=f"http://gw/{asset}", parents=list(parents),
                  owners=list(owners), sharesBps=list(shares))


def policy(c: SyntheticChain, asset: str, epoch: int = 1, max_count: int = 3, price: int = 5,
           model: int = 1, free_uses: int = 0, period: int = 0) -> None:
    """PolicySet and the PricingSet that follows it in the same transaction."""
    e = c.emit("UsageGrants", "PolicySet", assetId=asset, epoch=epoch, notBefore=0, notAfter=0, maxCount=max_count,
               pricePerAccess=price, computeOnly=False, autoApprove=True, purposes=["research"],
               jurisdictions=["0x4445"])
    same_tx(c, e, 1, "UsageGrants", "PricingSet", assetId=asset, epoch=epoch, priceModel=model, freeUses=free_uses,
            period=period)


def same_tx(c: SyntheticChain, e: ChainEvent, log_index: int, contract: str, name: str, **args: Any) -> ChainEvent:
    """Another log of ``e``'s transaction."""
    other = ChainEvent(e.block_number, e.block_hash, e.tx_hash, log_index, contract, name, args)
    c.events.append(other)
    return other


def grant(c: SyntheticChain, gid: str, asset: str, consumer: str = CONSUMER, nb: int = 0,
          na: int = 2**32 - 1, max_count: int = 3, price: int = 5, epoch: int = 1, signature: str = "0x" + "ab" * 65,
          acceptance: str | None = "0x" + "cd" * 65, provider: str = PROVIDER, nonce: int = 2**200) -> ChainEvent:
    """GrantIssued and (unless ``acceptance`` is None) the provider's GrantAccepted in the same transaction."""
    e = c.emit("UsageGrants", "GrantIssued", grantId=gid, assetId=asset, consumer=consumer, purpose="research",
               notBefore=nb, notAfter=na, maxCount=max_count, pricePerAccess=price, nonce=nonce, deadline=na,
               policyEpoch=epoch, signature=signature)
    if acceptance is not None:
        same_tx(c, e, 1, "UsageGrants", "GrantAccepted", grantId=gid, provider=provider, policyEpoch=epoch,
                signature=acceptance)
    return e


def revoke(c: SyntheticChain, gid: str, asset: str) -> ChainEvent:
    return c.emit("UsageGrants", "GrantRevoked", grantId=gid, assetId=asset, by=PROVIDER)


def anchor(c: SyntheticChain, root: str, leaves: int, kind: int = 1, provider: str = PROVIDER,
           anchorer: str | None = None) -> ChainEvent:
    """RootAnchored for ``provider``, sent by ``anchorer`` (default: the provider itself)."""
    return c.emit("AnchorRegistry", "RootAnchored", root=root, provider=provider, anchorer=anchorer or provider,
                  leafCount=leaves, kind=kind)


ZERO32 = "0x" + "00" * 32


def settle(c: SyntheticChain, gid: str, asset: str, units: int, amount: int, root: str = ZERO32, start: int = 0,
           end: int = T0, free_units: int = 0, payouts: list[tuple[str, str, int, int]] | None = None,
           consumer: str = CONSUMER) -> ChainEvent:
    """UsageSettled and its RevenuePaid events (``payouts``: (asset, owner, amount, depth); default all to the
    provider at depth 0)."""
    e = c.emit("Settlement", "UsageSettled", grantId=gid, assetId=asset, consumer=consumer, periodStart=start,
               periodEnd=end, units=units, freeUnits=free_units, amount=amount, receiptsRoot=root)
    for i, (paid_asset, owner, value, depth) in enumerate([(asset, PROVIDER, amount, 0)] if payouts is None
                                                           else payouts):
        same_tx(c, e, 1 + i, "Settlement", "RevenuePaid", grantId=gid, assetId=paid_asset, owner=owner,
                amount=value, depth=depth)
    return e


def royalty(c: SyntheticChain, bps: int) -> ChainEvent:
    return c.emit("Settlement", "RoyaltySet", royaltyBps=bps)


RAW, CLEAN, MODEL, RAW2 = h32("raw"), h32("clean"), h32("model"), h32("raw v2")
G1, G2 = h32("grant 1"), h32("grant 2")


def small_space(c: SyntheticChain) -> None:
    """raw -> clean -> model lineage, a version of raw, a policy, two grants (one revoked), a settlement of 10 paid
    as Settlement._pay does under a 10 % royalty: 1 to raw's provider, 9 by clean's shares (2 to OWNER2, 7 to the
    provider)."""
    royalty(c, 1000)
    onboard(c, PROVIDER, 1)
    onboard(c, CONSUMER, 2)
    register(c, RAW)
    register(c, CLEAN, parents=(RAW,), owners=(PROVIDER, OWNER2), shares=(7000, 3000))
    register(c, MODEL, parents=(CLEAN,))
    register(c, RAW2)
    c.emit("AssetRegistry", "AssetVersionRegistered", assetId=RAW2, previousId=RAW, version=2)
    policy(c, CLEAN)
    grant(c, G1, CLEAN)
    grant(c, G2, CLEAN)
    revoke(c, G2, CLEAN)
    settle(c, G1, CLEAN, 2, 10, payouts=[(CLEAN, OWNER2, 2, 0), (CLEAN, PROVIDER, 7, 0), (RAW, PROVIDER, 1, 1)])


@pytest.fixture
def chain() -> SyntheticChain:
    return SyntheticChain()


@pytest.fixture
def db() -> IndexDb:
    return IndexDb.open("sqlite://")


@pytest.fixture
def indexer(db: IndexDb, chain: SyntheticChain) -> Indexer:
    return Indexer(db, Source(chain), start_block=0, batch_blocks=4)
