"""Provider-side asset registration: hash, describe, store encrypted, anchor on-chain, set policy.

Order matters for "nothing changes on a rejected request": the file is hashed and every on-chain
precondition is checked (membership, duplicates, parents, shares) by gas estimation before the
store is written; if the transaction still fails, the stored copy is deleted again.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

from chain.contracts import AssetsClient, GrantsClient
from domain.types import Policy
from vault.store import EncryptedStore
from notary.errors import FileUnreadable
from notary.hashing import sha256_file

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Registration:
    """Result of registering one asset."""

    asset_id: str
    size: int
    metadata_hash: str
    metadata_uri: str
    tx: str
    block: int
    gas_used: int
    stored: bool
    policy_tx: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON view."""
        return dict(self.__dict__)


def metadata_document(path: Path, content_hash: str, size: int, title: str | None, description: str | None,
                      provider: str) -> dict[str, Any]:
    """The asset's metadata document (its SHA-256 is anchored on-chain as the metadata hash)."""
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return {
        "title": title or path.name,
        "description": description or "",
        "fileName": path.name,
        "mediaType": media_type,
        "byteSize": size,
        "checksum": {"algorithm": "sha256", "value": content_hash[2:]},
        "provider": provider,
    }


def canonical_json(doc: dict[str, Any]) -> bytes:
    """Canonical bytes of a JSON document (sorted keys, no spaces, UTF-8)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class MetadataStore:
    """Metadata documents kept next to the gateway store, by asset id."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def put(self, asset_id: str, doc: dict[str, Any]) -> str:
        """Store ``doc``; return its SHA-256 (0x hex)."""
        data = canonical_json(doc)
        self.directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=self.directory, delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, self.path(asset_id))
        return "0x" + hashlib.sha256(data).hexdigest()

    def path(self, asset_id: str) -> Path:
        """Where the metadata document of ``asset_id`` is kept (whether or not it exists)."""
        return self.directory / f"{asset_id}.json"

    def get(self, asset_id: str) -> dict[str, Any] | None:
        """The metadata document of ``asset_id`` if this provider has it."""
        path = self.path(asset_id)
        return json.loads(path.read_bytes()) if path.exists() else None

    def ids(self) -> list[str]:
        """The asset ids this provider holds metadata for, sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("0x*.json"))


def register_asset(
    path: Path,
    assets: AssetsClient,
    grants: GrantsClient,
    store: EncryptedStore | None,
    metadata: MetadataStore,
    base_uri: str,
    *,
    title: str | None = None,
    description: str | None = None,
    parents: tuple[str, ...] = (),
    owners: tuple[str, ...] = (),
    shares_bps: tuple[int, ...] = (),
    previous_version: str | None = None,
    policy: Policy | None = None,
    progress: Progress | None = None,
    metadata_extra: dict[str, Any] | None = None,
) -> Registration:
    """Register ``path`` as an asset. Raises chain/notary errors; leaves nothing behind on failure.

    ``metadata_extra`` adds to (or overrides) the metadata document, e.g. a service's ``kind``."""
    if assets.sender is None:
        raise ValueError("registering needs the provider's signing account")
    if policy is not None:
        policy.validate()  # a policy the contract would refuse must not leave a registered, policy-less asset
    size = path.stat().st_size
    asset_id = "0x" + sha256_file(path, progress).hex()
    doc = {**metadata_document(path, asset_id, size, title, description, assets.sender.address),
           **(metadata_extra or {})}
    metadata_hash = "0x" + hashlib.sha256(canonical_json(doc)).hexdigest()
    uri = f"{base_uri.rstrip('/')}/assets/{asset_id}"
    if previous_version:
        submit = partial(assets.register_version, previous_version, asset_id, size, metadata_hash, uri)
    else:
        submit = partial(assets.register, asset_id, size, metadata_hash, uri, parents, owners, shares_bps)
    submit(dry_run=True)  # raises the contract's custom error before anything is written
    stored = False
    if store is not None and not store.has(asset_id):
        stored_obj = store.put(asset_id, path)
        stored = True
        if "0x" + stored_obj.sha256_hex != asset_id:
            store.delete(asset_id)
            raise FileUnreadable(str(path), "the file changed while it was being registered")
    try:
        receipt = submit()
    except Exception:
        if stored and store is not None:
            store.delete(asset_id, missing_ok=True)
        raise
    metadata.put(asset_id, doc)
    policy_tx = None
    if policy is not None:
        policy_tx = grants.set_policy(asset_id, policy)["transactionHash"].to_0x_hex()
    return Registration(
        asset_id, size, metadata_hash, uri, receipt["transactionHash"].to_0x_hex(), int(receipt["blockNumber"]),
        int(receipt["gasUsed"]), stored, policy_tx,
    )

