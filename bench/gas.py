"""Benchmark: gas used by each TDS state change on a fresh anvil devnet.

Run from the repository root:  .venv/bin/python -m bench.gas
Prints a table, the command to reproduce, and last a JSON line (gas used per operation).
Gas is deterministic for given inputs (it does not depend on machine load); the grant's
figure varies by a few gas with the signature's zero bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

if __name__ == "__main__" and sys.path and os.path.basename(sys.path[0]) == "bench":
    sys.path[0] = os.path.dirname(sys.path[0])

from bench.devspace import start_space  # noqa: E402
from chain.contracts import (  # noqa: E402
    AnchorsClient,
    AssetsClient,
    Claim,
    ComputeClient,
    GrantsClient,
    ParticipantsClient,
    SettlementClient,
    Split,
    TokenClient,
)
from chain.eip712 import sign_acceptance, sign_grant_request  # noqa: E402
from domain.types import GrantRequest, Policy, PriceModel, Role  # noqa: E402

COMMAND = ".venv/bin/python -m bench.gas"
TARGETS = {"register_asset": 120_000, "issue_grant": 100_000, "anchor_root": 60_000}
URI = "http://127.0.0.1:8700/assets/0x" + "ab" * 32  # a realistic metadata URI (~100 chars)


def _h(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


def measure() -> dict[str, int]:
    """Run every operation once on a fresh devnet and return gas used by name."""
    gas: dict[str, int] = {}
    with start_space(extra_accounts=("newcomer", "coowner")) as space:
        chain, ks = space.chain, space.keystore
        operator, provider, consumer = (chain.sender(ks.account(n)) for n in ("operator", "provider", "consumer"))
        participants = ParticipantsClient(chain, operator)
        gas["onboard_participant"] = participants.onboard(ks.address("newcomer"), Role.CONSUMER, "NL", "0x" + "11" * 32)["gasUsed"]
        assets = AssetsClient(chain, provider)
        a1, a2, a3 = _h(b"asset-1"), _h(b"asset-1-v2"), _h(b"asset-derived")
        gas["register_asset"] = assets.register(a1, 1 << 20, _h(b"meta-1"), URI)["gasUsed"]
        gas["register_version"] = assets.register_version(a1, a2, 1 << 20, _h(b"meta-2"), URI)["gasUsed"]
        gas["register_asset_lineage_2_owners"] = assets.register(
            a3, 4096, _h(b"meta-3"), URI, [a1], [ks.address("provider"), ks.address("coowner")], [7000, 3000]
        )["gasUsed"]
        grants = GrantsClient(chain, provider)
        policy = Policy(max_count=100, purposes=("research", "analytics"), jurisdictions=("DE", "FR"))
        gas["set_policy"] = grants.set_policy(a1, policy)["gasUsed"]
        compute = ComputeClient(chain, provider)
        gas["approve_algorithm"] = compute.set_approval(a1, a3, True)["gasUsed"]  # a3 as the algorithm asset
        gas["set_privacy_budget"] = compute.set_budget(a1, 1_000_000)["gasUsed"]
        now = int(time.time())
        request = GrantRequest(a1, ks.address("consumer"), "research", now - 60, now + 86_400, 10, 0, 1, now + 600,
                               _epoch(grants, a1))
        _, receipt = grants.issue(request, *_signatures(chain, ks, grants, request))
        gas["issue_grant"] = receipt["gasUsed"]
        gas["revoke_grant"] = grants.revoke(request)["gasUsed"]
        anchors = AnchorsClient(chain, provider)
        for leaves in (1, 1_000, 1_000_000):
            gas[f"anchor_root_{leaves}"] = anchors.anchor(_h(f"root-{leaves}".encode()), leaves, 1)["gasUsed"]
        gas["anchor_root"] = max(gas["anchor_root_1"], gas["anchor_root_1000"], gas["anchor_root_1000000"])
        gas.update(_settlement(chain, ks, a3, a1, now))
    return gas


def _epoch(grants: GrantsClient, asset_id: str) -> int:
    state = grants.policy_state(asset_id)
    assert state is not None, f"asset {asset_id} has no policy"
    return state.epoch


def _signatures(chain, ks, grants: GrantsClient, request: GrantRequest) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(the consumer's request signature, the provider's acceptance)."""
    usage_grants = chain.address("UsageGrants")
    signature = sign_grant_request(ks.account("consumer"), chain.chain_id, usage_grants, request)
    acceptance = sign_acceptance(ks.account("provider"), chain.chain_id, usage_grants, grants.hash_request(request))
    return signature, acceptance


def _settlement(chain, ks, asset_id: str, parent_id: str, now: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A prepaid grant on a derived asset with two owners (its lock taken from a deposit), 10 anchored
    uses settled with the parent's royalty."""
    provider = chain.sender(ks.account("provider"))
    grants = GrantsClient(chain, provider)
    grants.set_policy(asset_id, Policy(price_per_access=10**18, price_model=PriceModel.PREPAID))
    TokenClient(chain, chain.sender(ks.account("operator"))).mint(ks.address("consumer"), 10**21)
    consumer = chain.sender(ks.account("consumer"))
    TokenClient(chain, consumer).approve(chain.address("Settlement"), 10**20)
    SettlementClient(chain, consumer).deposit(10**20)
    request = GrantRequest(asset_id, ks.address("consumer"), "any", now - 60, now + 86_400, 100, 10**18, 2, now + 600,
                           _epoch(grants, asset_id))
    grant_id, issued = grants.issue(request, *_signatures(chain, ks, grants, request))
    root = _h(b"receipts-of-the-period")
    AnchorsClient(chain, provider).anchor(root, 10, AnchorsClient.KIND_RECEIPTS)
    block_time = int(chain.head_reader().latest().timestamp)  # the period ends at the head, not after it
    splits = (Split(asset_id, (ks.address("provider"), ks.address("coowner")), (7000, 3000), (1,)),
              Split(parent_id, (), (), ()))
    receipt = SettlementClient(chain, provider).settle(now - 60, block_time, root, [Claim(grant_id, 10, 0)], splits)
    return {"issue_grant_prepaid": issued["gasUsed"], "settle_2_owners": receipt["gasUsed"]}


def main() -> None:
    """Print the table and the JSON line."""
    gas = measure()
    print(f"{'operation':<36}{'gas used':>12}{'target':>12}")
    for name, used in gas.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else ("  ok" if used <= target else "  OVER")
        print(f"{name:<36}{used:>12,}{(f'{target:,}' if target else '-'):>12}{verdict}")
    print(f"reproduce: {COMMAND}")
    print(json.dumps(gas))


if __name__ == "__main__":
    main()
