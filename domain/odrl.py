"""A usage policy as an ODRL 2.2 offer and back: the one mapping, both directions.

:func:`offer` writes the ``odrl:Offer`` a provider's catalog publishes for an asset (inside its
``dcat:Dataset``, see ``gateway.catalog``); :func:`policy_of` reads one back into a
:class:`domain.types.Policy` (what a consumer's client builds its grant request from).
``policy_of(offer(asset_id, policy, assigner)) == policy`` for every valid policy.

Constraints: ``odrl:dateTime`` (window: ``odrl:gteq`` not_before, ``odrl:lt`` not_after),
``odrl:count`` (``odrl:lteq`` the per-grant cap), ``odrl:purpose`` and ``odrl:spatial`` (consumer
jurisdiction, ISO 3166-1 alpha-2), each ``odrl:isAnyOf``; a price per access is an
``odrl:compensate`` duty with an ``odrl:payAmount`` (``odrl:unit`` the settlement token) that also
states how it is paid: ``tds:priceModel`` (``prepaid``: the grant's maximum count locked in escrow when
it is issued; ``pay-after-use``: settled per period from a statement the consumer signs;
``subscription``: the price per started ``tds:period`` of the grant's window, locked when issued; a
free policy has no duty), ``tds:freeUses`` (a free trial: the compensate duty does not apply to a
consumer's first uses of the asset; left out when 0) and ``tds:period`` (a subscription's charged
period in seconds, with ``tds:periodDuration`` the same as an ``xsd:duration``). A
compute-only policy permits ``tds:compute`` and prohibits ``odrl:reproduce`` instead of permitting
``odrl:use``. Unbounded terms (0, no purposes, no jurisdictions) are left out. The policy's epoch is
the last part of the offer's uid (``urn:tds:policy:<assetId>:<epoch>``), ``tds:autoApprove`` its
auto-approval flag.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from domain.types import Policy, PriceModel

__all__ = ["asset_iri", "duration", "offer", "offered_policy", "policy_of"]

_DATETIME = "%Y-%m-%dT%H:%M:%SZ"


def asset_iri(asset_id: str) -> str:
    """The IRI of an asset's dataset node (the offer's target)."""
    return f"urn:tds:asset:{asset_id}"


def _iso(ts: int) -> dict[str, str]:
    value = datetime.fromtimestamp(ts, tz=timezone.utc).strftime(_DATETIME)
    return {"@value": value, "@type": "xsd:dateTime"}


def _unix(value: dict[str, str]) -> int:
    return int(datetime.strptime(value["@value"], "%Y-%m-%dT%H:%M:%S%z").timestamp())


def _constraint(left: str, op: str, right: Any, unit: str | None = None) -> dict[str, Any]:
    out = {"odrl:leftOperand": left, "odrl:operator": {"@id": op}, "odrl:rightOperand": right}
    if unit:
        out["odrl:unit"] = unit
    return out


def _constraints(policy: Policy) -> list[dict[str, Any]]:
    out = []
    if policy.not_before:
        out.append(_constraint("odrl:dateTime", "odrl:gteq", _iso(policy.not_before)))
    if policy.not_after:
        out.append(_constraint("odrl:dateTime", "odrl:lt", _iso(policy.not_after)))
    if policy.max_count:
        out.append(_constraint("odrl:count", "odrl:lteq", policy.max_count))
    if policy.purposes:
        out.append(_constraint("odrl:purpose", "odrl:isAnyOf", list(policy.purposes)))
    if policy.jurisdictions:
        out.append(_constraint("odrl:spatial", "odrl:isAnyOf", list(policy.jurisdictions)))
    return out


def duration(seconds: int) -> dict[str, str]:
    """``seconds`` as an ``xsd:duration`` literal (``P30D``, ``PT1H30M``, ``PT0S``)."""
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    time_part = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    text = "P" + (f"{days}D" if days else "") + (f"T{time_part}" if time_part else "")
    return {"@value": text if text != "P" else "PT0S", "@type": "xsd:duration"}


def _compensate(policy: Policy) -> dict[str, Any]:
    """The ``odrl:compensate`` duty of a paid policy: the amount, and how it is paid."""
    price = {"@value": str(policy.price_per_access), "@type": "xsd:decimal"}
    duty: dict[str, Any] = {
        "@type": "odrl:Duty",
        "odrl:action": {"@id": "odrl:compensate"},
        "odrl:constraint": [_constraint("odrl:payAmount", "odrl:eq", price, unit="tds:SettlementToken")],
    }
    model = PriceModel(policy.price_model)
    if model is not PriceModel.FREE:
        duty["tds:priceModel"] = model.label
    if policy.free_uses:
        duty["tds:freeUses"] = policy.free_uses
    if policy.period:
        duty["tds:period"] = policy.period
        duty["tds:periodDuration"] = duration(policy.period)
    return duty


def offer(asset_id: str, policy: Policy, assigner: str) -> dict[str, Any]:
    """The asset's policy as an ``odrl:Offer`` assigned by ``assigner`` (the provider's DID)."""
    target = {"@id": asset_iri(asset_id)}
    permission: dict[str, Any] = {
        "@type": "odrl:Permission",
        "odrl:action": {"@id": "tds:compute" if policy.compute_only else "odrl:use"},
        "odrl:target": target,
        "odrl:constraint": _constraints(policy),
    }
    if policy.price_per_access or PriceModel(policy.price_model) is not PriceModel.FREE:
        permission["odrl:duty"] = [_compensate(policy)]
    uid = f"urn:tds:policy:{asset_id}:{policy.epoch}"
    out: dict[str, Any] = {
        "@id": uid,
        "@type": "odrl:Offer",
        "odrl:uid": uid,
        "odrl:assigner": {"@id": assigner},
        "odrl:permission": [permission],
        "tds:autoApprove": policy.auto_approve,
    }
    if policy.compute_only:
        out["odrl:prohibition"] = [{"@type": "odrl:Prohibition", "odrl:action": {"@id": "odrl:reproduce"},
                                    "odrl:target": target}]
    return out


def _id(node: Any) -> Any:
    """A node reference's IRI: ``{"@id": iri}`` as written, or the compact string itself."""
    return node.get("@id") if isinstance(node, dict) else node


