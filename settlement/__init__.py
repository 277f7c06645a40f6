"""The value half of a grant: pricing, escrow, settlement runs from anchored receipts, payouts, disputes.

- :mod:`settlement.periods`: settlement periods as people write them (a day, a month, a range).
- :mod:`settlement.usage`: the allowed, anchored uses of a period, from a gateway's access ledger.
- :mod:`settlement.splits`: who is paid for an asset (owners, shares, lineage), from chain events.
- :mod:`settlement.run`: plan and carry out a settlement run (usage root, batched settle calls).
- :mod:`settlement.statements`: pay-after-use statements a consumer signs (EIP-712 UsageStatement).
- :mod:`settlement.money`: amounts for people (token symbol and decimals).
"""
