"""A data space with money, for the settlement tests: a real anvil devnet with the contracts deployed,
members onboarded, tokens minted, and a real notary anchoring access receipts written to a real
ledger database (what a gateway writes when it serves; the gateway itself is tested elsewhere).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anchoring.ledger import AccessRecord, open_engine
from anchoring.notary import Notary
from chain.client import Chain
from chain.contracts import AnchorsClient, AssetsClient, DisputesClient, GrantsClient, SettlementClient, TokenClient
from chain.devspace import free_port, provision
from chain.eip712 import sign_acceptance, sign_grant_request
from chain.keys import Keystore
from chain.devnet import rpc
from chain.settings import ChainSettings
from domain.types import GrantRequest, Policy, PriceModel, Role
from sqlmodel import Session

MEMBERS = {
    "provider": (Role.PROVIDER, "DE"),
    "provider2": (Role.PROVIDER, "NL"),
    "consumer": (Role.CONSUMER, "DE"),
    "consumer2": (Role.CONSUMER, "FR"),
    "coowner": (Role.PROVIDER, "DE"),
}


@dataclass
class Money:
    """The devnet, its clients by signer, and a ledger database with its notary."""

    home: Path
    devnet: Any
    chain: Chain
    keystore: Keystore
    engine: Any
    database_url: str

    def account(self, name: str) -> Any:
        """A keystore account."""
        return self.keystore.account(name)

    def address(self, name: str) -> str:
        """A keystore address."""
        return self.keystore.address(name)

    def sender(self, name: str) -> Any:
        """A tx sender for ``name``."""
        return self.chain.sender(self.account(name))

    def settlement(self, name: str | None = None) -> SettlementClient:
        """Settlement, signing as ``name``."""
        return SettlementClient(self.chain, self.sender(name) if name else None)

    def token(self, name: str | None = None) -> TokenClient:
        """The token, signing as ``name``."""
        return TokenClient(self.chain, self.sender(name) if name else None)

    def grants(self, name: str | None = None) -> GrantsClient:
        """UsageGrants, signing as ``name``."""
        return GrantsClient(self.chain, self.sender(name) if name else None)

    def disputes(self, name: str | None = None) -> DisputesClient:
        """Disputes, signing as ``name``."""
        return DisputesClient(self.chain, self.sender(name) if name else None)

    def now(self) -> int:
        """The latest block's timestamp."""
        return int(self.chain.head_reader().latest().timestamp)

    def fund(self, consumer: str, amount: int, deposit: int | None = None) -> None:
        """Mint ``amount`` to ``consumer`` and deposit ``deposit`` of it (all by default)."""
        self.token("operator").mint(self.address(consumer), amount)
        deposit = amount if deposit is None else deposit
        if deposit:
            self.token(consumer).approve(self.settlement().contract.address, deposit)
            self.settlement(consumer).deposit(deposit)

    def asset(self, label: str, parents: tuple[str, ...] = (), owners: tuple[str, ...] = (),
              shares: tuple[int, ...] = (), provider: str = "provider") -> str:
        """Register an asset (a fresh content hash per call); returns its id."""
        asset_id = "0x" + hashlib.sha256(f"{label}-{secrets.token_hex(8)}".encode()).hexdigest()
        AssetsClient(self.chain, self.sender(provider)).register(
            asset_id, 100, "0x" + "11" * 32, f"https://example.test/{label}", list(parents),
            [self.address(o) for o in owners], list(shares))
        return asset_id

    def policy(self, asset_id: str, model: PriceModel, price: int = 0, free_uses: int = 0, period: int = 0,
               max_count: int = 0, provider: str = "provider") -> int:
        """Set a policy; returns its epoch."""
        policy = Policy(max_count=max_count, price_per_access=price, price_model=model, free_uses=free_uses,
                        period=period)
        self.grants(provider).set_policy(asset_id, policy)
        state = self.grants().policy_state(asset_id)
        assert state is not None
        return state.epoch

    def grant(self, asset_id: str, consumer: str = "consumer", count: int = 5, duration: int = 86_400,
              provider: str = "provider") -> tuple[str, GrantRequest]:
        """A grant issued with both signatures; returns (grant id, request)."""
        state = self.grants().policy_state(asset_id)
        assert state is not None
        now = self.now()
        request = GrantRequest(asset_id, self.address(consumer), "research", now - 60, now - 60 + duration, count,
                               state.price_per_access, secrets.randbits(64), now + 600, state.epoch)
        usage_grants = self.chain.address("UsageGrants")
        signature = sign_grant_request(self.account(consumer), self.chain.chain_id, usage_grants, request)
        grant_id = self.grants().hash_request(request)
        acceptance = sign_acceptance(self.account(provider), self.chain.chain_id, usage_grants, grant_id)
        issued, _receipt = self.grants(provider).issue(request, signature, acceptance)
        assert issued == grant_id
        return grant_id, request

    def use(self, grant_id: str, asset_id: str, consumer: str = "consumer", times: int = 1,
            decision: str = "allow", at: float | None = None) -> None:
        """Write ``times`` access records as the gateway does when it serves (or refuses)."""
        with Session(self.engine) as s:
            for _ in range(times):
                s.add(AccessRecord(at=at or time.time(), decision=decision, code="ok" if decision == "allow" else "denied",
                                   method="GET", path=f"/assets/{asset_id}/data", consumer=self.address(consumer),
                                   asset_id=asset_id, grant_id=grant_id, purpose="research", bytes=100,
                                   content_hash=asset_id))
            s.commit()

    def notary(self, provider: str = "provider") -> Notary:
        """The ledger's notary, anchoring as ``provider``."""
        return Notary(self.engine, AnchorsClient(self.chain, self.sender(provider)), chain_id=self.chain.chain_id,
                      contract=self.chain.address("AnchorRegistry"), provider=self.address(provider))

    def anchor(self, provider: str = "provider") -> None:
        """Seal and anchor every pending receipt."""
        notary = self.notary(provider)
        notary.seal_all()
        notary.anchor_sealed()

    def used_and_anchored(self, asset_id: str, grant_id: str, uses: int, consumer: str = "consumer") -> tuple[Any, str, int]:
        """``uses`` allowed uses anchored by the notary, the period around them, and their usage root anchored
        for the provider: (period, root, leaves)."""
        from anchoring.notary import anchor_once
        from settlement.periods import Period
        from settlement.usage import period_usage, usage_root

        start = time.time()
        self.use(grant_id, asset_id, consumer=consumer, times=uses)
        self.anchor()
        time.sleep(1.05)  # the period ends after the uses' second
        self.mine()
        period = Period(int(start) - 1, self.now())
        root, leaves = usage_root(period_usage(self.engine, period).grants[grant_id].receipts)
        anchor_once(AnchorsClient(self.chain, self.sender("provider")), root, leaves, 1)
        return period, root, leaves

    def mine(self, seconds: int = 0) -> None:
        """Advance the chain's clock and mine a block."""
        if seconds:
            rpc(self.chain.settings.rpc_url, "evm_increaseTime", [seconds])
        rpc(self.chain.settings.rpc_url, "evm_mine", [])


def open_money(home: Path, claim_window_s: int = 3600, token: str = "devnet") -> Money:
    """Start the devnet, deploy (the given token and claim window) and onboard :data:`MEMBERS`."""
    settings = ChainSettings(home=home, rpc_url=f"http://127.0.0.1:{free_port()}")
    devnet, chain, keystore = provision(settings, MEMBERS, claim_window_s=claim_window_s, token=token)
    url = f"sqlite:///{home / 'ledger.sqlite'}"
    engine = open_engine(url)
    from anchoring.schema import upgrade_database

    upgrade_database(engine)  # the gateway database's schema, as the gateway creates it
    return Money(home, devnet, chain, keystore, engine, url)


@contextmanager
def running_money(home: Path, mint: int = 0, deposit: int = 0, **options: Any) -> Iterator[Money]:
    """:func:`open_money`, the consumer holding ``mint`` of which ``deposit`` is deposited; stopped on exit."""
    money = open_money(home, **options)
    try:
        if mint:
            money.fund("consumer", mint, deposit)
        yield money
    finally:
        money.devnet.stop()
