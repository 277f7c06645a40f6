"""Frozen value types for what the chain returns (participants, assets, policies, grants)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntEnum, IntFlag
from typing import Any


class Role(IntFlag):
    """Participant role bits, as in ParticipantRegistry."""

    PROVIDER = 1
    CONSUMER = 2
    AUDITOR = 4

    @classmethod
    def parse(cls, names: str) -> "Role":
        """``"provider,consumer"`` -> Role.PROVIDER | Role.CONSUMER."""
        role = cls(0)
        for name in filter(None, (n.strip().upper() for n in names.split(","))):
            if name not in cls.__members__:
                raise ValueError(f"unknown role {name.lower()!r} (provider, consumer, auditor)")
            role |= cls[name]
        return role

    def names(self) -> list[str]:
        """Lower-case role names."""
        return [r.name.lower() for r in Role if r in self and r.name]


class ParticipantStatus(IntEnum):
    """ParticipantRegistry.Status."""

    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2


class GrantStatus(IntEnum):
    """UsageGrants.GrantStatus."""

    NONE = 0
    ACTIVE = 1
    REVOKED = 2


class PriceModel(IntEnum):
    """UsageGrants.PriceModel: how a policy charges (in the settlement token's base units)."""

    FREE = 0
    PREPAID = 1  # per use, maxCount x price locked in escrow when the grant is issued
    PAY_AFTER_USE = 2  # per use, settled from a usage statement the consumer signs per period
    SUBSCRIPTION = 3  # price per started period of the grant's window, locked when issued

    @classmethod
    def parse(cls, name: str) -> "PriceModel":
        """``"prepaid"`` / ``"pay-after-use"`` / ... -> PriceModel (a clear error naming the choices)."""
        key = str(name).strip().upper().replace("-", "_")
        if key not in cls.__members__:
            raise ValueError(f"unknown price model {name!r} (choose {', '.join(m.label for m in cls)})")
        return cls[key]

    @property
    def label(self) -> str:
        """The name people and policy files use: ``free``, ``prepaid``, ``pay-after-use``, ``subscription``."""
        return self.name.lower().replace("_", "-")


def window_empty(start: int, end: int) -> bool:
    """True when the window ``[start, end)`` holds no instant (a Policy's invariant; domain.terms builds on it)."""
    return end <= start


class Liveness(IntEnum):
    """UsageGrants.Liveness: whether a grant is live at the latest block, and why not."""

    LIVE = 0
    UNKNOWN = 1
    REVOKED = 2
    NOT_YET_VALID = 3
    EXPIRED = 4


@dataclass(frozen=True)
class Participant:
    """A participant record."""

    address: str
    roles: Role
    status: ParticipantStatus
    jurisdiction: str
    onboarded_at: int
    credential_hash: str

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "address": self.address,
            "roles": self.roles.names(),
            "status": self.status.name.lower(),
            "jurisdiction": self.jurisdiction,
            "onboarded_at": self.onboarded_at,
            "credential_hash": self.credential_hash,
        }


def did_pkh(chain_id: int, address: str) -> str:
    """CAIP-10 DID of an account: ``did:pkh:eip155:<chainId>:<address>``."""
    return f"did:pkh:eip155:{chain_id}:{address}"


@dataclass(frozen=True)
class Asset:
    """An asset: on-chain state joined with its registration event."""

    asset_id: str
    provider: str
    size: int
    version: int
    active: bool
    metadata_hash: str
    metadata_uri: str
    parents: tuple[str, ...]
    owners: tuple[str, ...]
    shares_bps: tuple[int, ...]
    previous_version: str | None
    tx: str
    block: int

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        data = asdict(self)
        data["parents"] = list(self.parents)
        data["owners"] = list(self.owners)
        data["shares_bps"] = list(self.shares_bps)
        return data