def _amount(right: Any) -> int:
    """A ``payAmount``: ``{"@value": "5", "@type": "xsd:decimal"}`` as written, or a bare number."""
    return int(right["@value"] if isinstance(right, dict) else right)


def policy_of(odrl_offer: dict[str, Any]) -> Policy:
    """The policy an ``odrl:Offer`` (as :func:`offer` writes it) states; constraints it does not know are ignored."""
    terms: dict[str, Any] = {}
    perm = odrl_offer["odrl:permission"][0]
    for c in perm.get("odrl:constraint", []):
        left, op, right = c["odrl:leftOperand"], _id(c["odrl:operator"]), c["odrl:rightOperand"]
        if left == "odrl:dateTime":
            terms["not_before" if op == "odrl:gteq" else "not_after"] = _unix(right)
        elif left == "odrl:count":
            terms["max_count"] = int(right)
        elif left == "odrl:purpose":
            terms["purposes"] = tuple(right)
        elif left == "odrl:spatial":
            terms["jurisdictions"] = tuple(right)
    for duty in perm.get("odrl:duty", []):
        for c in duty.get("odrl:constraint", []):
            if c["odrl:leftOperand"] == "odrl:payAmount":
                terms["price_per_access"] = _amount(c["odrl:rightOperand"])
        if "tds:priceModel" in duty:
            terms["price_model"] = PriceModel.parse(str(duty["tds:priceModel"]))
        if "tds:freeUses" in duty:
            terms["free_uses"] = _amount(duty["tds:freeUses"])
        if "tds:period" in duty:
            terms["period"] = _amount(duty["tds:period"])
    uid = str(odrl_offer.get("odrl:uid", ""))
    epoch = uid.rsplit(":", 1)[-1]
    return Policy(
        compute_only=_id(perm.get("odrl:action")) == "tds:compute",
        auto_approve=bool(odrl_offer.get("tds:autoApprove", True)),
        epoch=int(epoch) if epoch.isdigit() else 0,
        **terms,
    )


def offered_policy(dataset: dict[str, Any]) -> Policy | None:
    """The policy of a ``dcat:Dataset``'s first ``odrl:hasPolicy`` offer (None when it offers none)."""
    policies = dataset.get("odrl:hasPolicy") or []
    return policy_of(policies[0]) if policies else None
