"""Errors raised by the vault (the encrypted file store and its master key).

Hierarchy::

    StoreError
    ├── InvalidRange              (also ValueError) byte range outside the object
    ├── AssetNotFound             nothing stored under this asset id
    ├── AssetAlreadyStored        put() on an existing asset without overwrite
    ├── MasterKeyError            master key missing, malformed or badly protected
    ├── WrongMasterKey            object was wrapped under another master key
    ├── UnsupportedStoreFormat    header written by an unknown format version
    └── StoredFileTampered        integrity check failed (GCM tag, MAC or hash)

A malformed asset id raises ``domain.errors.InvalidId`` (the one id error).
The gateway maps them to HTTP in ``gateway.errors.ERROR_TABLE``. Messages never contain key material.
"""

from __future__ import annotations


class StoreError(Exception):
    """Root of the encrypted file store's errors."""


class InvalidRange(StoreError, ValueError):
    """The requested byte range does not lie within the stored object."""


class AssetNotFound(StoreError):
    """No object is stored under this asset id."""

    def __init__(self, asset_id: str) -> None:
        self.asset_id = asset_id
        super().__init__(f"asset {asset_id} is not in the store")


class AssetAlreadyStored(StoreError):
    """An object is already stored under this asset id."""

    def __init__(self, asset_id: str) -> None:
        self.asset_id = asset_id
        super().__init__(f"asset {asset_id} is already stored (pass overwrite=True to replace it)")


class MasterKeyError(StoreError):
    """The gateway master key could not be loaded or created."""


class WrongMasterKey(StoreError):
    """The object's data key was wrapped under a different master key."""

    def __init__(self, asset_id: str, stored_key_id: str, current_key_id: str) -> None:
        self.asset_id = asset_id
        self.stored_key_id = stored_key_id
        self.current_key_id = current_key_id
        super().__init__(
            f"asset {asset_id} was stored under master key {stored_key_id}, "
            f"but this gateway uses master key {current_key_id}"
        )


class UnsupportedStoreFormat(StoreError):
    """The object's header uses a format version this code cannot read."""


class StoredFileTampered(StoreError):
    """A stored object failed an integrity check (GCM tag, header MAC or SHA-256)."""

    def __init__(self, asset_id: str, reason: str) -> None:
        self.asset_id = asset_id
        self.reason = reason
        super().__init__(f"stored asset {asset_id} failed integrity check: {reason}")
