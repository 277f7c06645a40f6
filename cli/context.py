"""What every command needs: the data dir, settings, keystore, a lazily connected chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chain.keys import Keystore
from chain.settings import ChainSettings
from cli.errors import EXIT_ENVIRONMENT, CliFailure
from cli.lang import tr
from domain.ids import is_address, is_bytes32

if TYPE_CHECKING:
    from chain.client import Chain

DEMO_ACCOUNTS = ("operator", "provider", "consumer", "auditor")
DEFAULT_GATEWAY_URL = "http://127.0.0.1:8700"


@dataclass
class CliContext:
    """Per-invocation state shared by commands (built once in the root group)."""

    home: Path
    account_name: str | None
    settings: ChainSettings
    keystore: Keystore
    _chain: Chain | None = field(default=None, repr=False)

    @classmethod
    def create(cls, home: Path, account_name: str | None) -> "CliContext":
        """Context for ``home`` (TDS_HOME / --home)."""
        settings = ChainSettings.load(home)
        return cls(home, account_name, settings, Keystore(settings.keystore_dir))

    def require_home(self) -> None:
        """Fail (exit 3) when the data dir does not exist: nothing but `tds init` can help then."""
        if not self.home.is_dir():
            raise CliFailure(tr("no data dir at {path}: run `tds init` (or point --home / TDS_HOME at an existing "
                                "one)", path=self.home.resolve()), EXIT_ENVIRONMENT)

    def chain(self) -> Chain:
        """Connect once; raises ChainUnavailable / DeploymentMissing / WrongChain."""
        if self._chain is None:
            self.require_home()
            from chain.client import Chain

            self._chain = Chain.connect(self.settings)
        return self._chain

    def account_for(self, default: str) -> Any:
        """The signing account: ``--as NAME`` or the role's default name."""
        self.require_home()
        return self.keystore.account(self.account_name or default)

    def resolve_address(self, value: str, param_hint: str | None = None) -> str:
        """An address (0x + 40 hex, checksummed), or the name of an account in the keystore.

        A malformed address is a usage error (exit 2) naming ``param_hint``.
        """
        if value.lower().startswith("0x"):
            return address_arg(value, param_hint)
        self.require_home()
        return self.keystore.address(value)

    def gateway_url(self) -> str:
        """Public base URL of this provider's gateway (used in metadata URIs and by clients): the gateway
        settings' ``public_url``, else ``http://host:port``."""
        from gateway.settings import GatewaySettings

        return GatewaySettings.load(self.home).base_url

    def metadata_dir(self) -> Path | None:
        """Where this home's gateway keeps its assets' metadata documents (titles); None when its settings
        cannot be read."""
        from gateway.settings import GatewaySettings

        try:
            return GatewaySettings.load(self.home).gateway_dir / "metadata"
        except (OSError, ValueError):
            return None


def address_arg(value: str, param_hint: str | None = None) -> str:
    """A checksummed address from 0x + 40 hex; anything else is a usage error (exit 2)."""
    import click

    if not is_address(value):
        raise click.BadParameter(
            tr("{value!r} is not an address: expected 0x + 40 hex digits, or the name of a keystore account",
               value=value), param_hint=param_hint)
    from eth_utils import to_checksum_address

    return str(to_checksum_address(value))


def bytes32_arg(value: str, what: str, param_hint: str | None = None) -> str:
    """A 0x + 64 hex value (lower-cased); anything else is a usage error (exit 2). ``what`` is a message id
    (``N_("a grant id")``)."""
    import click

    if not is_bytes32(value):
        raise click.BadParameter(tr("{value!r} is not {what}: expected 0x + 64 hex digits (32 bytes)", value=value,
                                    what=tr(what)), param_hint=param_hint)
    return value.lower()
