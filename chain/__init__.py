"""TDS chain layer: the only package that talks to an Ethereum JSON-RPC node (via web3).

Settings, contract compilation (py-solc-x over solcjs), the local devnet manager, deployment
files, transaction sending and typed contract clients. Custom Solidity errors are decoded
into Python exceptions in :mod:`chain.errors`.
"""
