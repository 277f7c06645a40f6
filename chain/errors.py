"""Errors raised by the chain layer.

Hierarchy::

    ChainError                      root of everything raised by ``chain``
    ├── ChainUnavailable            the JSON-RPC node does not answer ("run `tds chain up`")
    ├── WrongChain                  node chain id differs from the configured/deployment chain id
    ├── DeploymentMissing           no deployment file for this chain, or its contracts are gone
    ├── AlreadyDeployed             the chain already has this data dir's contracts (deploy refuses to orphan them)
    ├── DevnetError                 the embedded devnet cannot start: port taken by another process, anvil exited
    ├── CompileError                the Solidity compiler reported errors
    ├── KeystoreError               missing keystore, wrong passphrase
    ├── TransactionFailed           a mined transaction reverted without decodable data
    └── ContractRevert              a call or transaction reverted with a custom Solidity error
        └── <one class per custom error name>, e.g. ``revert_class("AssetAlreadyRegistered")``

Web3 and JSON-RPC exceptions are translated at the boundary (``raise ... from exc``);
:func:`is_node_failure` tells a caller reading the node on a hot path which raw exceptions mean the
node (or the way to it) failed.
"""

from __future__ import annotations

from typing import Any


class ChainError(Exception):
    """Root of every error raised by the chain layer."""


class ChainUnavailable(ChainError):
    """The JSON-RPC node cannot be reached."""


class ChainStale(ChainError):
    """A view of the chain is too old to decide on: its last good head read, or the head block itself,
    is older than the configured bound (:class:`chain.view.ChainView`; fail closed)."""


class WrongChain(ChainError):
    """The node's chain id is not the one the configuration or deployment file expects."""


class DeploymentMissing(ChainError):
    """No usable deployment for the connected chain."""


class AlreadyDeployed(ChainError):
    """The deployment file's contracts still exist on the chain: a new deployment would orphan them."""


class DevnetError(ChainError):
    """The embedded anvil devnet cannot be started or is not the node answering on its port."""


class CompileError(ChainError):
    """The Solidity compiler reported errors."""


class KeystoreError(ChainError):
    """A keystore is missing, malformed or its passphrase is wrong."""


class TransactionFailed(ChainError):
    """A transaction was mined with status 0 and no decodable revert reason."""


class ContractRevert(ChainError):
    """A contract reverted with a custom error; ``error_name`` and ``error_args`` say which."""

    error_name: str = "Unknown"

    def __init__(self, error_name: str, error_args: dict[str, Any], message: str | None = None) -> None:
        self.error_name = error_name
        self.error_args = error_args
        rendered = ", ".join(f"{k}={_render(v)}" for k, v in error_args.items())
        super().__init__(message or f"{error_name}({rendered})")


_REVERT_CLASSES: dict[str, type[ContractRevert]] = {}


def revert_class(error_name: str) -> type[ContractRevert]:
    """The ContractRevert subclass for one Solidity custom error name (created once, cached)."""
    cls = _REVERT_CLASSES.get(error_name)
    if cls is None:
        cls = type(error_name, (ContractRevert,), {"error_name": error_name, "__module__": __name__})
        _REVERT_CLASSES[error_name] = cls
    return cls


def _render(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value)


def is_node_failure(exc: BaseException) -> bool:
    """Whether ``exc``, raised by a node read, means the node or the transport failed (not a bug of ours):
    an OS/transport error, a malformed answer (ValueError), or any web3/requests/urllib3 exception."""
    if isinstance(exc, (OSError, ValueError)):
        return True
    return type(exc).__module__.split(".")[0] in ("web3", "requests", "urllib3")
