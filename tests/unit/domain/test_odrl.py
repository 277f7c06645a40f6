"""domain.odrl: policy -> ODRL offer -> policy, the exact JSON written, and reading offers as datasets carry them."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from domain import odrl
from domain.types import Policy, PriceModel

ROOT = Path(__file__).resolve().parents[3]
ASSET = "0x" + "ab" * 32
ASSIGNER = "did:pkh:eip155:31337:0x" + "11" * 20

POLICIES = [
    Policy(),
    Policy(epoch=1),
    Policy(not_before=1_700_000_000, not_after=1_800_000_000, max_count=5, price_per_access=7, compute_only=True,
           auto_approve=False, purposes=("research", "teaching"), jurisdictions=("DE", "FR"), epoch=3,
           price_model=PriceModel.PREPAID, free_uses=2),
    Policy(not_after=2**32 - 1, purposes=("ä-research",), epoch=12),
    Policy(not_before=1, max_count=2**24 - 1, price_per_access=2**96 - 1, jurisdictions=("US",), epoch=2,
           price_model=PriceModel.PAY_AFTER_USE, free_uses=2**24 - 1),
    Policy(compute_only=True, epoch=4),
    Policy(price_per_access=30, price_model=PriceModel.SUBSCRIPTION, period=30 * 86_400, epoch=5),
    Policy(price_per_access=1, price_model=PriceModel.SUBSCRIPTION, period=2**32 - 1, epoch=6),
    Policy(price_per_access=1, price_model=PriceModel.PAY_AFTER_USE, epoch=7),
]


@pytest.mark.parametrize("policy", POLICIES)
def test_the_policies_are_valid(policy: Policy) -> None:
    policy.validate()  # the round trip is proven on policies UsageGrants accepts


@pytest.mark.parametrize("policy", POLICIES)
def test_a_policy_survives_the_round_trip(policy: Policy) -> None:
    offer = odrl.offer(ASSET, policy, ASSIGNER)
    assert odrl.policy_of(offer) == policy
    assert odrl.policy_of(json.loads(json.dumps(offer))) == policy  # as a client receives it
    assert odrl.offered_policy({"odrl:hasPolicy": [offer]}) == policy


def test_the_offer_is_written_as_before() -> None:
    offer = odrl.offer(ASSET, POLICIES[2], ASSIGNER)
    uid = f"urn:tds:policy:{ASSET}:3"
    target = {"@id": f"urn:tds:asset:{ASSET}"}

    def c(left: str, op: str, right: object) -> dict[str, object]:
        return {"odrl:leftOperand": left, "odrl:operator": {"@id": op}, "odrl:rightOperand": right}

    expected = {
        "@id": uid, "@type": "odrl:Offer", "odrl:uid": uid, "odrl:assigner": {"@id": ASSIGNER},
        "odrl:permission": [{
            "@type": "odrl:Permission", "odrl:action": {"@id": "tds:compute"}, "odrl:target": target,
            "odrl:constraint": [
                c("odrl:dateTime", "odrl:gteq", {"@value": "2023-11-14T22:13:20Z", "@type": "xsd:dateTime"}),
                c("odrl:dateTime", "odrl:lt", {"@value": "2027-01-15T08:00:00Z", "@type": "xsd:dateTime"}),
                c("odrl:count", "odrl:lteq", 5),
                c("odrl:purpose", "odrl:isAnyOf", ["research", "teaching"]),
                c("odrl:spatial", "odrl:isAnyOf", ["DE", "FR"]),
            ],
            "odrl:duty": [{"@type": "odrl:Duty", "odrl:action": {"@id": "odrl:compensate"}, "odrl:constraint": [
                {**c("odrl:payAmount", "odrl:eq", {"@value": "7", "@type": "xsd:decimal"}),
                 "odrl:unit": "tds:SettlementToken"}], "tds:priceModel": "prepaid", "tds:freeUses": 2}],
        }],
        "tds:autoApprove": False,
        "odrl:prohibition": [{"@type": "odrl:Prohibition", "odrl:action": {"@id": "odrl:reproduce"},
                              "odrl:target": target}],
    }
    assert json.dumps(offer) == json.dumps(expected)  # byte for byte, key order included


def test_the_price_model_is_stated_on_the_compensate_duty() -> None:
    (duty,) = odrl.offer(ASSET, POLICIES[6], ASSIGNER)["odrl:permission"][0]["odrl:duty"]
    assert duty["tds:priceModel"] == "subscription" and "tds:freeUses" not in duty
    assert duty["tds:period"] == 30 * 86_400
    assert duty["tds:periodDuration"] == {"@value": "P30D", "@type": "xsd:duration"}
    (duty,) = odrl.offer(ASSET, POLICIES[8], ASSIGNER)["odrl:permission"][0]["odrl:duty"]
    assert duty["tds:priceModel"] == "pay-after-use" and not {"tds:freeUses", "tds:period"} & set(duty)


@pytest.mark.parametrize(("seconds", "text"), [(0, "PT0S"), (59, "PT59S"), (3_600, "PT1H"), (5_400, "PT1H30M"),
                                               (86_400, "P1D"), (90_061, "P1DT1H1M1S"), (2**32 - 1, "P49710DT6H28M15S")])
def test_periods_are_xsd_durations(seconds: int, text: str) -> None:
    assert odrl.duration(seconds) == {"@value": text, "@type": "xsd:duration"}


def test_unbounded_terms_are_left_out() -> None:
    offer = odrl.offer(ASSET, Policy(epoch=1), ASSIGNER)
    perm = offer["odrl:permission"][0]
    assert perm["odrl:constraint"] == [] and "odrl:duty" not in perm and "odrl:prohibition" not in offer
    assert perm["odrl:action"] == {"@id": "odrl:use"} and offer["tds:autoApprove"] is True


def test_reading_tolerates_compact_ids_bare_amounts_and_unknown_constraints() -> None:
    paid = Policy(max_count=3, price_per_access=9, epoch=5, price_model=PriceModel.PREPAID, free_uses=1)
    offer = odrl.offer(ASSET, paid, ASSIGNER)
    perm = offer["odrl:permission"][0]
    perm["odrl:action"] = "tds:compute"
    perm["odrl:constraint"].append({"odrl:leftOperand": "odrl:industry", "odrl:operator": "odrl:eq",
                                    "odrl:rightOperand": "health"})
    perm["odrl:duty"][0]["odrl:constraint"][0]["odrl:rightOperand"] = 9
    perm["odrl:duty"][0]["tds:freeUses"] = {"@value": "1", "@type": "xsd:nonNegativeInteger"}  # typed literal
    assert odrl.policy_of(offer) == Policy(max_count=3, price_per_access=9, compute_only=True, epoch=5,
                                           price_model=PriceModel.PREPAID, free_uses=1)
    assert odrl.offered_policy({"dct:title": "no policy"}) is None
    assert odrl.offered_policy({"odrl:hasPolicy": []}) is None


_OTHER_READERS = {
    "cli/commands_gateway.py",  # _summarise_offer: the offer as one line for people, not a policy
    "examples/consumer_eth_account.py",  # a consumer without TDS code reads the price it must sign itself
}


def test_one_mapping_writes_and_reads_odrl() -> None:
    sites = set()
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if any(part.startswith(".") or part in ("tests", "node_modules") for part in rel.parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.Constant) and n.value == "odrl:constraint" for n in ast.walk(tree)):
            sites.add(str(rel))
    assert sites - _OTHER_READERS == {"domain/odrl.py"}, "ODRL constraints built or read outside domain.odrl"
