"""Participant keys in encrypted keystores (Web3 Secret Storage, scrypt), one file per name.

The passphrase comes from ``TDS_KEYSTORE_PASSWORD``; failing that, from ``<home>/keystore/.passphrase``
(mode 0600) which ``tds init`` generates for a local demo. Keys never appear in logs or reprs.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from chain.errors import KeystoreError

if TYPE_CHECKING:  # eth-account loads in about half a second: only the commands that sign pay for it
    from eth_account.signers.local import LocalAccount

PASSPHRASE_ENV = "TDS_KEYSTORE_PASSWORD"
# scrypt n=2**15 (~0.1 s to unlock): a local-demo trade-off; production keystores use n=2**18.
SCRYPT_N = int(os.environ.get("TDS_KEYSTORE_SCRYPT_N", str(2**15)))


class Keystore:
    """A directory of encrypted keyfiles, addressed by account name (operator, provider, ...)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._cache: dict[str, LocalAccount] = {}

    def _passphrase(self) -> str:
        env = os.environ.get(PASSPHRASE_ENV)
        if env:
            return env
        path = self.directory / ".passphrase"
        if not path.exists():
            raise KeystoreError(f"no passphrase: set {PASSPHRASE_ENV} or run `tds init`")
        return path.read_text().strip()

    def ensure_passphrase(self) -> None:
        """Create ``.passphrase`` (0600, random) unless the env var provides one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / ".passphrase"
        if os.environ.get(PASSPHRASE_ENV) or path.exists():
            return
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))

    def path(self, name: str) -> Path:
        """Keyfile path of an account name."""
        if not name.isidentifier():
            raise KeystoreError(f"invalid account name {name!r}")
        return self.directory / f"{name}.json"

    def create(self, name: str) -> str:
        """Create a new random key under ``name`` (idempotent); returns its address."""
        path = self.path(name)
        if path.exists():
            return self.address(name)
        from eth_account import Account

        self.ensure_passphrase()
        account = Account.create()
        keyfile = Account.encrypt(account.key, self._passphrase(), kdf="scrypt", iterations=SCRYPT_N)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(keyfile, f)
        return str(account.address)

    def names(self) -> list[str]:
        """Account names present in the keystore."""
        return sorted(p.stem for p in self.directory.glob("*.json"))

    def address(self, name: str) -> str:
        """The checksummed address of ``name`` without decrypting the key."""
        from eth_utils import to_checksum_address

        data = self._read(name)
        return str(to_checksum_address("0x" + str(data["address"])))

    def account(self, name: str) -> LocalAccount:
        """Decrypt and return the account (cached for this process)."""
        if name not in self._cache:
            from eth_account import Account

            data = self._read(name)
            try:
                key = Account.decrypt(data, self._passphrase())
            except ValueError as exc:
                raise KeystoreError(f"cannot unlock keystore {name!r}: wrong passphrase") from exc
            self._cache[name] = Account.from_key(key)
        return self._cache[name]

    def _missing(self, name: str) -> str:
        """Why ``name`` cannot be used, and how to fix it."""
        if not self.directory.is_dir():
            return f"no keystore at {self.directory}: run `tds init` (or point --home / TDS_HOME at your data dir)"
        existing = ", ".join(self.names()) or "none"
        return (f"no account {name!r} in {self.directory} (accounts: {existing}); "
                f"create it with `tds init --accounts {name}`, or pick one with --as NAME")

    def _read(self, name: str) -> dict[str, object]:
        path = self.path(name)
        try:
            return dict(json.loads(path.read_text()))
        except FileNotFoundError as exc:
            raise KeystoreError(self._missing(name)) from exc
        except json.JSONDecodeError as exc:
            raise KeystoreError(f"keystore {path} is not valid JSON") from exc