@dataclass(frozen=True)
class Policy:
    """A usage policy as stored by UsageGrants (0 = unlimited for window bounds and count)."""

    not_before: int = 0
    not_after: int = 0
    max_count: int = 0
    price_per_access: int = 0
    compute_only: bool = False
    auto_approve: bool = True
    purposes: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    epoch: int = 0
    price_model: PriceModel = PriceModel.FREE
    free_uses: int = 0  # free trial: a consumer's first uses are not charged (per-use models)
    period: int = 0  # subscription: seconds per charged period

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        data = asdict(self)
        data["purposes"] = list(self.purposes)
        data["jurisdictions"] = list(self.jurisdictions)
        data["price_model"] = PriceModel(self.price_model).label
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Policy":
        """Parse (unknown keys rejected)."""
        allowed = set(cls.__dataclass_fields__)
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown policy keys: {', '.join(sorted(unknown))}")
        values = dict(data)
        if not isinstance(values.get("purposes", []), list) or not isinstance(values.get("jurisdictions", []), list):
            raise ValueError("purposes and jurisdictions must be JSON lists")
        values["purposes"] = tuple(values.get("purposes", ()))
        values["jurisdictions"] = tuple(str(j).upper() for j in values.get("jurisdictions", ()))
        if "price_model" in values:
            values["price_model"] = PriceModel.parse(values["price_model"])
        policy = cls(**values)
        policy.validate()
        return policy

    def validate(self) -> None:
        """Raise ValueError for terms UsageGrants would reject (checked before anything is sent)."""
        for name, bits in (("not_before", 32), ("not_after", 32), ("max_count", 24), ("price_per_access", 96),
                           ("free_uses", 24), ("period", 32)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
                raise ValueError(f"{name} must be an integer in [0, 2**{bits}), not {value!r}")
        if self.not_after and window_empty(self.not_before, self.not_after):
            raise ValueError(f"not_after ({self.not_after}) must be after not_before ({self.not_before})")
        for name in ("compute_only", "auto_approve"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        if len(self.purposes) > 255 or len(self.jurisdictions) > 255:
            raise ValueError("at most 255 purposes and 255 jurisdictions")
        if not all(isinstance(p, str) and p for p in self.purposes):
            raise ValueError("purposes must be non-empty strings")
        bad = [j for j in self.jurisdictions if len(j) != 2 or not j.isascii() or not j.isalpha()]
        if bad:
            raise ValueError(f"jurisdictions must be ISO 3166-1 alpha-2 codes, not {', '.join(bad)}")
        self.validate_pricing()

    def validate_pricing(self) -> None:
        """Raise ValueError for money terms UsageGrants refuses (GrantPricingInvalid), naming the fix."""
        model = PriceModel(self.price_model)
        if model is PriceModel.FREE and self.price_per_access:
            raise ValueError("a free policy has no price: set price_model (prepaid, pay-after-use, subscription) "
                             "or price_per_access 0")
        if model is not PriceModel.FREE and not self.price_per_access:
            raise ValueError(f"a {model.label} policy needs price_per_access > 0 (token base units)")
        if (model is PriceModel.SUBSCRIPTION) != bool(self.period):
            raise ValueError("period (seconds per charged period) is set for a subscription and only for one")
        if self.free_uses and model not in (PriceModel.PREPAID, PriceModel.PAY_AFTER_USE):
            raise ValueError("free_uses (a free trial) needs a per-use price model: prepaid or pay-after-use")


@dataclass(frozen=True)
class GrantRequest:
    """What a consumer signs (EIP-712 ``GrantRequest``)."""

    asset_id: str
    consumer: str
    purpose: str
    not_before: int
    not_after: int
    max_count: int
    price_per_access: int
    nonce: int
    deadline: int
    policy_epoch: int  # the policy the consumer agrees to (its epoch on-chain)

    def as_tuple(self) -> tuple[Any, ...]:
        """ABI tuple for UsageGrants calls."""
        return (
            bytes.fromhex(self.asset_id[2:]),
            self.consumer,
            self.purpose,
            self.not_before,
            self.not_after,
            self.max_count,
            self.price_per_access,
            self.nonce,
            self.deadline,
            self.policy_epoch,
        )

    def message(self) -> dict[str, Any]:
        """EIP-712 message fields."""
        return {
            "assetId": self.asset_id,
            "consumer": self.consumer,
            "purpose": self.purpose,
            "notBefore": self.not_before,
            "notAfter": self.not_after,
            "maxCount": self.max_count,
            "pricePerAccess": self.price_per_access,
            "nonce": self.nonce,
            "deadline": self.deadline,
            "policyEpoch": self.policy_epoch,
        }

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "GrantRequest":
        """Parse the JSON view."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})

    @classmethod
    def from_event(cls, args: Any) -> "GrantRequest":
        """Rebuild the signed request from a GrantIssued event's arguments."""
        return cls(
            asset_id="0x" + bytes(args["assetId"]).hex(),
            consumer=str(args["consumer"]),
            purpose=str(args["purpose"]),
            not_before=int(args["notBefore"]),
            not_after=int(args["notAfter"]),
            max_count=int(args["maxCount"]),
            price_per_access=int(args["pricePerAccess"]),
            nonce=int(args["nonce"]),
            deadline=int(args["deadline"]),
            policy_epoch=int(args["policyEpoch"]),
        )


@dataclass(frozen=True)
class Grant:
    """A grant's on-chain state (the other terms are in its request; the id commits to them)."""

    grant_id: str
    consumer: str
    not_before: int
    not_after: int
    max_count: int
    status: GrantStatus

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        data = asdict(self)
        data["status"] = self.status.name.lower()
        return data
