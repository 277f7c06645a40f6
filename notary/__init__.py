"""Notary: the pure evidence core of TDS.

Hashing of raw bytes (`hashing`), OpenZeppelin-compatible Merkle trees
(`merkle`), access receipts (`receipts`) and inclusion-proof documents
(`proofs`). No web3 client, no HTTP, no SQL: everything here is a pure
function of its inputs, so the same code runs in the gateway, the CLI and an
auditor's laptop. Errors derive from `notary.errors.NotaryError`.
"""
